//! One test per finding of the independent security review (issue #12),
//! each named after its finding and written to fail on the code before the
//! fix. Findings visible over HTTP are also in the contract and attack
//! suites (every adapter) and in the e2e tests (every demo).

use std::sync::Arc;
use std::time::Duration;

use portcullis::__private::encode_token;
use portcullis::__private::SessionId;
use portcullis::clock::{Clock, ManualClock};
use portcullis::jwt::{JwtError, KeyRegistry};
use portcullis::store::{MemoryStore, SessionRecord, SessionStore};
use portcullis::RequestView;
use portcullis::Requirement;
use portcullis::SessionConfig;
use portcullis::SessionHandle;
use portcullis::{AuthOutcome, Authenticator, RejectionKind};

const T0: u64 = 1_700_000_000;

fn clock() -> (ManualClock, Arc<dyn Clock>) {
    let c = ManualClock::new(T0);
    let shared: Arc<dyn Clock> = Arc::new(c.clone());
    (c, shared)
}

/// `name=value` of a `Set-Cookie`.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

async fn login(auth: &Authenticator, user: &str) -> (String, String) {
    let anon = auth.authenticate(&RequestView::new("POST")).await;
    let info = SessionHandle::new(anon.clone())
        .login(user, vec!["user".into()])
        .await
        .unwrap_or_else(|e| panic!("login: {e:?}"));
    let sc = portcullis::__private::set_cookie(&anon).unwrap_or_default();
    (pair(&sc), info.csrf_token)
}

async fn with_cookie(auth: &Authenticator, method: &str, cookie: &str) -> Arc<AuthOutcome> {
    let mut view = RequestView::new(method);
    view.add_header("cookie", cookie.as_bytes());
    auth.authenticate(&view).await
}

async fn user_of(auth: &Authenticator, cookie: &str) -> Option<String> {
    let o = with_cookie(auth, "GET", cookie).await;
    o.state
        .require(&Requirement::Authenticated)
        .ok()
        .map(|id| id.subject().to_owned())
}

// ----- H1 --------------------------------------------------------------------

#[tokio::test]
async fn h1_session_cookie_found_after_many_cookie_lines() {
    let auth = Authenticator::builder().build().unwrap();
    let (cookie, _) = login(&auth, "alice").await;
    for before in [1usize, 8, 9, 64] {
        let crumbs: Vec<String> = (0..before).map(|i| format!("c{i}=v{i}")).collect();
        let mut view = RequestView::new("GET");
        for c in &crumbs {
            view.add_header("cookie", c.as_bytes());
        }
        view.add_header("cookie", cookie.as_bytes());
        let o = auth.authenticate(&view).await;
        assert!(
            o.state.require(&Requirement::Authenticated).is_ok(),
            "after {before} crumbled cookie lines"
        );
    }
    // The fixation defence sees a cookie past line 8 too: logging in with it
    // ends that session.
    let mut crumbs: Vec<String> = (0..20).map(|i| format!("c{i}=v{i}")).collect();
    crumbs.push(cookie.clone());
    let mut view = RequestView::new("POST");
    for c in &crumbs {
        view.add_header("cookie", c.as_bytes());
    }
    let o = auth.authenticate(&view).await;
    SessionHandle::new(o.clone())
        .login("alice", vec![])
        .await
        .unwrap();
    assert_eq!(user_of(&auth, &cookie).await, None);
}

#[tokio::test]
async fn h1_two_live_sessions_of_our_name_choose_nobody() {
    let auth = Authenticator::builder().build().unwrap();
    let (alice, _) = login(&auth, "alice").await;
    let (mallory, _) = login(&auth, "mallory").await;
    for header in [format!("{mallory}; {alice}"), format!("{alice}; {mallory}")] {
        let o = with_cookie(&auth, "GET", &header).await;
        let err = o.state.require(&Requirement::Authenticated).unwrap_err();
        assert_eq!(err.status(), 401);
        assert!(portcullis::__private::session(&o).is_none());
    }
    // Each alone still works.
    assert_eq!(user_of(&auth, &alice).await.as_deref(), Some("alice"));
    assert_eq!(user_of(&auth, &mallory).await.as_deref(), Some("mallory"));
}

// ----- L1 --------------------------------------------------------------------

#[tokio::test]
async fn l1_rotate_does_not_resurrect_a_session_ended_meanwhile() {
    let auth = Authenticator::builder().build().unwrap();
    let (cookie, _) = login(&auth, "alice").await;
    let o = with_cookie(&auth, "GET", &cookie).await;
    // A concurrent logout ends the session after this request found it.
    let sessions = portcullis::__private::sessions(&auth).unwrap();
    let key = portcullis::__private::session(&o).unwrap().key;
    sessions.logout(&key).await.unwrap();
    let err = SessionHandle::new(o.clone()).rotate().await.unwrap_err();
    assert_eq!(err.status(), 401);
    assert!(portcullis::__private::set_cookie(&o).is_none());
    assert!(sessions
        .store()
        .list_user("alice")
        .await
        .unwrap()
        .is_empty());

    // The same for a role change, and for log-out-everywhere.
    let (cookie, _) = login(&auth, "alice").await;
    let o = with_cookie(&auth, "GET", &cookie).await;
    sessions.logout_all("alice").await.unwrap();
    let current = portcullis::__private::session(&o).unwrap();
    assert_eq!(
        sessions
            .set_roles(current, vec!["admin".into()])
            .await
            .unwrap_err()
            .status(),
        401
    );
    assert!(sessions
        .store()
        .list_user("alice")
        .await
        .unwrap()
        .is_empty());
}

// ----- L2 --------------------------------------------------------------------

#[tokio::test]
async fn l2_debug_never_shows_csrf_secret_ip_user_agent_or_data() {
    let auth = Authenticator::builder().build().unwrap();
    let mut view = RequestView::new("POST");
    view.set_peer_ip("203.0.113.77".parse().unwrap());
    view.add_header("user-agent", b"SecretAgent/7.7");
    let anon = auth.authenticate(&view).await;
    let info = SessionHandle::new(anon.clone())
        .login("alice", vec!["user".into()])
        .await
        .unwrap();
    let sc = portcullis::__private::set_cookie(&anon).unwrap();
    let cookie = pair(&sc);
    let id = cookie.split('=').nth(1).unwrap().to_owned();

    let mut view = RequestView::new("GET");
    view.add_header("cookie", cookie.as_bytes());
    view.add_header("x-csrf-token", info.csrf_token.as_bytes());
    let o = auth.authenticate(&view).await;
    let mut s = portcullis::__private::session(&o).cloned().unwrap();
    Arc::make_mut(&mut s.record)
        .data
        .insert("note".into(), "private-note-value".into());
    portcullis::__private::queue_set_cookie(&o, sc.clone());
    let identity = o
        .state
        .require(&Requirement::Authenticated)
        .unwrap()
        .clone();
    let dbg = format!(
        "{view:?} {o:?} {s:?} {identity:?} {:?} {:?} {:?} {anon:?} {info:?}",
        s.record,
        portcullis::SessionHandle::new(o.clone()),
        portcullis::TokenHandle::new(o.clone()),
    );
    for secret in [
        info.csrf_token.as_str(),
        id.as_str(),
        "203.0.113.77",
        "SecretAgent",
        "private-note-value",
    ] {
        assert!(!dbg.contains(secret), "Debug shows {secret}: {dbg}");
    }
    assert!(dbg.contains("alice"));
}

// ----- L3 --------------------------------------------------------------------

#[tokio::test]
async fn l3_overlong_token_is_refused_even_when_correctly_signed() {
    let (_, shared) = clock();
    let svc = portcullis::Authenticator::builder()
        .without_sessions()
        .clock(shared.clone())
        .tokens(portcullis::jwt::TokenConfig::new(
            KeyRegistry::hs256("k1", &[7u8; 32]).unwrap(),
        ))
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap();
    let mut claims = svc.claims_for("alice", &[]).unwrap();
    claims.exp = claims.iat + 30 * 86_400;
    let token = svc.sign(&claims).unwrap();
    assert_eq!(
        svc.authenticate(token.as_bytes()).await.unwrap_err(),
        RejectionKind::InvalidToken
    );
    assert_eq!(
        svc.verify(token.as_bytes()).unwrap_err(),
        JwtError::LifetimeTooLong
    );
    // At the limit (access TTL + leeway) it is accepted.
    let mut claims = svc.claims_for("alice", &[]).unwrap();
    claims.exp = claims.iat + svc.access_ttl() + 30;
    assert!(svc
        .authenticate(svc.sign(&claims).unwrap().as_bytes())
        .await
        .is_ok());
    // A verifier of another issuer's tokens can lift the cap explicitly.
    let lenient = portcullis::Authenticator::builder()
        .without_sessions()
        .clock(shared)
        .tokens(
            portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", &[7u8; 32]).unwrap())
                .max_token_lifetime(None),
        )
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap();
    assert!(lenient.authenticate(token.as_bytes()).await.is_ok());
}

// ----- L6 --------------------------------------------------------------------

#[tokio::test]
async fn l6_active_session_lives_to_its_absolute_timeout_whatever_the_interval() {
    let (c, shared) = clock();
    let store = Arc::new(MemoryStore::with_clock(shared.clone()));
    // The default rolling interval (60 s) is far above the idle timeout.
    let auth = Authenticator::builder()
        .clock(shared)
        .store(store)
        .sessions(
            SessionConfig::default()
                .idle_timeout(std::time::Duration::from_secs(2))
                .absolute_timeout(std::time::Duration::from_secs(5)),
        )
        .build()
        .unwrap();
    let (cookie, _) = login(&auth, "alice").await;
    for t in 1..5 {
        c.advance(Duration::from_secs(1));
        assert_eq!(
            user_of(&auth, &cookie).await.as_deref(),
            Some("alice"),
            "used every second, still alive at {t} s"
        );
    }
    c.advance(Duration::from_secs(1));
    assert_eq!(user_of(&auth, &cookie).await, None, "dead at 5 s");
}

// ----- L8 --------------------------------------------------------------------

#[tokio::test]
async fn l8_record_made_outside_the_manager_has_no_predictable_csrf_token() {
    let (_, shared) = clock();
    let store = Arc::new(MemoryStore::with_clock(shared.clone()));
    let auth = Authenticator::builder()
        .clock(shared)
        .store(store.clone())
        .build()
        .unwrap();
    let id = SessionId::generate().unwrap();
    let record = SessionRecord::new("alice", T0, 1_800, 43_200);
    store.create(&id.key(), &record).await.unwrap();
    let cookie = format!("__Host-id={}", id.encode());
    let mut view = RequestView::new("POST");
    view.add_header("cookie", cookie.as_bytes());
    let zero = encode_token(&[0u8; 32]);
    view.add_header("x-csrf-token", zero.as_bytes());
    let o = auth.authenticate(&view).await;
    let err = o.state.require(&Requirement::Authenticated).unwrap_err();
    assert_eq!(err.kind(), RejectionKind::CsrfTokenInvalid);

    // And an all-zero secret is refused even if a store hands one back.
    let mut zeroed = SessionRecord::new("alice", T0, 1_800, 43_200);
    zeroed.secret = [0; 32];
    let id = SessionId::generate().unwrap();
    store.create(&id.key(), &zeroed).await.unwrap();
    let cookie = format!("__Host-id={}", id.encode());
    let mut view = RequestView::new("POST");
    view.add_header("cookie", cookie.as_bytes());
    view.add_header("x-csrf-token", zero.as_bytes());
    let o = auth.authenticate(&view).await;
    assert_eq!(
        o.state
            .require(&Requirement::Authenticated)
            .unwrap_err()
            .kind(),
        RejectionKind::CsrfTokenInvalid
    );
}

// ----- L10 -------------------------------------------------------------------

#[test]
fn l10_rsa_jwk_with_an_empty_modulus_is_an_error_not_a_panic() {
    for n in ["", "AA", "AAAA"] {
        let jwk =
            serde_json::json!({"kty": "RSA", "kid": "r", "alg": "RS256", "n": n, "e": "AQAB"});
        let err = KeyRegistry::builder().jwk(&jwk).build().unwrap_err();
        assert!(err.to_string().contains("modulus"), "{err}");
    }
}

// ----- L11 -------------------------------------------------------------------

#[tokio::test]
async fn l11_authorization_is_ignored_when_token_mode_is_off() {
    let auth = Authenticator::builder().build().unwrap();
    let (cookie, _) = login(&auth, "alice").await;
    for authorization in [
        &b"Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"[..],
        b"Bearer",
        b"Bearer a b c",
        b"Basic dXNlcjpwYXNz",
    ] {
        let mut view = RequestView::new("GET");
        view.add_header("cookie", cookie.as_bytes());
        view.add_header("authorization", authorization);
        view.add_header("authorization", authorization);
        let o = auth.authenticate(&view).await;
        assert_eq!(
            o.state
                .require(&Requirement::Authenticated)
                .map(|i| i.subject().to_owned())
                .ok()
                .as_deref(),
            Some("alice"),
            "{}",
            String::from_utf8_lossy(authorization)
        );
    }
}

// ----- M2 --------------------------------------------------------------------

#[tokio::test]
async fn m2_trusted_origin_passes_with_the_sec_fetch_site_browsers_send() {
    let auth = Authenticator::builder()
        .csrf(portcullis::CsrfConfig::default().trust_origin("https://app.example.com"))
        .build()
        .unwrap();
    let (cookie, csrf) = login(&auth, "alice").await;
    let post = |site: &'static [u8], origins: &'static [&'static [u8]]| {
        let mut v = RequestView::new("POST");
        v.add_header("host", b"api.example.com");
        v.add_header("sec-fetch-site", site);
        for o in origins {
            v.add_header("origin", o);
        }
        v
    };
    const APP: &[u8] = b"https://app.example.com";
    /// (Sec-Fetch-Site, Origin headers, passes)
    type Case = (&'static [u8], &'static [&'static [u8]], bool);
    const CASES: &[Case] = &[
        (b"same-site", &[APP], true),
        (b"cross-site", &[APP], true),
        (b"cross-site", &[b"https://APP.example.com"], true),
        (b"same-site", &[], false),
        (b"same-site", &[APP, APP], false),
        (b"cross-site", &[b"https://evil.example.com"], false),
        (b"same-site", &[b"http://app.example.com"], false),
        (b"same-site", &[b"https://app.example.com:444"], false),
        (b"cross-site", &[b"null"], false),
    ];
    for &(site, origins, ok) in CASES {
        let mut v = post(site, origins);
        v.add_header("cookie", cookie.as_bytes());
        v.add_header("x-csrf-token", csrf.as_bytes());
        let o = auth.authenticate(&v).await;
        assert_eq!(
            o.state.require(&Requirement::Authenticated).is_ok(),
            ok,
            "{} {:?}",
            String::from_utf8_lossy(site),
            origins
                .iter()
                .map(|o| String::from_utf8_lossy(o))
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn m2_forwarding_headers_count_only_from_a_trusted_proxy() {
    let trusting = Authenticator::builder()
        .trusted_proxies("10.0.0.0/8")
        .build()
        .unwrap();
    let plain = Authenticator::builder().build().unwrap();
    for (auth, peer, want_ip, want_cross) in [
        // The proxy says the client is 198.51.100.7 over HTTPS: the
        // https Origin is this origin.
        (&trusting, "10.1.1.1", "198.51.100.7", None),
        // From a peer that is no proxy both headers are ignored.
        (
            &trusting,
            "203.0.113.9",
            "203.0.113.9",
            Some(RejectionKind::CrossSiteRequest),
        ),
        (
            &plain,
            "10.1.1.1",
            "10.1.1.1",
            Some(RejectionKind::CrossSiteRequest),
        ),
    ] {
        let mut v = RequestView::new("POST");
        v.set_peer_ip(peer.parse().unwrap());
        v.set_https(false);
        v.add_header("host", b"app.example.com");
        v.add_header("origin", b"https://app.example.com");
        v.add_header("x-forwarded-for", b"6.6.6.6, 198.51.100.7");
        v.add_header("x-forwarded-proto", b"https");
        let o = auth.authenticate(&v).await;
        assert_eq!(
            portcullis::__private::client(&o).ip,
            Some(want_ip.parse().unwrap()),
            "peer {peer}"
        );
        assert_eq!(
            portcullis::__private::cross_origin(&o),
            want_cross,
            "peer {peer}"
        );
    }
}

// ----- M3 --------------------------------------------------------------------

#[tokio::test]
async fn m3_cross_site_login_is_refused_with_or_without_a_cookie() {
    let auth = Authenticator::builder().build().unwrap();
    let (victim, _) = login(&auth, "victim").await;
    for with_cookie in [false, true] {
        let mut v = RequestView::new("POST");
        v.add_header("sec-fetch-site", b"cross-site");
        if with_cookie {
            v.add_header("cookie", victim.as_bytes());
        }
        let o = auth.authenticate(&v).await;
        let err = SessionHandle::new(o.clone())
            .login("attacker", vec![])
            .await
            .unwrap_err();
        assert_eq!(err.status(), 403);
        assert!(
            portcullis::__private::set_cookie(&o).is_none(),
            "no cookie is set"
        );
    }
    // The victim's session stays; the attacker has none.
    assert_eq!(user_of(&auth, &victim).await.as_deref(), Some("victim"));
    let sessions = portcullis::__private::sessions(&auth).unwrap();
    assert!(sessions
        .store()
        .list_user("attacker")
        .await
        .unwrap()
        .is_empty());
    // A same-origin login works.
    let mut v = RequestView::new("POST");
    v.add_header("sec-fetch-site", b"same-origin");
    let o = auth.authenticate(&v).await;
    assert!(SessionHandle::new(o.clone())
        .login("attacker", vec![])
        .await
        .is_ok());
}

// ----- one list of registered JWS header names ---------------------------------

#[test]
fn registered_header_names_cannot_be_allowed_crit_extensions() {
    // `x5t` and `x5t#S256` were missing from the builder's own list: such an
    // allow-list built, and then never matched.
    for name in ["x5t", "x5t#S256", "enc", "zip", "alg", "b64"] {
        let err = portcullis::Authenticator::builder()
            .without_sessions()
            .tokens(
                portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", &[7u8; 32]).unwrap())
                    .allow_crit(name),
            )
            .build()
            .map(|a| a.tokens().expect("token mode").clone())
            .unwrap_err();
        assert!(err.to_string().contains("crit"), "{name}: {err}");
    }
    assert!(portcullis::Authenticator::builder()
        .without_sessions()
        .tokens(
            portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", &[7u8; 32]).unwrap())
                .allow_crit("exp-ext")
        )
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .is_ok());
}
