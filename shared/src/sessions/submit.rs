//! `POST /signature-session/{sessionId}/submit` → 200 `{message}`, exactly once per session.

use std::sync::LazyLock;

use http::StatusCode;
use lambda_http::Request;
use serde_json::{Map, json};

use super::{DAILY_COUNTER_TTL, SESSIONS_COMPLETED, not_found, session_id, validation};
use crate::blocks::counters::{COUNTERS_LUA, Increment, Shard};
use crate::http::request::json_object;
use crate::http::{ApiError, ErrorCode, success};
use crate::keys::Keys;
use crate::redis::RedisError;
use crate::route::{Bound, Meter, Outcome, Route, RouteScript, Runner, api_limit, single_value};
use crate::startup::App;
use crate::time::now_ms;

const LUA: &str = include_str!("submit.lua");
static SCRIPT: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("session_submit", &[COUNTERS_LUA, LUA]));

/// Room for the JSON around `signatureData`, so the field's own limit decides: 1 KiB for the
/// rest of the object, and 1/32 of the field for escapes, since JSON encoders that write `/`
/// as `\/` (PHP's, by default) lengthen base64 by about 1/64.
const BODY_OVERHEAD_BYTES: usize = 1024;
const BODY_ESCAPE_SHARE: usize = 32;

pub struct SubmitSession {
    runner: Runner,
    keys: Keys,
    signature_max_bytes: usize,
}

/// What `submit.lua` reads, by name.
struct Submit<'a> {
    id: &'a str,
    signature_data: &'a str,
    completed_at: u64,
}

impl Submit<'_> {
    fn bind(&self, keys: &Keys) -> Bound {
        let bound = Bound::new()
            .key("session", keys.session(self.id))
            .arg("signature_data", self.signature_data)
            .arg("completed_at", self.completed_at);
        Increment::new(&SESSIONS_COMPLETED, Shard::of(self.id))
            .per_day(self.completed_at, DAILY_COUNTER_TTL)
            .bind(keys, bound, "completed")
    }
}

impl SubmitSession {
    pub fn new(app: &App) -> SubmitSession {
        SubmitSession {
            runner: Runner::new(app),
            keys: app.keys.clone(),
            signature_max_bytes: app.settings.signature_max_bytes,
        }
    }
}

impl Route for SubmitSession {
    async fn handle(&self, request: &Request, meter: &mut Meter) -> Outcome {
        let id = session_id(request)?;
        let body = json_object(
            request,
            self.signature_max_bytes
                + self.signature_max_bytes / BODY_ESCAPE_SHARE
                + BODY_OVERHEAD_BYTES,
        )?;
        let submit = Submit {
            id: &id,
            signature_data: validation::signature_data(&body, self.signature_max_bytes)?,
            completed_at: now_ms(),
        };
        let values = self
            .runner
            .run(
                &SCRIPT,
                &[api_limit(request)],
                submit.bind(&self.keys),
                meter,
            )
            .await?;
        match single_value(values)?.as_int()? {
            1 => {
                let mut fields = Map::new();
                fields.insert("message".to_owned(), json!("Signature submitted"));
                Ok(success(StatusCode::OK, fields))
            }
            0 => Err(not_found()),
            -1 => Err(ApiError::new(
                ErrorCode::AlreadySubmitted,
                "A signature was already submitted for this session",
            )),
            other => Err(RedisError::Protocol(format!("session_submit answered {other}")).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::assert_binding;

    #[test]
    fn binds_what_the_lua_reads() {
        let submit = Submit {
            id: "0123456789abcdef0123456789abcdef",
            signature_data: "data:image/png;base64,",
            completed_at: 1,
        };
        assert_binding(LUA, &submit.bind(&Keys::new("p:")));
    }
}
