//! The example SQLite store passes the conformance kit.
#![cfg(feature = "conformance")]

#[path = "../examples/sqlite_store.rs"]
#[allow(dead_code)]
mod sqlite_store;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_conformance_kit() {
    portcullis::store::conformance::run(|| async {
        sqlite_store::SqliteStore::new(rusqlite::Connection::open_in_memory().unwrap()).unwrap()
    })
    .await;
}
