//! The SQL stores' hot paths against a local PostgreSQL (`initdb`/`pg_ctl`
//! into a temporary directory by the test helper) and a SQLite file.
//!
//! `cargo bench --bench sql --features postgres,sqlite,__internal` runs,
//! per backend:
//! - `sql/<backend>/bare_select`: the store's own `SELECT` of a session
//!   row, straight through an sqlx pool (the round trip to beat);
//! - `sql/<backend>/authenticate_session_hit`: a GET with a valid session
//!   cookie, 5,000 live sessions;
//! - `sql/<backend>/authenticate_bearer`: an HS256 token (cached
//!   verification) and its revocation check;
//! - then the round-trip accounting (statements per call, from sqlx's own
//!   per-statement events: `tests/support/sql_statements.rs`) and a
//!   manual loop, 5 interleaved rounds of the three, printing p50/p90/p99
//!   and the ratio of each p50 to the bare `SELECT`'s (target <= 1.3x).
//!
//! Set `PORTCULLIS_BENCH_CALLS` to change the manual loop's call count
//! (default 20 000 per kind).

#[path = "support/fixtures.rs"]
mod fixtures;
#[path = "support/latency.rs"]
mod latency;
#[path = "../tests/support/postgres_server.rs"]
mod postgres_server;
#[path = "../tests/support/sql_statements.rs"]
mod sql_statements;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use fixtures::record;
use portcullis::__private::{SessionId, SystemClock};
use portcullis::clock::Clock;
use portcullis::jwt::{KeyRegistry, TokenConfig};
use portcullis::sql::SqlStore;
use portcullis::store::{SessionKey, SessionStore};
use portcullis::{Authenticator, RequestView, SessionConfig, SessionLimitPolicy};
use sql_statements::counter;

const SESSIONS: usize = 5_000;
const ROUNDS: usize = 5;
const LOAD: &str =
    "SELECT version, record FROM portcullis_records WHERE key = $1 AND expires_at > $2";

/// The same pool a bare application would use, without a ping per
/// checkout (sqlx's default; the store does not ping either).
enum Bare {
    Pg(sqlx::PgPool),
    Lite(sqlx::SqlitePool),
}

/// The store's `SELECT` of one live row, as an application would run it.
macro_rules! load {
    ($pool:expr, $key:expr, $now:expr) => {
        sqlx::query_as::<_, (i64, String)>(LOAD)
            .bind($key.as_bytes().as_slice())
            .bind($now)
            .fetch_optional($pool)
            .await
    };
}

impl Bare {
    async fn select(&self, key: &SessionKey, now: i64) {
        let row = match self {
            Bare::Pg(p) => load!(p, key, now),
            Bare::Lite(p) => load!(p, key, now),
        };
        assert!(row.expect("bare select").is_some(), "the row is there");
    }
}

struct Fixture {
    name: &'static str,
    auth: Arc<Authenticator>,
    bare: Bare,
    /// `(key, cookie header)` of live sessions.
    sessions: Vec<(SessionKey, String)>,
    bearer: String,
    file: Option<PathBuf>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", f.display()));
            }
        }
    }
}

async fn fixture(name: &'static str) -> Fixture {
    let (url, file) = if name == "postgres" {
        (postgres_server::PgServer::shared().url(), None)
    } else {
        let file = std::env::temp_dir().join(format!("portcullis-bench-{}.db", std::process::id()));
        (format!("sqlite://{}", file.display()), Some(file))
    };
    let store = SqlStore::builder()
        .auto_migrate(true)
        .purge_interval(None)
        .timeout(Duration::from_secs(10))
        .connect(&url)
        .await
        .expect("connect");
    let now = SystemClock.now();
    let mut sessions = Vec::with_capacity(SESSIONS);
    for i in 0..SESSIONS {
        let id = SessionId::generate().expect("rng");
        let key = id.key();
        store
            .create(&key, &record(&format!("user{}", i % 2_500), now))
            .await
            .expect("create");
        sessions.push((key, format!("theme=dark; __Host-id={}", id.encode())));
    }
    let bare = if file.is_some() {
        Bare::Lite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(4)
                .test_before_acquire(false)
                .connect(&url)
                .await
                .expect("bare sqlite"),
        )
    } else {
        Bare::Pg(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(10)
                .test_before_acquire(false)
                .connect(&url)
                .await
                .expect("bare postgres"),
        )
    };
    let auth = Authenticator::builder()
        .store(Arc::new(store))
        .sessions(
            SessionConfig::default().max_sessions_per_user(None, SessionLimitPolicy::EvictOldest),
        )
        .tokens(TokenConfig::new(
            KeyRegistry::hs256("k1", &[7u8; 32]).expect("key"),
        ))
        .build()
        .expect("authenticator");
    let pair = auth
        .tokens()
        .expect("token mode")
        .issue("alice", &["user".into()])
        .await
        .expect("issue");
    Fixture {
        name,
        auth: Arc::new(auth),
        bare,
        sessions,
        bearer: format!("Bearer {}", pair.access_token),
        file,
    }
}

fn view<'a>(header: &'a str, value: &'a str) -> RequestView<'a> {
    let mut view = RequestView::new("GET");
    view.add_header("host", b"app.example");
    view.add_header("user-agent", b"bench/1.0");
    view.add_header(header, value.as_bytes());
    view
}

async fn authenticated(auth: &Authenticator, header: &str, value: &str) {
    let out = auth.authenticate(&view(header, value)).await;
    assert!(out.state.identity().is_some(), "{header} must authenticate");
}

fn now() -> i64 {
    i64::try_from(SystemClock.now()).unwrap_or(i64::MAX)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn criterion_benches(c: &mut Criterion) {
    let rt = runtime();
    for name in ["postgres", "sqlite"] {
        let f = rt.block_on(fixture(name));
        let mut group = c.benchmark_group(format!("sql/{name}"));
        let n = f.sessions.len();
        let mut i = 0;
        group.bench_function("bare_select", |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 1) % n;
                let (bare, key) = (&f.bare, &f.sessions[i].0);
                async move { bare.select(key, now()).await }
            });
        });
        group.bench_function("authenticate_session_hit", |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 1) % n;
                let (auth, cookie) = (&f.auth, &f.sessions[i].1);
                async move { authenticated(auth, "cookie", cookie).await }
            });
        });
        group.bench_function("authenticate_bearer", |b| {
            b.to_async(&rt)
                .iter(|| authenticated(&f.auth, "authorization", &f.bearer));
        });
        group.finish();
    }
}

/// Statements per call of `op`, reads and writes, over `calls` calls.
async fn accounting<F: std::future::Future<Output = ()>>(
    label: &str,
    calls: u64,
    mut op: impl FnMut(usize) -> F,
) {
    let ((), s) = counter()
        .count(async {
            for i in 0..calls {
                op(i as usize).await;
            }
        })
        .await;
    let per = |n: u64| n as f64 / calls as f64;
    println!(
        "  {label:<42} {:.2} statements per call ({:.2} SELECT, {:.2} writes, {:.2} other)",
        per(s.total()),
        per(s.reads),
        per(s.writes),
        per(s.other),
    );
}

fn latency_report(_: &mut Criterion) {
    let calls: usize = std::env::var("PORTCULLIS_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let per_round = (calls / ROUNDS).max(1);
    let rt = runtime();
    for name in ["postgres", "sqlite"] {
        let f = rt.block_on(fixture(name));
        println!("\n{}: round trips (sqlx statements) per call:", f.name);
        rt.block_on(async {
            let s = &f.sessions;
            // Warm every pooled connection's prepared statements first.
            for i in 0..200 {
                authenticated(&f.auth, "cookie", &s[i % s.len()].1).await;
                authenticated(&f.auth, "authorization", &f.bearer).await;
            }
            accounting("session authenticate", 1_000, |i| {
                authenticated(&f.auth, "cookie", &s[i % s.len()].1)
            })
            .await;
            accounting("bearer authenticate", 1_000, |_| {
                authenticated(&f.auth, "authorization", &f.bearer)
            })
            .await;
            accounting("bare SELECT", 1_000, |i| {
                f.bare.select(&s[i % s.len()].0, now())
            })
            .await;
        });

        println!("{}: per-call latency, sequential:", f.name);
        let kinds = ["bare SELECT", "session authenticate", "bearer authenticate"];
        let p50 = rt.block_on(latency::interleaved(&kinds, ROUNDS, per_round, |k, i| {
            let f = &f;
            async move {
                let (key, cookie) = &f.sessions[i % f.sessions.len()];
                match k {
                    0 => f.bare.select(key, now()).await,
                    1 => authenticated(&f.auth, "cookie", cookie).await,
                    _ => authenticated(&f.auth, "authorization", &f.bearer).await,
                }
            }
        }));
        latency::versus_bare(kinds[1], p50[1], p50[0], 1.3);
        latency::versus_bare(kinds[2], p50[2], p50[0], 1.3);
    }
}

criterion_group!(benches, criterion_benches, latency_report);
criterion_main!(benches);
