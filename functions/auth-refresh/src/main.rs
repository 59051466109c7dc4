//! `POST /auth/refresh` Lambda: rotates a refresh token into new tokens of its family.

use edgestate::accounts::Accounts;
use edgestate::startup::{cold_start_with_tokens, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let (app, tokens) = cold_start_with_tokens().await;
    serve(Accounts::new(&app, tokens).refresh).await
}
