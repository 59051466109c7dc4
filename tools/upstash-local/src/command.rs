//! Commands as the REST API receives them, and the checks they pass before they reach Redis.
//!
//! A command is a list of byte strings (Redis arguments are binary safe, and the path form can
//! carry any percent-encoded byte). JSON bodies allow strings, numbers and booleans, exactly what
//! Upstash accepts (the official JavaScript client sends `redis.hset(k, {f: false})` as a JSON
//! `false`, which Upstash stores as the text `false`); null, arrays and objects are refused here so
//! that no malformed request can reach Redis or take a pooled connection.

use serde_json::{Number, Value as Json};

/// One Redis command: the name followed by its arguments, never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    args: Vec<Vec<u8>>,
}

/// Why a request body or path could not be turned into commands. The text is what the client
/// reads after `ERR `, so it names the offending piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError(pub(crate) String);

/// Commands that would change a pooled connection's state for the next user (transactions,
/// database, protocol, client flags, authentication) or turn it into a stream that never
/// answers again (pub/sub, MONITOR, replication). Each pooled connection is shared over time
/// by every request, so none of these can be allowed through.
const DENIED: &[&str] = &[
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
    "select",
    "swapdb",
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "monitor",
    "reset",
    "quit",
    "hello",
    "auth",
    "client",
    "sync",
    "psync",
    "replconf",
];

impl Command {
    /// Builds a command from raw arguments; `None` when there are none.
    pub(crate) fn new(args: Vec<Vec<u8>>) -> Option<Self> {
        if args.is_empty() {
            None
        } else {
            Some(Self { args })
        }
    }

    /// `PING`, the check that Redis answers.
    pub(crate) fn ping() -> Self {
        Self {
            args: vec![b"PING".to_vec()],
        }
    }

    /// The arguments, name first.
    pub(crate) fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// The command with the argument at `index` (there is one) replaced by `value`.
    pub(crate) fn with_arg(mut self, index: usize, value: Vec<u8>) -> Self {
        if let Some(arg) = self.args.get_mut(index) {
            *arg = value;
        }
        self
    }

    /// The command name in lower case, for the deny list and for logs (never the arguments:
    /// they are the user's values).
    pub(crate) fn name(&self) -> String {
        self.args
            .first()
            .map(|name| String::from_utf8_lossy(name).to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// `Err` with the Upstash-style message when the command is one this server refuses.
    pub(crate) fn check_allowed(&self) -> Result<(), String> {
        let name = self.name();
        if DENIED.contains(&name.as_str()) {
            Err(format!("ERR command is not allowed: {name}"))
        } else {
            Ok(())
        }
    }

    /// The command as redis-rs sends it: the name is just the first argument on the wire.
    pub(crate) fn to_redis(&self) -> redis::Cmd {
        let mut cmd = redis::Cmd::new();
        for arg in self.args() {
            cmd.arg(arg.as_slice());
        }
        cmd
    }
}

/// Parses the body of `POST /`: one command as a JSON array of strings, numbers and booleans.
pub(crate) fn parse_single(body: &[u8]) -> Result<Command, ParseError> {
    let json: Json = serde_json::from_slice(body)
        .map_err(|err| ParseError(format!("failed to parse command: invalid JSON ({err})")))?;
    command_from_json(&json).map_err(|msg| ParseError(format!("failed to parse command: {msg}")))
}

/// Parses the body of `POST /pipeline` or `POST /multi-exec`: a non-empty JSON array of
/// commands. One bad command refuses the whole request, so nothing runs half-validated.
pub(crate) fn parse_list(body: &[u8]) -> Result<Vec<Command>, ParseError> {
    let what = "failed to parse pipeline request";
    let json: Json = serde_json::from_slice(body)
        .map_err(|err| ParseError(format!("{what}: invalid JSON ({err})")))?;
    let Json::Array(items) = json else {
        return Err(ParseError(format!(
            "{what}: expected a JSON array of commands"
        )));
    };
    if items.is_empty() {
        return Err(ParseError(format!("{what}: no commands")));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            command_from_json(item)
                .map_err(|msg| ParseError(format!("{what}: command {}: {msg}", index + 1)))
        })
        .collect()
}

/// One command from its JSON form; the error text explains what was expected.
fn command_from_json(json: &Json) -> Result<Command, String> {
    let Json::Array(items) = json else {
        return Err(format!(
            "expected an array of strings, numbers and booleans, got {}",
            kind(json)
        ));
    };
    let args = items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Json::String(text) => Ok(text.as_bytes().to_vec()),
            Json::Number(number) => Ok(number_text(number).into_bytes()),
            Json::Bool(flag) => Ok(flag.to_string().into_bytes()),
            other => Err(format!(
                "argument {} must be a string, a number or a boolean, got {}",
                index + 1,
                kind(other)
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Command::new(args).ok_or_else(|| "empty command".to_owned())
}

/// A JSON number as the decimal text Redis parses. Integers keep every digit; a float with no
/// fractional part that a JavaScript client could have meant as an integer (|x| < 2^53) is
/// written without `.0`, as JavaScript's `String(x)` would, so `["expire","k",10.0]` works;
/// other floats use the shortest text that reads back as the same value.
pub(crate) fn number_text(number: &Number) -> String {
    if let Some(int) = number.as_i64() {
        return int.to_string();
    }
    if let Some(uint) = number.as_u64() {
        return uint.to_string();
    }
    match number.as_f64() {
        Some(float) if float.fract() == 0.0 && float.abs() < 9_007_199_254_740_992.0 => {
            // Exact: the value is an integer well inside i64's range.
            (float as i64).to_string()
        }
        Some(float) => float.to_string(),
        None => number.to_string(),
    }
}

/// The name of a JSON value's type, for error messages.
fn kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        command
            .args()
            .iter()
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect()
    }

    #[test]
    fn strings_and_integers_become_arguments() {
        let command = parse_single(br#"["SET","k","v","EX",10]"#).unwrap();
        assert_eq!(args(&command), ["SET", "k", "v", "EX", "10"]);
    }

    #[test]
    fn numbers_become_their_decimal_text() {
        let command =
            parse_single(br#"["x",-5,18446744073709551615,1.5,10.0,-0.25,1e300,2e-7]"#).unwrap();
        let text = args(&command);
        assert_eq!(text[1], "-5");
        assert_eq!(text[2], "18446744073709551615");
        assert_eq!(text[3], "1.5");
        assert_eq!(text[4], "10");
        assert_eq!(text[5], "-0.25");
        assert_eq!(text[6].parse::<f64>().unwrap(), 1e300);
        assert_eq!(text[7].parse::<f64>().unwrap(), 2e-7);
    }

    #[test]
    fn unicode_and_empty_strings_are_kept() {
        let command = parse_single(r#"["set","ключ",""]"#.as_bytes()).unwrap();
        assert_eq!(command.args()[1], "ключ".as_bytes());
        assert_eq!(command.args()[2], b"");
    }

    #[test]
    fn everything_else_is_refused() {
        for body in [
            &br#"{"cmd":"get"}"#[..],
            br#""get""#,
            br#"[]"#,
            br#"["get",null]"#,
            br#"["get",["k"]]"#,
            br#"["get",{"k":1}]"#,
            br#"not json"#,
            b"",
        ] {
            let err = parse_single(body).unwrap_err();
            assert!(
                err.0.starts_with("failed to parse command"),
                "{}: {}",
                String::from_utf8_lossy(body),
                err.0
            );
        }
        let err = parse_single(br#"["get",null]"#).unwrap_err();
        assert!(err.0.contains("argument 2"), "{}", err.0);
        assert!(err.0.contains("null"), "{}", err.0);
    }

    #[test]
    fn booleans_become_their_text() {
        let command = parse_single(br#"["hset","k","f",false,"g",true]"#).unwrap();
        assert_eq!(args(&command), ["hset", "k", "f", "false", "g", "true"]);
    }

    #[test]
    fn lists_parse_every_command() {
        let commands = parse_list(br#"[["set","a",1],["get","a"]]"#).unwrap();
        assert_eq!(commands.len(), 2);
        assert_eq!(args(&commands[0]), ["set", "a", "1"]);
        assert_eq!(args(&commands[1]), ["get", "a"]);
    }

    #[test]
    fn lists_refuse_empty_and_malformed() {
        assert!(parse_list(b"[]").unwrap_err().0.contains("no commands"));
        assert!(parse_list(br#"["get","a"]"#).is_err());
        assert!(parse_list(br#"{"a":1}"#).is_err());
        let err = parse_list(br#"[["get","a"],[]]"#).unwrap_err();
        assert!(err.0.contains("command 2"), "{}", err.0);
        assert!(err.0.contains("empty command"), "{}", err.0);
    }

    #[test]
    fn connection_state_commands_are_denied_in_any_case() {
        for name in [
            "MULTI",
            "exec",
            "Discard",
            "watch",
            "UNWATCH",
            "select",
            "subscribe",
            "PSUBSCRIBE",
            "ssubscribe",
            "unsubscribe",
            "monitor",
            "reset",
            "quit",
            "hello",
            "AUTH",
            "client",
            "sync",
            "psync",
        ] {
            let command = Command::new(vec![name.as_bytes().to_vec(), b"x".to_vec()]).unwrap();
            assert_eq!(
                command.check_allowed(),
                Err(format!(
                    "ERR command is not allowed: {}",
                    name.to_ascii_lowercase()
                ))
            );
        }
    }

    #[test]
    fn ordinary_commands_are_allowed() {
        for name in [
            "get", "SET", "evalsha", "script", "time", "flushall", "ping",
        ] {
            let command = Command::new(vec![name.as_bytes().to_vec()]).unwrap();
            assert_eq!(command.check_allowed(), Ok(()), "{name}");
        }
    }
}
