//! The `session-submit` binary run as Lambda runs it, against the hermetic stack.

use std::path::Path;

use serde_json::json;
use testkit::events::{event, with_session_id};
use testkit::fixtures::created_session;
use testkit::{LambdaProcess, Stack};

#[tokio::test]
async fn completes_a_session_once_through_the_real_main() {
    let stack = Stack::start().await;
    let submit = with_session_id(event("session-submit"), &created_session(&stack).await);

    let binary = Path::new(env!("CARGO_BIN_EXE_session-submit"));
    let mut function = LambdaProcess::spawn(binary, &stack.env()).await;
    let (status, body) = function.invoke_http(&submit).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = function.invoke_http(&submit).await;
    assert_eq!((status, &body["code"]), (409, &json!("already_submitted")));
    let (status, body) = function
        .invoke_http(&with_session_id(
            event("session-submit-not-an-image"),
            "0".repeat(32).as_str(),
        ))
        .await;
    assert_eq!((status, &body["code"]), (400, &json!("invalid_field")));

    let logs = function.logs().await;
    assert!(
        !logs.contains("iVBORw0KGgo"),
        "signature data is not logged"
    );
}
