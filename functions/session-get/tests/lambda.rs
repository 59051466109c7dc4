//! The `session-get` binary run as Lambda runs it, against the hermetic stack.

use std::path::Path;

use serde_json::json;
use testkit::events::{event, with_session_id};
use testkit::fixtures::created_session;
use testkit::{LambdaProcess, Stack};

#[tokio::test]
async fn polls_a_session_created_elsewhere_through_the_real_main() {
    let stack = Stack::start().await;
    let id = &created_session(&stack).await;

    let binary = Path::new(env!("CARGO_BIN_EXE_session-get"));
    let mut function = LambdaProcess::spawn(binary, &stack.env()).await;
    let (status, body) = function
        .invoke_http(&with_session_id(event("session-get"), id))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["id"], json!(id));
    assert_eq!(body["session"]["completed"], json!(false));

    let (status, body) = function.invoke_http(&event("session-get-invalid-id")).await;
    assert_eq!((status, &body["code"]), (400, &json!("invalid_session_id")));
}

#[tokio::test]
async fn a_refused_rest_token_is_503_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    let poll = with_session_id(event("session-get"), &created_session(&stack).await);
    let binary = Path::new(env!("CARGO_BIN_EXE_session-get"));
    LambdaProcess::with_a_refused_rest_token(binary, &stack, &poll)
        .await
        .assert_service_unavailable();
}
