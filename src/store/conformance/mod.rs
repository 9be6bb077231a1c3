//! The conformance kits: run the same behaviour suite against any
//! [`SessionStore`] ([`run`]) or [`RevocationList`](crate::jwt::RevocationList)
//! ([`run_revocation_list`]) implementation (feature `conformance`).
//!
//! Call them from a multi-threaded tokio test with a factory that returns
//! a store (or list); every check panics with a message naming the broken
//! rule. The store kit checks the trait's rules one by one, that every
//! field of every kind of record survives every write whole, and then the
//! paths that read those fields (a session login and its requests, a
//! refresh-token chain) through an [`Authenticator`](crate::Authenticator)
//! over the store.
//!
//! ```
//! use portcullis::store::{MemoryStore, conformance};
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! conformance::run(|| async { MemoryStore::new() }).await;
//! # });
//! ```
//!
//! The checks use the system clock: records are created around "now", and a
//! record whose expiry has passed must not be returned. They use user
//! names unique to the run, so a shared, non-empty backend is fine.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use super::{
    FamilyState, RecordKind, Rotation, SessionKey, SessionRecord, SessionStore, StoreError,
};
use crate::clock::{Clock, SystemClock};
use crate::id::SessionId;

mod fields;
mod revocations;

pub use revocations::run_revocation_list;

pub(crate) fn key() -> SessionKey {
    SessionId::generate().expect("OS RNG").key()
}

fn record(user: &str) -> SessionRecord {
    let mut r = SessionRecord::new(user, SystemClock.now(), 600, 3_600);
    r.roles = vec!["user".into()].into();
    r.ip = Some(std::net::Ipv4Addr::LOCALHOST.into());
    r.user_agent = Some("conformance".into());
    r.secret = [7; 32];
    r.data.insert("k".into(), serde_json::json!({"n": 1}));
    r
}

/// A user name unique to this run, so stores that are not empty (a shared
/// Redis) do not disturb the checks.
pub(crate) fn user(tag: &str) -> String {
    format!(
        "conformance-{tag}-{}",
        SessionId::generate().expect("OS RNG").key().hint()
    )
}

/// Run every check against stores made by `make`.
///
/// # Panics
/// On the first broken rule, with a message that names it.
pub async fn run<S, F, Fut>(make: F)
where
    S: SessionStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    create_then_load(&make().await).await;
    create_never_overwrites(&make().await).await;
    load_unknown_is_none(&make().await).await;
    update_is_compare_and_set(&make().await).await;
    delete_reports_existence(&make().await).await;
    expired_records_are_invisible(&make().await).await;
    user_index(&make().await).await;
    concurrent_updates_one_winner(Arc::new(make().await)).await;
    concurrent_logins_keep_index_consistent(Arc::new(make().await)).await;
    fields::every_field_round_trips(&make().await).await;
    fields::paths_that_read_the_fields(Arc::new(make().await)).await;
}

/// `create` then `load` returns the same record.
async fn create_then_load<S: SessionStore>(s: &S) {
    let (k, r) = (key(), record(&user("load")));
    s.create(&k, &r).await.expect("create");
    let got = s
        .load(&k)
        .await
        .expect("load")
        .expect("record just created must load");
    assert_eq!(
        got.user_id, r.user_id,
        "load must return the stored user_id"
    );
    assert_eq!(got.roles, r.roles, "roles must round-trip");
    assert_eq!(got.secret, r.secret, "secret must round-trip");
    assert_eq!(got.data, r.data, "data must round-trip");
    assert_eq!(
        got.idle_expires_at, r.idle_expires_at,
        "idle expiry must round-trip"
    );
    assert_eq!(
        got.absolute_expires_at, r.absolute_expires_at,
        "absolute expiry must round-trip"
    );
    assert_eq!(got.kind, RecordKind::Session, "kind must round-trip");

    // A refresh family's state is part of the record: stored whole, it
    // round-trips, including the fields a store never reads.
    let (k, mut r) = (key(), record(&user("family")));
    r.kind = RecordKind::RefreshFamily;
    r.set_family(Some(FamilyState {
        current: [3; 32],
        rotation: Some(Rotation {
            spent: [4; 32],
            nonce: [5; 32],
            at_ms: 1_234,
        }),
    }));
    s.create(&k, &r).await.expect("create a family");
    let got = s.load(&k).await.expect("load").expect("family must load");
    assert_eq!(got.kind, RecordKind::RefreshFamily, "kind must round-trip");
    assert!(
        got.family() == r.family(),
        "a refresh family's state must round-trip (store the record whole)"
    );
}

/// A second `create` under the same key is a `Collision` and changes nothing.
async fn create_never_overwrites<S: SessionStore>(s: &S) {
    let k = key();
    let u = user("collide");
    s.create(&k, &record(&u)).await.expect("create");
    let other = record(&user("intruder"));
    assert_eq!(
        s.create(&k, &other).await,
        Err(StoreError::Collision),
        "create must not overwrite"
    );
    let got = s.load(&k).await.expect("load").expect("still there");
    assert_eq!(
        got.user_id, u,
        "the first record must survive a colliding create"
    );
}

/// Unknown keys load as `None`.
async fn load_unknown_is_none<S: SessionStore>(s: &S) {
    assert!(
        s.load(&key()).await.expect("load").is_none(),
        "unknown key must be None"
    );
}

/// `update` succeeds on the current version, bumps it, and refuses stale or
/// missing records with `Conflict`.
async fn update_is_compare_and_set<S: SessionStore>(s: &S) {
    let (k, mut r) = (key(), record(&user("cas")));
    s.create(&k, &r).await.expect("create");
    r = s.load(&k).await.expect("load").expect("exists");
    let v0 = r.version;
    r.data.insert("step".into(), 1.into());
    let v1 = s
        .update(&k, &r)
        .await
        .expect("update at the current version must succeed");
    assert_ne!(v1, v0, "update must change the version");
    let stale = r.clone(); // still carries v0
    assert_eq!(
        s.update(&k, &stale).await,
        Err(StoreError::Conflict),
        "stale update must be a Conflict"
    );
    let got = s.load(&k).await.expect("load").expect("exists");
    assert_eq!(got.version, v1, "load must return the new version");
    assert_eq!(
        got.data.get("step"),
        Some(&1.into()),
        "the update must be stored"
    );
    s.delete(&k).await.expect("delete");
    assert_eq!(
        s.update(&k, &got).await,
        Err(StoreError::Conflict),
        "update of a deleted record must be a Conflict"
    );
    assert!(
        s.load(&k).await.expect("load").is_none(),
        "update must not resurrect a deleted record"
    );
}

/// `delete` returns whether a record existed.
async fn delete_reports_existence<S: SessionStore>(s: &S) {
    let k = key();
    s.create(&k, &record(&user("del"))).await.expect("create");
    assert!(
        s.delete(&k).await.expect("delete"),
        "delete of a live record must be true"
    );
    assert!(
        !s.delete(&k).await.expect("delete"),
        "second delete must be false"
    );
    assert!(
        s.load(&k).await.expect("load").is_none(),
        "deleted record must not load"
    );
}

/// A record whose expiry has passed is neither loaded nor listed.
async fn expired_records_are_invisible<S: SessionStore>(s: &S) {
    let u = user("expired");
    let now = SystemClock.now();
    let mut r = SessionRecord::new(u.clone(), now - 100, 10, 50);
    r.secret = [1; 32];
    let k = key();
    // A store may refuse or drop an already-expired record; both are fine.
    let _ = s.create(&k, &r).await;
    assert!(
        s.load(&k).await.expect("load").is_none(),
        "expired record must not load"
    );
    assert!(
        s.list_user(&u).await.expect("list").is_empty(),
        "expired record must not be listed"
    );
    assert!(
        matches!(s.update(&k, &r).await, Err(StoreError::Conflict)),
        "updating an expired record must be a conflict"
    );
    assert!(
        !s.delete(&k).await.expect("delete"),
        "deleting an expired record must report no live record"
    );
    let _ = s.create(&k, &r).await;
    s.create(&k, &record(&u))
        .await
        .expect("a live record may take the key of an expired one");
    assert_eq!(
        s.load(&k).await.expect("load").map(|got| got.user_id),
        Some(u.into()),
        "the live record loads"
    );
}

/// `list_user` and `delete_user` see exactly the user's records.
async fn user_index<S: SessionStore>(s: &S) {
    let (a, b) = (user("a"), user("b"));
    let mut keys_a = HashSet::new();
    for i in 0..3 {
        let k = key();
        let mut r = record(&a);
        if i == 2 {
            r.kind = RecordKind::RefreshFamily;
        }
        s.create(&k, &r).await.expect("create");
        keys_a.insert(k);
    }
    let kb = key();
    s.create(&kb, &record(&b)).await.expect("create");
    let listed: HashSet<SessionKey> = s
        .list_user(&a)
        .await
        .expect("list")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        listed, keys_a,
        "list_user must return exactly the user's records"
    );
    let one = *keys_a.iter().next().expect("three keys");
    s.delete(&one).await.expect("delete");
    assert_eq!(
        s.list_user(&a).await.expect("list").len(),
        2,
        "a deleted record must leave the index"
    );
    assert_eq!(
        s.delete_user(&a).await.expect("delete_user"),
        2,
        "delete_user must count removed records"
    );
    assert!(
        s.list_user(&a).await.expect("list").is_empty(),
        "nothing left after delete_user"
    );
    for k in &keys_a {
        assert!(
            s.load(k).await.expect("load").is_none(),
            "delete_user must delete the records"
        );
    }
    assert!(
        s.load(&kb).await.expect("load").is_some(),
        "delete_user must not touch other users"
    );
}

/// Many tasks updating one record from the same version: exactly one wins.
async fn concurrent_updates_one_winner<S: SessionStore>(s: Arc<S>) {
    let k = key();
    s.create(&k, &record(&user("race"))).await.expect("create");
    let base = s.load(&k).await.expect("load").expect("exists");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (s, mut r) = (s.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            r.data.insert("writer".into(), i.into());
            s.update(&k, &r).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => wins += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected store error under contention: {e}"),
        }
    }
    assert_eq!(
        wins, 1,
        "exactly one of concurrent same-version updates must win"
    );
}

/// Concurrent creates and deletes for one user while another task lists:
/// afterwards the index matches the records exactly.
async fn concurrent_logins_keep_index_consistent<S: SessionStore>(s: Arc<S>) {
    let u = user("index");
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (s, u) = (s.clone(), u.clone());
        tasks.push(tokio::spawn(async move {
            let k = key();
            s.create(&k, &record(&u)).await.expect("create");
            if i % 2 == 0 {
                s.delete(&k).await.expect("delete");
                None
            } else {
                Some(k)
            }
        }));
    }
    let lister = {
        let (s, u) = (s.clone(), u.clone());
        tokio::spawn(async move {
            for _ in 0..20 {
                let _ = s.list_user(&u).await.expect("list");
                tokio::task::yield_now().await;
            }
        })
    };
    let mut live = HashSet::new();
    for t in tasks {
        if let Some(k) = t.await.expect("task") {
            live.insert(k);
        }
    }
    lister.await.expect("lister");
    let listed: HashSet<SessionKey> = s
        .list_user(&u)
        .await
        .expect("list")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        listed, live,
        "after concurrent creates/deletes the index must match the records"
    );
    assert_eq!(
        s.delete_user(&u).await.expect("delete_user"),
        live.len(),
        "delete_user must see every live record"
    );
}
