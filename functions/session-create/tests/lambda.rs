//! The `session-create` binary run as Lambda runs it, against the hermetic stack.

use std::path::Path;

use serde_json::json;
use testkit::events::event;
use testkit::{LambdaProcess, Stack, TOKEN};

#[tokio::test]
async fn creates_a_session_and_refuses_a_bad_body_through_the_real_main() {
    let stack = Stack::start().await;
    let binary = Path::new(env!("CARGO_BIN_EXE_session-create"));
    let mut function = LambdaProcess::spawn(binary, &stack.env()).await;

    let (status, body) = function.invoke_http(&event("session-create")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["sessionId"].as_str().map(str::len), Some(32));

    let (status, body) = function
        .invoke_http(&event("session-create-wrong-content-type"))
        .await;
    assert_eq!(
        (status, &body["code"]),
        (415, &json!("unsupported_media_type"))
    );

    let logs = function.logs().await;
    assert!(
        !logs.contains("onb_7Kq2xY9pLm3N"),
        "the onboarding token is not logged"
    );
    assert!(!logs.contains(TOKEN), "the REST token is not logged");
}

#[tokio::test]
async fn a_refused_rest_token_is_503_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    let binary = Path::new(env!("CARGO_BIN_EXE_session-create"));
    LambdaProcess::with_a_refused_rest_token(binary, &stack, &event("session-create"))
        .await
        .assert_service_unavailable();
}
