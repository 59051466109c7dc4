//! Redis access through a connection pool: single commands, pipelines and transactions.
//!
//! Every request takes a connection of its own from the pool for as long as it runs, so a
//! transaction's MULTI ... EXEC can never interleave with another request's commands.
//! A connection goes back to the pool only when Redis answered everything that was sent on it;
//! on any other outcome (I/O error, timeout, an unexpected reply, or the request being
//! cancelled half-way) it is dropped instead, which closes the socket and makes Redis discard
//! whatever state it held (an open MULTI, a blocked command, a script's ACL user).
//!
//! A call that must run under key locking is wrapped in the commands `acl` describes, inside the
//! same pipeline as the request's other commands.

use std::time::Duration;

use deadpool_redis::{Connection, Manager, Pool, Runtime, redis};
use redis::{
    AsyncConnectionConfig, IntoConnectionInfo, ProtocolVersion, Value, aio::ConnectionLike,
};

use crate::{
    Error,
    acl::{self, Denial, KeyLocking, WRAPPED_REPLIES},
    command::Command,
    resp::{Answer, answer, error_text},
    script::Call,
};

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

impl From<Unavailable> for Error {
    fn from(Unavailable(text): Unavailable) -> Self {
        Self::RedisUnavailable(text)
    }
}

/// How a transaction ended.
#[derive(Debug)]
pub(crate) enum Transaction {
    /// EXEC ran: one answer per command, runtime errors included.
    Committed(Vec<Answer>),
    /// Redis refused the transaction (a command was rejected when queued): the error text,
    /// starting with its code (`EXECABORT ...`).
    Aborted(String),
}

/// The pool, what is needed to keep secrets out of error texts, and key locking.
pub(crate) struct Backend {
    pool: Pool,
    password: Option<String>,
    locking: KeyLocking,
    /// `Err` says why flagged scripts cannot be run under key locking (the Redis user may not
    /// manage ACL users); they are then refused with that reason, never run unchecked.
    lockable: Result<(), String>,
}

impl Backend {
    /// Builds the pool for `url` (forced to RESP2, whatever the URL asks, because the JSON
    /// mapping follows RESP2), checks that Redis answers a PING, and finds out whether flagged
    /// scripts can run under key locking.
    pub(crate) async fn connect(url: &str) -> Result<Self, Error> {
        let info = url
            .into_connection_info()
            .map_err(|err| Error::InvalidRedisUrl(err.to_string()))?;
        let password = info.redis_settings().password().map(str::to_owned);
        let locking = KeyLocking::new(info.redis_settings().username(), password.as_deref());
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
        let mut backend = Self {
            pool,
            password,
            locking,
            lockable: Ok(()),
        };
        if let Err(text) = backend.run(&Call::plain(Command::ping())).await? {
            return Err(Error::RedisUnavailable(backend.mask(&text)));
        }
        backend.lockable = backend.probe_key_locking().await?;
        if let Err(reason) = &backend.lockable {
            tracing::warn!(%reason, "scripts with allow-key-locking will be refused");
        }
        Ok(backend)
    }

    /// `Err` with the reason when this Redis user may not create and delete ACL users, as key
    /// locking needs.
    async fn probe_key_locking(&self) -> Result<Result<(), String>, Unavailable> {
        let mut pipe = redis::pipe();
        self.locking.probe(&mut pipe);
        pipe.ignore_errors();
        let mut lease = self.lease().await?;
        let replies = self.query(&mut lease, &pipe, 2).await?;
        lease.release();
        Ok(match replies.as_slice() {
            [setuser, deluser] => acl::check_probe(setuser, deluser),
            _ => Err("unexpected reply".to_owned()),
        }
        .map_err(|reason| self.mask(&reason)))
    }

    /// Runs one call.
    pub(crate) async fn run(&self, call: &Call) -> Result<Answer, Unavailable> {
        let answers = self.pipeline(std::slice::from_ref(call)).await?;
        answers.into_iter().next().ok_or_else(short_reply)
    }

    /// Runs calls as one pipeline (not atomic): one answer per call, in order; a call that fails
    /// does not stop the ones after it. A call under key locking is wrapped in place.
    pub(crate) async fn pipeline(&self, calls: &[Call]) -> Result<Vec<Answer>, Unavailable> {
        let mut pipe = redis::pipe();
        let slots: Vec<Slot> = calls
            .iter()
            .map(|call| match (call.locked_keys(), &self.lockable) {
                (None, _) => {
                    pipe.add_command(call.command().to_redis());
                    Slot::Plain
                }
                (Some(keys), Ok(())) => {
                    Slot::Locked(self.locking.wrap(&mut pipe, call.command(), keys))
                }
                (Some(_), Err(reason)) => Slot::Refused(format!(
                    "ERR allow-key-locking cannot be enforced, so the script was not run: {reason}"
                )),
            })
            .collect();
        let expected = slots.iter().map(Slot::replies).sum();
        pipe.ignore_errors();
        let mut lease = self.lease().await?;
        let mut replies = if expected == 0 {
            Vec::new().into_iter()
        } else {
            self.query(&mut lease, &pipe, expected).await?.into_iter()
        };
        let mut answers = Vec::with_capacity(slots.len());
        let mut denied = Vec::new();
        for slot in slots {
            match slot {
                Slot::Plain => answers.push(answer(replies.next().ok_or_else(short_reply)?)),
                Slot::Refused(text) => answers.push(Err(text)),
                Slot::Locked(user) => {
                    let wrapped: Vec<Value> = replies.by_ref().take(WRAPPED_REPLIES).collect();
                    let wrapped =
                        <[Value; WRAPPED_REPLIES]>::try_from(wrapped).map_err(|_| short_reply())?;
                    // On this error the lease is dropped with its connection, which may still
                    // be the script's user.
                    let reply = acl::unwrap(wrapped).map_err(|reason| {
                        Unavailable(self.mask(&format!("key locking failed: {reason}")))
                    })?;
                    let answer = answer(reply);
                    if answer.is_err() {
                        denied.push((answers.len(), user));
                    }
                    answers.push(answer);
                }
            }
        }
        if denied.is_empty() {
            lease.release();
        } else {
            self.explain_denials(lease, &mut answers, &denied).await;
        }
        Ok(answers)
    }

    /// Gives the errors of locked calls whose script Redis refused a command upstash-local's
    /// texts, read from the ACL log (`denied` holds each call's index and user). Best effort: if
    /// the log cannot be read, the answers keep Redis's texts and the connection is dropped.
    async fn explain_denials(
        &self,
        mut lease: Lease,
        answers: &mut [Answer],
        denied: &[(usize, String)],
    ) {
        let mut read_log = redis::cmd("ACL");
        read_log.arg("LOG").arg(acl::LOG_ENTRIES);
        let Ok(conn) = lease.conn() else {
            return;
        };
        let Ok(log) = conn.req_packed_command(&read_log).await else {
            return;
        };
        for (index, user) in denied {
            if let (Some(denial), Some(Err(text))) =
                (Denial::find(&log, user), answers.get_mut(*index))
            {
                *text = denial.message(text);
            }
        }
        lease.release();
    }

    /// Runs commands inside MULTI ... EXEC, sent as one write on one connection held for the
    /// whole exchange. MULTI and EXEC are sent as ordinary commands of a plain pipeline (not
    /// redis-rs's atomic mode) so that every reply is seen: which command was refused when
    /// queued, and each command's own result or error after EXEC.
    pub(crate) async fn transaction(&self, calls: &[Call]) -> Result<Transaction, Unavailable> {
        let mut pipe = redis::pipe();
        pipe.cmd("MULTI");
        for call in calls {
            pipe.add_command(call.command().to_redis());
        }
        pipe.cmd("EXEC");
        pipe.ignore_errors();
        let mut lease = self.lease().await?;
        let mut replies = self.query(&mut lease, &pipe, calls.len() + 2).await?;
        let exec = replies.pop();
        let outcome = match (replies.first(), exec) {
            (Some(Value::Okay), Some(Value::Array(results))) if results.len() == calls.len() => {
                Transaction::Committed(results.into_iter().map(answer).collect())
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

/// Where a call's answer comes from in a pipeline's replies.
enum Slot {
    /// One reply, the call's.
    Plain,
    /// [`WRAPPED_REPLIES`] replies, run as this ACL user.
    Locked(String),
    /// None: the call was not sent, for this reason.
    Refused(String),
}

impl Slot {
    fn replies(&self) -> usize {
        match self {
            Self::Plain => 1,
            Self::Locked(_) => WRAPPED_REPLIES,
            Self::Refused(_) => 0,
        }
    }
}

fn short_reply() -> Unavailable {
    Unavailable("unexpected reply to a pipeline".to_owned())
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
