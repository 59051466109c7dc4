//! What a server needs to start. Kept apart from the command line so that tests can start a
//! server in-process with a plain struct.

use std::{fmt, net::SocketAddr, time::Duration};

/// Settings of one server.
#[derive(Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (see [`crate::Server::addr`]).
    pub listen: SocketAddr,
    /// Redis to serve, as a `redis://` URL (the database number and password are honoured).
    pub redis_url: String,
    /// The REST token clients must present. Must not be empty.
    pub token: String,
    /// Delay added before every response, to model a remote Redis in benchmarks.
    pub latency: Duration,
}

/// Written by hand so that printing a config (in a log, in a failed test) never shows the
/// token or the Redis password.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("redis_url", &redact_url(&self.redis_url))
            .field("token", &"<redacted>")
            .field("latency", &self.latency)
            .finish()
    }
}

/// The URL with anything between `://` and the last `@` of the authority (user, password)
/// replaced, so it can be shown.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://***@{}{path}", &authority[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            redis_url: "redis://user:hunter2@localhost:6379/1".to_owned(),
            token: "tok-secret".to_owned(),
            latency: Duration::ZERO,
        };
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("tok-secret"), "{text}");
        assert!(text.contains("localhost:6379/1"), "{text}");
    }

    #[test]
    fn urls_without_credentials_are_unchanged() {
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(redact_url("rediss://:p@ss@host/0"), "rediss://***@host/0");
    }
}
