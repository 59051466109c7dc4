//! Handler responses as tests read them, and the round-trip count each one cost.

use std::future::Future;

use edgestate::time::iso8601;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

use crate::Stack;

/// A response with its status and JSON body parsed.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub response: Response<Body>,
}

pub fn answer(response: Response<Body>) -> Answer {
    let body = serde_json::from_slice(response.body().as_ref()).expect("a JSON body");
    Answer {
        status: response.status().as_u16(),
        body,
        response,
    }
}

/// Runs one handler call and checks it cost exactly `trips` REST requests, counted at
/// upstash-local: the round-trip budget of `docs/contract.md`.
pub async fn counted<F: Future<Output = Response<Body>>>(
    stack: &Stack,
    trips: u64,
    call: F,
) -> Answer {
    let before = stack.rest_requests();
    let answer = answer(call.await);
    assert_eq!(
        stack.rest_requests() - before,
        trips,
        "REST requests for a {} answer {}",
        answer.status,
        answer.body
    );
    answer
}

/// The failure envelope: status, `success: false`, the code, and a message.
pub fn assert_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.body["success"], json!(false));
    assert_eq!(answer.body["code"], json!(code), "{}", answer.body);
    assert!(answer.body["error"].as_str().is_some_and(|m| !m.is_empty()));
}

/// The instant an API timestamp names, in ms since the epoch, after checking it is written as
/// the contract says (ISO 8601 UTC with milliseconds, exactly as `edgestate::time::iso8601`
/// writes it) and lies from `earliest` to `latest` (ms, as `edgestate::time::now_ms` reads
/// the clock before and after the request that made it, so a slow machine only widens the
/// window). Such strings sort as their instants do, so the instant is found by bisection.
pub fn timestamp_between(value: &Value, earliest: u64, latest: u64) -> u64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"));
    let (mut low, mut high) = (earliest, latest.saturating_add(1));
    while low < high {
        let middle = low + (high - low) / 2;
        if iso8601(middle).as_str() < text {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    assert!(
        low <= latest && iso8601(low) == text,
        "{text} is not a timestamp from {} to {}",
        iso8601(earliest),
        iso8601(latest)
    );
    low
}
