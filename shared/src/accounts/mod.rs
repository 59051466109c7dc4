//! Accounts: register, login, refresh, logout and me, one route per file with its Lua beside
//! it.
//!
//! The Node version limited logins in a `Map` and kept logged-out tokens in a `Set`, so a
//! second instance meant a bypassed limit and a logout that did not hold. Here the limits,
//! the users, the refresh-token families and the denylist are all in Redis, and each route is
//! one Redis request: the limiters, the token guard where there is one, and the route's work
//! in one script. A login that fails (or succeeds after failures) makes a second request to
//! record (or clear) the account's failures, because only then is the outcome known.
//!
//! A user is one hash under the SHA-256 of the normalised email (`keys::account_id`): login
//! and the guard compute its key before the script runs, as key-level locking requires.

mod login;
mod logout;
mod me;
mod password;
mod refresh;
mod register;
mod validation;

use std::sync::Arc;

use http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{Map, Value, json};

use crate::guard::Guard;
use crate::http::{ApiError, success};
use crate::redis::{RedisError, Reply};
use crate::startup::App;
use crate::time::{iso8601, now_seconds};
use crate::tokens::{Family, Subject, Tokens};

pub use login::Login;
pub use logout::Logout;
pub use me::Me;
use password::HashFailed;
pub use refresh::Refresh;
pub use register::Register;

/// Bodies are an email and a password (254 + 128 characters) plus JSON.
const BODY_MAX_BYTES: usize = 4 * 1024;

/// The routes that issue or check tokens, sharing one instance's keys.
pub struct Accounts {
    pub login: Login,
    pub refresh: Refresh,
    pub logout: Logout,
    pub me: Me,
}

impl Accounts {
    pub fn new(app: &App, tokens: Tokens) -> Accounts {
        let tokens = Arc::new(tokens);
        let guard = Guard::new(tokens.clone(), app.keys.clone());
        Accounts {
            login: Login::new(app, tokens.clone()),
            refresh: Refresh::new(app, tokens),
            logout: Logout::new(app, guard.clone()),
            me: Me::new(app, guard),
        }
    }
}

/// What login and refresh answer: a new access token for `subject` and the family's next
/// refresh token, with when each expires.
fn issued(
    tokens: &Tokens,
    subject: &Subject,
    refresh_token: String,
    family: &Family,
) -> Result<Response<Body>, ApiError> {
    let access = tokens.issue(subject, now_seconds()).map_err(|error| {
        tracing::error!(%error, "cannot sign a token");
        ApiError::internal()
    })?;
    let refresh_expires_at = tokens.refresh().expires_at_ms(family);
    let mut fields = Map::new();
    fields.insert("token".to_owned(), json!(access.token));
    fields.insert("tokenType".to_owned(), json!("Bearer"));
    fields.insert(
        "expiresAt".to_owned(),
        json!(iso8601(access.expires_at.saturating_mul(1000))),
    );
    fields.insert("expiresIn".to_owned(), json!(access.expires_in));
    fields.insert("refreshToken".to_owned(), json!(refresh_token));
    fields.insert(
        "refreshExpiresAt".to_owned(),
        json!(iso8601(refresh_expires_at)),
    );
    Ok(success(StatusCode::OK, fields))
}

/// `{"user": {id, email, createdAt}}`: never the password hash or token version.
fn user_fields(id: &str, email: &str, created_at: u64) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(
        "user".to_owned(),
        json!({"id": id, "email": email, "createdAt": iso8601(created_at)}),
    );
    fields
}

/// A stored text field that must be there.
fn text(reply: Reply) -> Result<String, RedisError> {
    reply
        .into_text()?
        .ok_or_else(|| RedisError::Protocol("a stored field is missing".into()))
}

/// A stored number field that must be there.
fn number(reply: Reply) -> Result<u64, RedisError> {
    reply
        .into_parsed()?
        .ok_or_else(|| RedisError::Protocol("a stored field is missing".into()))
}

/// Runs CPU-bound work (argon2) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        tracing::error!(%error, "blocking task failed");
        ApiError::internal()
    })
}

impl From<HashFailed> for ApiError {
    fn from(error: HashFailed) -> ApiError {
        tracing::error!(%error, "cannot hash a password");
        ApiError::internal()
    }
}
