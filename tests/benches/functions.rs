//! Every function binary as Lambda runs it: its own process polling a Runtime API fake,
//! against the hermetic stack. For each function: cold start (exec to first `/next`), CPU
//! time per request, and peak RSS over its requests; for login, 100 logins mixing a right
//! password, a wrong one and an unknown email, with the time of each kind. Figures, not
//! assertions.
//!
//! The binaries come from the bench profile's output directory (`target/release`), which
//! `make bench` fills first (`cargo build --profile bench --bins`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use edgestate::accounts::{Accounts, Register};
use edgestate::route::Route;
use edgestate::sessions::CreateSession;
use edgestate::time::now_ms;
use serde_json::{Value, json};
use testkit::answer::answer;
use testkit::bench::unlimited_settings;
use testkit::events::{
    authorizer_request_event, event, request, with_bearer, with_body, with_session_id,
    with_source_ip,
};
use testkit::fixtures::credentials;
use testkit::procfs::{TICKS_PER_SECOND, cpu_ticks, peak_rss_kib};
use testkit::{LambdaProcess, Stack, test_tokens};

const REQUESTS: usize = 100;
const PASSWORD: &str = "correct horse battery staple";
/// Limits out of the way: this measures the functions, not the limiters.
const UNLIMITED: &str = "1000000/1m";

/// The directory the bench profile writes binaries to.
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's own path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --profile bench --bins` (make bench does)",
        path.display()
    );
    path
}

struct Measured {
    name: &'static str,
    cold_start: Duration,
    requests: usize,
    cpu_ms_per_request: f64,
    peak_rss_mib: f64,
}

/// Runs `events` through a fresh process of `name`, one at a time, checking each status.
async fn measure(
    stack: &Stack,
    name: &'static str,
    events: Vec<(Value, u16)>,
) -> (Measured, Vec<Duration>) {
    let env: Vec<(&str, String)> = stack
        .env()
        .into_iter()
        .chain(
            [
                "RATE_LIMIT_API",
                "RATE_LIMIT_LOGIN_IP",
                "RATE_LIMIT_LOGIN_ACCOUNT",
                "RATE_LIMIT_REGISTER_IP",
            ]
            .map(|setting| (setting, UNLIMITED.to_owned())),
        )
        .chain([("RUST_LOG", "warn".to_owned())])
        .collect();
    let mut process = LambdaProcess::spawn(&binary(name), &env).await;
    let cold_start = process.cold_start().await.expect("the function starts");
    let pid = process.pid().expect("a running process");
    let ticks_before = cpu_ticks(pid).unwrap_or(0);
    let mut timings = Vec::with_capacity(events.len());
    for (event, status) in &events {
        let started = Instant::now();
        let answered = process.invoke(&event.to_string()).await;
        timings.push(started.elapsed());
        let testkit::Outcome::Response(response) = &answered else {
            panic!("{name}: {answered:?}");
        };
        match response["statusCode"].as_u64() {
            Some(answered) => assert_eq!(answered, u64::from(*status), "{name}: {response}"),
            // The authorizer answers a verdict, not an HTTP response: 200 means allowed.
            None => assert_eq!(response["isAuthorized"], json!(*status == 200), "{name}"),
        }
    }
    let ticks = cpu_ticks(pid).unwrap_or(ticks_before) - ticks_before;
    let peak_rss_kib = peak_rss_kib(pid).unwrap_or(0);
    let measured = Measured {
        name,
        cold_start,
        requests: events.len(),
        cpu_ms_per_request: ticks as f64 * 1000.0 / *TICKS_PER_SECOND as f64 / events.len() as f64,
        peak_rss_mib: peak_rss_kib as f64 / 1024.0,
    };
    (measured, timings)
}

fn repeat(event: Value, status: u16) -> Vec<(Value, u16)> {
    vec![(event, status); REQUESTS]
}

/// A chain of refreshes: each request presents the successor of the one before, derived
/// here with the stack's key as the function will.
async fn refresh_chain(stack: &Stack) -> Vec<(Value, u16)> {
    let refresh = test_tokens();
    let mut token = tokens(stack, 1).await[0]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut chain = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let body = json!({"refreshToken": token}).to_string();
        chain.push((with_body(event("auth-refresh"), &body), 200));
        let presented = refresh
            .refresh()
            .parse(&token, now_ms())
            .expect("a live token");
        token = refresh.refresh().successor(&presented);
    }
    chain
}

/// `count` logins of the account every token-taking function is measured with.
async fn tokens(stack: &Stack, count: usize) -> Vec<Value> {
    let accounts = Accounts::new(&stack.app_with(unlimited_settings()), test_tokens());
    let login = with_body(
        event("auth-login"),
        &credentials("me@example.com", PASSWORD),
    );
    let mut all = Vec::with_capacity(count);
    for _ in 0..count {
        let logged_in = answer(accounts.login.answer(request(&login)).await);
        assert_eq!(logged_in.status, 200, "{}", logged_in.body);
        all.push(logged_in.body);
    }
    all
}

fn mean_ms(timings: &[Duration]) -> f64 {
    timings.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0 / timings.len() as f64
}

#[tokio::main]
async fn main() {
    let stack = Stack::start().await;
    let app = stack.app_with(unlimited_settings());
    let register = Register::new(&app);
    for email in ["known@example.com", "me@example.com"] {
        let created = register
            .answer(request(&with_body(
                event("auth-register"),
                &credentials(email, PASSWORD),
            )))
            .await;
        assert_eq!(created.status(), 201);
    }
    let me_token = tokens(&stack, 1).await.remove(0)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = CreateSession::new(&app);
    let mut sessions = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let created = answer(create.answer(request(&event("session-create"))).await);
        sessions.push(created.body["sessionId"].as_str().unwrap().to_owned());
    }
    let png = json!({"signatureData": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4//8/AAX+Av6nNYGEAAAAAElFTkSuQmCC"}).to_string();

    let login = |email: &str, password: &str, attempt: usize| {
        with_source_ip(
            with_body(event("auth-login"), &credentials(email, password)),
            &format!("10.1.{}.{}", attempt / 250, attempt % 250),
        )
    };
    // Right password, wrong password, unknown email, in turn.
    let logins: Vec<(Value, u16)> = (0..REQUESTS)
        .map(|attempt| match attempt % 3 {
            0 => (login("known@example.com", PASSWORD, attempt), 200),
            1 => (login("known@example.com", "wrong password", attempt), 401),
            _ => (
                login(&format!("nobody{attempt}@example.com"), PASSWORD, attempt),
                401,
            ),
        })
        .collect();
    let registrations: Vec<(Value, u16)> = (0..REQUESTS)
        .map(|attempt| {
            let body = credentials(&format!("new{attempt}@example.com"), PASSWORD);
            (
                with_source_ip(with_body(event("auth-register"), &body), "10.2.0.1"),
                201,
            )
        })
        .collect();
    let logouts: Vec<(Value, u16)> = tokens(&stack, REQUESTS)
        .await
        .iter()
        .map(|login| {
            let token = login["token"].as_str().unwrap();
            (with_bearer(event("auth-logout"), token), 200)
        })
        .collect();

    let mut results = Vec::new();
    for (name, events) in [
        ("health", repeat(event("health"), 200)),
        ("session-create", repeat(event("session-create"), 201)),
        (
            "session-get",
            repeat(with_session_id(event("session-get"), &sessions[0]), 200),
        ),
        (
            "session-submit",
            sessions
                .iter()
                .map(|id| {
                    let submit = with_body(with_session_id(event("session-submit"), id), &png);
                    (submit, 200)
                })
                .collect(),
        ),
        ("auth-register", registrations),
        (
            "auth-me",
            repeat(with_bearer(event("auth-me"), &me_token), 200),
        ),
        ("auth-logout", logouts),
        (
            "authorizer",
            repeat(authorizer_request_event(&me_token), 200),
        ),
        ("auth-refresh", refresh_chain(&stack).await),
        ("session-stats", repeat(event("session-stats"), 200)),
        ("web", repeat(event("web-desktop"), 200)),
    ] {
        results.push(measure(&stack, name, events).await.0);
    }
    let (login_measured, login_timings) = measure(&stack, "auth-login", logins).await;
    results.push(login_measured);

    println!("function binaries, one process each, {REQUESTS} sequential requests (bench profile)");
    println!(
        "{:<18}{:>16}{:>10}{:>18}{:>18}",
        "function", "cold start ms", "requests", "CPU ms/request", "peak RSS MiB"
    );
    for measured in &results {
        println!(
            "{:<18}{:>16.1}{:>10}{:>18.2}{:>18.1}",
            measured.name,
            measured.cold_start.as_secs_f64() * 1000.0,
            measured.requests,
            measured.cpu_ms_per_request,
            measured.peak_rss_mib
        );
    }
    let kind = |offset: usize| -> Vec<Duration> {
        login_timings
            .iter()
            .skip(offset)
            .step_by(3)
            .copied()
            .collect()
    };
    println!(
        "auth-login mean ms: right password {:.1}, wrong password {:.1}, unknown email {:.1}",
        mean_ms(&kind(0)),
        mean_ms(&kind(1)),
        mean_ms(&kind(2))
    );
}
