//! `GET /health` Lambda: reports whether this instance can reach Redis.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let app = edgestate::startup::cold_start().await;
    edgestate::startup::serve(|_request| edgestate::health::check(&app.redis)).await
}
