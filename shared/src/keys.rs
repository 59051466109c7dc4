//! The key schema (`docs/contract.md`, "Key schema"), in one place so no handler spells a key
//! by hand.
//!
//! Every key a script touches is computable before the script runs, because Upstash's
//! key-level locking refuses a key that a script builds itself; and no key is written by
//! every request of a route, because under that locking such a key would queue the route's
//! requests behind one another: counters every create or submit writes are sharded.

use aws_lc_rs::digest::{SHA256, digest};

use crate::ids::hex;

/// Shards of each session counter: a create or submit writes one, readers sum them all.
pub const COUNTER_SHARDS: u8 = 16;

/// Every key starts with the stage's prefix (`edgestate:{STAGE}:` by default), so stages can
/// share one database without seeing each other's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

/// What a session counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    Created,
    Completed,
}

impl SessionEvent {
    fn name(self) -> &'static str {
        match self {
            SessionEvent::Created => "created",
            SessionEvent::Completed => "completed",
        }
    }
}

/// An account's name in keys: the SHA-256 of the normalised email, in hex. Login, the
/// per-account limiter and the token guard all compute it from an email they already hold,
/// and no key ever spells an address.
pub fn account_id(email: &str) -> String {
    hex(digest(&SHA256, email.as_bytes()).as_ref())
}

/// The counter shard of a session: from its id, which is random, so sessions spread evenly
/// and the requests of one session (which lock its own key anyway) share one.
pub fn counter_shard(session_id: &str) -> u8 {
    let lead = session_id.get(..2).unwrap_or_default();
    u8::from_str_radix(lead, 16).unwrap_or(0) % COUNTER_SHARDS
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Keys {
        Keys {
            prefix: prefix.into(),
        }
    }

    /// `sess:{id}`: a hash that expires with the session.
    pub fn session(&self, id: &str) -> String {
        format!("{}sess:{id}", self.prefix)
    }

    /// `user:{account}`: a hash of id, email, password_hash, created_at and token_version,
    /// under [`account_id`] of the email. Holding it claims the email.
    pub fn user(&self, account: &str) -> String {
        format!("{}user:{account}", self.prefix)
    }

    /// `deny:{jti}`: a revoked token, by id (never the token itself), until it expires.
    pub fn denied_token(&self, jti: &str) -> String {
        format!("{}deny:{jti}", self.prefix)
    }

    /// `rl:{limiter}:{identifier}`: one key per identifier and limiter.
    pub fn rate_limit(&self, limiter: &str, identifier: &str) -> String {
        format!("{}rl:{limiter}:{identifier}", self.prefix)
    }

    /// `stats:sessions:{event}:{shard}`: one shard of the all-time count.
    pub fn session_total(&self, event: SessionEvent, shard: u8) -> String {
        format!("{}stats:sessions:{}:{shard}", self.prefix, event.name())
    }

    /// `stats:sessions:{event}:{YYYY-MM-DD}:{shard}`: one shard of one UTC day's count.
    pub fn session_daily(&self, event: SessionEvent, day: &str, shard: u8) -> String {
        format!(
            "{}stats:sessions:{}:{day}:{shard}",
            self.prefix,
            event.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_schema_under_the_prefix() {
        let keys = Keys::new("edgestate:local:");
        assert_eq!(keys.session("ab12"), "edgestate:local:sess:ab12");
        assert_eq!(
            keys.session_total(SessionEvent::Created, 3),
            "edgestate:local:stats:sessions:created:3"
        );
        assert_eq!(keys.user("u1"), "edgestate:local:user:u1");
        assert_eq!(keys.denied_token("j1"), "edgestate:local:deny:j1");
        assert_eq!(
            keys.rate_limit("login-ip", "203.0.113.7"),
            "edgestate:local:rl:login-ip:203.0.113.7"
        );
        assert_eq!(
            keys.session_daily(SessionEvent::Completed, "2026-11-22", 15),
            "edgestate:local:stats:sessions:completed:2026-11-22:15"
        );
    }

    #[test]
    fn accounts_hash_the_email() {
        let id = account_id("ann@example.com");
        assert_eq!(id.len(), 64);
        assert!(!id.contains("ann"));
        assert_eq!(id, account_id("ann@example.com"));
        assert_ne!(id, account_id("bob@example.com"));
    }

    #[test]
    fn sessions_spread_over_every_shard() {
        assert_eq!(counter_shard("00ffffffffffffffffffffffffffffff"), 0);
        assert_eq!(counter_shard("1f00000000000000000000000000000a"), 15);
        let shards: std::collections::HashSet<u8> = (0..=255u8)
            .map(|lead| counter_shard(&format!("{lead:02x}{}", "0".repeat(30))))
            .collect();
        assert_eq!(shards.len(), usize::from(COUNTER_SHARDS));
    }
}
