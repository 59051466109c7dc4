//! `POST /auth/logout` Lambda: revokes a token, or every token of its user.

use edgestate::accounts::Accounts;
use edgestate::startup::{cold_start_with_tokens, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let (app, tokens) = cold_start_with_tokens().await;
    serve(Accounts::new(&app, tokens).logout).await
}
