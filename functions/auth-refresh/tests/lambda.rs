//! The `auth-refresh` binary run as Lambda runs it, against the hermetic stack: it rotates a
//! login's refresh token, answers reuse with 401, and never logs a token.

use std::path::Path;

use serde_json::json;
use testkit::events::{event, with_body};
use testkit::fixtures::{logged_in, registered_user};
use testkit::{LambdaProcess, Stack};

const EMAIL: &str = "ann.lee@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn refresh_event(token: &str) -> serde_json::Value {
    with_body(
        event("auth-refresh"),
        &json!({"refreshToken": token}).to_string(),
    )
}

#[tokio::test]
async fn rotates_refuses_reuse_and_logs_no_token() {
    let stack = Stack::start().await;
    registered_user(&stack, EMAIL, PASSWORD).await;
    let mut refresh = LambdaProcess::spawn(
        Path::new(env!("CARGO_BIN_EXE_auth-refresh")),
        &[
            stack.env(),
            vec![("REFRESH_REUSE_GRACE_SECONDS", "0".to_owned())],
        ]
        .concat(),
    )
    .await;
    let login = logged_in(&stack, EMAIL, PASSWORD).await;
    let first = login["refreshToken"].as_str().unwrap().to_owned();

    let (status, body) = refresh.invoke_http(&refresh_event(&first)).await;
    assert_eq!(status, 200, "{body}");
    let second = body["refreshToken"].as_str().unwrap().to_owned();
    let access = body["token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, body) = refresh.invoke_http(&refresh_event(&first)).await;
    assert_eq!(
        (status, &body["code"]),
        (401, &json!("invalid_refresh_token"))
    );
    let (status, _) = refresh.invoke_http(&refresh_event(&second)).await;
    assert_eq!(status, 401, "reuse revoked the whole family");

    let logs = refresh.logs().await;
    assert!(
        logs.contains("family is revoked"),
        "reuse is logged: {logs}"
    );
    for secret in [&first, &second, &access] {
        let tail = secret.rsplit('.').next().unwrap();
        assert!(!logs.contains(tail), "no token in the logs: {logs}");
    }
}

#[tokio::test]
async fn a_refused_rest_token_is_503_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    registered_user(&stack, EMAIL, PASSWORD).await;
    let login = logged_in(&stack, EMAIL, PASSWORD).await;
    let refresh = refresh_event(login["refreshToken"].as_str().unwrap());
    let binary = Path::new(env!("CARGO_BIN_EXE_auth-refresh"));
    LambdaProcess::with_a_refused_rest_token(binary, &stack, &refresh)
        .await
        .assert_service_unavailable();
}
