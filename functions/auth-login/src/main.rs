//! `POST /auth/login` Lambda: signs a user in and issues a token.

use edgestate::accounts::Accounts;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let (app, tokens) = edgestate::startup::cold_start_with_tokens().await;
    let accounts = Accounts::new(&app, tokens);
    accounts.warm_up_login();
    edgestate::startup::serve(|request| accounts.login(request)).await
}
