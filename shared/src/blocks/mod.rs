//! Building blocks for the routes teams add: the state Node services kept in process memory
//! (a response cache, like and view counters, short-lived tokens, who is connected to what),
//! kept in Redis instead, so every instance sees the same.
//!
//! Each block has the same three layers, so a route's limits and its work stay one Redis
//! request:
//!
//! - **Lua functions** (`CACHE_LUA`, `COUNTERS_LUA`, `ONCE_LUA`, `PRESENCE_LUA`) that a route
//!   script composes before its own Lua, as the token guard's `GUARD_LUA` is: every key they
//!   touch is a parameter, which the route declares in its own header (`local name =
//!   KEYS[i]`), as key-level locking requires.
//! - **Typed bindings** that add a block's keys and arguments to a route's [`Bound`], under
//!   names derived from one the route picks (`created` binds `created_total`, `created_day`,
//!   `created_by`, ...), so two uses of a block in one script never clash.
//! - **Operations** for the common case where a route's whole work is one block call
//!   ([`cache::Cache::get`], [`counters::Counters::read`], [`once::OneTime::take`],
//!   [`presence::Presence::join`], ...): each runs the block's functions and a short Lua file
//!   of its own behind the route's limits, in one request.
//!
//! Times that decide anything (freshness, leases, member expiry) are Redis server time, read
//! inside the script, so instances with drifting clocks agree.
//!
//! [`Bound`]: crate::route::Bound

pub mod cache;
pub mod counters;
pub mod once;
pub mod presence;

use crate::http::ApiError;
use crate::ratelimit::Limit;
use crate::redis::Reply;
use crate::route::{Bound, Meter, RouteScript, Runner, single_value};

/// An operation's one request: `script` with `bound` under `limits`, answering the script's
/// one value after the limiters' head.
async fn run_one(
    runner: &Runner,
    script: &RouteScript,
    limits: &[Limit],
    bound: Bound,
    meter: &mut Meter,
) -> Result<Reply, ApiError> {
    let values = runner.run(script, limits, bound, meter).await?;
    Ok(single_value(values)?)
}
