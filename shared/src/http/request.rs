//! Reading what a client sent: JSON bodies and path parameters, each failure a clear 4xx.

use http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{Map, Value};

use super::{ApiError, ErrorCode};

/// The body as a JSON object, after the checks every JSON route makes in the same order:
/// content type (415), size (413), JSON (400 `invalid_body`).
pub fn json_object(request: &Request, max_bytes: usize) -> Result<Map<String, Value>, ApiError> {
    if !is_json(request) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Content-Type must be application/json",
        ));
    }
    let body: &[u8] = request.body().as_ref();
    if body.len() > max_bytes {
        return Err(payload_too_large(format!(
            "Request body must be at most {max_bytes} bytes"
        )));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(ApiError::new(
            ErrorCode::InvalidBody,
            "Request body must be a JSON object",
        )),
    }
}

pub fn payload_too_large(message: String) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, message)
}

/// `application/json`, with or without parameters such as `charset=utf-8`.
fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// A required string field; the error names the field, as clients show it next to the input.
pub fn string_field<'a>(object: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    match object.get(name) {
        Some(Value::String(value)) => Ok(value),
        None | Some(Value::Null) => Err(invalid_field(name, format!("{name} is required"))),
        Some(_) => Err(invalid_field(name, format!("{name} must be a string"))),
    }
}

/// 400 `invalid_field`, with the field's name in `field`.
pub fn invalid_field(name: &str, message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidField, message)
        .with_field("field", Value::String(name.to_owned()))
}

/// The client's address as API Gateway saw the connection (`requestContext.http.sourceIp`).
/// Never a header: `X-Forwarded-For` is whatever the client wants it to be. A request
/// without one (not through API Gateway) shares a single bucket rather than escaping limits.
pub fn client_ip(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".to_owned())
}

/// A path parameter as API Gateway (or `cargo lambda watch`) extracted it from the route.
pub fn path_parameter(request: &Request, name: &str) -> Option<String> {
    request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first(name))
        .map(str::to_owned)
}

/// A query string parameter (its first value).
pub fn query_parameter<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|parameters| parameters.first(name))
}

/// The user the HttpApi's Lambda authorizer let through: the `sub` it put in the request's
/// context (`requestContext.authorizer.lambda.sub`, payload 2.0). API Gateway writes that
/// context, never the client; `None` when the request did not pass the authorizer (a route
/// that opted out of it, or `cargo lambda watch`, which has none).
pub fn authorizer_subject(request: &Request) -> Option<&str> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()?
            .fields
            .get("sub")?
            .as_str()
            .filter(|sub| !sub.is_empty()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use serde_json::json;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/x");
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    fn code(result: Result<Map<String, Value>, ApiError>) -> (u16, &'static str) {
        let error = result.unwrap_err();
        (error.status().as_u16(), error.code.as_str())
    }

    #[test]
    fn accepts_a_json_object_with_any_charset_parameter() {
        let object = json_object(
            &request(Some("application/json; charset=UTF-8"), r#"{"a":1}"#),
            100,
        )
        .unwrap();
        assert_eq!(object["a"], json!(1));
    }

    #[test]
    fn checks_content_type_then_size_then_syntax() {
        assert_eq!(
            code(json_object(&request(None, "{}"), 100)),
            (415, "unsupported_media_type")
        );
        assert_eq!(
            code(json_object(&request(Some("text/plain"), "{}"), 100)),
            (415, "unsupported_media_type")
        );
        assert_eq!(
            code(json_object(
                &request(Some("application/json"), &"x".repeat(101)),
                100
            )),
            (413, "payload_too_large")
        );
        for body in ["", "not json", "[1]", "\"text\"", "{\"a\":"] {
            assert_eq!(
                code(json_object(&request(Some("application/json"), body), 100)),
                (400, "invalid_body"),
                "{body:?}"
            );
        }
    }

    /// An API Gateway HTTP API event (payload 2.0) with `query` and, when given, the
    /// authorizer's context.
    fn gateway_request(query: &str, context: Option<Value>) -> Request {
        let mut event = json!({
            "version": "2.0",
            "routeKey": "GET /x",
            "rawPath": "/x",
            "rawQueryString": query,
            "headers": {},
            "requestContext": {
                "http": {"method": "GET", "path": "/x", "protocol": "HTTP/1.1",
                         "sourceIp": "203.0.113.7", "userAgent": "t"},
                "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        if !query.is_empty() {
            let (name, value) = query.split_once('=').unwrap();
            event["queryStringParameters"] = json!({ name: value });
        }
        if let Some(context) = context {
            event["requestContext"]["authorizer"] = json!({ "lambda": context });
        }
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn the_authorizer_subject_comes_from_its_context_only() {
        let through = gateway_request("", Some(json!({"sub": "u1", "email": "a@b.c"})));
        assert_eq!(authorizer_subject(&through), Some("u1"));
        assert_eq!(authorizer_subject(&gateway_request("", None)), None);
        for context in [json!({}), json!({"sub": ""}), json!({"sub": 7})] {
            let odd = gateway_request("", Some(context.clone()));
            assert_eq!(authorizer_subject(&odd), None, "{context}");
        }
        assert_eq!(authorizer_subject(&request(None, "")), None);
    }

    #[test]
    fn query_parameters_are_read_by_name() {
        let with_days = gateway_request("days=7", None);
        assert_eq!(query_parameter(&with_days, "days"), Some("7"));
        assert_eq!(query_parameter(&with_days, "other"), None);
        assert_eq!(query_parameter(&gateway_request("", None), "days"), None);
    }

    #[test]
    fn string_field_names_the_field_when_missing_or_mistyped() {
        let object = json!({"n": 5, "s": "ok", "z": null});
        let object = object.as_object().unwrap();
        assert_eq!(string_field(object, "s").unwrap(), "ok");
        for (name, message) in [
            ("missing", "missing is required"),
            ("z", "z is required"),
            ("n", "n must be a string"),
        ] {
            let error = string_field(object, name).unwrap_err();
            assert_eq!(error.message, message);
            assert_eq!(error.extra["field"], json!(name));
        }
    }
}
