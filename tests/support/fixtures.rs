//! State a test needs to exist before the request under test.

use edgestate::accounts::{Accounts, Register};
use edgestate::route::Route;
use edgestate::sessions::Sessions;
use serde_json::{Value, json};

use crate::answer::answer;
use crate::events::{event, request, with_body};
use edgestate::env::Pairs;
use edgestate::tokens::{TokenConfig, Tokens};

use crate::{JWT_SECRET, Stack, test_tokens};

/// A fresh signature session, created through the handler as a client would; its id.
pub async fn created_session(stack: &Stack) -> String {
    let response = Sessions::new(&stack.app())
        .create
        .answer(request(&event("session-create")))
        .await;
    answer(response).body["sessionId"]
        .as_str()
        .expect("session-create answers a sessionId")
        .to_owned()
}

/// `{"email": .., "password": ..}`, the body of register and login.
pub fn credentials(email: &str, password: &str) -> String {
    json!({"email": email, "password": password}).to_string()
}

/// An account, registered through the handler as a client would; its `user` object.
pub async fn registered_user(stack: &Stack, email: &str, password: &str) -> Value {
    let register = with_body(event("auth-register"), &credentials(email, password));
    let response = Register::new(&stack.app()).answer(request(&register)).await;
    let created = answer(response);
    assert_eq!(created.status, 201, "registering {email}: {}", created.body);
    created.body["user"].clone()
}

/// A token for an existing account, from the login handler as a client would get it.
pub async fn login_token(stack: &Stack, email: &str, password: &str) -> String {
    logged_in(stack, email, password).await["token"]
        .as_str()
        .expect("login answers a token")
        .to_owned()
}

/// What login answers an existing account, as a client would get it: its tokens.
pub async fn logged_in(stack: &Stack, email: &str, password: &str) -> Value {
    let login = with_body(event("auth-login"), &credentials(email, password));
    let response = Accounts::new(&stack.app(), test_tokens())
        .login
        .answer(request(&login))
        .await;
    let login = answer(response);
    assert_eq!(login.status, 200, "logging in {email}: {}", login.body);
    login.body
}

/// Token keys as the test stack's functions have them, with some settings of `pairs` (such as
/// `REFRESH_REUSE_GRACE_SECONDS`) changed.
pub fn tokens_with(pairs: &[(&str, &str)]) -> Tokens {
    let mut all = vec![("JWT_SECRET", JWT_SECRET)];
    all.extend_from_slice(pairs);
    Tokens::new(TokenConfig::from_env(&Pairs::new(&all)).expect("valid token settings"))
}
