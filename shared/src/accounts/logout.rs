//! `POST /auth/logout` (bearer) → 200; `{"allDevices": true}` ends every token of the user.

use std::sync::LazyLock;

use http::StatusCode;
use lambda_http::Request;
use serde_json::{Map, Value, json};

use super::BODY_MAX_BYTES;
use crate::guard::{GUARD_LUA, Guard};
use crate::http::request::{invalid_field, json_object};
use crate::http::{ApiError, success};
use crate::route::{Bound, Meter, Outcome, Route, RouteScript, Runner, user_api_limit};
use crate::startup::App;
use crate::time::now_ms;
use crate::tokens::Claims;

const LUA: &str = include_str!("logout.lua");
static SCRIPT: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("auth_logout", &[GUARD_LUA, LUA]));

pub struct Logout {
    runner: Runner,
    guard: Guard,
}

/// What `logout.lua` reads, by name: the guard's keys and arguments, then its own.
fn bind(guard: &Guard, claims: &Claims, all_devices: bool) -> Bound {
    guard
        .bind(claims)
        .arg("denylist_until", Guard::denylist_until(claims))
        .arg("family_ends_at", guard.family_ends_at(claims))
        .arg("all_devices", if all_devices { "1" } else { "0" })
        .arg("now_ms", now_ms())
}

impl Logout {
    pub(super) fn new(app: &App, guard: Guard) -> Logout {
        Logout {
            runner: Runner::new(app),
            guard,
        }
    }
}

impl Route for Logout {
    async fn handle(&self, request: &Request, meter: &mut Meter) -> Outcome {
        let claims = self.guard.verify(request.headers())?;
        let bound = bind(&self.guard, &claims, all_devices(request)?);
        // Already logged out or not, the token is now dead: the answer is the same.
        self.runner
            .run(&SCRIPT, &[user_api_limit(&claims.sub)], bound, meter)
            .await?;
        let mut fields = Map::new();
        fields.insert("message".to_owned(), json!("Logged out"));
        Ok(success(StatusCode::OK, fields))
    }
}

/// `{"allDevices": true}` is optional; an empty body means this device only.
fn all_devices(request: &Request) -> Result<bool, ApiError> {
    if request.body().is_empty() {
        return Ok(false);
    }
    let body = json_object(request, BODY_MAX_BYTES)?;
    match body.get("allDevices") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(all)) => Ok(*all),
        Some(_) => Err(invalid_field(
            "allDevices",
            "allDevices must be true or false".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::fixtures::{claims, guard};
    use crate::route::assert_binding;

    #[test]
    fn binds_what_the_lua_reads() {
        assert_binding(LUA, &bind(&guard(), &claims(), true));
    }
}
