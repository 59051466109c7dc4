//! `GET /auth/me` (bearer) → 200 `{user}`.

use std::sync::LazyLock;

use http::StatusCode;
use lambda_http::Request;

use super::{number, text, user_fields};
use crate::guard::{GUARD_LUA, Guard, unauthorized};
use crate::http::success;
use crate::redis::{RedisError, Reply};
use crate::route::{Meter, Outcome, Route, RouteScript, Runner, single_value, user_api_limit};
use crate::startup::App;

const LUA: &str = include_str!("me.lua");
static SCRIPT: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("auth_me", &[GUARD_LUA, LUA]));

pub struct Me {
    runner: Runner,
    guard: Guard,
}

impl Me {
    pub(super) fn new(app: &App, guard: Guard) -> Me {
        Me {
            runner: Runner::new(app),
            guard,
        }
    }
}

impl Route for Me {
    async fn handle(&self, request: &Request, meter: &mut Meter) -> Outcome {
        let claims = self.guard.verify(request.headers())?;
        let values = self
            .runner
            .run(
                &SCRIPT,
                &[user_api_limit(&claims.sub)],
                self.guard.bind(&claims),
                meter,
            )
            .await?;
        let reply = single_value(values)?;
        if reply.is_nil() {
            return Err(unauthorized());
        }
        let [_, _, email, created_at]: [Reply; 4] = reply
            .into_array()?
            .try_into()
            .map_err(|_| RedisError::Protocol("the guard answered the wrong fields".into()))?;
        Ok(success(
            StatusCode::OK,
            user_fields(&claims.sub, &text(email)?, number(created_at)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::fixtures::{claims, guard};
    use crate::route::assert_binding;

    #[test]
    fn binds_what_the_lua_reads() {
        assert_binding(LUA, &guard().bind(&claims()));
    }
}
