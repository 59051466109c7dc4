//! Cache-aside with stampede protection: the response cache Node services kept in a `Map`
//! with `getOrSet` and a TTL, shared by every instance.
//!
//! [`Cache::get`] reads an entry and, on a miss, gives exactly one caller across all instances
//! a short lease in the same request: that caller computes the value and [`Cache::set`]s it,
//! while the others are told to wait (for the lease's remaining time) or get the stale value,
//! if the policy keeps one ([`CachePolicy::stale_for`]). A value stays fresh for its TTL plus
//! a random jitter, so entries written together do not expire together. [`Cache::invalidate`]
//! forgets an entry and any lease on it, so a computation under way when the data changed
//! does not store its outdated result.
//!
//! An entry is one hash, `cache:{namespace}:{id}`, expiring when its stale value stops being
//! useful. A hit only reads it; a miss takes the lease on that same key.

use std::sync::LazyLock;
use std::time::Duration;

use super::run_one;
use crate::http::ApiError;
use crate::ids::random_id;
use crate::keys::Keys;
use crate::ratelimit::Limit;
use crate::redis::{RedisError, Reply};
use crate::route::{Bound, Meter, RouteScript, Runner};
use crate::startup::App;

/// `cache_get`, `cache_set` and `cache_invalidate`, for a route script to compose before its
/// own Lua.
pub const CACHE_LUA: &str = include_str!("cache.lua");

const GET_LUA: &str = include_str!("get.lua");
const SET_LUA: &str = include_str!("set.lua");
const INVALIDATE_LUA: &str = include_str!("invalidate.lua");

static GET: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("cache_get", &[CACHE_LUA, GET_LUA]));
static SET: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("cache_set", &[CACHE_LUA, SET_LUA]));
static INVALIDATE: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("cache_invalidate", &[CACHE_LUA, INVALIDATE_LUA]));

/// How a cache keeps its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// How long a value is fresh.
    pub ttl: Duration,
    /// Up to this much more, at random for each value stored.
    pub jitter: Duration,
    /// How long a value is kept once stale, to serve while one caller recomputes it; zero
    /// keeps none, and the others wait.
    pub stale_for: Duration,
    /// How long the caller told to compute has, before another is told to; longer than a
    /// computation takes, since a caller that outlives its lease may find its value refused.
    pub lease: Duration,
}

impl CachePolicy {
    /// Fresh for `ttl` plus up to a tenth of it, nothing stale kept, 5 s leases.
    pub fn fresh_for(ttl: Duration) -> CachePolicy {
        CachePolicy {
            ttl,
            jitter: ttl / 10,
            stale_for: Duration::ZERO,
            lease: Duration::from_secs(5),
        }
    }

    /// The freshness of one value: the TTL plus `random` modulo the jitter (inclusive).
    fn fresh_ms(&self, random: u64) -> u64 {
        let jitter = millis(self.jitter);
        millis(self.ttl)
            .max(1)
            .saturating_add(random % jitter.saturating_add(1))
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What [`Cache::get`] found, and what the caller is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A fresh value.
    Fresh(String),
    /// Missing or stale, and this caller holds the lease: compute the value and
    /// [`Cache::set`] it with the lease. `stale` is the old value, if one is kept.
    Compute { lease: Lease, stale: Option<String> },
    /// Another caller is computing it; meanwhile, the stale value.
    Stale(String),
    /// Another caller is computing it and nothing stale is kept: retry after this long.
    Wait { retry_after: Duration },
}

/// The right to compute one entry's value, for a short time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    id: String,
}

impl Lease {
    /// A lease to ask for: taken only if the entry needs computing and nobody is.
    pub fn new() -> Result<Lease, ApiError> {
        Ok(Lease { id: random_id()? })
    }
}

/// One namespace of cached values (`feed`, `profile`, ...) under one policy: its keys, and
/// the bindings of a route that composes [`CACHE_LUA`] into its own script.
#[derive(Debug, Clone)]
pub struct CacheSpace {
    keys: Keys,
    namespace: &'static str,
    policy: CachePolicy,
}

impl CacheSpace {
    pub fn new(keys: &Keys, namespace: &'static str, policy: CachePolicy) -> CacheSpace {
        CacheSpace {
            keys: keys.clone(),
            namespace,
            policy,
        }
    }

    /// Adds a get to a route's binding: key `{name}`, arguments `{name}_lease_id` and
    /// `{name}_lease_ms`, for the route's Lua to pass to `cache_get`; its answer is
    /// [`lookup`]'s to read.
    pub fn bind_get(&self, bound: Bound, name: &str, id: &str, lease: &Lease) -> Bound {
        bound
            .key(name.to_owned(), self.key(id))
            .arg(format!("{name}_lease_id"), lease.id.as_str())
            .arg(format!("{name}_lease_ms"), millis(self.policy.lease).max(1))
    }

    /// Adds a set to a route's binding: key `{name}`, arguments `{name}_value`,
    /// `{name}_fresh_ms` (the TTL with its jitter), `{name}_keep_ms` and `{name}_lease_id`,
    /// for the route's Lua to pass to `cache_set`.
    pub fn bind_set(
        &self,
        bound: Bound,
        name: &str,
        id: &str,
        value: &str,
        lease: Option<&Lease>,
    ) -> Bound {
        let mut random = [0u8; 8];
        // Without the generator a value is fresh for the TTL alone: jitter is a nicety.
        let _ = aws_lc_rs::rand::fill(&mut random);
        bound
            .key(name.to_owned(), self.key(id))
            .arg(format!("{name}_value"), value)
            .arg(
                format!("{name}_fresh_ms"),
                self.policy.fresh_ms(u64::from_le_bytes(random)),
            )
            .arg(format!("{name}_keep_ms"), millis(self.policy.stale_for))
            .arg(
                format!("{name}_lease_id"),
                lease.map_or("", |lease| lease.id.as_str()),
            )
    }

    /// Adds an invalidation to a route's binding: key `{name}`, for the route's Lua to pass
    /// to `cache_invalidate` (a route that changes the data does both in one script).
    pub fn bind_invalidate(&self, bound: Bound, name: &str, id: &str) -> Bound {
        bound.key(name.to_owned(), self.key(id))
    }

    fn key(&self, id: &str) -> String {
        self.keys.cache(self.namespace, id)
    }
}

/// The cache operations on one namespace, each one request.
#[derive(Clone)]
pub struct Cache {
    runner: Runner,
    space: CacheSpace,
}

impl Cache {
    pub fn new(app: &App, namespace: &'static str, policy: CachePolicy) -> Cache {
        Cache {
            runner: Runner::new(app),
            space: CacheSpace::new(&app.keys, namespace, policy),
        }
    }

    /// The entry `id` (from an id the route has validated) and, on a miss, the lease for
    /// exactly one caller: one request with the route's `limits`.
    pub async fn get(
        &self,
        id: &str,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<Lookup, ApiError> {
        let lease = Lease::new()?;
        let bound = self.space.bind_get(Bound::new(), "cache", id, &lease);
        let reply = run_one(&self.runner, &GET, limits, bound, meter).await?;
        Ok(lookup(reply, lease)?)
    }

    /// Stores a value computed under `lease` (or, with `None`, whatever the entry holds:
    /// write-through): whether it was stored; not when the lease was lost to another caller,
    /// the entry was invalidated meanwhile, or the lease ran out on an entry with no value.
    /// One request, under no limit: it belongs to a request whose limits [`Cache::get`]
    /// applied.
    pub async fn set(
        &self,
        id: &str,
        value: &str,
        lease: Option<&Lease>,
    ) -> Result<bool, ApiError> {
        let bound = self.space.bind_set(Bound::new(), "cache", id, value, lease);
        let reply = run_one(&self.runner, &SET, &[], bound, &mut Meter::default()).await?;
        Ok(reply.as_int()? == 1)
    }

    /// Forgets the entry `id` and any lease on it: whether there was one. One request with
    /// the route's `limits`.
    pub async fn invalidate(
        &self,
        id: &str,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<bool, ApiError> {
        let bound = self.space.bind_invalidate(Bound::new(), "cache", id);
        let reply = run_one(&self.runner, &INVALIDATE, limits, bound, meter).await?;
        Ok(reply.as_int()? == 1)
    }
}

/// What `cache_get` answered, for the caller that asked with `lease`.
pub fn lookup(reply: Reply, lease: Lease) -> Result<Lookup, RedisError> {
    let [state, value, retry_ms]: [Reply; 3] = reply.into_array()?.try_into().map_err(|_| {
        RedisError::Protocol("cache_get answered the wrong number of values".into())
    })?;
    let value = value.into_text()?;
    let retry_after = Duration::from_millis(retry_ms.as_int()?.max(1) as u64);
    match (state.as_int()?, value) {
        (1, Some(value)) => Ok(Lookup::Fresh(value)),
        (2, stale) => Ok(Lookup::Compute { lease, stale }),
        (3, Some(value)) => Ok(Lookup::Stale(value)),
        (4, None) => Ok(Lookup::Wait { retry_after }),
        (state, _) => Err(RedisError::Protocol(format!(
            "cache_get answered state {state}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::assert_binding;

    fn lease() -> Lease {
        Lease { id: "l1".into() }
    }

    #[test]
    fn every_operation_binds_what_its_lua_reads() {
        let policy = CachePolicy::fresh_for(Duration::from_secs(600));
        let space = CacheSpace::new(&Keys::new("p:"), "feed", policy);
        assert_binding(
            GET_LUA,
            &space.bind_get(Bound::new(), "cache", "p1", &lease()),
        );
        assert_binding(
            SET_LUA,
            &space.bind_set(Bound::new(), "cache", "p1", "v", Some(&lease())),
        );
        assert_binding(
            INVALIDATE_LUA,
            &space.bind_invalidate(Bound::new(), "cache", "p1"),
        );
        let bound = format!(
            "{:?}",
            space.bind_set(Bound::new(), "cache", "p1", "v", None)
        );
        assert!(bound.contains("p:cache:feed:p1"), "{bound}");
        assert!(bound.contains("Text(\"\")"), "no lease: {bound}");
    }

    #[test]
    fn freshness_is_the_ttl_plus_at_most_the_jitter() {
        let policy = CachePolicy::fresh_for(Duration::from_secs(600));
        assert_eq!(policy.jitter, Duration::from_secs(60));
        assert_eq!(policy.fresh_ms(0), 600_000);
        assert_eq!(policy.fresh_ms(60_000), 660_000);
        assert_eq!(policy.fresh_ms(60_001), 600_000);
        assert_eq!(policy.fresh_ms(u64::MAX), 600_000 + u64::MAX % 60_001);
        let exact = CachePolicy {
            jitter: Duration::ZERO,
            ..policy
        };
        assert_eq!(exact.fresh_ms(12_345), 600_000);
        let zero = CachePolicy::fresh_for(Duration::ZERO);
        assert_eq!(
            zero.fresh_ms(7),
            1,
            "a value is fresh for at least a millisecond"
        );
    }

    fn reply(state: i64, value: Option<&str>, retry: i64) -> Reply {
        Reply::Array(vec![
            Reply::Int(state),
            value.map_or(Reply::Nil, |v| Reply::Bytes(v.as_bytes().to_vec())),
            Reply::Int(retry),
        ])
    }

    #[test]
    fn lookups_read_every_state_and_refuse_others() {
        assert_eq!(
            lookup(reply(1, Some("v"), 0), lease()).unwrap(),
            Lookup::Fresh("v".into())
        );
        assert_eq!(
            lookup(reply(2, None, 0), lease()).unwrap(),
            Lookup::Compute {
                lease: lease(),
                stale: None
            }
        );
        assert_eq!(
            lookup(reply(2, Some("old"), 0), lease()).unwrap(),
            Lookup::Compute {
                lease: lease(),
                stale: Some("old".into())
            }
        );
        assert_eq!(
            lookup(reply(3, Some("old"), 40), lease()).unwrap(),
            Lookup::Stale("old".into())
        );
        assert_eq!(
            lookup(reply(4, None, 40), lease()).unwrap(),
            Lookup::Wait {
                retry_after: Duration::from_millis(40)
            }
        );
        for bad in [reply(1, None, 0), reply(4, Some("v"), 1), reply(9, None, 0)] {
            assert!(lookup(bad, lease()).is_err());
        }
        assert!(lookup(Reply::Int(1), lease()).is_err());
    }
}
