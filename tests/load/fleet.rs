//! The function processes under load: several per function, each polling a Runtime API fake
//! of its own (testkit's [`LambdaProcess`]) and reaching Redis through an upstash-local of its
//! own, so the REST requests of every invocation are counted exactly while the others run.
//!
//! A process serves one event at a time, as a Lambda instance does: an invocation holds the
//! process for as long as it runs.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{LambdaProcess, Outcome, Stack};
use tokio::sync::Mutex;

/// The function binaries, one per route, and the authorizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    Health,
    SessionCreate,
    SessionGet,
    SessionSubmit,
    AuthRegister,
    AuthLogin,
    AuthLogout,
    AuthMe,
    Authorizer,
}

impl Function {
    pub const ALL: [Function; 9] = [
        Function::Health,
        Function::SessionCreate,
        Function::SessionGet,
        Function::SessionSubmit,
        Function::AuthRegister,
        Function::AuthLogin,
        Function::AuthLogout,
        Function::AuthMe,
        Function::Authorizer,
    ];

    /// The binary's name, which is also the name of its sample event in `events/`.
    pub fn binary(self) -> &'static str {
        match self {
            Function::Health => "health",
            Function::SessionCreate => "session-create",
            Function::SessionGet => "session-get",
            Function::SessionSubmit => "session-submit",
            Function::AuthRegister => "auth-register",
            Function::AuthLogin => "auth-login",
            Function::AuthLogout => "auth-logout",
            Function::AuthMe => "auth-me",
            Function::Authorizer => "authorizer",
        }
    }

    /// The HttpApi route the function serves.
    pub fn route(self) -> &'static str {
        match self {
            Function::Health => "GET /health",
            Function::SessionCreate => "POST /signature-session/create",
            Function::SessionGet => "GET /signature-session/{sessionId}",
            Function::SessionSubmit => "POST /signature-session/{sessionId}/submit",
            Function::AuthRegister => "POST /auth/register",
            Function::AuthLogin => "POST /auth/login",
            Function::AuthLogout => "POST /auth/logout",
            Function::AuthMe => "GET /auth/me",
            Function::Authorizer => "authorizer (any route added later)",
        }
    }
}

/// One event for one function, and the statuses the sender expects (2xx and 4xx alike).
pub struct Call {
    pub function: Function,
    pub event: Value,
    pub expect: &'static [u16],
}

impl Call {
    /// The same call with its event changed by `change`.
    pub fn with(mut self, change: impl FnOnce(Value) -> Value) -> Call {
        self.event = change(self.event);
        self
    }

    pub fn expects(&self, status: Status) -> bool {
        matches!(status, Status::Http(status) if self.expect.contains(&status))
    }
}

/// What an invocation answered, as API Gateway passes it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// The HTTP status; for the authorizer, 200 when it allows and 403 when it denies (what
    /// API Gateway answers the client).
    Http(u16),
    /// The function reported an error, or answered something that is no response.
    FunctionError,
    /// The process exited (or its cold start failed) before answering.
    NoAnswer,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Http(status) => write!(f, "{status}"),
            Status::FunctionError => f.write_str("function error"),
            Status::NoAnswer => f.write_str("no answer"),
        }
    }
}

/// An invocation's answer and what it cost.
pub struct Reply {
    pub status: Status,
    /// The response's JSON body (for the authorizer, its verdict); null when there is none.
    pub body: Value,
    /// From the moment the process took the event until its answer.
    pub latency: Duration,
    /// REST requests the process made while serving it.
    pub rest: u64,
}

impl Reply {
    /// The reply of an invocation whose sender failed before it answered.
    pub fn lost() -> Reply {
        Reply {
            status: Status::NoAnswer,
            body: Value::Null,
            latency: Duration::ZERO,
            rest: 0,
        }
    }

    pub fn is(&self, status: u16) -> bool {
        self.status == Status::Http(status)
    }

    /// A string field of the body, e.g. `sessionId` or `token`.
    pub fn text(&self, field: &str) -> Option<String> {
        self.body[field].as_str().map(str::to_owned)
    }
}

struct Instance {
    process: Mutex<LambdaProcess>,
    /// Kept apart from `process` so that reading `/proc` never waits for an invocation.
    pid: Option<u32>,
    upstash: upstash_local::Server,
    served: AtomicU64,
}

struct Pool {
    function: Function,
    instances: Vec<Instance>,
    next: AtomicUsize,
}

pub struct Fleet {
    pools: Vec<Pool>,
}

/// One process's CPU time, peak memory and invocations so far.
pub struct Usage {
    pub function: Function,
    pub pid: Option<u32>,
    pub cpu_ticks: Option<u64>,
    pub peak_rss_kib: Option<u64>,
    pub served: u64,
}

impl Fleet {
    /// Starts `instances` processes of every function, from the binaries in `dir`, each with
    /// `env` plus its own upstash-local in front of the stack's Redis.
    pub async fn start(
        stack: &Stack,
        dir: &Path,
        instances: usize,
        env: &[(&str, String)],
    ) -> Fleet {
        let mut pools = Vec::new();
        for function in Function::ALL {
            let binary = dir.join(function.binary());
            let mut pool = Pool {
                function,
                instances: Vec::new(),
                next: AtomicUsize::new(0),
            };
            for _ in 0..instances {
                let upstash = stack.another_upstash().await;
                let mut process_env = stack.env_through(&upstash);
                process_env.extend(env.iter().map(|(name, value)| (*name, value.clone())));
                let process = LambdaProcess::spawn(&binary, &process_env).await;
                pool.instances.push(Instance {
                    pid: process.pid(),
                    process: Mutex::new(process),
                    upstash,
                    served: AtomicU64::new(0),
                });
            }
            pools.push(pool);
        }
        Fleet { pools }
    }

    pub fn instances(&self, function: Function) -> usize {
        self.pool(function).instances.len()
    }

    fn pool(&self, function: Function) -> &Pool {
        self.pools
            .iter()
            .find(|pool| pool.function == function)
            .expect("every function has a pool")
    }

    /// Invokes the first idle process of the call's function or, when all are busy, the
    /// next in turn as soon as it is free: a load balancer in front of a fixed fleet.
    pub async fn invoke(&self, call: &Call) -> Reply {
        let pool = self.pool(call.function);
        let count = pool.instances.len();
        let first = pool.next.fetch_add(1, Ordering::Relaxed) % count;
        for offset in 0..count {
            let instance = &pool.instances[(first + offset) % count];
            if let Ok(process) = instance.process.try_lock() {
                return serve(call, instance, process).await;
            }
        }
        let instance = &pool.instances[first];
        serve(call, instance, instance.process.lock().await).await
    }

    /// Invokes process `index` (modulo the pool's size) of the call's function.
    pub async fn invoke_on(&self, index: usize, call: &Call) -> Reply {
        let pool = self.pool(call.function);
        let instance = &pool.instances[index % pool.instances.len()];
        serve(call, instance, instance.process.lock().await).await
    }

    /// Every process's CPU time, peak RSS and invocations, read now.
    pub fn usage(&self) -> Vec<Usage> {
        self.pools
            .iter()
            .flat_map(|pool| {
                pool.instances.iter().map(|instance| Usage {
                    function: pool.function,
                    pid: instance.pid,
                    cpu_ticks: instance.pid.and_then(testkit::procfs::cpu_ticks),
                    peak_rss_kib: instance.pid.and_then(testkit::procfs::peak_rss_kib),
                    served: instance.served.load(Ordering::Relaxed),
                })
            })
            .collect()
    }

    /// Stops every process; each one's logs, in the order of [`Fleet::usage`].
    pub async fn stop(self) -> Vec<String> {
        let mut logs = Vec::new();
        for pool in self.pools {
            for instance in pool.instances {
                logs.push(instance.process.into_inner().logs().await);
            }
        }
        logs
    }
}

async fn serve(
    call: &Call,
    instance: &Instance,
    mut process: tokio::sync::MutexGuard<'_, LambdaProcess>,
) -> Reply {
    let event = call.event.to_string();
    let before = instance.upstash.request_count();
    let started = Instant::now();
    let outcome = process.invoke(&event).await;
    let latency = started.elapsed();
    let rest = instance.upstash.request_count() - before;
    instance.served.fetch_add(1, Ordering::Relaxed);
    let (status, body) = answer(call.function, outcome);
    Reply {
        status,
        body,
        latency,
        rest,
    }
}

fn answer(function: Function, outcome: Outcome) -> (Status, Value) {
    match outcome {
        Outcome::Response(verdict) if function == Function::Authorizer => {
            match verdict["isAuthorized"].as_bool() {
                Some(true) => (Status::Http(200), verdict),
                Some(false) => (Status::Http(403), verdict),
                None => (Status::FunctionError, verdict),
            }
        }
        Outcome::Response(response) => {
            let status = response["statusCode"]
                .as_u64()
                .and_then(|status| u16::try_from(status).ok());
            let body = response["body"]
                .as_str()
                .and_then(|body| serde_json::from_str(body).ok())
                .unwrap_or(Value::Null);
            (status.map_or(Status::FunctionError, Status::Http), body)
        }
        Outcome::Error(error) => (Status::FunctionError, error),
        Outcome::InitFailed => (Status::NoAnswer, Value::Null),
    }
}
