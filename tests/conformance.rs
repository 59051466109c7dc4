//! The official JavaScript clients, `@upstash/redis` and `@upstash/ratelimit` (whose scripts carry
//! `allow-key-locking`), against upstash-local: if the clients Upstash publishes work against our
//! server, our server answers as Upstash does.
//!
//! The checks themselves live in `tests/conformance/conformance.mjs`; this test starts a
//! hermetic stack and runs them with Node. The clients are pinned in
//! `tests/conformance/package-lock.json` and installed by `make test` (or
//! `npm ci --prefix tests/conformance`); without them the test fails rather than passing vacuously.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use testkit::{Stack, TOKEN};
use tokio::process::Command;

/// Node starts in well under a second and the checks are a few dozen local round trips; this
/// bounds a hung server or client, not the expected run time.
const TIMEOUT: Duration = Duration::from_secs(60);

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance")
}

#[tokio::test]
async fn official_javascript_client_agrees_with_upstash_local() {
    let dir = conformance_dir();
    for package in ["redis", "ratelimit"] {
        let client = dir.join("node_modules").join("@upstash").join(package);
        assert!(
            client.join("package.json").is_file(),
            "@upstash/{package} is not installed at {}: run `make test` or \
             `npm ci --prefix tests/conformance` first",
            client.display(),
        );
    }

    let stack = Stack::start().await;

    let mut node = Command::new("node");
    node.arg("conformance.mjs")
        .current_dir(&dir)
        .env("UPSTASH_REDIS_REST_URL", stack.rest_url())
        .env("UPSTASH_REDIS_REST_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A timed-out run must not leave node behind.
        .kill_on_drop(true);
    let child = node
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run `node` (is Node.js on PATH?): {error}"));

    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("conformance.mjs did not finish within {TIMEOUT:?}"))
        .expect("waiting for conformance.mjs");

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the official clients disagree with upstash-local ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status,
    );
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.ends_with(" passed, 0 failed") && !summary.starts_with("0 passed"),
        "conformance.mjs succeeded without its summary line\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
    );
    // Visible with `cargo test -- --nocapture`.
    println!("{stdout}");
}
