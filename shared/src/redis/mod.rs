//! Redis over the Upstash REST protocol: the only way edgestate reaches its shared state.

mod client;
mod command;
mod config;
mod error;
mod reply;
mod retry;
mod script;

pub use client::{EntryResult, Pipeline, RedisClient};
pub use command::{Arg, Command};
pub use config::{RedisConfig, TIMEOUT_VAR, TOKEN_VAR, URL_VAR};
pub use error::{CommandError, RedisError, Unavailable};
pub use reply::Reply;
pub use script::{Script, ScriptCall};
