//! The `health` binary run as Lambda runs it, against the hermetic stack.

use std::path::Path;

use edgestate::redis::{Command, Reply};
use serde_json::json;
use testkit::events::event;
use testkit::{LambdaProcess, Outcome, Stack, TOKEN};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_health"))
}

#[tokio::test]
async fn answers_an_api_gateway_event_through_the_real_main() {
    let stack = Stack::start().await;
    let mut function = LambdaProcess::spawn(binary(), &stack.env()).await;
    for _ in 0..2 {
        let (status, body) = function.invoke_http(&event("health")).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], json!("healthy"));
    }
    let logs = function.logs().await;
    assert!(logs.contains("PING"), "the command is traced: {logs}");
    assert!(
        !logs.contains(TOKEN),
        "the token never reaches a log: {logs}"
    );
}

#[tokio::test]
async fn missing_configuration_stops_the_cold_start_with_one_clear_line() {
    let mut function =
        LambdaProcess::spawn(binary(), &[("UPSTASH_REDIS_REST_TOKEN", "t".repeat(40))]).await;
    let outcome = function.invoke(&event("health").to_string()).await;
    assert!(matches!(outcome, Outcome::InitFailed), "{outcome:?}");
    let logs = function.logs().await;
    assert!(
        logs.contains("missing setting UPSTASH_REDIS_REST_URL"),
        "{logs}"
    );
    assert!(!logs.contains(&"t".repeat(40)), "{logs}");
}

#[tokio::test]
async fn a_refused_rest_token_is_503_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    let (status, headers, body) =
        LambdaProcess::with_a_refused_rest_token(binary(), &stack, &event("health"))
            .await
            .http();
    assert_eq!(
        (status, &body["code"]),
        (503, &json!("service_unavailable"))
    );
    assert_eq!(body["status"], json!("degraded"));
    assert_eq!(headers["retry-after"], json!("1"));
}

#[tokio::test]
async fn is_never_rate_limited() {
    let stack = Stack::start().await;
    let env = [stack.env(), vec![("RATE_LIMIT_API", "1/15m".to_owned())]].concat();
    let mut function = LambdaProcess::spawn(binary(), &env).await;
    for _ in 0..3 {
        let (status, headers, body) = function.invoke(&event("health").to_string()).await.http();
        assert_eq!(status, 200, "{body}");
        let headers = headers.as_object().expect("headers");
        assert!(
            !headers.keys().any(|name| name.contains("ratelimit")),
            "no limiter, so no rate-limit headers: {headers:?}"
        );
    }
    let limiters = stack
        .client()
        .command(&Command::new("KEYS").arg("*rl:*"))
        .await
        .unwrap();
    assert_eq!(limiters, Reply::Array(vec![]), "no limiter state");
}
