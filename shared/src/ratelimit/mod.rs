//! Distributed rate limiting: every instance counts in the same Redis keys, so spreading
//! requests across instances gains an attacker nothing (the Node version's `Map` did).
//!
//! Each algorithm is one Lua unit (`gcra.lua`, `fixed.lua`, `sliding.lua`) defining
//! `rl_check` and `rl_commit`; `limits.lua` applies any number of limiters with them on Redis
//! server time. The route runner (`crate::route`) puts this prelude in front of a route's own
//! Lua so the limits and the route's work share one round trip; this module knows nothing of
//! HTTP. Its port is narrow: [`RateLimiter::bind`] adds limiters to a script call,
//! [`RateLimiter::decide`] reads their verdict from the reply, [`RateLimiter::remembered`]
//! answers a recent denial from memory, and [`RateLimiter::hit`] / [`RateLimiter::reset`]
//! count or clear a limiter on their own.

mod denials;
mod policy;

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use crate::keys::Keys;
use crate::redis::{Command, RedisClient, RedisError, Reply, Script, ScriptCall};

use denials::{Denial, DenialCache};
pub use policy::{Algorithm, Policy, RateLimitSettings};

/// The prelude between an algorithm's unit and a route's Lua.
pub const PRELUDE: &str = include_str!("limits.lua");

/// The limiters (`docs/contract.md`, "Rate limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    /// Every request but `/health`, per client IP.
    Api,
    /// Every login attempt, per client IP.
    LoginIp,
    /// Failed logins, per account (a hash of the normalised email).
    LoginAccount,
    /// Every registration, per client IP.
    RegisterIp,
    /// Polls of a live signature session, per session: in place of `Api` for those polls.
    SessionPoll,
}

impl Limiter {
    pub fn name(self) -> &'static str {
        match self {
            Limiter::Api => "api",
            Limiter::LoginIp => "login-ip",
            Limiter::LoginAccount => "login-account",
            Limiter::RegisterIp => "register-ip",
            Limiter::SessionPoll => "session-poll",
        }
    }
}

/// A limiter applied to one identifier, and when the request spends from its allowance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    limiter: Limiter,
    identifier: String,
    spend: Spend,
    condition: Condition,
}

/// Whether a limit applies to a request: always, or as a fact the route's script reads in
/// Redis says (`limits.lua`, "condition"); the wire values are those of `limits.lua`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    When(&'static str),
    Unless(&'static str),
}

impl Condition {
    fn wire(self) -> String {
        match self {
            Condition::Always => "*".to_owned(),
            Condition::When(fact) => fact.to_owned(),
            Condition::Unless(fact) => format!("!{fact}"),
        }
    }
}

/// When a request counts against a limit; the wire values are those of `limits.lua`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Spend {
    Always,
    /// Holds one unit for a short while, under this lease id.
    Lease(String),
    /// Counts one, and drops the lease of that id.
    FailureOf(String),
}

impl Spend {
    fn wire(&self) -> String {
        match self {
            Spend::Always => "1".to_owned(),
            Spend::Lease(id) => format!("l:{id}"),
            Spend::FailureOf(id) => format!("f:{id}"),
        }
    }
}

impl Limit {
    /// Every request counts.
    pub fn consume(limiter: Limiter, identifier: impl Into<String>) -> Limit {
        Limit {
            limiter,
            identifier: identifier.into(),
            spend: Spend::Always,
            condition: Condition::Always,
        }
    }

    /// This limit only when `fact` holds, as the route's script states it in Redis.
    pub fn when(self, fact: &'static str) -> Limit {
        Limit {
            condition: Condition::When(fact),
            ..self
        }
    }

    /// This limit only when `fact` does not hold, as the route's script states it in Redis.
    pub fn unless(self, fact: &'static str) -> Limit {
        Limit {
            condition: Condition::Unless(fact),
            ..self
        }
    }

    /// For a limiter of failures, which only the outcome of an attempt can tell: the attempt
    /// takes a lease, one unit of the allowance held for a few seconds, so that of any burst
    /// of concurrent attempts no more pass than the allowance left. A failure then becomes a
    /// counted one ([`Limit::failure_of`]); a success lets the lease lapse, costing nothing.
    pub fn lease(limiter: Limiter, identifier: impl Into<String>, lease: &str) -> Limit {
        Limit {
            spend: Spend::Lease(lease.to_owned()),
            ..Limit::consume(limiter, identifier)
        }
    }

    /// Counts the failure of the attempt that took `lease`, and gives the lease back.
    pub fn failure_of(limiter: Limiter, identifier: impl Into<String>, lease: &str) -> Limit {
        Limit {
            spend: Spend::FailureOf(lease.to_owned()),
            ..Limit::consume(limiter, identifier)
        }
    }

    pub fn limiter(&self) -> Limiter {
        self.limiter
    }

    fn denial_key(&self) -> String {
        denial_key(self.limiter, &self.identifier)
    }

    /// Whether a denial of this limit may be answered from memory. Not when the limit is
    /// conditional: whether it applies to the next request is known only in Redis (an IP whose
    /// API allowance is spent may still poll its live session, which that limit no longer
    /// governs).
    fn remembered_denials(&self) -> bool {
        self.condition == Condition::Always
    }
}

/// The denial cache's name for a limiter applied to one identifier.
fn denial_key(limiter: Limiter, identifier: &str) -> String {
    format!("{}:{identifier}", limiter.name())
}

/// What the limiters said about a request: the reported limiter is the one that denied it,
/// or else the one closest to its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limiter: Limiter,
    pub policy: Policy,
    pub remaining: u64,
    /// Until the limiter is back to its full allowance.
    pub reset: Duration,
    /// Until one more request will be allowed (zero when allowed).
    pub retry_after: Duration,
}

/// Why the limiters gave no decision.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error(transparent)]
    Redis(#[from] RedisError),
    /// The limiter's key holds something that is not its state (failing closed).
    #[error("the state of limiter {0} cannot be read")]
    Unreadable(&'static str),
}

/// The length of the head `{status, index, remaining, reset ms, retry ms}` of a reply.
const HEAD_LEN: usize = 5;

/// Limits only, no route work: a failure counted after the route's round trip.
static LIMITS_ONLY: LazyLock<[Script; 3]> = LazyLock::new(|| {
    Algorithm::ALL.map(|algorithm| {
        Script::key_locked(
            "rate_limit",
            &format!("{}{PRELUDE}return rl_enforce()\n", algorithm.lua()),
        )
    })
});

/// The limiters of one instance: policies, key names, and the denials it remembers.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    settings: Arc<RateLimitSettings>,
    keys: Keys,
    denials: Arc<DenialCache>,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings, keys: Keys) -> RateLimiter {
        RateLimiter {
            settings: Arc::new(settings),
            keys,
            denials: Arc::default(),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        self.settings.algorithm
    }

    pub fn policy(&self, limiter: Limiter) -> Policy {
        match limiter {
            Limiter::Api => self.settings.api,
            Limiter::LoginIp => self.settings.login_ip,
            Limiter::LoginAccount => self.settings.login_account,
            Limiter::RegisterIp => self.settings.register_ip,
            Limiter::SessionPoll => self.settings.session_poll,
        }
    }

    /// A denial of one of `limits` that this instance saw recently and that still holds:
    /// answered without Redis.
    pub fn remembered(&self, limits: &[Limit]) -> Option<Decision> {
        let now = Instant::now();
        limits
            .iter()
            .filter(|limit| limit.remembered_denials())
            .find_map(|limit| {
                let left = self.denials.remaining(&limit.denial_key(), now)?;
                Some(Decision {
                    allowed: false,
                    limiter: limit.limiter,
                    policy: self.policy(limit.limiter),
                    remaining: 0,
                    reset: left.reset,
                    retry_after: left.retry,
                })
            })
    }

    /// Appends the limiters' keys and arguments to a call whose own keys and arguments are
    /// already in place, in the layout `limits.lua` reads from the end.
    pub fn bind<'s>(&self, mut call: ScriptCall<'s>, limits: &[Limit]) -> ScriptCall<'s> {
        for limit in limits {
            call = call.key(self.key(limit));
        }
        for limit in limits {
            let policy = self.policy(limit.limiter);
            call = call
                .arg(policy.limit)
                .arg(policy.window.as_millis() as u64)
                .arg(limit.spend.wire())
                .arg(limit.condition.wire());
        }
        call.arg(if self.settings.fail_open { "1" } else { "0" })
            .arg(limits.len())
    }

    /// Splits a script's reply into the limiters' decision and the route's values after it,
    /// remembering a denial.
    pub fn decide(
        &self,
        limits: &[Limit],
        reply: Reply,
    ) -> Result<(Decision, Vec<Reply>), LimitError> {
        let mut values = reply.into_array()?;
        if values.len() < HEAD_LEN {
            return Err(RedisError::Protocol("a rate-limit head is missing".to_owned()).into());
        }
        let route_values = values.split_off(HEAD_LEN);
        let head: Vec<i64> = values.iter().map(Reply::as_int).collect::<Result<_, _>>()?;
        let [status, index, remaining, reset_ms, retry_ms] = head[..] else {
            return Err(RedisError::Protocol("a rate-limit head is malformed".to_owned()).into());
        };
        let millis = |value: i64| Duration::from_millis(value.max(0) as u64);
        // Index 0: no limiter was consulted (none given, or failing open).
        let Some(limit) = usize::try_from(index - 1)
            .ok()
            .and_then(|index| limits.get(index))
        else {
            return Ok((self.unlimited(limits), route_values));
        };
        if status == -1 {
            return Err(LimitError::Unreadable(limit.limiter.name()));
        }
        let decision = Decision {
            allowed: status == 1,
            limiter: limit.limiter,
            policy: self.policy(limit.limiter),
            remaining: remaining.max(0) as u64,
            reset: millis(reset_ms),
            retry_after: millis(retry_ms),
        };
        if !decision.allowed && limit.remembered_denials() {
            let now = Instant::now();
            self.denials.remember(
                limit.denial_key(),
                Denial {
                    retry_at: now + decision.retry_after,
                    reset_at: now + decision.reset,
                },
            );
        }
        Ok((decision, route_values))
    }

    /// Applies `limits` with no route work: for a limiter that counts an outcome known only
    /// after the route's request (a failed login).
    pub async fn hit(&self, redis: &RedisClient, limits: &[Limit]) -> Result<Decision, LimitError> {
        let script = &LIMITS_ONLY[self.settings.algorithm.index()];
        let reply = redis.eval(&self.bind(script.call(), limits)).await?;
        Ok(self.decide(limits, reply)?.0)
    }

    /// Gives `identifier` its full allowance back (a successful login clears failures), and
    /// forgets this instance's remembered denial of it.
    pub async fn reset(
        &self,
        redis: &RedisClient,
        limiter: Limiter,
        identifier: &str,
    ) -> Result<(), RedisError> {
        self.denials.forget(&denial_key(limiter, identifier));
        let key = self.keys.rate_limit(limiter.name(), identifier);
        redis
            .command(&Command::new("DEL").arg(key).idempotent())
            .await
            .map(drop)
    }

    fn key(&self, limit: &Limit) -> String {
        self.keys
            .rate_limit(limit.limiter.name(), &limit.identifier)
    }

    /// The decision shown when no limiter answered (failing open): the first limiter's
    /// policy with its whole allowance, since nothing was counted.
    fn unlimited(&self, limits: &[Limit]) -> Decision {
        let limiter = limits.first().map_or(Limiter::Api, |limit| limit.limiter);
        let policy = self.policy(limiter);
        Decision {
            allowed: true,
            limiter,
            policy,
            remaining: policy.limit,
            reset: Duration::ZERO,
            retry_after: Duration::ZERO,
        }
    }
}
