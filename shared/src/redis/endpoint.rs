//! How to reach the Upstash REST endpoint.

use std::time::Duration;

use url::Url;

use crate::env::{ConfigError, Lookup, parsed_or, required};
use crate::secret::Secret;

/// The names the official Upstash clients read, so existing deployments keep their settings.
pub const URL_VAR: &str = "UPSTASH_REDIS_REST_URL";
pub const TOKEN_VAR: &str = "UPSTASH_REDIS_REST_TOKEN";
pub const TIMEOUT_VAR: &str = "REDIS_TIMEOUT_MS";

const DEFAULT_TIMEOUT_MS: u64 = 1000;

#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: Url,
    pub token: Secret,
    /// One deadline for a whole call, retries included.
    pub timeout: Duration,
}

impl RedisConfig {
    pub fn from_env(env: &dyn Lookup) -> Result<RedisConfig, ConfigError> {
        let url = parse_url(&required(env, URL_VAR)?)?;
        let token = Secret::new(required(env, TOKEN_VAR)?);
        let timeout_ms = parsed_or(env, TIMEOUT_VAR, DEFAULT_TIMEOUT_MS)?;
        if timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                name: TIMEOUT_VAR,
                reason: "must be at least 1 millisecond".to_owned(),
            });
        }
        Ok(RedisConfig {
            url,
            token,
            timeout: Duration::from_millis(timeout_ms),
        })
    }
}

fn parse_url(value: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::Invalid {
        name: URL_VAR,
        reason: reason.to_owned(),
    };
    let url = Url::parse(value.trim()).map_err(|_| invalid("not a URL"))?;
    match url.scheme() {
        "http" | "https" if url.has_host() => Ok(url),
        "http" | "https" => Err(invalid("has no host")),
        _ => Err(invalid(
            "must start with https:// (or http:// for upstash-local)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(url: &'static str, timeout: &'static str) -> impl Lookup {
        move |name: &str| match name {
            URL_VAR => Some(url.to_owned()),
            TOKEN_VAR => Some("secret-token".to_owned()),
            TIMEOUT_VAR => Some(timeout.to_owned()),
            _ => None,
        }
    }

    #[test]
    fn reads_url_token_and_deadline() {
        let config = RedisConfig::from_env(&lookup("https://eu1.example.io", "250")).unwrap();
        assert_eq!(config.url.as_str(), "https://eu1.example.io/");
        assert_eq!(config.token.expose(), "secret-token");
        assert_eq!(config.timeout, Duration::from_millis(250));
    }

    #[test]
    fn refuses_unusable_settings_without_echoing_them() {
        for (url, timeout) in [("ftp://x", "1"), ("not a url", "1"), ("http://x", "0")] {
            let error = RedisConfig::from_env(&lookup(url, timeout)).unwrap_err();
            assert!(
                matches!(error, ConfigError::Invalid { .. }),
                "{url} {timeout}"
            );
            assert!(!error.to_string().contains("secret-token"));
        }
        let empty = |_: &str| None;
        assert_eq!(
            RedisConfig::from_env(&empty).unwrap_err(),
            ConfigError::Missing(URL_VAR)
        );
    }
}
