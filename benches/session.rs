//! Session hot paths on the embedded MemoryStore.
//!
//! `cargo bench --bench session --features __internal` runs:
//! - `authenticate/hit_100k`: a GET with a valid session cookie, 100k live
//!   sessions in the store (target < 1 µs);
//! - `authenticate/miss`: an unknown cookie;
//! - `login`: a fresh session (ID, CSRF secret, store insert, cap check);
//! - and prints bytes per live session at 1M sessions (counting allocator).
//!
//! Set `PORTCULLIS_BENCH_SESSIONS` to change the memory sample (default 1M).

#[path = "support/fixtures.rs"]
mod fixtures;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use fixtures::record;
use portcullis::__private::SessionId;
use portcullis::__private::SystemClock;
use portcullis::clock::Clock;
use portcullis::store::{MemoryStore, SessionStore};
use portcullis::Authenticator;
use portcullis::RequestView;
use portcullis::SessionConfig;
use portcullis::SessionHandle;

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator, only counting bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn fill(store: &MemoryStore, rt: &tokio::runtime::Runtime, n: usize) -> Vec<SessionId> {
    let now = SystemClock.now();
    rt.block_on(async {
        let mut ids = Vec::with_capacity(n.min(1_000));
        for i in 0..n {
            let id = SessionId::generate().unwrap();
            store
                .create(&id.key(), &record(&format!("user{}", i % 50_000), now))
                .await
                .unwrap();
            if ids.len() < 1_000 {
                ids.push(id);
            }
        }
        ids
    })
}

fn authenticate(c: &mut Criterion) {
    let rt = rt();
    let store = MemoryStore::new();
    let ids = fill(&store, &rt, 100_000);
    // Default config: rolling refresh writes once a minute, not per request.
    let store = Arc::new(store);
    let builder = || {
        Authenticator::builder().store(store.clone()).sessions(
            SessionConfig::default()
                .max_sessions_per_user(None, portcullis::SessionLimitPolicy::EvictOldest),
        )
    };
    let auth = builder().build().unwrap();
    // The same, with an audit sink installed (issue #18: at most +50 ns).
    let audited = builder()
        .events(Arc::new(CountEvents::default()))
        .build()
        .unwrap();
    let cookies: Vec<String> = ids
        .iter()
        .map(|id| format!("theme=dark; __Host-id={}", id.encode()))
        .collect();
    let mut group = c.benchmark_group("authenticate");
    let mut i = 0;
    group.bench_function("hit_100k", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % cookies.len();
            let cookie = cookies[i].as_bytes();
            let auth = &auth;
            async move {
                let mut view = RequestView::new("GET");
                view.add_header("host", b"app.example");
                view.add_header("user-agent", b"bench/1.0");
                view.add_header("cookie", cookie);
                let out = auth.authenticate(&view).await;
                assert!(out.state.identity().is_some());
                out
            }
        });
    });
    for (name, auth) in [
        ("hit_100k_request_id", &auth),
        ("hit_100k_request_id_sink", &audited),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 1) % cookies.len();
                let cookie = cookies[i].as_bytes();
                async move {
                    let mut view = RequestView::new("GET");
                    view.add_header("host", b"app.example");
                    view.add_header("user-agent", b"bench/1.0");
                    view.add_header("x-request-id", b"3f2a9c1e-bench");
                    view.add_header("cookie", cookie);
                    let out = auth.authenticate(&view).await;
                    assert!(out.state.identity().is_some());
                    out
                }
            });
        });
    }
    let miss = format!("__Host-id={}", SessionId::generate().unwrap().encode());
    group.bench_function("miss", |b| {
        b.to_async(&rt).iter(|| async {
            let mut view = RequestView::new("GET");
            view.add_header("cookie", miss.as_bytes());
            auth.authenticate(&view).await
        });
    });
    group.bench_function("runtime_overhead", |b| {
        b.to_async(&rt).iter(|| async { 1u8 })
    });
    group.finish();

    c.bench_function("login", |b| {
        let anon = rt.block_on(auth.authenticate(&RequestView::new("POST")));
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            rt.block_on(
                SessionHandle::new(anon.clone())
                    .login(&format!("login{}", n % 100_000), vec!["user".into()]),
            )
            .unwrap()
        });
    });
}

/// A sink that only counts (the cost of the core's side of auditing).
#[derive(Default)]
struct CountEvents(std::sync::atomic::AtomicU64);

impl portcullis::EventSink for CountEvents {
    fn record(&self, _: &portcullis::Event) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A failed login counted by the throttle (three compare-and-sets), and an
/// attempt's check alone, on the memory store; each iteration is another
/// username and client, so no counter grows and nothing is throttled.
fn throttle(c: &mut Criterion) {
    let rt = rt();
    let auth = Authenticator::builder().build().unwrap();
    let mut group = c.benchmark_group("throttle");
    let mut n = 0u32;
    let mut next_view = move || {
        n = n.wrapping_add(1);
        let mut view = RequestView::new("POST");
        view.set_peer_ip(std::net::Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff)).into());
        (view, format!("user{n}"))
    };
    group.bench_function("attempt_check", |b| {
        b.iter(|| {
            let (view, user) = next_view();
            rt.block_on(async {
                let outcome = auth.authenticate(&view).await;
                SessionHandle::new(outcome)
                    .login_attempt(&user)
                    .await
                    .is_ok()
            })
        });
    });
    group.bench_function("failed_attempt", |b| {
        b.iter(|| {
            let (view, user) = next_view();
            rt.block_on(async {
                let outcome = auth.authenticate(&view).await;
                let attempt = SessionHandle::new(outcome)
                    .login_attempt(&user)
                    .await
                    .unwrap();
                attempt.failed().await
            })
        });
    });
    group.finish();
}

fn memory_per_session(_: &mut Criterion) {
    let n: usize = std::env::var("PORTCULLIS_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = rt();
    let store = MemoryStore::new();
    let before = LIVE.load(Ordering::Relaxed);
    let ids = fill(&store, &rt, n);
    let ids_bytes = (ids.capacity() * std::mem::size_of::<SessionId>()) as isize;
    let after = LIVE.load(Ordering::Relaxed);
    let per = (after - before - ids_bytes) as f64 / n as f64;
    println!("memory_per_session: {per:.0} bytes/session at {n} live sessions (2 roles, IPv4, 70-byte User-Agent, 50k users)");
    drop(store);
}

criterion_group!(benches, authenticate, throttle, memory_per_session);
criterion_main!(benches);
