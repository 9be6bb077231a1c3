//! Login-throttle counters in process memory (one instance, or tests).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::store::AttemptStore;
use crate::clock::SharedClock;
use crate::error::StoreError;

const SHARDS: usize = 16;

struct Entry {
    value: Vec<u8>,
    version: u64,
    expires_at_ms: u64,
}

#[derive(Default)]
struct Shard {
    map: HashMap<String, Entry>,
    /// Size after the last sweep: the next sweep runs when it doubles, so
    /// expired counters cost amortised O(1) per write.
    swept_at: usize,
}

/// Sharded counters with expiry on the given clock.
pub(crate) struct MemoryAttempts {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    clock: SharedClock,
}

impl std::fmt::Debug for MemoryAttempts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryAttempts").finish_non_exhaustive()
    }
}

impl MemoryAttempts {
    pub(crate) fn new(clock: SharedClock) -> Self {
        MemoryAttempts {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            clock,
        }
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, Shard> {
        let i = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        // A panic while holding the lock cannot leave a counter half-written
        // (each write is one insert), so a poisoned shard is still sound.
        self.shards[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl AttemptStore for MemoryAttempts {
    async fn load(&self, keys: &[String]) -> Result<Vec<Option<(Vec<u8>, u64)>>, StoreError> {
        let now = self.clock.now_millis();
        Ok(keys
            .iter()
            .map(|k| {
                self.shard(k)
                    .map
                    .get(k)
                    .filter(|e| e.expires_at_ms > now)
                    .map(|e| (e.value.clone(), e.version))
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
        let now = self.clock.now_millis();
        let mut shard = self.shard(key);
        let current = shard
            .map
            .get(key)
            .filter(|e| e.expires_at_ms > now)
            .map_or(0, |e| e.version);
        if current != expected {
            return Ok(false);
        }
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        shard.map.insert(
            key.to_owned(),
            Entry {
                value: value.to_vec(),
                version: expected + 1,
                expires_at_ms: now.saturating_add(ttl_ms),
            },
        );
        if shard.map.len() >= (shard.swept_at * 2).max(64) {
            shard.map.retain(|_, e| e.expires_at_ms > now);
            shard.swept_at = shard.map.len();
        }
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.shard(key).map.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::{AttemptStore, MemoryAttempts};
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn compare_and_set_and_expiry() {
        let clock = ManualClock::new(1_000);
        let s = MemoryAttempts::new(Arc::new(clock.clone()));
        let k = "c:1".to_owned();
        assert!(s
            .compare_and_set(&k, 0, b"a", Duration::from_secs(10))
            .await
            .unwrap());
        assert!(!s
            .compare_and_set(&k, 0, b"b", Duration::from_secs(10))
            .await
            .unwrap());
        assert!(s
            .compare_and_set(&k, 1, b"c", Duration::from_secs(10))
            .await
            .unwrap());
        assert_eq!(
            s.load(std::slice::from_ref(&k)).await.unwrap()[0],
            Some((b"c".to_vec(), 2))
        );
        clock.advance(Duration::from_secs(10));
        assert_eq!(s.load(std::slice::from_ref(&k)).await.unwrap()[0], None);
        // Expired: absent again, so version 0 wins.
        assert!(s
            .compare_and_set(&k, 0, b"d", Duration::from_secs(10))
            .await
            .unwrap());
        s.delete(&k).await.unwrap();
        assert_eq!(s.load(&[k]).await.unwrap()[0], None);
    }

    #[tokio::test]
    async fn expired_counters_are_swept() {
        let clock = ManualClock::new(1_000);
        let s = MemoryAttempts::new(Arc::new(clock.clone()));
        for i in 0..2_000 {
            let k = format!("c:{i}");
            assert!(s
                .compare_and_set(&k, 0, b"x", Duration::from_secs(1))
                .await
                .unwrap());
        }
        clock.advance(Duration::from_secs(2));
        for i in 0..2_000 {
            let k = format!("n:{i}");
            assert!(s
                .compare_and_set(&k, 0, b"x", Duration::from_secs(1))
                .await
                .unwrap());
        }
        let held: usize = s.shards.iter().map(|m| m.lock().unwrap().map.len()).sum();
        assert!(held < 3_000, "expired counters kept: {held}");
    }
}
