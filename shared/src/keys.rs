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

/// An account's name in keys: the SHA-256 of the normalised email, in hex. Login, the
/// per-account limiter and the token guard all compute it from an email they already hold,
/// and no key ever spells an address.
pub fn account_id(email: &str) -> String {
    hex(digest(&SHA256, email.as_bytes()).as_ref())
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

    /// `fam:{account}:{family}`: a refresh-token family once refreshed or revoked: the
    /// hashes of its current and previous secrets and of every secret it used, or its
    /// revocation; expires with the family. Under its account, so a family id presented
    /// with another account names another (empty) key.
    pub fn family(&self, account: &str, family: &str) -> String {
        format!("{}fam:{account}:{family}", self.prefix)
    }

    /// `rl:{limiter}:{identifier}`: one key per identifier and limiter.
    pub fn rate_limit(&self, limiter: &str, identifier: &str) -> String {
        format!("{}rl:{limiter}:{identifier}", self.prefix)
    }

    /// `stats:{counter}:{shard}`: one shard of a counter's all-time count
    /// (`blocks::counters`; the session counters are `sessions:created` and
    /// `sessions:completed`).
    pub fn counter_total(&self, counter: &str, shard: u8) -> String {
        format!("{}stats:{counter}:{shard}", self.prefix)
    }

    /// `stats:{counter}:{YYYY-MM-DD}:{shard}`: one shard of one UTC day's count.
    pub fn counter_day(&self, counter: &str, day: &str, shard: u8) -> String {
        format!("{}stats:{counter}:{day}:{shard}", self.prefix)
    }

    /// `flag:{counter}:{user}`: that the user is counted in `counter` (a like), so a second
    /// like counts nothing.
    pub fn counter_flag(&self, counter: &str, user: &str) -> String {
        format!("{}flag:{counter}:{user}", self.prefix)
    }

    /// `cache:{namespace}:{id}`: a hash of a cached value, until when it is fresh, and the
    /// lease of the one caller recomputing it (`blocks::cache`).
    pub fn cache(&self, namespace: &str, id: &str) -> String {
        format!("{}cache:{namespace}:{id}", self.prefix)
    }

    /// `once:{kind}:{digest}`: a one-time token's value until it is taken or expires, under
    /// the SHA-256 of the token, so no key spells a usable token (`blocks::once`).
    pub fn one_time(&self, kind: &str, digest: &str) -> String {
        format!("{}once:{kind}:{digest}", self.prefix)
    }

    /// `presence:members:{group}`: a sorted set of a group's members, each scored with
    /// when it expires (epoch ms) (`blocks::presence`).
    pub fn presence_members(&self, group: &str) -> String {
        format!("{}presence:members:{group}", self.prefix)
    }

    /// `presence:closed:{group}`: the tombstone of a closed group, for a short time.
    pub fn presence_closed(&self, group: &str) -> String {
        format!("{}presence:closed:{group}", self.prefix)
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
            keys.counter_total("sessions:created", 3),
            "edgestate:local:stats:sessions:created:3"
        );
        assert_eq!(keys.user("u1"), "edgestate:local:user:u1");
        assert_eq!(keys.denied_token("j1"), "edgestate:local:deny:j1");
        assert_eq!(keys.family("a1", "f1"), "edgestate:local:fam:a1:f1");
        assert_eq!(
            keys.rate_limit("login-ip", "203.0.113.7"),
            "edgestate:local:rl:login-ip:203.0.113.7"
        );
        assert_eq!(
            keys.counter_day("sessions:completed", "2026-11-22", 15),
            "edgestate:local:stats:sessions:completed:2026-11-22:15"
        );
        assert_eq!(
            keys.counter_flag("likes:p1", "u1"),
            "edgestate:local:flag:likes:p1:u1"
        );
        assert_eq!(keys.cache("feed", "p1"), "edgestate:local:cache:feed:p1");
        assert_eq!(keys.one_time("call", "d1"), "edgestate:local:once:call:d1");
        assert_eq!(
            keys.presence_members("t1"),
            "edgestate:local:presence:members:t1"
        );
        assert_eq!(
            keys.presence_closed("t1"),
            "edgestate:local:presence:closed:t1"
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
}
