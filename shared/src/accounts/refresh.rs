//! `POST /auth/refresh` → 200, the same fields as login: a refresh token is consumed and
//! replaced by its successor, with a new access token of the same family. A rotated token
//! presented again after the grace period is reuse: its whole family is revoked, access
//! tokens included. Every refusal is the same 401 `invalid_refresh_token`.

use std::sync::{Arc, LazyLock};

use lambda_http::Request;

use super::{BODY_MAX_BYTES, issued, number, text};
use crate::http::request::{json_object, string_field};
use crate::http::{ApiError, ErrorCode};
use crate::keys::Keys;
use crate::redis::{RedisError, Reply};
use crate::route::{Bound, Meter, Outcome, Route, RouteScript, Runner, api_limit, single_value};
use crate::startup::App;
use crate::time::now_ms;
use crate::tokens::{Presented, Subject, Tokens, secret_hash};

const LUA: &str = include_str!("refresh.lua");
static SCRIPT: LazyLock<RouteScript> = LazyLock::new(|| RouteScript::new("auth_refresh", &[LUA]));

pub struct Refresh {
    runner: Runner,
    keys: Keys,
    tokens: Arc<Tokens>,
}

/// What `refresh.lua` reads, by name.
struct Rotation<'a> {
    presented: &'a Presented,
    presented_token: &'a str,
    successor: &'a str,
    first: bool,
    family_ends_at: u64,
    grace_ms: u64,
}

impl Rotation<'_> {
    fn bind(&self, keys: &Keys) -> Bound {
        Bound::new()
            .key(
                "family",
                keys.family(&self.presented.account, &self.presented.family.id),
            )
            .key("user", keys.user(&self.presented.account))
            .arg("presented", secret_hash(self.presented_token))
            .arg("successor", secret_hash(self.successor))
            .arg("first", if self.first { "1" } else { "0" })
            .arg("started_ms", self.presented.family.started_ms)
            .arg("family_ends_at", self.family_ends_at)
            .arg("grace_ms", self.grace_ms)
    }
}

impl Refresh {
    pub(super) fn new(app: &App, tokens: Arc<Tokens>) -> Refresh {
        Refresh {
            runner: Runner::new(app),
            keys: app.keys.clone(),
            tokens,
        }
    }
}

impl Route for Refresh {
    async fn handle(&self, request: &Request, meter: &mut Meter) -> Outcome {
        let body = json_object(request, BODY_MAX_BYTES)?;
        let token = string_field(&body, "refreshToken")?;
        let limits = [api_limit(request)];
        let refresh = self.tokens.refresh();
        let Some(presented) = refresh.parse(token, now_ms()) else {
            // Malformed or past its family's life: refused, at the price of any request.
            self.runner.spend(&limits, meter).await?;
            return Err(invalid());
        };
        let successor = refresh.successor(&presented);
        let rotation = Rotation {
            presented: &presented,
            presented_token: token,
            successor: &successor,
            first: refresh.is_first(&presented),
            family_ends_at: refresh.expires_at_ms(&presented.family).div_ceil(1000),
            grace_ms: refresh.grace_ms(),
        };
        let values = self
            .runner
            .run(&SCRIPT, &limits, rotation.bind(&self.keys), meter)
            .await?;
        let mut values = values.into_iter();
        let verdict = values.next().map(|value| value.as_int()).transpose()?;
        match verdict {
            Some(1) => {
                let subject = subject(single_value(values.collect())?, &presented)?;
                issued(&self.tokens, &subject, successor, &presented.family)
            }
            Some(-1) => {
                tracing::warn!(
                    family = %presented.family.id,
                    "a used refresh token was presented again; its family is revoked"
                );
                Err(invalid())
            }
            _ => Err(invalid()),
        }
    }
}

/// The user a rotation answered, as the new access token's subject.
fn subject(identity: Reply, presented: &Presented) -> Result<Subject, RedisError> {
    let [id, token_version, email]: [Reply; 3] = identity
        .into_array()?
        .try_into()
        .map_err(|_| RedisError::Protocol("refresh answered the wrong user fields".into()))?;
    Ok(Subject {
        user_id: text(id)?,
        email: text(email)?,
        token_version: number(token_version)?,
        family: presented.family.id.clone(),
    })
}

/// 401 `invalid_refresh_token`: one answer for unknown, expired, revoked and reused tokens.
fn invalid() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidRefreshToken,
        "The refresh token is invalid or expired; log in again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Pairs;
    use crate::route::assert_binding;
    use crate::tokens::{Family, TokenConfig};

    #[test]
    fn binds_what_the_lua_reads() {
        let env = Pairs::new(&[("JWT_SECRET", "a-test-secret-of-at-least-32-bytes-long")]);
        let tokens = Tokens::new(TokenConfig::from_env(&env).unwrap());
        let family = Family::start(1_000).unwrap();
        let token = tokens.refresh().first(&"a".repeat(64), &family);
        let presented = tokens.refresh().parse(&token, 2_000).unwrap();
        let rotation = Rotation {
            presented: &presented,
            presented_token: &token,
            successor: &tokens.refresh().successor(&presented),
            first: true,
            family_ends_at: 3,
            grace_ms: 10_000,
        };
        assert_binding(LUA, &rotation.bind(&Keys::new("p:")));
    }
}
