//! The SQL stores' hot paths in round trips, counted from sqlx's own
//! per-statement events (`tests/support/sql_statements.rs`): a request with
//! a session cookie or a bearer token is exactly one `SELECT`, and writes
//! nothing while nothing changed; the rolling refresh writes once per
//! interval. On PostgreSQL (a cluster started for this binary) and SQLite.
//!
//! `cargo test --test sql_round_trips --features "postgres sqlite"`.
#![cfg(all(feature = "postgres", feature = "sqlite"))]

#[path = "support/postgres_server.rs"]
mod postgres_server;
#[path = "support/sql_statements.rs"]
mod sql_statements;

use std::sync::Arc;
use std::time::Duration;

use portcullis::clock::ManualClock;
use portcullis::jwt::{KeyRegistry, TokenConfig};
use portcullis::sql::SqlStore;
use portcullis::{Authenticator, RequestView, SessionConfig, SessionHandle};
use postgres_server::PgServer;
use sql_statements::{counter, Statements};

/// The counter is process-wide: one backend at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CALLS: u64 = 50;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

async fn app(url: &str, prefix: &str, clock: &ManualClock) -> Authenticator {
    let store = SqlStore::builder()
        .table_prefix(prefix)
        .clock(clock.clone())
        .purge_interval(None)
        // One connection, opened by the login: a pool opening another
        // mid-count (sqlx returns connections asynchronously, so a loaded
        // machine may) would add SQLite's connection PRAGMAs to the count.
        .max_connections(1)
        .auto_migrate(true)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    Authenticator::builder()
        .store(Arc::new(store))
        .clock(clock.clone())
        .sessions(SessionConfig::default().rolling_interval(Duration::from_secs(60)))
        .tokens(TokenConfig::new(
            KeyRegistry::hs256("k1", &[42u8; 32]).expect("key"),
        ))
        .build()
        .unwrap_or_else(|e| panic!("authenticator: {e}"))
}

fn request<'a>(header: &'a str, value: &'a str) -> RequestView<'a> {
    let mut view = RequestView::new("GET");
    view.add_header("host", b"app.example");
    view.add_header(header, value.as_bytes());
    view
}

/// The statements of `CALLS` requests carrying `header: value`, each of
/// which must authenticate.
async fn counted(auth: &Authenticator, header: &str, value: &str) -> Statements {
    let view = request(header, value);
    let ((), n) = counter()
        .count(async {
            for _ in 0..CALLS {
                let out = auth.authenticate(&view).await;
                assert!(out.state.identity().is_some(), "{header} authenticates");
            }
        })
        .await;
    n
}

/// [`counted`], once the connection has prepared the statement.
async fn per_request(auth: &Authenticator, header: &str, value: &str) -> Statements {
    let view = request(header, value);
    for _ in 0..5 {
        let out = auth.authenticate(&view).await;
        assert!(out.state.identity().is_some(), "{header} authenticates");
    }
    counted(auth, header, value).await
}

async fn hot_paths(url: &str, prefix: &str) {
    let _one = ONE_AT_A_TIME.lock().await;
    let clock = ManualClock::new(now());
    let auth = app(url, prefix, &clock).await;

    let outcome = auth.authenticate(&RequestView::new("POST")).await;
    SessionHandle::new(outcome.clone())
        .login("alice", vec!["user".into()])
        .await
        .expect("login");
    let cookie = outcome
        .take_response_headers()
        .find_map(|(n, v)| (n == "set-cookie").then_some(v))
        .and_then(|v| v.split(';').next().map(str::to_owned))
        .expect("a session cookie");

    let session = per_request(&auth, "cookie", &cookie).await;
    assert_eq!(
        session,
        Statements {
            reads: CALLS,
            writes: 0,
            other: 0
        },
        "a session request is one SELECT and no write (saw {:?})",
        counter().non_reads()
    );

    // Past the rolling interval the first request writes the new idle
    // deadline once (one compare-and-set); the others read.
    clock.advance(Duration::from_secs(61));
    let rolled = counted(&auth, "cookie", &cookie).await;
    assert_eq!(
        rolled,
        Statements {
            reads: CALLS,
            writes: 1,
            other: 0
        },
        "the rolling refresh writes once per interval (saw {:?})",
        counter().non_reads()
    );

    let pair = auth
        .tokens()
        .expect("tokens")
        .issue("alice", &["user".into()])
        .await
        .expect("issue");
    let bearer = per_request(
        &auth,
        "authorization",
        &format!("Bearer {}", pair.access_token),
    )
    .await;
    assert_eq!(
        bearer,
        Statements {
            reads: CALLS,
            writes: 0,
            other: 0
        },
        "a bearer request is one revocation SELECT (cached verification or not) and no write (saw {:?})",
        counter().non_reads()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_hot_paths_are_one_select_and_no_write() {
    hot_paths(&PgServer::shared().url(), "rt_").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_hot_paths_are_one_select_and_no_write() {
    let file = std::env::temp_dir().join(format!(
        "portcullis-round-trips-{}-{}.db",
        std::process::id(),
        now()
    ));
    hot_paths(&format!("sqlite://{}", file.display()), "portcullis_").await;
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", file.display()));
    }
}
