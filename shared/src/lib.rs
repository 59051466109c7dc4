//! edgestate: stateful HTTP endpoints on AWS Lambda, with every piece of shared state in
//! Redis over the Upstash REST protocol, so any number of instances behave as one. The
//! contract every module here keeps (routes, envelope, limits, round trips, key schema,
//! failure policy, configuration) is `docs/contract.md`.
//!
//! # Layout
//!
//! Read from the top: a Lambda binary in `functions/` builds an [`startup::App`] once per
//! cold start and serves one [`route::Route`]; a route parses its request, binds its keys and
//! arguments by name, and has the [`route::Runner`] send its Lua, behind the rate-limit
//! prelude, to Redis as one script in one request. Arrows only point down this list:
//!
//! - **Routes**, one per file with its Lua beside it:
//!   [`sessions`] (`create`, `get`, `submit`, and `stats` behind the authorizer), [`accounts`]
//!   (`register`, `login`, `logout`, `me`), [`guard`] (the token guard's two halves and the
//!   [`guard::Authorizer`]), [`health`], and [`web`] (the signature flow's pages, which call
//!   the session routes).
//! - **Building blocks**, [`blocks`], for the routes teams add (`docs/add-a-route.md`): a
//!   cache with stampede protection, sharded counters and per-user flags, one-time tokens and
//!   a presence registry; each is Lua functions a route script composes, bindings, and
//!   operations of one request.
//! - **The route runner**, [`route`]: script composition, the one request, the rate-limit
//!   headers and the 429, and the [`route::Route`] trait whose `answer` every function calls.
//! - **Domain services**: [`ratelimit`] (policies, algorithms and their Lua, the denial
//!   cache; no HTTP), [`tokens`] (JWTs in memory), [`keys`] (the key schema).
//! - **HTTP and Redis**: [`http`] (the envelope, [`http::ErrorCode`], reading requests),
//!   [`redis`] (the Upstash REST client).
//! - **Start-up**: [`startup`] (cold start and the serve loop), [`settings`] (the non-secret
//!   settings), [`env`] (looking settings up), [`ssm`] (secrets from SSM Parameter Store),
//!   [`telemetry`] (JSON logs), [`metrics`] (one CloudWatch EMF line per request).
//! - **Leaves**, depending on nothing above: [`ids`], [`time`], [`secret`].

pub mod accounts;
pub mod blocks;
pub mod env;
pub mod guard;
pub mod health;
pub mod http;
pub mod ids;
pub mod keys;
pub mod metrics;
pub mod ratelimit;
pub mod redis;
pub mod route;
pub mod secret;
pub mod sessions;
pub mod settings;
pub mod ssm;
pub mod startup;
pub mod telemetry;
pub mod time;
pub mod tokens;
pub mod web;
