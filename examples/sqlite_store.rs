//! "Implement the trait for your own database": a complete `SessionStore`
//! over SQLite (rusqlite), checked by the conformance kit.
//!
//! For PostgreSQL and SQLite themselves, use the crate's own
//! `portcullis::sql::SqlStore` (features `postgres`, `sqlite`): it also
//! brings a revocation list and throttle counters, migrations and a purge
//! task. This example stays as the pattern for any other database, here
//! with a blocking driver.
//!
//! Run it: `cargo run --example sqlite_store --features conformance`
//! (it runs the kit against an in-memory SQLite database and prints `ok`).
//!
//! Notes for a real deployment: keep the connection in a pool, run the
//! blocking calls on `spawn_blocking` (done here), and delete expired rows
//! periodically (`DELETE FROM sessions WHERE expires_at <= ?`).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portcullis::{
    store::{SessionKey, SessionRecord, SessionStore},
    StoreError,
};
use rusqlite::{params, Connection, OptionalExtension};

/// Sessions in one SQLite table: the hashed key, the owner (indexed for
/// "log out everywhere"), the expiry, the version and the record as JSON.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Open (or create) the table in `conn`.
    pub fn new(conn: Connection) -> rusqlite::Result<Self> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS sessions (
                key        BLOB PRIMARY KEY,
                user_id    TEXT NOT NULL,
                expires_at INTEGER NOT NULL,
                version    INTEGER NOT NULL,
                record     TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);",
        )?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Run `f` on the connection off the async executor.
    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, i64) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| StoreError::Backend("poisoned".into()))?;
            // The wall clock, in the records' unit (seconds since the epoch).
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            f(&mut c, now)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn to_json(r: &SessionRecord) -> Result<String, StoreError> {
    serde_json::to_string(r).map_err(|e| StoreError::Backend(e.to_string()))
}

fn from_json(s: &str) -> Result<SessionRecord, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(e.to_string()))
}

fn secs(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let (key, record) = (*key, record.clone());
        self.with(move |c, now| {
            let tx = c.transaction().map_err(db)?;
            // An expired row under the same key may be replaced.
            tx.execute("DELETE FROM sessions WHERE key = ?1 AND expires_at <= ?2", params![&key.as_bytes()[..], now])
                .map_err(db)?;
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO sessions (key, user_id, expires_at, version, record) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![&key.as_bytes()[..], record.user_id.as_str(), secs(record.expires_at()), secs(record.version), to_json(&record)?],
                )
                .map_err(db)?;
            tx.commit().map_err(db)?;
            if inserted == 1 { Ok(()) } else { Err(StoreError::Collision) }
        })
        .await
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let key = *key;
        self.with(move |c, now| {
            let row: Option<(String, i64)> = c
                .query_row(
                    "SELECT record, version FROM sessions WHERE key = ?1 AND expires_at > ?2",
                    params![&key.as_bytes()[..], now],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            row.map(|(json, version)| {
                let mut r = from_json(&json)?;
                r.version = u64::try_from(version).unwrap_or(0);
                Ok(r)
            })
            .transpose()
        })
        .await
    }

    async fn update(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        let (key, record) = (*key, record.clone());
        self.with(move |c, now| {
            let next = record.version.wrapping_add(1);
            let mut stored = record.clone();
            stored.version = next;
            // The WHERE clause is the compare-and-set.
            let n = c
                .execute(
                    "UPDATE sessions SET record = ?1, version = ?2, expires_at = ?3
                     WHERE key = ?4 AND version = ?5 AND user_id = ?6 AND expires_at > ?7",
                    params![
                        to_json(&stored)?,
                        secs(next),
                        secs(stored.expires_at()),
                        &key.as_bytes()[..],
                        secs(record.version),
                        record.user_id.as_str(),
                        now
                    ],
                )
                .map_err(db)?;
            if n == 1 {
                Ok(next)
            } else {
                Err(StoreError::Conflict)
            }
        })
        .await
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let key = *key;
        self.with(move |c, now| {
            let live: bool = c
                .query_row(
                    "SELECT expires_at > ?2 FROM sessions WHERE key = ?1",
                    params![&key.as_bytes()[..], now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?
                .unwrap_or(false);
            c.execute(
                "DELETE FROM sessions WHERE key = ?1",
                params![&key.as_bytes()[..]],
            )
            .map_err(db)?;
            Ok(live)
        })
        .await
    }

    async fn delete_user(&self, user_id: &str) -> Result<usize, StoreError> {
        let user = user_id.to_owned();
        self.with(move |c, now| {
            let live: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM sessions WHERE user_id = ?1 AND expires_at > ?2",
                    params![user, now],
                    |r| r.get(0),
                )
                .map_err(db)?;
            c.execute("DELETE FROM sessions WHERE user_id = ?1", params![user])
                .map_err(db)?;
            Ok(usize::try_from(live).unwrap_or(0))
        })
        .await
    }

    async fn list_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        let user = user_id.to_owned();
        self.with(move |c, now| {
            let mut stmt = c
                .prepare("SELECT key, record, version FROM sessions WHERE user_id = ?1 AND expires_at > ?2")
                .map_err(db)?;
            let rows = stmt
                .query_map(params![user, now], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
                .map_err(db)?;
            let mut out = Vec::new();
            for row in rows {
                let (k, json, version) = row.map_err(db)?;
                let k: [u8; 32] = k.try_into().map_err(|_| StoreError::Backend("bad key".into()))?;
                let mut r = from_json(&json)?;
                r.version = u64::try_from(version).unwrap_or(0);
                out.push((SessionKey::from_bytes(k), r));
            }
            Ok(out)
        })
        .await
    }
}

#[allow(dead_code)] // also included by tests/sqlite_store.rs
#[tokio::main]
async fn main() {
    portcullis::store::conformance::run(|| async {
        SqliteStore::new(Connection::open_in_memory().expect("sqlite")).expect("schema")
    })
    .await;
    println!("ok: SqliteStore passes the portcullis store conformance kit");
}
