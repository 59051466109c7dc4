//! Cache-aside: exactly one caller computes a missing value, across instances; the others
//! wait or get the stale value; a lease lost to invalidation or to time stores nothing.

use std::time::Duration;

use edgestate::blocks::cache::{Cache, CachePolicy, Lease, Lookup};
use edgestate::route::Meter;
use futures::future::join_all;
use testkit::Stack;

use crate::{limits, one_request, pttl};

fn policy(ttl_ms: u64, stale_ms: u64, lease_ms: u64) -> CachePolicy {
    CachePolicy {
        ttl: Duration::from_millis(ttl_ms),
        jitter: Duration::ZERO,
        stale_for: Duration::from_millis(stale_ms),
        lease: Duration::from_millis(lease_ms),
    }
}

/// One cache per instance, as in as many Lambda instances.
fn instances(stack: &Stack, count: usize, policy: CachePolicy) -> Vec<Cache> {
    (0..count)
        .map(|_| Cache::new(&stack.app(), "feed", policy))
        .collect()
}

async fn get(cache: &Cache, id: &str) -> Lookup {
    cache
        .get(id, &limits(), &mut Meter::default())
        .await
        .expect("a cache get")
}

/// The one lease among `lookups`, and what the others were told.
fn the_one_computing(lookups: Vec<Lookup>) -> (Lease, Option<String>, Vec<Lookup>) {
    let (computing, others): (Vec<_>, Vec<_>) = lookups
        .into_iter()
        .partition(|lookup| matches!(lookup, Lookup::Compute { .. }));
    assert_eq!(
        computing.len(),
        1,
        "exactly one caller computes: {computing:?}"
    );
    let Some(Lookup::Compute { lease, stale }) = computing.into_iter().next() else {
        unreachable!("partitioned on Compute");
    };
    (lease, stale, others)
}

#[tokio::test]
async fn a_miss_tells_exactly_one_of_many_instances_to_compute_and_the_others_to_wait() {
    let stack = Stack::start().await;
    let caches = instances(&stack, 4, policy(60_000, 0, 5_000));
    let before = stack.rest_requests();
    let lookups = join_all((0..40).map(|i| get(&caches[i % caches.len()], "page-1"))).await;
    assert_eq!(stack.rest_requests() - before, 40, "one request per get");

    let (lease, stale, others) = the_one_computing(lookups);
    assert_eq!(stale, None);
    for lookup in &others {
        let Lookup::Wait { retry_after } = lookup else {
            panic!("nothing stale is kept, so the others wait: {lookup:?}");
        };
        assert!(*retry_after <= Duration::from_secs(5), "{retry_after:?}");
    }

    let stored = one_request(&stack, caches[1].set("page-1", "<feed page>", Some(&lease))).await;
    assert!(stored.unwrap(), "the lease holder stores its value");
    for cache in &caches {
        assert_eq!(
            one_request(&stack, get(cache, "page-1")).await,
            Lookup::Fresh("<feed page>".into())
        );
    }
}

#[tokio::test]
async fn while_one_instance_recomputes_a_stale_value_the_others_serve_it() {
    let stack = Stack::start().await;
    let caches = instances(&stack, 3, policy(100, 60_000, 5_000));
    assert!(caches[0].set("page-2", "v1", None).await.unwrap());
    tokio::time::sleep(Duration::from_millis(250)).await;

    let lookups = join_all((0..30).map(|i| get(&caches[i % caches.len()], "page-2"))).await;
    let (lease, stale, others) = the_one_computing(lookups);
    assert_eq!(
        stale.as_deref(),
        Some("v1"),
        "the computing caller sees the old value"
    );
    assert!(
        others
            .iter()
            .all(|lookup| *lookup == Lookup::Stale("v1".into())),
        "{others:?}"
    );
    assert!(caches[2].set("page-2", "v2", Some(&lease)).await.unwrap());
    assert_eq!(get(&caches[0], "page-2").await, Lookup::Fresh("v2".into()));
}

#[tokio::test]
async fn a_lease_lost_to_invalidation_or_to_time_stores_nothing() {
    let stack = Stack::start().await;
    let caches = instances(&stack, 2, policy(60_000, 0, 200));

    // The data changed while the first caller was computing: its result is outdated.
    let Lookup::Compute { lease, .. } = get(&caches[0], "page-3").await else {
        panic!("a miss");
    };
    let invalidated = one_request(
        &stack,
        caches[1].invalidate("page-3", &limits(), &mut Meter::default()),
    )
    .await;
    assert!(invalidated.unwrap(), "the lease was on record");
    assert!(!caches[0].set("page-3", "old", Some(&lease)).await.unwrap());
    let Lookup::Compute { lease, .. } = get(&caches[1], "page-3").await else {
        panic!("still a miss, and a new lease");
    };

    // A caller slower than its lease: another took over, and only the other's value counts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Lookup::Compute { lease: newer, .. } = get(&caches[0], "page-3").await else {
        panic!("the expired lease is taken over");
    };
    assert!(!caches[1].set("page-3", "slow", Some(&lease)).await.unwrap());
    assert!(
        caches[0]
            .set("page-3", "fresh", Some(&newer))
            .await
            .unwrap()
    );
    assert_eq!(
        get(&caches[1], "page-3").await,
        Lookup::Fresh("fresh".into())
    );
}

#[tokio::test]
async fn values_expire_after_their_ttl_plus_jitter_and_a_stale_value_after_its_keep() {
    let stack = Stack::start().await;
    let jittered = CachePolicy {
        jitter: Duration::from_millis(5_000),
        ..policy(10_000, 20_000, 1_000)
    };
    let cache = Cache::new(&stack.app(), "feed", jittered);
    let mut lifetimes = Vec::new();
    for page in 0..8 {
        let id = format!("jitter-{page}");
        assert!(cache.set(&id, "v", None).await.unwrap());
        lifetimes.push(pttl(&stack, &format!("cache:feed:{id}")).await);
    }
    // Fresh for 10 s plus up to 5 s, then kept 20 s as the stale value.
    for lifetime in &lifetimes {
        assert!((29_000..=35_000).contains(lifetime), "{lifetimes:?}");
    }
    assert!(
        lifetimes.iter().any(|lifetime| *lifetime != lifetimes[0]),
        "eight values written together do not all expire together: {lifetimes:?}"
    );

    let short = Cache::new(&stack.app(), "feed", policy(1_000, 0, 1_000));
    assert!(short.set("brief", "v", None).await.unwrap());
    assert_eq!(get(&short, "brief").await, Lookup::Fresh("v".into()));
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert!(matches!(
        get(&short, "brief").await,
        Lookup::Compute { stale: None, .. }
    ));
}
