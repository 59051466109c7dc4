//! What a token says, what issuing one returns, and the checks on claims we do ourselves.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::LEEWAY_SECONDS;
use super::error::TokenError;

/// The claims of every token we issue, all required on the way back in.
pub const REQUIRED_CLAIMS: [&str; 9] = [
    "iss", "aud", "sub", "email", "iat", "exp", "jti", "ver", "fam",
];

/// Who a token is issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub user_id: String,
    pub email: String,
    /// The user's current token version; "log out everywhere" increments it, and the guard
    /// refuses tokens carrying an older one.
    pub token_version: u64,
    /// The refresh-token family the token belongs to: a login starts one, every refresh of
    /// it issues tokens of the same family, and revoking it refuses them all.
    pub family: String,
}

/// A verified token's claims. Times are seconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub email: String,
    pub iat: u64,
    pub exp: u64,
    /// Never issued by us; honoured if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// 128-bit random id: the denylist key at logout.
    pub jti: String,
    /// The user's token version when the token was issued.
    pub ver: u64,
    /// The refresh-token family (see [`Subject::family`]).
    pub fam: String,
}

/// A freshly signed token, as login answers it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub jti: String,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
    /// Seconds from issue.
    pub expires_in: u64,
}

impl fmt::Debug for IssuedToken {
    /// The token is a credential: it must not reach a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("jti", &self.jti)
            .field("expires_at", &self.expires_at)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A signature-checked payload before our own checks: every claim optional, so that a missing
/// one is reported by name instead of as a parse failure. `iss` and `aud` stay JSON values so
/// that an array (legal JWT, never issued by us) is a wrong issuer/audience, not garbage.
#[derive(Deserialize)]
pub(super) struct RawClaims {
    iss: Option<Value>,
    aud: Option<Value>,
    sub: Option<String>,
    email: Option<String>,
    iat: Option<u64>,
    exp: Option<u64>,
    nbf: Option<u64>,
    jti: Option<String>,
    ver: Option<u64>,
    fam: Option<String>,
}

/// The values `iss` and `aud` must have.
pub(super) struct Expected<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
}

impl RawClaims {
    /// Presence of every claim (an empty `sub`, `email` or `jti` counts as absent: an empty
    /// `jti` would be one denylist key shared by many tokens), `iss` and `aud` exactly ours,
    /// then time with [`LEEWAY_SECONDS`].
    pub(super) fn check(self, expected: &Expected<'_>, now: u64) -> Result<Claims, TokenError> {
        let claims = Claims {
            iss: string_claim("iss", self.iss)?,
            aud: string_claim("aud", self.aud)?,
            sub: non_empty("sub", self.sub)?,
            email: non_empty("email", self.email)?,
            iat: self.iat.ok_or(TokenError::MissingClaim("iat"))?,
            exp: self.exp.ok_or(TokenError::MissingClaim("exp"))?,
            nbf: self.nbf,
            jti: non_empty("jti", self.jti)?,
            ver: self.ver.ok_or(TokenError::MissingClaim("ver"))?,
            fam: non_empty("fam", self.fam)?,
        };
        if claims.iss != expected.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.aud != expected.audience {
            return Err(TokenError::WrongAudience);
        }
        check_time(&claims, now)?;
        Ok(claims)
    }
}

/// `exp` may have passed by at most the leeway; `iat` and `nbf` may lie ahead by at most the
/// leeway (a token from the future was not issued by a correct clock of ours).
fn check_time(claims: &Claims, now: u64) -> Result<(), TokenError> {
    if now > claims.exp.saturating_add(LEEWAY_SECONDS) {
        return Err(TokenError::Expired);
    }
    let latest_start = now.saturating_add(LEEWAY_SECONDS);
    if claims.iat > latest_start || claims.nbf.is_some_and(|nbf| nbf > latest_start) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

fn non_empty(name: &'static str, value: Option<String>) -> Result<String, TokenError> {
    value
        .filter(|value| !value.is_empty())
        .ok_or(TokenError::MissingClaim(name))
}

fn string_claim(name: &'static str, value: Option<Value>) -> Result<String, TokenError> {
    match value {
        None | Some(Value::Null) => Err(TokenError::MissingClaim(name)),
        Some(Value::String(value)) => Ok(value),
        Some(_) if name == "iss" => Err(TokenError::WrongIssuer),
        Some(_) => Err(TokenError::WrongAudience),
    }
}
