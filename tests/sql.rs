//! The SQL stores against real databases: a PostgreSQL cluster started for
//! this test binary (`initdb`/`pg_ctl` into a temporary directory, free
//! loopback port) and SQLite files. Every check runs on both backends;
//! each test has its own table prefix (PostgreSQL) or file (SQLite).
//!
//! `cargo test --test sql --features "postgres sqlite conformance"` (needs
//! Debian's `postgresql`; scripts/test.sh installs it; nothing is skipped).
#![cfg(all(feature = "postgres", feature = "sqlite", feature = "conformance"))]

#[path = "support/postgres_server.rs"]
mod postgres_server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::clock::ManualClock;
use portcullis::jwt::{KeyRegistry, TokenConfig};
use portcullis::sql::{SqlStore, SqlStoreBuilder};
use portcullis::store::{conformance, RecordKind, SessionKey, SessionRecord, SessionStore};
use portcullis::{
    Authenticator, LoginThrottle, RequestView, SessionConfig, SessionHandle, SessionLimitPolicy,
    StoreError,
};
use postgres_server::PgServer;
use sqlx::Row as _;

/// One test's database: a PostgreSQL prefix or a SQLite file.
struct Db {
    url: String,
    prefix: String,
    file: Option<PathBuf>,
}

fn tag() -> String {
    let k = SessionKey::from_bytes(rand32());
    format!("t{}", &k.to_hex()[..12])
}

fn rand32() -> [u8; 32] {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("OS RNG");
    b
}

impl Db {
    fn postgres() -> Db {
        Db {
            url: PgServer::shared().url(),
            prefix: format!("{}_", tag()),
            file: None,
        }
    }

    fn sqlite() -> Db {
        let file = std::env::temp_dir().join(format!("portcullis-{}.db", tag()));
        Db {
            url: format!("sqlite://{}", file.display()),
            prefix: "portcullis_".into(),
            file: Some(file),
        }
    }

    fn builder(&self) -> SqlStoreBuilder {
        let builder = SqlStore::builder().table_prefix(&self.prefix);
        if self.file.is_some() {
            // SQLite has one writer at a time and fsyncs every commit: the
            // kit's 32 concurrent writers on a loaded 2-core CI machine can
            // queue past the default 1 s.
            builder.timeout(Duration::from_secs(10))
        } else {
            builder
        }
    }

    async fn store(&self) -> SqlStore {
        self.builder()
            .auto_migrate(true)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"))
    }

    /// A raw query's first column as text, through a connection of our own.
    async fn raw(&self, sql: &str) -> Vec<String> {
        let sql = sql.replace("{p}", &self.prefix);
        let sql = sqlx::AssertSqlSafe(sql);
        if self.file.is_some() {
            let pool = sqlx::SqlitePool::connect(&self.url)
                .await
                .expect("raw sqlite");
            let rows = sqlx::query(sql).fetch_all(&pool).await.expect("raw query");
            rows.iter()
                .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
                .collect()
        } else {
            let pool = sqlx::PgPool::connect(&self.url)
                .await
                .expect("raw postgres");
            let rows = sqlx::query(sql).fetch_all(&pool).await.expect("raw query");
            rows.iter()
                .map(|r| r.try_get::<String, _>(0).unwrap_or_default())
                .collect()
        }
    }

    async fn count(&self, table: &str) -> usize {
        let n = self
            .raw(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM {{p}}{table}"))
            .await;
        n.first().and_then(|n| n.parse().ok()).unwrap_or(usize::MAX)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", f.display()));
            }
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// An application over the store: sessions capped at `cap`, tokens.
fn app(store: SqlStore, cap: usize) -> Authenticator {
    let store: Arc<dyn SessionStore> = Arc::new(store);
    Authenticator::builder()
        .store(store)
        .sessions(
            SessionConfig::default()
                .max_sessions_per_user(Some(cap), SessionLimitPolicy::EvictOldest),
        )
        .login_throttle(LoginThrottle::default())
        .tokens(TokenConfig::new(
            KeyRegistry::hs256("k1", &[42u8; 32]).expect("key"),
        ))
        .build()
        .unwrap_or_else(|e| panic!("authenticator: {e}"))
}

/// A session login; false when `max` newer logins of the user won the
/// race for the cap (403, the only refusal allowed here).
async fn session_login(auth: &Authenticator, user: &str) -> bool {
    let outcome = auth.authenticate(&RequestView::new("POST")).await;
    match SessionHandle::new(outcome)
        .login(user, vec!["user".into()])
        .await
    {
        Ok(_) => true,
        Err(r) if r.kind() == portcullis::RejectionKind::TooManySessions => false,
        Err(r) => panic!("login: {r:?}"),
    }
}

// ------------------------------------------------------------ the checks

async fn store_kit(db: Db) {
    conformance::run(|| db.store()).await;
}

async fn revocation_kit(db: Db) {
    conformance::run_revocation_list(|| async {
        let store = db.store().await;
        store
            .revocation_list(Duration::from_secs(86_400))
            .expect("a SQL store brings a revocation list")
    })
    .await;
}

/// The database holds hashes, never a usable session ID or refresh token.
async fn no_usable_secret_is_stored(db: Db) {
    let auth = app(db.store().await, 5);
    let pair = auth
        .tokens()
        .expect("tokens")
        .issue("alice", &["user".into()])
        .await
        .expect("issue");
    let rows = db
        .raw("SELECT record FROM {p}records WHERE user_id = 'alice'")
        .await;
    assert_eq!(rows.len(), 1, "one refresh family");
    let secret_part = pair.refresh_token.rsplit('.').next().unwrap_or_default();
    assert!(secret_part.len() > 20, "{}", pair.refresh_token);
    assert!(
        !rows[0].contains(secret_part),
        "the refresh secret is never stored"
    );
    assert!(!rows[0].contains(&pair.refresh_token));
}

/// Expired rows are invisible at once and purged later in bounded batches,
/// from all three tables.
async fn expired_rows_are_invisible_then_purged(db: Db) {
    let t = now();
    let clock = ManualClock::new(t);
    let store = db
        .builder()
        .clock(clock.clone())
        .purge_interval(None)
        .purge_batch(2)
        .auto_migrate(true)
        .connect(&db.url)
        .await
        .expect("connect");
    let mut keys = Vec::new();
    for i in 0..5 {
        let k = SessionKey::from_bytes(rand32());
        let r = SessionRecord::new(format!("u{i}"), t, 10, 100);
        store.create(&k, &r).await.expect("create");
        keys.push(k);
    }
    let live = SessionKey::from_bytes(rand32());
    store
        .create(&live, &SessionRecord::new("stays", t, 1_000, 10_000))
        .await
        .expect("create");
    let list = store.revocation_list(Duration::from_secs(5)).expect("list");
    list.revoke_token("j1", t + 10).await.expect("revoke");
    list.revoke_subject_before("s1", t * 1000)
        .await
        .expect("cut-off");
    let attempts = store_attempts(&store);
    attempts
        .compare_and_set("counter", 0, b"1", Duration::from_secs(10))
        .await
        .expect("counter");

    clock.advance(Duration::from_secs(20));
    for k in &keys {
        assert!(
            store.load(k).await.expect("load").is_none(),
            "expired: invisible"
        );
    }
    assert!(!list.is_revoked("j1", None, "x", 0).await.expect("check"));
    assert!(attempts.load(&["counter".into()]).await.expect("load")[0].is_none());
    assert_eq!(db.count("records").await, 6, "not purged yet");

    let purged = store.purge_expired().await.expect("purge");
    assert_eq!(purged, 5 + 2 + 1, "sessions, revocations and the counter");
    assert_eq!(db.count("records").await, 1);
    assert_eq!(db.count("revocations").await, 0);
    assert_eq!(db.count("attempts").await, 0);
    assert!(
        store.load(&live).await.expect("load").is_some(),
        "the live one stays"
    );
    assert_eq!(store.purge_expired().await.expect("purge"), 0);
}

fn store_attempts(store: &SqlStore) -> Arc<dyn portcullis::store::AttemptStore> {
    store
        .attempt_store()
        .expect("a SQL store brings counter storage")
}

/// Two instances (two pools) refreshing one token at once: one winner.
async fn concurrent_refreshes_have_one_winner(db: Db) {
    let a = Arc::new(app(db.store().await, 5));
    let b = Arc::new(app(db.store().await, 5));
    for round in 0..10 {
        let pair = a
            .tokens()
            .expect("tokens")
            .issue("alice", &[])
            .await
            .expect("issue");
        let (ta, tb) = (a.clone(), b.clone());
        let (ra, rb) = (pair.refresh_token.clone(), pair.refresh_token);
        let ha = tokio::spawn(async move { ta.tokens().expect("tokens").refresh(&ra).await });
        let hb = tokio::spawn(async move { tb.tokens().expect("tokens").refresh(&rb).await });
        let (x, y) = (ha.await.expect("task"), hb.await.expect("task"));
        assert_eq!(
            usize::from(x.is_ok()) + usize::from(y.is_ok()),
            1,
            "round {round}: exactly one concurrent refresh wins ({x:?} / {y:?})"
        );
    }
}

/// Concurrent logins of one user on two instances end at the cap.
async fn the_cap_holds_under_concurrent_logins(db: Db) {
    let a = Arc::new(app(db.store().await, 3));
    let b = Arc::new(app(db.store().await, 3));
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let auth = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { session_login(&auth, "capped").await })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.expect("task"));
    }
    assert!(won >= 3, "at least the cap's worth of logins win: {won}");
    let store = db.store().await;
    let live = store
        .list_user_kind("capped", RecordKind::Session)
        .await
        .expect("list");
    assert_eq!(live.len(), 3, "the per-user cap holds across instances");
}

/// Instances migrating at once: one applies, the others find it done.
async fn concurrent_migrations_apply_once(db: Db) {
    let stores: Vec<SqlStore> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(db.builder().connect_lazy(&db.url).expect("store"));
        }
        v
    };
    let runs: Vec<_> = stores
        .iter()
        .cloned()
        .map(|s| tokio::spawn(async move { s.migrate().await }))
        .collect();
    let mut applied = 0;
    for r in runs {
        applied += r.await.expect("task").expect("migrate");
    }
    assert_eq!(applied, 1, "exactly one instance applies the one migration");
    assert_eq!(
        stores[0].migrate().await.expect("migrate"),
        0,
        "then nothing to do"
    );
    assert_eq!(db.count("migrations").await, 1);
}

/// Without migrations, a statement says what to do.
async fn missing_tables_say_run_migrate(db: Db) {
    let store = db.builder().connect_lazy(&db.url).expect("store");
    match store.load(&SessionKey::from_bytes([1; 32])).await {
        Err(StoreError::Backend(m)) => assert!(m.contains("migrate"), "{m}"),
        other => panic!("expected a Backend error naming migrate, got {other:?}"),
    }
}

/// A store reopened on the same database sees what the last one wrote.
async fn records_survive_a_new_store(db: Db) {
    let k = SessionKey::from_bytes(rand32());
    {
        let store = db.store().await;
        store
            .create(&k, &SessionRecord::new("alice", now(), 600, 3_600))
            .await
            .expect("create");
    }
    let again = db.store().await;
    let got = again.load(&k).await.expect("load").expect("still there");
    assert_eq!(got.user_id, "alice");
}

macro_rules! on_both {
    ($($check:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(super::Db::postgres()).await;
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    super::$check(super::Db::sqlite()).await;
                }
            )*
        }
    };
}

on_both!(
    store_kit,
    revocation_kit,
    no_usable_secret_is_stored,
    expired_rows_are_invisible_then_purged,
    concurrent_refreshes_have_one_winner,
    the_cap_holds_under_concurrent_logins,
    concurrent_migrations_apply_once,
    missing_tables_say_run_migrate,
    records_survive_a_new_store,
);

// ------------------------------------------------------- one backend only

#[tokio::test]
async fn settings_are_validated_and_secrets_never_echo() {
    for (builder, url, expect) in [
        (
            SqlStore::builder().table_prefix("Bad-Prefix"),
            "sqlite://x.db",
            "prefix",
        ),
        (
            SqlStore::builder().schema("a;b"),
            "postgres://h/db",
            "schema",
        ),
        (SqlStore::builder(), "mysql://root:hunter2@h/db", "scheme"),
        (SqlStore::builder(), "sqlite::memory:", "in-memory"),
        (
            SqlStore::builder().schema("auth"),
            "sqlite://x.db",
            "schema",
        ),
        (
            SqlStore::builder(),
            "postgres://bob:hunter2@[::1/db",
            "parse",
        ),
    ] {
        let e = builder.connect_lazy(url).map(|_| ()).unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(text.contains(expect), "{url}: {text}");
        assert!(!text.contains("hunter2"), "{url}: {text}");
    }
    // A server that refuses: Unavailable, fast, without the password.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let url = format!("postgres://bob:hunter2@127.0.0.1:{port}/db");
    let t = Instant::now();
    let e = SqlStore::connect(&url).await.map(|_| ()).unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(!format!("{e} {e:?}").contains("hunter2"));
    let store = SqlStore::builder().connect_lazy(&url).expect("lazy");
    assert!(!format!("{store:?}").contains("hunter2"), "{store:?}");
    assert!(!format!("{store:?}").contains("bob"), "{store:?}");
}

/// PostgreSQL: the tables go to the configured schema.
#[tokio::test]
async fn postgres_schema_holds_the_tables() {
    let db = Db::postgres();
    let schema = tag();
    db.raw(&format!("CREATE SCHEMA {schema}")).await;
    let store = db
        .builder()
        .schema(&schema)
        .auto_migrate(true)
        .connect(&db.url)
        .await
        .expect("connect");
    store
        .create(
            &SessionKey::from_bytes(rand32()),
            &SessionRecord::new("a", now(), 60, 600),
        )
        .await
        .expect("create");
    let tables = db
        .raw(&format!(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = '{schema}' ORDER BY table_name"
        ))
        .await;
    let want: Vec<String> = ["attempts", "migrations", "records", "revocations"]
        .iter()
        .map(|t| format!("{}{t}", db.prefix))
        .collect();
    assert_eq!(tables, want);
}

/// PostgreSQL: a row locked by someone else makes the statement time out
/// (the pool is not stuck), and the store goes on afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_slow_statements_time_out() {
    let db = Db::postgres();
    let store = db
        .builder()
        .timeout(Duration::from_millis(300))
        .auto_migrate(true)
        .connect(&db.url)
        .await
        .expect("connect");
    let k = SessionKey::from_bytes(rand32());
    store
        .create(&k, &SessionRecord::new("slow", now(), 600, 3_600))
        .await
        .expect("create");
    let rec = store.load(&k).await.expect("load").expect("there");
    let pool = sqlx::PgPool::connect(&db.url).await.expect("raw");
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT 1 FROM {}records FOR UPDATE",
        db.prefix
    )))
    .execute(&mut *tx)
    .await
    .expect("lock");
    let t = Instant::now();
    assert_eq!(store.update(&k, &rec).await, Err(StoreError::Timeout));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // Let the server's own statement_timeout cancel the abandoned UPDATE
    // before the lock goes (else it may still commit after the rollback).
    tokio::time::sleep(Duration::from_millis(400)).await;
    tx.rollback().await.expect("rollback");
    let rec = store.load(&k).await.expect("load").expect("there");
    store
        .update(&k, &rec)
        .await
        .expect("after the lock is gone");
}

/// PostgreSQL down: Unavailable fast; back: the same store works again,
/// data intact; a store made lazily while it was down migrates on first
/// reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_fails_closed_and_recovers() {
    let server = PgServer::start();
    let url = server.url();
    let store = SqlStore::builder()
        .auto_migrate(true)
        .connect(&url)
        .await
        .expect("connect");
    // Several pooled connections, idle when the server goes.
    let reads: Vec<_> = (0..6)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.load(&SessionKey::from_bytes([3; 32])).await })
        })
        .collect();
    for r in reads {
        r.await.expect("task").expect("load");
    }
    let k = SessionKey::from_bytes(rand32());
    store
        .create(&k, &SessionRecord::new("alice", now(), 600, 3_600))
        .await
        .expect("create");

    server.stop();
    let lazy = SqlStore::builder()
        .table_prefix("late_")
        .auto_migrate(true)
        .connect_lazy(&url)
        .expect("a lazy store builds with the database down");
    for s in [&store, &lazy] {
        let t = Instant::now();
        let e = s.load(&k).await.unwrap_err();
        assert!(e.is_unavailable(), "{e:?}");
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }

    server.restart();
    // Writes on the pool's connections from before the restart: each of
    // them reads the server's shutdown notice, so none ran and each is
    // tried again on a fresh connection.
    for i in 0..6 {
        let key = SessionKey::from_bytes(rand32());
        store
            .create(
                &key,
                &SessionRecord::new(format!("after-{i}"), now(), 600, 3_600),
            )
            .await
            .unwrap_or_else(|e| panic!("write {i} after the restart: {e:?}"));
    }
    let got = store
        .load(&k)
        .await
        .expect("the first call after the restart");
    assert_eq!(
        got.map(|r| r.user_id).as_deref(),
        Some("alice"),
        "data intact"
    );
    assert!(lazy
        .load(&k)
        .await
        .expect("migrated on first reach")
        .is_none());
}
