//! The `authorizer` binary run as Lambda runs it (payload 2.0, simple responses), against
//! the hermetic stack.

use std::path::Path;

use serde_json::{Value, json};
use testkit::events::{event, with_bearer};
use testkit::fixtures::{login_token, registered_user};
use testkit::{LambdaProcess, Outcome, Stack};

const EMAIL: &str = "ann.lee@example.com";
const PASSWORD: &str = "correct horse battery staple";

async fn verdict(function: &mut LambdaProcess, token: &str) -> Value {
    let request = with_bearer(event("authorizer"), token);
    match function.invoke(&request.to_string()).await {
        Outcome::Response(verdict) => verdict,
        outcome => panic!("expected a verdict, got {outcome:?}"),
    }
}

#[tokio::test]
async fn allows_a_live_token_with_its_context_and_denies_garbage() {
    let stack = Stack::start().await;
    let user = registered_user(&stack, EMAIL, PASSWORD).await;
    let token = login_token(&stack, EMAIL, PASSWORD).await;
    let binary = Path::new(env!("CARGO_BIN_EXE_authorizer"));
    let mut function = LambdaProcess::spawn(binary, &stack.env()).await;

    assert_eq!(
        verdict(&mut function, &token).await,
        json!({"isAuthorized": true, "context": {"sub": user["id"], "email": EMAIL}})
    );
    assert_eq!(
        verdict(&mut function, "not.a.token").await,
        json!({"isAuthorized": false})
    );

    let logs = function.logs().await;
    assert!(!logs.contains(&token), "the token is not logged: {logs}");
}

#[tokio::test]
async fn a_refused_rest_token_denies_and_names_the_setting_never_the_token() {
    let stack = Stack::start().await;
    registered_user(&stack, EMAIL, PASSWORD).await;
    let token = login_token(&stack, EMAIL, PASSWORD).await;
    let binary = Path::new(env!("CARGO_BIN_EXE_authorizer"));
    let request = with_bearer(event("authorizer"), &token);
    let outcome = LambdaProcess::with_a_refused_rest_token(binary, &stack, &request).await;
    let Outcome::Response(verdict) = outcome else {
        panic!("expected a verdict, got {outcome:?}");
    };
    assert_eq!(verdict, json!({"isAuthorized": false}), "it fails closed");
}
