//! The REST client's failure paths that upstash-local and redis-server cannot produce on
//! demand, against an HTTP fake: an outage or a slow answer that passes (a failure, then a good
//! answer), a NOSCRIPT that is also slow, answers outside the protocol, and what the client
//! itself sends (the sync token). Each fake answers what upstash-local answers. Everything
//! the real stack can produce (a refused token, a stopped Redis, a slow one, NOSCRIPT after a
//! flush, a refused command) is tested against it in `tests/client.rs`.

use std::net::TcpListener;
use std::time::Duration;

use edgestate::redis::{Command, RedisClient, RedisConfig, RedisError, Reply, Script, Unavailable};
use edgestate::secret::Secret;
use serde_json::json;
use wiremock::matchers::{body_json, header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "test-token-never-logged";

fn client(server_url: &str, timeout: Duration) -> RedisClient {
    RedisClient::new(RedisConfig {
        url: server_url.parse().unwrap(),
        token: Secret::new(TOKEN),
        timeout,
    })
    .unwrap()
}

async fn requests_received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn ok(result: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "result": result }))
}

#[tokio::test]
async fn a_read_is_retried_through_a_passing_outage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(redis_unavailable())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok(json!("aGk=")))
        .mount(&server)
        .await;
    let reply = client(&server.uri(), Duration::from_secs(2))
        .command(&Command::new("GET").arg("k"))
        .await
        .unwrap();
    assert_eq!(reply, Reply::Bytes(b"hi".to_vec()));
    assert_eq!(
        requests_received(&server).await,
        2,
        "GET is sent again after a 503"
    );
}

#[tokio::test]
async fn timed_out_idempotent_command_is_retried_within_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(json!("c2xvdw==")).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok(json!("ZmFzdA==")))
        .mount(&server)
        .await;
    let reply = client(&server.uri(), Duration::from_secs(1))
        .command(&Command::new("GET").arg("k"))
        .await
        .unwrap();
    assert_eq!(reply.into_text().unwrap().as_deref(), Some("fast"));
    assert_eq!(requests_received(&server).await, 2);
}

#[tokio::test]
async fn transport_errors_do_not_carry_credentials_from_the_url() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://user:url-password@127.0.0.1:{port}/?_token=url-token");
    let error = client(&url, Duration::from_millis(200))
        .command(&Command::new("GET").arg("k"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RedisError::Unavailable(Unavailable::Transport(_))),
        "{error:?}"
    );
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains("url-password") && !text.contains("url-token"),
        "{text}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_protocol_errors() {
    let cases = [
        ResponseTemplate::new(200).set_body_string("<html>proxy error</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"result": "not base64!"})),
        ResponseTemplate::new(200).set_body_json(json!({"neither": 1})),
        ResponseTemplate::new(400).set_body_json(json!({"message": "no error field"})),
        ResponseTemplate::new(404).set_body_json(json!({"error": "not found"})),
    ];
    for response in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(response)
            .mount(&server)
            .await;
        let error = client(&server.uri(), Duration::from_secs(1))
            .command(&Command::new("GET").arg("k"))
            .await
            .unwrap_err();
        assert!(matches!(error, RedisError::Protocol(_)), "{error:?}");
    }
}

/// upstash-local's answer to an EVALSHA of a script its Redis does not hold: Redis's text.
fn noscript() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({
        "error": "NOSCRIPT No matching script. Please use EVAL."
    }))
}

/// upstash-local's answer when it cannot reach its Redis.
fn redis_unavailable() -> ResponseTemplate {
    ResponseTemplate::new(503).set_body_json(json!({
        "error": "ERR redis unavailable: Error occurred while creating a new object: \
                  Connection refused (os error 111)"
    }))
}

#[tokio::test]
async fn one_deadline_covers_a_script_resent_after_noscript() {
    let script = Script::new("answer", "return 42");
    let server = MockServer::start().await;
    // The first call loads the script at once; after that the server has "lost" it, and both
    // the EVALSHA and the EVAL it triggers take 250 ms: 500 ms in all, past a 400 ms deadline.
    Mock::given(body_json(json!(["EVAL", "return 42", 0])))
        .respond_with(ok(json!(42)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(body_json(json!(["EVAL", "return 42", 0])))
        .respond_with(ok(json!(42)).set_delay(Duration::from_millis(250)))
        .mount(&server)
        .await;
    Mock::given(body_json(json!(["EVALSHA", script.sha1(), 0])))
        .respond_with(noscript().set_delay(Duration::from_millis(250)))
        .mount(&server)
        .await;
    let client = client(&server.uri(), Duration::from_millis(400));
    client.eval(&script.call()).await.unwrap();

    let error = client.eval(&script.call()).await.unwrap_err();
    assert!(
        matches!(error, RedisError::Unavailable(Unavailable::Timeout)),
        "the EVAL after NOSCRIPT gets what is left of the call's deadline, not a new one: {error:?}"
    );
}

#[tokio::test]
async fn sync_token_from_a_response_is_sent_with_the_next_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("upstash-sync-token", "sync-7"))
        .respond_with(ok(json!("T0s=")).insert_header("upstash-sync-token", "sync-8"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok(json!("OK")).insert_header("upstash-sync-token", "sync-7"))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server.uri(), Duration::from_secs(1));
    client
        .command(&Command::new("SET").arg("k").arg("v"))
        .await
        .unwrap();
    client.command(&Command::new("GET").arg("k")).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(!requests[0].headers.contains_key("upstash-sync-token"));
    assert_eq!(requests[1].headers["upstash-sync-token"], "sync-7");
}

/// Logs at the most verbose level, through failures and successes, never contain the token
/// or a command's values.
#[tokio::test]
async fn neither_token_nor_values_reach_the_logs() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(redis_unavailable())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok(json!("T0s=")))
        .mount(&server)
        .await;
    let client = client(&server.uri(), Duration::from_secs(1));
    let value = "value-that-is-a-password";
    client
        .command(&Command::new("SET").arg("k").arg(value).idempotent())
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("SET"), "the command name is logged: {logs}");
    assert!(logs.contains("retrying"), "the retry is logged: {logs}");
    assert!(!logs.contains(TOKEN), "{logs}");
    assert!(!logs.contains(value), "{logs}");
}
