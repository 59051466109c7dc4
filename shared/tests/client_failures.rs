//! The REST client's failure paths, against an HTTP fake: these are the answers a real
//! Upstash endpoint gives only when something is broken (timeouts, 5xx, garbage, NOSCRIPT
//! after a flush), so they cannot be produced on demand through upstash-local.

use std::net::TcpListener;
use std::time::Duration;

use edgestate::redis::{Command, RedisClient, RedisConfig, RedisError, Reply, Script, Unavailable};
use edgestate::secret::Secret;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
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
async fn sends_token_and_asks_for_base64_then_decodes_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("upstash-encoding", "base64"))
        .and(body_json(json!(["GET", "k"])))
        .respond_with(ok(json!("AAH/")))
        .expect(1)
        .mount(&server)
        .await;
    let reply = client(&server.uri(), Duration::from_secs(1))
        .command(&Command::new("GET").arg("k"))
        .await
        .unwrap();
    assert_eq!(reply, Reply::Bytes(vec![0, 1, 255]));
}

#[tokio::test]
async fn rejected_token_is_unauthorized_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "Unauthorized"})))
        .mount(&server)
        .await;
    let error = client(&server.uri(), Duration::from_secs(1))
        .command(&Command::new("GET").arg("k"))
        .await
        .unwrap_err();
    assert!(matches!(error, RedisError::Unauthorized), "{error:?}");
    assert_eq!(requests_received(&server).await, 1);
    assert!(!error.to_string().contains(TOKEN));
}

#[tokio::test]
async fn command_error_names_the_command_and_keeps_redis_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "WRONGTYPE Operation against a key holding the wrong kind of value"
        })))
        .mount(&server)
        .await;
    let error = client(&server.uri(), Duration::from_secs(1))
        .command(&Command::new("incr").arg("secret-value-key"))
        .await
        .unwrap_err();
    let RedisError::Command(command) = error else {
        panic!("expected a command error, got {error:?}");
    };
    assert_eq!(command.command, "INCR");
    assert!(command.message.starts_with("WRONGTYPE"));
    assert!(!command.to_string().contains("secret-value-key"));
}

#[tokio::test]
async fn server_error_is_retried_only_for_idempotent_commands() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok(json!("aGk=")))
        .mount(&server)
        .await;
    let client = client(&server.uri(), Duration::from_secs(2));

    let reply = client.command(&Command::new("GET").arg("k")).await.unwrap();
    assert_eq!(reply, Reply::Bytes(b"hi".to_vec()));
    assert_eq!(
        requests_received(&server).await,
        2,
        "GET is retried after a 502"
    );

    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let error = client
        .command(&Command::new("INCR").arg("k"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RedisError::Unavailable(Unavailable::Status(503))),
        "{error:?}"
    );
    assert_eq!(requests_received(&server).await, 1, "INCR is sent once");
}

#[tokio::test]
async fn timed_out_non_idempotent_command_is_sent_exactly_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok(json!(1)).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let error = client(&server.uri(), Duration::from_millis(300))
        .command(&Command::new("INCR").arg("counter"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RedisError::Unavailable(Unavailable::Timeout)),
        "{error:?}"
    );
    // Give a (wrong) retry every chance to arrive before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(requests_received(&server).await, 1);
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
async fn unsent_request_is_retried_even_when_not_idempotent() {
    // Nothing listens on the port at first: connections are refused, so the INCR is never
    // sent and may be retried. The server appears a little later and gets it exactly once.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client(&format!("http://127.0.0.1:{port}"), Duration::from_secs(3));
    let late_server = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let server = MockServer::builder().listener(listener).start().await;
        Mock::given(method("POST"))
            .respond_with(ok(json!(1)))
            .mount(&server)
            .await;
        server
    };
    let incr = Command::new("INCR").arg("k");
    let (reply, server) = tokio::join!(client.command(&incr), late_server);
    assert_eq!(reply.unwrap(), Reply::Int(1));
    assert_eq!(requests_received(&server).await, 1);
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

#[tokio::test]
async fn scripts_are_sent_at_most_once() {
    let script = Script::new("bump", "return redis.call('INCR', KEYS[1])");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let client = client(&server.uri(), Duration::from_secs(1));
    let error = client.eval(&script.call().key("k")).await.unwrap_err();
    assert!(
        matches!(error, RedisError::Unavailable(Unavailable::Status(503))),
        "{error:?}"
    );
    assert_eq!(requests_received(&server).await, 1, "a script after a 503");

    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ok(json!(1)).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let client = self::client(&server.uri(), Duration::from_millis(300));
    let error = client.eval(&script.call().key("k")).await.unwrap_err();
    assert!(
        matches!(error, RedisError::Unavailable(Unavailable::Timeout)),
        "{error:?}"
    );
    // Give a (wrong) retry every chance to arrive before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        requests_received(&server).await,
        1,
        "a timed-out script is sent once"
    );
}

fn noscript() -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({
        "error": "NOSCRIPT No matching script. Please use EVAL."
    }))
}

fn sent_bodies(requests: &[wiremock::Request]) -> Vec<serde_json::Value> {
    requests
        .iter()
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect()
}

#[tokio::test]
async fn script_goes_by_source_first_then_by_sha_and_falls_back_on_noscript() {
    let script = Script::new("answer", "return 42");
    let server = MockServer::start().await;
    Mock::given(path("/"))
        .and(body_json(json!(["EVALSHA", script.sha1(), 0])))
        .respond_with(noscript())
        .mount(&server)
        .await;
    Mock::given(path("/"))
        .and(body_json(json!(["EVAL", "return 42", 0])))
        .respond_with(ok(json!(42)))
        .mount(&server)
        .await;
    let client = client(&server.uri(), Duration::from_secs(1));

    assert_eq!(client.eval(&script.call()).await.unwrap(), Reply::Int(42));
    assert_eq!(client.eval(&script.call()).await.unwrap(), Reply::Int(42));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        sent_bodies(&requests),
        vec![
            json!(["EVAL", "return 42", 0]),
            json!(["EVALSHA", script.sha1(), 0]),
            json!(["EVAL", "return 42", 0]),
        ],
        "a cold client loads by source, a warm one uses the SHA and reloads on NOSCRIPT"
    );
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
        .respond_with(ResponseTemplate::new(503))
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
