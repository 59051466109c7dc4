//! `GET /signature-session/stats` Lambda, behind the HttpApi's default authorizer: the
//! session counters, totals and the last days.

use edgestate::sessions::SessionStats;
use edgestate::startup::{cold_start, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve(SessionStats::new(&cold_start().await)).await
}
