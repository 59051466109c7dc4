//! `GET /signature-session/{sessionId}` → 200 `{session}`.
//!
//! Polls of a live session spend from its own poll budget (`session-poll`, per session id), not
//! from the client's API allowance, which a desktop polling once a second would spend in under
//! two minutes; polls of unknown or expired ids still spend from the client's (`docs/contract.md`,
//! "Rate limits"). `get.lua` tells which applies from the session it reads, in the same script.

use std::sync::LazyLock;

use http::StatusCode;
use lambda_http::Request;
use serde_json::{Map, Value, json};

use super::{not_found, session_id};
use crate::http::success;
use crate::keys::Keys;
use crate::ratelimit::{Limit, Limiter};
use crate::redis::{RedisError, Reply};
use crate::route::{Bound, Meter, Outcome, Route, RouteScript, Runner, api_limit, single_value};
use crate::startup::App;
use crate::time::iso8601;

const LUA: &str = include_str!("get.lua");
static SCRIPT: LazyLock<RouteScript> = LazyLock::new(|| RouteScript::new("session_get", &[LUA]));

pub struct GetSession {
    runner: Runner,
    keys: Keys,
}

impl GetSession {
    pub fn new(app: &App) -> GetSession {
        GetSession {
            runner: Runner::new(app),
            keys: app.keys.clone(),
        }
    }
}

/// What `get.lua` reads, by name.
fn bind(keys: &Keys, id: &str) -> Bound {
    Bound::new().key("session", keys.session(id))
}

/// The fact `get.lua` states: the session exists.
const LIVE: &str = "live";

/// The session's poll budget while it lives; the client's API allowance otherwise.
fn limits(request: &Request, id: &str) -> [Limit; 2] {
    [
        Limit::consume(Limiter::SessionPoll, id).when(LIVE),
        api_limit(request).unless(LIVE),
    ]
}

impl Route for GetSession {
    async fn handle(&self, request: &Request, meter: &mut Meter) -> Outcome {
        let id = session_id(request)?;
        let values = self
            .runner
            .run(&SCRIPT, &limits(request, &id), bind(&self.keys, &id), meter)
            .await?;
        let session = poll_view(&id, single_value(values)?)?.ok_or_else(not_found)?;
        let mut fields = Map::new();
        fields.insert("session".to_owned(), session);
        Ok(success(StatusCode::OK, fields))
    }
}

/// The session as a poll shows it, from `get.lua`'s fields; `None` when missing.
fn poll_view(id: &str, reply: Reply) -> Result<Option<Value>, RedisError> {
    let [
        created_at,
        expires_at,
        completed,
        completed_at,
        signature_data,
    ]: [Reply; 5] = reply
        .into_array()?
        .try_into()
        .map_err(|_| RedisError::Protocol("HMGET answered the wrong number of fields".into()))?;
    let Some(created_at) = created_at.into_parsed::<u64>()? else {
        return Ok(None);
    };
    let expires_at = expires_at.into_parsed::<u64>()?.unwrap_or(created_at);
    let completed = completed.into_text()?.as_deref() == Some("1");
    let mut session = json!({
        "id": id,
        "completed": completed,
        "createdAt": iso8601(created_at),
        "expiresAt": iso8601(expires_at),
    });
    if completed {
        if let Some(completed_at) = completed_at.into_parsed::<u64>()? {
            session["completedAt"] = json!(iso8601(completed_at));
        }
        if let Some(signature_data) = signature_data.into_text()? {
            session["signatureData"] = json!(signature_data);
        }
    }
    Ok(Some(session))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::assert_binding;

    #[test]
    fn binds_what_the_lua_reads() {
        assert_binding(LUA, &bind(&Keys::new("p:"), "ab"));
    }
}
