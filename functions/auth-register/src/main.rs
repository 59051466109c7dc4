//! `POST /auth/register` Lambda: creates an account.

use edgestate::accounts::Register;
use edgestate::startup::{cold_start, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve(Register::new(&cold_start().await)).await
}
