//! Scripts with Upstash's `allow-key-locking` flag: accepted, run on Redis, known by the SHA-1
//! of what the client sent, and held to the flag's rules (only the keys in KEYS, no
//! database-wide command) except inside a transaction, where Upstash ignores the flag. Redis is
//! checked over RESP: a refused command must have had no effect.

use std::time::Duration;

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use reqwest::StatusCode;
use serde_json::json;
use tokio::task::JoinSet;
use upstash_local::test_support::RedisServer;

use crate::support::{Resp, Rest, Stack};

/// A SHA-1 no script has.
const UNKNOWN: &str = "1111111111111111111111111111111111111111";
const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// `body` under a shebang with the flag alone, so its first line is line 2.
fn flagged(body: &str) -> String {
    format!("#!lua flags=allow-key-locking\n{body}")
}

fn sha1(script: &str) -> String {
    digest(&SHA1_FOR_LEGACY_USE_ONLY, script.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn undeclared_key(key: &str, script: &str, line: u32) -> String {
    format!(
        "ERR allow-key-locking: key '{key}' is not in KEYS script: {}, on @user_script:{line}.",
        sha1(script)
    )
}

#[tokio::test]
async fn flagged_scripts_run_alone_or_with_other_flags() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let incr = flagged("return redis.call('INCR', KEYS[1])");
    rest.command(json!(["EVAL", incr, 1, "counter"]))
        .await
        .assert_result(json!(1));
    let read = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', KEYS[1])";
    rest.command(json!(["EVAL_RO", read, 1, "counter"]))
        .await
        .assert_result(json!("1"));
    // The other flags still hold, the error names the line and the client's SHA-1.
    let write = "#!lua flags=allow-key-locking,no-writes\n\nreturn redis.call('SET', KEYS[1], 1)";
    rest.command(json!(["EVAL", write, 1, "counter"]))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "ERR Write commands are not allowed from read-only scripts. script: {}, on \
                 @user_script:3.",
                sha1(write)
            ),
        );
}

#[tokio::test]
async fn an_undeclared_key_is_refused_before_it_has_any_effect() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let mut resp = Resp::connect(&stack).await;
    let script = flagged(
        "redis.call('SET', KEYS[1], ARGV[1])\nredis.call('SET', 'undeclared', ARGV[1])\nreturn 1",
    );
    rest.command(json!(["EVAL", script, 1, "declared", "v"]))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            &undeclared_key("undeclared", &script, 3),
        );
    assert!(!resp.exists("undeclared").await);
    // What ran before the refused command stays, as with any Redis script error.
    assert_eq!(resp.get("declared").await.as_deref(), Some(&b"v"[..]));

    // Reads are refused too, and glob characters in a declared key match only themselves.
    resp.set("user:1", b"secret").await;
    let read = flagged("return redis.call('GET', 'user:1')");
    rest.command(json!(["EVAL", read, 1, "user:*"]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, &undeclared_key("user:1", &read, 2));
    let spaced = flagged("return redis.call('SET', KEYS[1], 'v')");
    rest.command(json!(["EVAL", spaced, 1, "a key with spaces"]))
        .await
        .assert_result(json!("OK"));

    // A script that catches the refusal goes on; the refused command still changed nothing.
    let caught = flagged(
        "local reply = redis.pcall('SET', 'undeclared', 'x')\n\
         if reply.err then return 'refused' end\nreturn 'written'",
    );
    rest.command(json!(["EVAL", caught, 0]))
        .await
        .assert_result(json!("refused"));
    assert!(!resp.exists("undeclared").await);
}

#[tokio::test]
async fn database_wide_commands_are_refused() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let mut resp = Resp::connect(&stack).await;
    resp.set("kept", b"1").await;
    for (call, name) in [
        ("'FLUSHDB'", "flushdb"),
        ("'FLUSHALL'", "flushall"),
        ("'KEYS', '*'", "keys"),
        ("'SCAN', '0'", "scan"),
        ("'RANDOMKEY'", "randomkey"),
        ("'DBSIZE'", "dbsize"),
        ("'SWAPDB', '0', '1'", "swapdb"),
        ("'SELECT', '1'", "select"),
    ] {
        let script = flagged(&format!("return redis.call({call})"));
        rest.command(json!(["EVAL", script, 1, "kept"]))
            .await
            .assert_error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "ERR allow-key-locking: command '{name}' needs the whole database and is \
                     refused script: {}, on @user_script:2.",
                    sha1(&script)
                ),
            );
    }
    assert_eq!(resp.get("kept").await.as_deref(), Some(&b"1"[..]));
}

#[tokio::test]
async fn unflagged_scripts_keep_plain_redis_behaviour() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    rest.command(json!([
        "EVAL",
        "redis.call('SET', 'undeclared', 'x')\nreturn redis.call('DBSIZE')",
        0
    ]))
    .await
    .assert_result(json!(1));
    rest.command(json!([
        "EVAL",
        "#!lua flags=no-writes\nreturn redis.call('GET', 'undeclared')",
        0
    ]))
    .await
    .assert_result(json!("x"));
    rest.command(json!(["EVAL", "return redis.call('FLUSHDB')", 0]))
        .await
        .assert_result(json!("OK"));
    assert!(!Resp::connect(&stack).await.exists("undeclared").await);
}

#[tokio::test]
async fn clients_name_flagged_scripts_by_the_sha1_of_what_they_sent() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let script = flagged("return redis.call('INCR', KEYS[1])");
    let sha = sha1(&script);
    rest.command(json!(["SCRIPT", "LOAD", script]))
        .await
        .assert_result(json!(sha));
    rest.command(json!(["SCRIPT", "EXISTS", sha, UNKNOWN]))
        .await
        .assert_result(json!([1, 0]));
    rest.command(json!(["EVALSHA", sha, 1, "n"]))
        .await
        .assert_result(json!(1));
    rest.command(json!(["EVALSHA", sha.to_uppercase(), 1, "n"]))
        .await
        .assert_result(json!(2));

    // Scripts called by SHA-1 are held to the flag's rules too.
    let read = "#!lua flags=no-writes,allow-key-locking\nreturn redis.call('GET', 'n')";
    rest.command(json!(["SCRIPT", "LOAD", read]))
        .await
        .assert_result(json!(sha1(read)));
    rest.command(json!(["EVALSHA_RO", sha1(read), 1, "n"]))
        .await
        .assert_result(json!("2"));
    rest.command(json!(["EVALSHA_RO", sha1(read), 0]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, &undeclared_key("n", read, 2));

    rest.command(json!(["EVALSHA", UNKNOWN, 0]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, NOSCRIPT);

    // After a flush Redis knows no script, until the client sends it again.
    rest.command(json!(["SCRIPT", "FLUSH"]))
        .await
        .assert_result(json!("OK"));
    rest.command(json!(["EVALSHA", sha, 1, "n"]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, NOSCRIPT);
    rest.command(json!(["SCRIPT", "EXISTS", sha]))
        .await
        .assert_result(json!([0]));
    rest.command(json!(["EVAL", script, 1, "n"]))
        .await
        .assert_result(json!(3));
    rest.command(json!(["EVALSHA", sha, 1, "n"]))
        .await
        .assert_result(json!(4));
}

#[tokio::test]
async fn a_pipeline_holds_each_flagged_script_to_its_own_keys() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let incr = flagged("return redis.call('INCR', KEYS[1])");
    let stray = flagged("redis.call('SET', 'undeclared', '1')\nreturn 1");
    rest.pipeline(json!([
        ["SET", "plain", "1"],
        ["EVAL", incr, 1, "a"],
        ["EVAL", stray, 0],
        ["GET", "undeclared"],
        ["EVAL", "return redis.call('SET', 'unflagged', '1')", 0],
        ["EVALSHA", sha1(&incr), 1, "a"],
        ["INCR", "plain"]
    ]))
    .await
    .assert_entries(json!([
        {"result": "OK"},
        {"result": 1},
        {"error": undeclared_key("undeclared", &stray, 2)},
        {"result": null},
        {"result": "OK"},
        {"result": 2},
        {"result": 2}
    ]));
    assert!(!Resp::connect(&stack).await.exists("undeclared").await);
}

#[tokio::test]
async fn in_a_transaction_the_flag_is_accepted_without_its_rules() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let stray = flagged("return redis.call('SET', 'undeclared', ARGV[1])");
    let sha = sha1(&stray);
    rest.multi_exec(json!([
        ["SCRIPT", "LOAD", stray],
        ["EVAL", stray, 0, "v"],
        ["EVALSHA", sha, 0, "w"],
        ["GET", "undeclared"]
    ]))
    .await
    .assert_entries(json!([
        {"result": sha},
        {"result": "OK"},
        {"result": "OK"},
        {"result": "w"}
    ]));
    // Outside a transaction the same script is refused.
    rest.command(json!(["EVALSHA", sha, 0, "x"]))
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            &undeclared_key("undeclared", &stray, 2),
        );
}

#[tokio::test]
async fn the_path_form_runs_flagged_scripts_too() {
    let stack = Stack::start().await;
    let rest = Rest::new(&stack);
    let script = flagged("return redis.call('INCR', KEYS[1])");
    let sha = sha1(&script);
    rest.post("/script/load", script.clone())
        .await
        .assert_result(json!(sha));
    rest.get(&format!("/script/exists/{sha}"))
        .await
        .assert_result(json!([1]));
    rest.get(&format!("/evalsha/{sha}/1/hits"))
        .await
        .assert_result(json!(1));
    // The body is the script, the query its numkeys and key.
    rest.post("/eval?1&hits", script)
        .await
        .assert_result(json!(2));
    let stray = flagged("return redis.call('GET', 'undeclared')");
    rest.post("/eval?0", stray.clone()).await.assert_error(
        StatusCode::BAD_REQUEST,
        &undeclared_key("undeclared", &stray, 2),
    );
}

#[tokio::test]
async fn connections_go_back_to_the_pool_as_their_own_user() {
    let stack = Stack::start().await;
    let allowed = flagged("return redis.call('INCR', KEYS[1])");
    let refused = flagged("return redis.call('GET', 'undeclared')");
    let mut calls = JoinSet::new();
    for index in 0..40 {
        let rest = Rest::new(&stack);
        let script = if index % 2 == 0 { &allowed } else { &refused };
        let command = json!(["EVAL", script, 1, "n"]);
        calls.spawn(async move { rest.command(command).await.status });
    }
    let statuses = calls.join_all().await;
    let refusals = statuses
        .iter()
        .filter(|&&status| status == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!(refusals, 20, "{statuses:?}");

    // Every pooled connection in turn: each may touch any key again.
    let rest = Rest::new(&stack);
    for index in 0..80 {
        rest.command(json!(["SET", format!("any:{index}"), "v"]))
            .await
            .assert_result(json!("OK"));
    }
    let mut resp = Resp::connect(&stack).await;
    let users: Vec<String> = resp.query(redis::cmd("ACL").arg("USERS")).await;
    assert_eq!(users, ["default"], "no script user is left behind");
    assert_eq!(resp.get("n").await.as_deref(), Some(&b"20"[..]));
}

#[tokio::test]
async fn connections_go_back_to_the_user_of_the_redis_url() {
    let redis = RedisServer::start();
    let mut admin = redis.connect().await;
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "app", "on", ">secret", "~*", "&*", "+@all"])
        .query_async(&mut admin)
        .await
        .unwrap();
    let url = redis.url().replacen("redis://", "redis://app:secret@", 1);
    let stack = Stack::in_front_of(redis, url, Duration::ZERO).await;
    // Only `app` can authenticate now: a connection given back to anyone else would fail.
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "default", "off"])
        .query_async(&mut admin)
        .await
        .unwrap();
    let rest = Rest::new(&stack);
    let script = flagged("return redis.call('INCR', KEYS[1])");
    for expected in 1..=3 {
        rest.command(json!(["EVAL", script, 1, "n"]))
            .await
            .assert_result(json!(expected));
        rest.command(json!(["GET", "n"]))
            .await
            .assert_result(json!(expected.to_string()));
    }
}

#[tokio::test]
async fn without_acl_rights_flagged_scripts_are_refused_not_run_unchecked() {
    let redis = RedisServer::start();
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER", "limited", "on", ">secret", "~*", "&*", "+@all", "-@admin",
        ])
        .query_async(&mut redis.connect().await)
        .await
        .unwrap();
    let url = redis
        .url()
        .replacen("redis://", "redis://limited:secret@", 1);
    let stack = Stack::in_front_of(redis, url, Duration::ZERO).await;
    let rest = Rest::new(&stack);
    let script = flagged("return redis.call('SET', KEYS[1], 'v')");
    let refused = "ERR allow-key-locking cannot be enforced, so the script was not run: ACL \
                   SETUSER: NOPERM";
    rest.command(json!(["EVAL", script, 1, "k"]))
        .await
        .assert_error_starting_with(StatusCode::BAD_REQUEST, refused);
    let answer = rest
        .pipeline(json!([["SET", "a", "1"], ["EVAL", script, 1, "k"]]))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.body[0], json!({"result": "OK"}), "{answer:?}");
    let error = answer.body[1]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with(refused), "{answer:?}");
    assert!(!Resp::connect(&stack).await.exists("k").await);
    rest.command(json!([
        "EVAL",
        "return redis.call('SET', KEYS[1], 'v')",
        1,
        "k"
    ]))
    .await
    .assert_result(json!("OK"));
}
