//! Resource-server mode through the public API, against a real HTTP key
//! server on a loopback port: key rotation picked up on an unknown `kid`,
//! a flood of random `kid`s, a slow key server, outages and garbage,
//! start-up while the key server is down, OpenID discovery, and the
//! foreign-token profile (no `jti`, several audiences, roles claims,
//! per-issuer keys, lifetime cap).
#![cfg(all(feature = "jwks", feature = "axum"))]

use std::time::{Duration, Instant};

use portcullis::jwt::{Algorithm, HttpKeySource, KeyRegistry, TokenConfig, TrustedIssuer};
use portcullis::{AuthMethod, Authenticator, RequestView};
use serde_json::{json, Value};

#[path = "support/key_server.rs"]
mod key_server;
use key_server::{now, IssuerKey, KeyServer, Mode};

const ISS: &str = "https://idp.test";
const AUD: &str = "orders";

fn key_a() -> IssuerKey {
    IssuerKey::load("es256_private.pem", Algorithm::ES256, "key-a")
}
fn key_b() -> IssuerKey {
    IssuerKey::load("es256b_private.pem", Algorithm::ES256, "key-b")
}

fn claims(sub: &str) -> Value {
    let t = now();
    json!({ "iss": ISS, "aud": AUD, "sub": sub, "iat": t, "exp": t + 600 })
}

fn issuer(server: &KeyServer, min_refetch: Duration) -> TrustedIssuer {
    TrustedIssuer::new(HttpKeySource::jwks(&server.jwks_url()).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .min_key_refetch(min_refetch)
}

fn resource(issuers: Vec<TrustedIssuer>) -> Authenticator {
    let mut b = Authenticator::builder().without_sessions();
    for i in issuers {
        b = b.trust(i);
    }
    b.build().unwrap()
}

/// The subject a bearer token authenticates as, if it does.
async fn who(auth: &Authenticator, token: &str) -> Option<String> {
    let header = format!("Bearer {token}");
    let mut view = RequestView::new("GET");
    view.add_header("authorization", header.as_bytes());
    let outcome = auth.authenticate(&view).await;
    outcome.state.identity().map(|i| i.subject().to_owned())
}

async fn until_ready(auth: &Authenticator) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while auth.ready().await.is_err() {
        assert!(Instant::now() < deadline, "keys never loaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_on_its_unknown_kid() {
    let server = KeyServer::start().await;
    server.set_keys(vec![key_a().jwk]);
    let auth = resource(vec![issuer(&server, Duration::from_secs(30))]);
    until_ready(&auth).await;
    assert_eq!(
        who(&auth, &key_a().sign(&claims("alice"))).await.as_deref(),
        Some("alice")
    );
    let before = server.jwks_hits();

    // The issuer rotates: B signs, A is still published.
    server.set_keys(vec![key_b().jwk, key_a().jwk]);
    let t = Instant::now();
    assert_eq!(
        who(&auth, &key_b().sign(&claims("bob"))).await.as_deref(),
        Some("bob")
    );
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(server.jwks_hits(), before + 1, "one refetch");
    assert_eq!(
        who(&auth, &key_a().sign(&claims("alice"))).await.as_deref(),
        Some("alice")
    );
}

#[tokio::test]
async fn a_withdrawn_key_stops_verifying_even_cached_tokens() {
    let server = KeyServer::start().await;
    server.set_keys(vec![key_a().jwk, key_b().jwk]);
    let auth = resource(vec![issuer(&server, Duration::ZERO)]);
    until_ready(&auth).await;
    let token_a = key_a().sign(&claims("alice"));
    assert!(who(&auth, &token_a).await.is_some()); // now cached
    server.set_keys(vec![key_b().jwk]);
    // An unknown kid triggers the refetch that brings the smaller set.
    assert!(who(&auth, &key_a().renamed("key-z").sign(&claims("x")))
        .await
        .is_none());
    assert!(
        who(&auth, &token_a).await.is_none(),
        "cached, but its key is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_kids_costs_at_most_one_fetch_per_interval() {
    let server = KeyServer::start().await;
    server.set_keys(vec![key_a().jwk]);
    let auth = resource(vec![issuer(&server, Duration::from_secs(30))]);
    until_ready(&auth).await;
    let before = server.jwks_hits();
    let forged: Vec<String> = (0..1000)
        .map(|i| {
            key_a()
                .renamed(&format!("random-{i}"))
                .sign(&claims("mallory"))
        })
        .collect();
    let tasks: Vec<_> = forged
        .into_iter()
        .map(|t| {
            let auth = auth.clone();
            tokio::spawn(async move { who(&auth, &t).await })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_none());
    }
    let fetches = server.jwks_hits() - before;
    assert!(fetches <= 1, "{fetches} fetches for 1000 unknown kids");
    assert_eq!(
        who(&auth, &key_a().sign(&claims("alice"))).await.as_deref(),
        Some("alice")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_key_server_never_delays_known_kids() {
    let server = KeyServer::start().await;
    server.set_keys(vec![key_a().jwk]);
    let auth = resource(vec![issuer(&server, Duration::ZERO)]);
    until_ready(&auth).await;
    server.set_mode(Mode::Slow(Duration::from_secs(5)));

    // An unknown kid waits at most ~1 s for its refetch, then 401.
    let t = Instant::now();
    assert!(who(&auth, &key_b().sign(&claims("bob"))).await.is_none());
    let waited = t.elapsed();
    assert!(waited < Duration::from_millis(1_500), "{waited:?}");

    // The refetch is still hanging on the key server; known kids do not care.
    let token = key_a().sign(&claims("alice"));
    for i in 0..50 {
        let t = Instant::now();
        let subject = who(&auth, &token).await;
        assert_eq!(subject.as_deref(), Some("alice"));
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "request {i}: {:?}",
            t.elapsed()
        );
        if i == 0 {
            // A fresh token too (not from the verified-token cache).
            let fresh = key_a().sign(&claims(&format!("user-{i}")));
            let t = Instant::now();
            assert!(who(&auth, &fresh).await.is_some());
            assert!(
                t.elapsed() < Duration::from_millis(100),
                "{:?}",
                t.elapsed()
            );
        }
    }
}

#[tokio::test]
async fn an_outage_or_garbage_keeps_the_last_good_keys() {
    let server = KeyServer::start().await;
    server.set_keys(vec![key_a().jwk]);
    let auth = resource(vec![issuer(&server, Duration::ZERO)]);
    until_ready(&auth).await;
    let token = key_a().sign(&claims("alice"));
    for mode in [
        Mode::Refusing,
        Mode::Garbage("<html>not json</html>"),
        Mode::Garbage(r#"{"keys":[]}"#),
        Mode::Garbage(
            r#"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}"#,
        ),
        Mode::Garbage(r#"{"nokeys":true}"#),
    ] {
        server.set_mode(mode.clone());
        let before = server.jwks_hits();
        // An unknown kid makes it refetch (and fail).
        assert!(who(&auth, &key_b().sign(&claims("bob"))).await.is_none());
        assert_eq!(server.jwks_hits(), before + 1, "{mode:?}: fetched");
        let fresh = key_a().sign(&claims("dave"));
        assert_eq!(
            who(&auth, &fresh).await.as_deref(),
            Some("dave"),
            "{mode:?}"
        );
        assert_eq!(
            who(&auth, &token).await.as_deref(),
            Some("alice"),
            "{mode:?}"
        );
        assert!(auth.ready().await.is_ok(), "{mode:?}: still ready");
    }
    // Back to normal, with the new key: picked up.
    server.set_mode(Mode::Normal);
    server.set_keys(vec![key_a().jwk, key_b().jwk]);
    assert_eq!(
        who(&auth, &key_b().sign(&claims("bob"))).await.as_deref(),
        Some("bob")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_while_the_key_server_is_down_then_up() {
    // A free port with nobody listening yet.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{addr}/jwks.json");
    let auth = resource(vec![TrustedIssuer::new(HttpKeySource::jwks(&url).unwrap())
        .issuer(ISS)
        .audience(AUD)
        .min_key_refetch(Duration::from_millis(500))]);
    assert_eq!(auth.ready().await.unwrap_err().status(), 503);
    let token = key_a().sign(&claims("alice"));
    let t = Instant::now();
    assert!(who(&auth, &token).await.is_none(), "401 while no keys");
    assert!(t.elapsed() < Duration::from_millis(1_500));

    let server = KeyServer::start_on(addr).await;
    server.set_keys(vec![key_a().jwk]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if who(&auth, &token).await.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(auth.ready().await.is_ok());
}

#[tokio::test]
async fn discovery_finds_the_keys_and_checks_the_issuer() {
    let server = KeyServer::start().await;
    server.set_keys(vec![key_a().jwk]);
    let base = server.base_url();
    let token = key_a().sign(&json!({
        "iss": base, "aud": AUD, "sub": "alice", "iat": now(), "exp": now() + 60
    }));
    let auth = resource(vec![TrustedIssuer::new(
        HttpKeySource::discovery(&base).unwrap(),
    )
    .issuer(&base)
    .audience(AUD)]);
    until_ready(&auth).await;
    assert_eq!(who(&auth, &token).await.as_deref(), Some("alice"));
    assert!(server.discovery_hits() >= 1);

    // A document naming another issuer is refused: no keys, ever.
    let other = KeyServer::start().await;
    other.set_keys(vec![key_a().jwk]);
    other.set_issuer("https://someone-else.test");
    let base = other.base_url();
    let auth = resource(vec![TrustedIssuer::new(
        HttpKeySource::discovery(&base).unwrap(),
    )
    .issuer(&base)
    .audience(AUD)]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(other.discovery_hits() >= 1);
    assert_eq!(
        other.jwks_hits(),
        0,
        "the keys of a mismatched document are not fetched"
    );
    assert!(auth.ready().await.is_err());
}

#[tokio::test]
async fn the_foreign_profile() {
    let server = KeyServer::start().await;
    server.set_keys(vec![key_a().jwk]);
    let auth = resource(vec![TrustedIssuer::new(
        HttpKeySource::jwks(&server.jwks_url()).unwrap(),
    )
    .issuer(ISS)
    .issuer("https://idp.test/v2")
    .audience(AUD)
    .audience("billing")
    .roles_claim("scope")
    .max_token_lifetime(Some(Duration::from_secs(3_600)))]);
    until_ready(&auth).await;
    let t = now();
    let sign = |c: Value| key_a().sign(&c);

    // No jti, an audience array naming one of ours, roles from `scope`.
    let token = sign(json!({
        "iss": "https://idp.test/v2", "aud": ["other", "billing"], "sub": "svc-1",
        "iat": t, "exp": t + 300, "scope": "read:orders write:orders"
    }));
    let header = format!("Bearer {token}");
    let mut view = RequestView::new("GET");
    view.add_header("authorization", header.as_bytes());
    let outcome = auth.authenticate(&view).await;
    let id = outcome.state.identity().expect("accepted");
    assert!(id.has_role("read:orders") && id.has_role("write:orders"));
    let AuthMethod::Bearer(info) = id.method() else {
        panic!("bearer")
    };
    assert_eq!(info.jti, "");
    assert_eq!(info.iss.as_deref(), Some("https://idp.test/v2"));

    for (why, c) in [
        (
            "no exp",
            json!({ "iss": ISS, "aud": AUD, "sub": "a", "iat": t }),
        ),
        (
            "expired",
            json!({ "iss": ISS, "aud": AUD, "sub": "a", "iat": t - 900, "exp": t - 600 }),
        ),
        (
            "wrong aud",
            json!({ "iss": ISS, "aud": "web", "sub": "a", "iat": t, "exp": t + 60 }),
        ),
        (
            "no aud",
            json!({ "iss": ISS, "sub": "a", "iat": t, "exp": t + 60 }),
        ),
        (
            "no sub",
            json!({ "iss": ISS, "aud": AUD, "iat": t, "exp": t + 60 }),
        ),
        (
            "too long",
            json!({ "iss": ISS, "aud": AUD, "sub": "a", "iat": t, "exp": t + 7_200 }),
        ),
        (
            "no iat under a cap",
            json!({ "iss": ISS, "aud": AUD, "sub": "a", "exp": t + 60 }),
        ),
        (
            "bad scope",
            json!({ "iss": ISS, "aud": AUD, "sub": "a", "iat": t, "exp": t + 60, "scope": 7 }),
        ),
        (
            "unknown iss",
            json!({ "iss": "https://evil.test", "aud": AUD, "sub": "a", "iat": t, "exp": t + 60 }),
        ),
    ] {
        assert!(who(&auth, &sign(c)).await.is_none(), "{why}");
    }
}

#[tokio::test]
async fn one_issuers_keys_never_vouch_for_another() {
    let a = KeyServer::start().await;
    a.set_keys(vec![key_a().jwk]);
    let b = KeyServer::start().await;
    b.set_keys(vec![key_b().jwk]);
    let auth = resource(vec![
        TrustedIssuer::new(HttpKeySource::jwks(&a.jwks_url()).unwrap())
            .issuer("https://a.test")
            .audience(AUD)
            .roles_claim("realm_access.roles"),
        TrustedIssuer::new(HttpKeySource::jwks(&b.jwks_url()).unwrap())
            .issuer("https://b.test")
            .audience(AUD),
    ]);
    until_ready(&auth).await;
    let t = now();
    let c = |iss: &str| {
        json!({ "iss": iss, "aud": AUD, "sub": "u", "iat": t, "exp": t + 60,
                "realm_access": { "roles": ["admin"] }, "roles": ["viewer"] })
    };
    // Each issuer with its own key and roles claim.
    let header = format!("Bearer {}", key_a().sign(&c("https://a.test")));
    let mut view = RequestView::new("GET");
    view.add_header("authorization", header.as_bytes());
    let outcome = auth.authenticate(&view).await;
    let id = outcome.state.identity().expect("a's token");
    assert!(id.has_role("admin") && !id.has_role("viewer"));
    let header = format!("Bearer {}", key_b().sign(&c("https://b.test")));
    let mut view = RequestView::new("GET");
    view.add_header("authorization", header.as_bytes());
    let outcome = auth.authenticate(&view).await;
    let id = outcome.state.identity().expect("b's token");
    assert!(id.has_role("viewer") && !id.has_role("admin"));
    // A's key signing a token that claims to be B's: refused.
    assert!(
        who(&auth, &key_a().renamed("key-b").sign(&c("https://b.test")))
            .await
            .is_none()
    );
    assert!(who(&auth, &key_a().sign(&c("https://b.test")))
        .await
        .is_none());
}

#[tokio::test]
async fn own_tokens_and_foreign_ones_side_by_side() {
    let server = KeyServer::start().await;
    server.set_keys(vec![key_a().jwk]);
    let auth = Authenticator::builder()
        .without_sessions()
        .tokens(
            TokenConfig::new(KeyRegistry::hs256("own", &[5u8; 32]).unwrap())
                .issuer("https://me.test"),
        )
        .trust(issuer(&server, Duration::from_secs(30)))
        .build()
        .unwrap();
    until_ready(&auth).await;
    let svc = auth.tokens().unwrap();
    let own = svc.issue("me", &[]).await.unwrap();
    assert_eq!(who(&auth, &own.access_token).await.as_deref(), Some("me"));
    let foreign = key_a().sign(&claims("alice"));
    assert_eq!(who(&auth, &foreign).await.as_deref(), Some("alice"));
    // Log-out-everywhere cut-offs reach foreign tokens of that subject too.
    auth.logout_everywhere("alice").await.unwrap();
    assert!(who(&auth, &foreign).await.is_none());
    // Clashing names are refused.
    let err = Authenticator::builder()
        .without_sessions()
        .tokens(TokenConfig::new(KeyRegistry::hs256("own", &[5u8; 32]).unwrap()).issuer(ISS))
        .trust(issuer(&server, Duration::from_secs(30)))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("configured twice"), "{err}");
    let err = Authenticator::builder()
        .without_sessions()
        .trust(TrustedIssuer::new(HttpKeySource::jwks(&server.jwks_url()).unwrap()).issuer(ISS))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("audience"), "{err}");
}
