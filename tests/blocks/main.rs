//! The building blocks (`edgestate::blocks`) end to end: their Lua on a real Redis through
//! upstash-local, which holds every script to key-level locking (a key outside `KEYS` fails
//! the test), one REST request counted per operation, and several instances (separate
//! `stack.app()`s: own clients, own connections) against one Redis for every claim about
//! concurrency.

mod cache;
mod counters;
mod once;
mod presence;

use std::future::Future;

use edgestate::ratelimit::Limit;
use edgestate::route::user_api_limit;
use testkit::Stack;

/// The limit a route behind the authorizer applies: the operations run behind it, as they
/// would in a route.
fn limits() -> [Limit; 1] {
    [user_api_limit("block-tester")]
}

/// Runs `operation` and checks it cost exactly one REST request.
async fn one_request<T>(stack: &Stack, operation: impl Future<Output = T>) -> T {
    let before = stack.rest_requests();
    let outcome = operation.await;
    assert_eq!(
        stack.rest_requests() - before,
        1,
        "REST requests of one operation"
    );
    outcome
}

/// The remaining lifetime of `key` (prefix included) in ms, over RESP.
async fn pttl(stack: &Stack, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(format!("edgestate:local:{key}"))
        .query_async(&mut stack.redis().connect().await)
        .await
        .expect("PTTL")
}
