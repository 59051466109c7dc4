//! `POST /auth/register` Lambda: creates an account.

use edgestate::accounts::Registration;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let registration = Registration::new(&edgestate::startup::cold_start().await);
    edgestate::startup::serve(|request| registration.register(request)).await
}
