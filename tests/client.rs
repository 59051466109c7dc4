//! The REST client against a real Redis through upstash-local: every protocol feature the
//! Lambdas rely on, end to end.

use std::time::Duration;

use edgestate::redis::{Command, RedisClient, RedisConfig, RedisError, Reply, Script, Unavailable};
use edgestate::secret::Secret;
use futures::FutureExt;
use futures::future::BoxFuture;
use testkit::{RedisServer, Stack, TOKEN};

fn text(reply: Reply) -> String {
    reply.into_text().unwrap().unwrap()
}

#[tokio::test]
async fn set_get_incr_and_missing_keys() {
    let stack = Stack::start().await;
    let client = stack.client();
    let set = client
        .command(&Command::new("SET").arg("greeting").arg("hello"))
        .await
        .unwrap();
    assert_eq!(text(set), "OK");
    let get = client
        .command(&Command::new("GET").arg("greeting"))
        .await
        .unwrap();
    assert_eq!(text(get), "hello");
    let missing = client
        .command(&Command::new("GET").arg("nothing-here"))
        .await
        .unwrap();
    assert_eq!(missing, Reply::Nil);
    let incr = client
        .command(&Command::new("INCRBY").arg("n").arg(41_i64))
        .await
        .unwrap();
    assert_eq!(incr, Reply::Int(41));
}

#[tokio::test]
async fn arbitrary_bytes_round_trip_exactly() {
    let stack = Stack::start().await;
    let every_byte: Vec<u8> = (0..=255).collect();
    redis::cmd("SET")
        .arg("bytes")
        .arg(&every_byte)
        .exec_async(&mut stack.redis().connect().await)
        .await
        .unwrap();
    let reply = stack
        .client()
        .command(&Command::new("GET").arg("bytes"))
        .await
        .unwrap();
    assert_eq!(reply, Reply::Bytes(every_byte));
}

#[tokio::test]
async fn awkward_text_values_round_trip_through_json() {
    let stack = Stack::start().await;
    let client = stack.client();
    for value in [
        "nul\0inside",
        "emoji 🦀 and accents éà",
        "OK",
        "T0s=",
        "",
        "\"q\\\n",
    ] {
        client
            .command(&Command::new("SET").arg("v").arg(value))
            .await
            .unwrap();
        let reply = client.command(&Command::new("GET").arg("v")).await.unwrap();
        assert_eq!(reply, Reply::Bytes(value.as_bytes().to_vec()), "{value:?}");
    }
}

#[tokio::test]
async fn nested_arrays_integers_and_nils_keep_their_shape() {
    let stack = Stack::start().await;
    let script = Script::new("nested", "return {1, 'two', {3, 'four', {}}, false}");
    let reply = stack.client().eval(&script.call()).await.unwrap();
    assert_eq!(
        reply,
        Reply::Array(vec![
            Reply::Int(1),
            Reply::Bytes(b"two".to_vec()),
            Reply::Array(vec![
                Reply::Int(3),
                Reply::Bytes(b"four".to_vec()),
                Reply::Array(vec![])
            ]),
            Reply::Nil,
        ])
    );
}

#[tokio::test]
async fn command_error_names_the_command_and_keeps_redis_text_never_the_arguments() {
    let stack = Stack::start().await;
    let client = stack.client();
    client
        .command(&Command::new("SET").arg("secret-value-key").arg("abc"))
        .await
        .unwrap();
    let error = client
        .command(&Command::new("incr").arg("secret-value-key"))
        .await
        .unwrap_err();
    let RedisError::Command(command) = error else {
        panic!("expected a command error, got {error:?}");
    };
    assert_eq!(command.command, "INCR");
    assert_eq!(
        command.message,
        "ERR value is not an integer or out of range"
    );
    assert!(!command.to_string().contains("secret-value-key"));
}

#[tokio::test]
async fn a_refused_token_is_unauthorized_sent_once_and_never_shown() {
    let stack = Stack::start().await;
    let mut config = stack.config();
    config.token = Secret::new("not-the-token");
    let client = RedisClient::new(config).unwrap();
    let before = stack.rest_requests();
    let error = client.command(&Command::new("PING")).await.unwrap_err();
    assert!(matches!(error, RedisError::Unauthorized), "{error:?}");
    assert_eq!(stack.rest_requests() - before, 1, "retrying cannot help");
    assert!(!format!("{error} {error:?}").contains("not-the-token"));
}

#[tokio::test]
async fn a_stopped_redis_is_unavailable_and_only_reads_are_sent_again() {
    let stack = Stack::start().await;
    let client = stack.client();
    let script = Script::new("bump", "return redis.call('INCR', KEYS[1])");
    // The server exits while answering, so this command reports a broken connection.
    let _ = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .exec_async(&mut stack.redis().connect().await)
        .await;
    let (incr, bump, get) = (
        Command::new("INCR").arg("k"),
        script.call().key("k"),
        Command::new("GET").arg("k"),
    );
    // What a call sent, once it failed as it must: upstash-local answers 503 for its Redis.
    let requests = async |call: BoxFuture<'_, Result<Reply, RedisError>>| {
        let before = stack.rest_requests();
        let error = call.await.unwrap_err();
        assert!(
            matches!(error, RedisError::Unavailable(Unavailable::Status(503))),
            "{error:?}"
        );
        stack.rest_requests() - before
    };
    assert_eq!(
        requests(client.command(&incr).boxed()).await,
        1,
        "a write is sent once"
    );
    assert_eq!(
        requests(client.eval(&bump).boxed()).await,
        1,
        "a script is sent once"
    );
    // Within the stack's generous deadline, however slow the machine.
    assert!(
        requests(client.command(&get).boxed()).await >= 2,
        "a read is sent again within the deadline"
    );
}

#[tokio::test]
async fn a_write_or_script_that_times_out_is_sent_exactly_once() {
    // Every answer comes a second after Redis ran the command: far past the client's deadline,
    // however slow the machine.
    let stack = Stack::start_with_latency(Duration::from_secs(1)).await;
    let mut config = stack.config();
    config.timeout = Duration::from_millis(300);
    let client = RedisClient::new(config).unwrap();
    let script = Script::new("bump", "return redis.call('INCR', KEYS[1])");
    let (incr, bump) = (
        Command::new("INCR").arg("counter"),
        script.call().key("counter"),
    );
    let calls = [client.command(&incr).boxed(), client.eval(&bump).boxed()];
    for (ran, call) in (1..).zip(calls) {
        let error = call.await.unwrap_err();
        assert!(
            matches!(error, RedisError::Unavailable(Unavailable::Timeout)),
            "{error:?}"
        );
        // The client gave up; once what it sent has run, a wrong retry would have run too.
        assert_eq!(counter_once_at_least(&stack, ran).await, ran, "sent once");
    }
    assert_eq!(stack.rest_requests(), 2);
}

/// The integer at `counter` over RESP, once it is at least `least` (what was sent before a
/// timeout may still be on its way), after giving anything sent with it time to run as well.
async fn counter_once_at_least(stack: &Stack, least: i64) -> i64 {
    let mut resp = stack.redis().connect().await;
    let mut read = async || -> i64 {
        let value: Option<i64> = redis::cmd("GET")
            .arg("counter")
            .query_async(&mut resp)
            .await
            .unwrap();
        value.unwrap_or(0)
    };
    while read().await < least {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    read().await
}

#[tokio::test]
async fn an_unsent_write_is_sent_once_the_endpoint_appears() {
    // Nothing listens on the port at first: connections are refused, so the INCR is never
    // sent and may be retried. upstash-local appears there a little later and gets it once.
    let redis = RedisServer::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = RedisClient::new(RedisConfig {
        url: format!("http://127.0.0.1:{port}").parse().unwrap(),
        token: Secret::new(TOKEN),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let late_upstash = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        upstash_local::Server::start(upstash_local::Config {
            listen: ([127, 0, 0, 1], port).into(),
            redis_url: redis.url(),
            token: TOKEN.to_owned(),
            latency: Duration::ZERO,
        })
        .await
        .unwrap()
    };
    let incr = Command::new("INCR").arg("k");
    let (reply, upstash) = tokio::join!(client.command(&incr), late_upstash);
    assert_eq!(reply.unwrap(), Reply::Int(1));
    assert_eq!(upstash.request_count(), 1);
}

#[tokio::test]
async fn script_costs_one_request_per_call_and_survives_a_flush() {
    let stack = Stack::start().await;
    let client = stack.client();
    let script = Script::new("incr-by", "return redis.call('INCRBY', KEYS[1], ARGV[1])");
    let counted = |expected: u64, before: u64, what: &str| {
        assert_eq!(stack.rest_requests() - before, expected, "{what}");
    };

    let before = stack.rest_requests();
    let first = client
        .eval(&script.call().key("n").arg(2_i64))
        .await
        .unwrap();
    assert_eq!(first, Reply::Int(2));
    counted(
        1,
        before,
        "a cold client sends the source: EVAL loads and runs it",
    );

    let before = stack.rest_requests();
    let second = client
        .eval(&script.call().key("n").arg(3_i64))
        .await
        .unwrap();
    assert_eq!(second, Reply::Int(5));
    counted(1, before, "a warm client sends EVALSHA alone");

    let other_instance = stack.client();
    let before = stack.rest_requests();
    let third = other_instance
        .eval(&script.call().key("n").arg(4_i64))
        .await
        .unwrap();
    assert_eq!(third, Reply::Int(9));
    counted(
        1,
        before,
        "another instance's cold start costs no extra request either",
    );

    redis::cmd("SCRIPT")
        .arg("FLUSH")
        .exec_async(&mut stack.redis().connect().await)
        .await
        .unwrap();
    let before = stack.rest_requests();
    let after_flush = client
        .eval(&script.call().key("n").arg(1_i64))
        .await
        .unwrap();
    assert_eq!(
        after_flush,
        Reply::Int(10),
        "ran exactly once after the flush"
    );
    counted(2, before, "EVALSHA, NOSCRIPT, then EVAL");
}
