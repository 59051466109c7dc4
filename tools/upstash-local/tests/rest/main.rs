//! upstash-local over real HTTP, each test in front of a redis-server of its own: the wire
//! protocol (`protocol`) and Upstash's key locking of flagged scripts (`key_locking`).

mod key_locking;
mod protocol;
mod support;
