//! Login-throttle counters on the SQL store's database: one row per
//! counter, changed by compare-and-set on its version.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::call::Retry;
use super::driver::{Arg, Col};
use super::{int, uint, Shared};
use crate::error::StoreError;
use crate::throttle::AttemptStore;

/// The [`AttemptStore`] of a [`SqlStore`](super::SqlStore).
pub(crate) struct SqlAttempts(pub(crate) Arc<Shared>);

impl fmt::Debug for SqlAttempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SqlAttempts").field(&self.0).finish()
    }
}

#[async_trait]
impl AttemptStore for SqlAttempts {
    async fn load(&self, keys: &[String]) -> Result<Vec<Option<(Vec<u8>, u64)>>, StoreError> {
        let s = &self.0;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let now_ms = int(s.clock.now_millis());
        let mut args = Vec::with_capacity(keys.len() + 1);
        args.push(Arg::Int(now_ms));
        args.extend(keys.iter().map(|k| Arg::Text(k)));
        // One round trip for every counter of an attempt.
        let rows = s
            .fetch(
                &s.sql.attempt_load(keys.len()),
                &args,
                &[Col::Text, Col::Int, Col::Bytes],
                Retry::Safe,
            )
            .await?;
        let mut found: Vec<(String, u64, Vec<u8>)> = rows
            .into_iter()
            .filter_map(|row| {
                let mut row = row.into_iter();
                let key = row.next()?.into_text();
                let version = uint(row.next()?.int());
                Some((key, version, row.next()?.into_bytes()))
            })
            .collect();
        Ok(keys
            .iter()
            .map(|k| {
                let at = found.iter().position(|(key, _, _)| key == k)?;
                let (_, version, value) = found.swap_remove(at);
                Some((value, version))
            })
            .collect())
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let s = &self.0;
        let now_ms = s.clock.now_millis();
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let until = int(now_ms.saturating_add(ttl_ms));
        let changed = if expected == 0 {
            // Absent (or expired): insert, or replace the expired row.
            let args = [
                Arg::Text(key),
                Arg::Bytes(value),
                Arg::Int(until),
                Arg::Int(int(now_ms)),
            ];
            s.execute(&s.sql.attempt_insert, &args, Retry::Once).await?
        } else {
            let args = [
                Arg::Text(key),
                Arg::Bytes(value),
                Arg::Int(until),
                Arg::Int(int(expected)),
                Arg::Int(int(now_ms)),
            ];
            s.execute(&s.sql.attempt_update, &args, Retry::Once).await?
        };
        Ok(changed == 1)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let s = &self.0;
        s.execute(&s.sql.attempt_delete, &[Arg::Text(key)], Retry::Safe)
            .await
            .map(|_| ())
    }
}
