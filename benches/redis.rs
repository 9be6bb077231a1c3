//! The Redis hot paths against a local `redis-server` (started on a free
//! loopback port by the test helper; set `PORTCULLIS_BENCH_REDIS_URL` to
//! use a running server instead).
//!
//! `cargo bench --bench redis --features redis,__internal` runs:
//! - `redis/authenticate_session_hit`: a GET with a valid session cookie,
//!   10k live sessions in Redis (one `GET` round trip);
//! - `redis/authenticate_session_miss`: an unknown cookie;
//! - `redis/is_revoked`: the revocation check (three GETs sent at once: one
//!   round trip);
//! - `redis/authenticate_bearer`: JWT verification plus the revocation check;
//! - then a manual loop that records every call's latency and prints
//!   p50/p90/p99/p99.9: sequentially, in 5 interleaved rounds with a bare
//!   `GET` of a record-sized value over a connection of its own (each
//!   p50's ratio to the bare one is printed; the target is <= 1.3x), and
//!   with 64 concurrent tasks sharing the one multiplexed connection
//!   (throughput included).
//!
//! Each report starts with the commands the server side executed per call
//! (`INFO commandstats` before and after 1,000 calls): the round-trip
//! accounting of the hot paths. The manual loop runs twice: against one `redis-server`, then against a
//! local 3-primary, 3-replica Redis Cluster (`tests/support/redis_cluster.rs`).
//!
//! Set `PORTCULLIS_BENCH_CALLS` to change the manual loop's call count
//! (default 20 000).

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/latency.rs"]
mod latency;
#[path = "../tests/support/redis_cluster.rs"]
mod redis_cluster;
#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use fixtures::record;
use portcullis::__private::SessionId;
use portcullis::__private::SystemClock;
use portcullis::clock::Clock;
use portcullis::jwt::{KeyRegistry, RevocationList, TokenService};
use portcullis::redis::{RedisRevocationList, RedisStore};
use portcullis::store::SessionStore;
use portcullis::Authenticator;
use portcullis::RequestView;
use portcullis::{SessionConfig, SessionLimitPolicy};
use redis_server::RedisServer;

const SESSIONS: usize = 10_000;
const ROUNDS: usize = 5;

/// A connection of the application's own to the same server, for the
/// bare `GET` round trip the store's hot path is compared with.
#[derive(Clone)]
enum Bare {
    Node(redis::aio::MultiplexedConnection),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Bare {
    async fn get(&self, key: &str) {
        let cmd = redis::cmd("GET").arg(key).clone();
        let value: Option<Vec<u8>> = match self.clone() {
            Bare::Node(mut c) => cmd.query_async(&mut c).await,
            Bare::Cluster(mut c) => cmd.query_async(&mut c).await,
        }
        .expect("bare GET");
        assert!(value.is_some(), "the value is there");
    }
}

/// The server a fixture runs against (kept alive with it).
#[allow(dead_code)] // held for its Drop
enum Server {
    External,
    Node(RedisServer),
    Cluster(redis_cluster::Cluster),
}

struct Fixture {
    _server: Server,
    /// Every node, to count the commands the server side saw.
    nodes: Vec<String>,
    auth: Arc<Authenticator>,
    tokens: Arc<TokenService>,
    list: Arc<RedisRevocationList>,
    cookies: Arc<Vec<String>>,
    access: Arc<String>,
    bare: Bare,
    /// Keys holding a record's JSON, for the bare `GET`.
    bare_keys: Vec<String>,
}

async fn fixture() -> Fixture {
    let (server, url) = match std::env::var("PORTCULLIS_BENCH_REDIS_URL") {
        Ok(url) => (Server::External, url),
        Err(_) => {
            let s = RedisServer::start();
            let url = s.url();
            (Server::Node(s), url)
        }
    };
    let store = RedisStore::builder()
        .prefix("bench:")
        .connect(&url)
        .await
        .expect("connect to redis");
    let bare = redis::Client::open(url.as_str())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("bare connection");
    fixture_on(server, vec![url], store, Bare::Node(bare)).await
}

/// The same on a local 3-primary, 3-replica Redis Cluster.
async fn cluster_fixture() -> Fixture {
    let cluster = redis_cluster::Cluster::start();
    let store = RedisStore::builder()
        .prefix("bench:")
        .connect_cluster(&cluster.seeds())
        .await
        .expect("connect to the cluster");
    let nodes = cluster.seeds();
    let bare = redis::cluster::ClusterClient::new(nodes.clone())
        .expect("seeds")
        .get_async_connection()
        .await
        .expect("bare cluster connection");
    fixture_on(Server::Cluster(cluster), nodes, store, Bare::Cluster(bare)).await
}

async fn fixture_on(server: Server, nodes: Vec<String>, store: RedisStore, bare: Bare) -> Fixture {
    let store = Arc::new(store);
    let list = Arc::new(RedisRevocationList::from_store(&store));
    let now = SystemClock.now();
    let mut cookies = Vec::with_capacity(1_000);
    for i in 0..SESSIONS {
        let id = SessionId::generate().expect("rng");
        store
            .create(&id.key(), &record(&format!("user{}", i % 5_000), now))
            .await
            .expect("create");
        if cookies.len() < 1_000 {
            cookies.push(format!("theme=dark; __Host-id={}", id.encode()));
        }
    }
    let json = serde_json::to_vec(&record("user0", now)).expect("json");
    let mut bare_keys = Vec::with_capacity(1_000);
    for i in 0..1_000 {
        let key = format!("bench:bare:{i}");
        let cmd = redis::cmd("SET").arg(&key).arg(&json).clone();
        let set: Result<(), _> = match bare.clone() {
            Bare::Node(mut c) => cmd.query_async(&mut c).await,
            Bare::Cluster(mut c) => cmd.query_async(&mut c).await,
        };
        set.expect("SET");
        bare_keys.push(key);
    }
    // Some revocations, so the check does not look at an empty server.
    for i in 0..1_000 {
        list.revoke_token(&format!("revoked-{i}"), now + 3_600)
            .await
            .expect("revoke");
    }
    let auth = Authenticator::builder()
        .store(store)
        .revocations(list.clone())
        .sessions(
            SessionConfig::default().max_sessions_per_user(None, SessionLimitPolicy::EvictOldest),
        )
        .tokens(portcullis::jwt::TokenConfig::new(
            KeyRegistry::hs256("k1", &[7u8; 32]).expect("key"),
        ))
        .build()
        .expect("authenticator");
    let tokens = auth.tokens().expect("token mode").clone();
    let pair = tokens
        .issue("alice", &["user".into()])
        .await
        .expect("issue");
    Fixture {
        _server: server,
        nodes,
        auth: Arc::new(auth),
        tokens: Arc::new(tokens),
        list,
        cookies: Arc::new(cookies),
        access: Arc::new(pair.access_token),
        bare,
        bare_keys,
    }
}

fn rt_current() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn session_hit(auth: &Authenticator, cookie: &str) {
    let mut view = RequestView::new("GET");
    view.add_header("host", b"app.example");
    view.add_header("user-agent", b"bench/1.0");
    view.add_header("cookie", cookie.as_bytes());
    let out = auth.authenticate(&view).await;
    assert!(out.state.identity().is_some(), "session must authenticate");
}

fn criterion_benches(c: &mut Criterion) {
    let rt = rt_current();
    let f = rt.block_on(fixture());
    let mut group = c.benchmark_group("redis");
    let mut i = 0;
    group.bench_function("authenticate_session_hit", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 1) % f.cookies.len();
            let (auth, cookie) = (&f.auth, &f.cookies[i]);
            async move { session_hit(auth, cookie).await }
        });
    });
    let miss = format!("__Host-id={}", SessionId::generate().expect("rng").encode());
    group.bench_function("authenticate_session_miss", |b| {
        b.to_async(&rt).iter(|| async {
            let mut view = RequestView::new("GET");
            view.add_header("cookie", miss.as_bytes());
            f.auth.authenticate(&view).await
        });
    });
    group.bench_function("is_revoked", |b| {
        b.to_async(&rt).iter(|| async {
            let r = f.list.is_revoked("some-jti", None, "alice", 1).await;
            assert_eq!(r, Ok(false));
        });
    });
    group.bench_function("authenticate_bearer", |b| {
        b.to_async(&rt).iter(|| async {
            let id = f.tokens.authenticate(f.access.as_bytes()).await;
            assert!(id.is_ok());
        });
    });
    // The login path's throttle on Redis: one pipelined read of the three
    // counters, then three compare-and-sets for a failure. Each iteration
    // is another username and client, so nothing is throttled.
    let mut n = 0u32;
    let mut next = move || {
        n = n.wrapping_add(1);
        let mut view = RequestView::new("POST");
        view.set_peer_ip(std::net::Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff)).into());
        (view, format!("bench-user{n}"))
    };
    group.bench_function("throttle_attempt_check", |b| {
        b.to_async(&rt).iter(|| {
            let (view, user) = next();
            let auth = &f.auth;
            async move {
                let outcome = auth.authenticate(&view).await;
                portcullis::SessionHandle::new(outcome)
                    .login_attempt(&user)
                    .await
                    .is_ok()
            }
        });
    });
    group.bench_function("throttle_failed_attempt", |b| {
        b.to_async(&rt).iter(|| {
            let (view, user) = next();
            let auth = &f.auth;
            async move {
                let outcome = auth.authenticate(&view).await;
                let attempt = portcullis::SessionHandle::new(outcome)
                    .login_attempt(&user)
                    .await
                    .expect("not throttled");
                attempt.failed().await
            }
        });
    });
    group.finish();
    drop(f);
}

/// Record every call's latency: criterion reports means and medians, the
/// tail needs the raw samples.
fn latency_report(_: &mut Criterion) {
    let calls: usize = std::env::var("PORTCULLIS_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for (name, cluster) in [
        ("a local redis-server", false),
        ("a local Redis Cluster", true),
    ] {
        let f = rt.block_on(async {
            if cluster {
                cluster_fixture().await
            } else {
                fixture().await
            }
        });
        println!("\nper-call latency against {name} (loopback):");
        report(&rt, &f, calls);
    }
}

/// Commands every node has executed so far (`INFO commandstats`), each
/// asked over a connection of its own.
async fn commands_executed(nodes: &[String]) -> u64 {
    let mut total = 0;
    for url in nodes {
        let mut c = redis::Client::open(url.as_str())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("node");
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut c)
            .await
            .expect("info");
        total += info
            .split("calls=")
            .skip(1)
            .filter_map(|rest| rest.split(',').next()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}

/// Server-side commands per call of `op`, measured over `n` calls (the
/// `INFO` calls of the measurement itself taken out).
async fn commands_per_call<F: std::future::Future<Output = ()>>(
    f: &Fixture,
    n: u64,
    mut op: impl FnMut(u64) -> F,
) -> f64 {
    let before = commands_executed(&f.nodes).await;
    for i in 0..n {
        op(i).await;
    }
    let after = commands_executed(&f.nodes).await;
    (after - before - f.nodes.len() as u64) as f64 / n as f64
}

fn report(rt: &tokio::runtime::Runtime, f: &Fixture, calls: usize) {
    rt.block_on(async {
        let cookies = &f.cookies;
        let session = commands_per_call(f, 1_000, |i| {
            session_hit(&f.auth, &cookies[i as usize % cookies.len()])
        })
        .await;
        let revocation = commands_per_call(f, 1_000, |_| async {
            assert_eq!(f.list.is_revoked("some-jti", None, "alice", 1).await, Ok(false));
        })
        .await;
        println!(
            "redis commands per call: session authenticate {session:.2}, revocation check {revocation:.2} \
             (all sent at once: one round trip)"
        );
    });
    rt.block_on(async {
        // Warm up (scripts loaded, connection established, caches hot).
        for i in 0..1_000 {
            session_hit(&f.auth, &f.cookies[i % f.cookies.len()]).await;
            f.bare.get(&f.bare_keys[i % f.bare_keys.len()]).await;
        }
    });
    println!("sequential:");
    let kinds = [
        "bare GET (same server, same value size)",
        "session authenticate",
        "revocation check",
        "bearer authenticate (verify+revocation)",
    ];
    let p50 = rt.block_on(latency::interleaved(
        &kinds,
        ROUNDS,
        (calls / ROUNDS).max(1),
        |k, i| async move {
            match k {
                0 => f.bare.get(&f.bare_keys[i % f.bare_keys.len()]).await,
                1 => session_hit(&f.auth, &f.cookies[i % f.cookies.len()]).await,
                2 => {
                    let r = f.list.is_revoked("some-jti", None, "alice", 1).await;
                    assert_eq!(r, Ok(false));
                }
                _ => assert!(f.tokens.authenticate(f.access.as_bytes()).await.is_ok()),
            }
        },
    ));
    for k in 1..kinds.len() {
        latency::versus_bare(kinds[k], p50[k], p50[0], 1.3);
    }

    // 64 concurrent tasks share the one multiplexed connection.
    let tasks = 64;
    let per_task = (calls / tasks).max(1);
    let wall = Instant::now();
    let samples = rt.block_on(async {
        let mut handles = Vec::with_capacity(tasks);
        for t in 0..tasks {
            let (auth, cookies) = (f.auth.clone(), f.cookies.clone());
            handles.push(tokio::spawn(async move {
                let mut s = Vec::with_capacity(per_task);
                for i in 0..per_task {
                    let start = Instant::now();
                    session_hit(&auth, &cookies[(t * per_task + i) % cookies.len()]).await;
                    s.push(start.elapsed());
                }
                s
            }));
        }
        let mut all = Vec::with_capacity(tasks * per_task);
        for h in handles {
            all.extend(h.await.expect("task"));
        }
        all
    });
    latency::percentiles(
        "session authenticate, 64 concurrent tasks",
        samples,
        wall.elapsed(),
    );

    let wall = Instant::now();
    let samples = rt.block_on(async {
        let mut handles = Vec::with_capacity(tasks);
        for _ in 0..tasks {
            let list = f.list.clone();
            handles.push(tokio::spawn(async move {
                let mut s = Vec::with_capacity(per_task);
                for _ in 0..per_task {
                    let start = Instant::now();
                    let r = list.is_revoked("some-jti", None, "alice", 1).await;
                    s.push(start.elapsed());
                    assert_eq!(r, Ok(false));
                }
                s
            }));
        }
        let mut all = Vec::with_capacity(tasks * per_task);
        for h in handles {
            all.extend(h.await.expect("task"));
        }
        all
    });
    latency::percentiles(
        "revocation check, 64 concurrent tasks",
        samples,
        wall.elapsed(),
    );
}

criterion_group!(benches, criterion_benches, latency_report);
criterion_main!(benches);
