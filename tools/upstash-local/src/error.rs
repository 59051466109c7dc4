//! Why the server could not start. Request-time failures are answers, not errors: they are
//! rendered as JSON by the HTTP layer and never surface here.

/// A failure of [`crate::Server::start`]. No variant's text contains the REST token or the
/// Redis password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The REST token is empty: every request would be refused, or worse, accepted.
    #[error("the REST token must not be empty")]
    EmptyToken,
    /// The Redis URL could not be understood.
    #[error("invalid Redis URL: {0}")]
    InvalidRedisUrl(String),
    /// Redis did not answer a PING at start-up.
    #[error("Redis is unavailable: {0}")]
    RedisUnavailable(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
}
