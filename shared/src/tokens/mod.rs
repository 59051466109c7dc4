//! Access tokens: JWTs signed with HMAC-SHA256 (the contract: `docs/contract.md`, "Tokens").
//!
//! [`Tokens`] is built once per cold start from [`TokenConfig`]; it issues tokens at login and
//! verifies them, entirely in memory, on every protected request. The Redis half of the guard
//! (denylist and token version) lives elsewhere and runs after [`Tokens::verify`] succeeded.
//!
//! Design, and why:
//! - **The algorithm is pinned to HS256.** The token's own `alg` header is attacker-controlled;
//!   honouring it is the classic JWT hole (`none`, or RS256 "verified" with the HMAC secret as
//!   a public key). Anything but `HS256` is refused before any key is touched, and the
//!   library's `Validation` pins HS256 again.
//! - **Keys are chosen by `kid`, among at most two.** Rotation: deploy the new secret as
//!   current and the old one as previous, wait one token lifetime, drop the previous one. A
//!   token naming no key, or a key we do not hold, is refused; keys embedded in the header
//!   (`jwk`, `jku`, `x5u`, ...) are never used.
//! - **Every claim we issue is required.** A token without `iss` or `aud` is refused, not
//!   waved through (jsonwebtoken checks `iss`/`aud` only when present unless told otherwise).
//! - **Time comes from the caller**, with a fixed [`LEEWAY_SECONDS`] for clock skew between
//!   instances, so tests can move it and the checks do not depend on the library's clock.
//!
//! Every verification failure has its own [`TokenError`] for tests and logs; callers answer
//! all of them with the same generic 401.

mod bearer;
mod claims;
mod error;
mod header;
mod jwt;
mod refresh;
mod signing;

#[cfg(test)]
mod tests;

pub use bearer::bearer_token;
pub use claims::{Claims, IssuedToken, Subject};
pub use error::TokenError;
pub use jwt::Tokens;
pub use refresh::{Family, Presented, RefreshTokens, secret_hash};
pub use signing::{SigningKey, TokenConfig};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. A logged-out token's `jti`
/// must stay on the denylist until `exp` + this.
pub const LEEWAY_SECONDS: u64 = 30;

/// The only algorithm issued and accepted.
pub const ALGORITHM: &str = "HS256";

/// Longer than any token we issue by far: bounds the work an anonymous request can cause.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
