//! `GET /auth/me` Lambda: answers the signed-in user.

use edgestate::accounts::Accounts;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let (app, tokens) = edgestate::startup::cold_start_with_tokens().await;
    let accounts = Accounts::new(&app, tokens);
    edgestate::startup::serve(|request| accounts.me(request)).await
}
