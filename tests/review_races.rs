//! Review findings about refresh families (issue #12): M1, M4, L4, L5, L7,
//! L9, on `MemoryStore` (tests/redis.rs runs the same race scenarios on
//! Redis). Each test fails on the code before its fix.

#[path = "support/races.rs"]
mod races;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use portcullis::__private::ClientInfo;
use portcullis::clock::{Clock, ManualClock};
use portcullis::jwt::{KeyRegistry, MemoryRevocationList, RevocationList, TokenService};
use portcullis::store::{MemoryStore, SessionStore};
use portcullis::Authenticator;
use portcullis::RequestView;
use portcullis::Requirement;
use portcullis::SessionHandle;
use proptest::prelude::*;

fn memory() -> (Arc<dyn SessionStore>, Arc<dyn RevocationList>) {
    (
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryRevocationList::default()),
    )
}

#[tokio::test]
async fn m1_refresh_between_logout_all_cutoff_and_list_mints_no_surviving_token() {
    let (s, r) = memory();
    races::m1_refresh_between_cutoff_and_list(s, r).await;
}

#[tokio::test]
async fn m1_refresh_between_logout_all_list_and_delete_mints_no_surviving_token() {
    let (s, r) = memory();
    races::m1_refresh_between_list_and_delete(s, r).await;
}

#[tokio::test]
async fn m1_refresh_racing_token_logout_mints_no_surviving_token() {
    let (s, r) = memory();
    races::m1_refresh_racing_logout(s, r).await;
}

#[tokio::test]
async fn m1_refresh_racing_reuse_detection_mints_no_surviving_token() {
    let (s, r) = memory();
    races::m1_refresh_racing_reuse_detection(s, r).await;
}

#[tokio::test]
async fn l4_logout_refuses_the_thiefs_refreshed_token() {
    let (s, r) = memory();
    races::l4_logout_refuses_the_thiefs_refreshed_token(s, r).await;
}

#[tokio::test]
async fn l5_logout_everywhere_ends_sessions_families_and_tokens() {
    let (s, r) = memory();
    races::l5_logout_everywhere_ends_everything(s, r).await;
}

// ----- L7 --------------------------------------------------------------------

#[tokio::test]
async fn l7_refresh_families_per_user_are_capped() {
    let clock = ManualClock::new(1_700_000_000);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::with_clock(shared.clone()));
    // One authenticator: its token service (first half) and its cookie
    // sessions (second half) share the store and clock.
    let auth = Authenticator::builder()
        .store(store.clone())
        .revocations(Arc::new(MemoryRevocationList::new(shared.clone())))
        .clock(shared.clone())
        .tokens(
            portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", &[5u8; 32]).unwrap())
                .max_families_per_user(Some(3)),
        )
        .build()
        .unwrap();
    let svc = auth.tokens().expect("token mode").clone();
    let mut pairs = Vec::new();
    for _ in 0..5 {
        // Logins a millisecond apart, so "oldest" is well defined.
        clock.advance(Duration::from_millis(1));
        pairs.push(svc.issue("l7-hal", &[]).await.unwrap());
    }
    let families = store.list_user("l7-hal").await.unwrap();
    assert_eq!(families.len(), 3, "at most 3 families live");
    // The two oldest ended, with their access tokens; the newest live.
    for (i, p) in pairs.iter().enumerate() {
        let live = svc.authenticate(p.access_token.as_bytes()).await.is_ok();
        assert_eq!(live, i >= 2, "family {i}");
    }
    assert!(svc.refresh(&pairs[0].refresh_token).await.is_err());
    assert!(svc.refresh(&pairs[4].refresh_token).await.is_ok());
    // Another user is not affected, and cookie sessions are counted apart.
    svc.issue("l7-ida", &[]).await.unwrap();
    for _ in 0..3 {
        let anon = auth.authenticate(&RequestView::new("POST")).await;
        SessionHandle::new(anon.clone())
            .login("l7-hal", vec![])
            .await
            .unwrap();
    }
    let all = store.list_user("l7-hal").await.unwrap();
    assert_eq!(all.len(), 6, "3 sessions and 3 families: {all:?}");
}

// ----- L9 --------------------------------------------------------------------

fn client(ip: &str, ua: Option<&str>) -> ClientInfo {
    ClientInfo::new(Some(ip.parse::<IpAddr>().unwrap()), ua.map(str::as_bytes))
}

fn clocked() -> (TokenService, ManualClock) {
    let c = ManualClock::new(1_700_000_000);
    let shared: Arc<dyn Clock> = Arc::new(c.clone());
    let svc = portcullis::Authenticator::builder()
        .without_sessions()
        .store(Arc::new(MemoryStore::with_clock(shared.clone())))
        .revocations(Arc::new(MemoryRevocationList::new(shared.clone())))
        .clock(shared)
        .tokens(portcullis::jwt::TokenConfig::new(
            KeyRegistry::hs256("k1", &[5u8; 32]).unwrap(),
        ))
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap();
    (svc, c)
}

#[tokio::test]
async fn l9_same_client_retry_within_10_s_gets_the_same_refresh_token() {
    let (svc, clock) = clocked();
    let me = client("198.51.100.9", Some("App/1.0"));
    let first = portcullis::__private::issue_for(&svc, "l9-jo", &[], &me)
        .await
        .unwrap();
    let rotated = portcullis::__private::refresh_from(&svc, &first.refresh_token, &me)
        .await
        .unwrap();
    // The response was lost; the client retries with the spent token.
    clock.advance(Duration::from_secs(9));
    let again = portcullis::__private::refresh_from(&svc, &first.refresh_token, &me)
        .await
        .unwrap();
    assert_eq!(
        again.refresh_token, rotated.refresh_token,
        "the same successor"
    );
    assert!(svc
        .authenticate(again.access_token.as_bytes())
        .await
        .is_ok());
    assert!(svc
        .authenticate(rotated.access_token.as_bytes())
        .await
        .is_ok());
    // Exactly one live refresh token: the successor rotates on normally.
    let next = portcullis::__private::refresh_from(&svc, &rotated.refresh_token, &me)
        .await
        .unwrap();
    assert_ne!(next.refresh_token, rotated.refresh_token);
    assert!(
        portcullis::__private::refresh_from(&svc, &next.refresh_token, &me)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn l9_retry_from_another_client_or_too_late_ends_the_family() {
    for (what, wait, retry) in [
        (
            "another User-Agent",
            1,
            client("198.51.100.9", Some("Evil/6.6")),
        ),
        ("another IP", 1, client("203.0.113.1", Some("App/1.0"))),
        ("no User-Agent", 1, client("198.51.100.9", None)),
        ("after 10 s", 11, client("198.51.100.9", Some("App/1.0"))),
    ] {
        let (svc, clock) = clocked();
        let me = client("198.51.100.9", Some("App/1.0"));
        let first = portcullis::__private::issue_for(&svc, "l9-kim", &[], &me)
            .await
            .unwrap();
        let rotated = portcullis::__private::refresh_from(&svc, &first.refresh_token, &me)
            .await
            .unwrap();
        clock.advance(Duration::from_secs(wait));
        assert!(
            portcullis::__private::refresh_from(&svc, &first.refresh_token, &retry)
                .await
                .is_err(),
            "{what}: reuse refused"
        );
        assert!(
            portcullis::__private::refresh_from(&svc, &rotated.refresh_token, &me)
                .await
                .is_err(),
            "{what}: the family ended"
        );
        assert!(
            svc.authenticate(rotated.access_token.as_bytes())
                .await
                .is_err(),
            "{what}: its access tokens ended"
        );
    }
    // A client with no User-Agent at all never gets the grace.
    let (svc, _) = clocked();
    let bare = ClientInfo::new(Some("198.51.100.9".parse().unwrap()), None);
    let first = portcullis::__private::issue_for(&svc, "l9-lee", &[], &bare)
        .await
        .unwrap();
    portcullis::__private::refresh_from(&svc, &first.refresh_token, &bare)
        .await
        .unwrap();
    assert!(
        portcullis::__private::refresh_from(&svc, &first.refresh_token, &bare)
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l9_two_tabs_of_one_client_both_get_the_one_live_refresh_token() {
    for _ in 0..20 {
        let (svc, _) = clocked();
        let me = client("198.51.100.9", Some("App/1.0"));
        let first = portcullis::__private::issue_for(&svc, "l9-max", &[], &me)
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            portcullis::__private::refresh_from(&svc, &first.refresh_token, &me),
            portcullis::__private::refresh_from(&svc, &first.refresh_token, &me)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            a.refresh_token, b.refresh_token,
            "exactly one live refresh token"
        );
        assert!(
            portcullis::__private::refresh_from(&svc, &a.refresh_token, &me)
                .await
                .is_ok()
        );
    }
}

// ----- M4 --------------------------------------------------------------------

#[tokio::test]
async fn m4_role_change_applies_to_every_live_credential_at_once() {
    let (store, rl) = memory();
    let auth = Authenticator::builder()
        .store(store)
        .revocations(rl)
        .tokens(races::config())
        .build()
        .unwrap();
    let svc = auth.tokens().expect("token mode").clone();
    let admin = vec!["user".to_owned(), "admin".to_owned()];
    let anon = auth.authenticate(&RequestView::new("POST")).await;
    SessionHandle::new(anon.clone())
        .login("m4-ned", admin.clone())
        .await
        .unwrap();
    let cookie = portcullis::__private::set_cookie(&anon).unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let pair = svc.issue("m4-ned", &admin).await.unwrap();
    let other = svc.issue("m4-oli", &admin).await.unwrap();

    auth.set_user_roles("m4-ned", &["user".to_owned()])
        .await
        .unwrap();

    let mut view = RequestView::new("GET");
    view.add_header("cookie", cookie.as_bytes());
    let o = auth.authenticate(&view).await;
    let who = o.state.require(&Requirement::Authenticated).unwrap();
    assert!(
        !who.has_role("admin"),
        "the live session answers with the new roles"
    );
    assert!(who.has_role("user"));
    assert!(
        svc.authenticate(pair.access_token.as_bytes())
            .await
            .is_err(),
        "an access token issued before the change is refused"
    );
    let next = svc.refresh(&pair.refresh_token).await.unwrap();
    let who = svc
        .authenticate(next.access_token.as_bytes())
        .await
        .unwrap();
    assert_eq!(
        who.roles(),
        ["user"],
        "the next refresh mints the new roles"
    );
    // Nobody else is touched.
    let who = svc
        .authenticate(other.access_token.as_bytes())
        .await
        .unwrap();
    assert!(who.has_role("admin"));
}

// ----- M1, randomized ---------------------------------------------------------

/// A store that yields to the scheduler a seeded number of times before
/// every call, so concurrent operations interleave differently per seed.
struct Yielding {
    inner: MemoryStore,
    seed: std::sync::atomic::AtomicU64,
}

impl Yielding {
    async fn jitter(&self) {
        let s = self
            .seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed);
        for _ in 0..(s >> 61) {
            tokio::task::yield_now().await;
        }
    }
}

#[async_trait::async_trait]
impl SessionStore for Yielding {
    async fn create(
        &self,
        k: &portcullis::store::SessionKey,
        r: &portcullis::store::SessionRecord,
    ) -> Result<(), portcullis::StoreError> {
        self.jitter().await;
        self.inner.create(k, r).await
    }
    async fn load(
        &self,
        k: &portcullis::store::SessionKey,
    ) -> Result<Option<portcullis::store::SessionRecord>, portcullis::StoreError> {
        self.jitter().await;
        self.inner.load(k).await
    }
    async fn update(
        &self,
        k: &portcullis::store::SessionKey,
        r: &portcullis::store::SessionRecord,
    ) -> Result<u64, portcullis::StoreError> {
        self.jitter().await;
        self.inner.update(k, r).await
    }
    async fn delete(
        &self,
        k: &portcullis::store::SessionKey,
    ) -> Result<bool, portcullis::StoreError> {
        self.jitter().await;
        self.inner.delete(k).await
    }
    async fn delete_user(&self, u: &str) -> Result<usize, portcullis::StoreError> {
        self.jitter().await;
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
        self.jitter().await;
        self.inner.list_user(u).await
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Refresh chains of two families run concurrently with a token logout
    /// of one and log-out-everywhere: once both have returned, no access
    /// token any refresh ever handed out is accepted.
    #[test]
    fn m1_no_interleaving_lets_a_token_outlive_its_family(seed in any::<u64>(), chain in 1usize..6) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = Arc::new(Yielding { inner: MemoryStore::new(), seed: seed.into() });
            let svc = races::service(store, Arc::new(MemoryRevocationList::default()));
            let a = svc.issue("m1-prop", &[]).await.unwrap();
            let b = svc.issue("m1-prop", &[]).await.unwrap();
            let who = svc.authenticate(a.access_token.as_bytes()).await.unwrap();
            let refresher = |start: String| {
                let svc = svc.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    let mut token = start;
                    for _ in 0..chain {
                        match svc.refresh(&token).await {
                            Ok(p) => {
                                token = p.refresh_token.clone();
                                got.push(p.access_token);
                            }
                            Err(_) => break,
                        }
                    }
                    got
                })
            };
            let ra = refresher(a.refresh_token.clone());
            let rb = refresher(b.refresh_token.clone());
            let s1 = svc.clone();
            let logout = tokio::spawn(async move { s1.logout(&who).await });
            let s2 = svc.clone();
            let everywhere = tokio::spawn(async move { s2.logout_all("m1-prop").await });
            logout.await.unwrap().unwrap();
            everywhere.await.unwrap().unwrap();
            let mut all = ra.await.unwrap();
            all.extend(rb.await.unwrap());
            all.push(a.access_token.clone());
            all.push(b.access_token.clone());
            for t in &all {
                prop_assert!(svc.authenticate(t.as_bytes()).await.is_err(), "a token outlived log-out-everywhere");
            }
            Ok(())
        })?;
    }
}
