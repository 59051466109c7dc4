//! One error type for everything that can go wrong talking to Redis over REST.
//!
//! Handlers answer each kind differently (`docs/contract.md`, "Failure policy"), so the kinds
//! are kept apart here rather than flattened into strings: an outage is a 503 the client may retry, a refused command is
//! a bug of ours (500), a rejected token is an operator's problem (503 plus a loud log).

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// Redis could not be reached in time: transport failure, timeout or a 5xx answer.
    #[error("redis unavailable: {0}")]
    Unavailable(Unavailable),
    /// The REST endpoint refused our token (HTTP 401). Retrying cannot help.
    #[error("redis REST endpoint rejected the token (401 Unauthorized)")]
    Unauthorized,
    /// Redis ran the request and refused the command.
    #[error("redis refused {0}")]
    Command(CommandError),
    /// The endpoint answered something that is not the Upstash protocol.
    #[error("unexpected reply from redis REST endpoint: {0}")]
    Protocol(String),
}

impl RedisError {
    /// A short name of the kind, for metrics (`RedisErrors` by `ErrorKind`).
    pub fn kind(&self) -> &'static str {
        match self {
            RedisError::Unavailable(Unavailable::Timeout) => "timeout",
            RedisError::Unavailable(Unavailable::Transport(_)) => "transport",
            RedisError::Unavailable(Unavailable::Status(_)) => "server_error",
            RedisError::Unauthorized => "unauthorized",
            RedisError::Command(_) => "command",
            RedisError::Protocol(_) => "protocol",
        }
    }
}

/// Why Redis was unavailable; kept so logs say whether to look at the network or the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// The overall deadline (`REDIS_TIMEOUT_MS`) passed before an answer arrived.
    Timeout,
    /// The connection failed or broke; the text is the transport's, never a header or body.
    Transport(String),
    /// The endpoint answered with this 5xx status.
    Status(u16),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::Timeout => f.write_str("deadline exceeded"),
            Unavailable::Transport(cause) => write!(f, "transport error: {cause}"),
            Unavailable::Status(status) => write!(f, "HTTP {status}"),
        }
    }
}

/// A command Redis refused, with the command's name (never its arguments, which may be
/// secrets or user data) and Redis's own error text (`ERR ...`, `WRONGTYPE ...`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    pub command: String,
    pub message: String,
}

impl CommandError {
    /// Redis answers `NOSCRIPT` when EVALSHA names a script it has not cached.
    pub fn is_noscript(&self) -> bool {
        self.message.starts_with("NOSCRIPT")
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.command, self.message)
    }
}

impl std::error::Error for CommandError {}
