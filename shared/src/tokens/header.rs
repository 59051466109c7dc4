//! The JOSE header, read before the signature is checked: it picks the key.
//!
//! Nothing here is trusted yet, so it decides only what can be refused early: the shape, the
//! algorithm (pinned, whatever the header claims) and the `kid` (a key we hold, or nothing).
//! jsonwebtoken cannot even represent `alg: none`, so it would report that as a JSON error;
//! reading the header ourselves lets such a token be called what it is, an algorithm attack.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use super::error::TokenError;
use super::{ALGORITHM, MAX_TOKEN_BYTES};

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// The `kid` of a compact JWS whose header names HS256. Shape first (exactly three parts,
/// bounded length, header base64url JSON), then `crit` (RFC 7515 §4.1.11: extensions we do not
/// understand must be refused; we understand none) and `typ` (JWT when present), then `alg`,
/// then `kid` presence. The kid is not looked up here.
pub(super) fn hs256_key_id(token: &str) -> Result<String, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    let header: JoseHeader = serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
    if header.crit.is_some()
        || header
            .typ
            .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
    {
        return Err(TokenError::Malformed);
    }
    if header.alg != ALGORITHM {
        return Err(TokenError::WrongAlgorithm);
    }
    header.kid.ok_or(TokenError::UnknownKey)
}
