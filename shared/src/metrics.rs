//! Metrics in CloudWatch Embedded Metric Format: one JSON line on stdout per request, which
//! CloudWatch Logs turns into metrics. No API call and no agent, so a request costs nothing
//! more than a log line (`README.md`, "Metrics").
//!
//! A request's figures are gathered in a task-local [`Sample`] while it runs: the Redis
//! client adds each REST request and error, the route runner the limiters' decision, and the
//! serve loop writes the line when the answer is ready. Dimensions are the function, the
//! status class, the limiter and decision, the error kind: never an address, an email, an
//! id or a token.

use std::cell::RefCell;
use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use crate::time::now_ms;

/// The metrics namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "edgestate";

/// Where this process's lines go: set once at cold start.
struct Target {
    namespace: String,
    function: String,
}

static TARGET: OnceLock<Target> = OnceLock::new();
/// Whether this process has answered a request yet: the first one paid the cold start.
static WARM: AtomicBool = AtomicBool::new(false);

tokio::task_local! {
    static SAMPLE: RefCell<Sample>;
}

/// What one request did, as far as metrics tell.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sample {
    pub redis_requests: u32,
    pub redis_ms: f64,
    pub redis_errors: Vec<&'static str>,
    /// The limiter that decided the request, and whether it allowed it.
    pub decision: Option<(&'static str, bool)>,
}

/// Names this process's metrics: the namespace (`METRICS_NAMESPACE`) and the function
/// (Lambda's `AWS_LAMBDA_FUNCTION_NAME`). Later calls change nothing.
pub fn init(namespace: &str, function: &str) {
    let _ = TARGET.set(Target {
        namespace: namespace.to_owned(),
        function: function.to_owned(),
    });
}

/// Counts REST requests to Redis of the current request (one call's attempts), and their
/// time.
pub fn redis_requests(count: u32, latency_ms: f64) {
    let _ = SAMPLE.try_with(|sample| {
        let mut sample = sample.borrow_mut();
        sample.redis_requests += count;
        sample.redis_ms += latency_ms;
    });
}

/// Counts a failed Redis call of the current request, by kind.
pub fn redis_error(kind: &'static str) {
    let _ = SAMPLE.try_with(|sample| sample.borrow_mut().redis_errors.push(kind));
}

/// Records the limiters' decision on the current request.
pub fn rate_limit(limiter: &'static str, allowed: bool) {
    let _ = SAMPLE.try_with(|sample| sample.borrow_mut().decision = Some((limiter, allowed)));
}

/// Runs one request's handling and writes its line, with its status from `status_of`.
pub async fn measured<T>(handling: impl Future<Output = T>, status_of: impl Fn(&T) -> u16) -> T {
    let started = Instant::now();
    let (outcome, sample) = SAMPLE
        .scope(RefCell::new(Sample::default()), async {
            let outcome = handling.await;
            let sample = SAMPLE.with(|sample| sample.take());
            (outcome, sample)
        })
        .await;
    let cold_start = !WARM.swap(true, Ordering::Relaxed);
    if let Some(target) = TARGET.get() {
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let line = line(target, &sample, status_of(&outcome), latency_ms, cold_start);
        println!("{line}");
    }
    outcome
}

/// The EMF line: one directive per dimension set, each naming its metrics.
fn line(target: &Target, sample: &Sample, status: u16, latency_ms: f64, cold_start: bool) -> Value {
    let metric = |name: &str, unit: &str| json!({"Name": name, "Unit": unit});
    let mut directives = vec![json!({
        "Namespace": target.namespace,
        // [] publishes API-wide totals too, for the alarms of template.yaml.
        "Dimensions": [[], ["Function"], ["StatusClass"], ["Function", "StatusClass"]],
        "Metrics": [
            metric("Requests", "Count"),
            metric("Latency", "Milliseconds"),
            metric("RedisRequests", "Count"),
            metric("RedisTime", "Milliseconds"),
            metric("ColdStart", "Count"),
        ],
    })];
    let mut fields = json!({
        "Function": target.function,
        "StatusClass": format!("{}xx", status / 100),
        "Requests": 1,
        "Latency": round(latency_ms),
        "RedisRequests": sample.redis_requests,
        "RedisTime": round(sample.redis_ms),
        "ColdStart": u8::from(cold_start),
    });
    if let Some((limiter, allowed)) = sample.decision {
        directives.push(json!({
            "Namespace": target.namespace,
            "Dimensions": [["Function", "Limiter", "Decision"], ["Decision"]],
            "Metrics": [metric("RateLimitDecisions", "Count")],
        }));
        fields["Limiter"] = json!(limiter);
        fields["Decision"] = json!(if allowed { "allowed" } else { "denied" });
        fields["RateLimitDecisions"] = json!(1);
    }
    if let Some(kind) = sample.redis_errors.first() {
        directives.push(json!({
            "Namespace": target.namespace,
            "Dimensions": [[], ["ErrorKind"], ["Function", "ErrorKind"]],
            "Metrics": [metric("RedisErrors", "Count")],
        }));
        fields["ErrorKind"] = json!(kind);
        fields["RedisErrors"] = json!(sample.redis_errors.len());
    }
    fields["_aws"] = json!({"Timestamp": now_ms(), "CloudWatchMetrics": directives});
    fields
}

fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            namespace: "ns".to_owned(),
            function: "edgestate-test-auth-login".to_owned(),
        }
    }

    #[test]
    fn a_plain_request_has_the_base_directive_only() {
        let line = line(&target(), &Sample::default(), 201, 1.5, true);
        assert_eq!(line["Function"], "edgestate-test-auth-login");
        assert_eq!(line["StatusClass"], "2xx");
        assert_eq!(line["ColdStart"], 1);
        let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1);
        assert_eq!(directives[0]["Namespace"], "ns");
        for metric in directives[0]["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(line.get(name).is_some(), "{name} has a value");
        }
    }

    #[test]
    fn decisions_and_errors_add_their_dimensions() {
        let sample = Sample {
            redis_requests: 2,
            redis_ms: 3.25,
            redis_errors: vec!["timeout"],
            decision: Some(("login-account", false)),
        };
        let line = line(&target(), &sample, 429, 9.0, false);
        assert_eq!(line["Limiter"], "login-account");
        assert_eq!(line["Decision"], "denied");
        assert_eq!(line["ErrorKind"], "timeout");
        assert_eq!(line["RedisErrors"], 1);
        assert_eq!(line["RedisRequests"], 2);
        let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 3);
        for directive in directives {
            for dimensions in directive["Dimensions"].as_array().unwrap() {
                for dimension in dimensions.as_array().unwrap() {
                    let name = dimension.as_str().unwrap();
                    assert!(line[name].is_string(), "{name} is a string value");
                }
            }
        }
    }

    #[tokio::test]
    async fn figures_gathered_inside_a_request_stay_with_it() {
        let (_, sample) = SAMPLE
            .scope(RefCell::new(Sample::default()), async {
                redis_requests(1, 1.0);
                redis_requests(1, 2.0);
                rate_limit("api", true);
                ((), SAMPLE.with(|sample| sample.take()))
            })
            .await;
        assert_eq!(sample.redis_requests, 2);
        assert_eq!(sample.decision, Some(("api", true)));
        // Outside any request nothing is recorded, and nothing fails.
        redis_requests(1, 1.0);
    }
}
