//! Token-mode hot paths.
//!
//! ```sh
//! cargo bench --bench jwt --features __internal -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `hs256/*`: the per-request path for HMAC tokens: our `authenticate`
//!   (verify + a `MemoryRevocationList` holding 10 000 entries), next to a
//!   bare `jsonwebtoken::decode` and a minimal hand-rolled verifier (the
//!   floor: split, base64url, pre-keyed HMAC, serde, claim checks) on the
//!   same token. `portcullis_authenticate` has the verified-token cache
//!   off (every request fully verified); `*_cached` is the default
//!   service, where a client presenting the same token again hits the
//!   cache (time claims and the revocation list are still checked).
//! - `es256/*`, `eddsa/*`: asymmetric `authenticate` and the
//!   `jsonwebtoken::decode` baseline.
//! - `bearer/parse_bearer`: the `Authorization: Bearer` header holding that
//!   token.
//! - `refresh/rotate`: one refresh-token rotation on a `MemoryStore`.
//!
//! `authenticate` futures complete without suspending with the in-memory
//! list, so they are polled once (`now_or_never`) instead of going through
//! an executor: the numbers are the work, not the scheduling.

use std::cell::RefCell;
use std::hint::black_box;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::FutureExt as _;
use hmac::{Hmac, Mac};
use portcullis::__private::HeaderLines;
use portcullis::__private::SystemClock;
use portcullis::clock::Clock;
use portcullis::store::MemoryStore;
use portcullis::{
    __private::parse_bearer,
    jwt::{Algorithm, KeyRegistry, MemoryRevocationList, RevocationList, TokenService},
};
use serde::Deserialize;
use sha2::Sha256;

const SECRET: &[u8] = b"bench secret, thirty-two bytes!!";
const ISS: &str = "https://auth.example";
const AUD: &str = "api";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("test key")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A service with a revocation list holding 10 000 revoked tokens and 1 000
/// subject cutoffs (none matching the benchmarked token).
fn service(keys: KeyRegistry, rt: &tokio::runtime::Runtime, cache: usize) -> TokenService {
    let clock = Arc::new(SystemClock);
    let list = Arc::new(MemoryRevocationList::new(clock.clone()));
    rt.block_on(async {
        let exp = SystemClock.now() + 3_600;
        for i in 0..10_000 {
            list.revoke_token(&format!("revoked-jti-{i:05}"), exp)
                .await
                .unwrap();
        }
        for i in 0..1_000 {
            list.revoke_subject_before(&format!("user-{i}"), SystemClock.now_millis())
                .await
                .unwrap();
        }
    });
    portcullis::Authenticator::builder()
        .without_sessions()
        .clock(clock.clone())
        .store(Arc::new(MemoryStore::with_clock(clock)))
        .revocations(list)
        .tokens(
            portcullis::jwt::TokenConfig::new(keys)
                .issuer(ISS)
                .audience(AUD)
                .verified_cache(cache),
        )
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap()
}

#[allow(dead_code)] // fields are read by serde and the checks below
#[derive(Deserialize)]
struct BaselineClaims {
    sub: String,
    iat: u64,
    exp: u64,
    iss: String,
    aud: String,
    jti: String,
    sid: String,
    roles: Vec<String>,
    iat_ms: u64,
}

/// The floor: what any correct HS256 verifier has to do at least.
fn handrolled(token: &[u8], mac: &Hmac<Sha256>, now: u64) -> Option<BaselineClaims> {
    let mut it = token.splitn(3, |b| *b == b'.');
    let (h, p, s) = (it.next()?, it.next()?, it.next()?);
    let mut sig = [0u8; 48];
    let n = URL_SAFE_NO_PAD.decode_slice(s, &mut sig).ok()?;
    let signed = &token[..h.len() + 1 + p.len()];
    mac.clone()
        .chain_update(signed)
        .verify_slice(&sig[..n])
        .ok()?;
    let mut buf = [0u8; 1024];
    let n = URL_SAFE_NO_PAD.decode_slice(p, &mut buf).ok()?;
    let c: BaselineClaims = serde_json::from_slice(&buf[..n]).ok()?;
    (c.exp > now && c.iss == ISS && c.aud == AUD).then_some(c)
}

fn hs256(c: &mut Criterion) {
    let rt = runtime();
    let svc = service(KeyRegistry::hs256("k1", SECRET).unwrap(), &rt, 0);
    let cached = service(KeyRegistry::hs256("k1", SECRET).unwrap(), &rt, 4096);
    let pair = rt
        .block_on(svc.issue("alice", &["user".into(), "admin".into()]))
        .unwrap();
    let token = pair.access_token.clone();
    println!("HS256 token: {} bytes", token.len());

    let mut g = c.benchmark_group("hs256");
    g.bench_function("portcullis_authenticate", |b| {
        b.iter(|| {
            svc.authenticate(black_box(token.as_bytes()))
                .now_or_never()
                .unwrap()
                .unwrap()
        });
    });
    g.bench_function("portcullis_authenticate_cached", |b| {
        b.iter(|| {
            cached
                .authenticate(black_box(token.as_bytes()))
                .now_or_never()
                .unwrap()
                .unwrap()
        });
    });

    let dk = jsonwebtoken::DecodingKey::from_secret(SECRET);
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.set_issuer(&[ISS]);
    v.set_audience(&[AUD]);
    g.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken::decode::<BaselineClaims>(black_box(&token), &dk, &v).unwrap());
    });

    let mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    let now = SystemClock.now();
    g.bench_function("handrolled_floor", |b| {
        b.iter(|| handrolled(black_box(token.as_bytes()), &mac, now).unwrap());
    });
    g.finish();

    let header = format!("Bearer {token}");
    let mut lines = HeaderLines::default();
    lines.push(header.as_bytes());
    c.bench_function("bearer/parse_bearer", |b| {
        b.iter(|| parse_bearer(black_box(&lines)).unwrap().unwrap());
    });
}

fn asymmetric(c: &mut Criterion, name: &str, alg: Algorithm, private: &str, public: &str) {
    let rt = runtime();
    let keys = KeyRegistry::builder()
        .private_pem("k1", alg, &key(private))
        .build()
        .unwrap();
    let svc = service(keys.clone(), &rt, 0);
    let cached = service(keys, &rt, 4096);
    let token = rt
        .block_on(svc.issue("alice", &["user".into()]))
        .unwrap()
        .access_token;

    let mut g = c.benchmark_group(name);
    for (label, svc) in [
        ("portcullis_authenticate", &svc),
        ("portcullis_authenticate_cached", &cached),
    ] {
        g.bench_function(label, |b| {
            b.iter(|| {
                svc.authenticate(black_box(token.as_bytes()))
                    .now_or_never()
                    .unwrap()
                    .unwrap()
            });
        });
    }
    let dk = match alg {
        Algorithm::EdDSA => jsonwebtoken::DecodingKey::from_ed_pem(&key(public)).unwrap(),
        _ => jsonwebtoken::DecodingKey::from_ec_pem(&key(public)).unwrap(),
    };
    let jalg = match alg {
        Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        _ => jsonwebtoken::Algorithm::ES256,
    };
    let mut v = jsonwebtoken::Validation::new(jalg);
    v.set_issuer(&[ISS]);
    v.set_audience(&[AUD]);
    g.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken::decode::<BaselineClaims>(black_box(&token), &dk, &v).unwrap());
    });
    g.finish();
}

fn es256(c: &mut Criterion) {
    asymmetric(
        c,
        "es256",
        Algorithm::ES256,
        "es256_private.pem",
        "es256_public.pem",
    );
}

fn eddsa(c: &mut Criterion) {
    asymmetric(
        c,
        "eddsa",
        Algorithm::EdDSA,
        "ed25519_private.pem",
        "ed25519_public.pem",
    );
}

fn refresh(c: &mut Criterion) {
    let rt = runtime();
    let svc = service(KeyRegistry::hs256("k1", SECRET).unwrap(), &rt, 4096);
    let first = rt.block_on(svc.issue("alice", &["user".into()])).unwrap();
    let current = RefCell::new(first.refresh_token);
    c.bench_function("refresh/rotate_memory_store", |b| {
        b.iter(|| {
            let token = current.borrow().clone();
            let next = rt.block_on(svc.refresh(&token)).unwrap();
            *current.borrow_mut() = next.refresh_token;
        });
    });
}

criterion_group!(benches, hs256, es256, eddsa, refresh);
criterion_main!(benches);
