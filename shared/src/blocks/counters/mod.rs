//! Counters: increments by name, optionally into per-day buckets that expire, read many at a
//! time; and per-user flags (like / unlike) that count each user once.
//!
//! A counter is [`COUNTER_SHARDS`] keys, `stats:{name}:{shard}` (and
//! `stats:{name}:{YYYY-MM-DD}:{shard}` per day). An increment writes one shard, chosen from
//! something the request already has ([`Shard::of`] an id) or at random, so requests that
//! count the same thing rarely lock the same key; a read sums every shard of every counter it
//! asks for, in one `MGET` per counter. A flag is one key per counter and user,
//! `flag:{name}:{user}`, set or cleared in the same script that counts the change, so however
//! many likes a user sends at once, one is counted.
//!
//! Names are the route's: build them from ids it has validated (`likes:{postId}`), since a
//! name ending in `:YYYY-MM-DD` would read as another counter's day.

use std::borrow::Cow;
use std::sync::LazyLock;
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};

use super::run_one;
use crate::http::ApiError;
use crate::keys::{COUNTER_SHARDS, Keys};
use crate::ratelimit::Limit;
use crate::redis::{RedisError, Reply};
use crate::route::{Bound, Meter, RouteScript, Runner};
use crate::startup::App;
use crate::time::utc_day;

/// `counter_add`, `counter_sums`, `flag_change` and `flags_read`, for a route script to
/// compose before its own Lua.
pub const COUNTERS_LUA: &str = include_str!("counters.lua");

const ADD_LUA: &str = include_str!("add.lua");
const ADD_PER_DAY_LUA: &str = include_str!("add_per_day.lua");
const READ_LUA: &str = include_str!("read.lua");
const FLAG_LUA: &str = include_str!("flag.lua");
const FLAGS_LUA: &str = include_str!("flags.lua");

static ADD: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("counter_add", &[COUNTERS_LUA, ADD_LUA]));
static ADD_PER_DAY: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("counter_add_per_day", &[COUNTERS_LUA, ADD_PER_DAY_LUA]));
static READ: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("counter_read", &[COUNTERS_LUA, READ_LUA]));
static FLAG: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("counter_flag", &[COUNTERS_LUA, FLAG_LUA]));
static FLAGS: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("counter_flags", &[COUNTERS_LUA, FLAGS_LUA]));

/// A named counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    name: Cow<'static, str>,
}

impl Counter {
    /// A counter whose name is fixed in code (`sessions:created`), usable in a `const`.
    pub const fn named(name: &'static str) -> Counter {
        Counter {
            name: Cow::Borrowed(name),
        }
    }

    /// A counter named at run time (`likes:{postId}`), from ids the route has validated.
    pub fn new(name: impl Into<String>) -> Counter {
        Counter {
            name: Cow::Owned(name.into()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its all-time count, to read.
    pub fn total(&self) -> CounterRead {
        CounterRead {
            counter: self.clone(),
            day: None,
        }
    }

    /// Its count on the UTC day of `at_ms` (epoch ms), to read: 0 once the bucket expired.
    pub fn day(&self, at_ms: u64) -> CounterRead {
        CounterRead {
            counter: self.clone(),
            day: Some(utc_day(at_ms)),
        }
    }

    /// `user`'s flag on this counter: counted in it while set.
    pub fn flag(&self, user: &str) -> Flag {
        Flag {
            counter: self.clone(),
            user: user.to_owned(),
        }
    }
}

/// Which of a counter's shards a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard(u8);

impl Shard {
    /// The shard of `id` (a session or user id): the requests about one thing share a shard,
    /// and different things spread evenly over all of them.
    pub fn of(id: &str) -> Shard {
        Shard(digest(&SHA256, id.as_bytes()).as_ref()[0] % COUNTER_SHARDS)
    }

    /// Any shard, for writes that have no id to go by (page views).
    pub fn random() -> Shard {
        let mut byte = [0u8];
        // Counts stay exact whichever shard takes a write: a failed generator costs only
        // the spread.
        let _ = aws_lc_rs::rand::fill(&mut byte);
        Shard(byte[0] % COUNTER_SHARDS)
    }
}

/// One write to a counter: `by` (1 unless said otherwise) into one shard of its total and,
/// with [`Increment::per_day`], of one day's bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    counter: Counter,
    shard: Shard,
    by: i64,
    day: Option<DayBucket>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DayBucket {
    day: String,
    keep: Duration,
}

impl Increment {
    pub fn new(counter: &Counter, shard: Shard) -> Increment {
        Increment {
            counter: counter.clone(),
            shard,
            by: 1,
            day: None,
        }
    }

    /// Adds `amount` instead of 1 (negative to take away).
    pub fn by(self, amount: i64) -> Increment {
        Increment { by: amount, ..self }
    }

    /// Counts in the bucket of the UTC day of `at_ms` (epoch ms) too; the bucket expires
    /// `keep` (at least a second) after its last write.
    pub fn per_day(self, at_ms: u64, keep: Duration) -> Increment {
        Increment {
            day: Some(DayBucket {
                day: utc_day(at_ms),
                keep,
            }),
            ..self
        }
    }

    /// Adds the increment to a route's binding: keys `{name}_total` (and `{name}_day`),
    /// arguments `{name}_by` (and `{name}_day_ttl`), for the route's Lua to pass to
    /// `counter_add({name}_total, {name}_by, {name}_day, {name}_day_ttl)`.
    pub fn bind(&self, keys: &Keys, bound: Bound, name: &str) -> Bound {
        let Shard(shard) = self.shard;
        let counter = self.counter.name();
        let bound = bound
            .key(format!("{name}_total"), keys.counter_total(counter, shard))
            .arg(format!("{name}_by"), self.by);
        match &self.day {
            None => bound,
            Some(bucket) => bound
                .key(
                    format!("{name}_day"),
                    keys.counter_day(counter, &bucket.day, shard),
                )
                .arg(format!("{name}_day_ttl"), bucket.keep.as_secs().max(1)),
        }
    }
}

/// A counter's total or one day's count, to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterRead {
    counter: Counter,
    day: Option<String>,
}

impl CounterRead {
    fn shard_keys<'a>(&'a self, keys: &'a Keys) -> impl Iterator<Item = String> + 'a {
        let counter = self.counter.name();
        (0..COUNTER_SHARDS).map(move |shard| match &self.day {
            None => keys.counter_total(counter, shard),
            Some(day) => keys.counter_day(counter, day, shard),
        })
    }
}

/// Adds `reads` to a route's binding: every shard key as the run `{name}` and the argument
/// `{name}_shards`, for the route's Lua to pass to `counter_sums({name}, {name}_shards)`.
/// The route's run: a binding has one.
pub fn bind_reads(keys: &Keys, bound: Bound, name: &str, reads: &[CounterRead]) -> Bound {
    bound
        .key_run(
            name.to_owned(),
            reads.iter().flat_map(|read| read.shard_keys(keys)),
        )
        .arg(format!("{name}_shards"), u64::from(COUNTER_SHARDS))
}

/// The counts `counter_sums` answered, one per read.
pub fn sums(reply: Reply, reads: usize) -> Result<Vec<i64>, RedisError> {
    integers(reply, reads, "counter_sums")
}

/// `expected` integers, as `function` answers them.
fn integers(reply: Reply, expected: usize, function: &str) -> Result<Vec<i64>, RedisError> {
    let values = reply
        .into_array()?
        .iter()
        .map(Reply::as_int)
        .collect::<Result<Vec<_>, _>>()?;
    if values.len() != expected {
        return Err(RedisError::Protocol(format!(
            "{function} answered {} values for {expected}",
            values.len()
        )));
    }
    Ok(values)
}

/// One user's flag on a counter (a like).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    counter: Counter,
    user: String,
}

impl Flag {
    /// Set it, counting the user in once.
    pub fn set(&self) -> FlagChange<'_> {
        FlagChange {
            flag: self,
            on: true,
        }
    }

    /// Clear it, counting the user out once.
    pub fn clear(&self) -> FlagChange<'_> {
        FlagChange {
            flag: self,
            on: false,
        }
    }

    fn key(&self, keys: &Keys) -> String {
        keys.counter_flag(self.counter.name(), &self.user)
    }
}

/// Setting or clearing a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagChange<'a> {
    flag: &'a Flag,
    on: bool,
}

impl FlagChange<'_> {
    /// Adds the change to a route's binding: keys `{name}` (the flag) and `{name}_total` (the
    /// user's shard of the counter), argument `{name}_on`, for the route's Lua to pass to
    /// `flag_change({name}, {name}_total, {name}_on)`.
    pub fn bind(&self, keys: &Keys, bound: Bound, name: &str) -> Bound {
        let Shard(shard) = Shard::of(&self.flag.user);
        bound
            .key(name.to_owned(), self.flag.key(keys))
            .key(
                format!("{name}_total"),
                keys.counter_total(self.flag.counter.name(), shard),
            )
            .arg(format!("{name}_on"), if self.on { "1" } else { "0" })
    }
}

/// Adds `flags` to a route's binding as the run `{name}`, for the route's Lua to pass to
/// `flags_read({name})`. The route's run: a binding has one.
pub fn bind_flags(keys: &Keys, bound: Bound, name: &str, flags: &[Flag]) -> Bound {
    bound.key_run(name.to_owned(), flags.iter().map(|flag| flag.key(keys)))
}

/// What `flags_read` answered: whether each flag is set.
pub fn flags_set(reply: Reply, flags: usize) -> Result<Vec<bool>, RedisError> {
    let set: Vec<bool> = integers(reply, flags, "flags_read")?
        .into_iter()
        .map(|value| value == 1)
        .collect();
    Ok(set)
}

/// The counter operations of one instance, each one request with the route's limits.
#[derive(Clone)]
pub struct Counters {
    runner: Runner,
    keys: Keys,
}

impl Counters {
    pub fn new(app: &App) -> Counters {
        Counters {
            runner: Runner::new(app),
            keys: app.keys.clone(),
        }
    }

    /// Counts `increment`.
    pub async fn add(
        &self,
        increment: &Increment,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<(), ApiError> {
        let script = match increment.day {
            None => &ADD,
            Some(_) => &ADD_PER_DAY,
        };
        let bound = increment.bind(&self.keys, Bound::new(), "counter");
        run_one(&self.runner, script, limits, bound, meter).await?;
        Ok(())
    }

    /// The counts of `reads`, in order.
    pub async fn read(
        &self,
        reads: &[CounterRead],
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<Vec<i64>, ApiError> {
        let bound = bind_reads(&self.keys, Bound::new(), "counters", reads);
        let reply = run_one(&self.runner, &READ, limits, bound, meter).await?;
        Ok(sums(reply, reads.len())?)
    }

    /// Sets or clears a flag, counting the change once: whether it changed anything.
    pub async fn change_flag(
        &self,
        change: FlagChange<'_>,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<bool, ApiError> {
        let bound = change.bind(&self.keys, Bound::new(), "flag");
        let reply = run_one(&self.runner, &FLAG, limits, bound, meter).await?;
        Ok(reply.as_int()? == 1)
    }

    /// Whether each of `flags` is set, in order.
    pub async fn flags(
        &self,
        flags: &[Flag],
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<Vec<bool>, ApiError> {
        let bound = bind_flags(&self.keys, Bound::new(), "flags", flags);
        let reply = run_one(&self.runner, &FLAGS, limits, bound, meter).await?;
        Ok(flags_set(reply, flags.len())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::assert_binding;

    const DAY_MS: u64 = 1_795_314_000_000; // 2026-11-22T02:20:00Z

    fn keys() -> Keys {
        Keys::new("p:")
    }

    #[test]
    fn every_operation_binds_what_its_lua_reads() {
        let likes = Counter::new("likes:p1");
        let increment = Increment::new(&likes, Shard::of("u1"));
        assert_binding(ADD_LUA, &increment.bind(&keys(), Bound::new(), "counter"));
        let daily = increment.per_day(DAY_MS, Duration::from_secs(60));
        assert_binding(
            ADD_PER_DAY_LUA,
            &daily.bind(&keys(), Bound::new(), "counter"),
        );
        let reads = [likes.total(), likes.day(DAY_MS)];
        assert_binding(
            READ_LUA,
            &bind_reads(&keys(), Bound::new(), "counters", &reads),
        );
        let flag = likes.flag("u1");
        assert_binding(FLAG_LUA, &flag.set().bind(&keys(), Bound::new(), "flag"));
        assert_binding(
            FLAGS_LUA,
            &bind_flags(&keys(), Bound::new(), "flags", &[flag]),
        );
    }

    #[test]
    fn an_increment_writes_one_shard_of_the_total_and_of_the_day() {
        let counter = Counter::named("sessions:created");
        let shard = Shard::of("0123456789abcdef0123456789abcdef");
        let increment = Increment::new(&counter, shard)
            .by(3)
            .per_day(DAY_MS, Duration::ZERO);
        let lua = "local c_total = KEYS[1]\nlocal c_day = KEYS[2]\n\
                   local c_by = ARGV[1]\nlocal c_day_ttl = ARGV[2]\n";
        assert_binding(lua, &increment.bind(&keys(), Bound::new(), "c"));
        let Shard(index) = shard;
        let expected = format!("p:stats:sessions:created:2026-11-22:{index}");
        let bound = format!("{:?}", increment.bind(&keys(), Bound::new(), "c"));
        assert!(bound.contains(&expected), "{bound}");
        assert!(
            bound.contains("Int(1)"),
            "a bucket lives at least a second: {bound}"
        );
    }

    #[test]
    fn shards_follow_the_id_and_spread_over_all_of_them() {
        assert_eq!(Shard::of("u1"), Shard::of("u1"));
        let shards: std::collections::HashSet<Shard> = (0..1000)
            .map(|id| Shard::of(&format!("user-{id}")))
            .chain((0..1000).map(|_| Shard::random()))
            .collect();
        assert_eq!(shards.len(), usize::from(COUNTER_SHARDS));
    }

    #[test]
    fn reads_cover_every_shard_of_every_counter_in_order() {
        let counter = Counter::named("views");
        let reads = [counter.total(), counter.day(DAY_MS)];
        let unprefixed = Keys::new("");
        let keys: Vec<String> = reads
            .iter()
            .flat_map(|read| read.shard_keys(&unprefixed))
            .collect();
        assert_eq!(keys.len(), 2 * usize::from(COUNTER_SHARDS));
        assert_eq!(keys[0], "stats:views:0");
        assert_eq!(keys[16], "stats:views:2026-11-22:0");
        assert_eq!(keys[31], "stats:views:2026-11-22:15");
    }

    #[test]
    fn sums_must_answer_one_count_per_read() {
        let reply = Reply::Array(vec![Reply::Int(4), Reply::Int(0)]);
        assert_eq!(sums(reply.clone(), 2).unwrap(), vec![4, 0]);
        assert!(sums(reply.clone(), 3).is_err());
        assert_eq!(flags_set(reply, 2).unwrap(), vec![false, false]);
        assert!(sums(Reply::Nil, 0).is_err());
    }
}
