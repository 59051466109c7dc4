//! Refresh tokens end to end: rotation, reuse detection, the retry grace, family lifetime and
//! revocation, over a real Redis through upstash-local, with several instances (own clients
//! and caches) behaving as one and the round trips counted at the REST endpoint.

use std::time::Duration;

use edgestate::accounts::Accounts;
use edgestate::guard::Authorizer;
use edgestate::route::Route;
use edgestate::time::now_ms;
use edgestate::tokens::Family;
use futures::future::join_all;
use serde_json::{Value, json};
use testkit::Stack;
use testkit::answer::{Answer, answer, assert_error, counted};
use testkit::events::{authorizer_request, event, request, with_bearer, with_body};
use testkit::fixtures::{credentials, registered_user, tokens_with};

const EMAIL: &str = "ann.lee@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// One Lambda instance's token routes: its own client, caches and keys.
struct Instance {
    accounts: Accounts,
    authorizer: Authorizer,
}

/// An instance whose token settings (`REFRESH_REUSE_GRACE_SECONDS`, ...) are `token_settings`.
fn instance_with(stack: &Stack, token_settings: &[(&str, &str)]) -> Instance {
    let app = stack.app();
    Instance {
        accounts: Accounts::new(&app, tokens_with(token_settings)),
        authorizer: Authorizer::new(&app, tokens_with(token_settings)),
    }
}

fn instance(stack: &Stack) -> Instance {
    instance_with(stack, &[])
}

async fn login(instance: &Instance) -> Answer {
    let login = with_body(event("auth-login"), &credentials(EMAIL, PASSWORD));
    let answer = answer(instance.accounts.login.answer(request(&login)).await);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer
}

fn refresh_event(token: &str) -> Value {
    with_body(
        event("auth-refresh"),
        &json!({"refreshToken": token}).to_string(),
    )
}

async fn refresh(instance: &Instance, token: &str) -> Answer {
    answer(
        instance
            .accounts
            .refresh
            .answer(request(&refresh_event(token)))
            .await,
    )
}

fn text<'a>(answer: &'a Answer, field: &str) -> &'a str {
    answer.body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {}", answer.body))
}

async fn me_status(instance: &Instance, access_token: &str) -> u16 {
    let me = with_bearer(event("auth-me"), access_token);
    instance
        .accounts
        .me
        .answer(request(&me))
        .await
        .status()
        .as_u16()
}

fn assert_refused(answer: &Answer) {
    assert_error(answer, 401, "invalid_refresh_token");
}

#[tokio::test]
async fn login_starts_a_family_and_each_refresh_rotates_it_in_one_round_trip() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    registered_user(&stack, EMAIL, PASSWORD).await;
    let logged_in = login(&one).await;
    assert_eq!(
        logged_in.body["expiresIn"],
        json!(900),
        "15-minute access tokens"
    );
    let refresh_expires = humantime::parse_rfc3339(text(&logged_in, "refreshExpiresAt")).unwrap();
    let thirty_days = std::time::SystemTime::now() + Duration::from_secs(30 * 24 * 3600);
    let off = thirty_days
        .duration_since(refresh_expires)
        .unwrap_or_else(|early| early.duration());
    assert!(off < Duration::from_secs(60), "the family lives 30 days");

    let first = text(&logged_in, "refreshToken").to_owned();
    let rotated = counted(
        &stack,
        1,
        one.accounts.refresh.answer(request(&refresh_event(&first))),
    )
    .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    for field in [
        "token",
        "tokenType",
        "expiresAt",
        "expiresIn",
        "refreshToken",
        "refreshExpiresAt",
    ] {
        assert!(
            rotated.body.get(field).is_some(),
            "{field} in {}",
            rotated.body
        );
    }
    assert_eq!(
        rotated.body["refreshExpiresAt"],
        logged_in.body["refreshExpiresAt"]
    );
    let second = text(&rotated, "refreshToken").to_owned();
    assert_ne!(second, first);
    assert_eq!(me_status(&one, text(&rotated, "token")).await, 200);

    let again = counted(
        &stack,
        1,
        one.accounts
            .refresh
            .answer(request(&refresh_event(&second))),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_ne!(text(&again, "refreshToken"), second);
}

#[tokio::test]
async fn a_retry_inside_the_grace_gets_the_same_successor() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    let other = instance(&stack);
    registered_user(&stack, EMAIL, PASSWORD).await;
    let first = text(&login(&one).await, "refreshToken").to_owned();
    let answered = refresh(&one, &first).await;
    let retried = refresh(&other, &first).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.body["refreshToken"], answered.body["refreshToken"]);
    // The family did not fork: its one successor still works.
    let next = refresh(&one, text(&retried, "refreshToken")).await;
    assert_eq!(next.status, 200, "{}", next.body);
}

#[tokio::test]
async fn reuse_after_the_grace_revokes_the_family_and_its_access_tokens_everywhere() {
    let stack = Stack::start().await;
    let grace = [("REFRESH_REUSE_GRACE_SECONDS", "1")];
    let instances: Vec<Instance> = (0..3).map(|_| instance_with(&stack, &grace)).collect();
    registered_user(&stack, EMAIL, PASSWORD).await;
    let logged_in = login(&instances[0]).await;
    let stolen = text(&logged_in, "refreshToken").to_owned();
    let rotated = refresh(&instances[0], &stolen).await;
    let access = text(&rotated, "token").to_owned();
    let current = text(&rotated, "refreshToken").to_owned();
    assert_eq!(me_status(&instances[2], &access).await, 200);

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let reused = counted(
        &stack,
        1,
        instances[1]
            .accounts
            .refresh
            .answer(request(&refresh_event(&stolen))),
    )
    .await;
    assert_refused(&reused);

    // The whole family is dead, on every instance, from the next request on.
    assert_refused(&refresh(&instances[2], &current).await);
    for instance in &instances {
        assert_eq!(me_status(instance, &access).await, 401);
        assert_eq!(
            me_status(instance, text(&logged_in, "token")).await,
            401,
            "the login's own access token too"
        );
        let verdict = instance
            .authorizer
            .authorize(authorizer_request(&access))
            .await;
        assert!(!verdict.is_authorized);
    }
    // A new login starts a new family that works.
    let again = login(&instances[1]).await;
    assert_eq!(me_status(&instances[0], text(&again, "token")).await, 200);
    assert_eq!(
        refresh(&instances[2], text(&again, "refreshToken"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn twenty_concurrent_refreshes_of_one_token_never_fork_the_family() {
    let stack = Stack::start().await;
    let instances: Vec<Instance> = (0..3).map(|_| instance(&stack)).collect();
    registered_user(&stack, EMAIL, PASSWORD).await;
    let first = text(&login(&instances[0]).await, "refreshToken").to_owned();
    let event = refresh_event(&first);
    let refreshes = (0..20).map(|attempt| {
        instances[attempt % 3]
            .accounts
            .refresh
            .answer(request(&event))
    });
    let answers: Vec<Answer> = join_all(refreshes).await.into_iter().map(answer).collect();
    let statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    let successors: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|answer| text(answer, "refreshToken"))
        .collect();
    assert_eq!(successors.len(), 1, "one successor for all: {successors:?}");
    let successor = successors.into_iter().next().unwrap();
    assert_eq!(refresh(&instances[1], successor).await.status, 200);
}

#[tokio::test]
async fn a_family_ends_with_its_lifetime_and_redis_forgets_it() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    registered_user(&stack, EMAIL, PASSWORD).await;
    let logged_in = login(&one).await;
    let token = text(&logged_in, "refreshToken").to_owned();
    let (account, family, _) = split(&token);

    // The family's key carries its end as expiry (30 days from login, not from now).
    refresh(&one, &token).await;
    let mut resp = stack.redis().connect().await;
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(format!("edgestate:local:fam:{account}:{family}"))
        .query_async(&mut resp)
        .await
        .unwrap();
    let family_end = Family::parse(family).unwrap().started_ms + 30 * 24 * 3600 * 1000;
    let expected = family_end as i64 - now_ms() as i64;
    assert!(
        (expected - ttl_ms).abs() < 2_000,
        "{ttl_ms} ms left, {expected} expected"
    );

    // A family started 31 days ago is over, whatever its token says: refused, for the price
    // of one request.
    let tokens = tokens_with(&[]);
    let ancient = Family::parse(&format!(
        "{:012x}{}",
        now_ms() - 31 * 24 * 3600 * 1000,
        &family[12..]
    ))
    .unwrap();
    let stale = tokens.refresh().first(account, &ancient);
    let refused = counted(
        &stack,
        1,
        one.accounts.refresh.answer(request(&refresh_event(&stale))),
    )
    .await;
    assert_refused(&refused);
}

fn split(token: &str) -> (&str, &str, &str) {
    let mut parts = token.split('.');
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

#[tokio::test]
async fn logout_revokes_the_family_and_all_devices_revokes_every_family() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    let other = instance(&stack);
    registered_user(&stack, EMAIL, PASSWORD).await;

    let phone = login(&one).await;
    let laptop = login(&one).await;
    let logout = with_bearer(event("auth-logout"), text(&phone, "token"));
    assert_eq!(
        one.accounts.logout.answer(request(&logout)).await.status(),
        200
    );
    assert_refused(&refresh(&other, text(&phone, "refreshToken")).await);
    assert_eq!(
        refresh(&other, text(&laptop, "refreshToken")).await.status,
        200,
        "logging out one device leaves the others"
    );

    let tablet = login(&one).await;
    let everywhere = with_bearer(event("auth-logout-all-devices"), text(&tablet, "token"));
    assert_eq!(
        one.accounts
            .logout
            .answer(request(&everywhere))
            .await
            .status(),
        200
    );
    for device in [&laptop, &tablet] {
        assert_refused(&refresh(&other, text(device, "refreshToken")).await);
    }
    let after = login(&other).await;
    assert_eq!(
        refresh(&one, text(&after, "refreshToken")).await.status,
        200
    );
}

#[tokio::test]
async fn bad_requests_are_refused_before_redis_and_bad_tokens_cost_one_request() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    let mut wrong_type = event("auth-refresh");
    wrong_type["headers"]["content-type"] = json!("text/plain");
    let oversized = with_body(
        event("auth-refresh"),
        &json!({"refreshToken": "x".repeat(5000)}).to_string(),
    );
    for (event, status, code) in [
        (wrong_type, 415, "unsupported_media_type"),
        (oversized, 413, "payload_too_large"),
        (
            with_body(event("auth-refresh"), "not json"),
            400,
            "invalid_body",
        ),
        (with_body(event("auth-refresh"), "{}"), 400, "invalid_field"),
        (
            with_body(event("auth-refresh"), r#"{"refreshToken": 5}"#),
            400,
            "invalid_field",
        ),
    ] {
        let refused = counted(&stack, 0, one.accounts.refresh.answer(request(&event))).await;
        assert_error(&refused, status, code);
    }
    for name in [
        "auth-refresh-malformed",
        "auth-refresh-expired",
        "auth-refresh",
        "auth-refresh-reused",
    ] {
        let refused = counted(
            &stack,
            1,
            one.accounts.refresh.answer(request(&event(name))),
        )
        .await;
        assert_refused(&refused);
        assert!(
            refused
                .response
                .headers()
                .contains_key("x-ratelimit-remaining")
        );
    }
}

#[tokio::test]
async fn redis_holds_only_hashes_of_refresh_tokens() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    registered_user(&stack, EMAIL, PASSWORD).await;
    let first = text(&login(&one).await, "refreshToken").to_owned();
    let second = text(&refresh(&one, &first).await, "refreshToken").to_owned();
    let mut resp = stack.redis().connect().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut resp)
        .await
        .unwrap();
    let mut everything = keys.join("\n");
    for key in &keys {
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut resp)
            .await
            .unwrap();
        if kind == "hash" {
            let fields: Vec<String> = redis::cmd("HGETALL")
                .arg(key)
                .query_async(&mut resp)
                .await
                .unwrap();
            everything.push_str(&fields.join("\n"));
        }
    }
    for token in [&first, &second] {
        let (_, _, secret) = split(token);
        assert!(
            !everything.contains(secret),
            "a refresh secret is stored in clear"
        );
    }
}

#[tokio::test]
async fn a_token_cannot_be_moved_to_another_account() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    registered_user(&stack, EMAIL, PASSWORD).await;
    let victim = "bob@example.com";
    registered_user(&stack, victim, PASSWORD).await;
    let first = text(&login(&one).await, "refreshToken").to_owned();
    let current = text(&refresh(&one, &first).await, "refreshToken").to_owned();
    let victim_account = edgestate::keys::account_id(victim);
    for token in [&first, &current] {
        let (account, family, secret) = split(token);
        assert_ne!(account, victim_account);
        let moved = format!("{victim_account}.{family}.{secret}");
        assert_refused(&refresh(&one, &moved).await);
    }
    // The family itself is untouched by the attempts.
    assert_eq!(refresh(&one, &current).await.status, 200);
}
