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
    let mut function = LambdaProcess::spawn(binary(), &stack.env()).await;

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

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_auth-logout"))
}

/// A logout of a live token of a fresh account on `stack`.
async fn logout_of_a_live_token(stack: &Stack) -> serde_json::Value {
    registered_user(stack, EMAIL, PASSWORD).await;
    with_bearer(
        event("auth-logout"),
        &login_token(stack, EMAIL, PASSWORD).await,
    )
}

#[tokio::test]
async fn a_refused_rest_token_is_503_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    let logout = logout_of_a_live_token(&stack).await;
    LambdaProcess::with_a_refused_rest_token(binary(), &stack, &logout)
        .await
        .assert_service_unavailable();
}

#[tokio::test]
async fn a_slow_or_stopped_redis_is_503_with_retry_after_and_logged() {
    LambdaProcess::assert_outages_are_503(binary(), logout_of_a_live_token).await;
}
