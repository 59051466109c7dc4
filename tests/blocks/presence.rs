//! The presence registry: members from many instances all listed, expired members gone without
//! a cleanup job, a closed group refusing late writers until its tombstone lapses.

use std::time::Duration;

use edgestate::blocks::presence::{Membership, Presence, PresencePolicy};
use edgestate::route::Meter;
use futures::future::join_all;
use testkit::Stack;

use crate::{limits, one_request, pttl};

fn instances(stack: &Stack, count: usize, tombstone_ms: u64) -> Vec<Presence> {
    let policy = PresencePolicy {
        tombstone: Duration::from_millis(tombstone_ms),
    };
    (0..count)
        .map(|_| Presence::new(&stack.app(), "terminal", policy))
        .collect()
}

/// A join, or with `only_live` a refresh, of `member` for `ttl_ms`.
async fn add(
    presence: &Presence,
    group: &str,
    member: &str,
    ttl_ms: u64,
    only_live: bool,
) -> Membership {
    let ttl = Duration::from_millis(ttl_ms);
    let mut meter = Meter::default();
    let outcome = if only_live {
        presence
            .refresh(group, member, ttl, &limits(), &mut meter)
            .await
    } else {
        presence
            .join(group, member, ttl, &limits(), &mut meter)
            .await
    };
    outcome.expect("a join or refresh")
}

async fn join(presence: &Presence, group: &str, member: &str, ttl_ms: u64) -> Membership {
    add(presence, group, member, ttl_ms, false).await
}

async fn refresh(presence: &Presence, group: &str, member: &str, ttl_ms: u64) -> Membership {
    add(presence, group, member, ttl_ms, true).await
}

async fn member_ids(presence: &Presence, group: &str) -> Vec<String> {
    let mut ids: Vec<String> = presence
        .members(group, 1000, &limits(), &mut Meter::default())
        .await
        .expect("a listing")
        .into_iter()
        .map(|member| member.id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn members_joining_from_many_instances_are_all_listed_once() {
    let stack = Stack::start().await;
    let registry = instances(&stack, 3, 30_000);
    let before = stack.rest_requests();
    let joined = join_all((0..30).map(|i| {
        let presence = &registry[i % registry.len()];
        async move { join(presence, "t1", &format!("conn-{i:02}"), 60_000).await }
    }))
    .await;
    assert_eq!(stack.rest_requests() - before, 30, "one request per join");
    assert!(
        joined.iter().all(|m| *m == Membership::Joined),
        "{joined:?}"
    );

    let listed = one_request(&stack, member_ids(&registry[1], "t1")).await;
    let expected: Vec<String> = (0..30).map(|i| format!("conn-{i:02}")).collect();
    assert_eq!(listed, expected);
    assert_eq!(
        join(&registry[2], "t1", "conn-00", 60_000).await,
        Membership::Refreshed
    );
    assert_eq!(
        refresh(&registry[0], "t1", "conn-01", 60_000).await,
        Membership::Refreshed
    );
    assert_eq!(
        member_ids(&registry[0], "other").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_member_that_stops_refreshing_disappears_without_a_cleanup_job() {
    let stack = Stack::start().await;
    let registry = instances(&stack, 2, 30_000);
    join(&registry[0], "t2", "quiet", 1_000).await;
    join(&registry[1], "t2", "lively", 10_000).await;
    let members = registry[0]
        .members("t2", 10, &limits(), &mut Meter::default())
        .await
        .unwrap();
    assert!(
        members
            .windows(2)
            .all(|w| w[0].expires_at_ms <= w[1].expires_at_ms)
    );
    assert_eq!(members[0].id, "quiet", "the soonest to expire first");

    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(member_ids(&registry[1], "t2").await, vec!["lively"]);
    assert_eq!(
        refresh(&registry[0], "t2", "quiet", 10_000).await,
        Membership::NotMember,
        "an expired member must join again"
    );
    assert_eq!(
        join(&registry[0], "t2", "quiet", 10_000).await,
        Membership::Joined
    );

    // The group's key lives as long as its last member, not forever.
    let left = pttl(&stack, "presence:members:terminal:t2").await;
    assert!(left > 0 && left <= 10_000, "{left}");
    let leave = async |member: &str| {
        registry[1]
            .leave("t2", member, &limits(), &mut Meter::default())
            .await
    };
    assert!(one_request(&stack, leave("lively")).await.unwrap());
    assert!(leave("quiet").await.unwrap());
    assert!(
        !leave("quiet").await.unwrap(),
        "leaving twice is leaving once"
    );
    assert_eq!(
        pttl(&stack, "presence:members:terminal:t2").await,
        -2,
        "no key left"
    );
}

#[tokio::test]
async fn a_closed_group_refuses_late_writers_until_its_tombstone_lapses() {
    let stack = Stack::start().await;
    let registry = instances(&stack, 4, 2_000);
    for member in ["a", "b", "c"] {
        join(&registry[0], "t3", member, 60_000).await;
    }

    // A close and a burst of joins and heartbeats, from every instance at once.
    let writers = (0..40).map(|i| {
        let presence = &registry[i % registry.len()];
        async move {
            if i % 2 == 0 {
                join(presence, "t3", &format!("late-{i}"), 60_000).await
            } else {
                refresh(presence, "t3", "a", 60_000).await
            }
        }
    });
    let close = async {
        registry[1]
            .close("t3", &limits(), &mut Meter::default())
            .await
            .unwrap()
    };
    let (had, written) = tokio::join!(close, join_all(writers));
    assert!(had >= 3, "the close saw the members already there: {had}");
    assert!(written.contains(&Membership::Closed), "{written:?}");
    assert_eq!(
        member_ids(&registry[2], "t3").await,
        Vec::<String>::new(),
        "whatever ran before the close went with it, and nothing ran after it"
    );
    assert_eq!(
        join(&registry[3], "t3", "after", 60_000).await,
        Membership::Closed
    );

    tokio::time::sleep(Duration::from_millis(2_300)).await;
    assert_eq!(
        join(&registry[3], "t3", "reopened", 60_000).await,
        Membership::Joined,
        "after the tombstone, the group can start again"
    );
}
