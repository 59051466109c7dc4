//! The HttpApi's default Lambda authorizer (payload 2.0, simple responses): any route a
//! team adds later is protected by the same guard as edgestate's own, unless it opts out.
//!
//! It fails closed: a token it cannot confirm as live, because Redis is out of reach
//! included, is denied. Result caching stays off in the template, so a logout is honoured
//! by the very next request.

use std::sync::{Arc, LazyLock};

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde::Serialize;
use serde_json::json;

use super::{GUARD_LUA, Guard};
use crate::route::{Meter, RouteScript, Runner, single_value};
use crate::startup::App;
use crate::tokens::Tokens;

const LUA: &str = include_str!("authorize.lua");
static SCRIPT: LazyLock<RouteScript> =
    LazyLock::new(|| RouteScript::new("authorize", &[GUARD_LUA, LUA]));

/// The simple response format: whether to let the request through and, if so, the
/// context the route receives (`$context.authorizer.sub`, `.email`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub is_authorized: bool,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub context: serde_json::Value,
}

impl Verdict {
    /// The verdict as a status class for metrics: 200 allowed, 403 denied (what API Gateway
    /// then answers the client).
    pub fn status(&self) -> u16 {
        if self.is_authorized { 200 } else { 403 }
    }

    fn deny() -> Verdict {
        Verdict {
            is_authorized: false,
            context: serde_json::Value::Null,
        }
    }
}

pub struct Authorizer {
    runner: Runner,
    guard: Guard,
}

impl Authorizer {
    pub fn new(app: &App, tokens: Tokens) -> Authorizer {
        Authorizer {
            runner: Runner::new(app),
            guard: Guard::new(Arc::new(tokens), app.keys.clone()),
        }
    }

    pub async fn authorize(&self, request: ApiGatewayV2CustomAuthorizerV2Request) -> Verdict {
        let Ok(claims) = self.guard.verify(&request.headers) else {
            return Verdict::deny();
        };
        // No limiter: the route behind the authorizer applies its own, and no response
        // carries this request's headers.
        let live = self
            .runner
            .run(
                &SCRIPT,
                &[],
                self.guard.bind(&claims),
                &mut Meter::default(),
            )
            .await
            .and_then(|values| Ok(single_value(values)?.as_int()?));
        match live {
            Ok(1) => Verdict {
                is_authorized: true,
                context: json!({"sub": claims.sub, "email": claims.email}),
            },
            Ok(_) => Verdict::deny(),
            Err(error) => {
                tracing::error!(code = %error.code, "cannot confirm the token; denying");
                Verdict::deny()
            }
        }
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
