//! Looking settings up in the environment, once per cold start, and the errors a setting can
//! have (what each setting means: `docs/contract.md`, "Configuration").
//!
//! Reading goes through a lookup function rather than `std::env` directly, so tests can feed
//! settings without mutating the process environment (which is `unsafe` and racy).

use std::str::FromStr;

/// Where a setting's value comes from: `std::env::var` in production, a map in tests.
pub trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Lookup for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// A fixed list of settings, for tests and tools that must not touch the process
/// environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairs(Vec<(String, String)>);

impl Pairs {
    pub fn new(pairs: &[(&str, &str)]) -> Pairs {
        Pairs(
            pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        )
    }
}

impl Lookup for Pairs {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// A setting that is missing or cannot be used. The message names the setting and what is
/// wrong with it, never its value (which may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("missing setting {0}")]
    Missing(&'static str),
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A required setting; blank counts as missing.
pub fn required(env: &dyn Lookup, name: &'static str) -> Result<String, ConfigError> {
    env.get(name)
        .filter(|value| !value.trim().is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// An optional setting parsed with `FromStr`, `default` when unset or blank.
pub fn parsed_or<T: FromStr>(
    env: &dyn Lookup,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match env.get(name).filter(|value| !value.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|error: T::Err| ConfigError::Invalid {
                name,
                reason: error.to_string(),
            }),
    }
}

/// A numeric setting as [`parsed_or`], refused outside `range`: bounds that keep a typo from
/// becoming a session that never expires or a timestamp no client can read.
pub fn bounded<T>(
    env: &dyn Lookup,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let value = parsed_or(env, name, default)?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            name,
            reason: format!("must be from {} to {}", range.start(), range.end()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Pairs {
        Pairs::new(pairs)
    }

    #[test]
    fn blank_required_setting_is_missing() {
        let env = env(&[("A", "  ")]);
        assert_eq!(required(&env, "A"), Err(ConfigError::Missing("A")));
        assert_eq!(required(&env, "B"), Err(ConfigError::Missing("B")));
    }

    #[test]
    fn parsed_setting_falls_back_to_default_and_names_itself_when_invalid() {
        let env = env(&[("N", "12"), ("BAD", "twelve")]);
        assert_eq!(parsed_or(&env, "N", 1_u64), Ok(12));
        assert_eq!(parsed_or(&env, "UNSET", 1_u64), Ok(1));
        let error = parsed_or(&env, "BAD", 1_u64).unwrap_err();
        assert!(error.to_string().starts_with("invalid setting BAD:"));
        assert!(!error.to_string().contains("twelve"));
    }
}
