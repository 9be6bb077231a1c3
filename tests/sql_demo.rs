//! The axum demo with `DATABASE_URL`, over real HTTP: two instances on one
//! database behave as one service (the same checks as with Redis), a
//! session and a refresh family survive a restart of the server, and
//! PostgreSQL down (at start-up or mid-run) means 503, `/health` 200, and
//! recovery without restarting the demo.
//!
//! `cargo test --test sql_demo --features "postgres sqlite axum"`
#![cfg(all(feature = "postgres", feature = "sqlite", feature = "axum"))]

#[path = "support/axum_demo.rs"]
mod axum_demo;
#[path = "../examples/demo_axum.rs"]
mod demo_axum;
#[path = "support/demo_instances.rs"]
mod demo_instances;
#[path = "support/postgres_server.rs"]
mod postgres_server;

use demo_instances::{start, start_own_runtime, Instance};
use postgres_server::PgServer;
use reqwest::StatusCode;

/// A fresh SQLite file, removed afterwards.
struct SqliteFile(std::path::PathBuf);

impl SqliteFile {
    fn new() -> SqliteFile {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("OS RNG");
        let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
        SqliteFile(std::env::temp_dir().join(format!("portcullis-demo-{name}.db")))
    }
    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
        }
    }
}

async fn pair(url: &str) -> (Instance, Instance) {
    (
        start(("DATABASE_URL", url)).await,
        start(("DATABASE_URL", url)).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_sqlite_are_one_service() {
    let db = SqliteFile::new();
    let (a, b) = pair(&db.url()).await;
    demo_instances::share_sessions_tokens_and_revocations(&a, &b).await;
    demo_instances::concurrent_refreshes_have_one_winner(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_postgres_are_one_service() {
    let server = PgServer::start();
    let (a, b) = pair(&server.url()).await;
    demo_instances::share_sessions_tokens_and_revocations(&a, &b).await;
    demo_instances::concurrent_refreshes_have_one_winner(&a, &b).await;
}

/// Log in (session and tokens) on one server, stop it, start another on
/// the same database: the cookie and the refresh token still work.
fn survives_a_restart(url: &str) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let first = start_own_runtime(("DATABASE_URL", url));
    let (session, (access, refresh)) =
        rt.block_on(async { (first.login("alice").await, first.tokens("alice").await) });
    assert_eq!(rt.block_on(first.me(&session)), 200);
    first.stop();

    let second = start_own_runtime(("DATABASE_URL", url));
    rt.block_on(async {
        assert_eq!(
            second.me(&session).await,
            200,
            "the session survived the restart"
        );
        assert_eq!(second.jwt_me(&access).await, 200, "the access token too");
        let res = second.refresh(&refresh).await;
        assert_eq!(res.status(), 200, "the refresh family survived the restart");
        // And what the first server revoked stays revoked.
        let res = second
            .post(
                "/session/logout",
                &[("cookie", &session.cookie), ("x-csrf-token", &session.csrf)],
                None,
            )
            .await;
        assert_eq!(res.status(), 204);
    });
    second.stop();
    let third = start_own_runtime(("DATABASE_URL", url));
    assert_eq!(
        rt.block_on(third.me(&session)),
        401,
        "a logout survives the restart too"
    );
    third.stop();
}

#[test]
fn a_session_and_a_refresh_family_survive_a_restart_on_sqlite() {
    let db = SqliteFile::new();
    survives_a_restart(&db.url());
}

#[test]
fn a_session_and_a_refresh_family_survive_a_restart_on_postgres() {
    let server = PgServer::start();
    survives_a_restart(&server.url());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_outage_answers_503_and_recovers_without_restarting_the_servers() {
    let server = PgServer::start();
    let (a, b) = pair(&server.url()).await;
    let s = a.login("alice").await;
    let (access, refresh) = b.tokens("alice").await;
    assert_eq!(b.me(&s).await, 200);

    server.stop();
    demo_instances::during_outage(&[&a, &b], &s, &access, &refresh).await;

    server.restart(); // same data: what was written before is still there
    assert_eq!(a.me(&s).await, 200, "the session from before the outage");
    assert_eq!(b.jwt_me(&access).await, 200);
    demo_instances::after_recovery(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_down_at_start_up_does_not_stop_the_demo() {
    let server = PgServer::start();
    server.stop();
    let a = start(("DATABASE_URL", &server.url())).await;
    assert_eq!(a.get("/health", &[]).await, 200);
    assert_eq!(
        a.try_login("alice").await.err(),
        Some(StatusCode::SERVICE_UNAVAILABLE),
        "no database yet: 503"
    );
    server.restart();
    // The schema is created when the database is first reached.
    let s = a.login("alice").await;
    assert_eq!(a.me(&s).await, 200);
}

#[test]
fn one_store_url_and_a_known_scheme_or_the_demo_does_not_start() {
    use demo_axum::common::Settings;
    let both = Settings::from_vars(&|k| match k {
        "REDIS_URL" => Some("redis://127.0.0.1:1/".into()),
        "DATABASE_URL" => Some("sqlite://x.db".into()),
        _ => None,
    });
    assert!(both.is_err_and(|e| e.contains("at most one")));
    let unknown = Settings::from_vars(&|k| {
        (k == "DATABASE_URL").then(|| "mysql://root:hunter2@db/app".to_owned())
    });
    let e = unknown.err().unwrap_or_default();
    assert!(e.contains("DATABASE_URL") && !e.contains("hunter2"), "{e}");
}
