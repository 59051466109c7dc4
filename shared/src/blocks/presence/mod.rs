//! A presence registry: which members (connections, devices) belong to which group (a
//! terminal session, a room), each with its own expiry. The Node services kept this in a
//! `Map` of `Set`s with locks and tombstones against concurrent writers; here each operation
//! is one script on the group's keys, so Redis runs them one at a time.
//!
//! A member joins with a TTL and refreshes it (a heartbeat) before it runs out; one that
//! stops refreshing disappears by itself: it is no longer listed once its time passed, the
//! group's next write prunes it, and the group's key expires with its last member, so no
//! cleanup job is needed. Closing a group leaves a tombstone for a short time
//! ([`PresencePolicy::tombstone`]): a join or refresh that arrives late, from a client that
//! had not heard, is refused instead of bringing the group back.
//!
//! Keys: `presence:members:{namespace}:{group}` (a sorted set of members scored with their
//! expiry, epoch ms) and `presence:closed:{namespace}:{group}`. Only the requests of one group
//! share them.

use std::sync::LazyLock;
use std::time::Duration;

use super::run_one;
use crate::http::ApiError;
use crate::keys::Keys;
use crate::ratelimit::Limit;
use crate::redis::{RedisError, Reply};
use crate::route::{Bound, Meter, RouteScript, Runner};
use crate::startup::App;

/// `presence_add`, `presence_leave`, `presence_list` and `presence_close`, for a route
/// script to compose before its own Lua.
pub const PRESENCE_LUA: &str = include_str!("presence.lua");

const ADD_LUA: &str = include_str!("add.lua");
const LEAVE_LUA: &str = include_str!("leave.lua");
const LIST_LUA: &str = include_str!("list.lua");
const CLOSE_LUA: &str = include_str!("close.lua");

static ADD: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("presence_add", &[PRESENCE_LUA, ADD_LUA]));
static LEAVE: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("presence_leave", &[PRESENCE_LUA, LEAVE_LUA]));
static LIST: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("presence_list", &[PRESENCE_LUA, LIST_LUA]));
static CLOSE: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("presence_close", &[PRESENCE_LUA, CLOSE_LUA]));

/// How a registry keeps its groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresencePolicy {
    /// How long a closed group refuses joins and refreshes.
    pub tombstone: Duration,
}

/// What a join or a refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// The member was not live and now is.
    Joined,
    /// The member was live; its expiry moved.
    Refreshed,
    /// A refresh of a member that expired or left: it must join again.
    NotMember,
    /// The group was closed a short time ago: nothing changed.
    Closed,
}

/// A live member and when it expires (epoch ms, Redis server time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub expires_at_ms: u64,
}

/// The groups of one namespace (`terminal`, `room`, ...): their keys, and the bindings of a
/// route that composes [`PRESENCE_LUA`] into its own script.
#[derive(Debug, Clone)]
pub struct Groups {
    keys: Keys,
    namespace: &'static str,
    policy: PresencePolicy,
}

impl Groups {
    pub fn new(keys: &Keys, namespace: &'static str, policy: PresencePolicy) -> Groups {
        Groups {
            keys: keys.clone(),
            namespace,
            policy,
        }
    }

    /// Adds a join or refresh to a route's binding: keys `{name}` (the members) and
    /// `{name}_closed`, arguments `{name}_member`, `{name}_ttl_ms` (at least 1) and
    /// `{name}_only_live` (`1` for a refresh), for the route's Lua to pass to `presence_add`.
    pub fn bind_add(
        &self,
        bound: Bound,
        name: &str,
        group: &str,
        member: &str,
        ttl: Duration,
        only_live: bool,
    ) -> Bound {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.bind_both(bound, name, group)
            .arg(format!("{name}_member"), member)
            .arg(format!("{name}_ttl_ms"), ttl_ms)
            .arg(
                format!("{name}_only_live"),
                if only_live { "1" } else { "0" },
            )
    }

    /// Adds a leave to a route's binding: key `{name}`, argument `{name}_member`, for the
    /// route's Lua to pass to `presence_leave`.
    pub fn bind_leave(&self, bound: Bound, name: &str, group: &str, member: &str) -> Bound {
        self.bind_members(bound, name, group)
            .arg(format!("{name}_member"), member)
    }

    /// Adds a listing to a route's binding: key `{name}`, argument `{name}_limit`, for the
    /// route's Lua to pass to `presence_list`; its answer is [`members`]' to read.
    pub fn bind_list(&self, bound: Bound, name: &str, group: &str, limit: usize) -> Bound {
        self.bind_members(bound, name, group)
            .arg(format!("{name}_limit"), limit)
    }

    /// Adds a close to a route's binding: keys `{name}` and `{name}_closed`, argument
    /// `{name}_tombstone_ms`, for the route's Lua to pass to `presence_close`.
    pub fn bind_close(&self, bound: Bound, name: &str, group: &str) -> Bound {
        let tombstone_ms = u64::try_from(self.policy.tombstone.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        self.bind_both(bound, name, group)
            .arg(format!("{name}_tombstone_ms"), tombstone_ms)
    }

    fn bind_members(&self, bound: Bound, name: &str, group: &str) -> Bound {
        bound.key(
            name.to_owned(),
            self.keys.presence_members(&self.group(group)),
        )
    }

    fn bind_both(&self, bound: Bound, name: &str, group: &str) -> Bound {
        self.bind_members(bound, name, group).key(
            format!("{name}_closed"),
            self.keys.presence_closed(&self.group(group)),
        )
    }

    fn group(&self, group: &str) -> String {
        format!("{}:{group}", self.namespace)
    }
}

/// The presence operations on one namespace of groups, each one request with the route's
/// limits. Group and member ids are the route's, from input it has validated.
#[derive(Clone)]
pub struct Presence {
    runner: Runner,
    groups: Groups,
}

impl Presence {
    pub fn new(app: &App, namespace: &'static str, policy: PresencePolicy) -> Presence {
        Presence {
            runner: Runner::new(app),
            groups: Groups::new(&app.keys, namespace, policy),
        }
    }

    /// Adds `member` to `group` until `ttl` from now, or moves a live member's expiry there:
    /// [`Membership::Joined`], [`Membership::Refreshed`] or [`Membership::Closed`].
    pub async fn join(
        &self,
        group: &str,
        member: &str,
        ttl: Duration,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<Membership, ApiError> {
        self.add(group, member, ttl, false, limits, meter).await
    }

    /// Moves a live member's expiry to `ttl` from now: [`Membership::Refreshed`], or
    /// [`Membership::NotMember`] when it expired or left, or [`Membership::Closed`].
    pub async fn refresh(
        &self,
        group: &str,
        member: &str,
        ttl: Duration,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<Membership, ApiError> {
        self.add(group, member, ttl, true, limits, meter).await
    }

    async fn add(
        &self,
        group: &str,
        member: &str,
        ttl: Duration,
        only_live: bool,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<Membership, ApiError> {
        let bound = self
            .groups
            .bind_add(Bound::new(), "presence", group, member, ttl, only_live);
        let reply = run_one(&self.runner, &ADD, limits, bound, meter).await?;
        Ok(membership(&reply)?)
    }

    /// Removes `member` from `group`: whether it was a live member.
    pub async fn leave(
        &self,
        group: &str,
        member: &str,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<bool, ApiError> {
        let bound = self
            .groups
            .bind_leave(Bound::new(), "presence", group, member);
        let reply = run_one(&self.runner, &LEAVE, limits, bound, meter).await?;
        Ok(reply.as_int()? == 1)
    }

    /// At most `limit` live members of `group`, the soonest to expire first.
    pub async fn members(
        &self,
        group: &str,
        limit: usize,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<Vec<Member>, ApiError> {
        let bound = self
            .groups
            .bind_list(Bound::new(), "presence", group, limit);
        let reply = run_one(&self.runner, &LIST, limits, bound, meter).await?;
        Ok(members(reply)?)
    }

    /// Removes `group` and every member, leaving its tombstone: how many live members it had.
    pub async fn close(
        &self,
        group: &str,
        limits: &[Limit],
        meter: &mut Meter,
    ) -> Result<u64, ApiError> {
        let bound = self.groups.bind_close(Bound::new(), "presence", group);
        let reply = run_one(&self.runner, &CLOSE, limits, bound, meter).await?;
        Ok(reply.as_int()?.max(0) as u64)
    }
}

/// What `presence_add` answered.
pub fn membership(reply: &Reply) -> Result<Membership, RedisError> {
    match reply.as_int()? {
        1 => Ok(Membership::Joined),
        0 => Ok(Membership::Refreshed),
        -1 => Ok(Membership::Closed),
        -2 => Ok(Membership::NotMember),
        other => Err(RedisError::Protocol(format!(
            "presence_add answered {other}"
        ))),
    }
}

/// What `presence_list` answered: members with their expiry.
pub fn members(reply: Reply) -> Result<Vec<Member>, RedisError> {
    let flat = reply.into_array()?;
    if flat.len() % 2 != 0 {
        return Err(RedisError::Protocol(
            "presence_list answered a member without its expiry".into(),
        ));
    }
    let mut members = Vec::with_capacity(flat.len() / 2);
    let mut flat = flat.into_iter();
    while let (Some(id), Some(score)) = (flat.next(), flat.next()) {
        let (Some(id), Some(score)) = (id.into_text()?, score.into_parsed::<f64>()?) else {
            return Err(RedisError::Protocol("presence_list answered a nil".into()));
        };
        members.push(Member {
            id,
            expires_at_ms: score.max(0.0) as u64,
        });
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::assert_binding;

    fn groups() -> Groups {
        let policy = PresencePolicy {
            tombstone: Duration::from_secs(30),
        };
        Groups::new(&Keys::new("p:"), "terminal", policy)
    }

    #[test]
    fn every_operation_binds_what_its_lua_reads() {
        let ttl = Duration::from_secs(30);
        let add = groups().bind_add(Bound::new(), "presence", "t1", "c1", ttl, true);
        assert_binding(ADD_LUA, &add);
        let bound = format!("{add:?}");
        assert!(bound.contains("p:presence:members:terminal:t1"), "{bound}");
        assert!(bound.contains("p:presence:closed:terminal:t1"), "{bound}");
        let leave = groups().bind_leave(Bound::new(), "presence", "t1", "c1");
        assert_binding(LEAVE_LUA, &leave);
        assert_binding(
            LIST_LUA,
            &groups().bind_list(Bound::new(), "presence", "t1", 100),
        );
        assert_binding(
            CLOSE_LUA,
            &groups().bind_close(Bound::new(), "presence", "t1"),
        );
    }

    #[test]
    fn memberships_read_every_answer_and_refuse_others() {
        assert_eq!(membership(&Reply::Int(1)).unwrap(), Membership::Joined);
        assert_eq!(membership(&Reply::Int(0)).unwrap(), Membership::Refreshed);
        assert_eq!(membership(&Reply::Int(-1)).unwrap(), Membership::Closed);
        assert_eq!(membership(&Reply::Int(-2)).unwrap(), Membership::NotMember);
        assert!(membership(&Reply::Int(7)).is_err());
        assert!(membership(&Reply::Nil).is_err());
    }

    #[test]
    fn member_lists_pair_ids_with_expiries() {
        let text = |t: &str| Reply::Bytes(t.as_bytes().to_vec());
        let listed = Reply::Array(vec![
            text("c1"),
            text("1795314000123"),
            text("c2"),
            text("1795314000456"),
        ]);
        assert_eq!(
            members(listed).unwrap(),
            vec![
                Member {
                    id: "c1".into(),
                    expires_at_ms: 1_795_314_000_123
                },
                Member {
                    id: "c2".into(),
                    expires_at_ms: 1_795_314_000_456
                },
            ]
        );
        assert_eq!(members(Reply::Array(vec![])).unwrap(), vec![]);
        assert!(members(Reply::Array(vec![text("c1")])).is_err());
        assert!(members(Reply::Array(vec![text("c1"), text("soon")])).is_err());
    }
}
