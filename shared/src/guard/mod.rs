//! The token guard, shared by the protected routes and the authorizer.
//!
//! Half of it runs in memory ([`Guard::verify`]: signature, algorithm, claims, time); the
//! other half, whether the token was logged out, needs the shared state. That half is
//! `live.lua`, composed into each protected route's script ([`GUARD_LUA`]), so a route pays
//! for it inside its one request. A token is refused whenever either half cannot say yes.

mod authorizer;

use std::sync::Arc;

use http::HeaderMap;

pub use authorizer::{Authorizer, Verdict};

use crate::http::{ApiError, ErrorCode};
use crate::keys::{Keys, account_id};
use crate::route::Bound;
use crate::time::now_seconds;
use crate::tokens::{Claims, Family, LEEWAY_SECONDS, Tokens, bearer_token};

/// `guard_live(denied_token, user, family, user_id, token_version, fields...)`, for a route
/// script to compose before its own Lua.
pub const GUARD_LUA: &str = include_str!("live.lua");

#[derive(Clone)]
pub struct Guard {
    tokens: Arc<Tokens>,
    keys: Keys,
}

impl Guard {
    pub fn new(tokens: Arc<Tokens>, keys: Keys) -> Guard {
        Guard { tokens, keys }
    }

    /// The bearer token's claims, checked in memory; every failure is the same 401.
    pub fn verify(&self, headers: &HeaderMap) -> Result<Claims, ApiError> {
        let token = bearer_token(headers).ok_or_else(unauthorized)?;
        self.tokens
            .verify(token, now_seconds())
            .inspect_err(|reason| tracing::info!(%reason, "bearer token refused"))
            .map_err(|_| unauthorized())
    }

    /// The guard's keys and arguments, first in a guarded route's binding: the token's
    /// denylist entry, its user's hash and its refresh-token family, then the user id and
    /// token version it claims.
    pub fn bind(&self, claims: &Claims) -> Bound {
        let account = account_id(&claims.email);
        Bound::new()
            .key("denied_token", self.keys.denied_token(&claims.jti))
            .key("user", self.keys.user(&account))
            .key("family", self.keys.family(&account, &claims.fam))
            .arg("user_id", claims.sub.as_str())
            .arg("token_version", claims.ver)
    }

    /// Until when a logged-out token must stay on the denylist: after that it cannot verify.
    pub fn denylist_until(claims: &Claims) -> u64 {
        claims.exp.saturating_add(LEEWAY_SECONDS)
    }

    /// Until when (epoch s) the token's family must stay revoked: after that it has ended
    /// anyway. A family id we cannot read (never issued by us) is held as long as the token.
    pub fn family_ends_at(&self, claims: &Claims) -> u64 {
        let refresh = self.tokens.refresh();
        Family::parse(&claims.fam)
            .map(|family| refresh.expires_at_ms(&family).div_ceil(1000))
            .unwrap_or_else(|| Guard::denylist_until(claims))
    }
}

/// 401 `invalid_token`: one answer whether the token is missing, forged, expired or revoked.
pub fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::InvalidToken, "A valid bearer token is required")
}

/// A guard and claims to check route bindings with.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::env::Pairs;
    use crate::tokens::TokenConfig;

    pub(crate) fn guard() -> Guard {
        let env = Pairs::new(&[("JWT_SECRET", "a-test-secret-of-at-least-32-bytes-long")]);
        let tokens = Tokens::new(TokenConfig::from_env(&env).unwrap());
        Guard::new(Arc::new(tokens), Keys::new("p:"))
    }

    pub(crate) fn claims() -> Claims {
        Claims {
            iss: "i".into(),
            aud: "a".into(),
            sub: "user-id".into(),
            email: "ann@example.com".into(),
            iat: 1,
            exp: 2,
            nbf: None,
            jti: "jti".into(),
            ver: 0,
            fam: "0000000003e8aa".into(),
        }
    }
}
