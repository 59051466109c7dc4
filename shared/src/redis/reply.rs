//! Typed replies, decoded from the Upstash JSON body.
//!
//! The client always asks for `Upstash-Encoding: base64`: without it the endpoint has to put
//! Redis's raw bytes into a JSON string, and anything that is not valid UTF-8 is mangled on
//! the way. With it every string arrives base64-encoded, except a plain `OK` status.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::RedisError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Nil,
    Int(i64),
    /// A bulk or status string, exactly the bytes Redis holds.
    Bytes(Vec<u8>),
    Array(Vec<Reply>),
}

impl Reply {
    /// Decodes one `result` of a base64-encoded response.
    pub(crate) fn from_base64_json(value: Value) -> Result<Reply, RedisError> {
        match value {
            Value::Null => Ok(Reply::Nil),
            Value::Number(number) => number
                .as_i64()
                .map(Reply::Int)
                .ok_or_else(|| protocol(format!("non-integer number {number}"))),
            Value::String(text) if text == "OK" => Ok(Reply::Bytes(text.into_bytes())),
            Value::String(text) => STANDARD
                .decode(text.as_bytes())
                .map(Reply::Bytes)
                .map_err(|_| protocol("a string that is not base64".to_owned())),
            Value::Array(items) => items
                .into_iter()
                .map(Reply::from_base64_json)
                .collect::<Result<_, _>>()
                .map(Reply::Array),
            Value::Bool(_) | Value::Object(_) => {
                Err(protocol("a boolean or object as a result".to_owned()))
            }
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Reply::Nil)
    }

    pub fn as_int(&self) -> Result<i64, RedisError> {
        match self {
            Reply::Int(value) => Ok(*value),
            other => Err(other.unexpected("an integer")),
        }
    }

    pub fn into_bytes(self) -> Result<Vec<u8>, RedisError> {
        match self {
            Reply::Bytes(bytes) => Ok(bytes),
            other => Err(other.unexpected("a string")),
        }
    }

    /// A string reply as UTF-8 text; `Nil` becomes `None` so `GET` of a missing key reads well.
    pub fn into_text(self) -> Result<Option<String>, RedisError> {
        match self {
            Reply::Nil => Ok(None),
            Reply::Bytes(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| protocol("a string that is not UTF-8".to_owned())),
            other => Err(other.unexpected("a string or nil")),
        }
    }

    /// A string reply parsed as `T` (Redis stores numbers as text); `Nil` becomes `None`.
    pub fn into_parsed<T: std::str::FromStr>(self) -> Result<Option<T>, RedisError> {
        self.into_text()?
            .map(|text| {
                text.parse()
                    .map_err(|_| protocol("a string that does not parse as expected".to_owned()))
            })
            .transpose()
    }

    pub fn into_array(self) -> Result<Vec<Reply>, RedisError> {
        match self {
            Reply::Array(items) => Ok(items),
            other => Err(other.unexpected("an array")),
        }
    }

    /// Errors name the kind of reply, never its content, which may be user data.
    fn unexpected(&self, expected: &str) -> RedisError {
        let found = match self {
            Reply::Nil => "nil",
            Reply::Int(_) => "an integer",
            Reply::Bytes(_) => "a string",
            Reply::Array(_) => "an array",
        };
        protocol(format!("expected {expected}, got {found}"))
    }
}

fn protocol(message: String) -> RedisError {
    RedisError::Protocol(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_base64_strings_nested_in_arrays() {
        let reply = Reply::from_base64_json(json!(["AAH/", 3, null, ["aGk="]])).unwrap();
        assert_eq!(
            reply,
            Reply::Array(vec![
                Reply::Bytes(vec![0, 1, 255]),
                Reply::Int(3),
                Reply::Nil,
                Reply::Array(vec![Reply::Bytes(b"hi".to_vec())]),
            ])
        );
    }

    #[test]
    fn plain_ok_stays_ok_and_encoded_ok_decodes_to_ok() {
        for body in [json!("OK"), json!("T0s=")] {
            let reply = Reply::from_base64_json(body).unwrap();
            assert_eq!(reply.into_text().unwrap().as_deref(), Some("OK"));
        }
    }

    #[test]
    fn rejects_what_the_protocol_never_sends() {
        for body in [
            json!("not base64!"),
            json!(1.5),
            json!(true),
            json!({"a": 1}),
        ] {
            assert!(matches!(
                Reply::from_base64_json(body),
                Err(RedisError::Protocol(_))
            ));
        }
    }

    #[test]
    fn accessors_report_the_kind_they_found() {
        let error = Reply::Nil.as_int().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unexpected reply from redis REST endpoint: expected an integer, got nil"
        );
        assert_eq!(Reply::Nil.into_text().unwrap(), None);
        assert_eq!(
            Reply::Bytes(b"42".to_vec()).into_parsed::<u64>().unwrap(),
            Some(42)
        );
        assert_eq!(Reply::Nil.into_parsed::<u64>().unwrap(), None);
        assert!(Reply::Bytes(b"x".to_vec()).into_parsed::<u64>().is_err());
    }
}
