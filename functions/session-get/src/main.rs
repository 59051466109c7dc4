//! `GET /signature-session/{sessionId}` Lambda: polls a signature session.

use edgestate::sessions::GetSession;
use edgestate::startup::{cold_start, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve(GetSession::new(&cold_start().await)).await
}
