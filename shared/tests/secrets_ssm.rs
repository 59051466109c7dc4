//! Secret settings read from SSM Parameter Store, against wiremock speaking SSM's JSON 1.1
//! protocol (`POST /`, `x-amz-target: AmazonSSM.GetParameters`).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use edgestate::env::{Lookup, Pairs, ProcessEnv};
use edgestate::ssm::{self, Client, SecretsError};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const JWT_VALUE: &str = "jwt-secret-from-ssm-0123456789abcdef";
const TOKEN_VALUE: &str = "redis-token-from-ssm-AbCdEf";
const AMZ_JSON: &str = "application/x-amz-json-1.1";
const JWT_PARAM: &str = "/edgestate/staging/jwt-secret";
const TOKEN_PARAM: &str = "/edgestate/staging/redis-token";
/// Both secrets named as SSM parameters, as a deployed stage sets them.
const BOTH_PARAMS: [(&str, &str); 2] = [
    ("JWT_SECRET_PARAM", JWT_PARAM),
    ("UPSTASH_REDIS_REST_TOKEN_PARAM", TOKEN_PARAM),
];

fn env(pairs: &[(&str, &str)]) -> Pairs {
    Pairs::new(pairs)
}

/// A client for the fake SSM, built without reading the host's environment or profile, with
/// quick retries so failure tests stay fast.
async fn ssm_client(server: &MockServer) -> Client {
    ssm_client_at(server.uri(), quick_retries()).await
}

/// The standard retry, with short waits between attempts.
fn quick_retries() -> RetryConfig {
    RetryConfig::standard().with_initial_backoff(Duration::from_millis(10))
}

/// A client for an SSM at `uri`, built as [`ssm_client`] builds one, retrying as `retry` says.
async fn ssm_client_at(uri: String, retry: RetryConfig) -> Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .empty_test_environment()
        .region(Region::new("eu-west-1"))
        .endpoint_url(uri)
        .test_credentials()
        .retry_config(retry)
        .load()
        .await;
    ssm::ssm_client(&sdk)
}

fn parameter(name: &str, value: &str) -> Value {
    json!({
        "Name": name,
        "Type": "SecureString",
        "Value": value,
        "Version": 1,
        "LastModifiedDate": 1.7e9,
        "ARN": format!("arn:aws:ssm:eu-west-1:123456789012:parameter{name}"),
        "DataType": "text",
    })
}

fn get_parameters() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("x-amz-target", "AmazonSSM.GetParameters"))
}

fn answer(parameters: Vec<Value>, invalid: &[&str]) -> ResponseTemplate {
    let body = json!({ "Parameters": parameters, "InvalidParameters": invalid });
    ResponseTemplate::new(200).set_body_raw(body.to_string(), AMZ_JSON)
}

/// Display and Debug both, for checking that no value leaks.
fn shown(error: &SecretsError) -> String {
    format!("{error} | {error:?}")
}

fn assert_no_values(text: &str) {
    for value in [JWT_VALUE, TOKEN_VALUE] {
        assert!(!text.contains(value), "a secret value leaked: {text}");
    }
}

#[tokio::test]
async fn secrets_come_from_ssm_in_one_decrypting_request() {
    let server = MockServer::start().await;
    get_parameters()
        .respond_with(answer(
            vec![
                parameter(JWT_PARAM, JWT_VALUE),
                parameter(TOKEN_PARAM, TOKEN_VALUE),
            ],
            &[],
        ))
        .expect(1)
        .mount(&server)
        .await;
    let base = env(&[BOTH_PARAMS[0], BOTH_PARAMS[1], ("STAGE", "staging")]);

    let resolved = ssm::resolve_with(base, &ssm_client(&server).await)
        .await
        .unwrap();

    assert_eq!(resolved.get("JWT_SECRET").as_deref(), Some(JWT_VALUE));
    assert_eq!(
        resolved.get("UPSTASH_REDIS_REST_TOKEN").as_deref(),
        Some(TOKEN_VALUE)
    );
    assert_eq!(resolved.get("JWT_PREVIOUS_SECRET"), None);
    assert_eq!(resolved.get("STAGE").as_deref(), Some("staging"));
    assert_no_values(&format!("{resolved:?}"));

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "one GetParameters call for every secret");
    let mut body: Value = requests[0].body_json().unwrap();
    body["Names"]
        .as_array_mut()
        .unwrap()
        .sort_by_key(|n| n.to_string());
    assert_eq!(
        body,
        json!({
            "Names": [JWT_PARAM, TOKEN_PARAM],
            "WithDecryption": true,
        })
    );
    assert!(
        requests[0]
            .headers
            .get("authorization")
            .is_some_and(|value| value.to_str().unwrap().starts_with("AWS4-HMAC-SHA256")),
        "the request is signed"
    );
}

#[tokio::test]
async fn plain_env_vars_need_no_ssm_and_no_aws_configuration() {
    let base = env(&[
        ("JWT_SECRET", "a-plain-jwt-secret-of-32-bytes!!"),
        ("UPSTASH_REDIS_REST_TOKEN", "plain-token"),
        ("JWT_PREVIOUS_SECRET_PARAM", "   "), // blank counts as unset
    ]);
    // The production entry point: it would need a region and credentials to build a client.
    let resolved = tokio::time::timeout(Duration::from_secs(1), ssm::resolve(base))
        .await
        .expect("no network call")
        .unwrap();
    assert_eq!(
        resolved.get("JWT_SECRET").as_deref(),
        Some("a-plain-jwt-secret-of-32-bytes!!")
    );
    assert_eq!(
        resolved.get("UPSTASH_REDIS_REST_TOKEN").as_deref(),
        Some("plain-token")
    );
}

#[tokio::test]
async fn a_given_client_is_not_called_without_any_param() {
    let server = MockServer::start().await;
    let base = env(&[("JWT_SECRET", "a-plain-jwt-secret-of-32-bytes!!")]);
    let resolved = ssm::resolve_with(base, &ssm_client(&server).await)
        .await
        .unwrap();
    assert_eq!(
        resolved.get("JWT_SECRET").as_deref(),
        Some("a-plain-jwt-secret-of-32-bytes!!")
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_parameter_is_named() {
    let server = MockServer::start().await;
    get_parameters()
        .respond_with(answer(
            vec![parameter(TOKEN_PARAM, TOKEN_VALUE)],
            &[JWT_PARAM],
        ))
        .expect(1)
        .mount(&server)
        .await;
    let base = env(&BOTH_PARAMS);

    let error = ssm::resolve_with(base, &ssm_client(&server).await)
        .await
        .unwrap_err();

    assert_eq!(
        error.to_string(),
        "SSM parameter /edgestate/staging/jwt-secret (for JWT_SECRET_PARAM) does not exist"
    );
    assert_no_values(&shown(&error));
}

#[tokio::test]
async fn an_empty_parameter_is_refused() {
    let server = MockServer::start().await;
    get_parameters()
        .respond_with(answer(vec![parameter("/app/jwt", " ")], &[]))
        .mount(&server)
        .await;
    let base = env(&[("JWT_SECRET_PARAM", "/app/jwt")]);
    let error = ssm::resolve_with(base, &ssm_client(&server).await)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "SSM parameter /app/jwt (for JWT_SECRET_PARAM) is empty"
    );
}

#[tokio::test]
async fn a_setting_given_both_ways_is_refused_before_any_call() {
    let server = MockServer::start().await;
    let base = env(&[
        ("JWT_SECRET", "a-plain-jwt-secret-of-32-bytes!!"),
        ("JWT_SECRET_PARAM", "/app/jwt"),
    ]);
    let error = ssm::resolve_with(base, &ssm_client(&server).await)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SecretsError::BothSet {
            name: "JWT_SECRET",
            param: "JWT_SECRET_PARAM"
        }
    );
    assert!(error.to_string().contains("set only one"), "{error}");
    assert!(!shown(&error).contains("a-plain-jwt-secret"));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn access_denied_names_the_parameters_and_the_error_code() {
    let server = MockServer::start().await;
    let body = json!({
        "__type": "AccessDeniedException",
        "message": "User: arn:aws:sts::123456789012:assumed-role/fn/x is not authorized to perform: ssm:GetParameters",
    });
    get_parameters()
        .respond_with(ResponseTemplate::new(400).set_body_raw(body.to_string(), AMZ_JSON))
        .expect(1) // not retried: a client error
        .mount(&server)
        .await;
    let base = env(&[
        ("JWT_SECRET_PARAM", "/app/jwt"),
        ("JWT_PREVIOUS_SECRET_PARAM", "/app/jwt-previous"),
    ]);

    let error = ssm::resolve_with(base, &ssm_client(&server).await)
        .await
        .unwrap_err();

    let SecretsError::Fetch { parameters, cause } = &error else {
        panic!("expected a fetch error, got {error}");
    };
    assert_eq!(
        parameters,
        "/app/jwt (for JWT_SECRET_PARAM), /app/jwt-previous (for JWT_PREVIOUS_SECRET_PARAM)"
    );
    assert!(
        cause.starts_with("AccessDeniedException (HTTP 400): User: "),
        "{cause}"
    );
}

#[tokio::test]
async fn a_server_error_is_retried_then_reported() {
    let server = MockServer::start().await;
    get_parameters()
        .respond_with(ResponseTemplate::new(500))
        .expect(3) // the SDK's standard retry: a read is safe to re-send
        .mount(&server)
        .await;
    let base = env(&[("UPSTASH_REDIS_REST_TOKEN_PARAM", "/app/redis-token")]);

    let error = ssm::resolve_with(base, &ssm_client(&server).await)
        .await
        .unwrap_err();

    let text = error.to_string();
    assert!(
        text.starts_with(
            "cannot read SSM parameters /app/redis-token (for UPSTASH_REDIS_REST_TOKEN_PARAM): "
        ),
        "{text}"
    );
    assert!(text.contains("HTTP 500"), "{text}");
}

#[tokio::test]
async fn an_unreadable_answer_does_not_leak_its_body() {
    let server = MockServer::start().await;
    let garbled = format!(
        r#"{{"Parameters":[{{"Name":"/app/jwt","Type":"SecureString","Value":"{JWT_VALUE}"}}],"InvalidParameters":oops"#
    );
    get_parameters()
        .respond_with(ResponseTemplate::new(200).set_body_raw(garbled, AMZ_JSON))
        .mount(&server)
        .await;
    let base = env(&[("JWT_SECRET_PARAM", "/app/jwt")]);

    let error = ssm::resolve_with(base, &ssm_client(&server).await)
        .await
        .unwrap_err();

    assert!(matches!(error, SecretsError::Fetch { .. }), "{error}");
    assert_no_values(&shown(&error));
}

#[tokio::test]
async fn a_refused_connection_is_a_dispatch_failure_naming_the_parameters() {
    // A port that was free a moment ago: connecting is refused.
    let uri = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let ssm = ssm_client_at(uri, RetryConfig::disabled()).await;
    let base = env(&[("JWT_SECRET_PARAM", "/app/jwt")]);

    let error = ssm::resolve_with(base, &ssm).await.unwrap_err();

    let text = error.to_string();
    assert!(
        text.starts_with("cannot read SSM parameters /app/jwt (for JWT_SECRET_PARAM): "),
        "{text}"
    );
    assert!(text.contains("dispatch failure"), "{text}");
}

/// Tokio's clock is paused: it moves only when every task waits, straight to the next timer,
/// so the times measured here are those the client's own time limits set, however slow the
/// machine.
#[tokio::test(start_paused = true)]
async fn an_ssm_that_never_answers_is_given_up_at_the_time_limit() {
    // A server that takes every connection and never answers a byte; it hands each one over,
    // so none is closed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let (accepted, connections) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stream.map(|stream| accepted.send(stream)).is_err() {
                return;
            }
        }
    });
    let ssm = ssm_client_at(uri, quick_retries()).await;
    let base = env(&[("JWT_SECRET_PARAM", "/app/jwt")]);

    let started = tokio::time::Instant::now();
    let waited = tokio::time::timeout(Duration::from_secs(60), ssm::resolve_with(base, &ssm))
        .await
        .expect("the client's time limits end the wait");
    assert_eq!(
        started.elapsed(),
        ssm::SSM_TIMEOUT,
        "the call's own limit ends it"
    );
    let text = waited.unwrap_err().to_string();
    assert_eq!(
        text,
        "cannot read SSM parameters /app/jwt (for JWT_SECRET_PARAM): no answer within 5s"
    );
    // Each attempt gives up after 2 s and the standard retry sends another: three attempts
    // fit in the call's 5 s, however long the last one would have waited.
    let held: Vec<_> = (0..3)
        .map(|_| connections.recv_timeout(Duration::from_secs(10)))
        .collect();
    assert!(held.iter().all(Result::is_ok), "three attempts: {held:?}");
}

/// The production path configures its client from the process environment the standard AWS
/// way. Changing this process's environment is unsafe while other tests run, so a child
/// process (this test binary, running only `child_resolves_from_the_process_env`) gets it.
#[tokio::test]
async fn production_path_honours_aws_endpoint_url_ssm() {
    let server = MockServer::start().await;
    get_parameters()
        .respond_with(answer(vec![parameter("/app/jwt", JWT_VALUE)], &[]))
        .expect(1)
        .mount(&server)
        .await;

    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_resolves_from_the_process_env",
            "--ignored",
            "--nocapture",
        ])
        .env_clear()
        .env(CHILD, "1")
        .env("JWT_SECRET_PARAM", "/app/jwt")
        .env("AWS_ENDPOINT_URL_SSM", server.uri())
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-access-key")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
    server.verify().await;
}

const CHILD: &str = "EDGESTATE_SECRETS_TEST_CHILD";

#[tokio::test]
#[ignore = "run in a child process by production_path_honours_aws_endpoint_url_ssm"]
async fn child_resolves_from_the_process_env() {
    if std::env::var_os(CHILD).is_none() {
        return; // `cargo test -- --ignored` without the environment the parent sets up
    }
    let resolved = ssm::resolve(ProcessEnv).await.unwrap();
    assert_eq!(resolved.get("JWT_SECRET").as_deref(), Some(JWT_VALUE));
    assert_eq!(resolved.get("AWS_REGION").as_deref(), Some("eu-west-1"));
}
