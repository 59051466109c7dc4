//! Accounts and tokens: register, login, logout and me.
//!
//! The Node version limited logins in a `Map` and kept logged-out tokens in a `Set`, so a
//! second instance meant a bypassed limit and a logout that did not hold. Here the limits,
//! the users and the denylist are all in Redis, and each route is one Lua script: the
//! limiters, the token guard where there is one, and the route's work in one round trip. A
//! login that fails (or succeeds after failures) makes a second trip to record (or clear)
//! the account's failures, because only then is the outcome known.

mod password;
mod validation;

use std::sync::LazyLock;

use aws_lc_rs::digest::{SHA256, digest};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

use crate::guard::{Guard, now_seconds, unauthorized};
use crate::http::{ApiError, success};
use crate::ids::{hex, random_id};
use crate::keys::Keys;
use crate::ratelimit::{
    Limit, Limiter, Meter, RateLimiter, RouteScript, route_script, route_value,
};
use crate::redis::{RedisClient, RedisError, Reply, ScriptCall};
use crate::request::{client_ip, json_object, string_field};
use crate::startup::App;
use crate::time::{iso8601, now_ms};
use crate::tokens::{Subject, Tokens};

static REGISTER: LazyLock<RouteScript> =
    LazyLock::new(|| route_script!("auth_register", include_str!("register.lua")));
static LOGIN: LazyLock<RouteScript> =
    LazyLock::new(|| route_script!("auth_login", include_str!("login.lua")));
static ME: LazyLock<RouteScript> =
    LazyLock::new(|| route_script!("auth_me", include_str!("guard.lua"), include_str!("me.lua")));
static LOGOUT: LazyLock<RouteScript> = LazyLock::new(|| {
    route_script!(
        "auth_logout",
        include_str!("guard.lua"),
        include_str!("logout.lua")
    )
});
/// The authorizer's script: the guard alone.
pub(crate) static AUTHORIZE: LazyLock<RouteScript> = LazyLock::new(|| {
    route_script!(
        "authorize",
        include_str!("guard.lua"),
        include_str!("authorize.lua")
    )
});

/// Bodies are an email and a password (254 + 128 characters) plus JSON.
const BODY_MAX_BYTES: usize = 4 * 1024;

/// Registration needs no token keys, so the register function is not given them.
pub struct Registration {
    redis: RedisClient,
    limiter: RateLimiter,
    keys: Keys,
}

/// Login, logout and me: the routes that issue or check tokens.
pub struct Accounts {
    redis: RedisClient,
    limiter: RateLimiter,
    keys: Keys,
    guard: Guard,
}

/// A user as stored in `user:{id}`, read by login.
struct StoredUser {
    id: String,
    password_hash: String,
    token_version: u64,
    email: String,
}

impl Registration {
    pub fn new(app: &App) -> Registration {
        Registration {
            redis: app.redis.clone(),
            limiter: app.limiter.clone(),
            keys: app.keys.clone(),
        }
    }

    /// `POST /auth/register` → 201 `{user}`.
    pub async fn register(&self, request: Request) -> Response<Body> {
        Meter::metered(async |meter| self.try_register(&request, meter).await).await
    }

    async fn try_register(
        &self,
        request: &Request,
        meter: &mut Meter,
    ) -> Result<Response<Body>, ApiError> {
        let body = json_object(request, BODY_MAX_BYTES)?;
        let email = validation::email(&body)?;
        let password = validation::new_password(&body)?.to_owned();
        let ip = client_ip(request);
        let limits = [
            Limit::consume(Limiter::Api, ip.as_str()),
            Limit::consume(Limiter::RegisterIp, ip.as_str()),
        ];
        // A client this instance already refused costs no hashing either.
        self.limiter.precheck(&limits, meter)?;
        let password_hash = blocking(move || password::hash(&password)).await??;
        let id = random_id()?;
        let created_at = now_ms();
        let route = |call: ScriptCall<'static>| {
            call.key(self.keys.email(&email))
                .key(self.keys.user(&id))
                .arg(id.as_str())
                .arg(email.as_str())
                .arg(password_hash)
                .arg(created_at)
        };
        let values = self
            .limiter
            .run(&self.redis, &REGISTER, &limits, route, meter)
            .await?;
        match route_value(values)?.as_int()? {
            1 => Ok(success(
                StatusCode::CREATED,
                user_fields(&id, &email, created_at),
            )),
            _ => Err(ApiError::new(
                StatusCode::CONFLICT,
                "email_taken",
                "An account with this email already exists",
            )),
        }
    }
}

impl Accounts {
    pub fn new(app: &App, tokens: Tokens) -> Accounts {
        Accounts {
            redis: app.redis.clone(),
            limiter: app.limiter.clone(),
            guard: Guard::new(tokens, app.keys.clone()),
            keys: app.keys.clone(),
        }
    }

    /// Computes the dummy password hash now, at the login function's cold start, so the
    /// first login of an unknown email is no slower than any other. Logout and me never
    /// hash, so they skip this.
    pub fn warm_up_login(&self) {
        password::warm_up();
    }

    /// `POST /auth/login` → 200 `{token, tokenType, expiresAt, expiresIn}`.
    pub async fn login(&self, request: Request) -> Response<Body> {
        Meter::metered(async |meter| self.try_login(&request, meter).await).await
    }

    /// `POST /auth/logout` (bearer) → 200; `{"allDevices": true}` ends every session.
    pub async fn logout(&self, request: Request) -> Response<Body> {
        Meter::metered(async |meter| self.try_logout(&request, meter).await).await
    }

    /// `GET /auth/me` (bearer) → 200 `{user}`.
    pub async fn me(&self, request: Request) -> Response<Body> {
        Meter::metered(async |meter| self.try_me(&request, meter).await).await
    }

    async fn try_login(
        &self,
        request: &Request,
        meter: &mut Meter,
    ) -> Result<Response<Body>, ApiError> {
        let body = json_object(request, BODY_MAX_BYTES)?;
        let email = validation::email(&body)?;
        let password = string_field(&body, "password")?.to_owned();
        let ip = client_ip(request);
        let account = account_id(&email);
        let limits = [
            Limit::consume(Limiter::Api, ip.as_str()),
            Limit::consume(Limiter::LoginIp, ip.as_str()),
            Limit::failures(Limiter::LoginAccount, account.as_str()),
        ];
        let route = |call: ScriptCall<'static>| {
            call.key(self.keys.email(&email))
                .key(self.keys.rate_limit(Limiter::LoginAccount.name(), &account))
                .arg(self.keys.user_prefix())
        };
        let values = self
            .limiter
            .run(&self.redis, &LOGIN, &limits, route, meter)
            .await?;
        let (had_failures, user) = login_lookup(values)?;

        let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
        let matches = blocking(move || password::verify(&password, stored_hash.as_deref())).await?;
        let Some(user) = user.filter(|_| matches) else {
            // Unknown email or wrong password alike: the account's failure is recorded either
            // way, so neither the answer nor the lockout tells which emails exist. With
            // failures on record, the first round trip has counted this one already.
            if !had_failures {
                self.limiter
                    .hit(
                        &self.redis,
                        &[Limit::consume(Limiter::LoginAccount, account)],
                    )
                    .await?;
            }
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid email or password",
            ));
        };
        if had_failures {
            self.limiter
                .reset(&self.redis, Limiter::LoginAccount, &account)
                .await?;
        }
        let issued = self
            .guard
            .tokens()
            .issue(
                &Subject {
                    user_id: user.id,
                    email: user.email,
                    token_version: user.token_version,
                },
                now_seconds(),
            )
            .map_err(|error| {
                tracing::error!(%error, "cannot sign a token");
                ApiError::internal()
            })?;
        let mut fields = Map::new();
        fields.insert("token".to_owned(), json!(issued.token));
        fields.insert("tokenType".to_owned(), json!("Bearer"));
        fields.insert(
            "expiresAt".to_owned(),
            json!(iso8601(issued.expires_at.saturating_mul(1000))),
        );
        fields.insert("expiresIn".to_owned(), json!(issued.expires_in));
        Ok(success(StatusCode::OK, fields))
    }

    async fn try_logout(
        &self,
        request: &Request,
        meter: &mut Meter,
    ) -> Result<Response<Body>, ApiError> {
        let claims = self.guard.verify(request.headers())?;
        let all_devices = all_devices(request)?;
        let limits = [Limit::api(request)];
        let route = |call: ScriptCall<'static>| {
            self.guard
                .route(call, &claims)
                .arg(Guard::denylist_until(&claims))
                .arg(if all_devices { "1" } else { "0" })
        };
        // Already logged out or not, the token is now dead: the answer is the same.
        self.limiter
            .run(&self.redis, &LOGOUT, &limits, route, meter)
            .await?;
        let mut fields = Map::new();
        fields.insert("message".to_owned(), json!("Logged out"));
        Ok(success(StatusCode::OK, fields))
    }

    async fn try_me(
        &self,
        request: &Request,
        meter: &mut Meter,
    ) -> Result<Response<Body>, ApiError> {
        let claims = self.guard.verify(request.headers())?;
        let limits = [Limit::api(request)];
        let route = |call: ScriptCall<'static>| self.guard.route(call, &claims);
        let values = self
            .limiter
            .run(&self.redis, &ME, &limits, route, meter)
            .await?;
        let reply = route_value(values)?;
        if reply.is_nil() {
            return Err(unauthorized());
        }
        let [_, email, created_at]: [Reply; 3] = reply
            .into_array()?
            .try_into()
            .map_err(|_| RedisError::Protocol("the guard answered the wrong fields".into()))?;
        let email = text(email)?;
        let created_at = number(created_at)?;
        Ok(success(
            StatusCode::OK,
            user_fields(&claims.sub, &email, created_at),
        ))
    }
}

/// The per-account limiter's identifier: a hash of the normalised email, so limiter keys
/// never hold an address.
fn account_id(email: &str) -> String {
    hex(digest(&SHA256, email.as_bytes()).as_ref())
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
        Some(_) => Err(crate::request::invalid_field(
            "allDevices",
            "allDevices must be true or false".to_owned(),
        )),
    }
}

/// `{"user": {id, email, createdAt}}`: never the password hash or token version.
fn user_fields(id: &str, email: &str, created_at: u64) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(
        "user".to_owned(),
        json!({"id": id, "email": email, "createdAt": iso8601(created_at)}),
    );
    fields
}

/// Reads login's route values: failures on record, then the user or nil.
fn login_lookup(values: Vec<Reply>) -> Result<(bool, Option<StoredUser>), RedisError> {
    let mut values = values.into_iter();
    let had_failures = values.next().map(|reply| reply.as_int()).transpose()? == Some(1);
    let id = match values.next() {
        None | Some(Reply::Nil) => return Ok((had_failures, None)),
        Some(id) => text(id)?,
    };
    let fields: [Reply; 3] = values
        .next()
        .ok_or_else(|| RedisError::Protocol("login answered no user fields".into()))?
        .into_array()?
        .try_into()
        .map_err(|_| RedisError::Protocol("login answered the wrong user fields".into()))?;
    let [password_hash, token_version, email] = fields;
    Ok((
        had_failures,
        Some(StoredUser {
            id,
            password_hash: text(password_hash)?,
            token_version: number(token_version)?,
            email: text(email)?,
        }),
    ))
}

fn text(reply: Reply) -> Result<String, RedisError> {
    reply
        .into_text()?
        .ok_or_else(|| RedisError::Protocol("a stored field is missing".into()))
}

fn number(reply: Reply) -> Result<u64, RedisError> {
    reply
        .into_parsed()?
        .ok_or_else(|| RedisError::Protocol("a stored field is missing".into()))
}

/// Runs CPU-bound work (argon2) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        tracing::error!(%error, "blocking task failed");
        ApiError::internal()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_hash_the_email() {
        let id = account_id("ann@example.com");
        assert_eq!(id.len(), 64);
        assert!(!id.contains("ann"));
        assert_eq!(id, account_id("ann@example.com"));
    }
}
