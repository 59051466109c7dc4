//! The limiters against a real Redis, for each algorithm: burst, refill, peek, reset, and a
//! rejected request consuming nothing; then the API-wide limit on the session routes, held
//! exactly across instances and answered from memory once an instance has seen a denial.

use std::ops::RangeInclusive;
use std::time::Duration;

use edgestate::ratelimit::{Algorithm, Decision, Limit, Limiter, Policy, RateLimitSettings};
use edgestate::route::Route;
use edgestate::sessions::Sessions;
use edgestate::settings::Settings;
use edgestate::startup::App;
use edgestate::time::now_ms;
use futures::future::join_all;
use lambda_http::http::HeaderMap;
use lambda_http::{Body, Response};
use testkit::events::{event, request, with_session_id, with_source_ip};
use testkit::limits::peek;
use testkit::{Stack, default_settings};

const IP: &str = "198.51.100.7";

fn settings(algorithm: Algorithm, api: Policy) -> Settings {
    Settings {
        rate_limits: RateLimitSettings {
            algorithm,
            api,
            login_account: Policy::new(5, 60),
            ..default_settings().rate_limits
        },
        ..default_settings()
    }
}

/// A new instance of the limiters (its own client and denial cache) on the stack.
fn instance(stack: &Stack, algorithm: Algorithm, api: Policy) -> App {
    stack.app_with(settings(algorithm, api))
}

async fn hit(app: &App, limits: &[Limit]) -> Decision {
    app.limiter.hit(&app.redis, limits).await.unwrap()
}

async fn hit_api(app: &App) -> Decision {
    hit(app, &[Limit::consume(Limiter::Api, IP)]).await
}

/// A handler's response and the instants (ms since the epoch) between which it was made.
async fn timed(
    call: impl Future<Output = Response<Body>>,
) -> (Response<Body>, RangeInclusive<u64>) {
    let sent = now_ms();
    let response = call.await;
    (response, sent..=now_ms())
}

/// The instants (ms) a 429's `Retry-After` (whole seconds from the answer, rounded up) can
/// name, given `during`, when the answer was made.
fn retry_instants(response: &Response<Body>, during: &RangeInclusive<u64>) -> RangeInclusive<u64> {
    let seconds: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    during.start() + (seconds - 1) * 1000 + 1..=during.end() + seconds * 1000
}

#[tokio::test]
async fn a_burst_up_to_the_limit_is_allowed_then_denied_with_retry_after() {
    let stack = Stack::start().await;
    for algorithm in Algorithm::ALL {
        let app = instance(&stack, algorithm, Policy::new(3, 60));
        let limits = [Limit::consume(Limiter::Api, format!("burst-{algorithm:?}"))];
        let mut remaining = Vec::new();
        for _ in 0..3 {
            let decision = hit(&app, &limits).await;
            assert!(decision.allowed, "{algorithm:?}: {decision:?}");
            remaining.push(decision.remaining);
        }
        assert_eq!(remaining, [2, 1, 0], "{algorithm:?}");
        let denied = hit(&app, &limits).await;
        assert!(!denied.allowed, "{algorithm:?}");
        assert_eq!(denied.remaining, 0);
        // A sliding window full in this window stays heavy into the next one: this window's
        // count then weighs as the previous one's, so the wait can reach two windows.
        let longest = match algorithm {
            Algorithm::Sliding => Duration::from_secs(120),
            Algorithm::Gcra | Algorithm::Fixed => Duration::from_secs(60),
        };
        assert!(
            denied.retry_after > Duration::ZERO && denied.retry_after <= longest,
            "{algorithm:?}: {denied:?}"
        );
    }
}

#[tokio::test]
async fn allowance_comes_back_after_the_retry_time() {
    let stack = Stack::start().await;
    for algorithm in Algorithm::ALL {
        // 2 per 2 s: the three hits below have a whole second (GCRA's interval) to land.
        let app = instance(&stack, algorithm, Policy::new(2, 2));
        let limits = [Limit::consume(
            Limiter::Api,
            format!("refill-{algorithm:?}"),
        )];
        hit(&app, &limits).await;
        hit(&app, &limits).await;
        let denied = hit(&app, &limits).await;
        assert!(!denied.allowed, "{algorithm:?}");
        tokio::time::sleep(denied.retry_after + Duration::from_millis(30)).await;
        let after = hit(&app, &limits).await;
        assert!(
            after.allowed,
            "{algorithm:?}: allowed again after {denied:?}"
        );
    }
}

#[tokio::test]
async fn a_rejected_request_consumes_nothing() {
    let stack = Stack::start().await;
    for algorithm in Algorithm::ALL {
        // Each step on an instance of its own, so no denial is answered from memory: every
        // one of them runs the script in Redis.
        let fresh = || instance(&stack, algorithm, Policy::new(2, 60));
        let ip = format!("nothing-{algorithm:?}");
        let account = format!("account-{algorithm:?}");
        // The API limit (2) runs out before the account's (5), and is checked after it: a
        // denial by a later limiter must not have spent an earlier one.
        let both = [
            Limit::consume(Limiter::LoginAccount, account.as_str()),
            Limit::consume(Limiter::Api, ip.as_str()),
        ];
        assert!(hit(&fresh(), &both).await.allowed);
        assert!(hit(&fresh(), &both).await.allowed);
        let api_peek = || async { peek(&stack, &fresh(), Limiter::Api, &ip).await };
        let api_before = api_peek().await;
        for _ in 0..5 {
            let denied = hit(&fresh(), &both).await;
            assert!(!denied.allowed);
            assert_eq!(denied.limiter, Limiter::Api, "{algorithm:?}");
        }
        let account_left = peek(&stack, &fresh(), Limiter::LoginAccount, &account).await;
        assert_eq!(
            account_left.remaining, 3,
            "{algorithm:?}: denied requests took nothing from the account limiter"
        );
        let api_after = api_peek().await;
        assert!(
            api_after.retry_after <= api_before.retry_after,
            "{algorithm:?}: denied requests did not push the API limiter's retry time out \
             ({api_before:?} then {api_after:?})"
        );
    }
}

#[tokio::test]
async fn peek_reports_without_consuming_and_reset_restores_the_allowance() {
    let stack = Stack::start().await;
    for algorithm in Algorithm::ALL {
        let app = instance(&stack, algorithm, Policy::new(4, 60));
        let id = format!("peek-{algorithm:?}");
        let peek = || peek(&stack, &app, Limiter::Api, &id);
        let fresh = peek().await;
        assert!(fresh.allowed);
        assert_eq!(fresh.remaining, 4, "{algorithm:?}");
        assert_eq!(peek().await.remaining, 4, "peeking twice consumes nothing");
        for _ in 0..4 {
            hit(&app, &[Limit::consume(Limiter::Api, id.as_str())]).await;
        }
        let spent = peek().await;
        assert!(!spent.allowed, "{algorithm:?}");
        app.limiter
            .reset(&app.redis, Limiter::Api, &id)
            .await
            .unwrap();
        assert_eq!(peek().await.remaining, 4, "{algorithm:?}");
        assert!(
            hit(&app, &[Limit::consume(Limiter::Api, id.as_str())])
                .await
                .allowed,
            "{algorithm:?}: the reset also cleared this instance's remembered denial"
        );
    }
}

#[tokio::test]
async fn a_changed_algorithm_starts_each_limiter_afresh_never_misreading_the_old_state() {
    let stack = Stack::start().await;
    for from in Algorithm::ALL {
        for to in Algorithm::ALL.into_iter().filter(|to| *to != from) {
            // The old algorithm denies the identifier; the new one (a new deploy, or the
            // other half of a rolling one) neither misreads that as a lockout nor fails.
            let limits = [Limit::consume(Limiter::Api, format!("{from:?}-{to:?}"))];
            let old = instance(&stack, from, Policy::new(2, 60));
            hit(&old, &limits).await;
            hit(&old, &limits).await;
            assert!(!hit(&old, &limits).await.allowed, "{from:?}");

            let new = instance(&stack, to, Policy::new(2, 60));
            let first = new.limiter.hit(&new.redis, &limits).await;
            let first = first.unwrap_or_else(|error| panic!("{from:?} -> {to:?}: {error:?}"));
            assert!(first.allowed, "{from:?} -> {to:?}: {first:?}");
            assert_eq!(first.remaining, 1, "{from:?} -> {to:?}: a fresh allowance");
            assert!(hit(&new, &limits).await.allowed, "{from:?} -> {to:?}");
            assert!(!hit(&new, &limits).await.allowed, "{from:?} -> {to:?}");
        }
    }
}

#[tokio::test]
async fn gcra_spaces_requests_evenly_after_the_burst() {
    let stack = Stack::start().await;
    let app = instance(&stack, Algorithm::Gcra, Policy::new(4, 20));
    for _ in 0..4 {
        assert!(hit_api(&app).await.allowed);
    }
    let denied = hit_api(&app).await;
    // At most one emission interval (20 s / 4) until the next request, not the whole window.
    assert!(
        denied.retry_after > Duration::ZERO && denied.retry_after <= Duration::from_secs(5),
        "{denied:?}"
    );
}

#[tokio::test]
async fn the_api_limit_holds_exactly_across_instances() {
    const REQUESTS: usize = 200;
    const LIMIT: u64 = 100;
    let stack = Stack::start().await;
    for algorithm in Algorithm::ALL {
        let instances: Vec<Sessions> = (0..3)
            .map(|_| Sessions::new(&instance(&stack, algorithm, Policy::new(LIMIT, 900))))
            .collect();
        let create = with_source_ip(
            event("session-create"),
            &format!("10.9.8.{}", algorithm as u8),
        );
        let attempts =
            (0..REQUESTS).map(|attempt| instances[attempt % 3].create.answer(request(&create)));
        let statuses: Vec<u16> = join_all(attempts)
            .await
            .iter()
            .map(|response| response.status().as_u16())
            .collect();
        let created = statuses.iter().filter(|status| **status == 201).count();
        let limited = statuses.iter().filter(|status| **status == 429).count();
        assert_eq!(
            (created, limited),
            (LIMIT as usize, REQUESTS - LIMIT as usize),
            "{algorithm:?}"
        );
    }
}

#[tokio::test]
async fn session_routes_carry_the_headers_and_their_limit_within_one_round_trip() {
    let stack = Stack::start().await;
    let app = instance(&stack, Algorithm::Gcra, Policy::new(2, 900));
    let sessions = Sessions::new(&app);
    let create = request(&event("session-create"));

    let before = stack.rest_requests();
    let first = sessions.create.answer(create).await;
    assert_eq!(stack.rest_requests() - before, 1);
    assert_eq!(first.status(), 201);
    let headers = first.headers();
    assert_eq!(headers["ratelimit-policy"], "\"api\";q=2;w=900");
    // GCRA, 2 per 900 s: one request spent, the whole allowance back in one interval.
    assert_eq!(headers["ratelimit"], "\"api\";r=1;t=450");
    assert_eq!(headers["x-ratelimit-limit"], "2");
    assert_eq!(headers["x-ratelimit-remaining"], "1");
    assert!(headers.contains_key("x-ratelimit-reset"));
    assert!(!headers.contains_key("retry-after"));

    sessions
        .create
        .answer(request(&event("session-create")))
        .await;
    let before = stack.rest_requests();
    let (limited, limited_during) =
        timed(sessions.create.answer(request(&event("session-create")))).await;
    assert_eq!(
        stack.rest_requests() - before,
        1,
        "the first denial is Redis's"
    );
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=450).contains(&retry_after), "{retry_after}");
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
    let body: serde_json::Value = serde_json::from_slice(limited.body().as_ref()).unwrap();
    assert_eq!(body["code"], "rate_limited");

    let before = stack.rest_requests();
    let get = with_session_id(event("session-get"), &"a".repeat(32));
    let (unknown, unknown_during) = timed(sessions.get.answer(request(&get))).await;
    assert_eq!(
        unknown.status(),
        429,
        "a poll of an unknown id spends the IP's allowance"
    );
    assert_eq!(
        stack.rest_requests() - before,
        1,
        "only Redis knows whether a poll is of a live session, which the IP's limit does not govern"
    );

    let before = stack.rest_requests();
    for (response, during) in [
        timed(sessions.create.answer(request(&event("session-create")))).await,
        (unknown, unknown_during),
    ] {
        assert_eq!(response.status(), 429);
        // The same headers as Redis's denial, give or take the second their rounding may
        // add: the reset is when the whole allowance is back, not the retry. The reset is an
        // instant; Retry-After counts from the answer, so it is turned into the instants it
        // allows given when each answer was made, which a stalled machine only widens.
        let reset = |headers: &HeaderMap| -> i64 {
            headers["x-ratelimit-reset"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap()
        };
        let (from_redis, from_memory) = (reset(limited.headers()), reset(response.headers()));
        assert!(
            (from_redis - from_memory).abs() <= 1,
            "x-ratelimit-reset: {from_redis} from Redis, {from_memory} from memory"
        );
        // Redis's answer counts from Redis's clock, the memory from when this instance read
        // that answer: both moments lie within `limited_during`, which may part them.
        let apart = limited_during.end() - limited_during.start();
        let from_redis = retry_instants(&limited, &limited_during);
        let from_memory = retry_instants(&response, &during);
        assert!(
            *from_redis.start() <= from_memory.end() + apart
                && *from_memory.start() <= from_redis.end() + apart,
            "Retry-After names the same instant: {from_redis:?} from Redis, {from_memory:?} \
             from memory (ms)"
        );
    }
    assert_eq!(
        stack.rest_requests() - before,
        0,
        "this instance remembers the denial and answers it without Redis"
    );

    let other_instance = Sessions::new(&instance(&stack, Algorithm::Gcra, Policy::new(2, 900)));
    let before = stack.rest_requests();
    let elsewhere = other_instance
        .create
        .answer(request(&event("session-create")))
        .await;
    assert_eq!(elsewhere.status(), 429, "the limit is shared");
    assert_eq!(stack.rest_requests() - before, 1);

    let other_ip = with_source_ip(event("session-create"), "192.0.2.99");
    assert_eq!(
        sessions.create.answer(request(&other_ip)).await.status(),
        201
    );
}

#[tokio::test]
async fn the_client_ip_comes_from_the_request_context_not_headers() {
    let stack = Stack::start().await;
    let sessions = Sessions::new(&instance(&stack, Algorithm::Gcra, Policy::new(1, 900)));
    assert_eq!(
        sessions
            .create
            .answer(request(&event("session-create")))
            .await
            .status(),
        201
    );
    let mut spoofed = event("session-create");
    spoofed["headers"]["x-forwarded-for"] = "192.0.2.1".into();
    spoofed["headers"]["x-real-ip"] = "192.0.2.1".into();
    assert_eq!(
        sessions.create.answer(request(&spoofed)).await.status(),
        429,
        "forwarding headers do not open a new bucket"
    );
}

#[tokio::test]
async fn an_unreadable_limiter_fails_closed_unless_failing_open_locally() {
    let stack = Stack::start().await;
    // A limiter key that is not a hash makes the limiter's Redis calls fail.
    let key = format!("edgestate:local:rl:api:{}", "203.0.113.10");
    redis::cmd("RPUSH")
        .arg(&key)
        .arg("not a limiter")
        .exec_async(&mut stack.redis().connect().await)
        .await
        .unwrap();
    let create = event("session-create");

    let closed = Sessions::new(&instance(&stack, Algorithm::Gcra, Policy::new(5, 60)));
    let response = closed.create.answer(request(&create)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");

    let mut open_settings = settings(Algorithm::Gcra, Policy::new(5, 60));
    open_settings.rate_limits.fail_open = true;
    let open = Sessions::new(&stack.app_with(open_settings));
    assert_eq!(open.create.answer(request(&create)).await.status(), 201);
}

#[tokio::test]
async fn polls_of_a_live_session_spend_its_own_budget_and_unknown_ids_the_ip_allowance() {
    let stack = Stack::start().await;
    for (index, algorithm) in Algorithm::ALL.into_iter().enumerate() {
        let mut budgets = settings(algorithm, Policy::new(2, 900));
        budgets.rate_limits.session_poll = Policy::new(5, 60);
        let sessions = Sessions::new(&stack.app_with(budgets));
        let ip = format!("198.51.100.{}", 20 + index);
        let from_ip = |name: &str| with_source_ip(event(name), &ip);
        // Two creates spend the IP's whole API allowance.
        let mut ids = Vec::new();
        for _ in 0..2 {
            let created = sessions
                .create
                .answer(request(&from_ip("session-create")))
                .await;
            assert_eq!(created.status(), 201, "{algorithm:?}");
            let body: serde_json::Value = serde_json::from_slice(created.body().as_ref()).unwrap();
            ids.push(body["sessionId"].as_str().unwrap().to_owned());
        }
        let poll = |id: &str| request(&with_session_id(from_ip("session-get"), id));

        for remaining in (0..5).rev() {
            let before = stack.rest_requests();
            let polled = sessions.get.answer(poll(&ids[0])).await;
            assert_eq!(stack.rest_requests() - before, 1, "{algorithm:?}");
            assert_eq!(polled.status(), 200, "{algorithm:?}");
            let headers = polled.headers();
            assert_eq!(headers["ratelimit-policy"], "\"session-poll\";q=5;w=60");
            assert_eq!(
                headers["x-ratelimit-remaining"],
                remaining.to_string().as_str()
            );
        }
        let before = stack.rest_requests();
        let spent = sessions.get.answer(poll(&ids[0])).await;
        assert_eq!(
            spent.status(),
            429,
            "{algorithm:?}: the session's budget is spent"
        );
        assert_eq!(
            spent.headers()["ratelimit-policy"],
            "\"session-poll\";q=5;w=60"
        );
        assert!(spent.headers().contains_key("retry-after"));
        assert_eq!(stack.rest_requests() - before, 1);

        let other = sessions.get.answer(poll(&ids[1])).await;
        assert_eq!(
            other.status(),
            200,
            "{algorithm:?}: another session has its own budget, whatever the IP has left"
        );
        let unknown = sessions.get.answer(poll(&"b".repeat(32))).await;
        assert_eq!(
            unknown.status(),
            429,
            "{algorithm:?}: unknown ids spend the IP's"
        );
        assert_eq!(unknown.headers()["ratelimit-policy"], "\"api\";q=2;w=900");
    }
}

#[tokio::test]
async fn a_condition_on_a_fact_the_script_does_not_state_is_an_error_not_a_skipped_limit() {
    let stack = Stack::start().await;
    let app = instance(&stack, Algorithm::Gcra, Policy::new(5, 60));
    let unstated = [Limit::consume(Limiter::Api, IP).when("live")];
    let outcome = app.limiter.hit(&app.redis, &unstated).await;
    assert!(outcome.is_err(), "{outcome:?}");
}

#[tokio::test]
async fn every_limiter_key_expires_when_its_state_stops_mattering() {
    // What a limiter's key should live after one request of `window_ms`'s policy of 4: GCRA
    // until its allowance is whole again (one interval, a quarter of the window), a fixed
    // window until the window ends, a sliding window two windows (this window's count still
    // weighs in the next one).
    let intended = |algorithm: Algorithm, window_ms: i64| match algorithm {
        Algorithm::Gcra => window_ms / 4,
        Algorithm::Fixed => window_ms,
        Algorithm::Sliding => 2 * window_ms,
    };
    // A lease (an attempt whose outcome is not known yet) keeps the key 10 s at least.
    const LEASE_MS: i64 = 10_000;
    let stack = Stack::start().await;
    let mut resp = stack.redis().connect().await;
    for algorithm in Algorithm::ALL {
        let mut policies = settings(algorithm, Policy::new(4, 60));
        policies.rate_limits.login_account = Policy::new(4, 3600);
        let app = stack.app_with(policies);
        let id = format!("ttl-{algorithm:?}");
        // Each key's TTL, checked against what time has passed since its request went out.
        let mut expect = async |limit: Limit, expected_ms: i64| {
            let key = app.keys.rate_limit(limit.limiter().name(), &id);
            let sent = now_ms();
            assert!(hit(&app, &[limit]).await.allowed, "{algorithm:?}");
            let ttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut resp)
                .await
                .unwrap();
            let since = (now_ms() - sent) as i64;
            assert!(
                ttl <= expected_ms && ttl >= expected_ms - since,
                "{algorithm:?} {key}: PTTL {ttl}, intended {expected_ms}, {since} ms after"
            );
        };
        expect(
            Limit::consume(Limiter::Api, id.as_str()),
            intended(algorithm, 60_000),
        )
        .await;
        let lease = Limit::lease(Limiter::LoginAccount, id.as_str(), "attempt");
        expect(lease, LEASE_MS).await;
        let failure = Limit::failure_of(Limiter::LoginAccount, id.as_str(), "attempt");
        expect(failure, intended(algorithm, 3_600_000)).await;
    }
}
