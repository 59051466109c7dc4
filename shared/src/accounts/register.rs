//! `POST /auth/register` → 201 `{user}`; 409 `email_taken`.

use std::sync::LazyLock;

use http::StatusCode;
use lambda_http::Request;

use super::{BODY_MAX_BYTES, blocking, password, user_fields, validation};
use crate::http::request::{client_ip, json_object};
use crate::http::{ApiError, ErrorCode, success};
use crate::ids::random_id;
use crate::keys::{Keys, account_id};
use crate::ratelimit::{Limit, Limiter};
use crate::route::{Bound, Meter, Outcome, Route, RouteScript, Runner, single_value};
use crate::startup::App;
use crate::time::now_ms;

const LUA: &str = include_str!("register.lua");
static SCRIPT: LazyLock<RouteScript> = LazyLock::new(|| RouteScript::new("auth_register", &[LUA]));

/// Registration needs no token keys, so the register function is not given them.
pub struct Register {
    runner: Runner,
    keys: Keys,
}

/// What `register.lua` reads, by name.
struct NewUser<'a> {
    id: &'a str,
    email: &'a str,
    password_hash: String,
    created_at: u64,
}

impl NewUser<'_> {
    fn bind(self, keys: &Keys) -> Bound {
        Bound::new()
            .key("user", keys.user(&account_id(self.email)))
            .arg("user_id", self.id)
            .arg("email", self.email)
            .arg("password_hash", self.password_hash)
            .arg("created_at", self.created_at)
    }
}

impl Register {
    pub fn new(app: &App) -> Register {
        Register {
            runner: Runner::new(app),
            keys: app.keys.clone(),
        }
    }
}

impl Route for Register {
    async fn handle(&self, request: &Request, meter: &mut Meter) -> Outcome {
        let body = json_object(request, BODY_MAX_BYTES)?;
        let email = validation::email(&body)?;
        let password = validation::new_password(&body)?.to_owned();
        let ip = client_ip(request);
        let limits = [
            Limit::consume(Limiter::Api, ip.as_str()),
            Limit::consume(Limiter::RegisterIp, ip.as_str()),
        ];
        // A client this instance already refused costs no hashing either.
        self.runner.precheck(&limits, meter)?;
        let password_hash = blocking(move || password::hash(&password)).await??;
        let id = random_id()?;
        let created_at = now_ms();
        let user = NewUser {
            id: &id,
            email: &email,
            password_hash,
            created_at,
        };
        let values = self
            .runner
            .run(&SCRIPT, &limits, user.bind(&self.keys), meter)
            .await?;
        match single_value(values)?.as_int()? {
            1 => Ok(success(
                StatusCode::CREATED,
                user_fields(&id, &email, created_at),
            )),
            _ => Err(ApiError::new(
                ErrorCode::EmailTaken,
                "An account with this email already exists",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::assert_binding;

    #[test]
    fn binds_what_the_lua_reads() {
        let user = NewUser {
            id: "id",
            email: "ann@example.com",
            password_hash: "phc".to_owned(),
            created_at: 1,
        };
        assert_binding(LUA, &user.bind(&Keys::new("p:")));
    }
}
