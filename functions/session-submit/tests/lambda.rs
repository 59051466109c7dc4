//! The `session-submit` binary run as Lambda runs it, against the hermetic stack.

use std::path::Path;

use edgestate::redis::Command;
use serde_json::{Value, json};
use testkit::events::{event, with_session_id};
use testkit::fixtures::created_session;
use testkit::{LambdaProcess, Stack};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_session-submit"))
}

#[tokio::test]
async fn completes_a_session_once_through_the_real_main() {
    let stack = Stack::start().await;
    let submit = with_session_id(event("session-submit"), &created_session(&stack).await);

    let mut function = LambdaProcess::spawn(binary(), &stack.env()).await;
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

#[tokio::test]
async fn a_refused_rest_token_is_503_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    let submit = with_session_id(event("session-submit"), &created_session(&stack).await);
    LambdaProcess::with_a_refused_rest_token(binary(), &stack, &submit)
        .await
        .assert_service_unavailable();
}

#[tokio::test]
async fn a_command_redis_refuses_is_500_and_logged_with_its_name() {
    let stack = Stack::start().await;
    let id = created_session(&stack).await;
    // The session's key holding a string, not a hash: the submit script's HGET is refused.
    stack
        .client()
        .command(
            &Command::new("SET")
                .arg(format!("edgestate:local:sess:{id}"))
                .arg("not a session"),
        )
        .await
        .unwrap();
    let mut function = LambdaProcess::spawn(binary(), &stack.env()).await;

    let (status, headers, body) = function
        .invoke(&with_session_id(event("session-submit"), &id).to_string())
        .await
        .http();
    assert_eq!((status, &body["code"]), (500, &json!("internal_error")));
    assert!(headers.get("retry-after").is_none(), "not worth a retry");

    let logs = function.logs().await;
    let refused: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "redis refused a command")
        .collect();
    assert_eq!(refused.len(), 1, "one line: {logs}");
    assert_eq!(
        (&refused[0]["level"], &refused[0]["command"]),
        (&json!("ERROR"), &json!("EVAL session_submit")),
        "{logs}"
    );
    assert!(
        refused[0]["reply"]
            .as_str()
            .is_some_and(|reply| reply.starts_with("WRONGTYPE")),
        "with Redis's own text: {logs}"
    );
    assert!(
        !logs.contains("iVBORw0KGgo"),
        "signature data is not logged"
    );
}
