//! Signature sessions: a desktop creates one and shows its link as a QR code, a phone submits
//! a drawn signature, the desktop polls until it is completed.
//!
//! The Node version kept these in a process `Map`; here a session is a Redis hash with a TTL,
//! so the instance that polls sees what another instance created and a third completed. Each
//! route is one file with its Lua beside it, and one Redis request: the API-wide limit and the
//! route's work (for create and submit, the write and its sharded counters) in one script.
//! `stats`, behind the authorizer, reads those counters through `blocks::counters`.

mod create;
mod get;
mod stats;
mod submit;
pub(crate) mod validation;

use std::time::Duration;

use lambda_http::Request;

use crate::blocks::counters::Counter;
use crate::http::request::path_parameter;
use crate::http::{ApiError, ErrorCode};
use crate::startup::App;

pub use create::CreateSession;
pub use get::GetSession;
pub use stats::SessionStats;
pub use submit::SubmitSession;

/// Per-day counters are kept for a quarter, long enough for any dashboard to read them.
const DAILY_COUNTER_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// Sessions created and completed: sharded counters (`blocks::counters`) with day buckets,
/// each written in the same script as the operation it counts.
const SESSIONS_CREATED: Counter = Counter::named("sessions:created");
const SESSIONS_COMPLETED: Counter = Counter::named("sessions:completed");

/// The three session routes of one instance.
pub struct Sessions {
    pub create: CreateSession,
    pub get: GetSession,
    pub submit: SubmitSession,
}

impl Sessions {
    pub fn new(app: &App) -> Sessions {
        Sessions {
            create: CreateSession::new(app),
            get: GetSession::new(app),
            submit: SubmitSession::new(app),
        }
    }
}

/// The `{sessionId}` path parameter, checked before any Redis call.
fn session_id(request: &Request) -> Result<String, ApiError> {
    validation::session_id(path_parameter(request, "sessionId").as_deref()).map(str::to_owned)
}

/// Unknown and expired are the same answer: an expired session's key is gone from Redis.
fn not_found() -> ApiError {
    ApiError::new(ErrorCode::SessionNotFound, "Session not found or expired")
}
