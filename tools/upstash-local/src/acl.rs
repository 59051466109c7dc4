//! Key locking enforced by Redis itself, through a throwaway ACL user per flagged script.
//!
//! Under `allow-key-locking` Upstash lets a script touch only the keys in its KEYS and refuses
//! database-wide commands. A Redis ACL user can be given exactly those rights, and Redis then
//! checks every command the script runs before that command has any effect. A locked call goes
//! to Redis as one pipeline on its pooled connection, so it costs no extra round trip:
//!
//! ```text
//! ACL SETUSER <user> reset on nopass &* +@all -flushdb ... ~<key 1> ~<key 2> ...
//! AUTH <user> -
//! EVAL ...  (or EVALSHA ...)
//! AUTH <the connection's own user> <its password>
//! ACL DELUSER <user>
//! ```
//!
//! The connection gets its own identity back before the user is deleted (deleting a user
//! disconnects its clients), and it goes back to the pool only when all five commands did what
//! they must; otherwise it is dropped, never handed to the next request as the script's user.
//! A pipeline cannot stop half-way, so a failed `ACL SETUSER` would let the script run unchecked:
//! `Backend::connect` therefore checks once that the configured Redis user may manage ACL users.
//!
//! Redis's error for a refused command names neither the key nor the command, and its wording
//! changed between versions; the ACL log names both, by user. So when a locked call fails, the
//! backend reads the log and the error becomes one of [`Denial`]'s texts.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use redis::{Pipeline, Value};

use crate::{command::Command, resp::error_text, script::is_space};

/// Commands Upstash refuses in a flagged script because they need the whole database. SELECT and
/// SWAPDB are refused too: through them a script would reach another database's keys by the
/// names it declared.
const DATABASE_WIDE: &[&str] = &[
    "flushdb",
    "flushall",
    "keys",
    "scan",
    "randomkey",
    "dbsize",
    "swapdb",
    "select",
];

/// How many of the newest ACL log entries are searched for the reason of a refusal. Each call
/// has a user of its own, so its entries are among the newest unless many other refusals
/// happened at the same moment; then the client gets Redis's own text.
pub(crate) const LOG_ENTRIES: usize = 16;

/// Replies of one locked call: the four commands around it and its own.
pub(crate) const WRAPPED_REPLIES: usize = 5;

/// Names the throwaway users, and knows the identity pooled connections go back to. Not `Debug`:
/// it holds the Redis password.
pub(crate) struct KeyLocking {
    /// Unique to this process run: several upstash-local may serve one Redis.
    users: String,
    next: AtomicU64,
    own_user: String,
    own_password: String,
}

impl KeyLocking {
    /// `user` and `password` come from the Redis URL: the identity every pooled connection has.
    pub(crate) fn new(user: Option<&str>, password: Option<&str>) -> Self {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        Self {
            users: format!("upstash-local-{}-{started:x}", std::process::id()),
            next: AtomicU64::new(0),
            // Without a password no AUTH is sent when connecting: the connection is the default
            // user, which then has no password, so any password gives that identity back.
            own_user: user
                .filter(|_| password.is_some())
                .unwrap_or("default")
                .to_owned(),
            own_password: password.unwrap_or_default().to_owned(),
        }
    }

    fn user(&self) -> String {
        format!(
            "{}-{}",
            self.users,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Adds to `pipe` the two commands that show, through [`check_probe`], whether the connection's
    /// user may manage ACL users.
    pub(crate) fn probe(&self, pipe: &mut Pipeline) {
        let user = self.user();
        pipe.cmd("ACL").arg("SETUSER").arg(&user).arg("reset");
        pipe.cmd("ACL").arg("DELUSER").arg(&user);
    }

    /// Adds to `pipe` the [`WRAPPED_REPLIES`] commands that run `command` as a new user allowed
    /// only `keys`; returns that user's name.
    pub(crate) fn wrap(&self, pipe: &mut Pipeline, command: &Command, keys: &[Vec<u8>]) -> String {
        let user = self.user();
        let mut setuser = redis::cmd("ACL");
        setuser.arg("SETUSER").arg(&user);
        setuser.arg(&["reset", "on", "nopass", "&*", "+@all"]);
        for name in DATABASE_WIDE {
            setuser.arg(format!("-{name}"));
        }
        for key in keys {
            setuser.arg(key_rule(key));
        }
        pipe.add_command(setuser);
        pipe.cmd("AUTH").arg(&user).arg("-");
        pipe.add_command(command.to_redis());
        pipe.cmd("AUTH").arg(&self.own_user).arg(&self.own_password);
        pipe.cmd("ACL").arg("DELUSER").arg(&user);
        user
    }
}

/// The call's own reply out of the [`WRAPPED_REPLIES`] of a locked call, when the commands
/// around it did what they must: the user was made and used, the connection has its own identity
/// back, and the user is gone. Otherwise why not; the connection must then be dropped.
pub(crate) fn unwrap(replies: [Value; WRAPPED_REPLIES]) -> Result<Value, String> {
    let [setuser, auth, reply, restore, deluser] = replies;
    expect("ACL SETUSER", &setuser, &Value::Okay)?;
    expect("AUTH as the script's user", &auth, &Value::Okay)?;
    expect("AUTH back", &restore, &Value::Okay)?;
    expect("ACL DELUSER", &deluser, &Value::Int(1))?;
    Ok(reply)
}

/// `Ok` when the replies to [`KeyLocking::probe`] show that ACL users can be managed.
pub(crate) fn check_probe(setuser: &Value, deluser: &Value) -> Result<(), String> {
    expect("ACL SETUSER", setuser, &Value::Okay)?;
    expect("ACL DELUSER", deluser, &Value::Int(1))
}

fn expect(step: &str, reply: &Value, expected: &Value) -> Result<(), String> {
    match reply {
        reply if reply == expected => Ok(()),
        Value::ServerError(error) => Err(format!("{step}: {}", error_text(error))),
        _ => Err(format!("{step}: unexpected reply")),
    }
}

/// The ACL rule that allows exactly `key`: glob characters escaped, and whitespace and NUL,
/// which Redis refuses in a pattern, as `?` (any one byte), the closest Redis allows.
fn key_rule(key: &[u8]) -> Vec<u8> {
    let mut rule = Vec::with_capacity(key.len() + 1);
    rule.push(b'~');
    for &byte in key {
        match byte {
            b'*' | b'?' | b'[' | b']' | b'\\' => rule.extend_from_slice(&[b'\\', byte]),
            0 => rule.push(b'?'),
            byte if is_space(byte) => rule.push(b'?'),
            byte => rule.push(byte),
        }
    }
    rule
}

/// Why Redis refused a command of a locked script, as the ACL log records it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Denial {
    /// A key not in the script's KEYS.
    Key(Vec<u8>),
    /// A database-wide command.
    Command(String),
}

impl Denial {
    /// The newest refusal of `user` in the reply to `ACL LOG`.
    pub(crate) fn find(log: &Value, user: &str) -> Option<Self> {
        let Value::Array(entries) = log else {
            return None;
        };
        entries.iter().find_map(|entry| {
            let Value::Array(fields) = entry else {
                return None;
            };
            let field = |name: &str| {
                fields
                    .chunks_exact(2)
                    .find(|pair| matches!(&pair[0], Value::BulkString(n) if n == name.as_bytes()))
                    .and_then(|pair| match &pair[1] {
                        Value::BulkString(value) => Some(value.as_slice()),
                        _ => None,
                    })
            };
            if field("username")? != user.as_bytes() {
                return None;
            }
            let object = field("object")?;
            match field("reason")? {
                b"key" => Some(Self::Key(object.to_vec())),
                b"command" => Some(Self::Command(String::from_utf8_lossy(object).into_owned())),
                _ => None,
            }
        })
    }

    /// The error the client reads in place of Redis's `redis_error`, keeping its
    /// `script: <sha>, on @user_script:<line>.` so the line that was refused is still named.
    pub(crate) fn message(&self, redis_error: &str) -> String {
        let location = redis_error
            .rfind(" script: ")
            .map_or("", |at| &redis_error[at..]);
        match self {
            Self::Key(key) => format!(
                "ERR allow-key-locking: key '{}' is not in KEYS{location}",
                String::from_utf8_lossy(key)
            ),
            Self::Command(name) => format!(
                "ERR allow-key-locking: command '{name}' needs the whole database and is \
                 refused{location}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    fn entry(reason: &str, object: &str, user: &str) -> Value {
        Value::Array(vec![
            bulk("count"),
            Value::Int(1),
            bulk("reason"),
            bulk(reason),
            bulk("context"),
            bulk("lua"),
            bulk("object"),
            bulk(object),
            bulk("username"),
            bulk(user),
        ])
    }

    fn error(line: &str) -> Value {
        redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap()
    }

    #[test]
    fn key_rules_match_only_their_key() {
        assert_eq!(key_rule(b"user:1"), b"~user:1");
        assert_eq!(key_rule(br"a*b?c[d]e\f"), br"~a\*b\?c\[d\]e\\f");
        assert_eq!(key_rule(b"a b\tc\0d\xffe"), b"~a?b?c?d\xffe");
        assert_eq!(key_rule(b""), b"~");
    }

    #[test]
    fn wrapping_puts_the_call_between_two_identities() {
        let locking = KeyLocking::new(Some("app"), Some("hunter2"));
        let mut pipe = redis::pipe();
        let command = Command::new(vec![b"EVAL".to_vec(), b"return 1".to_vec(), b"1".to_vec()]);
        let user = locking.wrap(&mut pipe, &command.unwrap(), &[b"k*".to_vec()]);
        assert!(user.starts_with(&format!("upstash-local-{}-", std::process::id())));
        let packed = String::from_utf8_lossy(&pipe.get_packed_pipeline()).into_owned();
        let lines: Vec<&str> = packed
            .split("\r\n")
            .filter(|l| !l.starts_with(['*', '$']))
            .collect();
        let setuser = [
            "ACL",
            "SETUSER",
            &user,
            "reset",
            "on",
            "nopass",
            "&*",
            "+@all",
            "-flushdb",
            "-flushall",
            "-keys",
            "-scan",
            "-randomkey",
            "-dbsize",
            "-swapdb",
            "-select",
            r"~k\*",
        ];
        let mut expected = setuser.to_vec();
        expected.extend(["AUTH", &user, "-", "EVAL", "return 1", "1"]);
        expected.extend(["AUTH", "app", "hunter2", "ACL", "DELUSER", &user, ""]);
        assert_eq!(lines, expected);
        assert_ne!(locking.user(), user, "every call has a user of its own");
    }

    #[test]
    fn without_a_password_connections_are_the_default_user() {
        let locking = KeyLocking::new(Some("ignored"), None);
        assert_eq!(locking.own_user, "default");
        assert_eq!(locking.own_password, "");
        let locking = KeyLocking::new(None, Some("pw"));
        assert_eq!(locking.own_user, "default");
        assert_eq!(locking.own_password, "pw");
    }

    #[test]
    fn unwrap_returns_the_reply_only_when_every_step_worked() {
        let ok = || {
            [
                Value::Okay,
                Value::Okay,
                Value::Int(7),
                Value::Okay,
                Value::Int(1),
            ]
        };
        assert_eq!(unwrap(ok()), Ok(Value::Int(7)));
        let mut failed_setuser = ok();
        failed_setuser[0] = error("NOPERM this user has no permissions to run the 'acl' command");
        assert_eq!(
            unwrap(failed_setuser),
            Err("ACL SETUSER: NOPERM this user has no permissions to run the 'acl' command".into())
        );
        let mut failed_restore = ok();
        failed_restore[3] = error("WRONGPASS invalid username-password pair");
        assert_eq!(
            unwrap(failed_restore),
            Err("AUTH back: WRONGPASS invalid username-password pair".into())
        );
        let mut kept_user = ok();
        kept_user[4] = Value::Int(0);
        assert_eq!(
            unwrap(kept_user),
            Err("ACL DELUSER: unexpected reply".into())
        );
        assert_eq!(check_probe(&Value::Okay, &Value::Int(1)), Ok(()));
    }

    #[test]
    fn denials_are_found_by_user() {
        let log = Value::Array(vec![
            entry("key", "other", "someone-else"),
            entry("command", "flushdb", "u-2"),
            entry("key", "secret", "u-1"),
            entry("channel", "news", "u-3"),
        ]);
        assert_eq!(
            Denial::find(&log, "u-1"),
            Some(Denial::Key(b"secret".to_vec()))
        );
        assert_eq!(
            Denial::find(&log, "u-2"),
            Some(Denial::Command("flushdb".into()))
        );
        assert_eq!(Denial::find(&log, "u-3"), None);
        assert_eq!(Denial::find(&log, "u-4"), None);
        assert_eq!(Denial::find(&Value::Nil, "u-1"), None);
    }

    #[test]
    fn messages_keep_the_script_location() {
        let redis = "ERR The user executing the script can't access at least one of the keys \
                     mentioned in the command arguments script: abc, on @user_script:3.";
        assert_eq!(
            Denial::Key(b"other".to_vec()).message(redis),
            "ERR allow-key-locking: key 'other' is not in KEYS script: abc, on @user_script:3."
        );
        assert_eq!(
            Denial::Command("flushdb".into()).message("ERR no location"),
            "ERR allow-key-locking: command 'flushdb' needs the whole database and is refused"
        );
    }
}
