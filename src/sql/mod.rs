//! SQL stores (features `postgres` and `sqlite`): sessions, refresh-token
//! families, revocations and login-throttle counters in PostgreSQL or in a
//! SQLite file, so a SQL shop needs no Redis and no store code of its own.
//!
//! One type, [`SqlStore`], serves both backends; the URL picks one
//! (`postgres://...`, `sqlite://PATH`). It implements
//! [`SessionStore`](crate::store::SessionStore) and brings a
//! [`RevocationList`](crate::jwt::RevocationList) and login-throttle
//! storage on the same database, so an
//! [`Authenticator`](crate::Authenticator) given the store shares all of
//! its state with every instance that points at the same database.
//!
//! ```no_run
//! use std::sync::Arc;
//! use portcullis::sql::SqlStore;
//! use portcullis::Authenticator;
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqlStore::connect("postgres://app:secret@db.internal/app").await?;
//! store.migrate().await?; // creates or updates the tables
//! let auth = Authenticator::builder().store(Arc::new(store)).build()?;
//! # let _ = auth;
//! # Ok(()) }
//! ```
//!
//! # Schema and migrations
//!
//! Three tables, `<prefix>records`, `<prefix>revocations` and
//! `<prefix>attempts` (default prefix `portcullis_`), and
//! `<prefix>migrations`, which records the applied versions.
//! [`SqlStore::migrate`] applies the versions a database lacks, in one
//! transaction that concurrent instances wait for (PostgreSQL: an advisory
//! lock; SQLite: `BEGIN IMMEDIATE`); [`SqlStoreBuilder::auto_migrate`] does
//! it when the database is first reached. Teams that run migrations
//! themselves find the same SQL in the crate's `src/sql/migrations/`
//! (`postgres/` and `sqlite/`, one file per version; replace the
//! `portcullis_` prefix if they use another).
//!
//! # Correctness across instances
//!
//! - A record's row holds its user, kind and expiry beside its JSON, so the
//!   per-user index is the row itself and cannot disagree with it.
//! - `update` is a compare-and-set: `UPDATE ... WHERE version = $n`; zero
//!   rows is a conflict. Two instances rotating one refresh token: one wins.
//! - The per-user cap needs no lock: every login creates its record, then
//!   lists the user's records and ends the ones past the cap in one order
//!   all instances agree on (creation time, then key), so the login that
//!   commits last sees every record and trims to the cap. A row lock or a
//!   serialisable transaction would only make concurrent logins of one user
//!   wait for each other.
//! - Revocations are rows read on every check, with no cache: a revocation
//!   committed on one instance is refused on every other at once. A
//!   subject's cut-off keeps the latest instant.
//! - Expired rows are invisible at once (every statement compares the
//!   expiry with the store's clock) and deleted later in bounded batches
//!   ([`SqlStore::purge_expired`], and a background task every minute by
//!   default).
//!
//! # Failures
//!
//! A pool (default 10 connections; SQLite 4) with a bound on acquiring a
//! connection and on every statement (default 1 s, PostgreSQL's
//! `statement_timeout` too); past it, [`StoreError::Timeout`] (a write that
//! timed out may still have been applied, like any write whose answer was
//! lost; compare-and-set keeps a retry safe). A database that is down
//! answers [`StoreError::Timeout`] or [`StoreError::Unavailable`] after the
//! connect timeout; after that one call at a time tries again while the
//! others fail at once, and the first that gets through ends the outage.
//! The callers fail closed (503) and the pool reconnects by itself. A read that finds its pooled connection dead (the
//! server restarted) is tried once more on a fresh one, and for a few
//! seconds the pool pings connections before handing them out, so the
//! other dead ones go too; a write is tried again only when the server had
//! certainly not run it. Errors name the backend and the kind of failure,
//! never the URL, password or a value.
//!
//! # Security
//!
//! Records are keyed by the SHA-256 of the session ID, so a leaked database
//! holds no usable session IDs or refresh tokens. TLS to PostgreSQL is
//! sqlx's (`sslmode=verify-full` in the URL, with one of sqlx's
//! `tls-rustls-*` features enabled in your own `Cargo.toml`).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::clock::SharedClock;
use crate::error::StoreError;

mod attempts;
mod builder;
mod call;
mod driver;
mod purge;
mod revocation;
mod statements;
mod store;

pub use builder::SqlStoreBuilder;

use call::{Health, Retry};
use driver::Driver;
use statements::{Dialect, Statements};

/// A [`SessionStore`](crate::store::SessionStore) in PostgreSQL or SQLite,
/// shared by every server instance that points at the same database and
/// table prefix; see the [module docs](self).
///
/// Cloning is cheap and shares the pool.
///
/// ```no_run
/// use std::time::Duration;
/// use portcullis::sql::SqlStore;
/// # async fn demo() -> Result<(), portcullis::StoreError> {
/// let store = SqlStore::builder()
///     .table_prefix("auth_")
///     .timeout(Duration::from_millis(500))
///     .auto_migrate(true)
///     .connect("sqlite://./sessions.db")
///     .await?;
/// # let _ = store;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SqlStore").field(&self.shared).finish()
    }
}

/// What a store and the revocation list and counters made from it share.
pub(crate) struct Shared {
    driver: Box<dyn Driver>,
    sql: Statements,
    dialect: Dialect,
    timeout: Duration,
    clock: SharedClock,
    /// Migrate before the first statement that reaches the database.
    auto_migrate: bool,
    /// Rows one purge statement deletes at most.
    purge_batch: u32,
    migrated: AtomicBool,
    migrating: tokio::sync::Mutex<()>,
    /// Shared with the pool's hook: dead connections, unreachable database.
    health: Arc<Health>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the pool: its options name the server and the user.
        f.debug_struct("Sql")
            .field("backend", &self.dialect.name())
            .field("tables", &self.sql.migrations_table)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A bound on one migration run (it may create tables and indexes, or
/// wait for another instance's run).
const MIGRATE_TIMEOUT: Duration = Duration::from_secs(30);

impl Shared {
    /// With `auto_migrate`, migrate before the first statement: one run
    /// at a time (the requests arriving meanwhile wait for it, at most the
    /// store's timeout), again after a failed one.
    pub(crate) async fn ensure_migrated(&self) -> Result<(), StoreError> {
        if !self.auto_migrate || self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        let Ok(_one) = tokio::time::timeout(self.timeout, self.migrating.lock()).await else {
            return Err(StoreError::Timeout);
        };
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        self.migrate().await.map(|_| ())
    }

    async fn migrate(&self) -> Result<usize, StoreError> {
        let (table, steps) = (&self.sql.migrations_table, &self.sql.steps);
        // A migration is one transaction that finds what is applied: safe
        // to run again.
        let deadline = tokio::time::Instant::now() + MIGRATE_TIMEOUT;
        let mut pause = Duration::from_millis(20);
        let applied = loop {
            let run = self.run(Retry::Safe, MIGRATE_TIMEOUT, || {
                self.driver.migrate(table, steps)
            });
            match run.await {
                // Busy: another instance is migrating, or (SQLite) opening
                // the new file in WAL mode. Wait for it, within the bound
                // (not when no connection could be had at all).
                Err(StoreError::Timeout)
                    if !self.health.is_unreachable()
                        && tokio::time::Instant::now() + pause < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                other => break other?,
            }
        };
        self.migrated.store(true, Ordering::Release);
        if applied > 0 {
            tracing::info!(backend = self.dialect.name(), applied, "schema migrated");
        }
        Ok(applied)
    }

    fn now(&self) -> i64 {
        int(self.clock.now())
    }
}

impl SqlStore {
    /// A builder with the defaults (prefix `portcullis_`, 1 s timeout,
    /// system clock, purge every minute, no automatic migration).
    pub fn builder() -> SqlStoreBuilder {
        SqlStoreBuilder::default()
    }

    /// Connect with the defaults; see [`SqlStoreBuilder::connect`].
    ///
    /// # Errors
    /// As [`SqlStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
        Self::builder().connect(url).await
    }

    /// Create the tables, or bring them to this version of the crate;
    /// returns how many migrations were applied (0: already current). Safe
    /// to call from several instances at once and on every start.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Timeout`] when the
    /// database cannot be reached, [`StoreError::Backend`] when a
    /// statement fails (e.g. the user may not create tables).
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        self.shared.migrate().await
    }
}

/// `u64` seconds or milliseconds as a SQL `BIGINT` (saturating: nothing
/// this crate stores comes near 2^63).
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A stored `BIGINT` back as `u64` (negative values cannot be ours: 0).
fn uint(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Seconds since the Unix epoch by the system clock (migration records).
pub(crate) fn unix_now() -> i64 {
    int(crate::clock::Clock::now(&crate::clock::SystemClock))
}

/// Turn a sqlx error into a [`StoreError`] that names the backend and the
/// kind of failure only: never the URL, a password, a value or the SQL.
fn map_error(dialect: Dialect, e: &sqlx::Error) -> StoreError {
    let name = dialect.name();
    match e {
        sqlx::Error::PoolTimedOut => StoreError::Timeout,
        sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(format!("{name}: connection failed"))
        }
        sqlx::Error::Tls(_) => StoreError::Unavailable(format!("{name}: TLS failed")),
        sqlx::Error::Protocol(_) => StoreError::Unavailable(format!("{name}: protocol error")),
        sqlx::Error::Configuration(_) => {
            StoreError::Backend(format!("{name}: invalid connection settings"))
        }
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            database_error(dialect, &code, db.message())
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            StoreError::Backend(format!("{name}: a stored value does not decode"))
        }
        _ => StoreError::Backend(format!("{name}: query failed")),
    }
}

/// A database's own error by its code (PostgreSQL's SQLSTATE, SQLite's
/// result code).
fn database_error(dialect: Dialect, code: &str, message: &str) -> StoreError {
    let name = dialect.name();
    let missing_table = match dialect {
        Dialect::Postgres => code == "42P01",
        // SQLite reports a missing table as a generic error; its message
        // carries only the table's name.
        Dialect::Sqlite => message.starts_with("no such table"),
    };
    if missing_table {
        return StoreError::Backend(format!(
            "{name}: the tables are missing (run SqlStore::migrate)"
        ));
    }
    match dialect {
        // 57014: statement_timeout cancelled the statement.
        Dialect::Postgres if code == "57014" => StoreError::Timeout,
        // 08 connection, 53 resources, 57 operator intervention (shutdown,
        // restart), 40 serialisation or deadlock: the database cannot
        // answer now. 28 and 3D: login refused or no such database.
        Dialect::Postgres
            if ["08", "53", "57", "40", "28", "3D"].contains(&code.get(..2).unwrap_or("")) =>
        {
            StoreError::Unavailable(format!("{name}: database unavailable ({code})"))
        }
        // 5 SQLITE_BUSY, 6 SQLITE_LOCKED (extended codes keep the low byte).
        Dialect::Sqlite if matches!(code.parse::<u32>().map(|c| c & 0xff), Ok(5 | 6)) => {
            StoreError::Timeout
        }
        // 10 I/O, 13 disk full, 14 cannot open.
        Dialect::Sqlite if matches!(code.parse::<u32>().map(|c| c & 0xff), Ok(10 | 13 | 14)) => {
            StoreError::Unavailable(format!("{name}: database unavailable ({code})"))
        }
        _ => StoreError::Backend(format!("{name}: database error {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_by_code() {
        let pg = Dialect::Postgres;
        assert_eq!(database_error(pg, "57014", ""), StoreError::Timeout);
        assert!(database_error(pg, "57P01", "").is_unavailable());
        assert!(matches!(
            database_error(pg, "08006", ""),
            StoreError::Unavailable(_)
        ));
        assert!(
            matches!(database_error(pg, "23505", "dup (alice)"), StoreError::Backend(m) if !m.contains("alice"))
        );
        assert!(
            matches!(database_error(pg, "42P01", ""), StoreError::Backend(m) if m.contains("migrate"))
        );
        let lite = Dialect::Sqlite;
        assert_eq!(database_error(lite, "5", ""), StoreError::Timeout);
        assert_eq!(database_error(lite, "517", ""), StoreError::Timeout);
        assert!(
            matches!(database_error(lite, "1", "no such table: x"), StoreError::Backend(m) if m.contains("migrate"))
        );
    }

    #[test]
    fn integers_saturate() {
        assert_eq!(int(u64::MAX), i64::MAX);
        assert_eq!(uint(-1), 0);
        assert_eq!(uint(int(42)), 42);
    }
}
