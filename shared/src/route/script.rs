//! A route's script: its Lua composed behind the limiter prelude, and its keys and arguments
//! bound by name.
//!
//! A route's Lua file opens with named locals (`local session = KEYS[1]`); its Rust side binds
//! the same names in the same order ([`Bound::key`], [`Bound::arg`]), and each route's unit
//! test checks the two agree ([`assert_binding`]), so the order is never read positionally.

use crate::ratelimit::{Algorithm, PRELUDE};
use crate::redis::{Arg, Script, ScriptCall};

/// One route's script in each algorithm's variant, in [`Algorithm::ALL`] order: the
/// key-locking shebang, the algorithm's unit, the limiter prelude, then `parts` (shared Lua
/// such as the token guard, and the route's own file last).
#[derive(Debug)]
pub struct RouteScript {
    variants: [Script; 3],
}

impl RouteScript {
    pub fn new(name: &'static str, parts: &[&str]) -> RouteScript {
        let route = parts.concat();
        RouteScript {
            variants: Algorithm::ALL.map(|algorithm| {
                Script::key_locked(name, &format!("{}{PRELUDE}{route}", algorithm.lua()))
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
    keys: Vec<(&'static str, Arg)>,
    args: Vec<(&'static str, Arg)>,
}

impl Bound {
    pub fn new() -> Bound {
        Bound::default()
    }

    /// The next key: the route's Lua reads it as `local <name> = KEYS[i]`.
    pub fn key(mut self, name: &'static str, key: impl Into<Arg>) -> Bound {
        self.keys.push((name, key.into()));
        self
    }

    /// The next argument: the route's Lua reads it as `local <name> = ARGV[i]`.
    pub fn arg(mut self, name: &'static str, arg: impl Into<Arg>) -> Bound {
        self.args.push((name, arg.into()));
        self
    }

    /// The call with the route's keys and arguments first, as the prelude expects.
    pub(crate) fn call<'s>(self, script: &'s Script) -> ScriptCall<'s> {
        let call = self
            .keys
            .into_iter()
            .fold(script.call(), |call, (_, key)| call.key(key));
        self.args
            .into_iter()
            .fold(call, |call, (_, arg)| call.arg(arg))
    }
}

/// Fails unless `lua` opens with exactly the `local <name> = KEYS[i]` and `ARGV[i]` lines
/// that `bound` binds, names and positions alike.
#[cfg(test)]
pub(crate) fn assert_binding(lua: &str, bound: &Bound) {
    let declared = |table: &str| -> Vec<(String, usize)> {
        lua.lines()
            .filter_map(|line| {
                let (name, value) = line.strip_prefix("local ")?.split_once(" = ")?;
                let index = value.strip_prefix(table)?.strip_prefix('[')?;
                let index = index.split(']').next()?.parse().ok()?;
                Some((name.trim().to_owned(), index))
            })
            .collect()
    };
    let bound_names = |entries: &[(&'static str, Arg)]| -> Vec<(String, usize)> {
        entries
            .iter()
            .enumerate()
            .map(|(index, (name, _))| ((*name).to_owned(), index + 1))
            .collect()
    };
    assert_eq!(declared("KEYS"), bound_names(&bound.keys), "KEYS of\n{lua}");
    assert_eq!(declared("ARGV"), bound_names(&bound.args), "ARGV of\n{lua}");
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
}
