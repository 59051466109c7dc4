//! A function binary run exactly as Lambda runs it: a child process polling a Runtime API.
//!
//! The Runtime API here is a small fake of the one Lambda serves on every host (`/next`
//! hands out an event, `/response` takes the answer), so a test drives the real `main`:
//! its cold start, its configuration errors, lambda_http's event parsing and its logs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use edgestate::redis::TOKEN_VAR;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};

use crate::Stack;

const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the function answered for one event.
#[derive(Debug)]
pub enum Outcome {
    /// `/response`: for lambda_http, an API Gateway response object.
    Response(Value),
    /// `/error`: the handler failed.
    Error(Value),
    /// `/init/error`, or the process exited before answering: the cold start failed.
    InitFailed,
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>;

#[derive(Clone)]
struct RuntimeState {
    events: Arc<AsyncMutex<mpsc::Receiver<(String, String)>>>,
    pending: Pending,
    init_failed: Arc<Mutex<bool>>,
    /// When the process first asked for an event: its cold start is over.
    first_poll: Arc<OnceLock<Instant>>,
}

/// A running function process and the fake Runtime API it polls.
pub struct LambdaProcess {
    child: Child,
    events: mpsc::Sender<(String, String)>,
    pending: Pending,
    init_failed: Arc<Mutex<bool>>,
    spawned: Instant,
    first_poll: Arc<OnceLock<Instant>>,
    server: tokio::task::JoinHandle<()>,
    /// Drained continuously, so a chatty process never blocks on a full pipe.
    output: Vec<tokio::task::JoinHandle<String>>,
    next_id: u64,
}

impl LambdaProcess {
    /// Starts `binary` with Lambda's environment plus `env`, stdout and stderr captured.
    pub async fn spawn(binary: &Path, env: &[(&str, String)]) -> LambdaProcess {
        let (events, receiver) = mpsc::channel(16);
        let pending: Pending = Arc::default();
        let init_failed = Arc::new(Mutex::new(false));
        let first_poll: Arc<OnceLock<Instant>> = Arc::default();
        let state = RuntimeState {
            events: Arc::new(AsyncMutex::new(receiver)),
            pending: pending.clone(),
            init_failed: init_failed.clone(),
            first_poll: first_poll.clone(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_event))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let spawned = Instant::now();
        let mut child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "edgestate-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("RUST_LOG", "debug")
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        LambdaProcess {
            child,
            events,
            pending,
            init_failed,
            spawned,
            first_poll,
            server,
            output: stdout.into_iter().chain(stderr).collect(),
            next_id: 0,
        }
    }

    /// How long the process took from exec to its first `/next`: the cold start, as Lambda
    /// reports its init duration. `None` if it did not get there within the invoke timeout.
    pub async fn cold_start(&self) -> Option<Duration> {
        let waited = Instant::now();
        while waited.elapsed() < INVOKE_TIMEOUT {
            if let Some(first_poll) = self.first_poll.get() {
                return Some(first_poll.duration_since(self.spawned));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        None
    }

    /// The process id, for reading its CPU time and memory in `/proc`; `None` once it exited.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Hands one event (API Gateway JSON) to the function and waits for its answer.
    pub async fn invoke(&mut self, event: &str) -> Outcome {
        self.next_id += 1;
        let id = format!("invocation-{}", self.next_id);
        let (sender, receiver) = oneshot::channel();
        self.pending.lock().unwrap().insert(id.clone(), sender);
        self.events
            .send((id, event.to_owned()))
            .await
            .expect("the runtime API is running");
        let exited = async {
            loop {
                if matches!(self.child.try_wait(), Ok(Some(_))) || *self.init_failed.lock().unwrap()
                {
                    return Outcome::InitFailed;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let answered = async { receiver.await.unwrap_or(Outcome::InitFailed) };
        tokio::time::timeout(INVOKE_TIMEOUT, async {
            tokio::select! {
                outcome = answered => outcome,
                outcome = exited => outcome,
            }
        })
        .await
        .expect("the function answers within the invoke timeout")
    }

    /// Invokes with an API Gateway event and answers the HTTP status and the JSON body,
    /// failing the test if the function did not answer with a response.
    pub async fn invoke_http(&mut self, event: &Value) -> (u16, Value) {
        let (status, _, body) = self.invoke(&event.to_string()).await.http();
        (status, body)
    }

    /// Stops the process and returns everything it wrote to stdout and stderr.
    pub async fn logs(mut self) -> String {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.server.abort();
        let mut logs = String::new();
        for reader in self.output.drain(..) {
            logs.push_str(&reader.await.unwrap_or_default());
        }
        logs
    }
}

impl Outcome {
    /// The HTTP response the function answered: status, headers and JSON body, failing the
    /// test if it answered anything else.
    pub fn http(self) -> (u16, Value, Value) {
        let Outcome::Response(response) = self else {
            panic!("expected an HTTP response, got {self:?}");
        };
        let status = response["statusCode"].as_u64().expect("a statusCode") as u16;
        let body = response["body"].as_str().expect("a text body");
        let body = serde_json::from_str(body).expect("a JSON body");
        (status, response["headers"].clone(), body)
    }

    /// Checks the answer to a Redis that cannot serve (`docs/contract.md`, "Failure policy"):
    /// 503 `service_unavailable` with `Retry-After: 1`.
    pub fn assert_service_unavailable(self) {
        let (status, headers, body) = self.http();
        assert_eq!(
            (status, &body["code"]),
            (503, &json!("service_unavailable")),
            "{body}"
        );
        assert_eq!(headers["retry-after"], json!("1"), "{headers}");
    }
}

/// A REST token upstash-local refuses, in a form no log could show by accident.
const REFUSED_TOKEN: &str = "refused-rest-token-7Qw2Zp";

/// How long a function may wait for Redis when [`LambdaProcess::assert_outages_are_503`] makes
/// Redis slow: far below the slow stack's latency, so however slow the machine, every answer
/// comes too late.
const OUTAGE_DEADLINE_MS: &str = "100";
const SLOW_REDIS: Duration = Duration::from_secs(1);

impl LambdaProcess {
    /// `binary` run against `stack` with a REST token upstash-local refuses: what it answered
    /// `event`, once its logs are checked for the failure policy's other half: exactly one
    /// ERROR line names `UPSTASH_REDIS_REST_TOKEN`, and the token itself is in none.
    pub async fn with_a_refused_rest_token(binary: &Path, stack: &Stack, event: &Value) -> Outcome {
        let env: Vec<_> = stack
            .env()
            .into_iter()
            .map(|(name, value)| match name {
                TOKEN_VAR => (name, REFUSED_TOKEN.to_owned()),
                _ => (name, value),
            })
            .collect();
        let mut function = LambdaProcess::spawn(binary, &env).await;
        let outcome = function.invoke(&event.to_string()).await;
        let logs = function.logs().await;
        assert!(
            !logs.contains(REFUSED_TOKEN),
            "the token leaked into: {logs}"
        );
        LambdaProcess::the_line_naming(&logs, TOKEN_VAR);
        outcome
    }

    /// The one line of `logs` that names `name` (a setting, an SSM parameter), parsed, after
    /// checking it is the only one and an ERROR: the failure policy's "one log line names it".
    pub fn the_line_naming(logs: &str, name: &str) -> Value {
        let naming: Vec<&str> = logs.lines().filter(|line| line.contains(name)).collect();
        assert_eq!(naming.len(), 1, "one line names {name}: {logs}");
        let line: Value = serde_json::from_str(naming[0]).expect("a JSON log line");
        assert_eq!(line["level"], json!("ERROR"), "{logs}");
        line
    }

    /// Sends `binary` the event `event` builds against a stack (signing in first, say) while
    /// Redis fails it both ways of the failure policy's first row, each on a stack of its own:
    /// too slow for `REDIS_TIMEOUT_MS`, then stopped behind upstash-local. Each time the
    /// function answers 503 `service_unavailable` with `Retry-After: 1`, and logs why at ERROR.
    pub async fn assert_outages_are_503(binary: &Path, event: impl AsyncFn(&Stack) -> Value) {
        let slow = Stack::start_with_latency(SLOW_REDIS).await;
        let env = [
            slow.env(),
            vec![("REDIS_TIMEOUT_MS", OUTAGE_DEADLINE_MS.to_owned())],
        ]
        .concat();
        let request = event(&slow).await;
        outage(binary, &env, &request, "deadline exceeded").await;

        let stopped = Stack::start().await;
        let request = event(&stopped).await;
        // The server exits while answering, so this command reports a broken connection.
        let _ = redis::cmd("SHUTDOWN")
            .arg("NOSAVE")
            .exec_async(&mut stopped.redis().connect().await)
            .await;
        outage(binary, &stopped.env(), &request, "HTTP 503").await;
    }
}

/// One outage of [`LambdaProcess::assert_outages_are_503`]: the answer, and an ERROR line
/// that gives `reason`.
async fn outage(binary: &Path, env: &[(&str, String)], event: &Value, reason: &str) {
    let mut function = LambdaProcess::spawn(binary, env).await;
    function
        .invoke(&event.to_string())
        .await
        .assert_service_unavailable();
    let logs = function.logs().await;
    assert!(
        logs.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .any(|line| line["level"] == json!("ERROR")
                && line["error"]
                    .as_str()
                    .is_some_and(|error| error.contains(reason))),
        "an ERROR line says {reason:?}: {logs}"
    );
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn drain(
    mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes).await;
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

async fn next_event(State(state): State<RuntimeState>) -> (StatusCode, HeaderMap, String) {
    state.first_poll.get_or_init(Instant::now);
    let Some((id, event)) = state.events.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let deadline_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + INVOKE_TIMEOUT.as_millis();
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from(deadline_ms as u64),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:eu-west-1:123456789012:function:edgestate-test"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, event)
}

fn settle(state: &RuntimeState, id: &str, outcome: Outcome) -> StatusCode {
    if let Some(sender) = state.pending.lock().unwrap().remove(id) {
        let _ = sender.send(outcome);
    }
    StatusCode::ACCEPTED
}

async fn response(
    State(state): State<RuntimeState>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    settle(&state, &id, Outcome::Response(value))
}

async fn error(
    State(state): State<RuntimeState>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    settle(&state, &id, Outcome::Error(value))
}

async fn init_error(State(state): State<RuntimeState>) -> StatusCode {
    *state.init_failed.lock().unwrap() = true;
    StatusCode::ACCEPTED
}
