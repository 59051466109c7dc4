//! A route's script: its Lua composed behind the limiter prelude, and its keys and arguments
//! bound by name.
//!
//! A route's Lua file opens with named locals (`local session = KEYS[1]`); its Rust side binds
//! the same names in the same order ([`Bound::key`], [`Bound::arg`]), and each route's unit
//! test checks the two agree ([`assert_binding`]), so the order is never read positionally.
//! A building block (`crate::blocks`) adds its keys and arguments to a route's binding under
//! names derived from one the route picks, and a route that reads a number of keys known only
//! at run time (the shards of some counters) binds them as one run ([`Bound::key_run`]).

use std::borrow::Cow;

use crate::ratelimit::{Algorithm, PRELUDE};
use crate::redis::{Arg, Script, ScriptCall};

/// `key_run(first)` and `limited(work, ...)`, composed behind the prelude in every route
/// script.
const HELPERS_LUA: &str = include_str!("helpers.lua");

/// A key's or argument's name in a route's Lua.
type Name = Cow<'static, str>;

/// One route's script in each algorithm's variant, in [`Algorithm::ALL`] order: the
/// key-locking shebang, the algorithm's unit, the limiter prelude and its helpers, then `parts`
/// (shared Lua such as the token guard or a block's functions, and the route's own file last).
#[derive(Debug)]
pub struct RouteScript {
    variants: [Script; 3],
}

impl RouteScript {
    pub fn new(name: &'static str, parts: &[&str]) -> RouteScript {
        let route = parts.concat();
        RouteScript {
            variants: Algorithm::ALL.map(|algorithm| {
                Script::key_locked(
                    name,
                    &format!("{}{PRELUDE}{HELPERS_LUA}{route}", algorithm.lua()),
                )
            }),
        }
    }

    pub fn variant(&self, algorithm: Algorithm) -> &Script {
        &self.variants[algorithm.index()]
    }
}

/// A route's own keys and arguments, each under the name its Lua gives it.
#[derive(Debug, Default, Clone)]
pub struct Bound {
    keys: Vec<(Name, Arg)>,
    run: Option<(Name, Vec<Arg>)>,
    args: Vec<(Name, Arg)>,
}

impl Bound {
    pub fn new() -> Bound {
        Bound::default()
    }

    /// The next key: the route's Lua reads it as `local <name> = KEYS[i]`.
    pub fn key(mut self, name: impl Into<Name>, key: impl Into<Arg>) -> Bound {
        self.keys.push((name.into(), key.into()));
        self
    }

    /// Any number of keys under one name, sent after every key bound with [`Bound::key`]: the
    /// route's Lua reads them as a list, `local <name> = key_run(i)`, `i` being the place
    /// after those keys. One run per binding: a second call replaces the first.
    pub fn key_run<K: Into<Arg>>(
        mut self,
        name: impl Into<Name>,
        keys: impl IntoIterator<Item = K>,
    ) -> Bound {
        self.run = Some((name.into(), keys.into_iter().map(Into::into).collect()));
        self
    }

    /// The next argument: the route's Lua reads it as `local <name> = ARGV[i]`.
    pub fn arg(mut self, name: impl Into<Name>, arg: impl Into<Arg>) -> Bound {
        self.args.push((name.into(), arg.into()));
        self
    }

    /// The call with the route's keys (its run last) and arguments first, as the prelude
    /// expects.
    pub(crate) fn call<'s>(self, script: &'s Script) -> ScriptCall<'s> {
        let run = self.run.into_iter().flat_map(|(_, keys)| keys);
        let call = self
            .keys
            .into_iter()
            .map(|(_, key)| key)
            .chain(run)
            .fold(script.call(), ScriptCall::key);
        self.args
            .into_iter()
            .fold(call, |call, (_, arg)| call.arg(arg))
    }
}

/// Fails unless `lua` opens with exactly the `local <name> = KEYS[i]`, `key_run(i)` and
/// `ARGV[i]` lines that `bound` binds, names and positions alike.
#[cfg(test)]
pub(crate) fn assert_binding(lua: &str, bound: &Bound) {
    let declared = |table: &str, open: char, close: char| -> Vec<(String, usize)> {
        lua.lines()
            .filter_map(|line| {
                let (name, value) = line.strip_prefix("local ")?.split_once(" = ")?;
                let index = value.strip_prefix(table)?.strip_prefix(open)?;
                let index = index.split(close).next()?.parse().ok()?;
                Some((name.trim().to_owned(), index))
            })
            .collect()
    };
    let bound_names = |entries: &[(Name, Arg)]| -> Vec<(String, usize)> {
        entries
            .iter()
            .enumerate()
            .map(|(index, (name, _))| (name.to_string(), index + 1))
            .collect()
    };
    let run: Vec<(String, usize)> = bound
        .run
        .iter()
        .map(|(name, _)| (name.to_string(), bound.keys.len() + 1))
        .collect();
    assert_eq!(
        declared("KEYS", '[', ']'),
        bound_names(&bound.keys),
        "KEYS of\n{lua}"
    );
    assert_eq!(declared("key_run", '(', ')'), run, "key_run of\n{lua}");
    assert_eq!(
        declared("ARGV", '[', ']'),
        bound_names(&bound.args),
        "ARGV of\n{lua}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_is_key_locked_and_ends_with_the_route() {
        let script = RouteScript::new("probe", &["-- shared\n", "return rl_reply(rl_enforce())\n"]);
        for (algorithm, marker) in Algorithm::ALL.into_iter().zip(["GCRA", "Fixed", "Sliding"]) {
            let variant = script.variant(algorithm);
            assert_eq!(variant.name(), "probe");
            assert!(
                variant
                    .source()
                    .starts_with("#!lua flags=allow-key-locking\n")
            );
            assert!(variant.source().contains(marker), "{algorithm:?}");
            assert!(
                variant
                    .source()
                    .ends_with("-- shared\nreturn rl_reply(rl_enforce())\n")
            );
        }
    }

    #[test]
    fn a_binding_must_match_the_lua_header() {
        let lua = "local session = KEYS[1]\nlocal total = KEYS[2]\nlocal token = ARGV[1]\n";
        let bound = Bound::new()
            .key("session", "k1")
            .key("total", "k2")
            .arg("token", "t");
        assert_binding(lua, &bound);
        let swapped = Bound::new()
            .key("total", "k2")
            .key("session", "k1")
            .arg("token", "t");
        let outcome = std::panic::catch_unwind(|| assert_binding(lua, &swapped));
        assert!(outcome.is_err(), "a swapped binding passed");
    }

    #[test]
    fn a_run_follows_the_named_keys_whatever_the_order_of_binding() {
        let lua = "local session = KEYS[1]\nlocal shards = key_run(2)\nlocal token = ARGV[1]\n";
        let bound = Bound::new()
            .key_run("shards", ["s1", "s2", "s3"])
            .key("session", "k1")
            .arg("token", "t");
        assert_binding(lua, &bound);
        let script = Script::new("probe", "return 1");
        let wire = serde_json::to_string(&bound.call(&script).evalsha_wire()).unwrap();
        assert_eq!(
            wire,
            format!(
                r#"["EVALSHA","{}",4,"k1","s1","s2","s3","t"]"#,
                script.sha1()
            )
        );
        let misplaced = Bound::new()
            .key("session", "k1")
            .key("total", "k2")
            .key_run("shards", ["s1"])
            .arg("token", "t");
        let outcome = std::panic::catch_unwind(|| assert_binding(lua, &misplaced));
        assert!(outcome.is_err(), "a run declared at the wrong place passed");
    }
}
