//! The route runner: what every route does around its own work, written once.
//!
//! A route parses its request, binds its keys and arguments ([`Bound`]) and asks the
//! [`Runner`] to run its [`RouteScript`] under some limits: the runner answers a denial this
//! instance remembers without Redis, otherwise sends the limiter prelude and the route's Lua
//! as one script in one request, reads the limiters' decision off the reply and hands the
//! route its values. Whatever the route then answers, success or failure, [`Route::answer`]
//! adds the rate-limit headers of that decision ([`Meter`]).

mod headers;
mod script;

use std::future::Future;

use lambda_http::{Body, Request, Response};

use crate::http::request::client_ip;
use crate::http::{ApiError, respond};
use crate::ratelimit::{Decision, Limit, LimitError, Limiter, RateLimiter};
use crate::redis::{RedisClient, Reply};
use crate::startup::App;

#[cfg(test)]
pub(crate) use script::assert_binding;
pub use script::{Bound, RouteScript};

/// What a route's work ends in: its response, or the failure to answer instead.
pub type Outcome = Result<Response<Body>, ApiError>;

/// One HTTP route: a Lambda function serves exactly one.
pub trait Route: Sync {
    /// The route's work. Every failure is an [`ApiError`]; the limiters' decision, once
    /// known, goes in `meter`.
    fn handle(&self, request: &Request, meter: &mut Meter) -> impl Future<Output = Outcome> + Send;

    /// The response to `request`, with the rate-limit headers of whatever the limiters
    /// decided on the way.
    fn answer(&self, request: Request) -> impl Future<Output = Response<Body>> + Send
    where
        Self: Sized,
    {
        async move {
            let mut meter = Meter::default();
            let outcome = self.handle(&request, &mut meter).await;
            let mut response = respond(outcome);
            if let Some(decision) = &meter.0 {
                headers::write_headers(decision, response.headers_mut());
            }
            response
        }
    }
}

/// Carries a request's decision to its response.
#[derive(Debug, Default)]
pub struct Meter(Option<Decision>);

impl Meter {
    /// Keeps `decision` for the response's headers; a denial is the request's 429.
    fn record(&mut self, decision: Decision) -> Result<(), ApiError> {
        crate::metrics::rate_limit(decision.limiter.name(), decision.allowed);
        let outcome = if decision.allowed {
            Ok(())
        } else {
            Err(headers::rejection(&decision))
        };
        self.0 = Some(decision);
        outcome
    }
}

/// The API-wide limit on an anonymous request: per client IP, as API Gateway saw it.
pub fn api_limit(request: &Request) -> Limit {
    Limit::consume(Limiter::Api, client_ip(request))
}

/// The API-wide limit on a request that carries a valid bearer token (or passed the
/// authorizer): per user, so people behind one NAT or office address do not share one
/// allowance. The identifier's `user:` prefix keeps it apart from every IP.
pub fn user_api_limit(user_id: &str) -> Limit {
    Limit::consume(Limiter::Api, format!("user:{user_id}"))
}

/// Runs route scripts under limits; one per cold start, cloned into each route.
#[derive(Clone)]
pub struct Runner {
    redis: RedisClient,
    limiter: RateLimiter,
}

impl Runner {
    pub fn new(app: &App) -> Runner {
        Runner {
            redis: app.redis.clone(),
            limiter: app.limiter.clone(),
        }
    }

    pub fn redis(&self) -> &RedisClient {
        &self.redis
    }

    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// Runs `script` with the route's `bound` keys and arguments under `limits`, in one
    /// request, and answers the route's values (the reply after the limiters' head). A
    /// denial is a 429, remembered ones without Redis.
    pub async fn run(
        &self,
        script: &RouteScript,
        limits: &[Limit],
        bound: Bound,
        meter: &mut Meter,
    ) -> Result<Vec<Reply>, ApiError> {
        self.precheck(limits, meter)?;
        let call = bound.call(script.variant(self.limiter.algorithm()));
        let reply = self.redis.eval(&self.limiter.bind(call, limits)).await?;
        let (decision, values) = self.limiter.decide(limits, reply)?;
        meter.record(decision)?;
        Ok(values)
    }

    /// Applies `limits` to a request that has no Redis work of its own (a refresh token that
    /// is refused before it reaches Redis still costs its caller a request).
    pub async fn spend(&self, limits: &[Limit], meter: &mut Meter) -> Result<(), ApiError> {
        self.precheck(limits, meter)?;
        meter.record(self.limiter.hit(&self.redis, limits).await?)
    }

    /// Refuses at once, without Redis, a request that one of `limits` denied recently on
    /// this instance. [`Runner::run`] does this itself; call it first only to skip costly
    /// work (hashing a password) before the route's request.
    pub fn precheck(&self, limits: &[Limit], meter: &mut Meter) -> Result<(), ApiError> {
        match self.limiter.remembered(limits) {
            Some(denial) => meter.record(denial),
            None => Ok(()),
        }
    }
}

impl From<LimitError> for ApiError {
    fn from(error: LimitError) -> ApiError {
        match error {
            LimitError::Redis(error) => error.into(),
            LimitError::Unreadable(limiter) => {
                tracing::error!(limiter, "rate limiter state cannot be read; failing closed");
                ApiError::service_unavailable()
            }
        }
    }
}

/// A route script's one value after the limiters' head.
pub fn single_value(values: Vec<Reply>) -> Result<Reply, crate::redis::RedisError> {
    values.into_iter().next().ok_or_else(|| {
        crate::redis::RedisError::Protocol("a route script answered no value".to_owned())
    })
}
