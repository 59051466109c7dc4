//! `make load`: the real function binaries under load, several processes per function, as a
//! fleet of Lambda instances behind one API would be.
//!
//! It starts a redis-server of its own on a free loopback port, an upstash-local in front of
//! it for every process (so each invocation's REST requests are counted exactly while the
//! others run), and `LOAD_INSTANCES` processes of every function, each polling a Lambda
//! Runtime API fake of its own. `LOAD_CLIENTS` clients then send a realistic mix (see
//! [`mix`]) for `LOAD_SECONDS` or `LOAD_MAX_REQUESTS` requests, whichever ends first, and
//! while it runs the [`checks`] hammer the limits, race submits and log tokens out across
//! every process. It prints a Markdown report (requests per second, p50 / p99 and REST
//! requests per request of every route and answer, CPU per request and peak RSS of every
//! process, every unexpected answer, the checks) and writes the same as JSON to
//! `LOAD_REPORT` (default: `report.json` beside this binary, `target/load/` under `make
//! load`). It exits non-zero when a check fails; everything it started stops with it.
//!
//! Why a binary of the tests crate: it is the hermetic test stack (`testkit`: the private
//! redis-server, upstash-local in process, [`testkit::LambdaProcess`], the events) under a
//! different driver, so it reuses all of it rather than a copy in a crate of its own, and it
//! stays out of `cargo test` and `cargo bench`, which must not run for a minute against
//! binaries built in another profile. It finds the function binaries beside itself: `make
//! load` builds the whole workspace in the `load` profile (optimised, without the release
//! profile's fat LTO) first.

mod calls;
mod checks;
mod fleet;
mod mix;
mod record;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::Stack;

use calls::Calls;
use fleet::{Call, Fleet, Function, Reply};
use mix::Budget;
use record::Recorder;

/// How long past `LOAD_SECONDS` the run may take (start-up, checks, shutdown) before it
/// gives up.
const OVERRUN: Duration = Duration::from_secs(120);

pub struct Settings {
    pub duration: Duration,
    pub clients: usize,
    pub instances: usize,
    pub max_requests: u64,
    pub report: PathBuf,
}

impl Settings {
    fn from_env(binaries: &Path) -> Result<Settings, String> {
        Ok(Settings {
            duration: Duration::from_secs(setting("LOAD_SECONDS", 30, 1, 600)?),
            clients: setting("LOAD_CLIENTS", 16, 1, 256)? as usize,
            instances: setting("LOAD_INSTANCES", 3, 1, 16)? as usize,
            max_requests: setting("LOAD_MAX_REQUESTS", 200_000, 1, 10_000_000)?,
            report: std::env::var_os("LOAD_REPORT")
                .map_or_else(|| binaries.join("report.json"), PathBuf::from),
        })
    }
}

/// A whole number from the environment, `default` when unset.
fn setting(name: &str, default: u64, min: u64, max: u64) -> Result<u64, String> {
    let Ok(text) = std::env::var(name) else {
        return Ok(default);
    };
    text.trim()
        .parse()
        .ok()
        .filter(|value| (min..=max).contains(value))
        .ok_or_else(|| format!("{name} must be a whole number from {min} to {max}"))
}

/// The functions under load, their calls, and everything they answered.
pub struct Load {
    pub fleet: Fleet,
    pub calls: Calls,
    recorder: Recorder,
}

impl Load {
    /// Sends `call` to an idle process of its function (or the next one free) and records
    /// the answer.
    pub async fn send(&self, call: Call) -> Reply {
        let reply = self.fleet.invoke(&call).await;
        self.recorder.record(&call, &reply);
        reply
    }

    /// Sends `call` to process `index` of its function and records the answer.
    pub async fn send_to(&self, index: usize, call: Call) -> Reply {
        let reply = self.fleet.invoke_on(index, &call).await;
        self.recorder.record(&call, &reply);
        reply
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = async {
        let binaries = binaries()?;
        let settings = Settings::from_env(&binaries)?;
        let deadline = settings.duration + OVERRUN;
        tokio::time::timeout(deadline, run(&settings, &binaries))
            .await
            .map_err(|_| format!("the run did not end within {} s", deadline.as_secs()))?
    }
    .await;
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("load: a check failed (see the table)");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("load: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The directory of this binary, where the function binaries must be too.
fn binaries() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|error| format!("cannot find myself: {error}"))?;
    let dir = exe
        .parent()
        .ok_or("this binary is in no directory")?
        .to_path_buf();
    for function in Function::ALL {
        let binary = dir.join(function.binary());
        if !binary.is_file() {
            return Err(format!(
                "{} is missing: run `make load`, which builds every function beside this binary",
                binary.display()
            ));
        }
    }
    Ok(dir)
}

async fn run(settings: &Settings, binaries: &Path) -> Result<bool, String> {
    eprintln!(
        "load: starting redis-server, and {} processes of each of {} functions",
        settings.instances,
        Function::ALL.len()
    );
    let stack = Stack::start().await;
    let fleet = Fleet::start(&stack, binaries, settings.instances, &checks::env()).await;
    let load = Arc::new(Load {
        fleet,
        calls: Calls::new(),
        recorder: Recorder::default(),
    });
    warm_up(&load).await?;

    eprintln!(
        "load: {} clients for {} s (at most {} requests); checks from {} s on",
        settings.clients,
        settings.duration.as_secs(),
        settings.max_requests,
        (settings.duration / 4).as_secs()
    );
    let before = load.fleet.usage();
    let started = Instant::now();
    let budget = Arc::new(Budget::new(
        started + settings.duration,
        settings.max_requests,
    ));
    let mix = tokio::spawn(mix::run(load.clone(), settings.clients, budget));
    tokio::time::sleep(settings.duration / 4).await;
    let mut checks = checks::run(&load).await;
    mix.await
        .map_err(|error| format!("the mix failed: {error}"))?;
    let elapsed = started.elapsed();
    let after = load.fleet.usage();

    let load = Arc::into_inner(load).ok_or("a client outlived the mix")?;
    let logs = load.fleet.stop().await;
    let routes = load.recorder.into_routes();
    checks.push(checks::processes(&routes, &logs));
    let unloaded = unknown_functions();
    let run = report::Run {
        settings,
        unloaded: &unloaded,
        elapsed,
        routes: &routes,
        before: &before,
        after: &after,
        logs: &logs,
        checks: &checks,
    };
    println!("{}", run.markdown());
    let json = serde_json::to_string_pretty(&run.json()).unwrap_or_default();
    if let Some(dir) = settings.report.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&settings.report, json + "\n")
        .map_err(|error| format!("cannot write {}: {error}", settings.report.display()))?;
    eprintln!("load: the same as JSON in {}", settings.report.display());
    Ok(run.passed())
}

/// The crates of `functions/` this load test does not know (a function added since): the
/// report names them, so that a new route does not go without load unnoticed.
fn unknown_functions() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| Function::ALL.iter().all(|known| known.binary() != name))
        .collect();
    names.sort();
    names
}

/// One request to every process, unrecorded, so cold starts stay out of the figures; each
/// must answer as expected, or the run stops here.
async fn warm_up(load: &Load) -> Result<(), String> {
    let calls = &load.calls;
    for function in Function::ALL {
        for index in 0..load.fleet.instances(function) {
            let ip = calls.fresh_ip();
            let call = match function {
                Function::Health => calls.health(&ip),
                Function::SessionCreate => calls.create_not_json(&ip),
                Function::SessionGet => calls.poll_invalid_id(&ip),
                Function::SessionSubmit => calls.submit(&ip, &calls.unknown_session(), &[404]),
                Function::AuthRegister => calls.register_invalid(&ip),
                Function::AuthLogin => calls.login_bad_json(&ip),
                Function::AuthLogout => calls.logout_forged_token(&ip),
                Function::AuthMe => calls.me_forged_token(&ip),
                Function::Authorizer => calls.authorize_forged_token(&ip),
            };
            let reply = load.fleet.invoke_on(index, &call).await;
            if !call.expects(reply.status) {
                return Err(format!(
                    "{} process {index} answered {} to its first request",
                    function.binary(),
                    reply.status
                ));
            }
        }
    }
    Ok(())
}
