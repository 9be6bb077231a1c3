//! Running one statement: the timeout, the retry on a dead pooled
//! connection, failing fast while the database is unreachable, and the
//! mapping of sqlx's errors to [`StoreError`]s that carry no secret.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::driver::{Arg, Col, Sql, Val};
use super::{map_error, Shared};
use crate::error::StoreError;

/// Whether a statement may run a second time when its first attempt's
/// fate is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A read, or a write whose repetition changes nothing (a revocation
    /// keeps the maximum, a purge deletes what is expired).
    Safe,
    /// A write that must not run twice (a compare-and-set, a create, a
    /// delete whose answer counts): repeated only when the server had
    /// certainly not run it.
    Once,
}

/// After a dead pooled connection, connections are pinged before use for
/// this long, so the other dead ones left in the pool are dropped too.
const SUSPECT_HOLD: Duration = Duration::from_secs(5);
/// Beyond the store's timeout, the bound that catches what the pool's and
/// the server's own timeouts did not.
const BACKSTOP: Duration = Duration::from_millis(100);

/// What the store has lately learned about the connection, shared with the
/// pool's `before_acquire` hook. Times are wall-clock milliseconds (not the
/// store's clock, which tests freeze).
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// The last call found no connection to be had. Until one succeeds,
    /// one call at a time tries (the probe) and the others fail at once
    /// instead of each waiting out the connect timeout.
    unreachable: AtomicBool,
    probing: AtomicBool,
    pub(crate) suspect_until: AtomicU64,
}

/// Holds the probe while a call made as the probe runs (however it ends,
/// cancellation included).
struct Probe<'a>(&'a AtomicBool);

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

pub(crate) fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn hold(cell: &AtomicU64, d: Duration) {
    let until = wall_ms().saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    cell.fetch_max(until, Ordering::Relaxed);
}

impl Health {
    /// Whether the last call found no connection to be had.
    pub(crate) fn is_unreachable(&self) -> bool {
        self.unreachable.load(Ordering::Acquire)
    }

    /// Whether pooled connections should be pinged before use.
    pub(crate) fn suspect(&self) -> bool {
        wall_ms() < self.suspect_until.load(Ordering::Relaxed)
    }
}

impl Shared {
    /// Run a statement; the rows it changed.
    pub(crate) async fn execute(
        &self,
        sql: &Sql,
        args: &[Arg<'_>],
        retry: Retry,
    ) -> Result<u64, StoreError> {
        self.ensure_migrated().await?;
        self.run(retry, self.timeout, || self.driver.execute(sql, args))
            .await
    }

    /// Run a query; its rows.
    pub(crate) async fn fetch(
        &self,
        sql: &Sql,
        args: &[Arg<'_>],
        cols: &[Col],
        retry: Retry,
    ) -> Result<Vec<Vec<Val>>, StoreError> {
        self.ensure_migrated().await?;
        self.run(retry, self.timeout, || self.driver.fetch(sql, args, cols))
            .await
    }

    /// `op` under `timeout`, tried a second time on a dead connection as
    /// `retry` allows; fails at once while the database is known to be
    /// unreachable.
    pub(crate) async fn run<T, F>(
        &self,
        retry: Retry,
        timeout: Duration,
        op: impl Fn() -> F,
    ) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        let health: &Arc<Health> = &self.health;
        let _probe = if health.unreachable.load(Ordering::Acquire) {
            if health
                .probing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return Err(StoreError::Unavailable(format!(
                    "{}: database unreachable",
                    self.dialect.name()
                )));
            }
            Some(Probe(&health.probing))
        } else {
            None
        };
        let attempts = async {
            match op().await {
                Err(e) if is_dead_connection(&e) => {
                    hold(&health.suspect_until, SUSPECT_HOLD);
                    if retry == Retry::Safe || never_ran(&e) {
                        op().await
                    } else {
                        Err(e)
                    }
                }
                other => other,
            }
        };
        // The pool's own bounds (acquire timeout, statement timeout) fire
        // first and say which failed; this one is the backstop.
        match tokio::time::timeout(timeout + BACKSTOP, attempts).await {
            Ok(Ok(v)) => {
                if health.unreachable.load(Ordering::Relaxed) {
                    health.unreachable.store(false, Ordering::Release);
                }
                Ok(v)
            }
            Ok(Err(e)) => {
                if matches!(
                    e,
                    sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
                ) {
                    // No connection to be had: until a probe gets one, the
                    // other calls fail fast.
                    health.unreachable.store(true, Ordering::Release);
                }
                Err(map_error(self.dialect, &e))
            }
            Err(_) => Err(StoreError::Timeout),
        }
    }
}

/// The pooled connection was dead (the server restarted or a proxy dropped
/// it). The statement may still have run if the connection died while the
/// reply was on its way; see [`never_ran`].
fn is_dead_connection(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Io(_)) || never_ran(e)
}

/// PostgreSQL tells each connection it ends at shutdown (57P01, 57P02) and
/// the next statement reads that notice: the server had stopped, so that
/// statement never ran and may run again on a fresh connection.
fn never_ran(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c == "57P01" || c == "57P02"),
        _ => false,
    }
}
