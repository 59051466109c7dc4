//! Commands as the REST protocol carries them: a JSON array of strings and integers.

use serde::Serialize;

/// One argument. The protocol's body is JSON, so arguments are text or integers; binary
/// data cannot be sent as an argument (it can be read back, see `Reply::Bytes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Arg {
    Text(String),
    Int(i64),
}

impl From<&str> for Arg {
    fn from(value: &str) -> Self {
        Arg::Text(value.to_owned())
    }
}

impl From<String> for Arg {
    fn from(value: String) -> Self {
        Arg::Text(value)
    }
}

impl From<&String> for Arg {
    fn from(value: &String) -> Self {
        Arg::Text(value.clone())
    }
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Int(value)
    }
}

impl From<u32> for Arg {
    fn from(value: u32) -> Self {
        Arg::Int(value.into())
    }
}

impl From<u64> for Arg {
    fn from(value: u64) -> Self {
        // Redis integers are signed 64-bit; a larger value can only be sent as text.
        i64::try_from(value).map_or_else(|_| Arg::Text(value.to_string()), Arg::Int)
    }
}

impl From<usize> for Arg {
    fn from(value: usize) -> Self {
        Arg::from(value as u64)
    }
}

/// Commands whose re-sending cannot change the outcome, so the client may retry them after a
/// timeout or a 5xx (`docs/contract.md`, "Failure policy"). Anything not listed is sent at most once unless the caller
/// vouches for it with [`Command::idempotent`].
const READ_ONLY_COMMANDS: &[&str] = &[
    "DBSIZE",
    "ECHO",
    "EXISTS",
    "GET",
    "GETRANGE",
    "HEXISTS",
    "HGET",
    "HGETALL",
    "HKEYS",
    "HLEN",
    "HMGET",
    "HVALS",
    "LINDEX",
    "LLEN",
    "LRANGE",
    "MGET",
    "PING",
    "PTTL",
    "SCARD",
    "SISMEMBER",
    "SMEMBERS",
    "STRLEN",
    "TIME",
    "TTL",
    "TYPE",
    "ZCARD",
    "ZRANGE",
    "ZSCORE",
];

/// A Redis command with its arguments and whether re-sending it is safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    name: String,
    args: Vec<Arg>,
    idempotent: bool,
}

impl Command {
    pub fn new(name: &str) -> Command {
        let name = name.to_ascii_uppercase();
        let idempotent = READ_ONLY_COMMANDS.contains(&name.as_str());
        Command {
            name,
            args: Vec::new(),
            idempotent,
        }
    }

    pub fn arg(mut self, arg: impl Into<Arg>) -> Command {
        self.args.push(arg.into());
        self
    }

    pub fn args<A: Into<Arg>>(mut self, args: impl IntoIterator<Item = A>) -> Command {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Declares that sending this command twice has the same effect as sending it once
    /// (a plain `SET`, `DEL`, `EXPIRE`), so it may be retried after a timeout or a 5xx.
    pub fn idempotent(mut self) -> Command {
        self.idempotent = true;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The wire form: `["NAME", arg, ...]`.
    pub(crate) fn to_wire(&self) -> Vec<Arg> {
        let mut wire = Vec::with_capacity(self.args.len() + 1);
        wire.push(Arg::Text(self.name.clone()));
        wire.extend(self.args.iter().cloned());
        wire
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_a_json_array_of_strings_and_integers() {
        let command = Command::new("set")
            .arg("key")
            .arg("value")
            .arg("EX")
            .arg(10_i64);
        let json = serde_json::to_string(&command.to_wire()).unwrap();
        assert_eq!(json, r#"["SET","key","value","EX",10]"#);
    }

    #[test]
    fn reads_are_idempotent_and_writes_are_not_unless_declared() {
        assert!(Command::new("get").is_idempotent());
        assert!(Command::new("PING").is_idempotent());
        assert!(!Command::new("INCR").is_idempotent());
        assert!(!Command::new("SET").is_idempotent());
        assert!(Command::new("SET").idempotent().is_idempotent());
    }

    #[test]
    fn unsigned_values_beyond_i64_are_sent_as_text() {
        assert_eq!(Arg::from(u64::MAX), Arg::Text(u64::MAX.to_string()));
        assert_eq!(Arg::from(7_u64), Arg::Int(7));
    }
}
