//! Accounts through the public API, on `MemoryStore` and on a real
//! `redis-server` (one server for the binary): devices, typed session data
//! under concurrency, rotation carrying concurrent writes, step-up,
//! remember-me and role changes.
//!
//! `cargo test --test accounts --features redis`

#[cfg(feature = "redis")]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use portcullis::clock::ManualClock;
use portcullis::jwt::{KeyRegistry, MemoryRevocationList, RevocationList, TokenConfig};
use portcullis::store::{MemoryStore, SessionStore};
use portcullis::{
    Authenticator, RequestView, Requirement, SessionConfig, SessionHandle, SessionLimitPolicy,
    TokenHandle,
};

/// A cookie session as a client holds it.
#[derive(Clone)]
struct Client {
    cookie: String,
    csrf: String,
}

fn tokens() -> TokenConfig {
    TokenConfig::new(KeyRegistry::hs256("k", &[7u8; 32]).unwrap())
}

/// An instance over `store` and `revocations` (two instances share both).
fn auth_on(
    store: Arc<dyn SessionStore>,
    revocations: Arc<dyn RevocationList>,
    clock: &ManualClock,
) -> Authenticator {
    Authenticator::builder()
        .store(store)
        .revocations(revocations)
        .clock(clock.clone())
        .sessions(
            SessionConfig::default().max_sessions_per_user(None, SessionLimitPolicy::EvictOldest),
        )
        .tokens(tokens().max_families_per_user(None))
        .build()
        .unwrap()
}

async fn request(auth: &Authenticator, method: &str, c: Option<&Client>) -> SessionHandle {
    let mut v = RequestView::new(method);
    if let Some(c) = c {
        v.add_header("cookie", c.cookie.as_bytes());
        v.add_header("x-csrf-token", c.csrf.as_bytes());
    }
    SessionHandle::new(auth.authenticate(&v).await)
}

fn set_cookie(s: &SessionHandle) -> Option<String> {
    s.outcome()
        .take_response_headers()
        .find(|(n, _)| *n == "set-cookie")
        .map(|(_, v)| v)
}

async fn login(auth: &Authenticator, user: &str, roles: &[&str]) -> Client {
    let s = request(auth, "POST", None).await;
    let info = s
        .login(user, roles.iter().map(|r| (*r).to_owned()).collect())
        .await
        .unwrap();
    let cookie = set_cookie(&s).unwrap();
    Client {
        cookie: cookie.split(';').next().unwrap().to_owned(),
        csrf: info.csrf_token,
    }
}

async fn who(auth: &Authenticator, c: &Client) -> Option<(String, Vec<String>)> {
    let s = request(auth, "GET", Some(c)).await;
    s.identity()
        .map(|id| (id.subject().to_owned(), id.roles().to_vec()))
}

async fn bearer(auth: &Authenticator, access: &str) -> TokenHandle {
    let header = format!("Bearer {access}");
    let mut v = RequestView::new("GET");
    v.add_header("authorization", header.as_bytes());
    TokenHandle::new(auth.authenticate(&v).await)
}

/// Every check, on one store (each with users of its own `tag`).
async fn suite(store: Arc<dyn SessionStore>, clock: ManualClock, tag: &str) {
    let revocations: Arc<dyn RevocationList> =
        match store.revocation_list(Duration::from_secs(86_400)) {
            Some(shared) => shared,
            None => Arc::new(MemoryRevocationList::new(clock.clone())),
        };
    let auth = auth_on(store.clone(), revocations.clone(), &clock);
    // A second instance over the same store and revocations.
    let other = auth_on(store, revocations, &clock);
    let alice = format!("alice-{tag}");
    let bob = format!("bob-{tag}");

    // Concurrent inserts of different keys from many tasks all survive.
    let a = login(&auth, &alice, &["user"]).await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (auth, a) = (
            if i % 2 == 0 {
                auth.clone()
            } else {
                other.clone()
            },
            a.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let s = request(&auth, "POST", Some(&a)).await;
            s.insert(&format!("k{i}"), &i).await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = request(&other, "GET", Some(&a)).await;
    for i in 0..24 {
        assert_eq!(
            s.get::<i32>(&format!("k{i}")).unwrap(),
            Some(i),
            "{tag}: lost k{i}"
        );
    }
    assert!(
        s.get::<String>("k1").is_err(),
        "{tag}: a decode error is an error"
    );

    // A rotation carries a write that landed after the rotating request
    // read the session, and the old cookie stops working.
    let stale = request(&auth, "POST", Some(&a)).await;
    request(&other, "POST", Some(&a))
        .await
        .insert("late", &"kept")
        .await
        .unwrap();
    let csrf = stale.reauthenticate().await.unwrap();
    let rotated = Client {
        cookie: set_cookie(&stale)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
        csrf,
    };
    assert!(who(&auth, &a).await.is_none(), "{tag}: old cookie refused");
    let s = request(&other, "GET", Some(&rotated)).await;
    assert_eq!(
        s.get::<String>("late").unwrap().as_deref(),
        Some("kept"),
        "{tag}: carried over"
    );
    assert_eq!(s.get::<i32>("k3").unwrap(), Some(3), "{tag}");
    // A write from the old cookie after the rotation is refused, not lost
    // silently into a dead record.
    let err = request(&auth, "POST", Some(&a))
        .await
        .insert("x", &1)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 401, "{tag}");

    // Step-up: fresh after the re-authentication, stale later.
    let fresh = Requirement::AuthenticatedWithin(Duration::from_secs(300));
    assert!(request(&auth, "GET", Some(&rotated))
        .await
        .outcome()
        .state
        .require(&fresh)
        .is_ok());
    clock.advance(Duration::from_secs(301));
    let s = request(&auth, "GET", Some(&rotated)).await;
    let e = s.outcome().state.require(&fresh).unwrap_err();
    assert_eq!(
        (e.status(), e.message()),
        (403, "reauthentication required"),
        "{tag}"
    );

    // Devices: a second session and a family; the other user's hint is
    // not found; logout-others keeps exactly the current one.
    let b = login(&auth, &alice, &["user"]).await;
    let t = TokenHandle::new(auth.authenticate(&RequestView::new("POST")).await)
        .issue(&alice, &["user".into()])
        .await
        .unwrap();
    let bob_c = login(&auth, &bob, &["user"]).await;
    let mine = request(&auth, "GET", Some(&rotated))
        .await
        .list()
        .await
        .unwrap();
    assert_eq!(mine.len(), 3, "{tag}");
    let bobs = request(&auth, "GET", Some(&bob_c))
        .await
        .list()
        .await
        .unwrap();
    let err = request(&auth, "POST", Some(&rotated))
        .await
        .revoke(&bobs[0].id_hint)
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404, "{tag}");
    assert!(
        who(&auth, &bob_c).await.is_some(),
        "{tag}: bob's session stays"
    );
    assert_eq!(
        request(&auth, "GET", Some(&rotated))
            .await
            .list()
            .await
            .unwrap(),
        mine,
        "{tag}: nothing changed"
    );
    request(&other, "POST", Some(&rotated))
        .await
        .logout_others()
        .await
        .unwrap();
    let left = request(&auth, "GET", Some(&rotated))
        .await
        .list()
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "{tag}");
    assert!(left[0].current, "{tag}");
    assert!(who(&auth, &b).await.is_none(), "{tag}: other session ended");
    assert!(
        bearer(&auth, &t.access_token).await.identity().is_none(),
        "{tag}: family's token refused"
    );

    // Role change: every live session answers with the new roles on its
    // next request, on every instance; earlier access tokens are refused.
    let t = TokenHandle::new(auth.authenticate(&RequestView::new("POST")).await)
        .issue(&bob, &["user".into()])
        .await
        .unwrap();
    clock.advance(Duration::from_secs(1));
    let admin = request(&auth, "GET", None).await;
    admin
        .admin_set_roles(&bob, &["user".into(), "editor".into()])
        .await
        .unwrap();
    assert_eq!(
        who(&other, &bob_c).await.unwrap().1,
        ["user", "editor"],
        "{tag}"
    );
    assert!(
        bearer(&other, &t.access_token).await.identity().is_none(),
        "{tag}: old token"
    );
    let listed = admin.admin_list(&bob).await.unwrap();
    assert_eq!(listed.len(), 2, "{tag}: bob's session and family");
    assert!(listed.iter().all(|d| !d.current), "{tag}");
    admin.admin_logout(&bob).await.unwrap();
    assert!(who(&other, &bob_c).await.is_none(), "{tag}");
    assert!(admin.admin_list(&bob).await.unwrap().is_empty(), "{tag}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accounts_on_memory_store() {
    let clock = ManualClock::new(1_000_000);
    suite(
        Arc::new(MemoryStore::with_clock(clock.clone())),
        clock,
        "mem",
    )
    .await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accounts_on_redis() {
    let server = redis_server::RedisServer::start();
    let clock = ManualClock::new(1_000_000);
    let store = portcullis::redis::RedisStore::builder()
        .prefix("accounts:")
        .clock(clock.clone())
        .connect(&server.url())
        .await
        .expect("connect to the test redis");
    suite(Arc::new(store), clock, "redis").await;
}

#[tokio::test]
async fn remember_me_chooses_the_cookie_and_the_absolute_timeout() {
    let auth = Authenticator::builder()
        .sessions(
            SessionConfig::default()
                .cookie(portcullis::CookiePolicy::default().browser_session_cookie())
                .absolute_timeout(Duration::from_secs(3_600))
                .remember_absolute_timeout(Duration::from_secs(86_400)),
        )
        .build()
        .unwrap();
    let cookie_of = |remember: Option<bool>| {
        let auth = auth.clone();
        async move {
            let s = request(&auth, "POST", None).await;
            match remember {
                Some(r) => s.login_remember("alice", vec![], r).await.unwrap(),
                None => s.login("alice", vec![]).await.unwrap(),
            };
            let c = set_cookie(&s).unwrap();
            // Rotation keeps the choice.
            let client = Client {
                cookie: c.split(';').next().unwrap().to_owned(),
                csrf: String::new(),
            };
            let s2 = request(&auth, "GET", Some(&client)).await;
            s2.rotate().await.unwrap();
            (c, set_cookie(&s2).unwrap())
        }
    };
    let (login, rotated) = cookie_of(Some(true)).await;
    assert!(login.contains("Max-Age=86400"), "{login}");
    assert!(rotated.contains("Max-Age=864"), "{rotated}");
    for remember in [Some(false), None] {
        let (login, rotated) = cookie_of(remember).await;
        assert!(
            !login.contains("Max-Age") && !login.contains("Expires"),
            "{login}"
        );
        assert!(!rotated.contains("Max-Age"), "{rotated}");
    }
}

/// A store that, when a rotation first tries to turn the old record into
/// its tombstone, lets a concurrent role change land on both the old
/// record and the successor first (the interleaving of an admin's
/// `set_user_roles` listing the user mid-rotation).
struct RacingRoleChange {
    inner: MemoryStore,
    fired: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl SessionStore for RacingRoleChange {
    async fn create(
        &self,
        k: &portcullis::store::SessionKey,
        r: &portcullis::store::SessionRecord,
    ) -> Result<(), portcullis::StoreError> {
        self.inner.create(k, r).await
    }
    async fn load(
        &self,
        k: &portcullis::store::SessionKey,
    ) -> Result<Option<portcullis::store::SessionRecord>, portcullis::StoreError> {
        self.inner.load(k).await
    }
    async fn update(
        &self,
        k: &portcullis::store::SessionKey,
        r: &portcullis::store::SessionRecord,
    ) -> Result<u64, portcullis::StoreError> {
        let tombstone = serde_json::to_value(r).unwrap()["moved_to"].is_string();
        if tombstone && !self.fired.swap(true, std::sync::atomic::Ordering::SeqCst) {
            for (key, mut rec) in self.inner.list_user(&r.user_id).await? {
                rec.roles = vec!["demoted".into()].into();
                self.inner.update(&key, &rec).await?;
            }
        }
        self.inner.update(k, r).await
    }
    async fn delete(
        &self,
        k: &portcullis::store::SessionKey,
    ) -> Result<bool, portcullis::StoreError> {
        self.inner.delete(k).await
    }
    async fn delete_user(&self, u: &str) -> Result<usize, portcullis::StoreError> {
        self.inner.delete_user(u).await
    }
    async fn list_user(
        &self,
        u: &str,
    ) -> Result<
        Vec<(
            portcullis::store::SessionKey,
            portcullis::store::SessionRecord,
        )>,
        portcullis::StoreError,
    > {
        self.inner.list_user(u).await
    }
}

#[tokio::test]
async fn a_role_change_on_both_records_mid_rotation_is_kept() {
    let store = Arc::new(RacingRoleChange {
        inner: MemoryStore::new(),
        fired: std::sync::atomic::AtomicBool::new(false),
    });
    let auth = Authenticator::builder()
        .store(store.clone())
        .build()
        .unwrap();
    let a = login(&auth, "carol", &["admin"]).await;
    let s = request(&auth, "GET", Some(&a)).await;
    let csrf = s
        .rotate()
        .await
        .expect("the rotation retries, it does not fail");
    assert!(store.fired.load(std::sync::atomic::Ordering::SeqCst));
    let rotated = Client {
        cookie: set_cookie(&s)
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
        csrf,
    };
    assert_eq!(who(&auth, &rotated).await.unwrap().1, ["demoted"]);
    assert!(who(&auth, &a).await.is_none());
}
