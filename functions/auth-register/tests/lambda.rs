//! The `auth-register` binary run as Lambda runs it, against the hermetic stack.

use std::path::Path;

use serde_json::json;
use testkit::events::event;
use testkit::{LambdaProcess, Stack, TOKEN};

#[tokio::test]
async fn registers_once_and_refuses_a_repeat_or_a_bad_email_through_the_real_main() {
    let stack = Stack::start().await;
    let binary = Path::new(env!("CARGO_BIN_EXE_auth-register"));
    let mut function = LambdaProcess::spawn(binary, &stack.env()).await;

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
