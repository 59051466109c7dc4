//! Why a token was refused. Distinct for tests and logs; callers answer every verification
//! failure with the same 401. No message ever contains the token.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON, a claim of the wrong type, too long, or a header we
    /// must not accept (`crit`, a `typ` other than JWT).
    #[error("token is malformed")]
    Malformed,
    /// `alg` is anything but HS256 (`none`, HS384/HS512, RS256, ES256, ...).
    #[error("token uses an algorithm other than HS256")]
    WrongAlgorithm,
    /// No `kid`, or one naming a key this instance does not hold.
    #[error("token names no key or an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    InvalidSignature,
    #[error("token lacks the required claim {0}")]
    MissingClaim(&'static str),
    #[error("token has the wrong issuer")]
    WrongIssuer,
    #[error("token has the wrong audience")]
    WrongAudience,
    /// `exp` passed more than the leeway ago.
    #[error("token has expired")]
    Expired,
    /// `iat` or `nbf` lies further ahead than the leeway.
    #[error("token is not valid yet")]
    NotYetValid,
    /// Issuing failed (random number generator, serialisation): a server fault, not the
    /// client's.
    #[error("token could not be issued: {0}")]
    Signing(String),
}
