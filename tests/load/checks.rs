//! What must hold with many processes under load, checked while the mix runs: each limit
//! admits exactly its allowance however its requests spread over the processes, each session
//! takes exactly one signature however many processes race to submit it, and a logged-out
//! token is refused by every process of every route that checks tokens. Each check spreads
//! its requests over every process of the route, sends them at once, and counts answers.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinSet;

use crate::Load;
use crate::calls::tagged_signature;
use crate::fleet::{Call, Function, Reply, Status};
use crate::record::Route;

/// A rate limit as the functions are configured with it (the defaults of the README).
#[derive(Clone, Copy)]
struct Limit {
    /// The check's name.
    name: &'static str,
    setting: &'static str,
    count: u64,
    window: Duration,
}

impl Limit {
    const fn new(name: &'static str, setting: &'static str, count: u64, seconds: u64) -> Limit {
        Limit {
            name,
            setting,
            count,
            window: Duration::from_secs(seconds),
        }
    }

    /// The GCRA lets one more request through every `window / count`: a burst that takes
    /// longer than that may rightly get one more than `count`.
    fn interval(self) -> Duration {
        self.window / self.count as u32
    }
}

const API: Limit = Limit::new(
    "API limit (100/15m per IP) exact across processes",
    "RATE_LIMIT_API",
    100,
    15 * 60,
);
const SESSION_POLL: Limit = Limit::new(
    "poll budget of a live session (120/1m) exact across processes",
    "RATE_LIMIT_SESSION_POLL",
    120,
    60,
);
const LOGIN_IP: Limit = Limit::new(
    "login limit per IP (5/15m) exact across processes",
    "RATE_LIMIT_LOGIN_IP",
    5,
    15 * 60,
);
const LOGIN_ACCOUNT: Limit = Limit::new(
    "failed-login limit per account (5/15m) exact across processes",
    "RATE_LIMIT_LOGIN_ACCOUNT",
    5,
    15 * 60,
);
const REGISTER_IP: Limit = Limit::new(
    "registration limit per IP (5/1h) exact across processes",
    "RATE_LIMIT_REGISTER_IP",
    5,
    3600,
);

/// Requests beyond the allowance in each limit check.
const EXCESS: u64 = 7;
/// Sessions raced for, and submits per submit process in each race.
const RACES: usize = 10;
const SUBMITS_PER_PROCESS: usize = 2;
/// Users whose logout is checked against every process.
const LOGOUT_USERS: usize = 2;

/// The functions' settings the checks rely on: the default limits, spelled out so that a
/// change of default cannot make a check count against the wrong number. Warnings only in
/// the logs: under load, per-request logs would cost more than the requests.
pub fn env() -> Vec<(&'static str, String)> {
    let mut env: Vec<_> = [API, SESSION_POLL, LOGIN_IP, LOGIN_ACCOUNT, REGISTER_IP]
        .iter()
        .map(|limit| {
            let window = limit.window.as_secs();
            (limit.setting, format!("{}/{window}s", limit.count))
        })
        .collect();
    env.push(("RUST_LOG", "warn".to_owned()));
    env
}

pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// Every check, one after the other, while the mix runs.
pub async fn run(load: &Arc<Load>) -> Vec<Check> {
    let calls = &load.calls;
    vec![
        one_client(load, API, 201, |ip, _| {
            calls.create_expecting(ip, &[201, 429])
        })
        .await,
        poll_budget(load).await,
        one_client(load, LOGIN_IP, 401, |ip, email| {
            calls.login_wrong_password(ip, email, &[401, 429])
        })
        .await,
        login_account_limit(load).await,
        one_client(load, REGISTER_IP, 201, |ip, email| {
            calls.register(ip, email, &[201, 429])
        })
        .await,
        submitted_once(load).await,
        logout_everywhere(load).await,
    ]
}

/// Sends every call at once, call `i` to process `i` of its function (modulo their count);
/// the replies in call order.
async fn at_once(load: &Arc<Load>, calls: Vec<Call>) -> Vec<Reply> {
    all(calls.into_iter().enumerate().map(|(index, call)| {
        let load = load.clone();
        async move { load.send_to(index, call).await }
    }))
    .await
    .into_iter()
    .map(|reply| reply.unwrap_or_else(Reply::lost))
    .collect()
}

/// Runs the futures concurrently; their outputs in the order given, `None` for one whose
/// task failed (an invocation that outlived the Runtime API fake's timeout).
async fn all<T: Send + 'static>(
    futures: impl IntoIterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<Option<T>> {
    let mut tasks = JoinSet::new();
    let mut outputs = Vec::new();
    for (index, future) in futures.into_iter().enumerate() {
        tasks.spawn(async move { (index, future.await) });
        outputs.push(None);
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, output)) = joined {
            outputs[index] = Some(output);
        }
    }
    outputs
}

/// `200 ×100, 429 ×50`
fn tally(replies: &[Reply]) -> String {
    let mut counts = BTreeMap::<Status, usize>::new();
    for reply in replies {
        *counts.entry(reply.status).or_default() += 1;
    }
    let counts: Vec<_> = counts
        .iter()
        .map(|(status, count)| format!("{status} ×{count}"))
        .collect();
    counts.join(", ")
}

/// `calls` at once from one client, of which exactly `allowed` must get `admitted` and the
/// rest 429, within one GCRA interval of `limit`.
async fn exact(
    load: &Arc<Load>,
    limit: Limit,
    allowed: u64,
    admitted: u16,
    calls: Vec<Call>,
) -> Check {
    let processes = calls
        .first()
        .map_or(0, |call| load.fleet.instances(call.function));
    let sent = calls.len();
    let started = Instant::now();
    let replies = at_once(load, calls).await;
    let took = started.elapsed();
    let passed_count = replies.iter().filter(|reply| reply.is(admitted)).count() as u64;
    let refused = replies.iter().filter(|reply| reply.is(429)).count() as u64;
    let in_time = took < limit.interval();
    Check {
        name: limit.name,
        passed: passed_count == allowed && refused == sent as u64 - allowed && in_time,
        detail: format!(
            "{sent} at once over {} processes: {} (want {admitted} ×{allowed}, 429 ×{}) in {:.2} s{}",
            processes,
            tally(&replies),
            sent as u64 - allowed,
            took.as_secs_f64(),
            if in_time {
                String::new()
            } else {
                format!(
                    ", longer than one GCRA interval ({} s): inconclusive",
                    limit.interval().as_secs()
                )
            }
        ),
    }
}

/// One client polls a live session past its poll budget (which replaces the API limit for
/// polls of a live session).
async fn poll_budget(load: &Arc<Load>) -> Check {
    let calls = &load.calls;
    let id = load
        .send(calls.create(&calls.fresh_ip()))
        .await
        .text("sessionId")
        .unwrap_or_else(|| calls.unknown_session());
    let ip = calls.fresh_ip();
    let polls = (0..SESSION_POLL.count + EXCESS * 5)
        .map(|_| calls.poll(&ip, &id, &[200, 429]))
        .collect();
    exact(load, SESSION_POLL, SESSION_POLL.count, 200, polls).await
}

/// Many clients guess one account's password at once, once it has a failure on record: each
/// attempt holds a lease on the account's allowance while its password is checked, so
/// exactly the rest of the allowance is admitted.
async fn login_account_limit(load: &Arc<Load>) -> Check {
    let calls = &load.calls;
    let email = calls.fresh_email();
    let registered = load
        .send(calls.register(&calls.fresh_ip(), &email, &[201]))
        .await;
    let first = load
        .send(calls.login_wrong_password(&calls.fresh_ip(), &email, &[401]))
        .await;
    if !registered.is(201) || !first.is(401) {
        return Check {
            name: LOGIN_ACCOUNT.name,
            passed: false,
            detail: format!(
                "setting up: register answered {}, the first wrong login {}",
                registered.status, first.status
            ),
        };
    }
    let guesses = (0..LOGIN_ACCOUNT.count + EXCESS)
        .map(|_| calls.login_wrong_password(&calls.fresh_ip(), &email, &[401, 429]))
        .collect();
    exact(load, LOGIN_ACCOUNT, LOGIN_ACCOUNT.count - 1, 401, guesses).await
}

/// One client, past `limit`, with requests at once, each about an account of its own.
async fn one_client(
    load: &Arc<Load>,
    limit: Limit,
    admitted: u16,
    call: impl Fn(&str, &str) -> Call,
) -> Check {
    let calls = &load.calls;
    let ip = calls.fresh_ip();
    let requests = (0..limit.count + EXCESS)
        .map(|_| call(&ip, &calls.fresh_email()))
        .collect();
    exact(load, limit, limit.count, admitted, requests).await
}

/// Sessions, each submitted by several phones at once through every submit process: one
/// 200, every other 409, and the poll shows the winner's signature.
async fn submitted_once(load: &Arc<Load>) -> Check {
    let lost = problems(load, RACES, race_for_session).await;
    Check {
        name: "each session submitted exactly once",
        passed: lost.is_empty(),
        detail: if lost.is_empty() {
            let submitters = SUBMITS_PER_PROCESS * load.fleet.instances(Function::SessionSubmit);
            format!(
                "{RACES} sessions × {submitters} concurrent submits over every process: one 200 \
                 each, the rest 409, the poll shows the winner's signature"
            )
        } else {
            lost.join("; ")
        },
    }
}

/// Runs `one(load, i)` for every `i` below `count` at once; every problem they report.
async fn problems<Run, Ran>(load: &Arc<Load>, count: usize, one: Run) -> Vec<String>
where
    Run: Fn(Arc<Load>, usize) -> Ran,
    Ran: Future<Output = Vec<String>> + Send + 'static,
{
    all((0..count).map(|index| one(load.clone(), index)))
        .await
        .into_iter()
        .enumerate()
        .flat_map(|(index, problems)| {
            problems.unwrap_or_else(|| vec![format!("run {index} did not finish")])
        })
        .collect()
}

/// What went wrong in one race.
async fn race_for_session(load: Arc<Load>, race: usize) -> Vec<String> {
    let load = &load;
    let calls = &load.calls;
    let created = load.send(calls.create(&calls.fresh_ip())).await;
    let Some(id) = created.text("sessionId") else {
        return vec![format!("race {race}: create answered {}", created.status)];
    };
    let submitters = SUBMITS_PER_PROCESS * load.fleet.instances(Function::SessionSubmit);
    let tags: Vec<u32> = (0..submitters).map(|n| (race * 1000 + n) as u32).collect();
    let submits = tags
        .iter()
        .map(|tag| calls.submit_tagged(&calls.fresh_ip(), &id, *tag, &[200, 409]))
        .collect();
    let replies = at_once(load, submits).await;
    let winners: Vec<u32> = tags
        .iter()
        .zip(&replies)
        .filter(|(_, reply)| reply.is(200))
        .map(|(tag, _)| *tag)
        .collect();
    let conflicts = replies.iter().filter(|reply| reply.is(409)).count();
    let poll = load.send(calls.poll(&calls.fresh_ip(), &id, &[200])).await;
    let stored = &poll.body["session"]["signatureData"];
    match winners[..] {
        [winner]
            if conflicts == replies.len() - 1
                && *stored == Value::String(tagged_signature(winner)) =>
        {
            Vec::new()
        }
        _ => vec![format!(
            "race {race}: {} submits answered {}; the poll answered {} with {}",
            submitters,
            tally(&replies),
            poll.status,
            if stored.is_string() {
                "another submitter's signature"
            } else {
                "no signature"
            }
        )],
    }
}

/// Users with two tokens each: once one is logged out through one process, every me and
/// authorizer process refuses it, and its `allDevices` logout through every logout process
/// changes nothing (the other token still works everywhere); once the other token logs out
/// of all devices, every process refuses it too.
async fn logout_everywhere(load: &Arc<Load>) -> Check {
    let problems = problems(load, LOGOUT_USERS, logout_of_one_user).await;
    let processes = |function| load.fleet.instances(function);
    Check {
        name: "a logged-out token is refused by every process",
        passed: problems.is_empty(),
        detail: if problems.is_empty() {
            format!(
                "{LOGOUT_USERS} users: after logout, 401 from all {} auth-me and deny from all \
                 {} authorizer processes; its allDevices logout through all {} auth-logout \
                 processes left the user's other token live, until that one logged out of all \
                 devices",
                processes(Function::AuthMe),
                processes(Function::Authorizer),
                processes(Function::AuthLogout)
            )
        } else {
            problems.join("; ")
        },
    }
}

/// Every problem seen for one user.
async fn logout_of_one_user(load: Arc<Load>, user: usize) -> Vec<String> {
    let load = &load;
    let calls = &load.calls;
    let ip = calls.fresh_ip();
    let email = calls.fresh_email();
    let registered = load.send(calls.register(&ip, &email, &[201])).await;
    let first = load.send(calls.login(&ip, &email, &[200])).await;
    let second = load.send(calls.login(&ip, &email, &[200])).await;
    let (Some(dead), Some(live)) = (first.text("token"), second.text("token")) else {
        return vec![format!(
            "user {user}: register answered {}, the logins {} and {}",
            registered.status, first.status, second.status
        )];
    };
    let logout = load.send_to(user, calls.logout(&ip, &dead, &[200])).await;
    let mut problems: Vec<String> = mismatch("logout", &[logout], 200).into_iter().collect();
    problems.extend(token_everywhere(load, &ip, &dead, false, "the logged-out token").await);
    let replies = everywhere(load, Function::AuthLogout, |_| {
        calls.logout_all_devices(&ip, &dead, &[200])
    })
    .await;
    problems.extend(mismatch(
        "allDevices logout with the logged-out token",
        &replies,
        200,
    ));
    problems.extend(token_everywhere(load, &ip, &live, true, "the other, live token").await);
    let logout = load
        .send_to(user + 1, calls.logout_all_devices(&ip, &live, &[200]))
        .await;
    problems.extend(mismatch(
        "allDevices logout with the live token",
        &[logout],
        200,
    ));
    problems.extend(token_everywhere(load, &ip, &live, false, "that token afterwards").await);
    problems
        .into_iter()
        .map(|problem| format!("user {user}: {problem}"))
        .collect()
}

/// Whether every auth-me and authorizer process takes `token` as live (200, allow) or as
/// dead (401, deny); a problem for each route where one does not.
async fn token_everywhere(
    load: &Arc<Load>,
    ip: &str,
    token: &str,
    live: bool,
    what: &str,
) -> Vec<String> {
    let calls = &load.calls;
    let (me, verdict): (&'static [u16], &'static [u16]) = if live {
        (&[200], &[200])
    } else {
        (&[401], &[403])
    };
    let mes = everywhere(load, Function::AuthMe, |_| calls.me(ip, token, me)).await;
    let verdicts = everywhere(load, Function::Authorizer, |_| {
        calls.authorize(ip, token, verdict)
    })
    .await;
    [
        mismatch(&format!("me with {what}"), &mes, me[0]),
        mismatch(
            &format!("the authorizer with {what}"),
            &verdicts,
            verdict[0],
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A problem when any reply is not `want`.
fn mismatch(what: &str, replies: &[Reply], want: u16) -> Option<String> {
    let reply = replies.iter().find(|reply| !reply.is(want))?;
    Some(format!(
        "{what} answered {} (want {want} from every process: {})",
        reply.status,
        tally(replies)
    ))
}

/// One call to each process of `function`, at once.
async fn everywhere(
    load: &Arc<Load>,
    function: Function,
    call: impl Fn(usize) -> Call,
) -> Vec<Reply> {
    at_once(
        load,
        (0..load.fleet.instances(function)).map(call).collect(),
    )
    .await
}

/// No process exited or panicked during the run.
pub fn processes(routes: &BTreeMap<Function, Route>, logs: &[String]) -> Check {
    let lost: u64 = routes
        .values()
        .filter_map(|route| route.answers.get(&Status::NoAnswer))
        .map(|answers| answers.count)
        .sum();
    let panicked = logs.iter().filter(|log| log.contains("panicked")).count();
    Check {
        name: "every process served to the end",
        passed: lost == 0 && panicked == 0,
        detail: format!(
            "{} processes; {lost} invocations without an answer; {panicked} processes panicked",
            logs.len()
        ),
    }
}
