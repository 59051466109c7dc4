//! Lua scripts that carry Upstash's `allow-key-locking` flag.
//!
//! Upstash runs a script under its global lock unless the script's shebang carries
//! `allow-key-locking`, alone or among other flags (`#!lua flags=no-writes,allow-key-locking`);
//! with it the script locks only its KEYS, so it may touch no other key and run no database-wide
//! command. Redis 7 refuses that flag (`ERR Unexpected flag in script shebang`), so before Redis
//! sees a flagged script this module takes that one flag out of the shebang line, keeping every
//! other flag and every line (Redis's error texts keep pointing at the right line), and marks the
//! call so that the backend runs it under the flag's rules (see `acl`).
//!
//! Taking the flag out changes the text, hence the SHA-1 Redis knows the script by, while a
//! client knows only the SHA-1 of what it sent. So `SCRIPT LOAD` answers the client's SHA-1, and
//! `EVALSHA` and `SCRIPT EXISTS` translate it through a map filled whenever a flagged script
//! passes by. A SHA-1 that is not in the map goes to Redis unchanged: an unknown script gets
//! Redis's own `NOSCRIPT`, as it would from Upstash. After `SCRIPT FLUSH` the map still translates
//! and Redis answers `NOSCRIPT`, so a client's usual fallback (EVAL) loads the script again.

use std::{
    collections::HashMap,
    fmt::Write as _,
    sync::{Mutex, PoisonError},
};

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use redis::Value;

use crate::{command::Command, resp::Answer};

/// The shebang flag Upstash reads and Redis refuses.
const KEY_LOCKING: &[u8] = b"allow-key-locking";

/// Where a command runs, which decides whether a flagged script's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// On its own or in a pipeline: a flagged script runs under key locking.
    Separately,
    /// In `/multi-exec`: Upstash runs every script of a transaction under the global lock,
    /// flagged or not, so the flag is accepted and its rules do not apply.
    InTransaction,
}

/// The SHA-1 Redis knows a flagged script by, and the one its client knows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shas {
    redis: String,
    client: String,
}

/// A command as Redis must receive it, and what its run and its answer need.
#[derive(Debug)]
pub(crate) struct Call {
    command: Command,
    /// The script's KEYS when it runs under key locking: the only keys it may touch.
    locked_keys: Option<Vec<Vec<u8>>>,
    /// For a flagged script, so that no answer shows the client a SHA-1 it never computed.
    shas: Option<Shas>,
    /// A `SCRIPT LOAD` of a flagged script, whose answer is the client's SHA-1.
    loads: bool,
}

impl Call {
    /// A command that goes to Redis as it is.
    pub(crate) fn plain(command: Command) -> Self {
        Self {
            command,
            locked_keys: None,
            shas: None,
            loads: false,
        }
    }

    /// A flagged script (`EVAL*` or `EVALSHA*`, already rewritten for Redis).
    fn flagged(command: Command, shas: Shas, run: Run) -> Self {
        let locked_keys = (run == Run::Separately).then(|| declared_keys(command.args()));
        Self {
            command,
            locked_keys,
            shas: Some(shas),
            loads: false,
        }
    }

    pub(crate) fn command(&self) -> &Command {
        &self.command
    }

    /// `Some(KEYS)` when the call must run under key locking.
    pub(crate) fn locked_keys(&self) -> Option<&[Vec<u8>]> {
        self.locked_keys.as_deref()
    }

    /// Redis's answer as the client must see it: the client's SHA-1 wherever Redis would show
    /// its own (the answer of `SCRIPT LOAD`, the `script: <sha>` of an error).
    pub(crate) fn answer(&self, answer: Answer) -> Answer {
        let Some(shas) = &self.shas else {
            return answer;
        };
        match answer {
            Ok(_) if self.loads => Ok(Value::BulkString(shas.client.clone().into_bytes())),
            Err(text) => Err(text.replace(&shas.redis, &shas.client)),
            ok => ok,
        }
    }
}

/// The client's SHA-1 of every flagged script seen so far, mapped to Redis's. Unflagged scripts
/// need no entry (both SHA-1s are the same); the map grows with the number of distinct flagged
/// scripts, as Redis's own script cache does.
#[derive(Debug, Default)]
pub(crate) struct Scripts {
    redis_sha: Mutex<HashMap<String, String>>,
}

impl Scripts {
    /// The call that runs `command` as Upstash would: any other command goes through unchanged.
    pub(crate) fn prepare(&self, command: Command, run: Run) -> Call {
        let subcommand = command
            .args()
            .get(1)
            .map(|arg| arg.to_ascii_lowercase())
            .unwrap_or_default();
        match (command.name().as_str(), subcommand.as_slice()) {
            ("eval" | "eval_ro", _) => match self.rewrite(&command, 1) {
                Some((command, shas)) => Call::flagged(command, shas, run),
                None => Call::plain(command),
            },
            ("evalsha" | "evalsha_ro", sha) => match self.redis_sha(sha) {
                Some(shas) => {
                    let command = command.with_arg(1, shas.redis.clone().into_bytes());
                    Call::flagged(command, shas, run)
                }
                None => Call::plain(command),
            },
            ("script", b"load") => match self.rewrite(&command, 2) {
                Some((command, shas)) => Call {
                    shas: Some(shas),
                    loads: true,
                    ..Call::plain(command)
                },
                None => Call::plain(command),
            },
            ("script", b"exists") => {
                let mut command = command;
                for index in 2..command.args().len() {
                    let sha = command.args()[index].to_ascii_lowercase();
                    if let Some(shas) = self.redis_sha(&sha) {
                        command = command.with_arg(index, shas.redis.into_bytes());
                    }
                }
                Call::plain(command)
            }
            _ => Call::plain(command),
        }
    }

    /// When the script at `index` is flagged: the command with the flag taken out, and both
    /// SHA-1s, now remembered.
    fn rewrite(&self, command: &Command, index: usize) -> Option<(Command, Shas)> {
        let script = command.args().get(index)?;
        let stripped = without_key_locking(script)?;
        let shas = Shas {
            redis: sha1_hex(&stripped),
            client: sha1_hex(script),
        };
        self.redis_sha
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(shas.client.clone(), shas.redis.clone());
        Some((command.clone().with_arg(index, stripped), shas))
    }

    /// Both SHA-1s of a flagged script the client names by `sha` (lower case, as Redis reads
    /// SHA-1s whatever their case).
    fn redis_sha(&self, sha: &[u8]) -> Option<Shas> {
        let client = std::str::from_utf8(sha).ok()?;
        let redis = self
            .redis_sha
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(client)?
            .clone();
        Some(Shas {
            redis,
            client: client.to_owned(),
        })
    }
}

/// The script with `allow-key-locking` taken out of its shebang's `flags=`, or `None` when the
/// shebang does not carry that flag. Like Redis, the shebang is the first line of a script that
/// starts with `#!`, split at whitespace, with flags split at commas; every other byte stays.
pub(crate) fn without_key_locking(script: &[u8]) -> Option<Vec<u8>> {
    if !script.starts_with(b"#!") {
        return None;
    }
    let line_end = script
        .iter()
        .position(|&byte| byte == b'\n')
        .unwrap_or(script.len());
    let (line, rest) = script.split_at(line_end);
    let mut rewritten = Vec::with_capacity(script.len());
    let mut found = false;
    let mut start = 0;
    while let Some(&first) = line.get(start) {
        // A run of whitespace, or a run of anything else: one shebang argument.
        let blank = is_space(first);
        let end = line[start..]
            .iter()
            .position(|&byte| is_space(byte) != blank)
            .map_or(line.len(), |length| start + length);
        let piece = &line[start..end];
        match piece.strip_prefix(b"flags=") {
            Some(flags) => {
                let all: Vec<&[u8]> = flags.split(|&byte| byte == b',').collect();
                let kept: Vec<&[u8]> = all.iter().copied().filter(|f| *f != KEY_LOCKING).collect();
                found |= kept.len() < all.len();
                rewritten.extend_from_slice(b"flags=");
                rewritten.extend_from_slice(&kept.join(&b','));
            }
            None => rewritten.extend_from_slice(piece),
        }
        start = end;
    }
    rewritten.extend_from_slice(rest);
    found.then_some(rewritten)
}

/// Whitespace as Redis's C code reads it (`isspace`): where it splits a shebang line, and what it
/// refuses inside an ACL key pattern.
pub(crate) fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The KEYS of `EVAL* script numkeys key... arg...` (or `EVALSHA*`). A `numkeys` Redis would
/// refuse gives fewer keys or none: the script then runs under stricter rules, and Redis refuses
/// the call before it runs anyway.
fn declared_keys(args: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let count = args
        .get(2)
        .and_then(|count| std::str::from_utf8(count).ok())
        .and_then(|count| count.parse::<usize>().ok())
        .unwrap_or(0);
    args.iter().skip(3).take(count).cloned().collect()
}

/// Lower-case hexadecimal SHA-1, the form Redis answers and `EVALSHA` takes.
fn sha1_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(40);
    for byte in digest(&SHA1_FOR_LEGACY_USE_ONLY, bytes).as_ref() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(args: &[&[u8]]) -> Command {
        Command::new(args.iter().map(|arg| arg.to_vec()).collect()).unwrap()
    }

    fn args(call: &Call) -> Vec<String> {
        call.command()
            .args()
            .iter()
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect()
    }

    const FLAGGED: &[u8] = b"#!lua flags=allow-key-locking\nreturn redis.call('GET', KEYS[1])";
    const STRIPPED: &[u8] = b"#!lua flags=\nreturn redis.call('GET', KEYS[1])";

    #[test]
    fn the_flag_alone_leaves_an_empty_flag_list() {
        assert_eq!(without_key_locking(FLAGGED).as_deref(), Some(STRIPPED));
    }

    #[test]
    fn other_flags_and_lines_stay() {
        for (script, expected) in [
            (
                &b"#!lua flags=no-writes,allow-key-locking\nreturn 1\n"[..],
                &b"#!lua flags=no-writes\nreturn 1\n"[..],
            ),
            (
                b"#!lua flags=allow-key-locking,no-writes,allow-stale",
                b"#!lua flags=no-writes,allow-stale",
            ),
            (
                b"#!lua  \tflags=allow-key-locking \n\nreturn 1",
                b"#!lua  \tflags= \n\nreturn 1",
            ),
        ] {
            assert_eq!(
                without_key_locking(script).as_deref(),
                Some(expected),
                "{}",
                String::from_utf8_lossy(script)
            );
        }
    }

    #[test]
    fn scripts_without_the_flag_are_left_alone() {
        for script in [
            &b"return 1"[..],
            b"#!lua\nreturn 1",
            b"#!lua flags=no-writes\nreturn 1",
            b"#!lua flags=allow-key-locking-not\nreturn 1",
            b"-- #!lua flags=allow-key-locking\nreturn 1",
            b"#!lua\n-- flags=allow-key-locking",
            b"",
        ] {
            assert_eq!(without_key_locking(script), None);
        }
    }

    #[test]
    fn sha1_is_lower_case_hex() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn eval_of_a_flagged_script_is_rewritten_and_locked_to_its_keys() {
        let scripts = Scripts::default();
        let call = scripts.prepare(
            command(&[b"EVAL", FLAGGED, b"2", b"a", b"b", b"arg"]),
            Run::Separately,
        );
        assert_eq!(call.command().args()[1], STRIPPED);
        assert_eq!(
            call.locked_keys(),
            Some(&[b"a".to_vec(), b"b".to_vec()][..])
        );

        let in_transaction = scripts.prepare(
            command(&[b"eval_ro", FLAGGED, b"1", b"a"]),
            Run::InTransaction,
        );
        assert_eq!(in_transaction.command().args()[1], STRIPPED);
        assert_eq!(in_transaction.locked_keys(), None);
    }

    #[test]
    fn unflagged_scripts_and_other_commands_are_plain() {
        let scripts = Scripts::default();
        for args in [
            &[&b"EVAL"[..], b"return 1", b"0"][..],
            &[
                b"EVALSHA",
                b"0000000000000000000000000000000000000000",
                b"0",
            ],
            &[b"SCRIPT", b"LOAD", b"return 1"],
            &[b"GET", b"k"],
        ] {
            let original = command(args);
            let call = scripts.prepare(original.clone(), Run::Separately);
            assert_eq!(call.command(), &original);
            assert_eq!(call.locked_keys(), None);
            assert_eq!(call.answer(Err("ERR x".into())), Err("ERR x".into()));
        }
    }

    #[test]
    fn a_bad_numkeys_locks_to_fewer_keys() {
        assert!(declared_keys(&[b"EVAL".to_vec(), b"s".to_vec()]).is_empty());
        let args: Vec<Vec<u8>> = [&b"EVAL"[..], b"s", b"-1", b"a"]
            .iter()
            .map(|arg| arg.to_vec())
            .collect();
        assert!(declared_keys(&args).is_empty());
        let args: Vec<Vec<u8>> = [&b"EVAL"[..], b"s", b"5", b"a"]
            .iter()
            .map(|arg| arg.to_vec())
            .collect();
        assert_eq!(declared_keys(&args), [b"a".to_vec()]);
    }

    #[test]
    fn clients_see_their_own_sha() {
        let scripts = Scripts::default();
        let client = sha1_hex(FLAGGED);
        let redis = sha1_hex(STRIPPED);

        let load = scripts.prepare(command(&[b"script", b"load", FLAGGED]), Run::Separately);
        assert_eq!(load.command().args()[2], STRIPPED);
        assert_eq!(load.locked_keys(), None);
        assert_eq!(
            load.answer(Ok(Value::BulkString(redis.clone().into_bytes()))),
            Ok(Value::BulkString(client.clone().into_bytes()))
        );

        let upper = client.to_ascii_uppercase();
        let evalsha = scripts.prepare(
            command(&[b"EVALSHA", upper.as_bytes(), b"1", b"k"]),
            Run::Separately,
        );
        assert_eq!(args(&evalsha), ["EVALSHA", &redis, "1", "k"]);
        assert_eq!(evalsha.locked_keys(), Some(&[b"k".to_vec()][..]));
        assert_eq!(
            evalsha.answer(Err(format!("ERR boom script: {redis}, on @user_script:2."))),
            Err(format!("ERR boom script: {client}, on @user_script:2."))
        );
        assert_eq!(evalsha.answer(Ok(Value::Int(1))), Ok(Value::Int(1)));

        let unknown = "1111111111111111111111111111111111111111";
        let exists = scripts.prepare(
            command(&[b"SCRIPT", b"EXISTS", client.as_bytes(), unknown.as_bytes()]),
            Run::Separately,
        );
        assert_eq!(args(&exists), ["SCRIPT", "EXISTS", &redis, unknown]);
    }
}
