//! Login throttling through the public API: a handle asks for an attempt
//! before the password check and reports how it went.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use portcullis::clock::ManualClock;
use portcullis::store::{AttemptStore, MemoryStore, SessionKey, SessionRecord, SessionStore};
use portcullis::{
    Authenticator, LoginThrottle, Rejection, RejectionKind, RequestView, SessionHandle, StoreError,
    TokenHandle,
};

const NOW: u64 = 1_700_000_000;

fn auth_with(clock: &ManualClock, throttle: LoginThrottle) -> Authenticator {
    Authenticator::builder()
        .clock(clock.clone())
        .trusted_proxies("10.0.0.0/8")
        .login_throttle(throttle)
        .build()
        .expect("authenticator")
}

async fn session_from(auth: &Authenticator, ip: &str) -> SessionHandle {
    let mut view = RequestView::new("POST");
    view.set_peer_ip(ip.parse().expect("ip"));
    SessionHandle::new(auth.authenticate(&view).await)
}

/// One attempt by `user` from `ip` whose password check fails; the answer.
async fn fail(auth: &Authenticator, user: &str, ip: &str) -> Rejection {
    match session_from(auth, ip).await.login_attempt(user).await {
        Ok(attempt) => attempt.failed().await,
        Err(refused) => refused,
    }
}

/// Whether `user` from `ip` may try now (`Ok`) or is refused (429's
/// `Retry-After`).
async fn may_try(auth: &Authenticator, user: &str, ip: &str) -> Result<(), u32> {
    match session_from(auth, ip).await.login_attempt(user).await {
        Ok(_attempt) => Ok(()),
        Err(r) => {
            assert_eq!(r.kind(), RejectionKind::TooManyAttempts, "{r}");
            assert_eq!(r.status(), 429);
            Err(r.retry_after().expect("Retry-After"))
        }
    }
}

#[tokio::test]
async fn a_pair_is_throttled_after_the_limit_with_doubling_up_to_the_cap() {
    let clock = ManualClock::new(NOW);
    let auth = auth_with(&clock, LoginThrottle::default());
    for _ in 0..4 {
        assert_eq!(
            fail(&auth, "alice", "198.51.100.7").await.kind(),
            RejectionKind::InvalidCredentials
        );
    }
    assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Ok(()));
    assert_eq!(fail(&auth, "alice", "198.51.100.7").await.status(), 401);
    // Throttled now, before any password check: even the right one.
    assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Err(60));
    let refused = fail(&auth, "alice", "198.51.100.7").await;
    assert_eq!(refused.status(), 429);
    let headers: Vec<_> = refused.headers().collect();
    assert!(
        headers
            .iter()
            .any(|(n, v)| *n == "retry-after" && v == "60"),
        "{headers:?}"
    );
    clock.advance(Duration::from_secs(59));
    assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Err(1));
    // Each further failure after a period doubles the next one, up to 1 h.
    let mut period = 60;
    for _ in 0..8 {
        clock.advance(Duration::from_secs(period));
        assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Ok(()));
        assert_eq!(fail(&auth, "alice", "198.51.100.7").await.status(), 401);
        period = (period * 2).min(3_600);
        assert_eq!(
            may_try(&auth, "alice", "198.51.100.7").await,
            Err(u32::try_from(period).unwrap())
        );
    }
    assert_eq!(period, 3_600, "the cap was reached");
}

#[tokio::test]
async fn refused_attempts_are_not_counted_and_a_success_clears_the_pair() {
    let clock = ManualClock::new(NOW);
    let auth = auth_with(&clock, LoginThrottle::default());
    for _ in 0..4 {
        fail(&auth, "alice", "198.51.100.7").await;
    }
    let attempt = session_from(&auth, "198.51.100.7")
        .await
        .login_attempt("alice")
        .await
        .unwrap();
    attempt.succeeded().await.unwrap();
    // The count started over: four more failures are allowed.
    for _ in 0..4 {
        assert_eq!(fail(&auth, "alice", "198.51.100.7").await.status(), 401);
    }
    assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Ok(()));
    // Failures older than the 15-minute window no longer count.
    clock.advance(Duration::from_secs(15 * 60));
    for _ in 0..4 {
        assert_eq!(fail(&auth, "alice", "198.51.100.7").await.status(), 401);
    }
    assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Ok(()));
}

#[tokio::test]
async fn a_locked_pair_locks_neither_the_user_elsewhere_nor_another_user() {
    let clock = ManualClock::new(NOW);
    let auth = auth_with(&clock, LoginThrottle::default());
    for _ in 0..5 {
        fail(&auth, "alice", "198.51.100.7").await;
    }
    assert!(may_try(&auth, "alice", "198.51.100.7").await.is_err());
    // The real alice, from her own client, is not locked out.
    assert_eq!(may_try(&auth, "alice", "203.0.113.9").await, Ok(()));
    // Nor is bob from the attacker's client (under the per-client limit).
    assert_eq!(may_try(&auth, "bob", "198.51.100.7").await, Ok(()));
}

#[tokio::test]
async fn a_username_guessed_from_many_clients_is_throttled_for_everyone() {
    let clock = ManualClock::new(NOW);
    let auth = auth_with(&clock, LoginThrottle::default().max_failures_per_user(10));
    for i in 0..10 {
        fail(&auth, "alice", &format!("198.51.100.{i}")).await;
    }
    assert_eq!(may_try(&auth, "alice", "203.0.113.9").await, Err(60));
    assert_eq!(may_try(&auth, "bob", "203.0.113.9").await, Ok(()));
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        may_try(&auth, "alice", "203.0.113.9").await,
        Ok(()),
        "no doubling"
    );
}

#[tokio::test]
async fn spraying_usernames_from_one_client_hits_the_client_limit_which_a_success_keeps() {
    let clock = ManualClock::new(NOW);
    let auth = auth_with(&clock, LoginThrottle::default().max_failures_per_client(20));
    for i in 0..19 {
        fail(&auth, &format!("user{i}"), "198.51.100.7").await;
    }
    let attempt = session_from(&auth, "198.51.100.7")
        .await
        .login_attempt("alice")
        .await
        .unwrap();
    attempt.succeeded().await.unwrap();
    fail(&auth, "user19", "198.51.100.7").await;
    assert_eq!(
        may_try(&auth, "someone-else", "198.51.100.7").await,
        Err(60)
    );
    assert_eq!(may_try(&auth, "someone-else", "203.0.113.9").await, Ok(()));
}

#[tokio::test]
async fn an_ipv6_client_is_counted_per_64_and_a_mapped_ipv4_as_ipv4() {
    let clock = ManualClock::new(NOW);
    let auth = auth_with(&clock, LoginThrottle::default());
    for i in 0..5 {
        fail(&auth, "alice", &format!("2001:db8:1:2::{i:x}")).await;
    }
    assert!(may_try(&auth, "alice", "2001:db8:1:2:ffff::1")
        .await
        .is_err());
    assert_eq!(may_try(&auth, "alice", "2001:db8:1:3::1").await, Ok(()));
    for _ in 0..5 {
        fail(&auth, "bob", "::ffff:198.51.100.7").await;
    }
    assert!(may_try(&auth, "bob", "198.51.100.7").await.is_err());
}

#[tokio::test]
async fn a_spoofed_left_most_forwarded_for_does_not_change_the_counted_client() {
    let clock = ManualClock::new(NOW);
    let auth = auth_with(&clock, LoginThrottle::default());
    for i in 0..5 {
        let mut view = RequestView::new("POST");
        view.set_peer_ip("10.0.0.1".parse().unwrap());
        let spoofed = format!("192.0.2.{i}, 198.51.100.7");
        view.add_header("x-forwarded-for", spoofed.as_bytes());
        let session = SessionHandle::new(auth.authenticate(&view).await);
        let attempt = session.login_attempt("alice").await.unwrap();
        assert_eq!(attempt.failed().await.status(), 401);
    }
    // Counted as 198.51.100.7 (the right-most untrusted hop) every time.
    assert!(may_try(&auth, "alice", "198.51.100.7").await.is_err());
}

#[tokio::test]
async fn the_doubling_is_forgotten_after_a_quiet_day() {
    let clock = ManualClock::new(NOW);
    let auth = auth_with(&clock, LoginThrottle::default());
    for _ in 0..5 {
        fail(&auth, "alice", "198.51.100.7").await;
    }
    clock.advance(Duration::from_secs(60));
    fail(&auth, "alice", "198.51.100.7").await;
    assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Err(120));
    clock.advance(Duration::from_secs(24 * 60 * 60));
    // One failure after a quiet day is one failure, not a doubled lock.
    fail(&auth, "alice", "198.51.100.7").await;
    assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Ok(()));
}

#[tokio::test]
async fn token_logins_share_the_counts_and_answer_in_the_bearer_scheme() {
    let clock = ManualClock::new(NOW);
    let keys = portcullis::jwt::KeyRegistry::hs256("k", &[1u8; 32]).unwrap();
    let auth = Authenticator::builder()
        .clock(clock.clone())
        .tokens(portcullis::jwt::TokenConfig::new(keys))
        .build()
        .unwrap();
    for _ in 0..5 {
        fail(&auth, "alice", "198.51.100.7").await;
    }
    let mut view = RequestView::new("POST");
    view.set_peer_ip("198.51.100.7".parse().unwrap());
    let tokens = TokenHandle::new(auth.authenticate(&view).await);
    let refused = tokens.login_attempt("alice").await.unwrap_err();
    assert_eq!(
        (refused.status(), refused.scheme()),
        (429, portcullis::Scheme::Bearer)
    );
}

#[tokio::test]
async fn throttling_can_be_turned_off_explicitly() {
    let clock = ManualClock::new(NOW);
    let auth = auth_with(&clock, LoginThrottle::disabled());
    for _ in 0..20 {
        assert_eq!(fail(&auth, "alice", "198.51.100.7").await.status(), 401);
    }
    assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Ok(()));
}

#[test]
fn invalid_limits_are_refused_at_build() {
    for bad in [
        LoginThrottle::default().max_failures(0),
        LoginThrottle::default().lockout(Duration::from_millis(1_500)),
        LoginThrottle::default().lockout(Duration::from_secs(7_200)),
        LoginThrottle::default().window(Duration::ZERO),
    ] {
        assert!(Authenticator::builder()
            .login_throttle(bad)
            .build()
            .is_err());
    }
}

/// A `MemoryStore` that claims to be shared and offers `attempts` (or no
/// attempt store at all).
#[derive(Debug, Default)]
struct Wrapped {
    inner: MemoryStore,
    attempts: Option<Arc<FlakyAttempts>>,
}

#[async_trait]
impl SessionStore for Wrapped {
    async fn create(&self, k: &SessionKey, r: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create(k, r).await
    }
    async fn load(&self, k: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load(k).await
    }
    async fn update(&self, k: &SessionKey, r: &SessionRecord) -> Result<u64, StoreError> {
        self.inner.update(k, r).await
    }
    async fn delete(&self, k: &SessionKey) -> Result<bool, StoreError> {
        self.inner.delete(k).await
    }
    async fn delete_user(&self, u: &str) -> Result<usize, StoreError> {
        self.inner.delete_user(u).await
    }
    async fn list_user(&self, u: &str) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        self.inner.list_user(u).await
    }
    fn is_shared(&self) -> bool {
        true
    }
    fn revocation_list(
        &self,
        _retention: Duration,
    ) -> Option<Arc<dyn portcullis::jwt::RevocationList>> {
        Some(Arc::new(portcullis::jwt::MemoryRevocationList::default()))
    }
    fn attempt_store(&self) -> Option<Arc<dyn AttemptStore>> {
        self.attempts.clone().map(|a| a as Arc<dyn AttemptStore>)
    }
}

#[test]
fn a_shared_store_without_an_attempt_store_is_refused_unless_throttling_is_off() {
    let err = Authenticator::builder()
        .store(Arc::new(Wrapped::default()))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("login-attempt store"), "{err}");
    assert!(Authenticator::builder()
        .store(Arc::new(Wrapped::default()))
        .login_throttle(LoginThrottle::disabled())
        .build()
        .is_ok());
}

/// Counters that fail while `down` is set.
struct FlakyAttempts {
    down: AtomicBool,
    inner: Arc<dyn AttemptStore>,
}

impl std::fmt::Debug for FlakyAttempts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlakyAttempts")
    }
}

impl FlakyAttempts {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("down".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl AttemptStore for FlakyAttempts {
    async fn load(&self, keys: &[String]) -> Result<Vec<Option<(Vec<u8>, u64)>>, StoreError> {
        self.check()?;
        self.inner.load(keys).await
    }
    async fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.compare_and_set(key, expected, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.delete(key).await
    }
}

#[tokio::test]
async fn an_unreachable_counter_store_fails_closed() {
    let flaky = Arc::new(FlakyAttempts {
        down: AtomicBool::new(false),
        inner: MemoryStore::new().attempt_store().expect("memory attempts"),
    });
    let store = Wrapped {
        inner: MemoryStore::new(),
        attempts: Some(flaky.clone()),
    };
    let auth = Authenticator::builder()
        .store(Arc::new(store))
        .build()
        .unwrap();
    flaky.down.store(true, Ordering::SeqCst);
    let refused = session_from(&auth, "198.51.100.7")
        .await
        .login_attempt("alice")
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 503);
    flaky.down.store(false, Ordering::SeqCst);
    let attempt = session_from(&auth, "198.51.100.7")
        .await
        .login_attempt("alice")
        .await
        .unwrap();
    flaky.down.store(true, Ordering::SeqCst);
    assert_eq!(
        attempt.failed().await.status(),
        503,
        "an uncounted failure is 503"
    );
    flaky.down.store(false, Ordering::SeqCst);
    // Back up: nothing was counted by the failed write, and logins work.
    assert_eq!(may_try(&auth, "alice", "198.51.100.7").await, Ok(()));
}
