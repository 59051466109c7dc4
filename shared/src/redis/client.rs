//! The Upstash REST client: one per process, built at cold start, cloned into handlers.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::Value;
use tracing::{Instrument, field};

use super::command::{Arg, Command};
use super::endpoint::RedisConfig;
use super::error::{CommandError, RedisError, Unavailable};
use super::reply::Reply;
use super::retry::{self, Failure};
use super::script::ScriptCall;

/// Asks the endpoint to base64-encode every string, so binary values survive JSON.
const ENCODING: HeaderName = HeaderName::from_static("upstash-encoding");
/// Read-your-writes across Upstash replicas: echo the latest token the endpoint gave us.
const SYNC_TOKEN: HeaderName = HeaderName::from_static("upstash-sync-token");

/// Idle keep-alive connections outlive warm Lambda invocations but not forever.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct RedisClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    root: url::Url,
    authorization: HeaderValue,
    deadline: Duration,
    sync_token: Mutex<Option<HeaderValue>>,
    /// SHA-1s of the scripts this client has seen Redis accept. The first call of a script
    /// sends its source (EVAL also caches it), later ones only the SHA-1, so a cold start
    /// never pays an extra round trip for NOSCRIPT; only a flushed Redis does.
    loaded_scripts: Mutex<HashSet<String>>,
}

/// How a script call goes on the wire: by SHA-1 once Redis is known to hold the script,
/// by source before that (which also loads it).
struct ScriptSend {
    label: String,
    wire: Vec<Arg>,
}

impl ScriptSend {
    fn new(call: &ScriptCall<'_>, by_sha: bool) -> ScriptSend {
        let (verb, wire) = if by_sha {
            ("EVALSHA", call.evalsha_wire())
        } else {
            ("EVAL", call.eval_wire())
        };
        ScriptSend {
            label: format!("{verb} {}", call.script().name()),
            wire,
        }
    }
}

impl RedisClient {
    pub fn new(config: RedisConfig) -> Result<RedisClient, RedisError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_nodelay(true)
            .build()
            .map_err(|error| RedisError::Protocol(format!("cannot build HTTP client: {error}")))?;
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", config.token.expose()))
            .map_err(|_| RedisError::Protocol("the REST token is not a valid header".to_owned()))?;
        authorization.set_sensitive(true);
        // Keep a path prefix (a proxy may mount the API below `/`): join relative to it.
        let mut root = config.url.clone();
        if !root.path().ends_with('/') {
            root.set_path(&format!("{}/", root.path()));
        }
        Ok(RedisClient {
            inner: Arc::new(Inner {
                http,
                root,
                authorization,
                deadline: config.timeout,
                sync_token: Mutex::new(None),
                loaded_scripts: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// Sends one command.
    pub async fn command(&self, command: &Command) -> Result<Reply, RedisError> {
        let body = self
            .send(
                &self.inner.root,
                &command.to_wire(),
                command.name(),
                command.is_idempotent(),
                self.deadline(),
            )
            .await;
        counted(body.and_then(|body| single_result(body, command.name())))
    }

    /// Runs a script: by source the first time, by SHA-1 after that, and by source again if
    /// Redis answers `NOSCRIPT` (it was flushed or restarted). A `NOSCRIPT` answer means the
    /// script never ran, so resending it is safe even for a script that must run at most once.
    pub async fn eval(&self, call: &ScriptCall<'_>) -> Result<Reply, RedisError> {
        let deadline = self.deadline();
        let by_sha = self.is_loaded(call);
        counted(match self.send_script(call, by_sha, deadline).await {
            Err(RedisError::Command(error)) if by_sha && error.is_noscript() => {
                self.send_script(call, false, deadline).await
            }
            result => result,
        })
    }

    /// One script request; once Redis has answered anything but `NOSCRIPT`, it holds the
    /// script, and later calls send only its SHA-1.
    async fn send_script(
        &self,
        call: &ScriptCall<'_>,
        by_sha: bool,
        deadline: Instant,
    ) -> Result<Reply, RedisError> {
        let send = ScriptSend::new(call, by_sha);
        let body = self
            .send(
                &self.inner.root,
                &send.wire,
                &send.label,
                call.is_idempotent(),
                deadline,
            )
            .await?;
        let result = single_result(body, &send.label);
        if !matches!(&result, Err(RedisError::Command(error)) if error.is_noscript()) {
            self.mark_loaded(call);
        }
        result
    }

    /// When a call started now must have its answer: one `REDIS_TIMEOUT_MS` for the whole
    /// call, however many requests it takes (retries, a script re-sent after `NOSCRIPT`).
    fn deadline(&self) -> Instant {
        Instant::now() + self.inner.deadline
    }

    /// Sends one request, retrying before `deadline` where the failure policy allows it (`docs/contract.md`).
    async fn send<T: Serialize + ?Sized>(
        &self,
        url: &url::Url,
        payload: &T,
        label: &str,
        idempotent: bool,
        deadline: Instant,
    ) -> Result<Body, RedisError> {
        let span = tracing::debug_span!(
            "redis",
            command = label,
            attempts = field::Empty,
            latency_ms = field::Empty
        );
        let body = serde_json::to_vec(payload)
            .map_err(|error| RedisError::Protocol(format!("cannot encode request: {error}")))?;
        let started = Instant::now();
        let mut attempts = 0;
        let outcome = async {
            loop {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    break Err(RedisError::Unavailable(Unavailable::Timeout));
                }
                let timeout = retry::attempt_timeout(remaining, idempotent);
                attempts += 1;
                let (failure, error) = match self.attempt(url, body.clone(), timeout).await {
                    Ok(body) => break Ok(body),
                    Err(failed) => failed,
                };
                if !retry::may_retry(failure, idempotent) {
                    break Err(error);
                }
                let pause = retry::backoff(attempts, retry::jitter());
                if Instant::now() + pause >= deadline {
                    break Err(error);
                }
                tracing::debug!(command = label, %error, attempts, "retrying redis request");
                tokio::time::sleep(pause).await;
            }
        }
        .instrument(span.clone())
        .await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        crate::metrics::redis_requests(attempts, latency_ms);
        span.record("attempts", attempts);
        span.record("latency_ms", latency_ms);
        // The event repeats the span's fields: JSON logs print events, not spans.
        tracing::debug!(
            parent: &span,
            command = label,
            attempts,
            latency_ms,
            ok = outcome.is_ok(),
            "redis request"
        );
        outcome
    }

    /// One HTTP exchange. A failure says whether the request may have reached Redis.
    async fn attempt(
        &self,
        url: &url::Url,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Body, (Failure, RedisError)> {
        let mut request = self
            .inner
            .http
            .post(url.clone())
            .timeout(timeout)
            .header(header::AUTHORIZATION, self.inner.authorization.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(ENCODING, "base64")
            .body(body);
        if let Some(token) = self.current_sync_token() {
            request = request.header(SYNC_TOKEN, token);
        }
        let response = request.send().await.map_err(transport_failure)?;
        self.remember_sync_token(response.headers());
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport_failure)?;
        classify(status, &bytes)
    }

    fn is_loaded(&self, call: &ScriptCall<'_>) -> bool {
        self.inner
            .loaded_scripts
            .lock()
            .is_ok_and(|loaded| loaded.contains(call.script().sha1()))
    }

    fn mark_loaded(&self, call: &ScriptCall<'_>) {
        if let Ok(mut loaded) = self.inner.loaded_scripts.lock()
            && !loaded.contains(call.script().sha1())
        {
            loaded.insert(call.script().sha1().to_owned());
        }
    }

    fn current_sync_token(&self) -> Option<HeaderValue> {
        self.inner
            .sync_token
            .lock()
            .map_or(None, |token| token.clone())
    }

    fn remember_sync_token(&self, headers: &HeaderMap) {
        if let Some(token) = headers.get(SYNC_TOKEN)
            && let Ok(mut slot) = self.inner.sync_token.lock()
        {
            *slot = Some(token.clone());
        }
    }
}

/// A call's outcome, its failure counted in the current request's metrics by kind.
fn counted(result: Result<Reply, RedisError>) -> Result<Reply, RedisError> {
    if let Err(error) = &result {
        crate::metrics::redis_error(error.kind());
    }
    result
}

/// A response body the protocol allows.
#[derive(Debug)]
enum Body {
    /// 200: `{"result": ...}`.
    Answered(Value),
    /// 400 `{"error": "..."}`: Redis refused the request as a whole.
    Refused(String),
}

fn transport_failure(error: reqwest::Error) -> (Failure, RedisError) {
    // reqwest's text would name the URL, which may carry credentials (`user:pass@`, `?_token=`);
    // it never names a header. Without the URL it is safe to keep for logs.
    let failure = if error.is_connect() {
        Failure::NotSent
    } else {
        Failure::MaybeApplied
    };
    let reason = if error.is_timeout() {
        Unavailable::Timeout
    } else {
        Unavailable::Transport(error.without_url().to_string())
    };
    (failure, RedisError::Unavailable(reason))
}

fn classify(status: StatusCode, bytes: &[u8]) -> Result<Body, (Failure, RedisError)> {
    let unavailable = |reason| (Failure::MaybeApplied, RedisError::Unavailable(reason));
    let protocol = |message: String| (Failure::Final, RedisError::Protocol(message));
    if status.is_server_error() {
        return Err(unavailable(Unavailable::Status(status.as_u16())));
    }
    if status == StatusCode::UNAUTHORIZED {
        return Err((Failure::Final, RedisError::Unauthorized));
    }
    let json: Value = serde_json::from_slice(bytes).map_err(|_| {
        protocol(format!(
            "HTTP {} with a body that is not JSON",
            status.as_u16()
        ))
    })?;
    match status {
        StatusCode::OK => Ok(Body::Answered(json)),
        StatusCode::BAD_REQUEST => match json.get("error").and_then(Value::as_str) {
            Some(message) => Ok(Body::Refused(message.to_owned())),
            None => Err(protocol("HTTP 400 without an error message".to_owned())),
        },
        other => Err(protocol(format!("unexpected HTTP {}", other.as_u16()))),
    }
}

fn single_result(body: Body, label: &str) -> Result<Reply, RedisError> {
    let entry = match body {
        Body::Refused(message) => Err(CommandError {
            command: label.to_owned(),
            message,
        }),
        Body::Answered(json) => entry_result(json, label)?,
    };
    entry.map_err(RedisError::Command)
}

/// `{"result": ...}` or `{"error": "..."}`.
fn entry_result(json: Value, label: &str) -> Result<Result<Reply, CommandError>, RedisError> {
    let Value::Object(mut object) = json else {
        return Err(RedisError::Protocol("expected a result object".to_owned()));
    };
    if let Some(error) = object.remove("error") {
        let message = error
            .as_str()
            .ok_or_else(|| RedisError::Protocol("an error that is not a string".to_owned()))?;
        return Ok(Err(CommandError {
            command: label.to_owned(),
            message: message.to_owned(),
        }));
    }
    let result = object
        .remove("result")
        .ok_or_else(|| RedisError::Protocol("neither result nor error".to_owned()))?;
    Reply::from_base64_json(result).map(Ok)
}
