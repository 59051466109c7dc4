//! `GET /health`: one PING through the REST client, proving the whole path to Redis. No
//! limiter: load balancers and uptime checks call it freely.

use std::time::Instant;

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, json};

use crate::http::{ApiError, log_redis_failure, success};
use crate::redis::{Command, RedisClient, RedisError};
use crate::route::{Meter, Outcome, Route};

pub struct Health {
    redis: RedisClient,
}

impl Health {
    pub fn new(redis: RedisClient) -> Health {
        Health { redis }
    }
}

impl Route for Health {
    async fn handle(&self, _: &Request, _: &mut Meter) -> Outcome {
        Ok(check(&self.redis).await)
    }
}

/// 200 with the PING's latency when Redis answers, 503 `degraded` whatever else happens: a
/// health check answers "can this instance serve?", and a refused PING means it cannot.
pub async fn check(client: &RedisClient) -> Response<Body> {
    let started = Instant::now();
    match ping(client).await {
        Ok(()) => {
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let mut fields = Map::new();
            fields.insert("status".to_owned(), json!("healthy"));
            fields.insert(
                "redis".to_owned(),
                json!({"status": "ok", "latencyMs": (latency_ms * 100.0).round() / 100.0}),
            );
            success(StatusCode::OK, fields)
        }
        Err(error) => {
            log_redis_failure(&error);
            ApiError::service_unavailable()
                .with_field("status", json!("degraded"))
                .with_field("redis", json!({"status": "down"}))
                .into_response()
        }
    }
}

async fn ping(client: &RedisClient) -> Result<(), RedisError> {
    let reply = client.command(&Command::new("PING")).await?;
    match reply.into_text()? {
        Some(pong) if pong == "PONG" => Ok(()),
        _ => Err(RedisError::Protocol("PING did not answer PONG".to_owned())),
    }
}
