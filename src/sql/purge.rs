//! Deleting expired rows: in bounded batches, by a background task and on
//! demand.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::call::Retry;
use super::driver::Arg;
use super::Shared;
use crate::error::StoreError;

/// Batches one background round deletes at most per table, so a backlog
/// (after a long outage) is worked off over several rounds.
const ROUND_BATCHES: u32 = 100;

/// Start the background purge. It holds the store weakly and ends when the
/// last clone is dropped; without a tokio runtime it cannot start (logged).
pub(crate) fn spawn(shared: &Arc<Shared>, interval: Duration) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("sql store built outside a tokio runtime: no background purge");
        return;
    };
    let weak: Weak<Shared> = Arc::downgrade(shared);
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate
        loop {
            tick.tick().await;
            let Some(shared) = weak.upgrade() else { return };
            match run(&shared, Some(ROUND_BATCHES)).await {
                Ok(0) => {}
                Ok(rows) => tracing::debug!(rows, "expired rows purged"),
                Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
            }
        }
    });
}

/// Delete expired rows of every table, one bounded batch per statement,
/// until a batch comes back short (or `max_batches` per table).
pub(crate) async fn run(shared: &Shared, max_batches: Option<u32>) -> Result<u64, StoreError> {
    let batch = i64::from(shared.purge_batch);
    let mut total = 0;
    for sql in &shared.sql.purge {
        let mut batches = 0;
        loop {
            let now = shared.now();
            let rows = shared
                .execute(sql, &[Arg::Int(now), Arg::Int(batch)], Retry::Safe)
                .await?;
            total += rows;
            batches += 1;
            if rows < u64::try_from(batch).unwrap_or(u64::MAX)
                || max_batches.is_some_and(|m| batches >= m)
            {
                break;
            }
        }
    }
    Ok(total)
}
