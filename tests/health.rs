//! `GET /health` through the client and upstash-local to a real Redis, and the 503 when
//! that Redis or the REST endpoint is gone. (`functions/health/tests` runs the binary.)

use std::time::Duration;

use edgestate::redis::RedisClient;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use testkit::Stack;

async fn call(client: &RedisClient) -> (u16, Value, Response<Body>) {
    let response = edgestate::health::check(client).await;
    let body = serde_json::from_slice(response.body().as_ref()).unwrap();
    (response.status().as_u16(), body, response)
}

#[tokio::test]
async fn healthy_when_redis_answers_ping() {
    // Every answer of this upstash-local takes at least 50 ms: a latency that is really the
    // PING's round trip cannot be less.
    const LATENCY: Duration = Duration::from_millis(50);
    let stack = Stack::start_with_latency(LATENCY).await;
    let before = stack.rest_requests();
    let (status, body, _) = call(&stack.client()).await;
    assert_eq!(status, 200);
    assert_eq!(body["success"], json!(true));
    assert_eq!(body["status"], json!("healthy"));
    assert_eq!(body["redis"]["status"], json!("ok"));
    let latency_ms = body["redis"]["latencyMs"].as_f64().unwrap();
    assert!(
        latency_ms >= LATENCY.as_secs_f64() * 1000.0,
        "latencyMs {latency_ms}"
    );
    assert_eq!(
        stack.rest_requests() - before,
        1,
        "one PING, one REST request"
    );
}

#[tokio::test]
async fn degraded_with_retry_after_when_redis_is_down() {
    let stack = Stack::start().await;
    let mut resp = stack.redis().connect().await;
    // The server exits while answering, so the command itself reports a broken connection.
    let _ = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .exec_async(&mut resp)
        .await;
    let mut config = stack.config();
    config.timeout = Duration::from_millis(500);
    let (status, body, response) = call(&RedisClient::new(config).unwrap()).await;
    assert_eq!(status, 503);
    assert_eq!(body["success"], json!(false));
    assert_eq!(body["code"], json!("service_unavailable"));
    assert_eq!(body["status"], json!("degraded"));
    assert_eq!(body["redis"]["status"], json!("down"));
    assert_eq!(response.headers()["retry-after"], "1");
}

#[tokio::test]
async fn degraded_when_the_rest_endpoint_cannot_be_reached() {
    let mut config = Stack::start().await.config();
    // The stack is gone by now: nothing listens at its URL any more.
    config.timeout = Duration::from_millis(300);
    let (status, body, response) = call(&RedisClient::new(config).unwrap()).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], json!("service_unavailable"));
    assert_eq!(body["status"], json!("degraded"));
    assert_eq!(body["redis"]["status"], json!("down"));
    assert_eq!(response.headers()["retry-after"], "1");
}
