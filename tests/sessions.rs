//! Signature sessions end to end: requests built from `events/`, handlers over a real Redis
//! through upstash-local, one REST request counted per HTTP request, and several handler
//! instances (separate clients) behaving as one.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use edgestate::accounts::Register;
use edgestate::ratelimit::Policy;
use edgestate::route::Route;
use edgestate::sessions::Sessions;
use edgestate::settings::Settings;
use edgestate::time::now_ms;
use futures::future::join_all;
use serde_json::{Value, json};
use testkit::answer::{answer, assert_error, counted, timestamp_between};
use testkit::events::{event, request, with_body, with_session_id, with_source_ip};
use testkit::fixtures::credentials;
use testkit::{Stack, default_settings};

fn png_data_url() -> String {
    let png = event("session-submit")["body"].as_str().unwrap().to_owned();
    let body: Value = serde_json::from_str(&png).unwrap();
    body["signatureData"].as_str().unwrap().to_owned()
}

fn submit_event(id: &str, signature: &str) -> Value {
    with_body(
        with_session_id(event("session-submit"), id),
        &json!({ "signatureData": signature }).to_string(),
    )
}

async fn create(stack: &Stack, sessions: &Sessions) -> String {
    let created = counted(
        stack,
        1,
        sessions.create.answer(request(&event("session-create"))),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["sessionId"].as_str().unwrap().to_owned()
}

async fn pttl(stack: &Stack, id: &str) -> i64 {
    key_pttl(stack, &format!("edgestate:local:sess:{id}")).await
}

async fn key_pttl(stack: &Stack, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut stack.redis().connect().await)
        .await
        .unwrap()
}

/// Checks a TTL read `since` ms after the request that set it to `intended` ms: whatever time
/// has passed comes off it, and nothing else.
fn assert_ttl_left(what: &str, ttl: i64, intended: u64, since: u64) {
    assert!(
        ttl <= intended as i64 && ttl >= intended.saturating_sub(since) as i64,
        "{what}: PTTL {ttl}, {since} ms after a request that set {intended}"
    );
}

/// The default session lifetime, `SESSION_TTL_SECONDS`, in ms.
const SESSION_TTL_MS: u64 = 900_000;

#[tokio::test]
async fn create_answers_201_with_an_id_and_expiry_and_stores_a_ttl() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let before = now_ms();
    let created = counted(
        &stack,
        1,
        sessions.create.answer(request(&event("session-create"))),
    )
    .await;
    let after = now_ms();
    assert_eq!(created.status, 201);
    assert_eq!(created.body["success"], json!(true));
    let id = created.body["sessionId"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    timestamp_between(
        &created.body["expiresAt"],
        before + SESSION_TTL_MS,
        after + SESSION_TTL_MS,
    );
    let ttl = pttl(&stack, id).await;
    assert_ttl_left("the session", ttl, SESSION_TTL_MS, now_ms() - before);
}

#[tokio::test]
async fn create_refuses_bad_bodies_before_touching_redis() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let cases = [
        (event("session-create-missing-token"), 400, "invalid_field"),
        (event("session-create-not-json"), 400, "invalid_body"),
        (
            event("session-create-wrong-content-type"),
            415,
            "unsupported_media_type",
        ),
        (
            with_body(
                event("session-create"),
                &json!({"onboardingToken": ""}).to_string(),
            ),
            400,
            "invalid_field",
        ),
        (
            with_body(
                event("session-create"),
                &json!({"onboardingToken": "x".repeat(513)}).to_string(),
            ),
            400,
            "invalid_field",
        ),
        (
            with_body(
                event("session-create"),
                &json!({"onboardingToken": 12}).to_string(),
            ),
            400,
            "invalid_field",
        ),
        (
            with_body(
                event("session-create"),
                &json!({"onboardingToken": "x", "pad": "y".repeat(8000)}).to_string(),
            ),
            413,
            "payload_too_large",
        ),
    ];
    for (event, status, code) in cases {
        let answer = counted(&stack, 0, sessions.create.answer(request(&event))).await;
        assert_error(&answer, status, code);
    }
    let missing = counted(
        &stack,
        0,
        sessions
            .create
            .answer(request(&event("session-create-missing-token"))),
    )
    .await;
    assert_eq!(missing.body["field"], json!("onboardingToken"));
}

#[tokio::test]
async fn poll_shows_pending_then_completed_and_never_the_onboarding_token() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let created_from = now_ms();
    let id = create(&stack, &sessions).await;
    let created_by = now_ms();
    let get = with_session_id(event("session-get"), &id);

    let pending = counted(&stack, 1, sessions.get.answer(request(&get))).await;
    assert_eq!(pending.status, 200);
    let session = &pending.body["session"];
    assert_eq!(session["id"], json!(id));
    assert_eq!(session["completed"], json!(false));
    let created_at = timestamp_between(&session["createdAt"], created_from, created_by);
    let expires_at = created_at + SESSION_TTL_MS;
    timestamp_between(&session["expiresAt"], expires_at, expires_at);
    assert!(session.get("completedAt").is_none() && session.get("signatureData").is_none());

    let signature = png_data_url();
    let submitted_from = now_ms();
    let submitted = counted(
        &stack,
        1,
        sessions
            .submit
            .answer(request(&submit_event(&id, &signature))),
    )
    .await;
    let submitted_by = now_ms();
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    assert_eq!(submitted.body["message"], json!("Signature submitted"));

    let completed = counted(&stack, 1, sessions.get.answer(request(&get))).await;
    let session = &completed.body["session"];
    assert_eq!(session["completed"], json!(true));
    assert_eq!(session["signatureData"], json!(signature));
    timestamp_between(&session["completedAt"], submitted_from, submitted_by);
    timestamp_between(&session["createdAt"], created_at, created_at);
    timestamp_between(&session["expiresAt"], expires_at, expires_at);
    let text = completed.body.to_string();
    assert!(!text.contains("onb_7Kq2xY9pLm3N") && !text.contains("onboarding"));
}

#[tokio::test]
async fn malformed_ids_are_400_without_any_redis_call() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let answer = counted(
        &stack,
        0,
        sessions
            .get
            .answer(request(&event("session-get-invalid-id"))),
    )
    .await;
    assert_error(&answer, 400, "invalid_session_id");
    let submit = submit_event("NOT-A-SESSION", &png_data_url());
    let answer = counted(&stack, 0, sessions.submit.answer(request(&submit))).await;
    assert_error(&answer, 400, "invalid_session_id");
}

#[tokio::test]
async fn unknown_sessions_are_404_on_poll_and_submit() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let unknown = "00000000000000000000000000000000";
    let get = with_session_id(event("session-get"), unknown);
    assert_error(
        &counted(&stack, 1, sessions.get.answer(request(&get))).await,
        404,
        "session_not_found",
    );
    let submit = submit_event(unknown, &png_data_url());
    assert_error(
        &counted(&stack, 1, sessions.submit.answer(request(&submit))).await,
        404,
        "session_not_found",
    );
}

#[tokio::test]
async fn submit_refuses_bad_signatures_before_touching_redis() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let id = create(&stack, &sessions).await;
    let too_big = format!(
        "data:image/png;base64,{}",
        STANDARD.encode(vec![0u8; 200 * 1024])
    );
    let cases = [
        (
            with_session_id(event("session-submit-not-an-image"), &id),
            400,
            "invalid_field",
        ),
        (
            with_session_id(event("session-submit-invalid-base64"), &id),
            400,
            "invalid_field",
        ),
        (submit_event(&id, &too_big), 413, "payload_too_large"),
        (
            with_body(with_session_id(event("session-submit"), &id), "{}"),
            400,
            "invalid_field",
        ),
        (
            with_body(with_session_id(event("session-submit"), &id), "not json"),
            400,
            "invalid_body",
        ),
    ];
    for (event, status, code) in cases {
        let answer = counted(&stack, 0, sessions.submit.answer(request(&event))).await;
        assert_error(&answer, status, code);
    }
}

#[tokio::test]
async fn a_signature_at_the_limit_is_taken_however_its_json_escapes_slashes() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let id = create(&stack, &sessions).await;
    // A PNG of random bytes whose data URL is just under the default 256 KiB: its base64 has
    // about one `/` in 64, which encoders such as PHP's write as `\/`.
    let mut image = vec![0u8; 3 * 65_530];
    aws_lc_rs::rand::fill(&mut image).unwrap();
    image[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    let signature = format!("data:image/png;base64,{}", STANDARD.encode(&image));
    assert!(signature.len() <= 256 * 1024);
    let escaped = format!(
        "{{\"signatureData\": \"{}\"}}",
        signature.replace('/', "\\/")
    );
    assert!(
        escaped.len() > 256 * 1024 + 1024,
        "the escapes add more than 1 KiB"
    );
    let submit = with_body(with_session_id(event("session-submit"), &id), &escaped);
    let submitted = counted(&stack, 1, sessions.submit.answer(request(&submit))).await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);

    let get = with_session_id(event("session-get"), &id);
    let polled = answer(sessions.get.answer(request(&get)).await);
    assert_eq!(
        polled.body["session"]["signatureData"].as_str(),
        Some(signature.as_str())
    );
}

#[tokio::test]
async fn second_submit_is_409_and_keeps_the_first_signature() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let id = create(&stack, &sessions).await;
    let first = png_data_url();
    let submit = counted(
        &stack,
        1,
        sessions.submit.answer(request(&submit_event(&id, &first))),
    )
    .await;
    assert_eq!(submit.status, 200);
    let second = format!(
        "data:image/jpeg;base64,{}",
        STANDARD.encode(b"\xff\xd8\xff\xe0")
    );
    let again = counted(
        &stack,
        1,
        sessions.submit.answer(request(&submit_event(&id, &second))),
    )
    .await;
    assert_error(&again, 409, "already_submitted");
    let get = with_session_id(event("session-get"), &id);
    let polled = counted(&stack, 1, sessions.get.answer(request(&get))).await;
    assert_eq!(polled.body["session"]["signatureData"], json!(first));
}

#[tokio::test]
async fn submit_keeps_the_remaining_ttl() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let id = create(&stack, &sessions).await;
    // Most of the session's life is behind it: a submit that gave it a fresh lifetime would
    // show as a TTL far above what was left.
    const LEFT_MS: i64 = 60_000;
    redis::cmd("PEXPIRE")
        .arg(format!("edgestate:local:sess:{id}"))
        .arg(LEFT_MS)
        .exec_async(&mut stack.redis().connect().await)
        .await
        .unwrap();
    let submitted = answer(
        sessions
            .submit
            .answer(request(&submit_event(&id, &png_data_url())))
            .await,
    );
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let after = pttl(&stack, &id).await;
    assert!(
        after > 0 && after <= LEFT_MS,
        "PTTL {after} after a submit with {LEFT_MS} ms left"
    );
}

#[tokio::test]
async fn sessions_expire_into_the_same_404_as_unknown_ones() {
    let stack = Stack::start().await;
    let settings = Settings {
        session_ttl: Duration::from_secs(1),
        ..default_settings()
    };
    let sessions = Sessions::new(&stack.app_with(settings));
    let id = create(&stack, &sessions).await;
    // However slow the machine, this is past the TTL: the session is gone from Redis itself.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(pttl(&stack, &id).await, -2, "no such key");
    assert_not_found(&sessions, &id).await;
}

/// Polling and submitting `id` through `sessions` both answer the 404 of an unknown session.
async fn assert_not_found(sessions: &Sessions, id: &str) {
    let get = with_session_id(event("session-get"), id);
    assert_error(
        &answer(sessions.get.answer(request(&get)).await),
        404,
        "session_not_found",
    );
    let submit = submit_event(id, &png_data_url());
    assert_error(
        &answer(sessions.submit.answer(request(&submit)).await),
        404,
        "session_not_found",
    );
}

#[tokio::test]
async fn counters_are_written_with_the_operations_they_count() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let first = create(&stack, &sessions).await;
    create(&stack, &sessions).await;
    let submitted = sessions
        .submit
        .answer(request(&submit_event(&first, &png_data_url())))
        .await;
    assert_eq!(submitted.status(), 200);
    let rejected = sessions
        .submit
        .answer(request(&submit_event(&first, &png_data_url())))
        .await;
    assert_error(&answer(rejected), 409, "already_submitted");

    let today = edgestate::time::utc_day(edgestate::time::now_ms());
    let mut resp = stack.redis().connect().await;
    // A counter is sharded: its count is the sum of its shards.
    let mut count = async |counter: String| -> i64 {
        let mut shards = redis::cmd("MGET");
        for shard in 0..edgestate::keys::COUNTER_SHARDS {
            shards.arg(format!("edgestate:local:stats:sessions:{counter}:{shard}"));
        }
        let counts: Vec<Option<i64>> = shards.query_async(&mut resp).await.unwrap();
        counts.into_iter().flatten().sum()
    };
    assert_eq!(count("created".into()).await, 2);
    assert_eq!(count(format!("created:{today}")).await, 2);
    assert_eq!(count("completed".into()).await, 1, "a 409 counts nothing");
    assert_eq!(count(format!("completed:{today}")).await, 1);
}

#[tokio::test]
async fn day_counters_expire_after_90_days_and_totals_never() {
    const DAY_COUNTER_TTL_MS: u64 = 90 * 24 * 3600 * 1000;
    let stack = Stack::start().await;
    let sessions = Sessions::new(&stack.app());
    let before = now_ms();
    let id = create(&stack, &sessions).await;
    let submitted = sessions
        .submit
        .answer(request(&submit_event(&id, &png_data_url())))
        .await;
    assert_eq!(submitted.status(), 200);

    let mut counters: Vec<String> = redis::cmd("KEYS")
        .arg("edgestate:local:stats:*")
        .query_async(&mut stack.redis().connect().await)
        .await
        .unwrap();
    counters.sort();
    // `stats:sessions:{event}:{shard}` and `stats:sessions:{event}:{day}:{shard}`.
    let (days, totals): (Vec<String>, Vec<String>) = counters
        .into_iter()
        .partition(|key| key.split(':').count() == 7);
    assert_eq!((days.len(), totals.len()), (2, 2), "{days:?} {totals:?}");
    for key in totals {
        let ttl = key_pttl(&stack, &key).await;
        assert_eq!(ttl, -1, "{key}: an all-time total never expires");
    }
    for key in days {
        let ttl = key_pttl(&stack, &key).await;
        assert_ttl_left(&key, ttl, DAY_COUNTER_TTL_MS, now_ms() - before);
    }
}

#[tokio::test]
async fn redis_unreachable_is_503_with_retry_after_on_every_route() {
    let stack = Stack::start().await;
    let id = "0123456789abcdef0123456789abcdef";
    let mut app = stack.app();
    let mut config = stack.config();
    config.timeout = Duration::from_millis(300);
    drop(stack);
    app.redis = edgestate::redis::RedisClient::new(config).unwrap();
    let sessions = Sessions::new(&app);
    for response in [
        sessions
            .create
            .answer(request(&event("session-create")))
            .await,
        sessions
            .get
            .answer(request(&with_session_id(event("session-get"), id)))
            .await,
        sessions
            .submit
            .answer(request(&submit_event(id, &png_data_url())))
            .await,
    ] {
        let answer = answer(response);
        assert_error(&answer, 503, "service_unavailable");
        assert_eq!(answer.response.headers()["retry-after"], "1");
    }
}

#[tokio::test]
async fn instances_share_sessions_and_exactly_one_of_50_concurrent_submits_wins() {
    let stack = Stack::start().await;
    // Three handler instances, as three Lambda instances: each its own client and pool.
    let instances: Vec<Sessions> = (0..3).map(|_| Sessions::new(&stack.app())).collect();

    let id = create(&stack, &instances[0]).await;
    let get = with_session_id(event("session-get"), &id);
    let polled = counted(&stack, 1, instances[1].get.answer(request(&get))).await;
    assert_eq!(
        polled.status, 200,
        "a session created on one instance is seen on another"
    );

    let submits = (0..50).map(|attempt| {
        let instance = &instances[1 + attempt % 2];
        // Every attempt draws its own signature, so the winner is identifiable.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(format!("attempt {attempt}").as_bytes());
        let signature = format!("data:image/png;base64,{}", STANDARD.encode(png));
        let submit = submit_event(&id, &signature);
        async move { (signature, instance.submit.answer(request(&submit)).await) }
    });
    let before = stack.rest_requests();
    let outcomes = join_all(submits).await;
    assert_eq!(
        stack.rest_requests() - before,
        50,
        "one REST request per submit"
    );

    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|(_, response)| response.status() == 200)
        .map(|(signature, _)| signature)
        .collect();
    let conflicts = outcomes
        .iter()
        .filter(|(_, response)| response.status() == 409)
        .count();
    assert_eq!((winners.len(), conflicts), (1, 49));

    let polled = answer(instances[0].get.answer(request(&get)).await);
    assert_eq!(polled.body["session"]["signatureData"], json!(winners[0]));
}

#[tokio::test]
async fn two_key_prefixes_on_one_redis_never_see_each_others_keys() {
    const STAGES: [&str; 2] = ["edgestate:staging:", "edgestate:production:"];
    let stack = Stack::start().await;
    // Two requests per IP and stage, so a request one stage counted against the other's
    // allowance would show.
    let stage = |prefix: &str| {
        let mut settings = Settings {
            key_prefix: prefix.to_owned(),
            ..default_settings()
        };
        settings.rate_limits.api = Policy::new(2, 900);
        stack.app_with(settings)
    };
    let (staging, production) = (stage(STAGES[0]), stage(STAGES[1]));
    let (in_staging, in_production) = (Sessions::new(&staging), Sessions::new(&production));

    let id = create(&stack, &in_staging).await;
    assert_not_found(&in_production, &id).await;
    create(&stack, &in_staging).await;
    assert_error(
        &answer(
            in_staging
                .create
                .answer(request(&event("session-create")))
                .await,
        ),
        429,
        "rate_limited",
    );

    // One address per stage registers the same email in each: two accounts.
    for (index, app) in [&staging, &production].into_iter().enumerate() {
        let register = with_source_ip(
            with_body(
                event("auth-register"),
                &credentials("ann.lee@example.com", "correct horse battery staple"),
            ),
            &format!("192.0.2.{index}"),
        );
        let registered = answer(Register::new(app).answer(request(&register)).await);
        assert_eq!(registered.status, 201, "{}", registered.body);
    }

    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut stack.redis().connect().await)
        .await
        .unwrap();
    keys.sort();
    for key in &keys {
        assert!(
            STAGES.iter().any(|prefix| key.starts_with(prefix)),
            "{key} is under neither prefix: {keys:?}"
        );
    }
    for (prefix, sessions, users) in [(STAGES[0], 2, 1), (STAGES[1], 0, 1)] {
        let count = |kind: &str| {
            keys.iter()
                .filter(|key| key.starts_with(&format!("{prefix}{kind}:")))
                .count()
        };
        assert_eq!(
            (count("sess"), count("user")),
            (sessions, users),
            "{prefix}: {keys:?}"
        );
    }
}
