//! Counters: increments from many instances are exact, spread over shards, and read back in
//! one request; a user's likes count once however many arrive at once.

use std::time::Duration;

use edgestate::blocks::counters::{Counter, Counters, Increment, Shard};
use edgestate::keys::COUNTER_SHARDS;
use edgestate::route::{Meter, user_api_limit};
use edgestate::time::{now_ms, utc_day};
use futures::future::join_all;
use testkit::Stack;

use crate::{limits, one_request, pttl};

fn instances(stack: &Stack, count: usize) -> Vec<Counters> {
    (0..count).map(|_| Counters::new(&stack.app())).collect()
}

async fn read(counters: &Counters, reads: &[edgestate::blocks::counters::CounterRead]) -> Vec<i64> {
    counters
        .read(reads, &limits(), &mut Meter::default())
        .await
        .expect("a counter read")
}

/// The shards of `counter`'s total that hold a count, over RESP.
async fn written_shards(stack: &Stack, counter: &str) -> usize {
    let mut mget = redis::cmd("MGET");
    for shard in 0..COUNTER_SHARDS {
        mget.arg(format!("edgestate:local:stats:{counter}:{shard}"));
    }
    let counts: Vec<Option<i64>> = mget
        .query_async(&mut stack.redis().connect().await)
        .await
        .expect("MGET");
    counts.into_iter().flatten().count()
}

#[tokio::test]
async fn increments_from_many_instances_are_exact_and_spread_over_the_shards() {
    let stack = Stack::start().await;
    let counters = instances(&stack, 4);
    let views = Counter::new("views:post-1");
    let keep = Duration::from_secs(3600);
    let at = now_ms();
    let before = stack.rest_requests();
    // 200 viewers, each under their own API limit, as many users would be.
    let adds = join_all((0..200).map(|i| {
        let increment = Increment::new(&views, Shard::random()).per_day(at, keep);
        let counters = &counters[i % counters.len()];
        let limits = [user_api_limit(&format!("viewer-{i}"))];
        async move {
            counters
                .add(&increment, &limits, &mut Meter::default())
                .await
        }
    }))
    .await;
    assert!(adds.iter().all(Result::is_ok), "{adds:?}");
    assert_eq!(
        stack.rest_requests() - before,
        200,
        "one request per increment"
    );

    let counts = one_request(&stack, read(&counters[0], &[views.total(), views.day(at)])).await;
    assert_eq!(counts, vec![200, 200]);
    assert!(
        written_shards(&stack, "views:post-1").await > 1,
        "writes spread over the shards, so no key is written by every increment"
    );
    let today = format!("stats:views:post-1:{}:0", utc_day(at));
    let left = pttl(&stack, &today).await;
    assert!(
        left == -2 || (left > 3_500_000 && left <= 3_600_000),
        "{left}"
    );
}

#[tokio::test]
async fn one_request_reads_many_counters_and_an_unwritten_one_is_zero() {
    let stack = Stack::start().await;
    let counters = Counters::new(&stack.app());
    let likes = Counter::new("likes:post-1");
    let shares = Counter::new("shares:post-1");
    for (counter, by, id) in [(&likes, 3, "a"), (&likes, 4, "b"), (&shares, -2, "c")] {
        let increment = Increment::new(counter, Shard::of(id)).by(by);
        one_request(
            &stack,
            counters.add(&increment, &limits(), &mut Meter::default()),
        )
        .await
        .unwrap();
    }
    let never = Counter::new("never:written");
    let yesterday = now_ms() - 24 * 3600 * 1000;
    let counts = one_request(
        &stack,
        read(
            &counters,
            &[
                likes.total(),
                shares.total(),
                never.total(),
                likes.day(yesterday),
            ],
        ),
    )
    .await;
    assert_eq!(counts, vec![7, -2, 0, 0]);
    assert_eq!(read(&counters, &[]).await, Vec::<i64>::new());
}

#[tokio::test]
async fn likes_and_unlikes_count_once_per_user_whatever_arrives_at_once() {
    let stack = Stack::start().await;
    let counters = instances(&stack, 4);
    let likes = Counter::new("likes:post-2");
    let users: Vec<String> = (0..10).map(|user| format!("user-{user}")).collect();
    let flags: Vec<_> = users.iter().map(|user| likes.flag(user)).collect();

    // Every user double-taps five times, spread over the instances.
    let liked = join_all((0..50).map(|i| {
        let flag = &flags[i % flags.len()];
        let counters = &counters[i % counters.len()];
        async move {
            counters
                .change_flag(flag.set(), &limits(), &mut Meter::default())
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(liked.iter().filter(|changed| **changed).count(), 10);
    assert_eq!(read(&counters[0], &[likes.total()]).await, vec![10]);

    // Four of them unlike, three times each at once.
    let unliked = join_all((0..12).map(|i| {
        let flag = &flags[i % 4];
        let counters = &counters[i % counters.len()];
        async move {
            counters
                .change_flag(flag.clear(), &limits(), &mut Meter::default())
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(unliked.iter().filter(|changed| **changed).count(), 4);
    assert_eq!(read(&counters[1], &[likes.total()]).await, vec![6]);

    let set = one_request(
        &stack,
        counters[2].flags(&flags, &limits(), &mut Meter::default()),
    )
    .await
    .unwrap();
    let expected: Vec<bool> = (0..10).map(|user| user >= 4).collect();
    assert_eq!(set, expected);
    assert_eq!(
        counters[3]
            .flags(&[], &limits(), &mut Meter::default())
            .await
            .unwrap(),
        Vec::<bool>::new()
    );
}
