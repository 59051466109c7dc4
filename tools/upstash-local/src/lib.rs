//! upstash-local: a server that speaks the Upstash Redis REST protocol in front of a real
//! Redis, so the project runs and is tested locally against the same protocol it uses in
//! production, without Docker or a hosted database.
//!
//! [`Server::start`] runs one in-process (tests do this, with port 0); the `upstash-local`
//! binary wraps it with command-line flags.
//!
//! Modules, one job each:
//! - `config`, `error`: what starting needs, and why starting fails;
//! - `server`: the running server handle;
//! - `handler`: the HTTP steps shared by every endpoint (auth, size limit, latency, headers);
//! - `auth`: the token check; `path_form`: `GET /set/k/v?EX=10` to a command;
//! - `command`: JSON bodies to commands, and the deny list;
//! - `script`: scripts with Upstash's `allow-key-locking` flag (taken out for Redis, SHA-1s
//!   mapped); `acl`: that flag's rules, enforced by Redis through a throwaway ACL user;
//! - `backend`: the Redis pool, pipelines and transactions;
//! - `resp`, `reply`: Redis replies to Upstash JSON.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod acl;
mod auth;
mod backend;
mod command;
mod config;
mod error;
mod handler;
mod path_form;
mod reply;
mod resp;
mod script;
mod server;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use config::Config;
pub use error::Error;
pub use server::Server;
