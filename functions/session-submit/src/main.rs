//! `POST /signature-session/{sessionId}/submit` Lambda: completes a signature session once.

use edgestate::sessions::Sessions;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let sessions = Sessions::new(&edgestate::startup::cold_start().await);
    edgestate::startup::serve(|request| sessions.submit(request)).await
}
