//! The REST client against a real Redis through upstash-local: every protocol feature the
//! Lambdas rely on, end to end.

use edgestate::redis::{Command, RedisError, Reply, Script};
use testkit::Stack;

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
async fn command_error_is_told_apart_from_an_outage() {
    let stack = Stack::start().await;
    let client = stack.client();
    client
        .command(&Command::new("SET").arg("word").arg("abc"))
        .await
        .unwrap();
    let error = client
        .command(&Command::new("INCR").arg("word"))
        .await
        .unwrap_err();
    let RedisError::Command(command) = error else {
        panic!("expected a command error, got {error:?}");
    };
    assert_eq!(command.command, "INCR");
    assert!(command.message.starts_with("ERR value is not an integer"));
}

#[tokio::test]
async fn wrong_token_is_unauthorized() {
    let stack = Stack::start().await;
    let mut config = stack.config();
    config.token = edgestate::secret::Secret::new("not-the-token");
    let client = edgestate::redis::RedisClient::new(config).unwrap();
    let error = client.command(&Command::new("PING")).await.unwrap_err();
    assert!(matches!(error, RedisError::Unauthorized), "{error:?}");
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
