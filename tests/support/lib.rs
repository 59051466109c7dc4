//! The hermetic test stack: a redis-server of the test's own, upstash-local in process, and
//! function binaries run against a fake Lambda Runtime API.

pub mod answer;
pub mod bench;
pub mod events;
pub mod fixtures;
pub mod front;
mod lambda;
pub mod limits;
pub mod procfs;
mod stack;

pub use lambda::{LambdaProcess, Outcome};
pub use stack::{JWT_SECRET, Stack, TOKEN, default_settings, test_tokens};
pub use upstash_local::test_support::RedisServer;
