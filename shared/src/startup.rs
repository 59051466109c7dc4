//! The cold start every function shares, and the loop that serves requests after it.

use lambda_http::{Error, service_fn};

use crate::env::{ConfigError, Lookup, ProcessEnv};
use crate::keys::Keys;
use crate::metrics;
use crate::ratelimit::RateLimiter;
use crate::redis::{RedisClient, RedisConfig, RedisError};
use crate::route::Route;
use crate::settings::Settings;
use crate::ssm::{SecretsError, resolve};
use crate::tokens::{TokenConfig, Tokens};

/// What a cold start builds once and every request then shares.
#[derive(Clone)]
pub struct App {
    pub redis: RedisClient,
    pub settings: Settings,
    /// Key names under the stage's prefix.
    pub keys: Keys,
    /// This instance's limiters; its denial cache lives as long as the instance.
    pub limiter: RateLimiter,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Redis(#[from] RedisError),
}

impl App {
    pub fn from_env(env: &dyn Lookup) -> Result<App, StartupError> {
        let settings = Settings::from_env(env)?;
        let redis = RedisClient::new(RedisConfig::from_env(env)?)?;
        Ok(App::new(redis, settings))
    }

    pub fn new(redis: RedisClient, settings: Settings) -> App {
        let keys = Keys::new(&settings.key_prefix);
        let limiter = RateLimiter::new(settings.rate_limits.clone(), keys.clone());
        App {
            redis,
            settings,
            keys,
            limiter,
        }
    }
}

/// Initialises logging and builds the [`App`] from the environment, secrets fetched from
/// SSM where `*_PARAM` names them. A missing or invalid setting stops the cold start with
/// one clear log line and exit status 1, which Lambda reports as an init error.
pub async fn cold_start() -> App {
    start(false).await.0
}

/// [`cold_start`] for the functions that issue or check tokens: the JWT keys too.
pub async fn cold_start_with_tokens() -> (App, Tokens) {
    match start(true).await {
        (app, Some(tokens)) => (app, tokens),
        (_, None) => stop(&ConfigError::Missing("JWT_SECRET").into()),
    }
}

async fn start(with_tokens: bool) -> (App, Option<Tokens>) {
    crate::telemetry::init();
    let built = async {
        let env = resolve(ProcessEnv).await?;
        let app = App::from_env(&env)?;
        let function = env.get("AWS_LAMBDA_FUNCTION_NAME");
        metrics::init(
            &app.settings.metrics_namespace,
            function.as_deref().unwrap_or("local"),
        );
        let tokens = if with_tokens {
            Some(Tokens::new(TokenConfig::from_env(&env)?))
        } else {
            None
        };
        Ok::<_, StartupError>((app, tokens))
    }
    .await;
    built.unwrap_or_else(|error| stop(&error))
}

/// Logs why the cold start failed, once, and exits: returning the error from `main` would
/// print it a second time, unstructured.
fn stop(error: &StartupError) -> ! {
    tracing::error!(%error, "cannot start: fix the configuration");
    std::process::exit(1)
}

/// Runs the Lambda event loop for one route; its failures are already HTTP responses, so
/// the loop itself never fails a request.
pub async fn serve(route: impl Route) -> Result<(), Error> {
    let route = &route;
    lambda_http::run(service_fn(move |request| async move {
        let response =
            metrics::measured(route.answer(request), |response| response.status().as_u16());
        Ok::<_, Error>(response.await)
    }))
    .await
}
