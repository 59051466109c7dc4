//! Rate-limit settings: the algorithm and each limiter's policy (`docs/contract.md`, "Rate
//! limits" and "Configuration").

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::env::{ConfigError, Lookup, parsed_or};

/// `limit` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub limit: u64,
    pub window: Duration,
}

impl Policy {
    pub const fn new(limit: u64, window_seconds: u64) -> Policy {
        Policy {
            limit,
            window: Duration::from_secs(window_seconds),
        }
    }
}

/// `100/15m`: a count, a slash, a number and a unit (`s`, `m`, `h` or `d`).
impl FromStr for Policy {
    type Err = String;

    fn from_str(text: &str) -> Result<Policy, String> {
        let usage = || format!("expected COUNT/DURATION such as 100/15m, got {text:?}");
        let (limit, window) = text.trim().split_once('/').ok_or_else(usage)?;
        let limit: u64 = limit.trim().parse().map_err(|_| usage())?;
        let window = window.trim();
        let split = window
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(usage)?;
        let (amount, unit) = window.split_at(split);
        let amount: u64 = amount.parse().map_err(|_| usage())?;
        let unit_seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(usage()),
        };
        if limit == 0 || amount == 0 {
            return Err("limit and window must be greater than zero".to_owned());
        }
        Ok(Policy::new(limit, amount.saturating_mul(unit_seconds)))
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}s", self.limit, self.window.as_secs())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Generic cell rate algorithm: smooth spacing with a burst of `limit`. The default.
    Gcra,
    /// A counter per window that starts with the first request (the old Node behaviour).
    Fixed,
    /// Two fixed windows weighted into a sliding one.
    Sliding,
}

impl Algorithm {
    pub const ALL: [Algorithm; 3] = [Algorithm::Gcra, Algorithm::Fixed, Algorithm::Sliding];

    /// Where the algorithm stands in [`Algorithm::ALL`]: scripts keep one variant per
    /// algorithm in that order.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The algorithm's Lua unit: `RL_ALGORITHM`, `rl_check` and `rl_commit` for the prelude.
    pub fn lua(self) -> &'static str {
        match self {
            Algorithm::Gcra => include_str!("gcra.lua"),
            Algorithm::Fixed => include_str!("fixed.lua"),
            Algorithm::Sliding => include_str!("sliding.lua"),
        }
    }
}

impl FromStr for Algorithm {
    type Err = String;

    fn from_str(text: &str) -> Result<Algorithm, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "gcra" => Ok(Algorithm::Gcra),
            "fixed" => Ok(Algorithm::Fixed),
            "sliding" => Ok(Algorithm::Sliding),
            _ => Err("expected gcra, fixed or sliding".to_owned()),
        }
    }
}

/// Every limiter's policy, the algorithm, and whether an unreadable limiter lets requests
/// through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub algorithm: Algorithm,
    pub api: Policy,
    pub login_ip: Policy,
    pub login_account: Policy,
    pub register_ip: Policy,
    /// Polls of one live session: twice a second sustained (a burst of 120), so a desktop
    /// polling once a second, or two tabs of it, never meets it however long the session lives.
    pub session_poll: Policy,
    pub fail_open: bool,
}

impl RateLimitSettings {
    pub fn from_env(env: &dyn Lookup, stage: &str) -> Result<RateLimitSettings, ConfigError> {
        let fail_open = parsed_or(env, "RATE_LIMIT_FAIL_OPEN", false)?;
        if fail_open && stage != "local" {
            return Err(ConfigError::Invalid {
                name: "RATE_LIMIT_FAIL_OPEN",
                reason: "may only be true with STAGE=local: deployed limits fail closed".to_owned(),
            });
        }
        Ok(RateLimitSettings {
            algorithm: parsed_or(env, "RATE_LIMIT_ALGORITHM", Algorithm::Gcra)?,
            api: parsed_or(env, "RATE_LIMIT_API", Policy::new(100, 15 * 60))?,
            login_ip: parsed_or(env, "RATE_LIMIT_LOGIN_IP", Policy::new(5, 15 * 60))?,
            login_account: parsed_or(env, "RATE_LIMIT_LOGIN_ACCOUNT", Policy::new(5, 15 * 60))?,
            register_ip: parsed_or(env, "RATE_LIMIT_REGISTER_IP", Policy::new(5, 3600))?,
            session_poll: parsed_or(env, "RATE_LIMIT_SESSION_POLL", Policy::new(120, 60))?,
            fail_open,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_counts_and_units() {
        assert_eq!("100/15m".parse(), Ok(Policy::new(100, 900)));
        assert_eq!("5/1h".parse(), Ok(Policy::new(5, 3600)));
        assert_eq!(" 10 / 30s ".parse(), Ok(Policy::new(10, 30)));
        assert_eq!("2/1d".parse(), Ok(Policy::new(2, 86_400)));
        for bad in [
            "", "100", "100/", "/15m", "x/15m", "100/15", "100/15y", "0/1m", "1/0m",
        ] {
            assert!(bad.parse::<Policy>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_follow_the_spec() {
        let settings = RateLimitSettings::from_env(&|_: &str| None, "production").unwrap();
        assert_eq!(settings.algorithm, Algorithm::Gcra);
        assert_eq!(settings.api, Policy::new(100, 900));
        assert_eq!(settings.login_ip, Policy::new(5, 900));
        assert_eq!(settings.login_account, Policy::new(5, 900));
        assert_eq!(settings.register_ip, Policy::new(5, 3600));
        assert_eq!(settings.session_poll, Policy::new(120, 60));
        assert!(!settings.fail_open);
    }

    #[test]
    fn fail_open_is_refused_outside_local() {
        let env = |name: &str| (name == "RATE_LIMIT_FAIL_OPEN").then(|| "true".to_owned());
        assert!(
            RateLimitSettings::from_env(&env, "local")
                .unwrap()
                .fail_open
        );
        let error = RateLimitSettings::from_env(&env, "production").unwrap_err();
        assert!(error.to_string().contains("RATE_LIMIT_FAIL_OPEN"));
    }

    #[test]
    fn algorithm_is_selectable() {
        let env = |name: &str| (name == "RATE_LIMIT_ALGORITHM").then(|| "Sliding".to_owned());
        let settings = RateLimitSettings::from_env(&env, "local").unwrap();
        assert_eq!(settings.algorithm, Algorithm::Sliding);
    }
}
