//! edgestate: stateful HTTP endpoints on AWS Lambda, with every piece of shared state in
//! Redis over the Upstash REST protocol, so any number of instances behave as one.
//!
//! The Lambda binaries under `functions/` are thin: they read configuration, build the
//! [`redis::RedisClient`] once per cold start and hand each request to a handler here.

pub mod accounts;
pub mod authorizer;
pub mod config;
pub mod guard;
pub mod health;
pub mod http;
pub mod ids;
pub mod keys;
pub mod ratelimit;
pub mod redis;
pub mod request;
pub mod secret;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod time;
pub mod tokens;
