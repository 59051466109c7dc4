//! How a limiter's decision shows in the response: the 429 and the rate-limit headers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::http::{ApiError, ErrorCode};
use crate::ratelimit::Decision;

/// 429 `rate_limited` with `Retry-After` in whole seconds, rounded up.
pub fn rejection(decision: &Decision) -> ApiError {
    let seconds = whole_seconds(decision.retry_after).max(1);
    ApiError {
        retry_after: Some(seconds),
        ..ApiError::new(
            ErrorCode::RateLimited,
            format!("Too many requests, retry in {seconds} s"),
        )
    }
}

/// `RateLimit-Policy` and `RateLimit` (IETF httpapi draft) and the `X-RateLimit-*` headers
/// clients of the Node API already read (`Reset` in epoch seconds).
pub fn write_headers(decision: &Decision, headers: &mut HeaderMap) {
    let name = decision.limiter.name();
    let reset = whole_seconds(decision.reset);
    let reset_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |now| whole_seconds(now + decision.reset));
    let values = [
        (
            "ratelimit-policy",
            format!(
                "\"{name}\";q={};w={}",
                decision.policy.limit,
                decision.policy.window.as_secs()
            ),
        ),
        (
            "ratelimit",
            format!("\"{name}\";r={};t={reset}", decision.remaining),
        ),
        ("x-ratelimit-limit", decision.policy.limit.to_string()),
        ("x-ratelimit-remaining", decision.remaining.to_string()),
        ("x-ratelimit-reset", reset_at.to_string()),
    ];
    for (header, value) in values {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(header), value);
        }
    }
}

fn whole_seconds(duration: Duration) -> u64 {
    duration.as_millis().div_ceil(1000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::{Limiter, Policy};
    use http::StatusCode;

    fn decision(remaining: u64, reset_ms: u64, retry_ms: u64) -> Decision {
        Decision {
            allowed: retry_ms == 0,
            limiter: Limiter::Api,
            policy: Policy::new(100, 900),
            remaining,
            reset: Duration::from_millis(reset_ms),
            retry_after: Duration::from_millis(retry_ms),
        }
    }

    #[test]
    fn headers_follow_the_draft_and_the_legacy_names() {
        let mut headers = HeaderMap::new();
        write_headers(&decision(42, 8_001, 0), &mut headers);
        assert_eq!(headers["ratelimit-policy"], "\"api\";q=100;w=900");
        assert_eq!(headers["ratelimit"], "\"api\";r=42;t=9");
        assert_eq!(headers["x-ratelimit-limit"], "100");
        assert_eq!(headers["x-ratelimit-remaining"], "42");
        let reset_at: u64 = headers["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(reset_at >= now + 8 && reset_at <= now + 10);
    }

    #[test]
    fn rejection_rounds_retry_after_up_to_whole_seconds() {
        let rejection = rejection(&decision(0, 5_000, 1_200));
        assert_eq!(rejection.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(rejection.code, ErrorCode::RateLimited);
        assert_eq!(rejection.retry_after, Some(2));
        assert_eq!(super::rejection(&decision(0, 5, 5)).retry_after, Some(1));
    }
}
