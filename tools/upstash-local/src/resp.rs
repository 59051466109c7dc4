//! Redis replies rendered as the JSON that Upstash answers.
//!
//! The connection speaks RESP2, so in practice replies are nil, integers, bulk strings, status
//! strings, errors and arrays; the RESP3-only shapes are still rendered as their RESP2
//! equivalents so that no reply can make the server fail.
//!
//! With `Upstash-Encoding: base64` every string in a result is base64, so binary values survive
//! JSON, with one exception that clients rely on: the status reply `OK` stays plain `"OK"`.
//! A bulk string that happens to read `OK` is still encoded (`"T0s="`).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use redis::{ServerError, Value};
use serde_json::{Number, Value as Json};

/// How strings in a result are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// As UTF-8 text; invalid sequences become U+FFFD.
    Plain,
    /// Standard padded base64 of the raw bytes, except the status reply `OK`.
    Base64,
}

impl Encoding {
    /// The encoding a request asks for with its `Upstash-Encoding` header.
    pub(crate) fn from_header(value: Option<&[u8]>) -> Self {
        match value {
            Some(value) if value.trim_ascii().eq_ignore_ascii_case(b"base64") => Self::Base64,
            _ => Self::Plain,
        }
    }

    /// A string from the payload: a bulk string, or a status other than `OK`.
    fn string(self, bytes: &[u8]) -> Json {
        match self {
            Self::Plain => Json::String(String::from_utf8_lossy(bytes).into_owned()),
            Self::Base64 => Json::String(STANDARD.encode(bytes)),
        }
    }

    /// A status (simple string) reply: `OK` is never encoded, anything else is a string.
    fn status(self, text: &str) -> Json {
        if text == "OK" {
            Json::String("OK".to_owned())
        } else {
            self.string(text.as_bytes())
        }
    }
}

/// What one command came to: its reply, or the error text the client reads (Redis's own, or one
/// of upstash-local's where it stands in for Upstash).
pub(crate) type Answer = Result<Value, String>;

/// A reply as an [`Answer`]: a top-level Redis error becomes its text.
pub(crate) fn answer(value: Value) -> Answer {
    match value {
        Value::ServerError(error) => Err(error_text(&error)),
        value => Ok(value),
    }
}

/// The text of a Redis error as Redis sent it (`ERR ...`, `WRONGTYPE ...`, `NOSCRIPT ...`):
/// clients recognise errors by that first word, so it must survive unchanged.
pub(crate) fn error_text(error: &ServerError) -> String {
    match error.details() {
        Some(details) => format!("{} {details}", error.code()),
        None => error.code().to_owned(),
    }
}

/// Renders a reply that is not itself an error (the caller answers top-level errors with
/// `{"error": ...}`). An error nested inside an array (a Lua table can hold one, and so can an
/// EXEC reply) becomes its text; it sits in the result, so it follows the result's encoding.
pub(crate) fn to_json(value: &Value, encoding: Encoding) -> Json {
    match value {
        Value::Nil => Json::Null,
        Value::Int(int) => Json::Number((*int).into()),
        Value::BulkString(bytes) => encoding.string(bytes),
        Value::SimpleString(text) => encoding.status(text),
        Value::Okay => encoding.status("OK"),
        Value::Array(items) | Value::Set(items) => array(items, encoding),
        Value::Push { data, .. } => array(data, encoding),
        // RESP2 sends maps as flat key, value arrays; so does this.
        Value::Map(pairs) => Json::Array(
            pairs
                .iter()
                .flat_map(|(key, value)| [to_json(key, encoding), to_json(value, encoding)])
                .collect(),
        ),
        Value::Attribute { data, .. } => to_json(data, encoding),
        Value::Double(float) => Number::from_f64(*float)
            .map(Json::Number)
            .unwrap_or_else(|| encoding.string(float.to_string().as_bytes())),
        // RESP2 answers booleans as 1 and 0.
        Value::Boolean(flag) => Json::Number(i64::from(*flag).into()),
        Value::VerbatimString { text, .. } => encoding.string(text.as_bytes()),
        Value::ServerError(error) => encoding.string(error_text(error).as_bytes()),
        // Big numbers (RESP3) and any variant a later redis-rs adds: their text, never a panic.
        other => match redis::from_redis_value_ref::<String>(other) {
            Ok(text) => encoding.string(text.as_bytes()),
            Err(_) => encoding.string(format!("{other:?}").as_bytes()),
        },
    }
}

fn array(items: &[Value], encoding: Encoding) -> Json {
    Json::Array(items.iter().map(|item| to_json(item, encoding)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A server error exactly as the reply parser builds it.
    fn error(line: &str) -> Value {
        redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap()
    }

    #[test]
    fn scalars_map_to_json() {
        assert_eq!(to_json(&Value::Nil, Encoding::Plain), Json::Null);
        assert_eq!(to_json(&Value::Int(-42), Encoding::Plain), json!(-42));
        assert_eq!(
            to_json(&Value::BulkString(b"hello".to_vec()), Encoding::Plain),
            json!("hello")
        );
        assert_eq!(to_json(&Value::Okay, Encoding::Plain), json!("OK"));
        assert_eq!(
            to_json(&Value::SimpleString("PONG".into()), Encoding::Plain),
            json!("PONG")
        );
    }

    #[test]
    fn invalid_utf8_is_lossy_in_plain_mode() {
        assert_eq!(
            to_json(&Value::BulkString(vec![b'a', 0xFF]), Encoding::Plain),
            json!("a\u{FFFD}")
        );
    }

    #[test]
    fn arrays_nest() {
        let value = Value::Array(vec![
            Value::Int(1),
            Value::Nil,
            Value::Array(vec![Value::BulkString(b"x".to_vec())]),
        ]);
        assert_eq!(to_json(&value, Encoding::Plain), json!([1, null, ["x"]]));
    }

    #[test]
    fn base64_encodes_every_string_but_status_ok() {
        let value = Value::Array(vec![
            Value::Okay,
            Value::SimpleString("OK".into()),
            Value::BulkString(b"OK".to_vec()),
            Value::SimpleString("PONG".into()),
            Value::BulkString(vec![0, 255]),
            Value::Int(7),
            Value::Nil,
        ]);
        assert_eq!(
            to_json(&value, Encoding::Base64),
            json!(["OK", "OK", "T0s=", "UE9ORw==", "AP8=", 7, null])
        );
    }

    #[test]
    fn nested_errors_become_their_text() {
        let value = Value::Array(vec![Value::Int(1), error("ERR boom happened")]);
        assert_eq!(
            to_json(&value, Encoding::Plain),
            json!([1, "ERR boom happened"])
        );
    }

    #[test]
    fn error_text_keeps_the_code() {
        let Value::ServerError(err) = error("NOSCRIPT No matching script.") else {
            panic!("not an error");
        };
        assert_eq!(error_text(&err), "NOSCRIPT No matching script.");
    }

    #[test]
    fn resp3_shapes_fall_back_to_resp2() {
        let map = Value::Map(vec![(Value::BulkString(b"k".to_vec()), Value::Int(1))]);
        assert_eq!(to_json(&map, Encoding::Plain), json!(["k", 1]));
        assert_eq!(to_json(&Value::Boolean(true), Encoding::Plain), json!(1));
        assert_eq!(to_json(&Value::Double(1.5), Encoding::Plain), json!(1.5));
        assert_eq!(
            to_json(&Value::Double(f64::INFINITY), Encoding::Plain),
            json!("inf")
        );
    }

    #[test]
    fn encoding_header_is_case_insensitive() {
        assert_eq!(Encoding::from_header(Some(b"BASE64")), Encoding::Base64);
        assert_eq!(Encoding::from_header(Some(b"base64")), Encoding::Base64);
        assert_eq!(Encoding::from_header(Some(b"utf8")), Encoding::Plain);
        assert_eq!(Encoding::from_header(None), Encoding::Plain);
    }
}
