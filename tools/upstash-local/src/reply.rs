//! The JSON answers of the REST API: `{"result": ...}`, `{"error": "..."}`, or an array of
//! those for pipelines and transactions.

use axum::http::StatusCode;
use serde_json::{Value as Json, json};

use crate::resp::{Answer, Encoding, to_json};

/// A status and the JSON body that goes with it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Json,
}

impl Reply {
    /// An error answer. Error texts are never base64-encoded: clients read them as text and
    /// recognise them by their first word.
    pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": message.into() }),
        }
    }

    /// 400 with an error text, for requests Redis never saw or commands Redis refused.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::error(StatusCode::BAD_REQUEST, message)
    }

    /// The answer to a single command: 200 with its result, or 400 with its error.
    pub(crate) fn single(answer: &Answer, encoding: Encoding) -> Self {
        match answer {
            Err(text) => Self::bad_request(text.as_str()),
            Ok(value) => Self {
                status: StatusCode::OK,
                body: json!({ "result": to_json(value, encoding) }),
            },
        }
    }

    /// The answer to a pipeline or a committed transaction: 200 with one entry per command,
    /// each a result or an error, whatever the others did.
    pub(crate) fn entries(answers: &[Answer], encoding: Encoding) -> Self {
        let entries = answers
            .iter()
            .map(|answer| match answer {
                Err(text) => json!({ "error": text }),
                Ok(value) => json!({ "result": to_json(value, encoding) }),
            })
            .collect();
        Self {
            status: StatusCode::OK,
            body: Json::Array(entries),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(resp: &str) -> Answer {
        crate::resp::answer(redis::parse_redis_value(resp.as_bytes()).unwrap())
    }

    #[test]
    fn single_results_and_errors() {
        let ok = Reply::single(&parse("$2\r\nhi\r\n"), Encoding::Plain);
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(ok.body, json!({"result": "hi"}));

        let err = Reply::single(
            &parse("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            Encoding::Base64,
        );
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            err.body,
            json!({"error": "WRONGTYPE Operation against a key holding the wrong kind of value"})
        );
    }

    #[test]
    fn entries_mix_results_and_errors() {
        let values = [
            parse("+OK\r\n"),
            parse("-ERR value is not an integer or out of range\r\n"),
            parse("$2\r\nOK\r\n"),
            parse(":3\r\n"),
        ];
        let reply = Reply::entries(&values, Encoding::Base64);
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.body,
            json!([
                {"result": "OK"},
                {"error": "ERR value is not an integer or out of range"},
                {"result": "T0s="},
                {"result": 3}
            ])
        );
    }
}
