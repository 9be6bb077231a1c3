//! End to end over HTTP: `demo_axum` issues tokens with an asymmetric key
//! (`JWT_ALG`), publishes it under `/.well-known/`, and `demo_resource`
//! verifies them from that JWKS; the issuer rotates its key by a restart
//! (`JWT_PRIVATE_KEY_FILE` new, `JWT_PREVIOUS_KEY_FILES` old): old tokens
//! keep working until they expire, new ones verify after the kid-miss
//! refetch.
#![cfg(all(feature = "jwks", feature = "axum"))]
// Both demos include `examples/common` as their own module.
#![allow(clippy::duplicate_mod)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::Client;
use serde_json::{json, Value};
use sha2::Digest as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[path = "../examples/demo_axum.rs"]
#[allow(dead_code)]
mod demo_axum;
#[path = "../examples/demo_resource.rs"]
#[allow(dead_code)]
mod demo_resource;

fn key_file(name: &str) -> String {
    format!("{}/tests/vectors/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A running demo that stops (gracefully, closing kept-alive
/// connections) when dropped.
struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(d) = self.done.take() {
            let _ = d.await;
        }
    }
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn serve(listener: TcpListener, app: axum::Router) -> Running {
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await;
    });
    Running {
        addr,
        stop: Some(stop),
        done: Some(done),
    }
}

fn vars(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    move |k| map.get(k).cloned()
}

/// The issuer demo with `settings`, on `port` (0: any).
async fn issuer(settings: &[(&str, String)], port: u16) -> Running {
    let s = demo_axum::common::Settings::from_vars(&vars(settings)).expect("settings");
    let auth = demo_axum::common::authenticator(&s)
        .await
        .expect("authenticator");
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    serve(
        listener,
        demo_axum::app(demo_axum::common::Demo::new(auth, &s)),
    )
    .await
}

async fn resource(jwks_url: &str) -> Running {
    let s = demo_resource::ResourceSettings::from_vars(&vars(&[
        ("JWKS_URL", jwks_url.to_owned()),
        ("TOKEN_ISSUER", "portcullis-demo".into()),
        ("TOKEN_AUDIENCE", "portcullis-demo".into()),
        ("JWKS_MIN_REFRESH_SECS", "1".into()),
        ("MAX_TOKEN_LIFETIME_SECS", "900".into()),
    ]))
    .expect("resource settings");
    let auth = s.authenticator().expect("resource authenticator");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    serve(listener, demo_resource::app(auth)).await
}

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn login(c: &Client, issuer: &Running, user: &str) -> String {
    let r = c
        .post(issuer.url("/jwt/login"))
        .json(&json!({ "username": user, "password": format!("{user}-password") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn get_as(c: &Client, url: &str, token: &str) -> (u16, Value) {
    let r = c.get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

async fn until_ready(c: &Client, server: &Running) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = c.get(server.url("/ready")).send().await.unwrap();
        if r.status() == 200 {
            return;
        }
        assert_eq!(r.status(), 503);
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// RFC 7638 thumbprint of a public JWK, computed here independently.
fn thumbprint(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str().unwrap() {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["crv"].as_str().unwrap(),
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        ),
        "OKP" => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            jwk["crv"].as_str().unwrap(),
            jwk["x"].as_str().unwrap()
        ),
        _ => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().unwrap(),
            jwk["n"].as_str().unwrap()
        ),
    };
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
}

async fn published(c: &Client, issuer: &Running) -> Vec<Value> {
    let r = c
        .get(issuer.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"].to_str().unwrap(),
        "public, max-age=300"
    );
    let keys = r.json::<Value>().await.unwrap()["keys"]
        .as_array()
        .unwrap()
        .clone();
    for k in &keys {
        assert_eq!(
            k["kid"].as_str().unwrap(),
            thumbprint(k),
            "kid is the thumbprint"
        );
        assert_eq!(k["use"], "sig");
        assert!(k.get("d").is_none(), "no private member");
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_es256_issuer_rotates_its_key_and_the_resource_server_follows() {
    let c = client();
    let first = [
        ("JWT_ALG", "ES256".to_owned()),
        ("JWT_PRIVATE_KEY_FILE", key_file("es256_private.pem")),
        ("PUBLIC_URL", "https://issuer.portcullis.test".into()),
    ];
    let a = issuer(&first, 0).await;
    let port = a.addr.port();
    let keys = published(&c, &a).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["alg"], "ES256");
    let r = c
        .get(a.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["issuer"], "portcullis-demo");
    assert_eq!(
        doc["jwks_uri"],
        "https://issuer.portcullis.test/.well-known/jwks.json"
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );

    let rs = resource(&a.url("/.well-known/jwks.json")).await;
    until_ready(&c, &rs).await;
    let old = login(&c, &a, "alice").await;
    let (status, body) = get_as(&c, &rs.url("/me"), &old).await;
    assert_eq!(
        (status, &body),
        (200, &json!({ "user": "alice", "roles": ["user"] }))
    );
    let r = c
        .get(rs.url("/admin"))
        .bearer_auth(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let r = c.get(rs.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c.get(rs.url("/me")).bearer_auth(&old).send().await.unwrap();
    assert_eq!(
        r.headers()["cache-control"],
        "no-store",
        "a bearer answer is not cached"
    );
    let admin = login(&c, &a, "admin").await;
    assert_eq!(get_as(&c, &rs.url("/admin"), &admin).await.0, 200);
    assert_eq!(get_as(&c, &rs.url("/me"), "garbage").await.0, 401);

    // Rotation: a restart with the new key, the old one still published.
    a.stop().await;
    let second = [
        ("JWT_ALG", "ES256".to_owned()),
        ("JWT_PRIVATE_KEY_FILE", key_file("es256b_private.pem")),
        ("JWT_PREVIOUS_KEY_FILES", key_file("es256_public.pem")),
    ];
    let b = issuer(&second, port).await;
    // A fresh client: the first one may still pool a keep-alive connection
    // to the stopped issuer on this port, and reusing it fails the request
    // (hyper's IncompleteMessage; seen once on CI).
    let c = client();
    let keys = published(&c, &b).await;
    assert_eq!(keys.len(), 2, "new and previous key");
    let new = login(&c, &b, "bob").await;
    assert_eq!(
        get_as(&c, &rs.url("/me"), &new).await.0,
        200,
        "new kid, after refetch"
    );
    assert_eq!(
        get_as(&c, &rs.url("/me"), &old).await.0,
        200,
        "old token until expiry"
    );
    assert_eq!(
        get_as(&c, &b.url("/jwt/me"), &old).await.0,
        200,
        "the issuer too"
    );
    b.stop().await;
    rs.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eddsa_and_rs256_keys_generated_at_start_verify_elsewhere() {
    let c = client();
    for alg in ["EdDSA", "RS256"] {
        let a = issuer(&[("JWT_ALG", alg.to_owned())], 0).await;
        let keys = published(&c, &a).await;
        assert_eq!(keys.len(), 1, "{alg}");
        assert_eq!(keys[0]["alg"], alg);
        let rs = resource(&a.url("/.well-known/jwks.json")).await;
        until_ready(&c, &rs).await;
        let token = login(&c, &a, "alice").await;
        assert_eq!(get_as(&c, &rs.url("/me"), &token).await.0, 200, "{alg}");
        a.stop().await;
        rs.stop().await;
    }
}

#[test]
fn contradictory_key_settings_stop_start_up() {
    let cases: &[&[(&str, String)]] = &[
        &[("JWT_ALG", "ES256".into()), ("JWT_SECRET", "x".repeat(40))],
        &[
            ("JWT_ALG", "ES256".into()),
            ("JWT_PREVIOUS_SECRETS", "x".repeat(40)),
        ],
        &[("JWT_PRIVATE_KEY_FILE", key_file("es256_private.pem"))],
        &[("JWT_ALG", "HS512".into())],
        &[
            ("JWT_ALG", "ES256".into()),
            ("JWT_PRIVATE_KEY_FILE", "/nonexistent".into()),
        ],
        &[("JWT_PREVIOUS_SECRETS", "short".into())],
    ];
    for case in cases {
        assert!(
            demo_axum::common::Settings::from_vars(&vars(case)).is_err(),
            "{:?}",
            case.iter().map(|(k, _)| k).collect::<Vec<_>>()
        );
    }
    // The resource server needs exactly one key source and its names.
    for case in [
        vec![
            ("TOKEN_ISSUER", "i".to_owned()),
            ("TOKEN_AUDIENCE", "a".into()),
        ],
        vec![
            ("JWKS_URL", "http://127.0.0.1:9/k".to_owned()),
            ("OIDC_ISSUER", "http://127.0.0.1:9".into()),
            ("TOKEN_ISSUER", "i".into()),
            ("TOKEN_AUDIENCE", "a".into()),
        ],
        vec![
            ("JWKS_URL", "http://127.0.0.1:9/k".to_owned()),
            ("TOKEN_AUDIENCE", "a".into()),
        ],
    ] {
        assert!(demo_resource::ResourceSettings::from_vars(&vars(&case)).is_err());
    }
}

#[tokio::test]
async fn previous_hs256_secrets_still_verify() {
    let c = client();
    let old_secret = "an old secret of at least thirty-two bytes".to_owned();
    let a = issuer(&[("JWT_SECRET", old_secret.clone())], 0).await;
    let old = login(&c, &a, "alice").await;
    a.stop().await;
    let b = issuer(
        &[
            (
                "JWT_SECRET",
                "the new secret, also thirty-two bytes long".into(),
            ),
            ("JWT_PREVIOUS_SECRETS", old_secret),
        ],
        0,
    )
    .await;
    assert_eq!(get_as(&c, &b.url("/jwt/me"), &old).await.0, 200);
    assert_eq!(
        published(&c, &b).await.len(),
        0,
        "secrets are never published"
    );
    b.stop().await;
}

#[tokio::test]
async fn the_resource_server_starts_and_answers_401_while_the_key_server_is_down() {
    let c = client();
    let nobody = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let rs = resource(&format!("http://{nobody}/jwks.json")).await;
    let r = c.get(rs.url("/health")).send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (200, "ok".into())
    );
    assert_eq!(c.get(rs.url("/ready")).send().await.unwrap().status(), 503);
    let a = issuer(&[("JWT_ALG", "ES256".to_owned())], 0).await;
    let token = login(&c, &a, "alice").await;
    let t = Instant::now();
    let r = c
        .get(rs.url("/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        t.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        t.elapsed()
    );
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer") && challenge.contains("invalid_token"),
        "{challenge}"
    );
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    a.stop().await;
    rs.stop().await;
}
