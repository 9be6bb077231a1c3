//! [`SqlStoreBuilder`]: validated settings, the URL's backend and its pool.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::call::Health;
use super::driver::Driver;
use super::statements::{valid_identifier, Dialect, Statements};
use super::{purge, Shared, SqlStore};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::error::StoreError;

/// Default table prefix.
const DEFAULT_PREFIX: &str = "portcullis_";
/// Default bound on acquiring a connection and on every statement.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default time between two background purges of expired rows.
const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// Default rows one purge statement deletes at most.
const DEFAULT_PURGE_BATCH: u32 = 1_000;

/// Builder for [`SqlStore`]: table prefix, schema, timeout, pool size,
/// clock, background purge and automatic migration. The URL given to
/// [`connect`](Self::connect) picks the backend.
///
/// ```no_run
/// use std::time::Duration;
/// use portcullis::sql::SqlStore;
/// # async fn demo() -> Result<(), portcullis::StoreError> {
/// let store = SqlStore::builder()
///     .schema("auth") // PostgreSQL: an existing schema the user may use
///     .max_connections(20)
///     .timeout(Duration::from_millis(300))
///     .connect("postgres://app:secret@db.internal/app")
///     .await?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Clone)]
pub struct SqlStoreBuilder {
    prefix: String,
    schema: Option<String>,
    timeout: Duration,
    max_connections: Option<u32>,
    clock: SharedClock,
    purge_interval: Option<Duration>,
    purge_batch: u32,
    auto_migrate: bool,
}

impl fmt::Debug for SqlStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStoreBuilder")
            .field("prefix", &self.prefix)
            .field("schema", &self.schema)
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .field("purge_interval", &self.purge_interval)
            .field("purge_batch", &self.purge_batch)
            .field("auto_migrate", &self.auto_migrate)
            .finish_non_exhaustive()
    }
}

impl Default for SqlStoreBuilder {
    fn default() -> Self {
        SqlStoreBuilder {
            prefix: DEFAULT_PREFIX.to_owned(),
            schema: None,
            // A request waits at most this long for the database before
            // failing closed with 503.
            timeout: DEFAULT_TIMEOUT,
            max_connections: None,
            clock: Arc::new(SystemClock),
            purge_interval: Some(DEFAULT_PURGE_INTERVAL),
            purge_batch: DEFAULT_PURGE_BATCH,
            auto_migrate: false,
        }
    }
}

impl SqlStoreBuilder {
    /// The table prefix (default `portcullis_`): lower-case ASCII letters,
    /// digits and `_`, starting with a letter or `_`, at most 40
    /// characters. Two applications sharing a database need different
    /// prefixes; instances of one application share it.
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// PostgreSQL only: the schema the tables live in (it must exist; the
    /// store's connections put it first on their `search_path`). For users
    /// who may not create objects in `public` (PostgreSQL 15 and later).
    /// Same rules as the prefix.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The bound on acquiring a connection and on every statement (default
    /// 1 s). Zero is raised to 1 ms.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The pool's size (default 10 for PostgreSQL, 4 for SQLite). Zero is
    /// raised to 1.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = Some(n.max(1));
        self
    }

    /// The clock that judges expiry (default the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How often a background task deletes expired rows (default every
    /// minute; `None`: never, call [`SqlStore::purge_expired`] yourself).
    /// The task ends when the last clone of the store is dropped.
    pub fn purge_interval(mut self, interval: Option<Duration>) -> Self {
        self.purge_interval = interval.map(|i| i.max(Duration::from_millis(10)));
        self
    }

    /// The most rows one purge statement deletes (default 1,000), so no
    /// statement holds locks on a large part of a table. Zero is raised
    /// to 1.
    pub fn purge_batch(mut self, rows: u32) -> Self {
        self.purge_batch = rows.max(1);
        self
    }

    /// Create or migrate the tables when the database is first reached:
    /// at [`connect`](Self::connect), or for [`connect_lazy`](Self::connect_lazy)
    /// before the first statement (and again after a failed attempt).
    /// Default off: [`SqlStore::migrate`] does it when you choose.
    pub fn auto_migrate(mut self, on: bool) -> Self {
        self.auto_migrate = on;
        self
    }

    /// Build the store and reach the database once (and migrate, with
    /// [`auto_migrate`](Self::auto_migrate)). URLs: `postgres://` or
    /// `postgresql://` (feature `postgres`; sqlx's URL parameters such as
    /// `sslmode` apply), `sqlite://PATH` or `sqlite:PATH` (feature
    /// `sqlite`; the file is created if missing).
    ///
    /// # Errors
    /// [`StoreError::Backend`] for an invalid prefix or schema, a URL that
    /// does not parse, an unknown scheme or a backend this build lacks;
    /// [`StoreError::Unavailable`] / [`StoreError::Timeout`] when the
    /// database cannot be reached. The message never contains the URL.
    pub async fn connect(self, url: &str) -> Result<SqlStore, StoreError> {
        let store = self.connect_lazy(url)?;
        if store.shared.auto_migrate {
            store.shared.ensure_migrated().await?;
        }
        store.ping_db().await?;
        Ok(store)
    }

    /// Build the store without reaching the database: the pool connects on
    /// first use, so a database that is down at start-up makes requests
    /// answer 503 until it is back, instead of stopping the application.
    /// Call it within a tokio runtime (the background purge runs there).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), without the reachability errors.
    pub fn connect_lazy(self, url: &str) -> Result<SqlStore, StoreError> {
        for (what, name) in [
            ("table prefix", Some(&self.prefix)),
            ("schema", self.schema.as_ref()),
        ] {
            if let Some(name) = name {
                if !valid_identifier(name) {
                    return Err(StoreError::Backend(format!(
                        "sql: invalid {what} (lower-case letters, digits and _ only)"
                    )));
                }
            }
        }
        let health = Arc::new(Health::default());
        let (dialect, driver) = self.driver(url, &health)?;
        let shared = Arc::new(Shared {
            driver,
            sql: Statements::new(dialect, &self.prefix),
            dialect,
            timeout: self.timeout,
            clock: self.clock,
            auto_migrate: self.auto_migrate,
            purge_batch: self.purge_batch,
            migrated: AtomicBool::new(false),
            migrating: tokio::sync::Mutex::new(()),
            health,
        });
        if let Some(interval) = self.purge_interval {
            purge::spawn(&shared, interval);
        }
        Ok(SqlStore { shared })
    }

    fn driver(
        &self,
        url: &str,
        health: &Arc<Health>,
    ) -> Result<(Dialect, Box<dyn Driver>), StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => self.postgres(url, health),
            "sqlite" => {
                if self.schema.is_some() {
                    return Err(StoreError::Backend(
                        "sqlite: a schema is PostgreSQL's (use table_prefix)".into(),
                    ));
                }
                self.sqlite(url, health)
            }
            _ => Err(StoreError::Backend(
                "sql: unknown URL scheme (postgres://, postgresql:// or sqlite://)".into(),
            )),
        }
    }

    fn pool_options<DB: sqlx::Database>(
        &self,
        default_size: u32,
        health: &Arc<Health>,
    ) -> sqlx::pool::PoolOptions<DB> {
        let health = health.clone();
        sqlx::pool::PoolOptions::new()
            .max_connections(self.max_connections.unwrap_or(default_size))
            .min_connections(0)
            .acquire_timeout(self.timeout)
            // No ping before each use (that would be a second round trip
            // per request); a dead connection is retried once instead.
            .test_before_acquire(false)
            .idle_timeout(Some(Duration::from_secs(600)))
            // Right after a dead connection was met, ping before handing
            // one out, so the other dead ones of the pool are dropped.
            .before_acquire(move |conn, _| {
                let suspect = health.suspect();
                Box::pin(async move {
                    Ok(!suspect
                        || <DB::Connection as sqlx::Connection>::ping(conn)
                            .await
                            .is_ok())
                })
            })
    }

    #[cfg(feature = "postgres")]
    fn postgres(
        &self,
        url: &str,
        health: &Arc<Health>,
    ) -> Result<(Dialect, Box<dyn Driver>), StoreError> {
        use std::str::FromStr as _;
        let mut options = sqlx::postgres::PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Backend("postgres: the URL does not parse".into()))?;
        let millis = self.timeout.as_millis().to_string();
        options = options.options([("statement_timeout", millis.as_str())]);
        if let Some(schema) = &self.schema {
            options = options.options([("search_path", schema.as_str())]);
        }
        let pool = self.pool_options(10, health).connect_lazy_with(options);
        Ok((
            Dialect::Postgres,
            Box::new(super::driver::postgres::Pg(pool)),
        ))
    }

    #[cfg(not(feature = "postgres"))]
    fn postgres(
        &self,
        _url: &str,
        _health: &Arc<Health>,
    ) -> Result<(Dialect, Box<dyn Driver>), StoreError> {
        Err(StoreError::Backend(
            "postgres: this build lacks the `postgres` feature".into(),
        ))
    }

    #[cfg(feature = "sqlite")]
    fn sqlite(
        &self,
        url: &str,
        health: &Arc<Health>,
    ) -> Result<(Dialect, Box<dyn Driver>), StoreError> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        use std::str::FromStr as _;
        // Each pooled connection would open its own empty in-memory
        // database: instances (and even requests) would not share records.
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::Backend(
                "sqlite: an in-memory database is not shared; use a file (or MemoryStore)".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::Backend("sqlite: the URL does not parse".into()))?
            .create_if_missing(true)
            // Readers never wait for the writer; FULL makes every commit
            // (a logout, a revocation) durable, not only crash-safe.
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(self.timeout);
        let pool = self.pool_options(4, health).connect_lazy_with(options);
        let busy = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        Ok((
            Dialect::Sqlite,
            Box::new(super::driver::sqlite::Lite(pool, busy)),
        ))
    }

    #[cfg(not(feature = "sqlite"))]
    fn sqlite(
        &self,
        _url: &str,
        _health: &Arc<Health>,
    ) -> Result<(Dialect, Box<dyn Driver>), StoreError> {
        Err(StoreError::Backend(
            "sqlite: this build lacks the `sqlite` feature".into(),
        ))
    }
}
