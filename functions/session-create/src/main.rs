//! `POST /signature-session/create` Lambda: starts a signature session.

use edgestate::sessions::CreateSession;
use edgestate::startup::{cold_start, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve(CreateSession::new(&cold_start().await)).await
}
