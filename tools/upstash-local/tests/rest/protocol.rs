//! upstash-local's wire protocol, over real HTTP in front of a real redis-server.
//!
//! These tests speak raw HTTP with reqwest on purpose, not through the edgestate client: the
//! client is itself tested against upstash-local, so if both drifted from Upstash's protocol
//! in the same way (a status code, a header, a JSON shape, the base64 rules) its tests would
//! still pass. Here every status code, JSON body and header is pinned as bytes on the wire.
//! State is checked behind upstash-local's back over RESP, so "nothing was written" means
//! Redis really holds nothing.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::AUTHORIZATION;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{Answer, Resp, Rest, Stack, TOKEN, send};

/// Upstash's request size limit, 10 MB.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A `["SET", key, "xxx…"]` body of exactly `total` bytes.
fn set_body_of_size(key: &str, total: usize) -> Vec<u8> {
    let prefix = format!(r#"["SET","{key}",""#);
    let suffix = r#""]"#;
    let value_len = total - prefix.len() - suffix.len();
    let mut body = Vec::with_capacity(total);
    body.extend_from_slice(prefix.as_bytes());
    body.resize(prefix.len() + value_len, b'x');
    body.extend_from_slice(suffix.as_bytes());
    assert_eq!(body.len(), total);
    body
}

// ---------------------------------------------------------------------------------------------
// POST /: one command
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn single_command_answers_its_result() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command(json!(["SET", "greeting", "hello"]))
        .await
        .assert_result(json!("OK"));
    rest.command(json!(["GET", "greeting"]))
        .await
        .assert_result(json!("hello"));
    rest.command(json!(["GET", "missing"]))
        .await
        .assert_result(json!(null));
    rest.command(json!(["RPUSH", "list", "a", "b"]))
        .await
        .assert_result(json!(2));
    rest.command(json!(["LRANGE", "list", 0, -1]))
        .await
        .assert_result(json!(["a", "b"]));
    rest.command(json!(["PING"]))
        .await
        .assert_result(json!("PONG"));
}

#[tokio::test]
async fn command_error_is_400_with_redis_text() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command(json!(["SET", "word", "abc"]))
        .await
        .assert_result(json!("OK"));
    rest.command(json!(["INCR", "word"])).await.assert_error(
        StatusCode::BAD_REQUEST,
        "ERR value is not an integer or out of range",
    );
    rest.command(json!(["LPUSH", "word", "x"]))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "WRONGTYPE Operation against a key holding the wrong kind of value",
        );
    rest.command(json!(["GET"])).await.assert_error(
        StatusCode::BAD_REQUEST,
        "ERR wrong number of arguments for 'get' command",
    );
}

#[tokio::test]
async fn integers_and_floats_are_accepted_as_arguments() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command(json!(["SET", "n", 42]))
        .await
        .assert_result(json!("OK"));
    rest.command(json!(["INCRBY", "n", -2]))
        .await
        .assert_result(json!(40));
    rest.command(json!(["INCRBYFLOAT", "n", 1.5]))
        .await
        .assert_result(json!("41.5"));
    rest.command(json!(["INCRBYFLOAT", "n", -0.25]))
        .await
        .assert_result(json!("41.25"));
    // A float with no fractional part is the integer a JavaScript client meant.
    rest.command(json!(["EXPIRE", "n", 100.0]))
        .await
        .assert_result(json!(1));
    let ttl = rest.command(json!(["TTL", "n"])).await;
    assert_eq!(ttl.status, StatusCode::OK);
    assert!(
        (1..=100).contains(&ttl.body["result"].as_i64().unwrap()),
        "{ttl:?}"
    );
    rest.command(json!(["GET", "n"]))
        .await
        .assert_result(json!("41.25"));
}

#[tokio::test]
async fn invalid_bodies_are_400_and_reach_no_redis() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    for body in [
        "not json",
        "",
        r#"{"command":["SET","k","v"]}"#,
        "true",
        r#"["SET","k",["v"]]"#,
        r#"[["SET","k","v"]]"#,
        r#"["SET","k",null]"#,
        "[]",
    ] {
        rest.command_body(body)
            .await
            .assert_error_starting_with(StatusCode::BAD_REQUEST, "ERR failed to parse command");
    }
    assert!(!Resp::connect(&stack).await.exists("k").await);
}

#[tokio::test]
async fn json_booleans_are_sent_as_their_text() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    // What the official JavaScript client sends for `redis.hset(k, {f: false, g: true})`.
    rest.command(json!(["HSET", "h", "f", false, "g", true]))
        .await
        .assert_result(json!(2));
    rest.command(json!(["HGET", "h", "f"]))
        .await
        .assert_result(json!("false"));
    rest.pipeline(json!([["SET", "b", true], ["GET", "b"]]))
        .await
        .assert_entries(json!([{"result": "OK"}, {"result": "true"}]));
    rest.multi_exec(json!([["SET", "b", false], ["GET", "b"]]))
        .await
        .assert_entries(json!([{"result": "OK"}, {"result": "false"}]));
    assert_eq!(
        Resp::connect(&stack).await.get("b").await.as_deref(),
        Some(&b"false"[..])
    );
}

// ---------------------------------------------------------------------------------------------
// Path form
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn path_form_get_runs_the_command_with_query_arguments() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.get("/set/k/v?EX=100").await.assert_result(json!("OK"));
    rest.get("/get/k").await.assert_result(json!("v"));
    let ttl = rest.get("/ttl/k").await;
    assert_eq!(ttl.status, StatusCode::OK);
    let seconds = ttl.body["result"].as_i64().expect("TTL is an integer");
    assert!((1..=100).contains(&seconds), "{ttl:?}");
}

#[tokio::test]
async fn path_form_post_body_becomes_the_value() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let raw = r#"{"not": "parsed", "as": ["json"]} / ?&"#;
    rest.post("/set/k2", raw).await.assert_result(json!("OK"));
    rest.get("/get/k2").await.assert_result(json!(raw));
    assert_eq!(
        Resp::connect(&stack).await.get("k2").await.as_deref(),
        Some(raw.as_bytes())
    );

    // Arguments after the value go in the query: SET k3 <body> EX 100.
    rest.post("/set/k3?EX=100", "v3")
        .await
        .assert_result(json!("OK"));
    rest.get("/get/k3").await.assert_result(json!("v3"));
    let ttl = rest.get("/ttl/k3").await;
    assert!(
        (1..=100).contains(&ttl.body["result"].as_i64().unwrap_or(-1)),
        "{}",
        ttl.body
    );

    // PUT is taken as POST, HEAD as GET.
    send(rest.authorized(Method::PUT, "/set/k4").body("v4"))
        .await
        .assert_result(json!("OK"));
    rest.get("/get/k4").await.assert_result(json!("v4"));
    let head = rest
        .authorized(Method::HEAD, "/get/k4")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
}

#[tokio::test]
async fn path_form_segments_are_percent_decoded() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.get("/set/a%2Fb/hello%20w%C3%B6rld+x")
        .await
        .assert_result(json!("OK"));
    rest.get("/get/a%2Fb")
        .await
        .assert_result(json!("hello wörld+x"));
    assert_eq!(
        Resp::connect(&stack).await.get("a/b").await.as_deref(),
        Some("hello wörld+x".as_bytes())
    );
}

// ---------------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_token_is_401() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let answer = send(rest.anonymous(Method::POST, "/").json(&json!(["PING"]))).await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    let answer = send(rest.anonymous(Method::GET, "/ping")).await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "Unauthorized");
}

#[tokio::test]
async fn wrong_bearer_token_is_401() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    for value in [
        "Bearer wrong-token".to_owned(),
        format!("Bearer {TOKEN}x"),
        format!("Basic {TOKEN}"),
        TOKEN.to_owned(),
    ] {
        let request = rest
            .anonymous(Method::POST, "/")
            .header(AUTHORIZATION, value)
            .json(&json!(["PING"]));
        send(request)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
}

#[tokio::test]
async fn query_token_is_accepted() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let query = format!("?_token={TOKEN}");
    send(
        rest.anonymous(Method::POST, &format!("/{query}"))
            .json(&json!(["SET", "k", "v"])),
    )
    .await
    .assert_result(json!("OK"));
    // `_token` is the credential, never an argument of a path-form command.
    send(rest.anonymous(Method::GET, &format!("/get/k{query}")))
        .await
        .assert_result(json!("v"));
    send(rest.anonymous(Method::GET, "/get/k?_token=wrong"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "Unauthorized");
}

#[tokio::test]
async fn unauthorized_requests_never_touch_redis() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let wrong = [
        rest.anonymous(Method::POST, "/")
            .bearer_auth("wrong")
            .json(&json!(["SET", "a", "v"])),
        rest.anonymous(Method::GET, "/set/b/v"),
        rest.anonymous(Method::POST, "/pipeline?_token=wrong")
            .json(&json!([["SET", "c", "v"]])),
        rest.anonymous(Method::POST, "/multi-exec")
            .bearer_auth("wrong")
            .json(&json!([["SET", "d", "v"]])),
    ];
    for request in wrong {
        send(request)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let mut resp = Resp::connect(&stack).await;
    for key in ["a", "b", "c", "d"] {
        assert!(!resp.exists(key).await, "{key} was written");
    }
}

// ---------------------------------------------------------------------------------------------
// Upstash-Encoding: base64
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn base64_encodes_bulk_strings_but_not_status_ok() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command_base64(json!(["SET", "greeting", "hello"]))
        .await
        .assert_result(json!("OK"));
    rest.command_base64(json!(["GET", "greeting"]))
        .await
        .assert_result(json!("aGVsbG8="));
    // A status other than OK is encoded like any string.
    rest.command_base64(json!(["PING"]))
        .await
        .assert_result(json!("UE9ORw=="));
    // A bulk string that reads "OK" is a value, not a status: encoded.
    rest.command_base64(json!(["SET", "ok", "OK"]))
        .await
        .assert_result(json!("OK"));
    rest.command_base64(json!(["GET", "ok"]))
        .await
        .assert_result(json!("T0s="));
}

#[tokio::test]
async fn base64_leaves_integers_and_null_unchanged() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command_base64(json!(["INCRBY", "n", 12]))
        .await
        .assert_result(json!(12));
    rest.command_base64(json!(["GET", "missing"]))
        .await
        .assert_result(json!(null));
}

#[tokio::test]
async fn base64_encodes_nested_arrays_element_wise() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command_base64(json!(["RPUSH", "list", "a", "bc", "OK"]))
        .await
        .assert_result(json!(3));
    rest.command_base64(json!(["LRANGE", "list", 0, -1]))
        .await
        .assert_result(json!(["YQ==", "YmM=", "T0s="]));
    let script = "return {1, {'x', {'yz'}}, false}";
    rest.command_base64(json!(["EVAL", script, 0]))
        .await
        .assert_result(json!([1, ["eA==", ["eXo="]], null]));
}

#[tokio::test]
async fn base64_never_encodes_errors() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command_base64(json!(["SET", "word", "abc"]))
        .await
        .assert_result(json!("OK"));
    rest.command_base64(json!(["INCR", "word"]))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "ERR value is not an integer or out of range",
        );
    let answer = send(
        rest.authorized(Method::POST, "/pipeline")
            .header("Upstash-Encoding", "base64")
            .json(&json!([["INCR", "word"], ["GET", "word"]])),
    )
    .await;
    answer.assert_entries(json!([
        {"error": "ERR value is not an integer or out of range"},
        {"result": "YWJj"}
    ]));
}

#[tokio::test]
async fn without_encoding_header_strings_are_plain() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command(json!(["SET", "ok", "OK"]))
        .await
        .assert_result(json!("OK"));
    rest.command(json!(["GET", "ok"]))
        .await
        .assert_result(json!("OK"));
    rest.command(json!(["PING"]))
        .await
        .assert_result(json!("PONG"));
    rest.command(json!(["RPUSH", "list", "hello"]))
        .await
        .assert_result(json!(1));
    rest.command(json!(["LRANGE", "list", 0, -1]))
        .await
        .assert_result(json!(["hello"]));
}

#[tokio::test]
async fn base64_returns_non_utf8_bytes_exactly() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let bytes: Vec<u8> = vec![0x00, 0xFF, 0xFE, 0x80, b'a', 0xC3, 0x28, b'\r', b'\n'];
    Resp::connect(&stack).await.set("binary", &bytes).await;
    let answer = rest.command_base64(json!(["GET", "binary"])).await;
    answer.assert_result(json!(BASE64.encode(&bytes)));
    let decoded = BASE64
        .decode(answer.body["result"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, bytes);
    // The path form honours the header too.
    let answer = send(
        rest.authorized(Method::GET, "/get/binary")
            .header("Upstash-Encoding", "base64"),
    )
    .await;
    answer.assert_result(json!(BASE64.encode(&bytes)));
}

// ---------------------------------------------------------------------------------------------
// upstash-sync-token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_response_carries_an_increasing_sync_token() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let ok = rest.command(json!(["PING"])).await;
    assert_eq!(ok.status, StatusCode::OK);
    let bad = rest.command(json!(["GET"])).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let unauthorized = send(rest.anonymous(Method::POST, "/").json(&json!(["PING"]))).await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    let ok_again = rest.get("/ping").await;
    assert_eq!(ok_again.status, StatusCode::OK);

    let tokens = [&ok, &bad, &unauthorized, &ok_again].map(Answer::sync_token);
    assert!(
        tokens.windows(2).all(|pair| pair[0] < pair[1]),
        "sync tokens must increase: {tokens:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// /pipeline and /multi-exec
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn pipeline_answers_one_entry_per_command_and_runs_past_errors() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let answer = rest
        .pipeline(json!([
            ["SET", "a", 1],
            ["INCR", "a"],
            ["LPUSH", "a", "x"],
            ["INCR", "a"],
            ["GET", "a"],
            ["GET", "missing"]
        ]))
        .await;
    answer.assert_entries(json!([
        {"result": "OK"},
        {"result": 2},
        {"error": "WRONGTYPE Operation against a key holding the wrong kind of value"},
        {"result": 3},
        {"result": "3"},
        {"result": null}
    ]));
    assert_eq!(
        Resp::connect(&stack).await.get("a").await.as_deref(),
        Some(&b"3"[..])
    );
}

#[tokio::test]
async fn multi_exec_answers_one_entry_per_command_with_runtime_errors() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let answer = rest
        .multi_exec(json!([
            ["SET", "a", "1"],
            ["LPUSH", "a", "x"],
            ["INCRBY", "a", 9],
            ["GET", "a"]
        ]))
        .await;
    answer.assert_entries(json!([
        {"result": "OK"},
        {"error": "WRONGTYPE Operation against a key holding the wrong kind of value"},
        {"result": 10},
        {"result": "10"}
    ]));
}

#[tokio::test]
async fn multi_exec_queue_time_error_aborts_everything() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let answer = rest
        .multi_exec(json!([["SET", "t1", "1"], ["GET"], ["SET", "t2", "2"]]))
        .await;
    answer.assert_error(
        StatusCode::BAD_REQUEST,
        "EXECABORT Transaction discarded because of previous errors. \
         (command 2: ERR wrong number of arguments for 'get' command)",
    );
    let mut resp = Resp::connect(&stack).await;
    assert!(!resp.exists("t1").await);
    assert!(!resp.exists("t2").await);
}

// ---------------------------------------------------------------------------------------------
// Refused requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn connection_state_commands_are_not_allowed() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    for (command, name) in [
        (json!(["MULTI"]), "multi"),
        (json!(["SUBSCRIBE", "channel"]), "subscribe"),
        (json!(["select", 1]), "select"),
    ] {
        rest.command(command).await.assert_error(
            StatusCode::BAD_REQUEST,
            &format!("ERR command is not allowed: {name}"),
        );
    }
    // In a pipeline, a denied command refuses the whole request before anything runs.
    rest.pipeline(json!([["SET", "before", "1"], ["SELECT", 1]]))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "ERR command is not allowed: select",
        );
    assert!(!Resp::connect(&stack).await.exists("before").await);
}

#[tokio::test]
async fn body_over_ten_megabytes_is_refused() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let body = set_body_of_size("big", MAX_BODY_BYTES + 1);
    rest.command_body(body)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "ERR max request size exceeded");
    assert!(!Resp::connect(&stack).await.exists("big").await);
}

#[tokio::test]
async fn body_of_exactly_ten_megabytes_is_accepted() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let body = set_body_of_size("big", MAX_BODY_BYTES);
    let value_len = MAX_BODY_BYTES - r#"["SET","big","]"#.len() - 1;
    rest.command_body(body).await.assert_result(json!("OK"));
    rest.command(json!(["STRLEN", "big"]))
        .await
        .assert_result(json!(value_len));
}

// ---------------------------------------------------------------------------------------------
// Operation: latency, request count, Redis gone
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn latency_delays_every_response() {
    let latency = Duration::from_millis(150);
    let stack = Stack::start_with_latency(latency).await;
    let rest = Rest::new(&stack);
    let started = Instant::now();
    rest.command(json!(["PING"]))
        .await
        .assert_result(json!("PONG"));
    // A lower bound only: a loaded machine may be slower, never faster.
    let elapsed = started.elapsed();
    assert!(elapsed >= latency, "answered after {elapsed:?}");
    let started = Instant::now();
    send(rest.anonymous(Method::GET, "/ping"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    let elapsed = started.elapsed();
    assert!(elapsed >= latency, "401 answered after {elapsed:?}");
}

#[tokio::test]
async fn request_count_includes_refused_requests() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let before = stack.rest_requests();
    rest.command(json!(["PING"]))
        .await
        .assert_result(json!("PONG"));
    rest.command(json!(["GET"])).await.assert_error(
        StatusCode::BAD_REQUEST,
        "ERR wrong number of arguments for 'get' command",
    );
    rest.command_body("not json")
        .await
        .assert_error_starting_with(StatusCode::BAD_REQUEST, "ERR failed to parse command");
    send(rest.anonymous(Method::POST, "/").json(&json!(["PING"])))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    send(rest.authorized(Method::GET, "/pipeline"))
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "ERR method not allowed");
    rest.pipeline(json!([["PING"], ["PING"]]))
        .await
        .assert_entries(json!([{"result": "PONG"}, {"result": "PONG"}]));
    assert_eq!(stack.rest_requests() - before, 6);
}

#[tokio::test]
async fn redis_gone_is_503() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command(json!(["PING"]))
        .await
        .assert_result(json!("PONG"));
    Resp::connect(&stack).await.shutdown().await;
    let answer = rest.command(json!(["PING"])).await;
    answer.assert_error_starting_with(StatusCode::SERVICE_UNAVAILABLE, "ERR redis unavailable");
    // The sync token is on a 503 too (`sync_token` panics when it is missing).
    let _ = answer.sync_token();
    rest.pipeline(json!([["PING"]]))
        .await
        .assert_error_starting_with(StatusCode::SERVICE_UNAVAILABLE, "ERR redis unavailable");
}
