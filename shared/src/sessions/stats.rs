//! `GET /signature-session/stats` (behind the HttpApi's default authorizer) → 200 `{totals,
//! days}`: the session counters that create and submit write, all-time and for each of the
//! last `days` UTC days.
//!
//! The route trusts the authorizer's verdict: API Gateway only invokes it once the authorizer
//! has checked the bearer token (signature, claims, denylist, token version), and passes the
//! user in the request's context. Without that context (a deploy that opted the route out of
//! the authorizer, or `cargo lambda watch`, which has no authorizer) it answers 401, never
//! the counts. Its one Redis request is the user's API limit and the counters' read.

use http::StatusCode;
use lambda_http::Request;
use serde_json::{Map, Value, json};

use super::{DAILY_COUNTER_TTL, SESSIONS_COMPLETED, SESSIONS_CREATED};
use crate::blocks::counters::{CounterRead, Counters};
use crate::guard::unauthorized;
use crate::http::request::{authorizer_subject, invalid_field, query_parameter};
use crate::http::{ApiError, success};
use crate::route::{Meter, Outcome, Route, user_api_limit};
use crate::startup::App;
use crate::time::{now_ms, utc_day};

/// Days shown when the query names none, and the most it may name (a month: 992 keys read).
const DEFAULT_DAYS: u64 = 7;
const MAX_DAYS: u64 = 30;
const DAY_MS: u64 = 24 * 3600 * 1000;

// The buckets of every day the route can show still exist.
const _: () = assert!(MAX_DAYS * DAY_MS / 1000 <= DAILY_COUNTER_TTL.as_secs());

pub struct SessionStats {
    counters: Counters,
}

impl SessionStats {
    pub fn new(app: &App) -> SessionStats {
        SessionStats {
            counters: Counters::new(app),
        }
    }
}

impl Route for SessionStats {
    async fn handle(&self, request: &Request, meter: &mut Meter) -> Outcome {
        let user = authorizer_subject(request).ok_or_else(unauthorized)?;
        let days = days(query_parameter(request, "days"))?;
        let now = now_ms();
        // Oldest first, today last.
        let moments: Vec<u64> = (0..days)
            .rev()
            .map(|back| now.saturating_sub(back * DAY_MS))
            .collect();
        let reads = reads(&moments);
        let counts = self
            .counters
            .read(&reads, &[user_api_limit(user)], meter)
            .await?;
        let mut fields = Map::new();
        fields.insert(
            "totals".to_owned(),
            json!({"created": counts[0], "completed": counts[1]}),
        );
        let days: Vec<Value> = moments
            .iter()
            .zip(counts[2..].chunks_exact(2))
            .map(|(at, pair)| {
                json!({"date": utc_day(*at), "created": pair[0], "completed": pair[1]})
            })
            .collect();
        fields.insert("days".to_owned(), Value::Array(days));
        Ok(success(StatusCode::OK, fields))
    }
}

/// The totals, then each day's created and completed counts, in the order the answer reads
/// them.
fn reads(moments: &[u64]) -> Vec<CounterRead> {
    let totals = [SESSIONS_CREATED.total(), SESSIONS_COMPLETED.total()];
    let daily = moments
        .iter()
        .flat_map(|at| [SESSIONS_CREATED.day(*at), SESSIONS_COMPLETED.day(*at)]);
    totals.into_iter().chain(daily).collect()
}

/// `?days=`: a whole number from 1 to [`MAX_DAYS`]; [`DEFAULT_DAYS`] when absent.
fn days(raw: Option<&str>) -> Result<u64, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_DAYS);
    };
    raw.parse()
        .ok()
        .filter(|days| (1..=MAX_DAYS).contains(days))
        .ok_or_else(|| {
            invalid_field(
                "days",
                format!("days must be a whole number from 1 to {MAX_DAYS}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_default_to_a_week_and_stay_within_a_month() {
        assert_eq!(days(None).unwrap(), 7);
        assert_eq!(days(Some("1")).unwrap(), 1);
        assert_eq!(days(Some("30")).unwrap(), 30);
        for bad in ["0", "31", "-1", "7.5", "", "seven", "99999999999999999999"] {
            let error = days(Some(bad)).unwrap_err();
            assert_eq!(error.status().as_u16(), 400, "{bad}");
            assert_eq!(error.extra["field"], json!("days"));
        }
    }

    #[test]
    fn reads_are_totals_then_each_day_oldest_first() {
        let day = 1_795_314_000_000; // 2026-11-22
        let reads = reads(&[day - DAY_MS, day]);
        assert_eq!(
            reads,
            vec![
                SESSIONS_CREATED.total(),
                SESSIONS_COMPLETED.total(),
                SESSIONS_CREATED.day(day - DAY_MS),
                SESSIONS_COMPLETED.day(day - DAY_MS),
                SESSIONS_CREATED.day(day),
                SESSIONS_COMPLETED.day(day),
            ]
        );
    }
}
