//! Handler responses as tests read them, and the round-trip count each one cost.

use std::future::Future;

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
