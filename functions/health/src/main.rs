//! `GET /health` Lambda: reports whether this instance can reach Redis.

use edgestate::health::Health;
use edgestate::startup::{cold_start, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    serve(Health::new(cold_start().await.redis)).await
}
