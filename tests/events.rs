//! Audit events through the public API: each kind is emitted exactly once
//! on its path, and no event carries a secret the test created.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use portcullis::clock::ManualClock;
use portcullis::jwt::{KeyRegistry, TokenConfig};
use portcullis::store::{SessionKey, SessionRecord, SessionStore};
use portcullis::{
    Authenticator, Event, EventKind, EventSink, LoginThrottle, RequestView, Scheme, SessionHandle,
    StoreError, TokenHandle,
};

const NOW: u64 = 1_700_000_000;
const PASSWORD: &str = "hunter2-the-password";

#[derive(Default)]
struct Collect(Mutex<Vec<Event>>);

impl EventSink for Collect {
    fn record(&self, event: &Event) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Collect {
    /// The events since the last call.
    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
    fn kinds(&self) -> Vec<EventKind> {
        self.take().into_iter().map(|e| e.kind).collect()
    }
}

struct World {
    auth: Authenticator,
    sink: Arc<Collect>,
    clock: ManualClock,
    /// Every `Debug` rendering of every event seen.
    seen: Mutex<String>,
}

fn world() -> World {
    let clock = ManualClock::new(NOW);
    let sink = Arc::new(Collect::default());
    let keys = KeyRegistry::hs256("k1", &[9u8; 32]).unwrap();
    let auth = Authenticator::builder()
        .clock(clock.clone())
        .tokens(TokenConfig::new(keys))
        .login_throttle(LoginThrottle::default().max_failures(2))
        .events(sink.clone())
        .build()
        .unwrap();
    World {
        auth,
        sink,
        clock,
        seen: Mutex::default(),
    }
}

fn view<'a>(method: &'a str, headers: &[(&'a str, &'a [u8])]) -> RequestView<'a> {
    let mut v = RequestView::new(method);
    v.set_peer_ip("198.51.100.7".parse().unwrap());
    v.add_header("user-agent", b"events-test");
    v.add_header("x-request-id", b"req-42");
    for (n, val) in headers {
        v.add_header(n, val);
    }
    v
}

impl World {
    async fn session(&self, method: &str, headers: &[(&str, &[u8])]) -> SessionHandle {
        SessionHandle::new(self.auth.authenticate(&view(method, headers)).await)
    }
    async fn tokens(&self, headers: &[(&str, &[u8])]) -> TokenHandle {
        TokenHandle::new(self.auth.authenticate(&view("POST", headers)).await)
    }
    /// The kinds emitted since the last call (recording what they said).
    fn kinds(&self) -> Vec<EventKind> {
        let events = self.sink.take();
        let mut seen = self.seen.lock().unwrap();
        for e in &events {
            seen.push_str(&format!("{e:?}\n"));
        }
        events.into_iter().map(|e| e.kind).collect()
    }
}

fn cookie_of(outcome: &portcullis::AuthOutcome) -> String {
    let set = outcome
        .take_response_headers()
        .find(|(n, _)| *n == "set-cookie")
        .expect("set-cookie")
        .1;
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn every_kind_once_on_its_path_and_no_secret_anywhere() {
    let w = world();
    let mut secrets = vec![PASSWORD.to_owned()];

    // login.failed, then login.throttled (max_failures = 2).
    for _ in 0..2 {
        let s = w.session("POST", &[]).await;
        let attempt = s.login_attempt("alice").await.unwrap();
        // The application compared PASSWORD and found it wrong.
        assert_eq!(attempt.failed().await.status(), 401);
    }
    assert_eq!(w.kinds(), [EventKind::LoginFailed, EventKind::LoginFailed]);
    let refused = w
        .session("POST", &[])
        .await
        .login_attempt("alice")
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 429);
    assert_eq!(w.kinds(), [EventKind::LoginThrottled]);

    // login.succeeded (cookie session).
    let s = w.session("POST", &[]).await;
    let info = s.login("bob", vec!["user".into()]).await.unwrap();
    let cookie = cookie_of(s.outcome());
    secrets.push(cookie.split('=').nth(1).unwrap().to_owned());
    secrets.push(info.csrf_token.clone());
    assert_eq!(w.kinds(), [EventKind::LoginSucceeded]);

    // A live session is no event; a missing CSRF token is csrf.refused.
    let s = w.session("GET", &[("cookie", cookie.as_bytes())]).await;
    assert!(s.identity().is_some());
    let _ = w.session("POST", &[("cookie", cookie.as_bytes())]).await;
    assert_eq!(w.kinds(), [EventKind::CsrfRefused]);

    // logout, then the dead cookie is session.expired.
    let csrf = info.csrf_token.as_bytes();
    let s = w
        .session(
            "POST",
            &[("cookie", cookie.as_bytes()), ("x-csrf-token", csrf)],
        )
        .await;
    s.logout().await.unwrap();
    assert_eq!(w.kinds(), [EventKind::Logout]);
    let _ = w.session("GET", &[("cookie", cookie.as_bytes())]).await;
    assert_eq!(w.kinds(), [EventKind::SessionExpired]);

    // Tokens: login.succeeded, refresh.rotated, refresh.reuse_detected.
    let t = w.tokens(&[]).await;
    let pair = t.issue("carol", &["user".into()]).await.unwrap();
    secrets.push(pair.access_token.clone());
    secrets.push(pair.refresh_token.clone());
    assert_eq!(w.kinds(), [EventKind::LoginSucceeded]);
    let next = w
        .tokens(&[])
        .await
        .refresh(&pair.refresh_token)
        .await
        .unwrap();
    secrets.push(next.access_token.clone());
    secrets.push(next.refresh_token.clone());
    assert_eq!(w.kinds(), [EventKind::RefreshRotated]);
    w.clock.advance(Duration::from_secs(60)); // past the retry grace
    assert!(w
        .tokens(&[])
        .await
        .refresh(&pair.refresh_token)
        .await
        .is_err());
    assert_eq!(w.kinds(), [EventKind::RefreshReuseDetected]);

    // token.refused (the family ended with the reuse).
    let bearer = format!("Bearer {}", next.access_token);
    let _ = w.tokens(&[("authorization", bearer.as_bytes())]).await;
    assert_eq!(w.kinds(), [EventKind::TokenRefused]);

    // Token logout, log out everywhere, a role change.
    let fresh = w.tokens(&[]).await.issue("carol", &[]).await.unwrap();
    secrets.push(fresh.access_token.clone());
    secrets.push(fresh.refresh_token.clone());
    let bearer = format!("Bearer {}", fresh.access_token);
    w.kinds();
    w.tokens(&[("authorization", bearer.as_bytes())])
        .await
        .logout()
        .await
        .unwrap();
    assert_eq!(w.kinds(), [EventKind::Logout]);
    w.auth.logout_everywhere("bob").await.unwrap();
    assert_eq!(w.kinds(), [EventKind::LogoutEverywhere]);
    w.auth
        .set_user_roles("bob", &["admin".into()])
        .await
        .unwrap();
    assert_eq!(w.kinds(), [EventKind::RolesChanged]);

    let seen = w.seen.lock().unwrap().clone();
    assert!(
        seen.contains("req-42") && seen.contains("198.51.100.7"),
        "context recorded"
    );
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(
            !seen.contains(secret.as_str()),
            "an event carried a secret: {secret}"
        );
    }
}

#[tokio::test]
async fn events_carry_who_where_and_which_credential() {
    let w = world();
    let s = w.session("POST", &[]).await;
    s.login("bob", vec![]).await.unwrap();
    let e = &w.sink.take()[0];
    assert_eq!(e.kind.name(), "login.succeeded");
    assert_eq!(e.user.as_deref(), Some("bob"));
    assert_eq!(e.ip, Some("198.51.100.7".parse().unwrap()));
    assert_eq!(e.user_agent.as_deref(), Some("events-test"));
    assert_eq!(e.request_id.as_deref(), Some("req-42"));
    assert_eq!(e.scheme, Some(Scheme::Session));
    assert_eq!(e.at_ms, NOW * 1000);
    let hint = e.id_hint.clone().expect("id_hint");
    assert!(
        hint.len() >= 8 && hint.len() < 43,
        "a hint, not an ID: {hint}"
    );
}

#[tokio::test]
async fn refusals_without_a_credential_are_rate_limited_with_a_count() {
    let w = world();
    for i in 0..200 {
        let bearer = format!("Bearer not-a-token-{i}");
        let _ = w.tokens(&[("authorization", bearer.as_bytes())]).await;
    }
    let events = w.sink.take();
    assert_eq!(events.len(), 1, "one line per reason per second");
    w.clock.advance(Duration::from_secs(1));
    let _ = w.tokens(&[("authorization", b"Bearer again")]).await;
    let events = w.sink.take();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].suppressed, 199, "the dropped ones are counted");
    // A login failure is never rate-limited (it names a user).
    for _ in 0..2 {
        let attempt = w
            .session("POST", &[])
            .await
            .login_attempt("zed")
            .await
            .unwrap();
        let _ = attempt.failed().await;
    }
    assert_eq!(w.kinds(), [EventKind::LoginFailed, EventKind::LoginFailed]);
}

#[tokio::test]
async fn a_bad_request_id_is_not_recorded() {
    let w = world();
    let mut v = view("POST", &[]);
    v.add_header("x-request-id", b"second");
    SessionHandle::new(w.auth.authenticate(&v).await)
        .login("bob", vec![])
        .await
        .unwrap();
    assert_eq!(w.sink.take()[0].request_id, None, "two X-Request-Id: none");
    let long = "a".repeat(65);
    let mut v = RequestView::new("POST");
    v.add_header("x-request-id", long.as_bytes());
    SessionHandle::new(w.auth.authenticate(&v).await)
        .login("bob", vec![])
        .await
        .unwrap();
    assert_eq!(w.sink.take()[0].request_id, None, "over 64 characters");
    let mut v = RequestView::new("POST");
    v.add_header("x-request-id", b"has space\nand=newline");
    SessionHandle::new(w.auth.authenticate(&v).await)
        .login("bob", vec![])
        .await
        .unwrap();
    assert_eq!(w.sink.take()[0].request_id, None);
}

/// A store that is down.
#[derive(Debug)]
struct Down;

#[async_trait]
impl SessionStore for Down {
    async fn create(&self, _: &SessionKey, _: &SessionRecord) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn load(&self, _: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn update(&self, _: &SessionKey, _: &SessionRecord) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn delete(&self, _: &SessionKey) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn delete_user(&self, _: &str) -> Result<usize, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn list_user(&self, _: &str) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
}

#[tokio::test]
async fn a_store_outage_is_one_event() {
    let sink = Arc::new(Collect::default());
    let auth = Authenticator::builder()
        .store(Arc::new(Down))
        .events(sink.clone())
        .build()
        .unwrap();
    let cookie = format!("__Host-id={}", "A".repeat(43));
    let mut v = RequestView::new("GET");
    v.add_header("cookie", cookie.as_bytes());
    let outcome = auth.authenticate(&v).await;
    assert_eq!(outcome.state.optional().unwrap_err().status(), 503);
    assert_eq!(sink.kinds(), [EventKind::StoreUnavailable]);
}

#[tokio::test]
async fn a_huge_username_is_cut_in_events() {
    let w = world();
    let huge = "é".repeat(5_000);
    let attempt = w
        .session("POST", &[])
        .await
        .login_attempt(&huge)
        .await
        .unwrap();
    let _ = attempt.failed().await;
    let e = &w.sink.take()[0];
    let user = e.user.as_deref().unwrap();
    assert!(
        user.len() <= 256 && huge.starts_with(user),
        "{}",
        user.len()
    );
}
