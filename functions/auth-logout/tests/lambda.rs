//! The `auth-logout` binary run as Lambda runs it, against the hermetic stack: what it
//! revokes is refused everywhere else (here, by the handlers in the test's own process).

use std::path::Path;

use edgestate::accounts::Accounts;
use edgestate::route::Route;
use serde_json::json;
use testkit::events::{event, request, with_bearer};
use testkit::fixtures::{login_token, registered_user};
use testkit::{LambdaProcess, Stack, test_tokens};

const EMAIL: &str = "ann.lee@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// `GET /auth/me` answered by another instance than the logout process: its status.
async fn me_status(stack: &Stack, token: &str) -> u16 {
    let me = Accounts::new(&stack.app(), test_tokens());
    let response = me
        .me
        .answer(request(&with_bearer(event("auth-me"), token)))
        .await;
    response.status().as_u16()
}

#[tokio::test]
async fn revokes_one_token_or_every_device_through_the_real_main() {
    let stack = Stack::start().await;
    registered_user(&stack, EMAIL, PASSWORD).await;
    let token = login_token(&stack, EMAIL, PASSWORD).await;
    let other_device = login_token(&stack, EMAIL, PASSWORD).await;
    let binary = Path::new(env!("CARGO_BIN_EXE_auth-logout"));
    let mut function = LambdaProcess::spawn(binary, &stack.env()).await;

    let logout = |token: &str| with_bearer(event("auth-logout"), token);
    let (status, body) = function.invoke_http(&logout(&token)).await;
    assert_eq!((status, &body["message"]), (200, &json!("Logged out")));
    assert_eq!(me_status(&stack, &token).await, 401);
    assert_eq!(me_status(&stack, &other_device).await, 200);

    // Logging out twice is logging out once.
    let (status, _) = function.invoke_http(&logout(&token)).await;
    assert_eq!(status, 200);

    let everywhere = login_token(&stack, EMAIL, PASSWORD).await;
    let all_devices = with_bearer(event("auth-logout-all-devices"), &everywhere);
    let (status, body) = function.invoke_http(&all_devices).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(me_status(&stack, &other_device).await, 401);

    let (status, body) = function.invoke_http(&event("auth-logout")).await;
    assert_eq!((status, &body["code"]), (401, &json!("invalid_token")));
}
