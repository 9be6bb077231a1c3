//! Resource-server mode: a trusted issuer's tokens through a refreshed
//! (remote) key set, next to the same ES256 token through a static
//! registry (this service's own token mode), and known-`kid` latency while
//! a flood of unknown `kid`s hits the same key set.
//!
//! ```sh
//! cargo bench --bench resource --features jwks,__internal -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `resource/static_cached`, `resource/remote_cached`: the same token
//!   presented again (verified-token cache hit), through
//!   `Authenticator::authenticate`; the static path also asks its (empty)
//!   revocation list.
//! - `resource/static_first_sight`, `resource/remote_first_sight`: caches
//!   off, every request fully verified (signature included).
//! - `resource/remote_cached_during_flood`: `remote_cached` while another
//!   thread sends tokens with an unknown `kid` to the same authenticator as
//!   fast as it can (the one refetch they may ask for per 30 s takes 5 s to
//!   answer; after its 1 s wait the rest are refused at once).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::FutureExt as _;
use portcullis::jwt::{Algorithm, FetchedKeys, KeyRegistry, KeySource, TokenConfig, TrustedIssuer};
use portcullis::{Authenticator, RequestView};
use serde_json::Value;

const ISS: &str = "https://idp.bench";
const AUD: &str = "api";

/// The issuer's JWKS; every fetch after the first waits `delay`.
struct Fixed {
    jwks: Value,
    delay: Duration,
    fetched: AtomicBool,
}

impl Fixed {
    fn new(delay: Duration) -> Self {
        Fixed {
            jwks: issuer_keys().jwks(),
            delay,
            fetched: AtomicBool::new(false),
        }
    }
}

#[async_trait::async_trait]
impl KeySource for Fixed {
    async fn fetch(&self) -> Result<FetchedKeys, Box<dyn std::error::Error + Send + Sync>> {
        if self.fetched.swap(true, Ordering::SeqCst) {
            tokio::time::sleep(self.delay).await;
        }
        Ok(FetchedKeys::new(self.jwks.clone(), None))
    }
}

fn pem() -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/keys/es256_private.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("test key")
}

fn issuer_keys() -> KeyRegistry {
    KeyRegistry::builder()
        .private_pem("bench-1", Algorithm::ES256, &pem())
        .build()
        .expect("key")
}

/// This service's own token mode on the same key (the static registry).
fn own(cache: usize) -> Authenticator {
    Authenticator::builder()
        .without_sessions()
        .tokens(
            TokenConfig::new(issuer_keys())
                .issuer(ISS)
                .audience(AUD)
                .verified_cache(cache),
        )
        .build()
        .expect("authenticator")
}

/// A resource server trusting that issuer through a `KeySource`.
fn remote(rt: &tokio::runtime::Runtime, cache: usize) -> Authenticator {
    let _guard = rt.enter();
    let auth = Authenticator::builder()
        .without_sessions()
        .trust(
            TrustedIssuer::new(Fixed::new(Duration::ZERO))
                .issuer(ISS)
                .audience(AUD)
                .verified_cache(cache),
        )
        .build()
        .expect("resource authenticator");
    rt.block_on(async {
        while auth.ready().await.is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    auth
}

fn view(token: &str) -> RequestView<'static> {
    let header: &'static str = Box::leak(format!("Bearer {token}").into_boxed_str());
    let mut v = RequestView::new("GET");
    v.add_header("authorization", header.as_bytes());
    v
}

fn once(auth: &Authenticator, v: &RequestView<'_>) -> bool {
    let outcome = auth
        .authenticate(v)
        .now_or_never()
        .expect("completes without suspending");
    outcome.state.identity().is_some()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let signer = own(0);
    let token = rt
        .block_on(signer.tokens().expect("tokens").issue("alice", &[]))
        .expect("issue")
        .access_token;
    let v = view(&token);

    let mut g = c.benchmark_group("resource");
    for (name, auth) in [
        ("static_cached", own(4096)),
        ("remote_cached", remote(&rt, 4096)),
        ("static_first_sight", own(0)),
        ("remote_first_sight", remote(&rt, 0)),
    ] {
        assert!(once(&auth, &v), "{name}");
        g.bench_function(name, |b| b.iter(|| black_box(once(&auth, &v))));
    }

    // The flood: unknown kids, all refused, against a key source that
    // takes 5 s to answer the refetch they ask for.
    let auth = {
        let _guard = rt.enter();
        Authenticator::builder()
            .without_sessions()
            .trust(
                TrustedIssuer::new(Fixed::new(Duration::from_secs(5)))
                    .issuer(ISS)
                    .audience(AUD),
            )
            .build()
            .expect("flooded authenticator")
    };
    rt.block_on(async {
        while auth.ready().await.is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let forged = KeyRegistry::builder()
        .private_pem("unknown-kid", Algorithm::ES256, &pem())
        .build()
        .expect("key");
    let forger = Authenticator::builder()
        .without_sessions()
        .tokens(TokenConfig::new(forged).issuer(ISS).audience(AUD))
        .build()
        .expect("forger");
    let bad = rt
        .block_on(forger.tokens().expect("tokens").issue("mallory", &[]))
        .expect("issue")
        .access_token;
    let stop = Arc::new(AtomicBool::new(false));
    let flood = {
        let (auth, stop) = (auth.clone(), stop.clone());
        let handle = rt.handle().clone();
        std::thread::spawn(move || {
            let v = view(&bad);
            while !stop.load(Ordering::Relaxed) {
                let auth = auth.clone();
                let v = v.clone();
                handle.block_on(async move {
                    assert!(auth.authenticate(&v).await.state.identity().is_none());
                });
            }
        })
    };
    assert!(once(&auth, &v));
    g.bench_function("remote_cached_during_flood", |b| {
        b.iter(|| black_box(once(&auth, &v)));
    });
    stop.store(true, Ordering::Relaxed);
    let _ = flood.join();
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
