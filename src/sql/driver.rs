//! The one seam between the SQL stores and sqlx: a statement with
//! positional arguments in, rows of a few plain types out. Everything
//! above it (expiry, encoding, compare-and-set) is written once for both
//! backends; below it each backend binds, runs and decodes.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Row as _};

/// A statement's text. Built once per store from static SQL and the
/// validated table prefix, never from request data (see `statements.rs`).
pub(crate) type Sql = Arc<str>;

/// One positional argument (`$1`, `$2`, ... in both dialects).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// The type of a result column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Col {
    Int,
    Text,
    Bytes,
}

/// One decoded value.
#[derive(Debug)]
pub(crate) enum Val {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Val {
    pub(crate) fn int(&self) -> i64 {
        match self {
            Val::Int(n) => *n,
            _ => 0,
        }
    }
    pub(crate) fn into_text(self) -> String {
        match self {
            Val::Text(s) => s,
            _ => String::new(),
        }
    }
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        match self {
            Val::Bytes(b) => b,
            _ => Vec::new(),
        }
    }
}

/// One versioned migration: its number and its SQL (prefix applied).
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) version: i64,
    pub(crate) description: &'static str,
    pub(crate) sql: String,
}

/// What each backend provides.
#[async_trait]
pub(crate) trait Driver: Send + Sync + 'static {
    /// Run a statement; the number of rows it changed.
    async fn execute(&self, sql: &Sql, args: &[Arg<'_>]) -> Result<u64, sqlx::Error>;

    /// Run a query; its rows, decoded as `cols`.
    async fn fetch(
        &self,
        sql: &Sql,
        args: &[Arg<'_>],
        cols: &[Col],
    ) -> Result<Vec<Vec<Val>>, sqlx::Error>;

    /// Apply the steps newer than the version recorded in `table`, in one
    /// transaction that other instances migrating at the same time wait
    /// for. Returns how many were applied.
    async fn migrate(&self, table: &str, steps: &[Step]) -> Result<usize, sqlx::Error>;
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for arg in $args {
            q = match *arg {
                Arg::Int(n) => q.bind(n),
                Arg::Text(s) => q.bind(s),
                Arg::Bytes(b) => q.bind(b),
            };
        }
        q
    }};
}

macro_rules! decode_row {
    ($row:expr, $cols:expr) => {{
        let row = $row;
        let mut out = Vec::with_capacity($cols.len());
        for (i, col) in $cols.iter().enumerate() {
            out.push(match col {
                Col::Int => Val::Int(row.try_get::<i64, _>(i)?),
                Col::Text => Val::Text(row.try_get::<String, _>(i)?),
                Col::Bytes => Val::Bytes(row.try_get::<Vec<u8>, _>(i)?),
            });
        }
        out
    }};
}

/// `impl Driver` over the pool in `self.0` (the same text for both
/// backends; the types differ), migrating with the type's own
/// `run_migrations`.
macro_rules! pool_driver {
    ($ty:ty) => {
        #[async_trait]
        impl Driver for $ty {
            async fn execute(&self, sql: &Sql, args: &[Arg<'_>]) -> Result<u64, sqlx::Error> {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.clone())), args);
                Ok(q.execute(&self.0).await?.rows_affected())
            }

            async fn fetch(
                &self,
                sql: &Sql,
                args: &[Arg<'_>],
                cols: &[Col],
            ) -> Result<Vec<Vec<Val>>, sqlx::Error> {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.clone())), args);
                let rows = q.fetch_all(&self.0).await?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    out.push(decode_row!(row, cols));
                }
                Ok(out)
            }

            async fn migrate(&self, table: &str, steps: &[Step]) -> Result<usize, sqlx::Error> {
                self.run_migrations(table, steps).await
            }
        }
    };
}

/// The migration bookkeeping both backends run inside their transaction.
macro_rules! apply_steps {
    ($tx:expr, $table:expr, $steps:expr) => {{
        let tx = $tx;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {} (version BIGINT PRIMARY KEY, \
             description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            $table
        )))
        .execute(&mut **tx)
        .await?;
        let current: i64 = sqlx::query(AssertSqlSafe(format!(
            "SELECT COALESCE(MAX(version), 0) FROM {}",
            $table
        )))
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
        let mut applied = 0;
        for step in $steps.iter().filter(|s| s.version > current) {
            sqlx::raw_sql(AssertSqlSafe(step.sql.clone()))
                .execute(&mut **tx)
                .await?;
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {} (version, description, applied_at) VALUES ($1, $2, $3)",
                $table
            )))
            .bind(step.version)
            .bind(step.description)
            .bind(crate::sql::unix_now())
            .execute(&mut **tx)
            .await?;
            applied += 1;
        }
        applied
    }};
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    use super::*;

    /// PostgreSQL through a [`sqlx::PgPool`].
    pub(crate) struct Pg(pub(crate) sqlx::PgPool);

    pool_driver!(Pg);

    impl Pg {
        async fn run_migrations(&self, table: &str, steps: &[Step]) -> Result<usize, sqlx::Error> {
            let mut tx = self.0.begin().await?;
            // Not the requests' statement_timeout: DDL on a large table, or
            // waiting for another instance's run, takes longer.
            sqlx::query("SET LOCAL statement_timeout = 30000")
                .execute(&mut *tx)
                .await?;
            // Instances starting together migrate one after the other: the
            // lock is the table's name, held until the transaction ends.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock_id(table))
                .execute(&mut *tx)
                .await?;
            let applied = apply_steps!(&mut tx, table, steps);
            tx.commit().await?;
            Ok(applied)
        }
    }

    /// A stable 64-bit advisory-lock number for `name` (FNV-1a).
    fn lock_id(name: &str) -> i64 {
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        i64::from_ne_bytes(h.to_ne_bytes())
    }
}

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    use super::*;

    /// SQLite through a [`sqlx::SqlitePool`] on one database file, and the
    /// requests' busy timeout (ms).
    pub(crate) struct Lite(pub(crate) sqlx::SqlitePool, pub(crate) u64);

    pool_driver!(Lite);

    impl Lite {
        async fn run_migrations(&self, table: &str, steps: &[Step]) -> Result<usize, sqlx::Error> {
            let mut conn = self.0.acquire().await?;
            // Waiting for another process's run takes longer than a
            // request may wait for the write lock; restored below.
            sqlx::query("PRAGMA busy_timeout = 30000")
                .execute(&mut *conn)
                .await?;
            // IMMEDIATE takes the database's write lock at once, so two
            // processes migrating the same file go one after the other.
            let result = async {
                let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
                let applied = apply_steps!(&mut tx, table, steps);
                tx.commit().await?;
                Ok::<_, sqlx::Error>(applied)
            }
            .await;
            sqlx::query(AssertSqlSafe(format!("PRAGMA busy_timeout = {}", self.1)))
                .execute(&mut *conn)
                .await?;
            result
        }
    }
}
