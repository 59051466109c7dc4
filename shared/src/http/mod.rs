//! The JSON envelope every edgestate response uses, and the mapping of failures onto
//! it (`docs/contract.md`, "Envelope" and "Failure policy"), written once so every handler answers alike.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Map, Value};

use crate::ids::RandomUnavailable;
use crate::redis::RedisError;

mod code;
pub mod request;

pub use code::ErrorCode;

/// A handler's outcome as the response the client gets, failure or not.
pub fn respond(outcome: Result<Response<Body>, ApiError>) -> Response<Body> {
    outcome.unwrap_or_else(ApiError::into_response)
}

/// `{"success": true, ...fields}` with the given status.
pub fn success(status: StatusCode, fields: Map<String, Value>) -> Response<Body> {
    let mut body = Map::with_capacity(fields.len() + 1);
    body.insert("success".to_owned(), Value::Bool(true));
    body.extend(fields);
    json(status, &Value::Object(body))
}

fn json(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Every answer reflects live shared state: no cache may hold it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A failure answer: `{"success": false, "error": "<message>", "code": "<code>"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds, for `Retry-After` (on 503 and 429).
    pub retry_after: Option<u64>,
    /// Extra fields beside the envelope's, e.g. `/health`'s `status`.
    pub extra: Map<String, Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
            extra: Map::new(),
        }
    }

    /// 503 `service_unavailable` with `Retry-After: 1`: the shared state is out of reach and
    /// there is deliberately no per-instance fallback.
    pub fn service_unavailable() -> ApiError {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                ErrorCode::ServiceUnavailable,
                "The service is temporarily unavailable, please retry shortly",
            )
        }
    }

    pub fn internal() -> ApiError {
        ApiError::new(ErrorCode::InternalError, "An internal error occurred")
    }

    /// The status that goes with the code.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn with_field(mut self, name: &str, value: Value) -> ApiError {
        self.extra.insert(name.to_owned(), value);
        self
    }

    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let mut body = Map::with_capacity(self.extra.len() + 3);
        body.insert("success".to_owned(), Value::Bool(false));
        body.insert("error".to_owned(), Value::String(self.message));
        body.insert(
            "code".to_owned(),
            Value::String(self.code.as_str().to_owned()),
        );
        body.extend(self.extra);
        let mut response = json(status, &Value::Object(body));
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<RedisError> for ApiError {
    /// Logs the cause once, here, so no handler forgets to and none logs a secret: the error
    /// carries command names and Redis's messages, never arguments or the token.
    fn from(error: RedisError) -> ApiError {
        log_redis_failure(&error);
        match error {
            RedisError::Command(_) => ApiError::internal(),
            _ => ApiError::service_unavailable(),
        }
    }
}

/// One error line for a failed Redis call, in the words its operator needs: a rejected token
/// names the setting to check (never the token), a refused command its name and Redis's reply.
pub fn log_redis_failure(error: &RedisError) {
    match error {
        RedisError::Unavailable(_) | RedisError::Protocol(_) => {
            tracing::error!(%error, "redis request failed");
        }
        RedisError::Unauthorized => {
            tracing::error!(
                %error,
                "check UPSTASH_REDIS_REST_TOKEN (or its SSM parameter) for this stage"
            );
        }
        RedisError::Command(command) => {
            tracing::error!(
                command = %command.command,
                reply = %command.message,
                "redis refused a command"
            );
        }
    }
}

impl From<RandomUnavailable> for ApiError {
    fn from(error: RandomUnavailable) -> ApiError {
        tracing::error!(%error, "cannot make an identifier");
        ApiError::internal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::{CommandError, Unavailable};
    use serde_json::json;

    fn body(response: &Response<Body>) -> Value {
        serde_json::from_slice(response.body().as_ref()).unwrap()
    }

    #[test]
    fn success_envelope_carries_the_fields() {
        let mut fields = Map::new();
        fields.insert("sessionId".to_owned(), json!("abc"));
        let response = success(StatusCode::CREATED, fields);
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(
            body(&response),
            json!({"success": true, "sessionId": "abc"})
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn redis_failures_map_onto_the_failure_policy() {
        let cases = [
            (
                RedisError::Unavailable(Unavailable::Timeout),
                503,
                "service_unavailable",
            ),
            (RedisError::Unauthorized, 503, "service_unavailable"),
            (
                RedisError::Protocol("garbage".into()),
                503,
                "service_unavailable",
            ),
            (
                RedisError::Command(CommandError {
                    command: "SET".into(),
                    message: "ERR syntax error".into(),
                }),
                500,
                "internal_error",
            ),
        ];
        for (error, status, code) in cases {
            let response = ApiError::from(error).into_response();
            assert_eq!(response.status().as_u16(), status);
            let body = body(&response);
            assert_eq!(body["success"], json!(false));
            assert_eq!(body["code"], json!(code));
            assert_eq!(
                response.headers().get(header::RETRY_AFTER).is_some(),
                status == 503
            );
        }
    }
}
