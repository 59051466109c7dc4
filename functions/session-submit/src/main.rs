//! `POST /signature-session/{sessionId}/submit` Lambda: completes a signature session once.

use edgestate::sessions::SubmitSession;
use edgestate::startup::{cold_start, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve(SubmitSession::new(&cold_start().await)).await
}
