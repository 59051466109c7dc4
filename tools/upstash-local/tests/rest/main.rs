//! upstash-local over real HTTP, each test in front of a redis-server of its own.

mod protocol;
mod support;
