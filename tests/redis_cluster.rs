//! The Redis stores on a real Redis Cluster (3 primaries, 3 replicas of
//! Debian's `redis-server`, started by the test): the store and
//! revocation-list kits, users spread over every primary, two demo
//! instances sharing everything through the cluster, and a primary killed
//! mid-run (its users 503, the others not; the replica takes over; nothing
//! acknowledged is lost; no restart of the application).
#![cfg(all(feature = "redis", feature = "axum"))]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::__private::SessionId;
use portcullis::clock::Clock;
use portcullis::jwt::RevocationList;
use portcullis::redis::{RedisRevocationList, RedisStore};
use portcullis::store::{conformance, SessionKey, SessionRecord, SessionStore};
use portcullis::StoreError;

#[path = "support/axum_demo.rs"]
mod axum_demo;
#[path = "../examples/demo_axum.rs"]
mod demo_axum;
#[path = "support/demo_instances.rs"]
mod demo_instances;
#[path = "support/redis_cluster.rs"]
mod redis_cluster;

use redis_cluster::Cluster;

fn seeds() -> Vec<String> {
    Cluster::shared()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .seeds()
}

async fn store_on(seeds: &[String], prefix: &str) -> RedisStore {
    RedisStore::builder()
        .prefix(prefix)
        .replicas(1)
        .connect_cluster(seeds)
        .await
        .expect("connect to the test cluster")
}

fn key() -> SessionKey {
    SessionId::generate().expect("rng").key()
}

fn now() -> u64 {
    portcullis::__private::SystemClock.now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_kit_passes_on_a_cluster() {
    let seeds = seeds();
    conformance::run(|| {
        let seeds = seeds.clone();
        async move { store_on(&seeds, "kit:").await }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_revocation_kit_passes_on_a_cluster() {
    let store = store_on(&seeds(), "kit-rev:").await;
    conformance::run_revocation_list(|| async {
        Arc::new(RedisRevocationList::from_store(&store))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_on_every_primary_log_in_list_and_log_out() {
    let store = store_on(&seeds(), "spread:").await;
    let mut primaries = BTreeSet::new();
    for i in 0..24 {
        let user = format!("user-{i}");
        let (k1, k2) = (key(), key());
        for k in [&k1, &k2] {
            store
                .create(k, &SessionRecord::new(&user, now(), 600, 3_600))
                .await
                .expect("create");
        }
        {
            let cluster = Cluster::shared().lock().unwrap_or_else(|e| e.into_inner());
            for k in [&k1, &k2] {
                let slot = cluster.slot(&format!("spread:s:{{{}}}", k.to_hex()));
                primaries.insert(cluster.primary_of(slot).expect("served"));
            }
            let slot = cluster.slot(&format!("spread:u:{{{user}}}"));
            primaries.insert(cluster.primary_of(slot).expect("served"));
        }
        assert!(store.load(&k1).await.expect("load").is_some());
        assert_eq!(store.list_user(&user).await.expect("list").len(), 2);
        assert!(store.delete(&k1).await.expect("delete"));
        assert_eq!(store.list_user(&user).await.expect("list").len(), 1);
        assert_eq!(store.delete_user(&user).await.expect("delete_user"), 1);
        assert!(store.load(&k2).await.expect("load").is_none());
    }
    println!("records and indexes of 24 users on primaries {primaries:?}");
    assert_eq!(primaries.len(), 3, "the keys spread over every primary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_demo_instances_share_everything_through_the_cluster() {
    let urls = seeds().join(",");
    let a = demo_instances::start(("REDIS_CLUSTER_URLS", &urls)).await;
    let b = demo_instances::start(("REDIS_CLUSTER_URLS", &urls)).await;
    demo_instances::share_sessions_tokens_and_revocations(&a, &b).await;
    demo_instances::concurrent_refreshes_have_one_winner(&a, &b).await;
}

/// Poll `f` until it is true or `within` passes.
async fn eventually(within: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_primary_fails_its_users_closed_until_its_replica_takes_over() {
    // A cluster of its own: this test kills a node.
    let mut cluster = Cluster::start();
    let store = store_on(&cluster.seeds(), "failover:").await;
    let list = RedisRevocationList::from_store(&store);

    // Sessions of many users, and which primary holds each record.
    let mut on: Vec<Vec<SessionKey>> = vec![Vec::new(); cluster.nodes.len()];
    for i in 0..60 {
        let k = key();
        store
            .create(&k, &SessionRecord::new(format!("f-{i}"), now(), 600, 3_600))
            .await
            .expect("create");
        let slot = cluster.slot(&format!("failover:s:{{{}}}", k.to_hex()));
        on[cluster.primary_of(slot).expect("served")].push(k);
    }
    // A revocation, acknowledged only once a replica has it.
    list.revoke_token("jti-before", now() + 600)
        .await
        .expect("revoke");
    let victim = (0..on.len())
        .max_by_key(|&i| on[i].len())
        .expect("a primary");
    let (lost, kept): (Vec<SessionKey>, Vec<SessionKey>) = (
        on[victim].clone(),
        on.iter()
            .enumerate()
            .filter(|(i, _)| *i != victim)
            .flat_map(|(_, ks)| ks.clone())
            .collect(),
    );
    assert!(!lost.is_empty() && !kept.is_empty());
    // Let replication catch up with the logins (they are not waited for).
    for n in &cluster.nodes {
        n.cli(&["WAIT", "1", "1000"]);
    }

    cluster.nodes[victim].kill();
    // At once, side by side: its users are refused (never let in, never
    // logged out wrongly), the others keep working.
    let started = Instant::now();
    let (dead, alive) = tokio::join!(
        store.load(&lost[0]),
        futures_util::future::join_all(kept.iter().take(10).map(|k| store.load(k)))
    );
    assert!(
        matches!(dead, Err(StoreError::Unavailable(_) | StoreError::Timeout)),
        "a record on the dead primary must fail closed, got {dead:?}"
    );
    for r in alive {
        assert!(r.expect("other primaries answer").is_some());
    }
    println!("failover window: refused after {:?}", started.elapsed());

    // The replica takes over; the same store (no restart) recovers.
    assert!(
        eventually(Duration::from_secs(30), async || store
            .load(&lost[0])
            .await
            .is_ok())
        .await,
        "the promoted replica never answered"
    );
    for k in lost.iter().chain(&kept) {
        assert!(
            store.load(k).await.expect("after the failover").is_some(),
            "a replicated session survives the failover"
        );
    }
    assert!(list
        .is_revoked("jti-before", None, "nobody", 0)
        .await
        .expect("check"));

    // The promoted primary has no replica until the old one rejoins: a
    // revocation there cannot be confirmed, so it fails closed (503) ...
    let promoted = cluster
        .primary_of(cluster.slot(&format!("failover:s:{{{}}}", lost[0].to_hex())))
        .expect("served again");
    let jti = (0..10_000)
        .map(|n| format!("jti-{n}"))
        .find(|j| cluster.primary_of(cluster.slot(&format!("failover:rj:{j}"))) == Some(promoted))
        .expect("a jti on the promoted primary");
    assert!(matches!(
        list.revoke_token(&jti, now() + 600).await,
        Err(StoreError::Unavailable(_) | StoreError::Timeout)
    ));
    // ... and is confirmed once the old primary is back, as its replica.
    cluster.nodes[victim].restart();
    assert!(
        eventually(Duration::from_secs(30), async || list
            .revoke_token(&jti, now() + 600)
            .await
            .is_ok())
        .await,
        "confirmed revocations never came back"
    );
    assert!(list
        .is_revoked(&jti, None, "nobody", 0)
        .await
        .expect("check"));
}
