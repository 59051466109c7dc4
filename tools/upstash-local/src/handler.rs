//! The HTTP side: one handler for every path, because the path form makes every path a
//! potential command and every endpoint shares the same steps, in this order:
//! count the request, check the token (before the body is even read), read the body within
//! the size limit, run the command(s), wait the configured latency, answer JSON with an
//! `upstash-sync-token` header.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{DefaultBodyLimit, Request, State},
    http::{
        HeaderMap, HeaderName, HeaderValue, Method, StatusCode,
        header::{CONTENT_LENGTH, CONTENT_TYPE},
    },
    response::Response,
};
use http_body_util::BodyExt as _;

use crate::{
    auth::Token,
    backend::{Backend, Transaction, Unavailable},
    command::{self, Command},
    path_form,
    reply::Reply,
    resp::Encoding,
    script::{Run, Scripts},
};

/// Upstash's request size limit: larger bodies are refused with [`TOO_LARGE`].
pub(crate) const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// The exact text Upstash answers for a body over [`MAX_BODY_BYTES`].
const TOO_LARGE: &str = "ERR max request size exceeded";
/// Response header that Upstash uses for read-your-writes across replicas.
const SYNC_TOKEN: HeaderName = HeaderName::from_static("upstash-sync-token");
/// Request header that switches result strings to base64.
const ENCODING: HeaderName = HeaderName::from_static("upstash-encoding");

/// Everything a request needs, shared by all of them.
pub(crate) struct App {
    pub(crate) backend: Backend,
    pub(crate) scripts: Scripts,
    pub(crate) token: Token,
    pub(crate) latency: Duration,
    /// Requests received, read by [`crate::Server::request_count`].
    pub(crate) requests: Arc<AtomicU64>,
    /// Source of `upstash-sync-token` values. With a single Redis there are no replicas to
    /// catch up, so any increasing value is correct; clients only echo it back.
    pub(crate) sync: AtomicU64,
}

/// What a request asks for, decided from its method and path alone.
enum Endpoint {
    /// `POST /`: one command in a JSON body.
    Single,
    /// `POST /pipeline`.
    Pipeline,
    /// `POST /multi-exec`.
    Transaction,
    /// `GET|POST /cmd/arg/...`; `with_body` for POST, whose body is the value argument.
    PathForm { with_body: bool },
}

impl Endpoint {
    /// Upstash allows HEAD, GET, POST and PUT: PUT is taken as POST, HEAD as GET.
    fn of(method: &Method, path: &str) -> Option<Self> {
        let post = method == Method::POST || method == Method::PUT;
        let get = method == Method::GET || method == Method::HEAD;
        match path {
            "/" if post => Some(Self::Single),
            "/pipeline" if post => Some(Self::Pipeline),
            "/multi-exec" if post => Some(Self::Transaction),
            "/pipeline" | "/multi-exec" => None,
            _ if post => Some(Self::PathForm { with_body: true }),
            _ if get => Some(Self::PathForm { with_body: false }),
            _ => None,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Single => "command",
            Self::Pipeline => "pipeline",
            Self::Transaction => "multi-exec",
            Self::PathForm { .. } => "path",
        }
    }
}

/// The router: a single fallback handler, with axum's 2 MB body limit removed because this
/// handler enforces Upstash's own limit with Upstash's own message.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    app.requests.fetch_add(1, Ordering::Relaxed);
    let reply = app.answer(request).await;
    if !app.latency.is_zero() {
        tokio::time::sleep(app.latency).await;
    }
    let sync = app.sync.fetch_add(1, Ordering::Relaxed) + 1;
    render(reply, sync)
}

impl App {
    async fn answer(&self, request: Request) -> Reply {
        let (parts, body) = request.into_parts();
        let query = path_form::parse_query(parts.uri.query());
        if !self.token.admits(&parts.headers, query.token.as_deref()) {
            return Reply::error(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        let Some(endpoint) = Endpoint::of(&parts.method, parts.uri.path()) else {
            return Reply::error(StatusCode::METHOD_NOT_ALLOWED, "ERR method not allowed");
        };
        let encoding = Encoding::from_header(parts.headers.get(ENCODING).map(|v| v.as_bytes()));
        let body = match endpoint {
            Endpoint::PathForm { with_body: false } => Vec::new(),
            _ => match read_body(&parts.headers, body).await {
                Ok(body) => body,
                Err(reply) => return reply,
            },
        };
        let reply = match endpoint {
            Endpoint::Single => match command::parse_single(&body) {
                Ok(command) => self.single(command, encoding).await,
                Err(err) => Reply::bad_request(format!("ERR {}", err.0)),
            },
            Endpoint::PathForm { .. } => {
                let args = path_form::command_args(parts.uri.path(), &query, Some(&body));
                match Command::new(args) {
                    Some(command) => self.single(command, encoding).await,
                    None => Reply::bad_request("ERR empty command"),
                }
            }
            Endpoint::Pipeline | Endpoint::Transaction => match command::parse_list(&body) {
                Ok(commands) => {
                    let atomic = matches!(endpoint, Endpoint::Transaction);
                    self.list(commands, atomic, encoding).await
                }
                Err(err) => Reply::bad_request(format!("ERR {}", err.0)),
            },
        };
        tracing::debug!(
            endpoint = endpoint.name(),
            status = reply.status.as_u16(),
            "request"
        );
        reply
    }

    async fn single(&self, command: Command, encoding: Encoding) -> Reply {
        if let Err(message) = command.check_allowed() {
            return Reply::bad_request(message);
        }
        let name = command.name();
        let call = self.scripts.prepare(command, Run::Separately);
        match self.backend.run(&call).await {
            Ok(answer) => Reply::single(&call.answer(answer), encoding),
            Err(err) => unavailable(err, &name),
        }
    }

    /// A pipeline or a transaction. A denied command refuses the whole request before
    /// anything runs, like any other malformed request.
    async fn list(&self, commands: Vec<Command>, atomic: bool, encoding: Encoding) -> Reply {
        if let Some(message) = commands.iter().find_map(|c| c.check_allowed().err()) {
            return Reply::bad_request(message);
        }
        let first = commands.first().map(Command::name).unwrap_or_default();
        let run = if atomic {
            Run::InTransaction
        } else {
            Run::Separately
        };
        let calls: Vec<_> = commands
            .into_iter()
            .map(|command| self.scripts.prepare(command, run))
            .collect();
        let answers = if atomic {
            match self.backend.transaction(&calls).await {
                Ok(Transaction::Committed(answers)) => answers,
                Ok(Transaction::Aborted(message)) => return Reply::bad_request(message),
                Err(err) => return unavailable(err, &first),
            }
        } else {
            match self.backend.pipeline(&calls).await {
                Ok(answers) => answers,
                Err(err) => return unavailable(err, &first),
            }
        };
        let answers: Vec<_> = calls
            .iter()
            .zip(answers)
            .map(|(call, answer)| call.answer(answer))
            .collect();
        Reply::entries(&answers, encoding)
    }
}

/// 503 for a Redis that could not serve the request, logged with the command name only.
fn unavailable(Unavailable(reason): Unavailable, command: &str) -> Reply {
    tracing::warn!(command, reason = %reason, "redis unavailable");
    Reply::error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("ERR redis unavailable: {reason}"),
    )
}

/// Reads the whole body, refusing it as soon as it is known to exceed [`MAX_BODY_BYTES`]:
/// from `Content-Length` before reading anything, or while reading a body sent without one.
async fn read_body(headers: &HeaderMap, mut body: Body) -> Result<Vec<u8>, Reply> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(Reply::bad_request(TOO_LARGE));
    }
    let capacity = declared.map_or(0, |length| length.min(MAX_BODY_BYTES as u64) as usize);
    let mut buffer = Vec::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Reply::bad_request("ERR failed to read request body"));
        };
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > MAX_BODY_BYTES {
                return Err(Reply::bad_request(TOO_LARGE));
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer)
}

/// The HTTP response: JSON body, JSON content type, and the sync token.
fn render(reply: Reply, sync: u64) -> Response {
    // Serialising a `serde_json::Value` cannot fail; the fallback only avoids a panic path.
    let body = serde_json::to_vec(&reply.body)
        .unwrap_or_else(|_| br#"{"error":"ERR internal error"}"#.to_vec());
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(SYNC_TOKEN, HeaderValue::from(sync));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_method_and_path() {
        assert!(matches!(
            Endpoint::of(&Method::POST, "/"),
            Some(Endpoint::Single)
        ));
        assert!(matches!(
            Endpoint::of(&Method::POST, "/pipeline"),
            Some(Endpoint::Pipeline)
        ));
        assert!(matches!(
            Endpoint::of(&Method::POST, "/multi-exec"),
            Some(Endpoint::Transaction)
        ));
        assert!(matches!(
            Endpoint::of(&Method::GET, "/get/k"),
            Some(Endpoint::PathForm { with_body: false })
        ));
        assert!(matches!(
            Endpoint::of(&Method::POST, "/set/k"),
            Some(Endpoint::PathForm { with_body: true })
        ));
        assert!(Endpoint::of(&Method::GET, "/pipeline").is_none());
        assert!(Endpoint::of(&Method::DELETE, "/del/k").is_none());
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(MAX_BODY_BYTES as u64 + 1));
        let reply = read_body(&headers, Body::empty()).await.unwrap_err();
        assert_eq!(reply.body, serde_json::json!({"error": TOO_LARGE}));

        let big = vec![b'x'; MAX_BODY_BYTES + 1];
        let reply = read_body(&HeaderMap::new(), Body::from(big))
            .await
            .unwrap_err();
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);

        let exact = vec![b'x'; MAX_BODY_BYTES];
        let body = read_body(&HeaderMap::new(), Body::from(exact))
            .await
            .unwrap();
        assert_eq!(body.len(), MAX_BODY_BYTES);
    }

    #[test]
    fn responses_are_json_with_a_sync_token() {
        let response = render(Reply::bad_request("ERR x"), 7);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[SYNC_TOKEN], "7");
    }
}
