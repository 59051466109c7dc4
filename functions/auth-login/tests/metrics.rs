//! The metrics lines a real login flow writes: one CloudWatch EMF line per request on
//! stdout, read back from the `auth-login` process as CloudWatch Logs would get them.

use std::path::Path;

use serde_json::{Value, json};
use testkit::events::event;
use testkit::fixtures::registered_user;
use testkit::{LambdaProcess, Stack};

const EMAIL: &str = "ann.lee@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// The EMF lines among a process's logs.
fn metric_lines(logs: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect()
}

/// The dimension names of every directive of a line.
fn dimensions(line: &Value) -> Vec<String> {
    line["_aws"]["CloudWatchMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|directive| directive["Dimensions"].as_array().unwrap().iter())
        .flat_map(|set| set.as_array().unwrap().iter())
        .map(|name| name.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_request_writes_one_line_with_its_redis_work_and_decision() {
    let stack = Stack::start().await;
    registered_user(&stack, EMAIL, PASSWORD).await;
    let binary = Path::new(env!("CARGO_BIN_EXE_auth-login"));
    let env = [
        stack.env(),
        vec![("METRICS_NAMESPACE", "edgestate-test".to_owned())],
    ]
    .concat();
    let mut function = LambdaProcess::spawn(binary, &env).await;
    let (status, body) = function.invoke_http(&event("auth-login")).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let (status, _) = function
        .invoke_http(&event("auth-login-wrong-password"))
        .await;
    assert_eq!(status, 401);
    let mut not_json = event("auth-login");
    not_json["body"] = json!("not json");
    let (status, _) = function.invoke_http(&not_json).await;
    assert_eq!(status, 400);

    let logs = function.logs().await;
    let lines = metric_lines(&logs);
    assert_eq!(lines.len(), 3, "one line per request: {logs}");
    let [success, wrong, bad] = &lines[..] else {
        unreachable!()
    };
    assert_eq!(
        success["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "edgestate-test"
    );
    assert_eq!(success["Function"], "edgestate-test");
    for (line, class, redis, cold) in [
        (success, "2xx", 1, 1),
        (wrong, "4xx", 2, 0),
        (bad, "4xx", 0, 0),
    ] {
        assert_eq!(line["StatusClass"], class, "{line}");
        assert_eq!(line["RedisRequests"], redis, "{line}");
        assert_eq!(line["ColdStart"], cold, "{line}");
        assert_eq!(line["Requests"], 1);
        assert!(line["Latency"].as_f64().unwrap() > 0.0);
    }
    assert!(success["RedisTime"].as_f64().unwrap() > 0.0);
    assert_eq!(bad["RedisTime"], 0.0);
    assert_eq!(
        (&success["Limiter"], &success["Decision"]),
        (&json!("login-ip"), &json!("allowed")),
        "the limiter closest to its limit"
    );
    assert!(bad.get("Decision").is_none(), "refused before any limiter");
    for line in &lines {
        for name in dimensions(line) {
            assert!(
                [
                    "Function",
                    "StatusClass",
                    "Limiter",
                    "Decision",
                    "ErrorKind"
                ]
                .contains(&name.as_str()),
                "{name}"
            );
        }
        let text = line.to_string();
        for private in [EMAIL, "203.0.113.10", &token, PASSWORD] {
            assert!(!text.contains(private), "{private} in {text}");
        }
    }
}

#[tokio::test]
async fn an_unreachable_redis_is_counted_by_kind() {
    let binary = Path::new(env!("CARGO_BIN_EXE_auth-login"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = [
        ("UPSTASH_REDIS_REST_URL", url),
        ("UPSTASH_REDIS_REST_TOKEN", "token".to_owned()),
        ("JWT_SECRET", testkit::JWT_SECRET.to_owned()),
        ("REDIS_TIMEOUT_MS", "300".to_owned()),
    ];
    let mut function = LambdaProcess::spawn(binary, &env).await;
    let (status, _) = function.invoke_http(&event("auth-login")).await;
    assert_eq!(status, 503);
    let lines = metric_lines(&function.logs().await);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["StatusClass"], "5xx");
    assert_eq!(lines[0]["ErrorKind"], "transport");
    assert_eq!(lines[0]["RedisErrors"], 1);
    assert!(lines[0]["RedisRequests"].as_u64().unwrap() >= 1);
}
