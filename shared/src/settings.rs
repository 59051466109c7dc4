//! The non-secret settings every function reads at cold start (`docs/contract.md`, "Configuration").

use std::time::Duration;

use crate::env::{ConfigError, Lookup, bounded, parsed_or};
use crate::ratelimit::RateLimitSettings;

const DEFAULT_STAGE: &str = "local";
const DEFAULT_SESSION_TTL_SECONDS: u64 = 900;
const DEFAULT_SIGNATURE_MAX_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `local`, `staging` or `production`: names the key space and gates local-only switches.
    pub stage: String,
    /// Prepended to every key, so stages can share one database (`edgestate:{STAGE}:`).
    pub key_prefix: String,
    pub session_ttl: Duration,
    /// Largest `signatureData` (the whole data URL) a session accepts.
    pub signature_max_bytes: usize,
    pub rate_limits: RateLimitSettings,
    /// The CloudWatch namespace of the metrics lines (`METRICS_NAMESPACE`).
    pub metrics_namespace: String,
}

impl Settings {
    pub fn from_env(env: &dyn Lookup) -> Result<Settings, ConfigError> {
        let stage = parsed_or(env, "STAGE", DEFAULT_STAGE.to_owned())?;
        if !stage
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::Invalid {
                name: "STAGE",
                reason: "use letters, digits, '-' and '_' only".to_owned(),
            });
        }
        let key_prefix = parsed_or(env, "KEY_PREFIX", format!("edgestate:{stage}:"))?;
        // A signature session is a QR code waiting to be scanned: a day is already long.
        let ttl_seconds = bounded(
            env,
            "SESSION_TTL_SECONDS",
            DEFAULT_SESSION_TTL_SECONDS,
            1..=86_400,
        )?;
        // Lambda refuses request payloads over 6 MB, whatever this says.
        let signature_max_bytes = bounded(
            env,
            "SIGNATURE_MAX_BYTES",
            DEFAULT_SIGNATURE_MAX_BYTES,
            1..=5 * 1024 * 1024,
        )?;
        let rate_limits = RateLimitSettings::from_env(env, &stage)?;
        let metrics_namespace = parsed_or(
            env,
            "METRICS_NAMESPACE",
            crate::metrics::DEFAULT_NAMESPACE.to_owned(),
        )?;
        // CloudWatch's rule for namespaces: 1 to 255 of these characters, not starting "AWS/".
        if metrics_namespace.len() > 255
            || metrics_namespace.starts_with("AWS/")
            || !metrics_namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_/#:".contains(c))
        {
            return Err(ConfigError::Invalid {
                name: "METRICS_NAMESPACE",
                reason: "use up to 255 letters, digits and . - _ / # :, not starting AWS/"
                    .to_owned(),
            });
        }
        Ok(Settings {
            rate_limits,
            metrics_namespace,
            stage,
            key_prefix,
            session_ttl: Duration::from_secs(ttl_seconds),
            signature_max_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let settings = Settings::from_env(&|_: &str| None).unwrap();
        assert_eq!(settings.stage, "local");
        assert_eq!(settings.key_prefix, "edgestate:local:");
        assert_eq!(settings.session_ttl, Duration::from_secs(900));
        assert_eq!(settings.signature_max_bytes, 262_144);
    }

    #[test]
    fn prefix_follows_the_stage_unless_set() {
        let staging = |name: &str| (name == "STAGE").then(|| "staging".to_owned());
        assert_eq!(
            Settings::from_env(&staging).unwrap().key_prefix,
            "edgestate:staging:"
        );
        let custom = |name: &str| match name {
            "STAGE" => Some("production".to_owned()),
            "KEY_PREFIX" => Some("app:".to_owned()),
            _ => None,
        };
        assert_eq!(Settings::from_env(&custom).unwrap().key_prefix, "app:");
    }

    #[test]
    fn refuses_out_of_range_numbers_and_odd_stage_names() {
        for (name, value) in [
            ("SESSION_TTL_SECONDS", "0"),
            ("SESSION_TTL_SECONDS", "86401"),
            ("SIGNATURE_MAX_BYTES", "0"),
            ("SIGNATURE_MAX_BYTES", "5242881"),
        ] {
            let env = |asked: &str| (asked == name).then(|| value.to_owned());
            assert!(
                matches!(Settings::from_env(&env), Err(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={value}"
            );
        }
        let day = |name: &str| (name == "SESSION_TTL_SECONDS").then(|| "86400".to_owned());
        assert!(Settings::from_env(&day).is_ok());
        let odd_stage = |name: &str| (name == "STAGE").then(|| "a b:c".to_owned());
        assert!(Settings::from_env(&odd_stage).is_err());
    }

    #[test]
    fn metrics_namespaces_follow_cloudwatch_rules() {
        let namespace =
            |value: String| move |name: &str| (name == "METRICS_NAMESPACE").then(|| value.clone());
        let set = Settings::from_env(&namespace("edgestate/prod-1".to_owned())).unwrap();
        assert_eq!(set.metrics_namespace, "edgestate/prod-1");
        let unset = Settings::from_env(&|_: &str| None).unwrap();
        assert_eq!(unset.metrics_namespace, "edgestate");
        for bad in [
            "AWS/Lambda",
            "with space",
            "emoji\u{1F600}",
            &"n".repeat(256),
        ] {
            assert!(
                matches!(
                    Settings::from_env(&namespace(bad.to_owned())),
                    Err(ConfigError::Invalid {
                        name: "METRICS_NAMESPACE",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }
}
