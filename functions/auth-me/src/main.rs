//! `GET /auth/me` Lambda: answers the signed-in user.

use edgestate::accounts::Accounts;
use edgestate::startup::{cold_start_with_tokens, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let (app, tokens) = cold_start_with_tokens().await;
    serve(Accounts::new(&app, tokens).me).await
}
