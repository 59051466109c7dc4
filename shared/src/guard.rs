//! The token guard shared by the protected routes and the authorizer.
//!
//! Half of it runs in memory ([`Guard::verify`]: signature, algorithm, claims, time); the
//! other half, whether the token was logged out, needs the shared state. That half is
//! `accounts/guard.lua`, composed into each protected route's script, so a route pays for it
//! inside its one round trip. A token is refused whenever either half cannot say yes.

use std::sync::Arc;

use http::{HeaderMap, StatusCode};

use crate::http::ApiError;
use crate::keys::Keys;
use crate::redis::ScriptCall;
use crate::time::now_ms;
use crate::tokens::{Claims, LEEWAY_SECONDS, Tokens, bearer_token};

#[derive(Clone)]
pub struct Guard {
    tokens: Arc<Tokens>,
    keys: Keys,
}

impl Guard {
    pub fn new(tokens: Tokens, keys: Keys) -> Guard {
        Guard {
            tokens: Arc::new(tokens),
            keys,
        }
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The bearer token's claims, checked in memory; every failure is the same 401.
    pub fn verify(&self, headers: &HeaderMap) -> Result<Claims, ApiError> {
        let token = bearer_token(headers).ok_or_else(unauthorized)?;
        self.tokens
            .verify(token, now_seconds())
            .inspect_err(|reason| tracing::info!(%reason, "bearer token refused"))
            .map_err(|_| unauthorized())
    }

    /// The guard's part of a route script call: `deny:{jti}` and `user:{sub}` as the route's
    /// first keys, the token's version as its first argument (see `guard_live`).
    pub fn route<'s>(&self, call: ScriptCall<'s>, claims: &Claims) -> ScriptCall<'s> {
        call.key(self.keys.denied_token(&claims.jti))
            .key(self.keys.user(&claims.sub))
            .arg(claims.ver)
    }

    /// Until when a logged-out token must stay on the denylist: after that it cannot verify.
    pub fn denylist_until(claims: &Claims) -> u64 {
        claims.exp.saturating_add(LEEWAY_SECONDS)
    }
}

/// 401 `invalid_token`: one answer whether the token is missing, forged, expired or revoked.
pub fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "A valid bearer token is required",
    )
}

pub fn now_seconds() -> u64 {
    now_ms() / 1000
}
