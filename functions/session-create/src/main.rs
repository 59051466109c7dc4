//! `POST /signature-session/create` Lambda: starts a signature session.

use edgestate::sessions::Sessions;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let sessions = Sessions::new(&edgestate::startup::cold_start().await);
    edgestate::startup::serve(|request| sessions.create(request)).await
}
