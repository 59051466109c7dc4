//! `GET /signature-session/stats` end to end, as API Gateway runs it: a user logs in, the
//! authorizer checks the token, and the route gets the verdict's context; its answer is the
//! counters the session routes wrote, in one Redis request.

use edgestate::guard::Authorizer;
use edgestate::route::Route;
use edgestate::sessions::{SessionStats, Sessions};
use edgestate::time::{now_ms, utc_day};
use serde_json::{Value, json};
use testkit::answer::{assert_error, counted};
use testkit::events::{event, request, with_bearer, with_body, with_session_id};
use testkit::fixtures::{login_token, registered_user};
use testkit::{Stack, test_tokens};

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// The stats event as API Gateway hands it over once the authorizer allowed `token`: the
/// bearer header and the verdict's context, or no context when it refused.
async fn through_the_authorizer(stack: &Stack, token: &str, query: &str) -> Value {
    let authorizer_event = with_bearer(event("authorizer"), token);
    let verdict = Authorizer::new(&stack.app(), test_tokens())
        .authorize(serde_json::from_value(authorizer_event).expect("an authorizer event"))
        .await;
    assert!(verdict.is_authorized, "a live token passes the authorizer");
    let mut stats = with_bearer(event("session-stats"), token);
    stats["requestContext"]["authorizer"] = json!({ "lambda": verdict.context });
    stats["rawQueryString"] = json!(query);
    stats["queryStringParameters"] = match query.split_once('=') {
        Some((name, value)) => json!({ name: value }),
        None => json!({}),
    };
    stats
}

/// Three sessions created and one of them completed, through the session routes.
async fn some_sessions(stack: &Stack) {
    let sessions = Sessions::new(&stack.app());
    let mut ids = Vec::new();
    for _ in 0..3 {
        let created = sessions
            .create
            .answer(request(&event("session-create")))
            .await;
        let body: Value = serde_json::from_slice(created.body().as_ref()).unwrap();
        ids.push(body["sessionId"].as_str().unwrap().to_owned());
    }
    let signature = event("session-submit")["body"].as_str().unwrap().to_owned();
    let submit = with_body(
        with_session_id(event("session-submit"), &ids[0]),
        &signature,
    );
    let submitted = sessions.submit.answer(request(&submit)).await;
    assert_eq!(submitted.status(), 200);
}

#[tokio::test]
async fn a_logged_in_user_reads_totals_and_the_last_days_in_one_request() {
    let stack = Stack::start().await;
    let user = registered_user(&stack, EMAIL, PASSWORD).await;
    let token = login_token(&stack, EMAIL, PASSWORD).await;
    some_sessions(&stack).await;

    let stats = SessionStats::new(&stack.app());
    let event = through_the_authorizer(&stack, &token, "days=3").await;
    let answer = counted(&stack, 1, stats.answer(request(&event))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["success"], json!(true));
    assert_eq!(answer.body["totals"], json!({"created": 3, "completed": 1}));
    let days = answer.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    let day_ms = 24 * 3600 * 1000;
    for (day, back) in days.iter().zip([2, 1, 0]) {
        assert_eq!(
            day["date"],
            json!(utc_day(now_ms() - back * day_ms)),
            "{day}"
        );
    }
    // Today's, unless the sessions were made before a midnight the read came after.
    let sum = |field: &str| -> i64 { days.iter().map(|day| day[field].as_i64().unwrap()).sum() };
    assert_eq!((sum("created"), sum("completed")), (3, 1));
    assert_eq!(
        days[0],
        json!({"date": days[0]["date"], "created": 0, "completed": 0})
    );

    // The API limit is the user's, as on every route behind the authorizer.
    assert_eq!(answer.response.headers()["x-ratelimit-remaining"], "99");
    let user_limit = format!(
        "edgestate:local:rl:api:user:{}",
        user["id"].as_str().unwrap()
    );
    let exists: bool = redis::cmd("EXISTS")
        .arg(user_limit)
        .query_async(&mut stack.redis().connect().await)
        .await
        .unwrap();
    assert!(exists, "counted against the user, not the client's address");

    let week = through_the_authorizer(&stack, &token, "").await;
    let answer = counted(&stack, 1, stats.answer(request(&week))).await;
    assert_eq!(
        answer.body["days"].as_array().unwrap().len(),
        7,
        "a week by default"
    );
}

#[tokio::test]
async fn without_the_authorizers_context_or_with_bad_days_nothing_reaches_redis() {
    let stack = Stack::start().await;
    let stats = SessionStats::new(&stack.app());
    // What `cargo lambda watch` delivers: no authorizer ran.
    let unauthorized = request(&event("session-stats-no-authorizer"));
    assert_error(
        &counted(&stack, 0, stats.answer(unauthorized)).await,
        401,
        "invalid_token",
    );
    let bad_days = request(&event("session-stats-invalid-days"));
    let answer = counted(&stack, 0, stats.answer(bad_days)).await;
    assert_error(&answer, 400, "invalid_field");
    assert_eq!(answer.body["field"], json!("days"));
    for days in ["0", "31", "week", "-1"] {
        let mut odd = event("session-stats");
        odd["rawQueryString"] = json!(format!("days={days}"));
        odd["queryStringParameters"] = json!({ "days": days });
        let answer = counted(&stack, 0, stats.answer(request(&odd))).await;
        assert_error(&answer, 400, "invalid_field");
    }
}

#[tokio::test]
async fn a_logged_out_token_never_reaches_the_route() {
    let stack = Stack::start().await;
    registered_user(&stack, EMAIL, PASSWORD).await;
    let token = login_token(&stack, EMAIL, PASSWORD).await;
    let logout = with_bearer(event("auth-logout"), &token);
    let accounts = edgestate::accounts::Accounts::new(&stack.app(), test_tokens());
    assert_eq!(accounts.logout.answer(request(&logout)).await.status(), 200);
    let authorizer_event = with_bearer(event("authorizer"), &token);
    let verdict = Authorizer::new(&stack.app(), test_tokens())
        .authorize(serde_json::from_value(authorizer_event).unwrap())
        .await;
    assert!(!verdict.is_authorized, "API Gateway answers 403 itself");
}
