//! One-time tokens: taken at most once across instances, peeked without taking, gone after
//! their TTL, and never spelled in a key.

use std::time::Duration;

use edgestate::blocks::once::{OneTime, OneTimeToken};
use edgestate::route::Meter;
use futures::future::join_all;
use testkit::Stack;

use crate::{limits, one_request};

async fn take(once: &OneTime, token: &OneTimeToken) -> Option<String> {
    once.take(token, &limits(), &mut Meter::default())
        .await
        .expect("a take")
}

#[tokio::test]
async fn a_token_is_taken_at_most_once_across_instances() {
    let stack = Stack::start().await;
    let instances: Vec<OneTime> = (0..5).map(|_| OneTime::new(&stack.app(), "call")).collect();
    let token = one_request(
        &stack,
        instances[0].issue(
            r#"{"room":"r1"}"#,
            Duration::from_secs(60),
            &limits(),
            &mut Meter::default(),
        ),
    )
    .await
    .unwrap();

    let before = stack.rest_requests();
    let takes = join_all((0..40).map(|i| take(&instances[i % instances.len()], &token))).await;
    assert_eq!(stack.rest_requests() - before, 40, "one request per take");
    let taken: Vec<_> = takes.into_iter().flatten().collect();
    assert_eq!(
        taken,
        vec![r#"{"room":"r1"}"#.to_owned()],
        "exactly one take wins"
    );
    assert_eq!(
        take(&instances[1], &token).await,
        None,
        "and later ones see nothing"
    );
}

#[tokio::test]
async fn a_peek_takes_nothing_and_a_token_expires_with_its_ttl() {
    let stack = Stack::start().await;
    let once = OneTime::new(&stack.app(), "call");
    let token = once
        .issue(
            "v",
            Duration::from_secs(2),
            &limits(),
            &mut Meter::default(),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let peeked = one_request(&stack, once.peek(&token, &limits(), &mut Meter::default()))
            .await
            .unwrap()
            .expect("still there");
        assert_eq!(peeked.value, "v");
        assert!(peeked.expires_in <= Duration::from_secs(2));
    }
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let gone = once
        .peek(&token, &limits(), &mut Meter::default())
        .await
        .unwrap();
    assert_eq!(gone, None);
    assert_eq!(take(&once, &token).await, None);

    let never_issued = OneTimeToken::generate().unwrap();
    assert_eq!(take(&once, &never_issued).await, None);
}

#[tokio::test]
async fn no_key_spells_a_token() {
    let stack = Stack::start().await;
    let once = OneTime::new(&stack.app(), "reset");
    let token = once
        .issue(
            "user-1",
            Duration::from_secs(60),
            &limits(),
            &mut Meter::default(),
        )
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("edgestate:local:once:*")
        .query_async(&mut stack.redis().connect().await)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("edgestate:local:once:reset:"));
    assert!(!keys[0].contains(token.as_str()));
}
