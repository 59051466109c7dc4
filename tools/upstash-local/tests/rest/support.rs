//! What every test here shares: upstash-local in front of a redis-server of the test's own,
//! spoken to over HTTP with plain reqwest, and that Redis reached directly over RESP.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use upstash_local::test_support::RedisServer;
use upstash_local::{Config, Server};

/// The REST token of every test server; tests are local, it guards nothing.
pub(crate) const TOKEN: &str = "upstash-local-test-token";

// ---------------------------------------------------------------------------------------------
// The stack: Redis and upstash-local
// ---------------------------------------------------------------------------------------------

/// Fields drop in order: upstash-local stops before its Redis does.
pub(crate) struct Stack {
    upstash: Server,
    redis: RedisServer,
}

impl Stack {
    pub(crate) async fn start() -> Stack {
        Stack::start_with_latency(Duration::ZERO).await
    }

    /// A stack whose upstash-local delays every answer, to model a remote Redis.
    pub(crate) async fn start_with_latency(latency: Duration) -> Stack {
        let redis = RedisServer::start();
        let url = redis.url();
        Stack::in_front_of(redis, url, latency).await
    }

    /// upstash-local in front of `redis`, reached through `url` (which may name a user).
    pub(crate) async fn in_front_of(redis: RedisServer, url: String, latency: Duration) -> Stack {
        let upstash = Server::start(Config {
            listen: ([127, 0, 0, 1], 0).into(),
            redis_url: url,
            token: TOKEN.to_owned(),
            latency,
        })
        .await
        .expect("upstash-local starts in front of the test's redis-server");
        Stack { upstash, redis }
    }

    pub(crate) fn rest_url(&self) -> String {
        self.upstash.url()
    }

    /// REST requests upstash-local has received.
    pub(crate) fn rest_requests(&self) -> u64 {
        self.upstash.request_count()
    }

    /// The redis-server behind upstash-local.
    pub(crate) fn redis(&self) -> &RedisServer {
        &self.redis
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------

/// One HTTP answer of upstash-local: status, headers and the parsed JSON body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    /// Asserts a 200 `{"result": expected}`.
    #[track_caller]
    pub(crate) fn assert_result(&self, expected: Value) {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(self.body, json!({ "result": expected }), "{self:?}");
    }

    /// Asserts a 200 whose body is exactly `entries` (a pipeline's or a transaction's array).
    #[track_caller]
    pub(crate) fn assert_entries(&self, entries: Value) {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        assert_eq!(self.body, entries, "{self:?}");
    }

    /// Asserts `status` with exactly `{"error": message}`.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: StatusCode, message: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body, json!({ "error": message }), "{self:?}");
    }

    /// Asserts `status` with a body of exactly one `error` field that starts with `prefix`,
    /// for texts that quote a third party (serde's parse errors, an I/O error).
    #[track_caller]
    pub(crate) fn assert_error_starting_with(&self, status: StatusCode, prefix: &str) {
        assert_eq!(self.status, status, "{self:?}");
        let object = self.body.as_object().expect("an error body is an object");
        assert_eq!(object.len(), 1, "only an error field: {self:?}");
        let message = object["error"].as_str().expect("the error is a string");
        assert!(message.starts_with(prefix), "{self:?}");
    }

    /// The `upstash-sync-token` header, which every answer carries, as a number.
    #[track_caller]
    pub(crate) fn sync_token(&self) -> u64 {
        let value = self
            .headers
            .get("upstash-sync-token")
            .unwrap_or_else(|| panic!("no upstash-sync-token header: {self:?}"));
        value
            .to_str()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("sync token {value:?} is not a number"))
    }
}

/// Sends a request and reads its answer, checking what every answer must be: JSON.
pub(crate) async fn send(request: RequestBuilder) -> Answer {
    let response = request.send().await.expect("upstash-local answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("the body is read");
    assert_eq!(
        headers.get(CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"application/json"[..]),
        "{status}: {headers:?}"
    );
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|err| {
        panic!(
            "{status}: body is not JSON ({err}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer {
        status,
        headers,
        body,
    }
}

/// The REST endpoint of a stack, spoken to with plain reqwest.
pub(crate) struct Rest {
    http: reqwest::Client,
    base: String,
}

impl Rest {
    pub(crate) fn new(stack: &Stack) -> Rest {
        Rest {
            http: reqwest::Client::new(),
            base: stack.rest_url(),
        }
    }

    /// A request with no credentials at all; `path` may carry a query.
    pub(crate) fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// A request with `Authorization: Bearer TOKEN`.
    pub(crate) fn authorized(&self, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path).bearer_auth(TOKEN)
    }

    /// `POST /` with one command as JSON.
    pub(crate) async fn command(&self, command: Value) -> Answer {
        send(self.authorized(Method::POST, "/").json(&command)).await
    }

    /// `POST /` with one command, asking for base64 strings.
    pub(crate) async fn command_base64(&self, command: Value) -> Answer {
        send(
            self.authorized(Method::POST, "/")
                .header("Upstash-Encoding", "base64")
                .json(&command),
        )
        .await
    }

    /// `POST /` with a raw body, valid JSON or not.
    pub(crate) async fn command_body(&self, body: impl Into<reqwest::Body>) -> Answer {
        send(self.authorized(Method::POST, "/").body(body)).await
    }

    /// `POST /pipeline` with a JSON array of commands.
    pub(crate) async fn pipeline(&self, commands: Value) -> Answer {
        send(self.authorized(Method::POST, "/pipeline").json(&commands)).await
    }

    /// `POST /multi-exec` with a JSON array of commands.
    pub(crate) async fn multi_exec(&self, commands: Value) -> Answer {
        send(self.authorized(Method::POST, "/multi-exec").json(&commands)).await
    }

    /// A path-form `GET` (`/set/k/v?EX=10`).
    pub(crate) async fn get(&self, path: &str) -> Answer {
        send(self.authorized(Method::GET, path)).await
    }

    /// A path-form `POST` whose raw body is the argument after the path's.
    pub(crate) async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
        send(self.authorized(Method::POST, path).body(body)).await
    }
}

// ---------------------------------------------------------------------------------------------
// RESP helpers: the Redis behind upstash-local, reached directly
// ---------------------------------------------------------------------------------------------

/// A direct RESP connection to the stack's redis-server.
pub(crate) struct Resp(redis::aio::MultiplexedConnection);

impl Resp {
    pub(crate) async fn connect(stack: &Stack) -> Resp {
        Resp(stack.redis().connect().await)
    }

    pub(crate) async fn get(&mut self, key: &str) -> Option<Vec<u8>> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.0)
            .await
            .unwrap()
    }

    pub(crate) async fn set(&mut self, key: &str, value: &[u8]) {
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .exec_async(&mut self.0)
            .await
            .unwrap();
    }

    pub(crate) async fn exists(&mut self, key: &str) -> bool {
        let count: i64 = redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut self.0)
            .await
            .unwrap();
        count == 1
    }

    /// Any command, for what the helpers above do not cover.
    pub(crate) async fn query<T: redis::FromRedisValue>(&mut self, command: &redis::Cmd) -> T {
        command.query_async(&mut self.0).await.unwrap()
    }

    /// Stops the redis-server. It exits while answering, so the reply is a broken connection,
    /// which is ignored.
    pub(crate) async fn shutdown(mut self) {
        let _ = redis::cmd("SHUTDOWN")
            .arg("NOSAVE")
            .exec_async(&mut self.0)
            .await;
    }
}
