//! `POST /auth/login` → 200 `{token, tokenType, expiresAt, expiresIn, refreshToken,
//! refreshExpiresAt}`; 401 `invalid_credentials` for a wrong password and an unknown email
//! alike. Each login starts a refresh-token family.

use std::sync::{Arc, LazyLock};

use lambda_http::{Body, Request, Response};

use super::{BODY_MAX_BYTES, blocking, issued, number, password, text, validation};
use crate::http::request::{client_ip, json_object, string_field};
use crate::http::{ApiError, ErrorCode};
use crate::ids::random_id;
use crate::keys::{Keys, account_id};
use crate::ratelimit::{Limit, Limiter};
use crate::redis::{RedisError, Reply};
use crate::route::{Bound, Meter, Outcome, Route, RouteScript, Runner};
use crate::startup::App;
use crate::time::now_ms;
use crate::tokens::{Family, Subject, Tokens};

const LUA: &str = include_str!("login.lua");
static SCRIPT: LazyLock<RouteScript> = LazyLock::new(|| RouteScript::new("auth_login", &[LUA]));

pub struct Login {
    runner: Runner,
    keys: Keys,
    tokens: Arc<Tokens>,
}

/// A user as `login.lua` reads it.
struct StoredUser {
    id: String,
    password_hash: String,
    token_version: u64,
    email: String,
}

/// What `login.lua` reads, by name: the user's hash and the account's failure record.
fn bind(keys: &Keys, account: &str) -> Bound {
    Bound::new().key("user", keys.user(account)).key(
        "failures",
        keys.rate_limit(Limiter::LoginAccount.name(), account),
    )
}

impl Login {
    pub(super) fn new(app: &App, tokens: Arc<Tokens>) -> Login {
        Login {
            runner: Runner::new(app),
            keys: app.keys.clone(),
            tokens,
        }
    }

    /// Computes the dummy password hash now, at the login function's cold start, so the
    /// first login of an unknown email is no slower than any other.
    pub fn warm_up(&self) {
        password::warm_up();
    }

    /// Starts a refresh-token family and answers its first tokens. Nothing is written: the
    /// family's first refresh token is derived from its id (see `tokens::RefreshTokens`).
    fn issue(&self, account: &str, user: StoredUser) -> Result<Response<Body>, ApiError> {
        let family = Family::start(now_ms())?;
        let subject = Subject {
            user_id: user.id,
            email: user.email,
            token_version: user.token_version,
            family: family.id.clone(),
        };
        let refresh_token = self.tokens.refresh().first(account, &family);
        issued(&self.tokens, &subject, refresh_token, &family)
    }
}

impl Route for Login {
    async fn handle(&self, request: &Request, meter: &mut Meter) -> Outcome {
        let body = json_object(request, BODY_MAX_BYTES)?;
        let email = validation::email(&body)?;
        let password = string_field(&body, "password")?.to_owned();
        let ip = client_ip(request);
        let account = account_id(&email);
        let lease = random_id()?;
        let limits = [
            Limit::consume(Limiter::Api, ip.as_str()),
            Limit::consume(Limiter::LoginIp, ip.as_str()),
            Limit::lease(Limiter::LoginAccount, account.as_str(), &lease),
        ];
        let values = self
            .runner
            .run(&SCRIPT, &limits, bind(&self.keys, &account), meter)
            .await?;
        let (had_failures, user) = login_lookup(values)?;

        let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
        let matches = blocking(move || password::verify(&password, stored_hash.as_deref())).await?;
        let limiter = self.runner.limiter();
        let Some(user) = user.filter(|_| matches) else {
            // Unknown email or wrong password alike: the attempt's lease becomes a recorded
            // failure either way, so neither the answer nor the lockout tells which emails
            // exist.
            limiter
                .hit(
                    self.runner.redis(),
                    &[Limit::failure_of(Limiter::LoginAccount, &account, &lease)],
                )
                .await?;
            return Err(ApiError::new(
                ErrorCode::InvalidCredentials,
                "Invalid email or password",
            ));
        };
        // A success with a clean record lets its lease lapse: no second request.
        if had_failures {
            limiter
                .reset(self.runner.redis(), Limiter::LoginAccount, &account)
                .await?;
        }
        self.issue(&account, user)
    }
}

/// Reads login's values: failures on record, then the user's fields (all nil when unknown).
fn login_lookup(values: Vec<Reply>) -> Result<(bool, Option<StoredUser>), RedisError> {
    let [had_failures, fields]: [Reply; 2] = values
        .try_into()
        .map_err(|_| RedisError::Protocol("login answered the wrong values".into()))?;
    let had_failures = had_failures.as_int()? == 1;
    let [id, password_hash, token_version, email]: [Reply; 4] = fields
        .into_array()?
        .try_into()
        .map_err(|_| RedisError::Protocol("login answered the wrong user fields".into()))?;
    if id.is_nil() {
        return Ok((had_failures, None));
    }
    Ok((
        had_failures,
        Some(StoredUser {
            id: text(id)?,
            password_hash: text(password_hash)?,
            token_version: number(token_version)?,
            email: text(email)?,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::assert_binding;

    #[test]
    fn binds_what_the_lua_reads() {
        assert_binding(LUA, &bind(&Keys::new("p:"), &account_id("ann@example.com")));
    }
}
