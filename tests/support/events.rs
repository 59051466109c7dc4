//! Requests built from the API Gateway events in `events/`, as Lambda would deliver them.

use lambda_http::Request;
use serde_json::Value;

/// `events/{name}.json`, parsed.
pub fn event(name: &str) -> Value {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The event as the request lambda_http hands a handler.
pub fn request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event")
}

/// The same event addressed to another session: path, path parameter and route agree.
pub fn with_session_id(mut event: Value, id: &str) -> Value {
    let path = event["rawPath"]
        .as_str()
        .expect("a rawPath")
        .split('/')
        .enumerate()
        .map(|(index, segment)| if index == 2 { id } else { segment })
        .collect::<Vec<_>>()
        .join("/");
    event["rawPath"] = Value::String(path.clone());
    event["requestContext"]["http"]["path"] = Value::String(path);
    event["pathParameters"]["sessionId"] = Value::String(id.to_owned());
    event
}

/// The same event with another JSON body.
pub fn with_body(mut event: Value, body: &str) -> Value {
    event["body"] = Value::String(body.to_owned());
    event["headers"]["content-length"] = Value::String(body.len().to_string());
    event
}

/// The same event from another client address (`requestContext.http.sourceIp`).
pub fn with_source_ip(mut event: Value, ip: &str) -> Value {
    event["requestContext"]["http"]["sourceIp"] = Value::String(ip.to_owned());
    event
}

/// The same event carrying `Authorization: Bearer {token}` (also as the authorizer's
/// identity source).
pub fn with_bearer(mut event: Value, token: &str) -> Value {
    let header = format!("Bearer {token}");
    event["headers"]["authorization"] = Value::String(header.clone());
    if event.get("identitySource").is_some() {
        event["identitySource"] = Value::Array(vec![Value::String(header)]);
    }
    event
}

/// The authorizer's event (`events/authorizer.json`) carrying `token` as its bearer token.
pub fn authorizer_request_event(token: &str) -> Value {
    with_bearer(event("authorizer"), token)
}

/// [`authorizer_request_event`] as the authorizer's handler takes it.
pub fn authorizer_request(
    token: &str,
) -> lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request {
    serde_json::from_value(authorizer_request_event(token)).expect("an authorizer event")
}
