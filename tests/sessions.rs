//! Session manager and authenticator behaviour through the public API, on a
//! manual clock.
#![allow(clippy::type_complexity)] // test tables are literal tuples

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use portcullis::clock::ManualClock;
use portcullis::store::SessionKey;
use portcullis::CookiePolicy;
use portcullis::RequestView;
use portcullis::SessionHandle;
use portcullis::{
    store::{MemoryStore, SessionRecord, SessionStore},
    StoreError,
};
use portcullis::{AuthMethod, AuthState, Requirement};
use portcullis::{AuthOutcome, Authenticator, RejectionKind};
use portcullis::{SessionConfig, SessionLimitPolicy};

/// Counts calls, and can be switched to fail like a store that is down.
#[derive(Clone)]
struct Counting {
    inner: MemoryStore,
    loads: Arc<AtomicUsize>,
    updates: Arc<AtomicUsize>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Counting {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("down".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl SessionStore for Counting {
    async fn create(&self, k: &SessionKey, r: &SessionRecord) -> Result<(), StoreError> {
        self.check()?;
        self.inner.create(k, r).await
    }
    async fn load(&self, k: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.check()?;
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(k).await
    }
    async fn update(&self, k: &SessionKey, r: &SessionRecord) -> Result<u64, StoreError> {
        self.check()?;
        self.updates.fetch_add(1, Ordering::SeqCst);
        self.inner.update(k, r).await
    }
    async fn delete(&self, k: &SessionKey) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.delete(k).await
    }
    async fn delete_user(&self, u: &str) -> Result<usize, StoreError> {
        self.check()?;
        self.inner.delete_user(u).await
    }
    async fn list_user(&self, u: &str) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        self.check()?;
        self.inner.list_user(u).await
    }
}

struct Fixture {
    auth: Authenticator,
    clock: ManualClock,
    store: Counting,
}

fn fixture_with(config: SessionConfig) -> Fixture {
    let clock = ManualClock::new(1_000_000);
    let store = Counting {
        inner: MemoryStore::with_clock(clock.clone()),
        loads: Arc::default(),
        updates: Arc::default(),
        down: Arc::default(),
    };
    let auth = Authenticator::builder()
        .store(Arc::new(store.clone()))
        .clock(clock.clone())
        .sessions(config)
        .build()
        .unwrap();
    Fixture { auth, clock, store }
}

fn fixture() -> Fixture {
    fixture_with(
        SessionConfig::default()
            .idle_timeout(std::time::Duration::from_secs(600))
            .absolute_timeout(std::time::Duration::from_secs(3_600))
            .rolling_interval(std::time::Duration::from_secs(60)),
    )
}

/// The `name=value` part of a Set-Cookie.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

async fn request(auth: &Authenticator, method: &str, headers: &[(&str, &str)]) -> Arc<AuthOutcome> {
    let mut view = RequestView::new(method);
    for (n, v) in headers {
        view.add_header(n, v.as_bytes());
    }
    auth.authenticate(&view).await
}

/// Log in; returns (cookie pair, csrf token).
async fn login(
    auth: &Authenticator,
    user: &str,
    roles: &[&str],
    headers: &[(&str, &str)],
) -> (String, String) {
    let o = request(auth, "POST", headers).await;
    let info = SessionHandle::new(o.clone())
        .login(user, roles.iter().map(|r| (*r).to_owned()).collect())
        .await
        .unwrap();
    let pending: Vec<_> = o.take_response_headers().collect();
    assert!(
        pending.contains(&("cache-control", "no-store".to_owned())),
        "login must ask for Cache-Control: no-store"
    );
    let set_cookie = pending.iter().find(|(n, _)| *n == "set-cookie").unwrap();
    (cookie_pair(&set_cookie.1), info.csrf_token)
}

async fn whoami(auth: &Authenticator, cookie: &str) -> Result<String, RejectionKind> {
    let o = request(auth, "GET", &[("cookie", cookie)]).await;
    o.state
        .require(&Requirement::Authenticated)
        .map(|id| id.subject().to_owned())
        .map_err(|r| r.kind())
}

#[tokio::test]
async fn login_then_authenticate() {
    let f = fixture();
    let (cookie, csrf) = login(&f.auth, "alice", &["user"], &[]).await;
    assert_eq!(csrf.len(), 43);
    assert_eq!(whoami(&f.auth, &cookie).await, Ok("alice".into()));
    let o = request(&f.auth, "GET", &[("cookie", &cookie)]).await;
    let id = o.state.identity().unwrap();
    assert!(id.has_role("user") && !id.has_role("admin"));
    assert!(matches!(id.method(), AuthMethod::Session(_)));
    assert_eq!(SessionHandle::new(o.clone()).csrf_token(), Some(csrf));
}

#[tokio::test]
async fn no_unknown_or_tampered_cookie_is_401() {
    let f = fixture();
    assert_eq!(
        whoami(&f.auth, "").await,
        Err(RejectionKind::MissingCredentials)
    );
    let (cookie, _) = login(&f.auth, "alice", &[], &[]).await;
    let mut tampered = cookie.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(
        whoami(&f.auth, &tampered).await,
        Err(RejectionKind::InvalidSession)
    );
    // An invalid cookie gets a removal cookie back.
    let o = request(&f.auth, "GET", &[("cookie", &tampered)]).await;
    assert!(portcullis::__private::set_cookie(&o)
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        whoami(&f.auth, "__Host-id=short").await,
        Err(RejectionKind::InvalidSession)
    );
}

#[tokio::test]
async fn login_ends_the_presented_session_fixation_defence() {
    let f = fixture();
    let (old, _) = login(&f.auth, "alice", &[], &[]).await;
    let (new, _) = login(&f.auth, "admin", &["admin"], &[("cookie", &old)]).await;
    assert_ne!(old, new, "the ID is never reused");
    assert_eq!(
        whoami(&f.auth, &old).await,
        Err(RejectionKind::InvalidSession)
    );
    assert_eq!(whoami(&f.auth, &new).await, Ok("admin".into()));
    // Same user switching: still a fresh ID.
    let (again, _) = login(&f.auth, "admin", &["admin"], &[("cookie", &new)]).await;
    assert_ne!(again, new);
    assert!(whoami(&f.auth, &new).await.is_err());
}

#[tokio::test]
async fn idle_and_absolute_timeouts() {
    let f = fixture();
    let (c, _) = login(&f.auth, "alice", &[], &[]).await;
    f.clock.advance(Duration::from_secs(599));
    assert!(
        whoami(&f.auth, &c).await.is_ok(),
        "just inside the idle window"
    );
    f.clock.advance(Duration::from_secs(599));
    assert!(
        whoami(&f.auth, &c).await.is_ok(),
        "the previous request rolled the idle expiry"
    );
    f.clock.advance(Duration::from_secs(600));
    assert_eq!(
        whoami(&f.auth, &c).await,
        Err(RejectionKind::InvalidSession),
        "idle timeout"
    );

    let (c, _) = login(&f.auth, "alice", &[], &[]).await;
    for _ in 0..6 {
        f.clock.advance(Duration::from_secs(590));
        assert!(whoami(&f.auth, &c).await.is_ok());
    }
    f.clock.advance(Duration::from_secs(590)); // 4130 s after login: past the absolute 3600 s
    assert_eq!(
        whoami(&f.auth, &c).await,
        Err(RejectionKind::InvalidSession),
        "absolute timeout"
    );
}

#[tokio::test]
async fn rolling_refresh_writes_at_most_once_per_interval() {
    let f = fixture();
    let (c, _) = login(&f.auth, "alice", &[], &[]).await;
    let before = f.store.updates.load(Ordering::SeqCst);
    for _ in 0..50 {
        assert!(whoami(&f.auth, &c).await.is_ok());
    }
    assert_eq!(
        f.store.updates.load(Ordering::SeqCst),
        before,
        "no write while nothing is due"
    );
    f.clock.advance(Duration::from_secs(60));
    for _ in 0..50 {
        assert!(whoami(&f.auth, &c).await.is_ok());
    }
    assert_eq!(
        f.store.updates.load(Ordering::SeqCst),
        before + 1,
        "one write per interval"
    );
}

#[tokio::test]
async fn cookie_max_age_never_exceeds_remaining_life() {
    let f = fixture();
    let o = request(&f.auth, "POST", &[]).await;
    SessionHandle::new(o.clone())
        .login("alice", vec![])
        .await
        .unwrap();
    let set = portcullis::__private::set_cookie(&o).unwrap();
    assert!(set.contains("Max-Age=3600"), "{set}");
    // After rotation the cookie carries the remaining absolute life only.
    f.clock.advance(Duration::from_secs(500));
    let c = cookie_pair(&set);
    let o = request(&f.auth, "GET", &[("cookie", &c)]).await;
    SessionHandle::new(o.clone()).rotate().await.unwrap();
    let set = portcullis::__private::set_cookie(&o).unwrap();
    assert!(set.contains("Max-Age=3100"), "{set}");
}

#[tokio::test]
async fn rotate_keeps_the_session_but_changes_id_and_csrf() {
    let f = fixture();
    let (c, csrf) = login(&f.auth, "alice", &["user"], &[]).await;
    let o = request(&f.auth, "GET", &[("cookie", &c)]).await;
    let new_csrf = SessionHandle::new(o.clone()).rotate().await.unwrap();
    let new = cookie_pair(&portcullis::__private::set_cookie(&o).unwrap());
    assert_ne!(new, c);
    assert_ne!(new_csrf, csrf);
    assert!(whoami(&f.auth, &c).await.is_err(), "old ID dead at once");
    assert_eq!(whoami(&f.auth, &new).await, Ok("alice".into()));
}

#[tokio::test]
async fn session_data_writes_are_compare_and_set() {
    // Two requests read the same version of the session; each writes its
    // own member. The second write is re-applied to the data the first
    // left, so neither is lost and neither overwrites with a stale copy.
    let f = fixture();
    let (c, csrf) = login(&f.auth, "alice", &[], &[]).await;
    let headers = [("cookie", c.as_str()), ("x-csrf-token", csrf.as_str())];
    let o1 = request(&f.auth, "POST", &headers).await;
    let o2 = request(&f.auth, "POST", &headers).await;
    SessionHandle::new(o1).insert("cart", &1).await.unwrap();
    SessionHandle::new(o2)
        .insert("theme", &"dark")
        .await
        .unwrap();
    let o3 = request(&f.auth, "GET", &[("cookie", &c)]).await;
    let s3 = portcullis::__private::session(&o3).unwrap();
    assert_eq!(s3.record.data.get("cart"), Some(&1.into()));
    assert_eq!(s3.record.data.get("theme"), Some(&"dark".into()));
}

#[tokio::test]
async fn logout_and_logout_all() {
    let f = fixture();
    let (a1, csrf1) = login(&f.auth, "alice", &[], &[]).await;
    let (a2, _) = login(&f.auth, "alice", &[], &[]).await;
    let (b1, _) = login(&f.auth, "bob", &[], &[]).await;

    let o = request(
        &f.auth,
        "POST",
        &[("cookie", &a1), ("x-csrf-token", &csrf1)],
    )
    .await;
    SessionHandle::new(o.clone()).logout().await.unwrap();
    let p: Vec<_> = o.take_response_headers().collect();
    let removal = p.iter().find(|(n, _)| *n == "set-cookie").unwrap();
    assert!(removal.1.contains("Max-Age=0"));
    assert!(p.contains(&("cache-control", "no-store".to_owned())));
    assert!(whoami(&f.auth, &a1).await.is_err());
    assert!(whoami(&f.auth, &a2).await.is_ok());

    let o = request(&f.auth, "GET", &[("cookie", &a2)]).await;
    let csrf2 = SessionHandle::new(o.clone()).csrf_token().unwrap();
    let o = request(
        &f.auth,
        "POST",
        &[("cookie", &a2), ("x-csrf-token", &csrf2)],
    )
    .await;
    SessionHandle::new(o.clone()).logout_all().await.unwrap();
    assert!(whoami(&f.auth, &a2).await.is_err());
    assert!(whoami(&f.auth, &b1).await.is_ok(), "other users untouched");
}

#[tokio::test]
async fn unsafe_requests_need_csrf_and_same_origin() {
    let f = fixture();
    let (c, csrf) = login(&f.auth, "alice", &[], &[]).await;
    let (_, other_csrf) = login(&f.auth, "bob", &[], &[]).await;
    let kind = |o: &AuthOutcome| {
        o.state
            .require(&Requirement::Authenticated)
            .err()
            .map(|r| r.kind())
    };
    let cases: Vec<(Vec<(&str, &str)>, Option<RejectionKind>)> = vec![
        (vec![], Some(RejectionKind::CsrfTokenInvalid)),
        (
            vec![("x-csrf-token", "wrong")],
            Some(RejectionKind::CsrfTokenInvalid),
        ),
        (
            vec![("x-csrf-token", &other_csrf)],
            Some(RejectionKind::CsrfTokenInvalid),
        ),
        (
            vec![("x-csrf-token", &csrf), ("x-csrf-token", &csrf)],
            Some(RejectionKind::CsrfTokenInvalid),
        ),
        (vec![("x-csrf-token", &csrf)], None),
        (
            vec![("x-csrf-token", &csrf), ("sec-fetch-site", "same-origin")],
            None,
        ),
        (
            vec![("x-csrf-token", &csrf), ("sec-fetch-site", "none")],
            None,
        ),
        (
            vec![("x-csrf-token", &csrf), ("sec-fetch-site", "cross-site")],
            Some(RejectionKind::CrossSiteRequest),
        ),
        (
            vec![("x-csrf-token", &csrf), ("sec-fetch-site", "same-site")],
            Some(RejectionKind::CrossSiteRequest),
        ),
        (
            vec![
                ("x-csrf-token", &csrf),
                ("host", "app.test"),
                ("origin", "http://app.test"),
            ],
            None,
        ),
        (
            vec![
                ("x-csrf-token", &csrf),
                ("host", "app.test"),
                ("origin", "http://evil.test"),
            ],
            Some(RejectionKind::CrossSiteRequest),
        ),
        (
            vec![
                ("x-csrf-token", &csrf),
                ("host", "app.test"),
                ("origin", "null"),
            ],
            Some(RejectionKind::CrossSiteRequest),
        ),
        (
            vec![
                ("x-csrf-token", &csrf),
                ("host", "app.test"),
                ("origin", "http://app.test.evil.test"),
            ],
            Some(RejectionKind::CrossSiteRequest),
        ),
    ];
    for (i, (extra, want)) in cases.into_iter().enumerate() {
        let mut h = vec![("cookie", c.as_str())];
        h.extend(extra);
        let o = request(&f.auth, "POST", &h).await;
        assert_eq!(kind(&o), want, "case {i}");
        if want.is_some() {
            assert!(
                matches!(o.state, AuthState::Failed(_)),
                "case {i}: even optional auth fails"
            );
            assert!(
                SessionHandle::new(o.clone()).logout().await.is_err(),
                "case {i}: logout refused"
            );
        }
    }
    assert!(
        whoami(&f.auth, &c).await.is_ok(),
        "refused requests leave the session alone"
    );
    // Safe methods never need a token, even cross-site.
    let o = request(
        &f.auth,
        "GET",
        &[("cookie", &c), ("sec-fetch-site", "cross-site")],
    )
    .await;
    assert!(o.state.identity().is_some());
}

#[tokio::test]
async fn cap_evicts_the_oldest_session() {
    let f = fixture_with(
        SessionConfig::default().max_sessions_per_user(Some(2), SessionLimitPolicy::EvictOldest),
    );
    let (s1, _) = login(&f.auth, "alice", &[], &[]).await;
    f.clock.advance(Duration::from_secs(1));
    let (s2, _) = login(&f.auth, "alice", &[], &[]).await;
    f.clock.advance(Duration::from_secs(1));
    let (s3, _) = login(&f.auth, "alice", &[], &[]).await;
    assert!(whoami(&f.auth, &s1).await.is_err(), "oldest evicted");
    assert!(whoami(&f.auth, &s2).await.is_ok());
    assert!(whoami(&f.auth, &s3).await.is_ok());
}

#[tokio::test]
async fn cap_can_refuse_instead() {
    let f = fixture_with(
        SessionConfig::default().max_sessions_per_user(Some(1), SessionLimitPolicy::Refuse),
    );
    let (s1, _) = login(&f.auth, "alice", &[], &[]).await;
    let o = request(&f.auth, "POST", &[]).await;
    let err = SessionHandle::new(o.clone())
        .login("alice", vec![])
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.kind()),
        (403, RejectionKind::TooManySessions)
    );
    assert!(whoami(&f.auth, &s1).await.is_ok());
    let admin = SessionHandle::new(request(&f.auth, "GET", &[]).await);
    assert_eq!(admin.admin_list("alice").await.unwrap().len(), 1);
}

#[tokio::test]
async fn listing_marks_current_and_hides_ids() {
    let f = fixture();
    let (c1, _) = login(&f.auth, "alice", &[], &[("user-agent", "agent-1")]).await;
    let (c2, _) = login(&f.auth, "alice", &[], &[("user-agent", "agent-2")]).await;
    let o = request(&f.auth, "GET", &[("cookie", &c2)]).await;
    let list = SessionHandle::new(o.clone()).list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);
    let current = list.iter().find(|s| s.current).unwrap();
    assert_eq!(current.user_agent.as_deref(), Some("agent-2"));
    for s in &list {
        assert!(!c1.contains(&s.id_hint) && !c2.contains(&s.id_hint));
        assert_eq!(s.id_hint.len(), 12);
    }
}

#[tokio::test]
async fn store_down_fails_closed() {
    let f = fixture();
    let (c, _) = login(&f.auth, "alice", &[], &[]).await;
    f.store.down.store(true, Ordering::SeqCst);
    let o = request(&f.auth, "GET", &[("cookie", &c)]).await;
    let r = o.state.require(&Requirement::Authenticated).unwrap_err();
    assert_eq!(r.status(), 503);
    assert!(
        o.state.optional().is_err(),
        "optional auth fails closed too"
    );
    let o = request(&f.auth, "POST", &[]).await;
    assert_eq!(
        SessionHandle::new(o.clone())
            .login("alice", vec![])
            .await
            .unwrap_err()
            .status(),
        503
    );
    f.store.down.store(false, Ordering::SeqCst);
    assert!(
        whoami(&f.auth, &c).await.is_ok(),
        "recovers when the store returns"
    );
}

#[tokio::test]
async fn signed_cookies_reject_forgeries_before_the_store() {
    let f = fixture_with(SessionConfig::default().signing_key(&[5u8; 32]));
    let (c, _) = login(&f.auth, "alice", &[], &[]).await;
    assert!(whoami(&f.auth, &c).await.is_ok());
    let loads = f.store.loads.load(Ordering::SeqCst);
    let forged = format!("__Host-id={}.{}", "A".repeat(43), "B".repeat(43));
    assert!(whoami(&f.auth, &forged).await.is_err());
    let unsigned = c.split('.').next().unwrap().to_owned();
    assert!(whoami(&f.auth, &unsigned).await.is_err());
    assert_eq!(
        f.store.loads.load(Ordering::SeqCst),
        loads,
        "no store lookup for forged values"
    );
}

#[tokio::test]
async fn a_junk_duplicate_cookie_does_not_log_the_user_out() {
    let f = fixture();
    let (c, _) = login(&f.auth, "alice", &[], &[]).await;
    let junk = format!("__Host-id={}; {c}", "Z".repeat(43));
    assert_eq!(whoami(&f.auth, &junk).await, Ok("alice".into()));
    let garbage = format!("__Host-id=\u{1}; x=\"; {c}; y");
    assert_eq!(whoami(&f.auth, &garbage).await, Ok("alice".into()));
}

#[tokio::test]
async fn custom_cookie_name() {
    let cookie = CookiePolicy::default().name("sid").insecure_no_secure();
    let f = fixture_with(SessionConfig::default().cookie(cookie));
    let (c, _) = login(&f.auth, "alice", &[], &[]).await;
    assert!(c.starts_with("sid="));
    assert!(whoami(&f.auth, &c).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logins_keep_the_cap_and_index() {
    let f = fixture_with(
        SessionConfig::default().max_sessions_per_user(Some(3), SessionLimitPolicy::EvictOldest),
    );
    // The clock stands still: all 40 logins are of one millisecond, so a
    // login whose own session is past the cap in the one order every
    // instance agrees on is refused (403), never handed a dead cookie.
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (auth, refused) = (f.auth.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            let o = request(&auth, "POST", &[]).await;
            match SessionHandle::new(o.clone()).login("alice", vec![]).await {
                Ok(_) => {}
                Err(r) => {
                    assert_eq!(r.kind(), RejectionKind::TooManySessions);
                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
            }
            let c = o
                .take_response_headers()
                .find(|(n, _)| *n == "set-cookie")
                .map(|(_, v)| cookie_pair(&v))
                .unwrap();
            let csrf = SessionHandle::new(request(&auth, "GET", &[("cookie", &c)]).await)
                .csrf_token()
                .unwrap_or_default();
            if i % 3 == 0 {
                let o = request(&auth, "POST", &[("cookie", &c), ("x-csrf-token", &csrf)]).await;
                let _ = SessionHandle::new(o.clone()).logout().await;
            }
            let o = request(&auth, "GET", &[("cookie", &c)]).await;
            let _ = SessionHandle::new(o.clone()).list().await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let admin = SessionHandle::new(request(&f.auth, "GET", &[]).await);
    let listed = admin.admin_list("alice").await.unwrap();
    assert!(listed.len() <= 3, "cap holds: {}", listed.len());
    let records = f.store.inner.list_user("alice").await.unwrap();
    assert_eq!(records.len(), listed.len(), "index matches records");
    assert!(
        refused.load(std::sync::atomic::Ordering::Relaxed) < 40,
        "some logins won"
    );
}

#[test]
fn bad_session_config_is_refused() {
    assert!(Authenticator::builder()
        .sessions(SessionConfig::default().idle_timeout(std::time::Duration::from_secs(0)))
        .build()
        .is_err());
    assert!(Authenticator::builder()
        .sessions(
            SessionConfig::default().max_sessions_per_user(Some(0), SessionLimitPolicy::Refuse)
        )
        .build()
        .is_err());
    assert!(Authenticator::builder().without_sessions().build().is_err());
    // Timeouts are whole seconds: a fraction is refused, not rounded.
    let err = Authenticator::builder()
        .sessions(SessionConfig::default().idle_timeout(std::time::Duration::from_millis(1_500)))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("idle_timeout"), "{err}");
}

#[tokio::test]
async fn a_login_that_loses_the_cap_race_is_refused_not_handed_a_dead_session() {
    let f = fixture_with(
        SessionConfig::default()
            .idle_timeout(std::time::Duration::from_secs(600))
            .absolute_timeout(std::time::Duration::from_secs(3_600))
            .max_sessions_per_user(Some(1), portcullis::SessionLimitPolicy::EvictOldest),
    );
    // Alice's session from an instance whose clock runs a minute ahead:
    // newer than any login made here for that minute.
    let theirs = portcullis::store::SessionKey::from_bytes([9; 32]);
    let mut newer = portcullis::store::SessionRecord::new("alice", 1_000_060, 600, 3_600);
    newer.created_at_ms = 1_000_060_000;
    f.store.create(&theirs, &newer).await.unwrap();
    let o = request(&f.auth, "POST", &[]).await;
    let r = SessionHandle::new(o.clone()).login("alice", vec![]).await;
    assert_eq!(
        r.err().map(|r| r.kind()),
        Some(RejectionKind::TooManySessions),
        "the cap ended this login's own session: say so, do not hand out a dead cookie"
    );
    assert!(
        f.store.load(&theirs).await.unwrap().is_some(),
        "the newer session stays"
    );
    let sessions = f.store.list_user("alice").await.unwrap();
    assert_eq!(sessions.len(), 1, "exactly the cap remains");
}
