//! Redis + upstash-local, started for one test and stopped when it ends.

use std::time::Duration;

use edgestate::redis::{RedisClient, RedisConfig};
use edgestate::secret::Secret;
use edgestate::settings::Settings;
use edgestate::startup::App;
use edgestate::tokens::{TokenConfig, Tokens};

use crate::RedisServer;

/// The REST token of every test stack; tests are local, it guards nothing.
pub const TOKEN: &str = "edgestate-test-token";

/// The JWT secret of every test stack (32+ bytes, as the token module requires).
pub const JWT_SECRET: &str = "edgestate-test-jwt-secret-0123456789abcdef";

/// Generous, because a loaded 2-core CI machine can stall a request for a while; the
/// deadline's own behaviour is tested against a fake that hangs on purpose.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Fields drop in order: upstash-local stops before its Redis does.
pub struct Stack {
    upstash: upstash_local::Server,
    redis: RedisServer,
}

impl Stack {
    pub async fn start() -> Stack {
        Stack::start_with_latency(Duration::ZERO).await
    }

    /// A stack whose upstash-local delays every answer, to model a remote Redis.
    pub async fn start_with_latency(latency: Duration) -> Stack {
        let redis = RedisServer::start();
        let upstash = upstash_local(&redis, latency).await;
        Stack { upstash, redis }
    }

    /// One more upstash-local in front of this stack's Redis, counting its own requests:
    /// `make load` gives each function process one, so it can tell apart the REST requests
    /// of each invocation while the other processes run.
    pub async fn another_upstash(&self) -> upstash_local::Server {
        upstash_local(&self.redis, Duration::ZERO).await
    }

    pub fn rest_url(&self) -> String {
        self.upstash.url()
    }

    pub fn config(&self) -> RedisConfig {
        RedisConfig {
            url: self.rest_url().parse().expect("upstash-local's URL parses"),
            token: Secret::new(TOKEN),
            timeout: CLIENT_TIMEOUT,
        }
    }

    /// A new client: each call models another Lambda instance with its own connections.
    pub fn client(&self) -> RedisClient {
        RedisClient::new(self.config()).expect("a client for the test stack")
    }

    /// What a cold start builds, against this stack, with default settings: each call is
    /// another Lambda instance (its own client and connections).
    pub fn app(&self) -> App {
        self.app_with(default_settings())
    }

    pub fn app_with(&self, settings: Settings) -> App {
        App::new(self.client(), settings)
    }

    /// The environment a function binary needs to reach this stack.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        function_env(self.rest_url())
    }

    /// The environment a function binary needs to reach this stack through `upstash`, one
    /// of [`Stack::another_upstash`].
    pub fn env_through(&self, upstash: &upstash_local::Server) -> Vec<(&'static str, String)> {
        function_env(upstash.url())
    }

    /// REST requests upstash-local has received: the round-trip count the budget speaks of.
    pub fn rest_requests(&self) -> u64 {
        self.upstash.request_count()
    }

    /// The redis-server behind upstash-local, for direct RESP access in tests.
    pub fn redis(&self) -> &RedisServer {
        &self.redis
    }
}

async fn upstash_local(redis: &RedisServer, latency: Duration) -> upstash_local::Server {
    upstash_local::Server::start(upstash_local::Config {
        listen: ([127, 0, 0, 1], 0).into(),
        redis_url: redis.url(),
        token: TOKEN.to_owned(),
        latency,
    })
    .await
    .expect("upstash-local starts in front of the test's redis-server")
}

fn function_env(rest_url: String) -> Vec<(&'static str, String)> {
    vec![
        ("UPSTASH_REDIS_REST_URL", rest_url),
        ("UPSTASH_REDIS_REST_TOKEN", TOKEN.to_owned()),
        ("JWT_SECRET", JWT_SECRET.to_owned()),
    ]
}

/// The settings a function reads from an empty environment: the defaults.
pub fn default_settings() -> Settings {
    Settings::from_env(&|_: &str| None).expect("the defaults are valid")
}

/// The token keys every test stack's functions use (`JWT_SECRET`, other settings default).
pub fn test_tokens() -> Tokens {
    let env = |name: &str| (name == "JWT_SECRET").then(|| JWT_SECRET.to_owned());
    Tokens::new(TokenConfig::from_env(&env).expect("the test JWT settings are valid"))
}
