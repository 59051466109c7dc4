//! The `auth-login` binary run as Lambda runs it, against the hermetic stack.

use std::path::Path;

use edgestate::time::now_seconds;
use serde_json::json;
use testkit::events::event;
use testkit::fixtures::registered_user;
use testkit::{JWT_SECRET, LambdaProcess, Stack, test_tokens};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn issues_a_verifiable_token_and_refuses_a_wrong_password_through_the_real_main() {
    let stack = Stack::start().await;
    let user = registered_user(&stack, "ann.lee@example.com", PASSWORD).await;
    let mut function = LambdaProcess::spawn(binary(), &stack.env()).await;

    let (status, body) = function.invoke_http(&event("auth-login")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tokenType"], json!("Bearer"));
    let token = body["token"].as_str().expect("a token").to_owned();
    let claims = test_tokens()
        .verify(&token, now_seconds())
        .expect("the token verifies");
    assert_eq!(json!(claims.sub), user["id"]);

    let (status, body) = function
        .invoke_http(&event("auth-login-wrong-password"))
        .await;
    assert_eq!(
        (status, &body["code"]),
        (401, &json!("invalid_credentials"))
    );

    let logs = function.logs().await;
    for secret in [PASSWORD, "not the password", &token, JWT_SECRET] {
        assert!(!logs.contains(secret), "{secret:?} leaked into: {logs}");
    }
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_auth-login"))
}

#[tokio::test]
async fn a_refused_rest_token_is_503_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    registered_user(&stack, "ann.lee@example.com", PASSWORD).await;
    LambdaProcess::with_a_refused_rest_token(binary(), &stack, &event("auth-login"))
        .await
        .assert_service_unavailable();
}

#[tokio::test]
async fn a_slow_or_stopped_redis_is_503_with_retry_after_and_logged() {
    LambdaProcess::assert_outages_are_503(binary(), async |stack: &Stack| {
        registered_user(stack, "ann.lee@example.com", PASSWORD).await;
        event("auth-login")
    })
    .await;
}
