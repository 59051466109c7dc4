//! Redis access through a connection pool: single commands, pipelines and transactions.
//!
//! Every request takes a connection of its own from the pool for as long as it runs, so a
//! transaction's MULTI ... EXEC can never interleave with another request's commands.
//! A connection goes back to the pool only when Redis answered everything that was sent on it;
//! on any other outcome (I/O error, timeout, an unexpected reply, or the request being
//! cancelled half-way) it is dropped instead, which closes the socket and makes Redis discard
//! whatever state it held (an open MULTI, a blocked command).

use std::time::Duration;

use deadpool_redis::{Connection, Manager, Pool, Runtime, redis};
use redis::{
    AsyncConnectionConfig, IntoConnectionInfo, ProtocolVersion, Value, aio::ConnectionLike,
};

use crate::{Error, command::Command, resp::error_text};

/// How long one request may wait for a free connection before answering 503.
const POOL_WAIT: Duration = Duration::from_secs(5);
/// How long opening a connection (TCP + handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long Redis may take to answer a request. Generous, because this is a development and
/// test server and slow scripts are legitimate; a command that blocks longer than this loses
/// its connection, which unblocks it on the Redis side.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections kept at most. Each request holds one exclusively, so this bounds concurrency.
const POOL_SIZE: usize = 64;

/// Redis could not be used: no connection, a timeout, or an answer that makes no sense. The
/// text says why and is safe to show (the Redis password is masked out); the HTTP layer puts
/// it after `ERR redis unavailable: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unavailable(pub(crate) String);

/// How a transaction ended.
#[derive(Debug)]
pub(crate) enum Transaction {
    /// EXEC ran: one reply per command, runtime errors as `Value::ServerError` entries.
    Committed(Vec<Value>),
    /// Redis refused the transaction (a command was rejected when queued): the error text,
    /// starting with its code (`EXECABORT ...`).
    Aborted(String),
}

/// The pool and what is needed to keep secrets out of error texts.
pub(crate) struct Backend {
    pool: Pool,
    password: Option<String>,
}

impl Backend {
    /// Builds the pool for `url` (forced to RESP2, whatever the URL asks, because the JSON
    /// mapping follows RESP2) and checks that Redis answers a PING.
    pub(crate) async fn connect(url: &str) -> Result<Self, Error> {
        let info = url
            .into_connection_info()
            .map_err(|err| Error::InvalidRedisUrl(err.to_string()))?;
        let password = info.redis_settings().password().map(str::to_owned);
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP2);
        let info = info.set_redis_settings(settings);
        let connection_config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let manager = Manager::new_with_config(info, connection_config)
            .map_err(|err| Error::InvalidRedisUrl(err.to_string()))?;
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT + Duration::from_secs(1)))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|err| Error::InvalidRedisUrl(err.to_string()))?;
        let backend = Self { pool, password };
        match backend.run(&Command::ping()).await {
            Ok(Value::ServerError(err)) => {
                Err(Error::RedisUnavailable(backend.mask(&error_text(&err))))
            }
            Ok(_) => Ok(backend),
            Err(Unavailable(text)) => Err(Error::RedisUnavailable(text)),
        }
    }

    /// Runs one command. A Redis error comes back as `Ok(Value::ServerError)`.
    pub(crate) async fn run(&self, command: &Command) -> Result<Value, Unavailable> {
        let mut lease = self.lease().await?;
        let reply = lease
            .conn()?
            .req_packed_command(&command.to_redis())
            .await
            .map_err(|err| self.unavailable(&err))?;
        lease.release();
        Ok(reply)
    }

    /// Runs commands as one pipeline (not atomic): one reply per command, in order; a command
    /// that fails does not stop the ones after it.
    pub(crate) async fn pipeline(&self, commands: &[Command]) -> Result<Vec<Value>, Unavailable> {
        let mut pipe = redis::pipe();
        for command in commands {
            pipe.add_command(command.to_redis());
        }
        pipe.ignore_errors();
        let mut lease = self.lease().await?;
        let replies = self.query(&mut lease, &pipe, commands.len()).await?;
        lease.release();
        Ok(replies)
    }

    /// Runs commands inside MULTI ... EXEC, sent as one write on one connection held for the
    /// whole exchange. MULTI and EXEC are sent as ordinary commands of a plain pipeline (not
    /// redis-rs's atomic mode) so that every reply is seen: which command was refused when
    /// queued, and each command's own result or error after EXEC.
    pub(crate) async fn transaction(
        &self,
        commands: &[Command],
    ) -> Result<Transaction, Unavailable> {
        let mut pipe = redis::pipe();
        pipe.cmd("MULTI");
        for command in commands {
            pipe.add_command(command.to_redis());
        }
        pipe.cmd("EXEC");
        pipe.ignore_errors();
        let mut lease = self.lease().await?;
        let mut replies = self.query(&mut lease, &pipe, commands.len() + 2).await?;
        let exec = replies.pop();
        let outcome = match (replies.first(), exec) {
            (Some(Value::Okay), Some(Value::Array(results))) if results.len() == commands.len() => {
                Transaction::Committed(results)
            }
            (Some(Value::Okay), Some(Value::ServerError(err))) => {
                Transaction::Aborted(abort_text(&error_text(&err), &replies[1..]))
            }
            // Anything else (MULTI refused, a nil EXEC, a short reply) leaves the connection
            // in a state not worth guessing about: the lease is dropped, not released.
            _ => return Err(Unavailable("unexpected reply to a transaction".to_owned())),
        };
        lease.release();
        Ok(outcome)
    }

    /// Sends a pipeline and checks that it answered once per command.
    async fn query(
        &self,
        lease: &mut Lease,
        pipe: &redis::Pipeline,
        expected: usize,
    ) -> Result<Vec<Value>, Unavailable> {
        let reply: Value = pipe
            .query_async(lease.conn()?)
            .await
            .map_err(|err| self.unavailable(&err))?;
        match reply {
            Value::Array(replies) if replies.len() == expected => Ok(replies),
            _ => Err(Unavailable("unexpected reply to a pipeline".to_owned())),
        }
    }

    /// A connection from the pool, wrapped so it is dropped unless explicitly released.
    async fn lease(&self) -> Result<Lease, Unavailable> {
        match self.pool.get().await {
            Ok(conn) => Ok(Lease(Some(conn))),
            Err(err) => Err(Unavailable(self.mask(&err.to_string()))),
        }
    }

    fn unavailable(&self, err: &redis::RedisError) -> Unavailable {
        Unavailable(self.mask(&err.to_string()))
    }

    /// Masks the Redis password wherever an error text might quote it.
    fn mask(&self, text: &str) -> String {
        match &self.password {
            Some(password) if !password.is_empty() => text.replace(password.as_str(), "***"),
            _ => text.to_owned(),
        }
    }
}

/// The EXECABORT text, followed by the first error that caused it (which command, and why),
/// so that the client sees the actual mistake and not only "previous errors".
fn abort_text(exec_error: &str, queued: &[Value]) -> String {
    let cause = queued
        .iter()
        .enumerate()
        .find_map(|(index, reply)| match reply {
            Value::ServerError(err) => Some((index + 1, error_text(err))),
            _ => None,
        });
    match cause {
        Some((index, text)) => format!("{exec_error} (command {index}: {text})"),
        None => exec_error.to_owned(),
    }
}

/// A pooled connection that goes back to the pool only through [`Lease::release`]. Dropped any
/// other way (an error path, or the request's future cancelled mid-flight) it is detached from
/// the pool and closed, so no connection with unread replies, a pending MULTI or a blocked
/// command is ever handed to the next request.
struct Lease(Option<Connection>);

impl Lease {
    fn conn(&mut self) -> Result<&mut Connection, Unavailable> {
        self.0
            .as_mut()
            .ok_or_else(|| Unavailable("connection lost".to_owned()))
    }

    /// Returns the connection to the pool: Redis answered everything sent on it.
    fn release(mut self) {
        drop(self.0.take());
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(Connection::take(conn));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abort_text_names_the_first_refused_command() {
        let queued = [
            redis::parse_redis_value(b"+QUEUED\r\n").unwrap(),
            redis::parse_redis_value(b"-ERR unknown command 'nope'\r\n").unwrap(),
        ];
        assert_eq!(
            abort_text("EXECABORT Transaction discarded.", &queued),
            "EXECABORT Transaction discarded. (command 2: ERR unknown command 'nope')"
        );
        assert_eq!(abort_text("EXECABORT x", &queued[..1]), "EXECABORT x");
    }
}
