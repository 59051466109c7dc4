//! A stand-in for the deployed HttpApi in front of function binaries, for tests that need a
//! real HTTP client (a browser): it routes each method and path to a function as API Gateway
//! does, hands the function a payload 2.0 event, and turns its answer back into HTTP. Each
//! function is one process ([`LambdaProcess`]), started on its first request and taking one
//! event at a time, as one Lambda instance does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::{LambdaProcess, Outcome};

/// API Gateway's own limit on a request body.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// One route: `(METHOD, /path/{param}, function)`, as `template.yaml` and the watch router
/// in `Cargo.toml` write it.
pub type Route = (&'static str, &'static str, &'static str);

pub struct Front {
    address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

struct Shared {
    routes: Vec<Route>,
    binaries: PathBuf,
    env: Vec<(&'static str, String)>,
    functions: Mutex<HashMap<&'static str, Arc<Mutex<LambdaProcess>>>>,
    requests: AtomicU64,
}

impl Front {
    /// Serves `routes` on a free loopback port, running each function from the binary of its
    /// name in `binaries` with `env`.
    pub async fn start(
        routes: &[Route],
        binaries: PathBuf,
        env: Vec<(&'static str, String)>,
    ) -> Front {
        let shared = Arc::new(Shared {
            routes: routes.to_vec(),
            binaries,
            env,
            functions: Mutex::default(),
            requests: AtomicU64::new(0),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service).await;
        });
        Front {
            address,
            server,
            shared,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops every function and returns what each wrote, for a failing test to show.
    pub async fn logs(self) -> String {
        self.server.abort();
        let functions = std::mem::take(&mut *self.shared.functions.lock().await);
        let mut logs = String::new();
        for (name, process) in functions {
            if let Ok(process) = Arc::try_unwrap(process) {
                let output = process.into_inner().logs().await;
                logs.push_str(&format!("---- {name}\n{output}\n"));
            }
        }
        logs
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The path parameters of `path` under `pattern`, or `None` when it does not match.
fn matches(pattern: &str, path: &str) -> Option<Map<String, Value>> {
    let (patterns, segments): (Vec<_>, Vec<_>) =
        (pattern.split('/').collect(), path.split('/').collect());
    if patterns.len() != segments.len() {
        return None;
    }
    let mut parameters = Map::new();
    for (pattern, segment) in patterns.into_iter().zip(segments) {
        match pattern
            .strip_prefix('{')
            .and_then(|name| name.strip_suffix('}'))
        {
            Some(name) if !segment.is_empty() => {
                parameters.insert(name.to_owned(), Value::String(segment.to_owned()));
            }
            Some(_) => return None,
            None if pattern == segment => {}
            None => return None,
        }
    }
    Some(parameters)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let Some((route, parameters)) = shared.routes.iter().find_map(|route| {
        let parameters = matches(route.1, &path)?;
        (parts.method.as_str() == route.0).then_some((route, parameters))
    }) else {
        return (StatusCode::NOT_FOUND, "{\"message\":\"Not Found\"}").into_response();
    };
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return (StatusCode::BAD_REQUEST, "the front passes text bodies only").into_response();
    };
    let id = shared.requests.fetch_add(1, Ordering::Relaxed);
    let event = event(route, parameters, &parts, &body, peer, id);
    let process = shared.function(route.2).await;
    let outcome = process.lock().await.invoke(&event.to_string()).await;
    response(outcome)
}

impl Shared {
    async fn function(&self, name: &'static str) -> Arc<Mutex<LambdaProcess>> {
        let mut functions = self.functions.lock().await;
        if let Some(process) = functions.get(name) {
            return process.clone();
        }
        let process = LambdaProcess::spawn(&self.binaries.join(name), &self.env).await;
        let process = Arc::new(Mutex::new(process));
        functions.insert(name, process.clone());
        process
    }
}

/// The payload 2.0 event API Gateway would send for this request.
fn event(
    route: &Route,
    parameters: Map<String, Value>,
    parts: &axum::http::request::Parts,
    body: &str,
    peer: SocketAddr,
    id: u64,
) -> Value {
    let mut headers = Map::new();
    for name in parts.headers.keys() {
        let values: Vec<&str> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        headers.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }
    let route_key = format!("{} {}", route.0, route.1);
    let query = parts.uri.query().unwrap_or_default();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "front",
            "domainName": parts.headers.get("host").and_then(|host| host.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "front",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get("user-agent").and_then(|agent| agent.to_str().ok()).unwrap_or_default(),
            },
            "requestId": format!("front-{id}"),
            "routeKey": route_key,
            "stage": "$default",
            "time": "22/Nov/2026:02:20:00 +0000",
            "timeEpoch": 1_795_314_000_000_u64,
        },
        "body": body,
        "isBase64Encoded": false,
    });
    if !parameters.is_empty() {
        event["pathParameters"] = Value::Object(parameters);
    }
    let mut query_parameters = Map::new();
    for (name, value) in reqwest::Url::parse(&format!("http://front/?{query}"))
        .map(|url| url.query_pairs().into_owned().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        query_parameters.insert(name, Value::String(value));
    }
    if !query_parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(query_parameters);
    }
    event
}

/// The function's answer as HTTP; API Gateway's own 500 when it failed to give one.
fn response(outcome: Outcome) -> Response {
    let Outcome::Response(answer) = outcome else {
        let message = "{\"message\":\"Internal Server Error\"}";
        return (StatusCode::INTERNAL_SERVER_ERROR, message).into_response();
    };
    if answer["isBase64Encoded"].as_bool() == Some(true) {
        return (StatusCode::BAD_GATEWAY, "the front passes text bodies only").into_response();
    }
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|status| StatusCode::from_u16(u16::try_from(status).ok()?).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = HeaderMap::new();
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::try_from(name.as_str()),
            value.as_str().map(HeaderValue::try_from),
        ) {
            headers.insert(name, value);
        }
    }
    let body = answer["body"].as_str().unwrap_or_default().to_owned();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_pattern_with_parameters() {
        let id = "3f2b8c1d4e5a69788796a5b4c3d2e1f0";
        let parameters = matches(
            "/signature-session/{sessionId}",
            &format!("/signature-session/{id}"),
        )
        .unwrap();
        assert_eq!(parameters["sessionId"], id);
        assert!(matches("/", "/").unwrap().is_empty());
        assert!(matches("/signature-session/{sessionId}", "/signature-session/").is_none());
        assert!(
            matches(
                "/signature-session/{sessionId}",
                "/signature-session/a/submit"
            )
            .is_none()
        );
        assert!(matches("/sign", "/signs").is_none());
    }
}
