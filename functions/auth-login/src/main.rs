//! `POST /auth/login` Lambda: signs a user in and issues a token.

use edgestate::accounts::Accounts;
use edgestate::startup::{cold_start_with_tokens, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let (app, tokens) = cold_start_with_tokens().await;
    let login = Accounts::new(&app, tokens).login;
    login.warm_up();
    serve(login).await
}
