//! Does login time reveal which emails have accounts? Logins with an unknown email (verified
//! against the dummy hash) against logins with a known email and a wrong password, same
//! stack, same round trips, interleaved so drift hits both alike.
//!
//! `make bench` (or `cargo bench -p edgestate-tests --bench login_timing`) prints both
//! distributions and their difference. Figures, not assertions.

use std::time::{Duration, Instant};

use edgestate::accounts::{Accounts, Register};
use edgestate::route::Route;
use serde_json::json;
use testkit::bench::{print_header, print_row, summarise, unlimited_settings};
use testkit::events::{event, request, with_body, with_source_ip};
use testkit::{Stack, test_tokens};

const SAMPLES: usize = 200;
const PASSWORD: &str = "correct horse battery staple";

#[tokio::main]
async fn main() {
    let stack = Stack::start().await;
    let app = stack.app_with(unlimited_settings());
    let registration = Register::new(&app);
    let accounts = Accounts::new(&app, test_tokens());
    accounts.login.warm_up();

    let credentials =
        |email: &str, password: &str| json!({"email": email, "password": password}).to_string();
    let registered = registration
        .answer(request(&with_body(
            event("auth-register"),
            &credentials("known@example.com", PASSWORD),
        )))
        .await;
    assert_eq!(registered.status(), 201);

    let login = |email: String, attempt: usize| {
        let event = with_source_ip(
            with_body(event("auth-login"), &credentials(&email, "wrong password")),
            &format!("10.0.{}.{}", attempt / 250, attempt % 250),
        );
        let accounts = &accounts;
        async move {
            let started = Instant::now();
            let response = accounts.login.answer(request(&event)).await;
            assert_eq!(response.status(), 401);
            started.elapsed()
        }
    };
    let (mut unknown, mut known): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    for attempt in 0..SAMPLES + 10 {
        let unknown_time = login(format!("nobody{attempt}@example.com"), attempt).await;
        let known_time = login("known@example.com".to_owned(), attempt).await;
        if attempt >= 10 {
            unknown.push(unknown_time);
            known.push(known_time);
        }
    }
    let (unknown, known) = (summarise(unknown), summarise(known));
    print_header(&format!(
        "login answered 401, {SAMPLES} interleaved samples each (argon2id m=19456 t=2 p=1)"
    ));
    print_row("unknown email (dummy hash)", &unknown);
    print_row("known email, wrong password", &known);
    let difference = |a: Duration, b: Duration| {
        let signed = a.as_secs_f64() - b.as_secs_f64();
        format!("{:>+10.1} µs", signed * 1e6)
    };
    println!(
        "{:<52}{}{}{}{}",
        "unknown minus known",
        difference(unknown.p50, known.p50),
        difference(unknown.p90, known.p90),
        difference(unknown.p99, known.p99),
        difference(unknown.mean, known.mean)
    );
}
