//! The `auth-login` binary with its secrets in SSM Parameter Store, as deployed: the cold
//! start reads them from a fake SSM (wiremock speaking JSON 1.1, `x-amz-target:
//! AmazonSSM.GetParameters`) in one call, and a missing parameter stops it with one clear line.

use std::path::Path;

use edgestate::time::now_seconds;
use serde_json::{Value, json};
use testkit::events::event;
use testkit::fixtures::registered_user;
use testkit::{JWT_SECRET, LambdaProcess, Outcome, Stack, TOKEN, test_tokens};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REDIS_TOKEN_PARAM: &str = "/edgestate/test/redis-token";
const JWT_SECRET_PARAM: &str = "/edgestate/test/jwt-secret";
const AMZ_JSON: &str = "application/x-amz-json-1.1";
const EMAIL: &str = "ann.lee@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// One entry of a `GetParameters` answer's `Parameters`.
fn parameter(&(name, value): &(&str, &str)) -> Value {
    json!({"Name": name, "Type": "SecureString", "Value": value, "Version": 1})
}

/// A fake SSM answering every `GetParameters` with `found` (name, value) and `invalid` names.
async fn fake_ssm(found: &[(&str, &str)], invalid: &[&str]) -> MockServer {
    let body = json!({
        "Parameters": found.iter().map(parameter).collect::<Vec<_>>(),
        "InvalidParameters": invalid,
    });
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("x-amz-target", "AmazonSSM.GetParameters"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_string(), AMZ_JSON))
        .mount(&server)
        .await;
    server
}

/// `auth-login` configured as template.yaml deploys it: secrets named, never given, and an
/// AWS environment that can reach nothing but the fake (static credentials, no IMDS, no
/// profile files).
async fn spawn_login(stack: &Stack, ssm: &MockServer) -> LambdaProcess {
    let env = [
        ("UPSTASH_REDIS_REST_URL", stack.rest_url()),
        (
            "UPSTASH_REDIS_REST_TOKEN_PARAM",
            REDIS_TOKEN_PARAM.to_owned(),
        ),
        ("JWT_SECRET_PARAM", JWT_SECRET_PARAM.to_owned()),
        ("AWS_ENDPOINT_URL_SSM", ssm.uri()),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
    ];
    let binary = Path::new(env!("CARGO_BIN_EXE_auth-login"));
    LambdaProcess::spawn(binary, &env).await
}

#[tokio::test]
async fn secrets_are_read_from_ssm_once_per_cold_start() {
    let stack = Stack::start().await;
    registered_user(&stack, EMAIL, PASSWORD).await;
    let ssm = fake_ssm(
        &[(REDIS_TOKEN_PARAM, TOKEN), (JWT_SECRET_PARAM, JWT_SECRET)],
        &[],
    )
    .await;
    let mut function = spawn_login(&stack, &ssm).await;

    for _ in 0..2 {
        let (status, body) = function.invoke_http(&event("auth-login")).await;
        assert_eq!(status, 200, "{body}");
        let token = body["token"].as_str().expect("a token");
        test_tokens()
            .verify(token, now_seconds())
            .expect("signed with the secret from SSM");
    }

    let requests = ssm
        .received_requests()
        .await
        .expect("requests are recorded");
    assert_eq!(requests.len(), 1, "one GetParameters per cold start");
    let request: Value = requests[0].body_json().expect("a JSON request");
    assert_eq!(request["WithDecryption"], json!(true));
    let mut names = request["Names"].as_array().expect("Names").clone();
    names.sort_by_key(Value::to_string);
    assert_eq!(names, [JWT_SECRET_PARAM, REDIS_TOKEN_PARAM]);

    let logs = function.logs().await;
    for secret in [TOKEN, JWT_SECRET, PASSWORD] {
        assert!(!logs.contains(secret), "{secret:?} leaked into: {logs}");
    }
}

#[tokio::test]
async fn a_missing_parameter_stops_the_cold_start_with_one_clear_line() {
    let stack = Stack::start().await;
    let ssm = fake_ssm(&[(REDIS_TOKEN_PARAM, TOKEN)], &[JWT_SECRET_PARAM]).await;
    let mut function = spawn_login(&stack, &ssm).await;

    let outcome = function.invoke(&event("auth-login").to_string()).await;
    assert!(matches!(outcome, Outcome::InitFailed), "{outcome:?}");

    let logs = function.logs().await;
    let naming = LambdaProcess::the_line_naming(&logs, JWT_SECRET_PARAM);
    assert_eq!(
        naming["error"],
        json!("SSM parameter /edgestate/test/jwt-secret (for JWT_SECRET_PARAM) does not exist")
    );
    assert!(!logs.contains(TOKEN), "the redis token leaked into: {logs}");
}
