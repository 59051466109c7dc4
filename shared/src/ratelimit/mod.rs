//! Distributed rate limiting: every instance counts in the same Redis keys, so spreading
//! requests across instances gains an attacker nothing (the Node version's `Map` did).
//!
//! Each algorithm is one Lua unit (`gcra.lua`, `fixed.lua`, `sliding.lua`) defining
//! `rl_check` and `rl_commit`; `limits.lua` applies any number of limiters with them on
//! Redis server time. A route's script is composed at compile time from an algorithm, the
//! prelude and the route's own Lua ([`route_script!`]), so the limits and the route's work
//! share one round trip, and all three algorithm variants exist so configuration can pick.

mod denials;
mod policy;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::http::{ApiError, respond};
use crate::keys::Keys;
use crate::redis::{RedisClient, RedisError, Reply, Script, ScriptCall};
use crate::request::client_ip;

use denials::{Denial, DenialCache};
pub use policy::{Algorithm, Policy, RateLimitSettings};

/// A route script in all three algorithm variants: `route_script!("name", "lua source")`,
/// where the source may be `include_str!("route.lua")` of the calling module. The route's
/// Lua runs after the prelude and starts with `local head = rl_enforce()`.
macro_rules! route_script {
    ($name:literal, $($route:tt)+) => {
        $crate::ratelimit::RouteScript::new(
            $name,
            [
                concat!(
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/ratelimit/gcra.lua")),
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/ratelimit/limits.lua")),
                    $($route)+
                ),
                concat!(
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/ratelimit/fixed.lua")),
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/ratelimit/limits.lua")),
                    $($route)+
                ),
                concat!(
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/ratelimit/sliding.lua")),
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/ratelimit/limits.lua")),
                    $($route)+
                ),
            ],
        )
    };
}
pub(crate) use route_script;

/// One route's Lua in each algorithm's variant, in [`Algorithm::ALL`] order.
#[derive(Debug)]
pub struct RouteScript {
    variants: [Script; 3],
}

impl RouteScript {
    pub fn new(name: &'static str, sources: [&'static str; 3]) -> RouteScript {
        RouteScript {
            variants: sources.map(|source| Script::new(name, source)),
        }
    }

    fn variant(&self, algorithm: Algorithm) -> &Script {
        let index = Algorithm::ALL
            .iter()
            .position(|candidate| *candidate == algorithm)
            .unwrap_or(0);
        &self.variants[index]
    }
}

/// Limits only, no route work: peeking, and consuming after the fact (a failed login).
static LIMITS_ONLY: std::sync::LazyLock<RouteScript> =
    std::sync::LazyLock::new(|| route_script!("rate_limit", "return rl_enforce()\n"));

/// The limiters of SPEC §2.
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
}

impl Limiter {
    pub fn name(self) -> &'static str {
        match self {
            Limiter::Api => "api",
            Limiter::LoginIp => "login-ip",
            Limiter::LoginAccount => "login-account",
            Limiter::RegisterIp => "register-ip",
        }
    }
}

/// A limiter applied to one identifier, and when the request spends from its allowance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    limiter: Limiter,
    identifier: String,
    spend: Spend,
}

/// When a request counts against a limit; the wire values are those of `limits.lua`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spend {
    Always,
    Never,
    IfOnRecord,
}

impl Spend {
    fn wire(self) -> &'static str {
        match self {
            Spend::Always => "1",
            Spend::Never => "0",
            Spend::IfOnRecord => "r",
        }
    }
}

impl Limit {
    /// The API-wide limit on a request: per client IP, as API Gateway saw it.
    pub fn api(request: &Request) -> Limit {
        Limit::consume(Limiter::Api, client_ip(request))
    }

    /// Every request counts.
    pub fn consume(limiter: Limiter, identifier: impl Into<String>) -> Limit {
        Limit {
            limiter,
            identifier: identifier.into(),
            spend: Spend::Always,
        }
    }

    /// Only checks that one more request would be allowed (a peek).
    pub fn check(limiter: Limiter, identifier: impl Into<String>) -> Limit {
        Limit {
            spend: Spend::Never,
            ..Limit::consume(limiter, identifier)
        }
    }

    /// For a limiter of failures, which only the outcome of the request can tell: checked,
    /// and counted at once when the identifier already has failures on record. Counting only
    /// after the outcome would let any number of concurrent attempts pass the same check; a
    /// success clears the record anyway, so counting early costs nothing there. With nothing
    /// on record, a failure is counted afterwards ([`RateLimiter::hit`]), so a success with a
    /// clean record stays one round trip.
    pub fn failures(limiter: Limiter, identifier: impl Into<String>) -> Limit {
        Limit {
            spend: Spend::IfOnRecord,
            ..Limit::consume(limiter, identifier)
        }
    }

    fn denial_key(&self) -> String {
        denial_key(self.limiter, &self.identifier)
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

impl Decision {
    /// 429 `rate_limited` with `Retry-After` in whole seconds, rounded up.
    pub fn rejection(&self) -> ApiError {
        let seconds = whole_seconds(self.retry_after).max(1);
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests, retry in {seconds} s"),
            )
        }
    }

    /// `RateLimit-Policy` and `RateLimit` (IETF httpapi draft) and the `X-RateLimit-*`
    /// headers clients of the Node API already read (`Reset` in epoch seconds).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let name = self.limiter.name();
        let reset = whole_seconds(self.reset);
        let reset_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |now| whole_seconds(now + self.reset));
        let values = [
            (
                "ratelimit-policy",
                format!(
                    "\"{name}\";q={};w={}",
                    self.policy.limit,
                    self.policy.window.as_secs()
                ),
            ),
            (
                "ratelimit",
                format!("\"{name}\";r={};t={reset}", self.remaining),
            ),
            ("x-ratelimit-limit", self.policy.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", reset_at.to_string()),
        ];
        for (header, value) in values {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(HeaderName::from_static(header), value);
            }
        }
    }
}

/// A route script's one value after the rate-limit head.
pub fn route_value(values: Vec<Reply>) -> Result<Reply, RedisError> {
    values
        .into_iter()
        .next()
        .ok_or_else(|| RedisError::Protocol("a route script answered no value".to_owned()))
}

fn whole_seconds(duration: Duration) -> u64 {
    duration.as_millis().div_ceil(1000) as u64
}

/// Carries a request's decision to its response, whatever the response turns out to be.
#[derive(Debug, Default)]
pub struct Meter(Option<Decision>);

impl Meter {
    /// Runs a route's handler with a fresh meter, and answers its outcome (success or error)
    /// with the headers of whatever the limiters decided on the way.
    pub async fn metered(
        handler: impl AsyncFnOnce(&mut Meter) -> Result<Response<Body>, ApiError>,
    ) -> Response<Body> {
        let mut meter = Meter::default();
        let outcome = handler(&mut meter).await;
        meter.respond(outcome)
    }

    fn respond(self, outcome: Result<Response<Body>, ApiError>) -> Response<Body> {
        let mut response = respond(outcome);
        if let Some(decision) = &self.0 {
            decision.write_headers(response.headers_mut());
        }
        response
    }
}

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

    pub fn policy(&self, limiter: Limiter) -> Policy {
        match limiter {
            Limiter::Api => self.settings.api,
            Limiter::LoginIp => self.settings.login_ip,
            Limiter::LoginAccount => self.settings.login_account,
            Limiter::RegisterIp => self.settings.register_ip,
        }
    }

    /// Runs a route script under `limits`: a denial this instance remembers is answered
    /// without Redis; otherwise the limits and the route's work (`route` adds its keys and
    /// arguments to the call) go to Redis in one round trip. Answers the route's values.
    pub async fn run<'s>(
        &self,
        redis: &RedisClient,
        script: &'s RouteScript,
        limits: &[Limit],
        route: impl FnOnce(ScriptCall<'s>) -> ScriptCall<'s>,
        meter: &mut Meter,
    ) -> Result<Vec<Reply>, ApiError> {
        self.precheck(limits, meter)?;
        let call = route(self.call(script, limits));
        let reply = redis.eval(&call).await?;
        let (decision, values) = self.decide(limits, reply)?;
        let outcome = if decision.allowed {
            Ok(values)
        } else {
            Err(decision.rejection())
        };
        meter.0 = Some(decision);
        outcome
    }

    /// Refuses at once, without Redis, a request that one of `limits` denied recently on this
    /// instance. [`RateLimiter::run`] does this itself; call it first only to skip costly
    /// work (hashing a password) before the route's round trip.
    pub fn precheck(&self, limits: &[Limit], meter: &mut Meter) -> Result<(), ApiError> {
        match self.remembered_denial(limits) {
            Some(denial) => {
                let rejection = denial.rejection();
                meter.0 = Some(denial);
                Err(rejection)
            }
            None => Ok(()),
        }
    }

    /// How the limiter stands for `identifier`, consuming nothing: what one more request
    /// would get.
    pub async fn peek(
        &self,
        redis: &RedisClient,
        limiter: Limiter,
        identifier: &str,
    ) -> Result<Decision, ApiError> {
        self.limits_only(redis, &[Limit::check(limiter, identifier)])
            .await
    }

    /// Consumes one request from each limit, with no route work: for a limiter that counts
    /// an outcome known only after the route's round trip (a failed login).
    pub async fn hit(&self, redis: &RedisClient, limits: &[Limit]) -> Result<Decision, ApiError> {
        self.limits_only(redis, limits).await
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
            .command(&crate::redis::Command::new("DEL").arg(key).idempotent())
            .await
            .map(drop)
    }

    /// The script call with the limiters' keys and arguments in the layout of `limits.lua`.
    pub fn call<'s>(&self, script: &'s RouteScript, limits: &[Limit]) -> ScriptCall<'s> {
        let mut call = script
            .variant(self.settings.algorithm)
            .call()
            .arg(limits.len())
            .arg(if self.settings.fail_open { "1" } else { "0" });
        for limit in limits {
            let policy = self.policy(limit.limiter);
            call = call
                .key(
                    self.keys
                        .rate_limit(limit.limiter.name(), &limit.identifier),
                )
                .arg(policy.limit)
                .arg(policy.window.as_millis() as u64)
                .arg(limit.spend.wire());
        }
        call
    }

    async fn limits_only(
        &self,
        redis: &RedisClient,
        limits: &[Limit],
    ) -> Result<Decision, ApiError> {
        let mut call = self.call(&LIMITS_ONLY, limits);
        if limits.iter().all(|limit| limit.spend == Spend::Never) {
            // A peek writes nothing, so a timed-out one may be sent again.
            call = call.idempotent();
        }
        let reply = redis.eval(&call).await?;
        Ok(self.decide(limits, reply)?.0)
    }

    fn remembered_denial(&self, limits: &[Limit]) -> Option<Decision> {
        let now = Instant::now();
        limits.iter().find_map(|limit| {
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

    /// Reads the head `{status, index, remaining, reset ms, retry ms}` of a script's reply,
    /// remembers a denial, and answers the route's values that follow it.
    fn decide(&self, limits: &[Limit], reply: Reply) -> Result<(Decision, Vec<Reply>), ApiError> {
        let mut values = reply.into_array()?;
        if values.len() < 5 {
            return Err(RedisError::Protocol("a rate-limit head is missing".to_owned()).into());
        }
        let route_values = values.split_off(5);
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
            tracing::error!(
                limiter = limit.limiter.name(),
                "rate limiter state cannot be read; failing closed"
            );
            return Err(ApiError::service_unavailable());
        }
        let decision = Decision {
            allowed: status == 1,
            limiter: limit.limiter,
            policy: self.policy(limit.limiter),
            remaining: remaining.max(0) as u64,
            reset: millis(reset_ms),
            retry_after: millis(retry_ms),
        };
        if !decision.allowed {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(remaining: u64, reset_ms: u64, retry_ms: u64) -> Decision {
        Decision {
            allowed: retry_ms == 0,
            limiter: Limiter::Api,
            policy: Policy::new(100, 900),
            remaining,
            reset: Duration::from_millis(reset_ms),
            retry_after: Duration::from_millis(retry_ms),
        }
    }

    #[test]
    fn headers_follow_the_draft_and_the_legacy_names() {
        let mut headers = HeaderMap::new();
        decision(42, 8_001, 0).write_headers(&mut headers);
        assert_eq!(headers["ratelimit-policy"], "\"api\";q=100;w=900");
        assert_eq!(headers["ratelimit"], "\"api\";r=42;t=9");
        assert_eq!(headers["x-ratelimit-limit"], "100");
        assert_eq!(headers["x-ratelimit-remaining"], "42");
        let reset_at: u64 = headers["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(reset_at >= now + 8 && reset_at <= now + 10);
    }

    #[test]
    fn rejection_rounds_retry_after_up_to_whole_seconds() {
        let rejection = decision(0, 5_000, 1_200).rejection();
        assert_eq!(rejection.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(rejection.code, "rate_limited");
        assert_eq!(rejection.retry_after, Some(2));
        assert_eq!(decision(0, 5, 5).rejection().retry_after, Some(1));
    }

    #[test]
    fn every_variant_starts_with_its_algorithm_and_shares_the_route() {
        let script = route_script!("probe", "return rl_reply(rl_enforce(), 'probe')\n");
        for (algorithm, marker) in Algorithm::ALL.into_iter().zip(["GCRA", "Fixed", "Sliding"]) {
            let variant = script.variant(algorithm);
            assert_eq!(variant.name(), "probe");
            assert!(variant.source().contains(marker), "{algorithm:?}");
            assert!(
                variant
                    .source()
                    .ends_with("return rl_reply(rl_enforce(), 'probe')\n")
            );
        }
    }
}
