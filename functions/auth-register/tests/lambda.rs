//! The `auth-register` binary run as Lambda runs it, against the hermetic stack.

use std::path::Path;

use serde_json::json;
use testkit::events::event;
use testkit::{LambdaProcess, Stack, TOKEN};

#[tokio::test]
async fn registers_once_and_refuses_a_repeat_or_a_bad_email_through_the_real_main() {
    let stack = Stack::start().await;
    let mut function = LambdaProcess::spawn(binary(), &stack.env()).await;

    let (status, body) = function.invoke_http(&event("auth-register")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["email"], json!("ann.lee@example.com"));
    assert_eq!(body["user"]["id"].as_str().map(str::len), Some(32));

    let (status, body) = function.invoke_http(&event("auth-register")).await;
    assert_eq!((status, &body["code"]), (409, &json!("email_taken")));

    let (status, body) = function
        .invoke_http(&event("auth-register-invalid-email"))
        .await;
    assert_eq!(status, 400, "{body}");

    let logs = function.logs().await;
    assert!(
        !logs.contains("correct horse battery staple"),
        "the password is not logged: {logs}"
    );
    assert!(!logs.contains(TOKEN), "the REST token is not logged");
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_auth-register"))
}

#[tokio::test]
async fn a_refused_rest_token_is_503_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    LambdaProcess::with_a_refused_rest_token(binary(), &stack, &event("auth-register"))
        .await
        .assert_service_unavailable();
}

#[tokio::test]
async fn a_slow_or_stopped_redis_is_503_with_retry_after_and_logged() {
    LambdaProcess::assert_outages_are_503(binary(), async |_: &Stack| event("auth-register")).await;
}
