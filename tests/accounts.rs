//! Accounts and tokens end to end: register, login, me, logout and the authorizer over a
//! real Redis through upstash-local, round trips counted at the REST endpoint, and several
//! instances (own clients and denial caches) behaving as one.

use std::time::Duration;

use edgestate::accounts::{Accounts, Register};
use edgestate::guard::Authorizer;
use edgestate::ratelimit::{Limiter, Policy, RateLimitSettings};
use edgestate::route::Route;
use edgestate::settings::Settings;
use edgestate::startup::App;
use edgestate::tokens::Subject;
use futures::future::join_all;
use serde_json::{Value, json};
use testkit::answer::{Answer, answer, counted};
use testkit::events::{authorizer_request, event, request, with_bearer, with_body, with_source_ip};
use testkit::fixtures::credentials;
use testkit::limits::peek;
use testkit::{Stack, default_settings, test_tokens};

const EMAIL: &str = "ann.lee@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// One Lambda instance's worth of handlers: its own client and denial cache.
struct Instance {
    app: App,
    registration: Register,
    accounts: Accounts,
    authorizer: Authorizer,
}

fn instance_with(stack: &Stack, settings: Settings) -> Instance {
    let app = stack.app_with(settings);
    Instance {
        registration: Register::new(&app),
        accounts: Accounts::new(&app, test_tokens()),
        authorizer: Authorizer::new(&app, test_tokens()),
        app,
    }
}

fn instance(stack: &Stack) -> Instance {
    instance_with(stack, default_settings())
}

/// Settings with one limiter's policy replaced.
fn with_limit(limiter: Limiter, policy: Policy) -> Settings {
    let mut limits: RateLimitSettings = default_settings().rate_limits;
    match limiter {
        Limiter::Api => limits.api = policy,
        Limiter::LoginIp => limits.login_ip = policy,
        Limiter::LoginAccount => limits.login_account = policy,
        Limiter::RegisterIp => limits.register_ip = policy,
        Limiter::SessionPoll => limits.session_poll = policy,
    }
    Settings {
        rate_limits: limits,
        ..default_settings()
    }
}

fn login_event(email: &str, password: &str, ip: &str) -> Value {
    with_source_ip(
        with_body(event("auth-login"), &credentials(email, password)),
        ip,
    )
}

async fn register(stack: &Stack, instance: &Instance, email: &str) -> Value {
    let register = with_body(event("auth-register"), &credentials(email, PASSWORD));
    let created = counted(stack, 1, instance.registration.answer(request(&register))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["user"].clone()
}

async fn login(instance: &Instance, email: &str) -> String {
    let response = answer(
        instance
            .accounts
            .login
            .answer(request(&login_event(email, PASSWORD, "192.0.2.10")))
            .await,
    );
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["token"].as_str().unwrap().to_owned()
}

async fn me(instance: &Instance, token: &str) -> Answer {
    answer(
        instance
            .accounts
            .me
            .answer(request(&with_bearer(event("auth-me"), token)))
            .await,
    )
}

#[tokio::test]
async fn register_stores_an_argon2id_hash_and_answers_the_user() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    let user = register(&stack, &one, " Ann.Lee@Example.COM ").await;
    assert_eq!(user["email"], json!(EMAIL), "trimmed and lowercased");
    let id = user["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(humantime::parse_rfc3339(user["createdAt"].as_str().unwrap()).is_ok());
    assert!(user.get("password").is_none() && user.get("passwordHash").is_none());

    let mut resp = stack.redis().connect().await;
    let (owner, hash): (String, String) = redis::cmd("HMGET")
        .arg(user_key(EMAIL))
        .arg("id")
        .arg("password_hash")
        .query_async(&mut resp)
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(owner, id, "the user is stored under the hash of its email");
}

/// The user hash of an email: `user:{sha256(email)}`, as `docs/contract.md` lays it out.
fn user_key(email: &str) -> String {
    format!("edgestate:local:user:{}", hex_sha256(email))
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    register(&stack, &one, EMAIL).await;
    let again = with_body(
        event("auth-register"),
        &credentials("ANN.LEE@example.com", PASSWORD),
    );
    let taken = counted(&stack, 1, one.registration.answer(request(&again))).await;
    assert_eq!(
        (taken.status, &taken.body["code"]),
        (409, &json!("email_taken"))
    );
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_one_account() {
    let stack = Stack::start().await;
    let instances: Vec<Instance> = (0..3).map(|_| instance(&stack)).collect();
    let attempts = (0..6).map(|attempt| {
        let register = with_source_ip(
            with_body(event("auth-register"), &credentials(EMAIL, PASSWORD)),
            &format!("192.0.2.{attempt}"),
        );
        instances[attempt % 3]
            .registration
            .answer(request(&register))
    });
    let answers: Vec<Answer> = join_all(attempts).await.into_iter().map(answer).collect();
    let statuses: Vec<u16> = answers.iter().map(|answer| answer.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        5,
        "{statuses:?}"
    );
    let winner = answers
        .iter()
        .find(|answer| answer.status == 201)
        .map(|answer| answer.body["user"]["id"].clone())
        .unwrap();
    let mut resp = stack.redis().connect().await;
    let users: Vec<String> = redis::cmd("KEYS")
        .arg("edgestate:local:user:*")
        .query_async(&mut resp)
        .await
        .unwrap();
    assert_eq!(users, [user_key(EMAIL)], "exactly one user record");
    let owner: String = redis::cmd("HGET")
        .arg(user_key(EMAIL))
        .arg("id")
        .query_async(&mut resp)
        .await
        .unwrap();
    assert_eq!(json!(owner), winner, "the record is the winner's");
}

#[tokio::test]
async fn bad_registrations_are_400_or_415_before_any_redis_call() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    let mut wrong_type = event("auth-register");
    wrong_type["headers"]["content-type"] = json!("text/plain");
    for (event, status, field) in [
        (event("auth-register-invalid-email"), 400, Some("email")),
        (event("auth-register-short-password"), 400, Some("password")),
        (
            with_body(event("auth-register"), &json!({"email": EMAIL}).to_string()),
            400,
            Some("password"),
        ),
        (with_body(event("auth-register"), "{"), 400, None),
        (wrong_type, 415, None),
    ] {
        let refused = counted(&stack, 0, one.registration.answer(request(&event))).await;
        assert_eq!(refused.status, status, "{}", refused.body);
        assert_eq!(refused.body["field"].as_str(), field);
    }
}

#[tokio::test]
async fn register_is_limited_per_ip() {
    let stack = Stack::start().await;
    let one = instance_with(
        &stack,
        with_limit(Limiter::RegisterIp, Policy::new(2, 3600)),
    );
    for n in 0..2 {
        register(&stack, &one, &format!("user{n}@example.com")).await;
    }
    let third = with_body(
        event("auth-register"),
        &credentials("user3@example.com", PASSWORD),
    );
    let limited = answer(one.registration.answer(request(&third)).await);
    assert_eq!(
        (limited.status, &limited.body["code"]),
        (429, &json!("rate_limited"))
    );
}

#[tokio::test]
async fn login_issues_a_token_in_one_round_trip_and_me_answers_the_user() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    let user = register(&stack, &one, EMAIL).await;
    let login_event = login_event("  ANN.lee@example.com", PASSWORD, "192.0.2.10");
    let logged_in = counted(&stack, 1, one.accounts.login.answer(request(&login_event))).await;
    assert_eq!(logged_in.status, 200, "{}", logged_in.body);
    assert_eq!(logged_in.body["tokenType"], json!("Bearer"));
    assert_eq!(logged_in.body["expiresIn"], json!(900));
    assert!(humantime::parse_rfc3339(logged_in.body["expiresAt"].as_str().unwrap()).is_ok());
    let token = logged_in.body["token"].as_str().unwrap();
    let claims = test_tokens()
        .verify(token, edgestate::time::now_seconds())
        .unwrap();
    assert_eq!(claims.sub, user["id"].as_str().unwrap());
    assert_eq!((claims.email.as_str(), claims.ver), (EMAIL, 0));

    let me_event = with_bearer(event("auth-me"), token);
    let me = counted(&stack, 1, one.accounts.me.answer(request(&me_event))).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["user"], user);
}

#[tokio::test]
async fn every_credential_failure_is_the_same_401_and_records_a_failure() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    register(&stack, &one, EMAIL).await;
    let wrong_password = counted(
        &stack,
        2,
        one.accounts.login.answer(request(&login_event(
            EMAIL,
            "not the password",
            "192.0.2.1",
        ))),
    )
    .await;
    let unknown_email = counted(
        &stack,
        2,
        one.accounts.login.answer(request(&login_event(
            "nobody@example.com",
            PASSWORD,
            "192.0.2.2",
        ))),
    )
    .await;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(
        wrong_password.body, unknown_email.body,
        "nothing tells them apart"
    );
    assert_eq!(wrong_password.body["code"], json!("invalid_credentials"));
    for name in ["ratelimit", "ratelimit-policy", "x-ratelimit-remaining"] {
        assert_eq!(
            wrong_password.response.headers().get(name),
            unknown_email.response.headers().get(name),
            "{name}"
        );
    }
    for email in [EMAIL, "nobody@example.com"] {
        assert_eq!(
            account_left(&stack, &one.app, email).await,
            4,
            "one failure recorded under the hash of {email}"
        );
    }
}

/// What the per-account failure limiter has left for `email`, peeked.
async fn account_left(stack: &Stack, app: &App, email: &str) -> u64 {
    peek(stack, app, Limiter::LoginAccount, &hex_sha256(email))
        .await
        .remaining
}

#[tokio::test]
async fn account_lockout_holds_across_instances_and_clears_on_success() {
    let stack = Stack::start().await;
    let settings = || with_limit(Limiter::LoginAccount, Policy::new(3, 900));
    let first = instance_with(&stack, settings());
    let second = instance_with(&stack, settings());
    register(&stack, &first, EMAIL).await;

    // Two failures, each recorded in a second round trip, then a success (its second round
    // trip clears them).
    for (ip, trips) in [("192.0.2.1", 2), ("192.0.2.2", 2)] {
        let failed = counted(
            &stack,
            trips,
            first
                .accounts
                .login
                .answer(request(&login_event(EMAIL, "wrong password", ip))),
        )
        .await;
        assert_eq!(failed.status, 401);
    }
    let success = counted(
        &stack,
        2,
        second
            .accounts
            .login
            .answer(request(&login_event(EMAIL, PASSWORD, "192.0.2.3"))),
    )
    .await;
    assert_eq!(success.status, 200);
    assert_eq!(
        account_left(&stack, &first.app, EMAIL).await,
        3,
        "success cleared the failures"
    );

    // Three failures spread over two instances and three addresses lock the account ...
    for (instance, ip) in [
        (&first, "192.0.2.4"),
        (&second, "192.0.2.5"),
        (&first, "192.0.2.6"),
    ] {
        let failed = instance
            .accounts
            .login
            .answer(request(&login_event(EMAIL, "wrong password", ip)))
            .await;
        assert_eq!(failed.status(), 401);
    }
    // ... for the right password too, from another instance and address.
    let third = instance_with(&stack, settings());
    let locked = answer(
        third
            .accounts
            .login
            .answer(request(&login_event(EMAIL, PASSWORD, "192.0.2.7")))
            .await,
    );
    assert_eq!(
        (locked.status, &locked.body["code"]),
        (429, &json!("rate_limited"))
    );
}

fn hex_sha256(text: &str) -> String {
    use aws_lc_rs::digest::{SHA256, digest};
    digest(&SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[tokio::test]
async fn concurrent_logins_from_one_ip_across_instances_admit_exactly_the_limit() {
    const ATTEMPTS: usize = 200;
    let stack = Stack::start().await;
    let instances: Vec<Instance> = (0..3).map(|_| instance(&stack)).collect();
    register(&stack, &instances[0], EMAIL).await;
    let login = login_event(EMAIL, PASSWORD, "198.51.100.20");
    let attempts = (0..ATTEMPTS).map(|attempt| {
        instances[attempt % 3]
            .accounts
            .login
            .answer(request(&login))
    });
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    let admitted = statuses.iter().filter(|status| **status == 200).count();
    let limited = statuses.iter().filter(|status| **status == 429).count();
    assert_eq!(
        (admitted, limited),
        (5, ATTEMPTS - 5),
        "login-ip is 5 / 15 min"
    );
}

#[tokio::test]
async fn concurrent_wrong_passwords_across_instances_cannot_exceed_the_account_limit() {
    const ATTEMPTS: usize = 24;
    // A clean record, and one failure already on record: a burst gets no more password
    // checks than the account's allowance left, 5 and 4.
    for prior_failures in [0, 1] {
        let stack = Stack::start().await;
        let instances: Vec<Instance> = (0..3).map(|_| instance(&stack)).collect();
        register(&stack, &instances[0], EMAIL).await;
        for attempt in 0..prior_failures {
            let failed = instances[0]
                .accounts
                .login
                .answer(request(&login_event(
                    EMAIL,
                    "guess 0",
                    &format!("203.0.113.{}", 200 + attempt),
                )))
                .await;
            assert_eq!(failed.status(), 401);
        }

        // Each guess from its own address (no per-IP limit applies), all at once, through
        // three instances.
        let before = stack.rest_requests();
        let guesses = (0..ATTEMPTS).map(|attempt| {
            let guess = login_event(
                EMAIL,
                &format!("guess {}", attempt + 1),
                &format!("203.0.113.{attempt}"),
            );
            instances[attempt % 3]
                .accounts
                .login
                .answer(request(&guess))
        });
        let statuses: Vec<u16> = join_all(guesses)
            .await
            .iter()
            .map(|response| response.status().as_u16())
            .collect();
        let checked = statuses.iter().filter(|status| **status == 401).count();
        let locked = statuses.iter().filter(|status| **status == 429).count();
        let allowance = 5 - prior_failures;
        assert_eq!(
            (checked, locked),
            (allowance, ATTEMPTS - allowance),
            "{prior_failures} failure(s) on record: only the allowance left reaches the \
             password check ({statuses:?})"
        );
        assert_eq!(
            stack.rest_requests() - before,
            (ATTEMPTS + checked) as u64,
            "a refused guess costs one request; a checked one a second, to record it"
        );
    }
}

#[tokio::test]
async fn logout_through_one_instance_is_refused_on_the_others_at_once() {
    let stack = Stack::start().await;
    let instances: Vec<Instance> = (0..3).map(|_| instance(&stack)).collect();
    register(&stack, &instances[0], EMAIL).await;
    let token = login(&instances[0], EMAIL).await;
    for instance in &instances {
        assert_eq!(me(instance, &token).await.status, 200);
    }

    let logout = with_bearer(event("auth-logout"), &token);
    let logged_out = counted(
        &stack,
        1,
        instances[1].accounts.logout.answer(request(&logout)),
    )
    .await;
    assert_eq!(logged_out.status, 200, "{}", logged_out.body);
    for instance in &instances {
        let refused = me(instance, &token).await;
        assert_eq!(
            (refused.status, &refused.body["code"]),
            (401, &json!("invalid_token"))
        );
        let verdict = instance
            .authorizer
            .authorize(authorizer_request(&token))
            .await;
        assert!(!verdict.is_authorized);
    }

    let again = counted(
        &stack,
        1,
        instances[2].accounts.logout.answer(request(&logout)),
    )
    .await;
    assert_eq!(again.status, 200, "logging out twice is logging out once");
}

#[tokio::test]
async fn the_denylist_holds_the_jti_until_expiry_plus_leeway_never_the_token() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    register(&stack, &one, EMAIL).await;
    let token = login(&one, EMAIL).await;
    let claims = test_tokens()
        .verify(&token, edgestate::time::now_seconds())
        .unwrap();
    let logout = with_bearer(event("auth-logout"), &token);
    assert_eq!(
        one.accounts.logout.answer(request(&logout)).await.status(),
        200
    );

    let mut resp = stack.redis().connect().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*deny*")
        .query_async(&mut resp)
        .await
        .unwrap();
    assert_eq!(keys, [format!("edgestate:local:deny:{}", claims.jti)]);
    assert!(!keys[0].contains(&token));
    let expire_at: i64 = redis::cmd("EXPIRETIME")
        .arg(&keys[0])
        .query_async(&mut resp)
        .await
        .unwrap();
    assert_eq!(expire_at, claims.exp as i64 + 30);
}

#[tokio::test]
async fn logout_from_all_devices_kills_every_older_token() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    register(&stack, &one, EMAIL).await;
    let laptop = login(&one, EMAIL).await;
    let phone = login(&one, EMAIL).await;

    let everywhere = with_bearer(event("auth-logout-all-devices"), &laptop);
    let logged_out = counted(&stack, 1, one.accounts.logout.answer(request(&everywhere))).await;
    assert_eq!(logged_out.status, 200);
    assert_eq!(me(&one, &laptop).await.status, 401);
    assert_eq!(
        me(&one, &phone).await.status,
        401,
        "the other device is out too"
    );

    let fresh = login(&one, EMAIL).await;
    assert_eq!(me(&one, &fresh).await.status, 200, "a new login works");
}

#[tokio::test]
async fn logout_refuses_a_malformed_all_devices_flag() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    register(&stack, &one, EMAIL).await;
    let token = login(&one, EMAIL).await;
    let logout = with_bearer(
        with_body(event("auth-logout-all-devices"), r#"{"allDevices":"yes"}"#),
        &token,
    );
    let refused = counted(&stack, 0, one.accounts.logout.answer(request(&logout))).await;
    assert_eq!(
        (refused.status, &refused.body["field"]),
        (400, &json!("allDevices"))
    );
    assert_eq!(me(&one, &token).await.status, 200, "nothing was revoked");
}

#[tokio::test]
async fn forged_expired_and_missing_tokens_are_401_without_redis() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    let user = register(&stack, &one, EMAIL).await;
    let subject = Subject {
        user_id: user["id"].as_str().unwrap().to_owned(),
        email: EMAIL.to_owned(),
        token_version: 0,
        family: edgestate::tokens::Family::start(edgestate::time::now_ms())
            .unwrap()
            .id,
    };
    let now = edgestate::time::now_seconds();
    let valid = test_tokens().issue(&subject, now).unwrap().token;
    let expired = test_tokens().issue(&subject, now - 900 - 31).unwrap().token;
    let (header, rest) = valid.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let none_header = base64_url(r#"{"alg":"none","kid":"k1","typ":"JWT"}"#);
    let hs512_header = base64_url(r#"{"alg":"HS512","kid":"k1","typ":"JWT"}"#);
    let unknown_kid = base64_url(r#"{"alg":"HS256","kid":"k9","typ":"JWT"}"#);
    let tampered_payload = base64_url(&String::from_utf8(decode_url(payload)).unwrap().replace(
        &format!("\"ver\":{}", subject.token_version),
        &format!("\"ver\":{}", subject.token_version + 1),
    ));
    assert_ne!(tampered_payload, payload);
    let other_first = if signature.starts_with('A') { "B" } else { "A" };
    let tampered_signature = format!("{other_first}{}", &signature[1..]);
    let forged = [
        expired,
        format!("{none_header}.{payload}."),
        format!("{hs512_header}.{payload}.{signature}"),
        format!("{unknown_kid}.{payload}.{signature}"),
        format!("{header}.{tampered_payload}.{signature}"),
        format!("{header}.{payload}.{tampered_signature}"),
        "not-a-jwt".to_owned(),
    ];
    for token in &forged {
        let refused = counted(
            &stack,
            0,
            one.accounts
                .me
                .answer(request(&with_bearer(event("auth-me"), token))),
        )
        .await;
        assert_eq!(refused.status, 401, "{token}");
        assert!(!refused.body.to_string().contains(token.as_str()));
    }
    let missing = counted(
        &stack,
        0,
        one.accounts.me.answer(request(&event("auth-me-no-token"))),
    )
    .await;
    assert_eq!(
        (missing.status, &missing.body["code"]),
        (401, &json!("invalid_token"))
    );
    assert_eq!(
        me(&one, &valid).await.status,
        200,
        "the genuine token still works"
    );
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn decode_url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

#[tokio::test]
async fn the_authorizer_allows_live_tokens_with_their_context_in_one_round_trip() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    let user = register(&stack, &one, EMAIL).await;
    let token = login(&one, EMAIL).await;

    let before = stack.rest_requests();
    let verdict = one.authorizer.authorize(authorizer_request(&token)).await;
    assert_eq!(stack.rest_requests() - before, 1);
    assert!(verdict.is_authorized);
    assert_eq!(verdict.context, json!({"sub": user["id"], "email": EMAIL}));
    let wire = serde_json::to_value(&verdict).unwrap();
    assert_eq!(wire["isAuthorized"], json!(true));

    let before = stack.rest_requests();
    let forged = one.authorizer.authorize(authorizer_request("a.b.c")).await;
    assert!(!forged.is_authorized);
    assert_eq!(stack.rest_requests() - before, 0);
    assert_eq!(
        serde_json::to_value(&forged).unwrap(),
        json!({"isAuthorized": false})
    );
}

#[tokio::test]
async fn the_guard_fails_closed_when_redis_is_out_of_reach() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    register(&stack, &one, EMAIL).await;
    let token = login(&one, EMAIL).await;
    let mut config = stack.config();
    config.timeout = Duration::from_millis(300);
    let _ = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .exec_async(&mut stack.redis().connect().await)
        .await;
    let cut_off = App::new(
        edgestate::redis::RedisClient::new(config).unwrap(),
        default_settings(),
    );
    let accounts = Accounts::new(&cut_off, test_tokens());
    let response = answer(
        accounts
            .me
            .answer(request(&with_bearer(event("auth-me"), &token)))
            .await,
    );
    assert_eq!(
        (response.status, &response.body["code"]),
        (503, &json!("service_unavailable"))
    );
    let verdict = Authorizer::new(&cut_off, test_tokens())
        .authorize(authorizer_request(&token))
        .await;
    assert!(!verdict.is_authorized, "the authorizer denies");
}

/// Checks the rate-limit headers of an answer made `during` (ms since the epoch), after
/// `spent` requests of a fresh client on the limiter named `name` (`limit` per `window`
/// seconds, GCRA), the one its route reports (`docs/contract.md`, "Rate limits").
fn assert_rate_limit_headers(
    answer: &Answer,
    (name, limit, window): (&str, u64, u64),
    spent: u64,
    during: std::ops::RangeInclusive<u64>,
) {
    let headers = answer.response.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    // GCRA gives each request back after one interval: the allowance is whole again when
    // the `spent` intervals have passed.
    let (remaining, reset) = (limit - spent, window * spent / limit);
    assert_eq!(
        header("ratelimit-policy"),
        format!("\"{name}\";q={limit};w={window}")
    );
    assert_eq!(
        header("ratelimit"),
        format!("\"{name}\";r={remaining};t={reset}")
    );
    assert_eq!(header("x-ratelimit-limit"), limit.to_string());
    assert_eq!(header("x-ratelimit-remaining"), remaining.to_string());
    let reset_at: u64 = header("x-ratelimit-reset").parse().unwrap();
    let (earliest, latest) = (during.start() + reset * 1000, during.end() + reset * 1000);
    assert!(
        (earliest / 1000..=latest.div_ceil(1000)).contains(&reset_at),
        "x-ratelimit-reset {reset_at}, answered from {} to {} ms",
        during.start(),
        during.end()
    );
    assert!(headers.get("retry-after").is_none(), "{headers:?}");
}

/// `call`'s answer and the instants (ms since the epoch) between which it was made.
async fn timed(
    call: impl Future<Output = lambda_http::Response<lambda_http::Body>>,
) -> (Answer, std::ops::RangeInclusive<u64>) {
    let sent = edgestate::time::now_ms();
    let response = answer(call.await);
    (response, sent..=edgestate::time::now_ms())
}

#[tokio::test]
async fn register_login_me_and_logout_send_the_rate_limit_headers() {
    const REGISTER_IP: (&str, u64, u64) = ("register-ip", 5, 3600);
    const LOGIN_IP: (&str, u64, u64) = ("login-ip", 5, 900);
    const API: (&str, u64, u64) = ("api", 100, 900);
    let stack = Stack::start().await;
    let one = instance(&stack);
    let registration = with_body(event("auth-register"), &credentials(EMAIL, PASSWORD));
    let (registered, during) = timed(one.registration.answer(request(&registration))).await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    assert_rate_limit_headers(&registered, REGISTER_IP, 1, during);

    let login = login_event(EMAIL, PASSWORD, "192.0.2.10");
    let (logged_in, during) = timed(one.accounts.login.answer(request(&login))).await;
    assert_eq!(logged_in.status, 200, "{}", logged_in.body);
    assert_rate_limit_headers(&logged_in, LOGIN_IP, 1, during);

    // me and logout count against the token's user: its first and second request.
    let token = logged_in.body["token"].as_str().unwrap();
    let me = with_bearer(event("auth-me"), token);
    let (answered, during) = timed(one.accounts.me.answer(request(&me))).await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert_rate_limit_headers(&answered, API, 1, during);
    let logout = with_bearer(event("auth-logout"), token);
    let (logged_out, during) = timed(one.accounts.logout.answer(request(&logout))).await;
    assert_eq!(logged_out.status, 200, "{}", logged_out.body);
    assert_rate_limit_headers(&logged_out, API, 2, during);

    // A wrong password and an unknown email, each a first attempt from its own address on an
    // account with no attempt in flight: the same headers, with the same values.
    let other = "bob.lee@example.com";
    register(&stack, &instance(&stack), other).await;
    for (email, password, ip) in [
        (other, "not the password", "192.0.2.21"),
        ("nobody@example.com", PASSWORD, "192.0.2.22"),
    ] {
        let login = login_event(email, password, ip);
        let (refused, during) = timed(one.accounts.login.answer(request(&login))).await;
        testkit::answer::assert_error(&refused, 401, "invalid_credentials");
        assert_rate_limit_headers(&refused, LOGIN_IP, 1, during);
    }
}

#[tokio::test]
async fn an_all_devices_logout_with_a_revoked_token_is_200_and_changes_nothing() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    register(&stack, &one, EMAIL).await;
    let laptop = login(&one, EMAIL).await;
    let phone = login(&one, EMAIL).await;
    let logout = with_bearer(event("auth-logout"), &laptop);
    assert_eq!(
        answer(one.accounts.logout.answer(request(&logout)).await).status,
        200
    );
    let mut resp = stack.redis().connect().await;
    let mut user = async || -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(user_key(EMAIL))
            .query_async(&mut resp)
            .await
            .unwrap();
        fields.sort();
        fields
    };
    let before = user().await;

    let everywhere = with_bearer(event("auth-logout-all-devices"), &laptop);
    let answered = counted(&stack, 1, one.accounts.logout.answer(request(&everywhere))).await;
    assert_eq!(
        (answered.status, &answered.body["message"]),
        (200, &json!("Logged out"))
    );
    assert_eq!(
        user().await,
        before,
        "the user's token version and families are as they were"
    );
    assert_eq!(
        me(&one, &phone).await.status,
        200,
        "the other device still works"
    );
    assert_eq!(me(&one, &laptop).await.status, 401);
}

#[tokio::test]
async fn login_and_logout_refuse_a_wrong_content_type_or_a_body_too_large_before_redis() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    register(&stack, &one, EMAIL).await;
    let token = login(&one, EMAIL).await;
    let as_text = |mut event: Value| {
        event["headers"]["content-type"] = json!("text/plain");
        event
    };
    let too_large = |event: Value| {
        with_body(
            event,
            &json!({"email": EMAIL, "password": PASSWORD, "pad": "x".repeat(8 * 1024)}).to_string(),
        )
    };
    let login = login_event(EMAIL, PASSWORD, "192.0.2.30");
    let logout = with_bearer(event("auth-logout-all-devices"), &token);
    for (route, event, status, code) in [
        (
            &one.accounts.login,
            as_text(login.clone()),
            415,
            "unsupported_media_type",
        ),
        (
            &one.accounts.login,
            too_large(login),
            413,
            "payload_too_large",
        ),
    ] {
        let refused = counted(&stack, 0, route.answer(request(&event))).await;
        testkit::answer::assert_error(&refused, status, code);
    }
    for (event, status, code) in [
        (as_text(logout.clone()), 415, "unsupported_media_type"),
        (too_large(logout), 413, "payload_too_large"),
    ] {
        let refused = counted(&stack, 0, one.accounts.logout.answer(request(&event))).await;
        testkit::answer::assert_error(&refused, status, code);
    }
    assert_eq!(me(&one, &token).await.status, 200, "nothing was revoked");
}

#[tokio::test]
async fn a_refused_registration_leaves_no_account_and_says_when_to_retry() {
    let stack = Stack::start().await;
    let one = instance_with(
        &stack,
        with_limit(Limiter::RegisterIp, Policy::new(1, 3600)),
    );
    register(&stack, &one, "first@example.com").await;
    let second = with_body(event("auth-register"), &credentials(EMAIL, PASSWORD));
    let refused = answer(one.registration.answer(request(&second)).await);
    testkit::answer::assert_error(&refused, 429, "rate_limited");
    let retry_after: u64 = refused.response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // GCRA, 1 per hour: the one registration comes back within the hour.
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let exists: bool = redis::cmd("EXISTS")
        .arg(user_key(EMAIL))
        .query_async(&mut stack.redis().connect().await)
        .await
        .unwrap();
    assert!(!exists, "no account for the refused email");
    let login = login_event(EMAIL, PASSWORD, "192.0.2.40");
    testkit::answer::assert_error(
        &answer(one.accounts.login.answer(request(&login)).await),
        401,
        "invalid_credentials",
    );
}

#[tokio::test]
async fn account_timestamps_are_the_moments_they_name() {
    let stack = Stack::start().await;
    let one = instance(&stack);
    let register = with_body(event("auth-register"), &credentials(EMAIL, PASSWORD));
    let (registered, during) = timed(one.registration.answer(request(&register))).await;
    let created_at = testkit::answer::timestamp_between(
        &registered.body["user"]["createdAt"],
        *during.start(),
        *during.end(),
    );

    let login = login_event(EMAIL, PASSWORD, "192.0.2.10");
    let (logged_in, during) = timed(one.accounts.login.answer(request(&login))).await;
    let token = logged_in.body["token"].as_str().unwrap();
    let claims = test_tokens()
        .verify(token, edgestate::time::now_seconds())
        .unwrap();
    // Access tokens live 15 minutes from their issue, in whole seconds as JWTs count;
    // refresh families 30 days from their login.
    let expires_at = claims.exp * 1000;
    testkit::answer::timestamp_between(&logged_in.body["expiresAt"], expires_at, expires_at);
    assert_eq!(claims.exp - claims.iat, 900);
    let issued = claims.iat * 1000;
    assert!(
        (during.start() / 1000 * 1000..=*during.end()).contains(&issued),
        "issued at {issued}, answered during {during:?}"
    );
    const REFRESH_TTL_MS: u64 = 30 * 24 * 3600 * 1000;
    testkit::answer::timestamp_between(
        &logged_in.body["refreshExpiresAt"],
        during.start() + REFRESH_TTL_MS,
        during.end() + REFRESH_TTL_MS,
    );

    let me = me(&one, token).await;
    testkit::answer::timestamp_between(&me.body["user"]["createdAt"], created_at, created_at);
}
