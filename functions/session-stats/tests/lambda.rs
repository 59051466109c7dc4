//! The `session-stats` binary run as Lambda runs it, against the hermetic stack.

use std::path::Path;

use serde_json::json;
use testkit::events::event;
use testkit::fixtures::created_session;
use testkit::{LambdaProcess, Stack};

#[tokio::test]
async fn answers_the_counts_to_a_request_the_authorizer_let_through() {
    let stack = Stack::start().await;
    created_session(&stack).await;

    let binary = Path::new(env!("CARGO_BIN_EXE_session-stats"));
    let mut function = LambdaProcess::spawn(binary, &stack.env()).await;
    let (status, body) = function.invoke_http(&event("session-stats")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totals"], json!({"created": 1, "completed": 0}));
    assert_eq!(body["days"].as_array().unwrap().len(), 7);

    let (status, body) = function
        .invoke_http(&event("session-stats-no-authorizer"))
        .await;
    assert_eq!((status, &body["code"]), (401, &json!("invalid_token")));
}
