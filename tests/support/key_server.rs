//! A real HTTP key server on a loopback port, for resource-server tests:
//! serves a JWKS and an OpenID discovery document, and can rotate its
//! keys, refuse (503), answer slowly, serve garbage, and count requests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use portcullis::jwt::{Algorithm, KeyRegistry};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// How the server answers.
#[derive(Clone, Debug)]
#[allow(dead_code)] // each test binary uses some
pub enum Mode {
    Normal,
    /// 503 for everything.
    Refusing,
    /// Sleep, then answer normally.
    Slow(Duration),
    /// 200 with this body (not a usable key set).
    Garbage(&'static str),
}

struct Inner {
    keys: Mutex<Vec<Value>>,
    mode: Mutex<Mode>,
    max_age: Mutex<Option<u64>>,
    issuer: Mutex<String>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
}

/// A running key server; clones share it.
#[derive(Clone)]
pub struct KeyServer {
    inner: Arc<Inner>,
    pub addr: SocketAddr,
}

#[allow(dead_code)] // each test binary uses some
impl KeyServer {
    /// Serve on a free loopback port until the test's runtime ends.
    pub async fn start() -> KeyServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::serve(listener).await
    }

    /// Serve on `addr` (a port chosen earlier, for start-up-while-down).
    pub async fn start_on(addr: SocketAddr) -> KeyServer {
        let listener = TcpListener::bind(addr).await.expect("bind again");
        Self::serve(listener).await
    }

    async fn serve(listener: TcpListener) -> KeyServer {
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Inner {
            keys: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Normal),
            max_age: Mutex::new(Some(300)),
            issuer: Mutex::new(format!("http://{addr}")),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/jwks.json", get(jwks))
            .route("/.well-known/openid-configuration", get(discovery))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        KeyServer { inner, addr }
    }

    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    /// The issuer URL its discovery document names (by default its base).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.inner.keys.lock().unwrap() = keys;
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.inner.mode.lock().unwrap() = mode;
    }

    pub fn set_issuer(&self, issuer: &str) {
        *self.inner.issuer.lock().unwrap() = issuer.to_owned();
    }

    pub fn set_max_age(&self, secs: Option<u64>) {
        *self.inner.max_age.lock().unwrap() = secs;
    }

    /// JWKS requests so far (answered or not).
    pub fn jwks_hits(&self) -> usize {
        self.inner.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.inner.discovery_hits.load(Ordering::SeqCst)
    }
}

async fn answer(inner: &Inner, body: impl FnOnce() -> Value) -> Response {
    let mode = inner.mode.lock().unwrap().clone();
    match mode {
        Mode::Normal => {}
        Mode::Refusing => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Mode::Slow(d) => tokio::time::sleep(d).await,
        Mode::Garbage(text) => return (StatusCode::OK, text).into_response(),
    }
    let max_age = *inner.max_age.lock().unwrap();
    let mut resp = axum::Json(body()).into_response();
    if let Some(secs) = max_age {
        let value = format!("public, max-age={secs}").parse().expect("header");
        resp.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    resp
}

async fn jwks(State(inner): State<Arc<Inner>>) -> Response {
    inner.jwks_hits.fetch_add(1, Ordering::SeqCst);
    let keys = inner.keys.lock().unwrap().clone();
    answer(&inner, || json!({ "keys": keys })).await
}

async fn discovery(State(inner): State<Arc<Inner>>) -> Response {
    inner.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let issuer = inner.issuer.lock().unwrap().clone();
    let base = issuer.clone();
    answer(
        &inner,
        || json!({ "issuer": issuer, "jwks_uri": format!("{base}/jwks.json") }),
    )
    .await
}

/// A signing key of the test issuer: its PEM, `kid` and public JWK.
#[derive(Clone)]
pub struct IssuerKey {
    pub kid: String,
    pub alg: Algorithm,
    pem: Vec<u8>,
    pub jwk: Value,
}

#[allow(dead_code)] // each test binary uses some
impl IssuerKey {
    /// A key from `tests/vectors/keys/<file>` under `kid`.
    pub fn load(file: &str, alg: Algorithm, kid: &str) -> IssuerKey {
        let pem = std::fs::read(format!(
            "{}/tests/vectors/keys/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("key file");
        let reg = KeyRegistry::builder()
            .private_pem(kid, alg, &pem)
            .build()
            .expect("key");
        let jwk = reg.jwks()["keys"][0].clone();
        IssuerKey {
            kid: kid.to_owned(),
            alg,
            pem,
            jwk,
        }
    }

    /// The same key under another `kid`.
    pub fn renamed(&self, kid: &str) -> IssuerKey {
        let mut k = self.clone();
        kid.clone_into(&mut k.kid);
        k.jwk["kid"] = kid.into();
        k
    }

    /// A token with these claims, signed by this key (its `kid` in the
    /// header).
    pub fn sign(&self, claims: &Value) -> String {
        let alg = match self.alg {
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            other => panic!("no test signer for {other}"),
        };
        let key = match self.alg {
            Algorithm::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(&self.pem),
            Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(&self.pem),
            _ => jsonwebtoken::EncodingKey::from_rsa_pem(&self.pem),
        }
        .expect("encoding key");
        // The test is the application here: it picks jsonwebtoken's
        // provider (both backends are compiled in under --all-features).
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }
}

/// Now, in seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}
