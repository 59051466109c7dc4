//! The signature flow in a real browser: headless Chromium (Debian's package) driven by
//! Playwright for Python (`browser/signature_flow.py`), against the pages and the session
//! routes as the function binaries serve them behind an API Gateway stand-in
//! ([`testkit::front`]), on a stack of the test's own. One scenario per test; the screenshots
//! of each end state go to `target/browser/`. `make test` installs Chromium and Playwright
//! first (`make browser-tools`); without them these tests fail, they never skip.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use testkit::front::{Front, Route};
use testkit::{Stack, TOKEN};

/// The routes the pages use, as template.yaml deploys them (tests/routes.rs keeps it, the
/// watch router and openapi.yaml in step).
const ROUTES: [Route; 7] = [
    ("GET", "/", "web"),
    ("GET", "/sign", "web"),
    ("GET", "/assets/{asset}", "web"),
    ("GET", "/qr/{sessionId}", "web"),
    ("POST", "/signature-session/create", "session-create"),
    ("GET", "/signature-session/{sessionId}", "session-get"),
    (
        "POST",
        "/signature-session/{sessionId}/submit",
        "session-submit",
    ),
];

/// Under nextest's limit for one test (see .config/nextest.toml), with time left to report.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(100);

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
}

/// `target/<profile>/`: this test runs from its `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    exe.ancestors()
        .nth(2)
        .expect("a test binary lives in target/<profile>/deps/")
        .to_path_buf()
}

/// Builds the functions the routes run, in this test's profile, and answers where they are:
/// a binary left from an earlier build would test old code.
fn functions() -> PathBuf {
    let dir = profile_dir();
    let profile = match dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let target = dir.parent().expect("target/ holds the profile");
    let mut build = std::process::Command::new(env!("CARGO"));
    build
        .args([
            "build",
            "--quiet",
            "--locked",
            "--profile",
            &profile,
            "--target-dir",
        ])
        .arg(target)
        .current_dir(repo_root());
    let mut names: Vec<&str> = ROUTES.iter().map(|route| route.2).collect();
    names.dedup();
    for name in names {
        build.args(["--bin", name]);
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "building the function binaries failed");
    dir
}

/// The project venv's Python, where `make browser-tools` installed Playwright.
fn python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: `make browser-tools` (part of `make test`) installs Chromium and \
         Playwright",
        python.display()
    );
    python
}

async fn scenario(name: &str) {
    let binaries = functions();
    let stack = Stack::start().await;
    let session_key = stack.app().keys.session("");
    let front = Front::start(&ROUTES, binaries, stack.env()).await;
    let screenshots = profile_dir()
        .parent()
        .expect("target/ holds the profile")
        .join("browser");
    let run = tokio::process::Command::new(python())
        .arg(repo_root().join("tests/browser/signature_flow.py"))
        .arg(name)
        .env("EDGESTATE_URL", front.url())
        .env("EDGESTATE_REST_URL", stack.rest_url())
        .env("EDGESTATE_REST_TOKEN", TOKEN)
        .env("EDGESTATE_SESSION_KEY", session_key)
        .env("SCREENSHOTS", &screenshots)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, run).await;
    let report = match &outcome {
        Ok(Ok(output)) if output.status.success() => return,
        Ok(Ok(output)) => format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        Ok(Err(error)) => format!("cannot run the browser script: {error}"),
        Err(_) => format!("no end after {SCENARIO_TIMEOUT:?}"),
    };
    panic!(
        "browser scenario {name} failed (screenshots in {}):\n{report}\nfunction logs:\n{}",
        screenshots.display(),
        front.logs().await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desktop_shows_the_signature_drawn_with_a_finger_on_a_phone() {
    scenario("signature_flow").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_phone_is_told_the_session_is_already_signed() {
    scenario("submitted_twice").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_is_said_so_on_both_pages_and_a_new_one_starts() {
    scenario("expired").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn polling_backs_off_honours_retry_after_and_recovers() {
    scenario("poll_backoff").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_phone_says_what_went_wrong_and_lets_the_person_send_again() {
    scenario("phone_errors").await;
}
