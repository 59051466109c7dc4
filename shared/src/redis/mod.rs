//! Redis over the Upstash REST protocol: the only way edgestate reaches its shared state.

mod client;
mod command;
mod endpoint;
mod error;
mod reply;
mod retry;
mod script;

pub use client::RedisClient;
pub use command::{Arg, Command};
pub use endpoint::{RedisConfig, TIMEOUT_VAR, TOKEN_VAR, URL_VAR};
pub use error::{CommandError, RedisError, Unavailable};
pub use reply::Reply;
pub use script::{KEY_LOCKING_SHEBANG, Script, ScriptCall};
