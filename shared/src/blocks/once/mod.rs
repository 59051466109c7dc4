//! One-time tokens: a value stored with a TTL under a random token, which can be taken at most
//! once (a call token, a password-reset link, a download grant); the second take, on any
//! instance, sees nothing. The Node services kept these in a `Map` and deleted them after use,
//! which two instances could both read before either deleted.
//!
//! A token is 128 random bits as 32 lowercase hex characters. Its key is
//! `once:{kind}:{SHA-256 of the token}`, so no key spells a token that would still work; a
//! take is one `GETDEL`, which exactly one of any number of concurrent takes wins.

use std::sync::LazyLock;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};

use super::run_one;
use crate::http::ApiError;
use crate::http::request::invalid_field;
use crate::ids::{hex, random_id};
use crate::keys::Keys;
use crate::ratelimit::Limit;
use crate::redis::{RedisError, Reply};
use crate::route::{Bound, Meter, RouteScript, Runner};
use crate::startup::App;

/// `once_put`, `once_take` and `once_peek`, for a route script to compose before its own Lua.
pub const ONCE_LUA: &str = include_str!("once.lua");

const PUT_LUA: &str = include_str!("put.lua");
const TAKE_LUA: &str = include_str!("take.lua");
const PEEK_LUA: &str = include_str!("peek.lua");

static PUT: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("once_put", &[ONCE_LUA, PUT_LUA]));
static TAKE: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("once_take", &[ONCE_LUA, TAKE_LUA]));
static PEEK: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("once_peek", &[ONCE_LUA, PEEK_LUA]));

/// A one-time token as clients hold it.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeToken(String);

impl OneTimeToken {
    /// A fresh token: 128 bits from the CSPRNG.
    pub fn generate() -> Result<OneTimeToken, ApiError> {
        Ok(OneTimeToken(random_id()?))
    }

    /// A token a client sent in `field`: 400 `invalid_field` naming it unless it is 32
    /// lowercase hex characters, before any Redis call.
    pub fn parse(field: &str, raw: &str) -> Result<OneTimeToken, ApiError> {
        if raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(OneTimeToken(raw.to_owned()))
        } else {
            Err(invalid_field(
                field,
                format!("{field} must be 32 lowercase hexadecimal characters"),
            ))
        }
    }

    /// The token, to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never the token itself: it is a credential.
impl std::fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeToken(..)")
    }
}

/// A value found by [`OneTime::peek`], and how long it has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    pub value: String,
    pub expires_in: Duration,
}

/// One kind of one-time token (`call`, `reset`, ...): its keys, and the bindings of a route
/// that composes [`ONCE_LUA`] into its own script.
#[derive(Debug, Clone)]
pub struct OneTimeKind {
    keys: Keys,
    kind: &'static str,
}

impl OneTimeKind {
    pub fn new(keys: &Keys, kind: &'static str) -> OneTimeKind {
        OneTimeKind {
            keys: keys.clone(),
            kind,
        }
    }

    /// Adds a put to a route's binding: key `{name}`, arguments `{name}_value` and
    /// `{name}_ttl_ms` (at least 1), for the route's Lua to pass to `once_put`.
    pub fn bind_put(
        &self,
        bound: Bound,
        name: &str,
        token: &OneTimeToken,
        value: &str,
        ttl: Duration,
    ) -> Bound {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.bind_token(bound, name, token)
            .arg(format!("{name}_value"), value)
            .arg(format!("{name}_ttl_ms"), ttl_ms)
    }

    /// Adds the token's key to a route's binding as `{name}`, for the route's Lua to pass to
    /// `once_take` or `once_peek`.
    pub fn bind_token(&self, bound: Bound, name: &str, token: &OneTimeToken) -> Bound {
        let digest = hex(digest(&SHA256, token.0.as_bytes()).as_ref());
        bound.key(name.to_owned(), self.keys.one_time(self.kind, &digest))
    }
}

/// The one-time token operations of one kind, each one request with the route's limits.
#[derive(Clone)]
pub struct OneTime {
    runner: Runner,
    kind: OneTimeKind,
}

impl OneTime {
    pub fn new(app: &App, kind: &'static str) -> OneTime {
        OneTime {
            runner: Runner::new(app),
            kind: OneTimeKind::new(&app.keys, kind),
        }
    }

    /// Keeps `value` for `ttl` under a fresh token, which it answers.
    pub async fn issue(
        &self,
        value: &str,
        ttl: Duration,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<OneTimeToken, ApiError> {
        let token = OneTimeToken::generate()?;
        let bound = self.kind.bind_put(Bound::new(), "once", &token, value, ttl);
        let reply = run_one(&self.runner, &PUT, limits, bound, meter).await?;
        // Set-if-absent: a token in use (a 128-bit collision, never seen) is never replaced.
        if reply.as_int()? != 1 {
            tracing::error!("a fresh one-time token was already in use");
            return Err(ApiError::internal());
        }
        Ok(token)
    }

    /// The token's value, removed: `None` once taken (here or on any instance) or expired.
    pub async fn take(
        &self,
        token: &OneTimeToken,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<Option<String>, ApiError> {
        let bound = self.kind.bind_token(Bound::new(), "once", token);
        let reply = run_one(&self.runner, &TAKE, limits, bound, meter).await?;
        Ok(reply.into_text()?)
    }

    /// The token's value and time left, taking nothing: `None` when there is none.
    pub async fn peek(
        &self,
        token: &OneTimeToken,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<Option<Peeked>, ApiError> {
        let bound = self.kind.bind_token(Bound::new(), "once", token);
        let reply = run_one(&self.runner, &PEEK, limits, bound, meter).await?;
        Ok(peeked(reply)?)
    }
}

/// What `once_peek` answered.
pub fn peeked(reply: Reply) -> Result<Option<Peeked>, RedisError> {
    if reply.is_nil() {
        return Ok(None);
    }
    let [value, left]: [Reply; 2] = reply.into_array()?.try_into().map_err(|_| {
        RedisError::Protocol("once_peek answered the wrong number of values".into())
    })?;
    let Some(value) = value.into_text()? else {
        return Ok(None);
    };
    Ok(Some(Peeked {
        value,
        expires_in: Duration::from_millis(left.as_int()?.max(0) as u64),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::route::assert_binding;

    fn token() -> OneTimeToken {
        OneTimeToken::parse("token", "0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn every_operation_binds_what_its_lua_reads() {
        let kind = OneTimeKind::new(&Keys::new("p:"), "call");
        let put = kind.bind_put(Bound::new(), "once", &token(), "v", Duration::ZERO);
        assert_binding(PUT_LUA, &put);
        assert!(
            format!("{put:?}").contains("Int(1)"),
            "a TTL of at least 1 ms"
        );
        let bound = kind.bind_token(Bound::new(), "once", &token());
        assert_binding(TAKE_LUA, &bound);
        assert_binding(PEEK_LUA, &bound);
    }

    #[test]
    fn keys_hold_a_digest_of_the_token_never_the_token() {
        let kind = OneTimeKind::new(&Keys::new("p:"), "call");
        let bound = format!("{:?}", kind.bind_token(Bound::new(), "once", &token()));
        assert!(bound.contains("p:once:call:"), "{bound}");
        assert!(!bound.contains(token().as_str()), "{bound}");
        assert_eq!(format!("{:?}", token()), "OneTimeToken(..)");
    }

    #[test]
    fn tokens_are_32_lowercase_hex_and_anything_else_is_a_400_naming_the_field() {
        let fresh = OneTimeToken::generate().unwrap();
        assert!(OneTimeToken::parse("t", fresh.as_str()).is_ok());
        assert_ne!(fresh, OneTimeToken::generate().unwrap());
        for bad in [
            "",
            "0123",
            "0123456789ABCDEF0123456789ABCDEF",
            &"g".repeat(32),
        ] {
            let error = OneTimeToken::parse("callToken", bad).unwrap_err();
            assert_eq!(error.status().as_u16(), 400, "{bad}");
            assert_eq!(error.extra["field"], serde_json::json!("callToken"));
        }
    }

    #[test]
    fn peeks_read_a_value_and_its_time_left_or_nothing() {
        let found = Reply::Array(vec![Reply::Bytes(b"v".to_vec()), Reply::Int(1500)]);
        assert_eq!(
            peeked(found).unwrap(),
            Some(Peeked {
                value: "v".into(),
                expires_in: Duration::from_millis(1500)
            })
        );
        assert_eq!(peeked(Reply::Nil).unwrap(), None);
        assert!(peeked(Reply::Array(vec![Reply::Int(1)])).is_err());
    }
}
