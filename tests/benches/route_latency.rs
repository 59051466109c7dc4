//! Every route's latency through its handler against the local stack (own redis-server,
//! upstash-local in process, no added latency), with the REST requests each one made,
//! counted at upstash-local.
//!
//! `make bench` (or `cargo bench -p edgestate-tests --bench route_latency`). Figures, not
//! assertions: they show where time goes (argon2 for register and login), and the request
//! counts show the one-round-trip budget holding.

use std::future::Future;
use std::time::{Duration, Instant};

use edgestate::accounts::{Accounts, Register};
use edgestate::route::Route;
use edgestate::sessions::Sessions;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use testkit::bench::{print_header, print_row, summarise, unlimited_settings};
use testkit::events::{event, request, with_bearer, with_body, with_session_id, with_source_ip};
use testkit::{Stack, test_tokens};

const SAMPLES: usize = 200;
const PASSWORD: &str = "correct horse battery staple";

fn body(response: &Response<Body>) -> Value {
    serde_json::from_slice(response.body().as_ref()).unwrap()
}

/// Times `SAMPLES` calls of one route and counts its REST requests per call.
async fn route<F, Fut>(stack: &Stack, name: &str, expected: u16, mut call: F)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let mut timings: Vec<Duration> = Vec::with_capacity(SAMPLES);
    let before = stack.rest_requests();
    for i in 0..SAMPLES {
        let started = Instant::now();
        let response = call(i).await;
        timings.push(started.elapsed());
        assert_eq!(
            response.status().as_u16(),
            expected,
            "{name}: {}",
            body(&response)
        );
    }
    let trips = (stack.rest_requests() - before) as f64 / SAMPLES as f64;
    print_row(&format!("{name} ({trips} REST req.)"), &summarise(timings));
}

#[tokio::main]
async fn main() {
    let stack = Stack::start().await;
    let app = stack.app_with(unlimited_settings());
    let sessions = Sessions::new(&app);
    let registration = Register::new(&app);
    let accounts = Accounts::new(&app, test_tokens());
    let ip = |i: usize| format!("10.1.{}.{}", i / 250, i % 250);

    print_header(&format!(
        "handler latency per route, {SAMPLES} sequential calls each, local stack"
    ));
    route(&stack, "GET /health", 200, |_| {
        edgestate::health::check(&app.redis)
    })
    .await;

    let mut ids = Vec::with_capacity(SAMPLES);
    let create = event("session-create");
    route(&stack, "POST /signature-session/create", 201, |i| {
        let create = with_source_ip(create.clone(), &ip(i));
        let sessions = &sessions;
        async move { sessions.create.answer(request(&create)).await }
    })
    .await;
    for _ in 0..SAMPLES {
        let response = sessions.create.answer(request(&create)).await;
        ids.push(body(&response)["sessionId"].as_str().unwrap().to_owned());
    }
    route(&stack, "GET /signature-session/{id}", 200, |i| {
        sessions
            .get
            .answer(request(&with_session_id(event("session-get"), &ids[i])))
    })
    .await;
    route(&stack, "POST /signature-session/{id}/submit", 200, |i| {
        sessions
            .submit
            .answer(request(&with_session_id(event("session-submit"), &ids[i])))
    })
    .await;

    let credentials = |i: usize| {
        json!({"email": format!("user{i}@example.com"), "password": PASSWORD}).to_string()
    };
    route(&stack, "POST /auth/register", 201, |i| {
        registration.answer(request(&with_body(event("auth-register"), &credentials(i))))
    })
    .await;
    let mut tokens = Vec::with_capacity(SAMPLES);
    route(&stack, "POST /auth/login", 200, |i| {
        let login = with_body(event("auth-login"), &credentials(i));
        let accounts = &accounts;
        async move { accounts.login.answer(request(&login)).await }
    })
    .await;
    for i in 0..SAMPLES {
        let response = accounts
            .login
            .answer(request(&with_body(event("auth-login"), &credentials(i))))
            .await;
        tokens.push(body(&response)["token"].as_str().unwrap().to_owned());
    }
    route(&stack, "GET /auth/me", 200, |i| {
        accounts
            .me
            .answer(request(&with_bearer(event("auth-me"), &tokens[i])))
    })
    .await;
    route(&stack, "POST /auth/logout", 200, |i| {
        accounts
            .logout
            .answer(request(&with_bearer(event("auth-logout"), &tokens[i])))
    })
    .await;
}
