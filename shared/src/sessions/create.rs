//! `POST /signature-session/create` → 201 `{sessionId, expiresAt}`.

use std::sync::LazyLock;
use std::time::Duration;

use http::StatusCode;
use lambda_http::Request;
use serde_json::{Map, json};

use super::{DAILY_COUNTER_TTL, SESSIONS_CREATED, validation};
use crate::blocks::counters::{COUNTERS_LUA, Increment, Shard};
use crate::http::request::json_object;
use crate::http::{ApiError, success};
use crate::ids::random_id;
use crate::keys::Keys;
use crate::route::{Bound, Meter, Outcome, Route, RouteScript, Runner, api_limit, single_value};
use crate::startup::App;
use crate::time::{iso8601, now_ms};

const LUA: &str = include_str!("create.lua");
static SCRIPT: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("session_create", &[COUNTERS_LUA, LUA]));

/// A create body holds one token of at most 512 characters (2 KiB as UTF-8) plus JSON.
const BODY_MAX_BYTES: usize = 4 * 1024;

pub struct CreateSession {
    runner: Runner,
    keys: Keys,
    ttl: Duration,
}

/// What `create.lua` reads, by name.
struct Create<'a> {
    id: &'a str,
    onboarding_token: &'a str,
    created_at: u64,
    expires_at: u64,
    ttl: Duration,
}

impl Create<'_> {
    fn bind(&self, keys: &Keys) -> Bound {
        let bound = Bound::new()
            .key("session", keys.session(self.id))
            .arg("onboarding_token", self.onboarding_token)
            .arg("created_at", self.created_at)
            .arg("expires_at", self.expires_at)
            .arg("session_ttl_seconds", self.ttl.as_secs());
        Increment::new(&SESSIONS_CREATED, Shard::of(self.id))
            .per_day(self.created_at, DAILY_COUNTER_TTL)
            .bind(keys, bound, "created")
    }
}

impl CreateSession {
    pub fn new(app: &App) -> CreateSession {
        CreateSession {
            runner: Runner::new(app),
            keys: app.keys.clone(),
            ttl: app.settings.session_ttl,
        }
    }
}

impl Route for CreateSession {
    async fn handle(&self, request: &Request, meter: &mut Meter) -> Outcome {
        let body = json_object(request, BODY_MAX_BYTES)?;
        let created_at = now_ms();
        let id = random_id()?;
        let create = Create {
            id: &id,
            onboarding_token: validation::onboarding_token(&body)?,
            created_at,
            expires_at: created_at + self.ttl.as_millis() as u64,
            ttl: self.ttl,
        };
        let values = self
            .runner
            .run(
                &SCRIPT,
                &[api_limit(request)],
                create.bind(&self.keys),
                meter,
            )
            .await?;
        // Set-if-absent: a taken id (a 128-bit collision, never seen) is refused, never
        // overwritten.
        if single_value(values)?.as_int()? != 1 {
            tracing::error!("a fresh session id was already taken");
            return Err(ApiError::internal());
        }
        let mut fields = Map::new();
        fields.insert("sessionId".to_owned(), json!(id));
        fields.insert("expiresAt".to_owned(), json!(iso8601(create.expires_at)));
        Ok(success(StatusCode::CREATED, fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::assert_binding;

    #[test]
    fn binds_what_the_lua_reads() {
        let create = Create {
            id: "0123456789abcdef0123456789abcdef",
            onboarding_token: "onb",
            created_at: 1,
            expires_at: 2,
            ttl: Duration::from_secs(900),
        };
        assert_binding(LUA, &create.bind(&Keys::new("p:")));
    }
}
