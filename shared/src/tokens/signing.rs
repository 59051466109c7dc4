//! Token settings (`docs/contract.md`, "Configuration"). By the time this runs, `*_PARAM`
//! settings have been resolved from SSM into the lookup, so a secret is one more setting here.

use crate::env::{ConfigError, Lookup, bounded, parsed_or, required};
use crate::secret::Secret;

/// HMAC-SHA256 keys shorter than the hash add no strength and are guessable offline from any
/// one token, so shorter secrets stop the cold start (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// One HMAC key and the `kid` that names it in token headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Secret,
}

/// Everything [`super::Tokens`] needs, read once per cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    /// Signs every new token; verifies tokens naming its `kid`.
    pub current: SigningKey,
    /// Verifies (never signs) tokens issued before a rotation, until they have expired.
    pub previous: Option<SigningKey>,
    pub issuer: String,
    pub audience: String,
    pub ttl_seconds: u64,
    /// How long a refresh-token family lives from its login, whatever its rotations.
    pub refresh_ttl_seconds: u64,
    /// How long after a rotation the rotated token still gets the same successor (a client
    /// retrying a refresh whose answer it lost) rather than counting as reuse.
    pub refresh_grace_seconds: u64,
}

impl TokenConfig {
    /// `JWT_SECRET` (required), `JWT_KEY_ID` [k1], `JWT_PREVIOUS_SECRET` together with
    /// `JWT_PREVIOUS_KEY_ID` (optional), `JWT_ISSUER` [edgestate], `JWT_AUDIENCE`
    /// [edgestate-api], `JWT_TTL_SECONDS` [900], `REFRESH_TTL_SECONDS` [30 days],
    /// `REFRESH_REUSE_GRACE_SECONDS` [10]. Errors name the setting, never its value.
    pub fn from_env(env: &dyn Lookup) -> Result<TokenConfig, ConfigError> {
        let current = SigningKey {
            kid: parsed_or(env, "JWT_KEY_ID", "k1".to_owned())?,
            secret: secret(env, "JWT_SECRET")?,
        };
        let previous = previous_key(env, &current.kid)?;
        // Up to 30 days: a token lives until it expires unless logged out, and a denylist
        // entry lives as long as the token it refuses.
        let ttl_seconds = bounded(env, "JWT_TTL_SECONDS", 900_u64, 1..=2_592_000)?;
        // A family that outlives a year is a password that never expires.
        let refresh_ttl_seconds =
            bounded(env, "REFRESH_TTL_SECONDS", 2_592_000_u64, 60..=31_536_000)?;
        let refresh_grace_seconds = bounded(env, "REFRESH_REUSE_GRACE_SECONDS", 10_u64, 0..=60)?;
        Ok(TokenConfig {
            current,
            previous,
            issuer: parsed_or(env, "JWT_ISSUER", "edgestate".to_owned())?,
            audience: parsed_or(env, "JWT_AUDIENCE", "edgestate-api".to_owned())?,
            ttl_seconds,
            refresh_ttl_seconds,
            refresh_grace_seconds,
        })
    }
}

/// A required secret of at least [`MIN_SECRET_BYTES`] bytes, used exactly as given.
fn secret(env: &dyn Lookup, name: &'static str) -> Result<Secret, ConfigError> {
    let value = Secret::new(required(env, name)?);
    if value.expose().len() < MIN_SECRET_BYTES {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("must be at least {MIN_SECRET_BYTES} bytes"),
        });
    }
    Ok(value)
}

/// The previous key: both settings or neither, and never the current `kid` (a token naming
/// it would be checked against one secret only, so rotation would silently cut tokens off).
fn previous_key(env: &dyn Lookup, current_kid: &str) -> Result<Option<SigningKey>, ConfigError> {
    let has_secret = required(env, "JWT_PREVIOUS_SECRET").is_ok();
    let kid = required(env, "JWT_PREVIOUS_KEY_ID").ok();
    let kid = match (has_secret, kid) {
        (false, None) => return Ok(None),
        (true, Some(kid)) => kid.trim().to_owned(),
        (true, None) => return Err(together("JWT_PREVIOUS_KEY_ID", "JWT_PREVIOUS_SECRET")),
        (false, Some(_)) => return Err(together("JWT_PREVIOUS_SECRET", "JWT_PREVIOUS_KEY_ID")),
    };
    if kid == current_kid {
        return Err(ConfigError::Invalid {
            name: "JWT_PREVIOUS_KEY_ID",
            reason: "must differ from JWT_KEY_ID".to_owned(),
        });
    }
    Ok(Some(SigningKey {
        kid,
        secret: secret(env, "JWT_PREVIOUS_SECRET")?,
    }))
}

fn together(missing: &'static str, present: &str) -> ConfigError {
    ConfigError::Invalid {
        name: missing,
        reason: format!("must be set when {present} is"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Pairs;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const OLD_SECRET: &str = "fedcba9876543210fedcba9876543210-old";

    fn env(pairs: &[(&str, &str)]) -> Pairs {
        Pairs::new(pairs)
    }

    #[test]
    fn defaults_apply_when_only_the_secret_is_set() {
        let config = TokenConfig::from_env(&env(&[("JWT_SECRET", SECRET)])).unwrap();
        assert_eq!(
            config,
            TokenConfig {
                current: SigningKey {
                    kid: "k1".to_owned(),
                    secret: Secret::new(SECRET),
                },
                previous: None,
                issuer: "edgestate".to_owned(),
                audience: "edgestate-api".to_owned(),
                ttl_seconds: 900,
                refresh_ttl_seconds: 2_592_000,
                refresh_grace_seconds: 10,
            }
        );
    }

    #[test]
    fn every_setting_is_read() {
        let config = TokenConfig::from_env(&env(&[
            ("JWT_SECRET", SECRET),
            ("JWT_KEY_ID", " k2 "),
            ("JWT_PREVIOUS_SECRET", OLD_SECRET),
            ("JWT_PREVIOUS_KEY_ID", "k1"),
            ("JWT_ISSUER", "iss-x"),
            ("JWT_AUDIENCE", "aud-x"),
            ("JWT_TTL_SECONDS", "60"),
        ]))
        .unwrap();
        assert_eq!(config.current.kid, "k2");
        assert_eq!(
            config.previous,
            Some(SigningKey {
                kid: "k1".to_owned(),
                secret: Secret::new(OLD_SECRET),
            })
        );
        assert_eq!(
            (config.issuer.as_str(), config.audience.as_str()),
            ("iss-x", "aud-x")
        );
        assert_eq!(config.ttl_seconds, 60);
    }

    #[test]
    fn the_secret_is_required() {
        assert_eq!(
            TokenConfig::from_env(&env(&[])),
            Err(ConfigError::Missing("JWT_SECRET"))
        );
        assert_eq!(
            TokenConfig::from_env(&env(&[("JWT_SECRET", "   ")])),
            Err(ConfigError::Missing("JWT_SECRET"))
        );
    }

    #[test]
    fn a_current_secret_under_32_bytes_is_refused_without_echoing_it() {
        let short = "short-secret-of-31-bytes-xxxxxx";
        assert_eq!(short.len(), 31);
        let error = TokenConfig::from_env(&env(&[("JWT_SECRET", short)])).unwrap_err();
        assert_eq!(
            error,
            ConfigError::Invalid {
                name: "JWT_SECRET",
                reason: "must be at least 32 bytes".to_owned(),
            }
        );
        assert!(!error.to_string().contains(short));
        assert!(!format!("{error:?}").contains(short));
        // Exactly 32 bytes is enough; bytes count, not characters.
        assert!(TokenConfig::from_env(&env(&[("JWT_SECRET", &SECRET[..32])])).is_ok());
        let sixteen_chars_32_bytes = "éééééééééééééééé";
        assert_eq!(sixteen_chars_32_bytes.len(), 32);
        assert!(TokenConfig::from_env(&env(&[("JWT_SECRET", sixteen_chars_32_bytes)])).is_ok());
    }

    #[test]
    fn a_previous_secret_under_32_bytes_is_refused_without_echoing_it() {
        let short = "old-secret-too-short";
        let error = TokenConfig::from_env(&env(&[
            ("JWT_SECRET", SECRET),
            ("JWT_PREVIOUS_SECRET", short),
            ("JWT_PREVIOUS_KEY_ID", "k0"),
        ]))
        .unwrap_err();
        assert_eq!(
            error,
            ConfigError::Invalid {
                name: "JWT_PREVIOUS_SECRET",
                reason: "must be at least 32 bytes".to_owned(),
            }
        );
        assert!(!format!("{error} {error:?}").contains(short));
    }

    #[test]
    fn previous_secret_and_key_id_come_together() {
        let error = TokenConfig::from_env(&env(&[
            ("JWT_SECRET", SECRET),
            ("JWT_PREVIOUS_SECRET", OLD_SECRET),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Invalid {
                    name: "JWT_PREVIOUS_KEY_ID",
                    ..
                }
            ),
            "{error:?}"
        );
        let error = TokenConfig::from_env(&env(&[
            ("JWT_SECRET", SECRET),
            ("JWT_PREVIOUS_KEY_ID", "k0"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                error,
                ConfigError::Invalid {
                    name: "JWT_PREVIOUS_SECRET",
                    ..
                }
            ),
            "{error:?}"
        );
        // Blank counts as unset, for both.
        let config = TokenConfig::from_env(&env(&[
            ("JWT_SECRET", SECRET),
            ("JWT_PREVIOUS_SECRET", ""),
            ("JWT_PREVIOUS_KEY_ID", " "),
        ]))
        .unwrap();
        assert_eq!(config.previous, None);
    }

    #[test]
    fn the_previous_key_id_must_differ_from_the_current_one() {
        let error = TokenConfig::from_env(&env(&[
            ("JWT_SECRET", SECRET),
            ("JWT_KEY_ID", "k1"),
            ("JWT_PREVIOUS_SECRET", OLD_SECRET),
            ("JWT_PREVIOUS_KEY_ID", " k1 "),
        ]))
        .unwrap_err();
        assert_eq!(
            error,
            ConfigError::Invalid {
                name: "JWT_PREVIOUS_KEY_ID",
                reason: "must differ from JWT_KEY_ID".to_owned(),
            }
        );
    }

    #[test]
    fn the_ttl_must_be_a_whole_number_of_seconds_up_to_30_days() {
        for bad in ["0", "-1", "soon", "1.5", "2592001", "18446744073709551615"] {
            let error =
                TokenConfig::from_env(&env(&[("JWT_SECRET", SECRET), ("JWT_TTL_SECONDS", bad)]))
                    .unwrap_err();
            assert!(
                matches!(
                    error,
                    ConfigError::Invalid {
                        name: "JWT_TTL_SECONDS",
                        ..
                    }
                ),
                "{bad}: {error:?}"
            );
        }
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let config = TokenConfig::from_env(&env(&[
            ("JWT_SECRET", SECRET),
            ("JWT_PREVIOUS_SECRET", OLD_SECRET),
            ("JWT_PREVIOUS_KEY_ID", "k0"),
        ]))
        .unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains(SECRET) && !debug.contains(OLD_SECRET),
            "{debug}"
        );
    }
}
