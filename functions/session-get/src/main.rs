//! `GET /signature-session/{sessionId}` Lambda: polls a signature session.

use edgestate::sessions::Sessions;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let sessions = Sessions::new(&edgestate::startup::cold_start().await);
    edgestate::startup::serve(|request| sessions.get(request)).await
}
