//! Lua scripts, run by their SHA-1 so the source crosses the network only when Redis has
//! forgotten it (a `NOSCRIPT` answer after a restart or `SCRIPT FLUSH`).

use std::borrow::Cow;

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};

use super::command::Arg;
use crate::ids::hex;

/// The first line of every script the functions send. Upstash runs a script under its
/// global lock (nothing else runs meanwhile) unless the script declares key-level locking;
/// with the flag it locks only the keys in `KEYS`, so requests on disjoint keys run in
/// parallel, and any key the script touches that is not in `KEYS` is refused
/// (`docs/contract.md`, "Upstash rules").
pub const KEY_LOCKING_SHEBANG: &str = "#!lua flags=allow-key-locking\n";

/// A Lua script and its SHA-1, computed once when the script is built. Scripts live in
/// statics (`LazyLock<Script>`), so that is once per cold start.
#[derive(Debug)]
pub struct Script {
    name: &'static str,
    source: Cow<'static, str>,
    sha1: String,
}

impl Script {
    /// `name` identifies the script in logs and errors in place of its source. The SHA-1 is
    /// that of the exact text sent, as Upstash and Redis compute it.
    pub fn new(name: &'static str, source: impl Into<Cow<'static, str>>) -> Script {
        let source = source.into();
        let sha1 = hex(digest(&SHA1_FOR_LEGACY_USE_ONLY, source.as_bytes()).as_ref());
        Script { name, source, sha1 }
    }

    /// A script under key-level locking: [`KEY_LOCKING_SHEBANG`] and then `body`, which must
    /// receive every key it touches in `KEYS`.
    pub fn key_locked(name: &'static str, body: &str) -> Script {
        Script::new(name, format!("{KEY_LOCKING_SHEBANG}{body}"))
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn sha1(&self) -> &str {
        &self.sha1
    }

    pub fn call(&self) -> ScriptCall<'_> {
        ScriptCall {
            script: self,
            keys: Vec::new(),
            args: Vec::new(),
            idempotent: false,
        }
    }
}

/// One invocation of a script: its keys and arguments. Scripts usually write, so a call is
/// sent at most once unless declared idempotent.
#[derive(Debug, Clone)]
pub struct ScriptCall<'s> {
    script: &'s Script,
    keys: Vec<Arg>,
    args: Vec<Arg>,
    idempotent: bool,
}

impl<'s> ScriptCall<'s> {
    pub fn key(mut self, key: impl Into<Arg>) -> Self {
        self.keys.push(key.into());
        self
    }

    pub fn arg(mut self, arg: impl Into<Arg>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<A: Into<Arg>>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Declares that running the script twice has the same effect as once (a pure read).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    pub fn script(&self) -> &'s Script {
        self.script
    }

    /// `["EVALSHA", sha1, numkeys, keys..., args...]`
    pub(crate) fn evalsha_wire(&self) -> Vec<Arg> {
        self.wire("EVALSHA", &self.script.sha1)
    }

    /// `["EVAL", source, numkeys, keys..., args...]`, for when Redis lacks the script.
    pub(crate) fn eval_wire(&self) -> Vec<Arg> {
        self.wire("EVAL", &self.script.source)
    }

    fn wire(&self, verb: &str, body: &str) -> Vec<Arg> {
        let mut wire = Vec::with_capacity(3 + self.keys.len() + self.args.len());
        wire.push(Arg::from(verb));
        wire.push(Arg::from(body));
        wire.push(Arg::from(self.keys.len()));
        wire.extend(self.keys.iter().cloned());
        wire.extend(self.args.iter().cloned());
        wire
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_what_redis_computes() {
        // `redis-cli SCRIPT LOAD "return 1"` answers this digest.
        let script = Script::new("one", "return 1");
        assert_eq!(script.sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
    }

    #[test]
    fn key_locked_scripts_open_with_the_flag_and_hash_the_text_sent() {
        let script = Script::key_locked("one", "return 1");
        assert_eq!(script.source(), "#!lua flags=allow-key-locking\nreturn 1");
        // `printf '#!lua flags=allow-key-locking\nreturn 1' | sha1sum`
        assert_eq!(script.sha1(), "e7d3065bbe862e0ef8706b37e94e4260d9d3bbc3");
    }

    #[test]
    fn wire_forms_carry_key_count_keys_then_args() {
        let script = Script::new("echo", "return ARGV[1]");
        let call = script.call().key("k1").key("k2").arg("a").arg(5_i64);
        let evalsha = serde_json::to_string(&call.evalsha_wire()).unwrap();
        assert_eq!(
            evalsha,
            format!(r#"["EVALSHA","{}",2,"k1","k2","a",5]"#, script.sha1())
        );
        let eval = serde_json::to_string(&call.eval_wire()).unwrap();
        assert_eq!(eval, r#"["EVAL","return ARGV[1]",2,"k1","k2","a",5]"#);
    }
}
