//! The key schema (SPEC §3), in one place so no handler spells a key by hand.

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

    /// `user:{id}`: a hash of email, password_hash, created_at, token_version.
    pub fn user(&self, id: &str) -> String {
        format!("{}{}", self.user_prefix(), id)
    }

    /// What `user:{id}` keys start with, for a script that learns the id from Redis.
    pub fn user_prefix(&self) -> String {
        format!("{}user:", self.prefix)
    }

    /// `email:{email}` → user id; the email is normalised, so one account per address.
    pub fn email(&self, email: &str) -> String {
        format!("{}email:{email}", self.prefix)
    }

    /// `deny:{jti}`: a revoked token, by id (never the token itself), until it expires.
    pub fn denied_token(&self, jti: &str) -> String {
        format!("{}deny:{jti}", self.prefix)
    }

    /// `rl:{limiter}:{identifier}`: one key per identifier and limiter.
    pub fn rate_limit(&self, limiter: &str, identifier: &str) -> String {
        format!("{}rl:{limiter}:{identifier}", self.prefix)
    }

    /// `stats:sessions:{event}`: all-time count.
    pub fn session_total(&self, event: SessionEvent) -> String {
        format!("{}stats:sessions:{}", self.prefix, event.name())
    }

    /// `stats:sessions:{event}:{YYYY-MM-DD}`: count for one UTC day.
    pub fn session_daily(&self, event: SessionEvent, day: &str) -> String {
        format!("{}stats:sessions:{}:{day}", self.prefix, event.name())
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
            keys.session_total(SessionEvent::Created),
            "edgestate:local:stats:sessions:created"
        );
        assert_eq!(keys.user("u1"), "edgestate:local:user:u1");
        assert_eq!(keys.email("a@b.c"), "edgestate:local:email:a@b.c");
        assert_eq!(keys.denied_token("j1"), "edgestate:local:deny:j1");
        assert_eq!(
            keys.rate_limit("login-ip", "203.0.113.7"),
            "edgestate:local:rl:login-ip:203.0.113.7"
        );
        assert_eq!(
            keys.session_daily(SessionEvent::Completed, "2026-11-22"),
            "edgestate:local:stats:sessions:completed:2026-11-22"
        );
    }
}
