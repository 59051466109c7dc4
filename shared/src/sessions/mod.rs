//! Signature sessions: a desktop creates one and shows its link as a QR code, a phone submits
//! a drawn signature, the desktop polls until it is completed.
//!
//! The Node version kept these in a process `Map`; here a session is a Redis hash with a TTL,
//! so the instance that polls sees what another instance created and a third completed. Each
//! request is one Redis round trip: one Lua script per route holding the API-wide rate limit
//! and the route's work (for create and submit, the write and its counters together).

mod validation;

use std::sync::LazyLock;
use std::time::Duration;

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

use crate::http::{ApiError, success};
use crate::ids::random_id;
use crate::keys::{Keys, SessionEvent};
use crate::ratelimit::{Limit, Meter, RateLimiter, RouteScript, route_script, route_value};
use crate::redis::{RedisClient, RedisError, Reply, ScriptCall};
use crate::request::{json_object, path_parameter};
use crate::startup::App;
use crate::time::{iso8601, now_ms, utc_day};

static CREATE: LazyLock<RouteScript> =
    LazyLock::new(|| route_script!("session_create", include_str!("create.lua")));
static GET: LazyLock<RouteScript> =
    LazyLock::new(|| route_script!("session_get", include_str!("get.lua")));
static SUBMIT: LazyLock<RouteScript> =
    LazyLock::new(|| route_script!("session_submit", include_str!("submit.lua")));

/// A create body holds one token of at most 512 characters (2 KiB as UTF-8) plus JSON.
const CREATE_BODY_MAX_BYTES: usize = 4 * 1024;
/// Room for the JSON around `signatureData`, so the field's own limit decides: 1 KiB for the
/// rest of the object, and 1/32 of the field for escapes, since JSON encoders that write `/`
/// as `\/` (PHP's, by default) lengthen base64 by about 1/64.
const SUBMIT_BODY_OVERHEAD_BYTES: usize = 1024;
const SUBMIT_BODY_ESCAPE_SHARE: usize = 32;
/// Per-day counters are kept for a quarter, long enough for any dashboard to read them.
const DAILY_COUNTER_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
/// The hash fields a poll reads; never `onboarding_token`, which stays server-side.
const POLL_FIELDS: [&str; 5] = [
    "created_at",
    "expires_at",
    "completed",
    "completed_at",
    "signature_data",
];

pub struct Sessions {
    redis: RedisClient,
    limiter: RateLimiter,
    keys: Keys,
    ttl: Duration,
    signature_max_bytes: usize,
}

impl Sessions {
    pub fn new(app: &App) -> Sessions {
        Sessions {
            redis: app.redis.clone(),
            limiter: app.limiter.clone(),
            keys: app.keys.clone(),
            ttl: app.settings.session_ttl,
            signature_max_bytes: app.settings.signature_max_bytes,
        }
    }

    /// `POST /signature-session/create` → 201 `{sessionId, expiresAt}`.
    pub async fn create(&self, request: Request) -> Response<Body> {
        Meter::metered(async |meter| self.try_create(&request, meter).await).await
    }

    /// `GET /signature-session/{sessionId}` → 200 `{session}`.
    pub async fn get(&self, request: Request) -> Response<Body> {
        Meter::metered(async |meter| self.try_get(&request, meter).await).await
    }

    /// `POST /signature-session/{sessionId}/submit` → 200 `{message}`.
    pub async fn submit(&self, request: Request) -> Response<Body> {
        Meter::metered(async |meter| self.try_submit(&request, meter).await).await
    }

    async fn try_create(
        &self,
        request: &Request,
        meter: &mut Meter,
    ) -> Result<Response<Body>, ApiError> {
        let body = json_object(request, CREATE_BODY_MAX_BYTES)?;
        let onboarding_token = validation::onboarding_token(&body)?;
        let created_at = now_ms();
        let expires_at = created_at + self.ttl.as_millis() as u64;
        let day = utc_day(created_at);
        let id = random_id()?;
        let route = |call: ScriptCall<'static>| {
            call.key(self.keys.session(&id))
                .key(self.keys.session_total(SessionEvent::Created))
                .key(self.keys.session_daily(SessionEvent::Created, &day))
                .arg(onboarding_token)
                .arg(created_at)
                .arg(expires_at)
                .arg(self.ttl.as_secs())
                .arg(DAILY_COUNTER_TTL.as_secs())
        };
        let values = self
            .limiter
            .run(&self.redis, &CREATE, &[Limit::api(request)], route, meter)
            .await?;
        // Set-if-absent: a taken id (a 128-bit collision, never seen) is refused, never
        // overwritten.
        if route_value(values)?.as_int()? != 1 {
            tracing::error!("a fresh session id was already taken");
            return Err(ApiError::internal());
        }
        let mut fields = Map::new();
        fields.insert("sessionId".to_owned(), json!(id));
        fields.insert("expiresAt".to_owned(), json!(iso8601(expires_at)));
        Ok(success(StatusCode::CREATED, fields))
    }

    async fn try_get(
        &self,
        request: &Request,
        meter: &mut Meter,
    ) -> Result<Response<Body>, ApiError> {
        let id = &session_id(request)?;
        let route = |call: ScriptCall<'static>| call.key(self.keys.session(id)).args(POLL_FIELDS);
        let values = self
            .limiter
            .run(&self.redis, &GET, &[Limit::api(request)], route, meter)
            .await?;
        let session = poll_view(id, route_value(values)?)?.ok_or_else(not_found)?;
        let mut fields = Map::new();
        fields.insert("session".to_owned(), session);
        Ok(success(StatusCode::OK, fields))
    }

    async fn try_submit(
        &self,
        request: &Request,
        meter: &mut Meter,
    ) -> Result<Response<Body>, ApiError> {
        let id = &session_id(request)?;
        let body = json_object(
            request,
            self.signature_max_bytes
                + self.signature_max_bytes / SUBMIT_BODY_ESCAPE_SHARE
                + SUBMIT_BODY_OVERHEAD_BYTES,
        )?;
        let signature = validation::signature_data(&body, self.signature_max_bytes)?;
        let completed_at = now_ms();
        let day = utc_day(completed_at);
        let route = |call: ScriptCall<'static>| {
            call.key(self.keys.session(id))
                .key(self.keys.session_total(SessionEvent::Completed))
                .key(self.keys.session_daily(SessionEvent::Completed, &day))
                .arg(signature)
                .arg(completed_at)
                .arg(DAILY_COUNTER_TTL.as_secs())
        };
        let values = self
            .limiter
            .run(&self.redis, &SUBMIT, &[Limit::api(request)], route, meter)
            .await?;
        match route_value(values)?.as_int()? {
            1 => {
                let mut fields = Map::new();
                fields.insert("message".to_owned(), json!("Signature submitted"));
                Ok(success(StatusCode::OK, fields))
            }
            0 => Err(not_found()),
            -1 => Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_submitted",
                "A signature was already submitted for this session",
            )),
            other => Err(RedisError::Protocol(format!("session_submit answered {other}")).into()),
        }
    }
}

/// The `{sessionId}` path parameter, checked before any Redis call.
fn session_id(request: &Request) -> Result<String, ApiError> {
    validation::session_id(path_parameter(request, "sessionId").as_deref()).map(str::to_owned)
}

/// Unknown and expired are the same answer: an expired session's key is gone from Redis.
fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "session_not_found",
        "Session not found or expired",
    )
}

/// The session as a poll shows it, from the HMGET of [`POLL_FIELDS`]; `None` when missing.
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
