//! Login-throttle counters in Redis: one string per counter
//! (`<version>:<value>`) under `<prefix>lc:<key>`, changed by a
//! compare-and-set script that touches that one key, so every instance on
//! the same Redis (or cluster) counts every failure.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;

use super::SharedRef;
use crate::error::StoreError;
use crate::throttle::AttemptStore;

/// Compare-and-set one counter. KEYS: the counter. ARGV: expected version
/// (0: absent), value, TTL ms. Returns 1 when written, 0 when another write
/// came first.
const COMPARE_AND_SET: &str = r"
local cur = redis.call('GET', KEYS[1])
local v = 0
if cur then v = tonumber(string.match(cur, '^(%d+):')) or 0 end
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], (v + 1) .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
";

/// The counters of a [`RedisStore`](super::RedisStore), on its connection.
pub(crate) struct RedisAttempts {
    shared: SharedRef,
    cas: Script,
}

impl fmt::Debug for RedisAttempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAttempts")
            .field("redis", &self.shared)
            .finish_non_exhaustive()
    }
}

impl RedisAttempts {
    pub(crate) fn new(shared: SharedRef) -> Self {
        RedisAttempts {
            shared,
            cas: Script::new(COMPARE_AND_SET),
        }
    }

    fn key(&self, key: &str) -> String {
        self.shared.key("lc", key)
    }
}

#[async_trait]
impl AttemptStore for RedisAttempts {
    async fn load(&self, keys: &[String]) -> Result<Vec<Option<(Vec<u8>, u64)>>, StoreError> {
        let names: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        // Every counter of an attempt at once: one round trip.
        let rows = self.shared.get_many(&names).await?;
        Ok(rows
            .into_iter()
            .map(|row| row.and_then(|r| split(&r)))
            .collect())
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let name = self.key(key);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let (name, cas) = (name.as_str(), &self.cas);
        let written: i64 = self
            .shared
            .call(|mut c| async move {
                cas.key(name)
                    .arg(expected)
                    .arg(value)
                    .arg(ttl_ms)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(written == 1)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let name = self.key(key);
        let name = name.as_str();
        let _: i64 = self
            .shared
            .call(|mut c| async move { redis::cmd("DEL").arg(name).query_async(&mut c).await })
            .await?;
        Ok(())
    }
}

/// `<version>:<value>` as stored by the script.
fn split(raw: &[u8]) -> Option<(Vec<u8>, u64)> {
    let colon = raw.iter().position(|&b| b == b':')?;
    let version = std::str::from_utf8(&raw[..colon]).ok()?.parse().ok()?;
    Some((raw[colon + 1..].to_vec(), version))
}
