//! The `auth-me` binary run as Lambda runs it, against the hermetic stack, next to the
//! `auth-logout` binary: a logout through one process is honoured by the other at once.
//!
//! Cargo hands a package's tests only its own binaries, so `auth-logout` is taken from the
//! same target directory; `cargo test --workspace` (and `make test`) builds both.

use std::path::{Path, PathBuf};

use serde_json::json;
use testkit::events::{event, with_bearer};
use testkit::fixtures::{login_token, registered_user};
use testkit::{LambdaProcess, Stack};

const EMAIL: &str = "ann.lee@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn me_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_auth-me"))
}

/// The `auth-logout` binary built beside this package's own.
fn logout_binary() -> PathBuf {
    let path = me_binary().with_file_name("auth-logout");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p auth-logout` or `cargo test --workspace`",
        path.display()
    );
    path
}

#[tokio::test]
async fn answers_the_user_until_the_logout_process_revokes_the_token() {
    let stack = Stack::start().await;
    let user = registered_user(&stack, EMAIL, PASSWORD).await;
    let token = login_token(&stack, EMAIL, PASSWORD).await;
    let mut me = LambdaProcess::spawn(me_binary(), &stack.env()).await;
    let mut logout = LambdaProcess::spawn(&logout_binary(), &stack.env()).await;

    let (status, body) = me.invoke_http(&with_bearer(event("auth-me"), &token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"], user);

    let (status, body) = logout
        .invoke_http(&with_bearer(event("auth-logout"), &token))
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = me.invoke_http(&with_bearer(event("auth-me"), &token)).await;
    assert_eq!((status, &body["code"]), (401, &json!("invalid_token")));

    let (status, body) = me.invoke_http(&event("auth-me-no-token")).await;
    assert_eq!((status, &body["code"]), (401, &json!("invalid_token")));

    let logs = me.logs().await + &logout.logs().await;
    assert!(!logs.contains(&token), "the token is not logged: {logs}");
}

#[tokio::test]
async fn a_refused_rest_token_is_503_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    registered_user(&stack, EMAIL, PASSWORD).await;
    let token = login_token(&stack, EMAIL, PASSWORD).await;
    let me = with_bearer(event("auth-me"), &token);
    LambdaProcess::with_a_refused_rest_token(me_binary(), &stack, &me)
        .await
        .assert_service_unavailable();
}
