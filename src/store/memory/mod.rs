//! The embedded, in-process store.

use std::hash::BuildHasher;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use super::{SessionKey, SessionRecord, SessionStore, StoreError};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::throttle::{AttemptStore, MemoryAttempts};

mod tables;
use tables::{fragment, shard, RecordShard, UserShard, SHARDS};

/// A shard is swept for expired records at most this often (seconds).
const SWEEP_INTERVAL: u64 = 30;

/// The in-memory [`SessionStore`], the crate's default.
///
/// - **Concurrent**: records live in 64 shards, each behind its own
///   `RwLock`, chosen by bits of the (uniformly random) key; a lookup takes
///   one shard's read lock, so there is no global lock on the request
///   path. The shards take unequal shares of the keys (11 to 23 in 1,024),
///   so their tables grow at different times, not all at once.
/// - **Per-user index**: a second sharded map from user ID to keys, kept
///   consistent with the records (a create holds the user's index shard while
///   it inserts, `delete_user` holds it while it removes).
/// - **Expiry**: expired records are invisible at once and purged
///   incrementally: a write to a shard sweeps that one shard (1/64 of the
///   data) at most every 30 seconds; there is no stop-the-world pass.
/// - **Memory**: about 285 bytes of RSS per live session (record, index
///   entry, table slots and allocator overhead) with a short user ID, two
///   roles, an IP and a 111-byte User-Agent, measured from outside at ~1M
///   sessions (and at ~400k) by `python3 benches/http/run.py memory`. A
///   session is one allocation, its record, which holds its own key (a
///   table slot is one pointer); a user with one session is one 16-byte
///   index slot.
///   Sessions with the same User-Agent or role set share one copy of it
///   (per shard); a copy no session holds leaves at the shard's sweep.
///
/// Sessions do not survive a restart and are not shared between processes;
/// use a shared store (e.g. `RedisStore`) for several instances.
///
/// ```
/// use std::time::Duration;
/// use portcullis::store::{MemoryStore, SessionRecord, SessionStore};
/// use portcullis::clock::ManualClock;
/// use portcullis::__private::SessionId;
/// use std::sync::Arc;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = ManualClock::new(1_000);
/// let store = MemoryStore::with_clock(clock.clone());
/// let key = SessionId::generate().unwrap().key();
/// store.create(&key, &SessionRecord::new("alice", 1_000, 60, 600)).await.unwrap();
/// assert!(store.load(&key).await.unwrap().is_some());
/// clock.advance(Duration::from_secs(60)); // idle timeout reached
/// assert!(store.load(&key).await.unwrap().is_none());
/// # });
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    records: Box<[RwLock<RecordShard>]>,
    users: Box<[RwLock<UserShard>]>,
    user_hasher: std::collections::hash_map::RandomState,
    clock: SharedClock,
    /// Login-throttle counters beside the records, on the same clock.
    attempts: Arc<MemoryAttempts>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

// A poisoned lock only means another thread panicked mid-operation; the maps
// are still structurally valid, so keep serving rather than cascading panics.
fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}
fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryStore {
    /// An empty store on the system clock.
    #[must_use]
    pub fn new() -> Self {
        Self::with_shared_clock(Arc::new(SystemClock))
    }

    /// An empty store that judges expiry by `clock` (e.g. a
    /// [`ManualClock`](crate::clock::ManualClock) in tests; give the same
    /// clock to [`AuthenticatorBuilder::clock`](crate::AuthenticatorBuilder::clock)).
    #[must_use]
    pub fn with_clock(clock: impl Clock) -> Self {
        Self::with_shared_clock(Arc::new(clock))
    }

    /// An empty store on the crate's shared clock handle.
    pub(crate) fn with_shared_clock(clock: SharedClock) -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                records: (0..SHARDS).map(|_| RwLock::default()).collect(),
                users: (0..SHARDS).map(|_| RwLock::default()).collect(),
                user_hasher: std::collections::hash_map::RandomState::new(),
                attempts: Arc::new(MemoryAttempts::new(clock.clone())),
                clock,
            }),
        }
    }

    /// Number of records held (expired ones not yet purged included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.records.iter().map(|s| read(s).len()).sum()
    }

    /// True when no record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Purge every expired record now (normally done incrementally).
    pub fn purge_expired(&self) {
        let now = self.inner.clock.now();
        for i in 0..SHARDS {
            self.sweep_shard(i, now);
        }
    }

    /// The shard of the record whose key has `fragment`: bits 40.. pick
    /// it (the table inside places records by the low bits).
    fn record_shard(&self, fragment: u64) -> &RwLock<RecordShard> {
        &self.inner.records[shard(fragment >> 40)]
    }

    fn user_hash(&self, user: &str) -> u64 {
        self.inner.user_hasher.hash_one(user)
    }

    /// The index shard of a user: bits 32.. of its hash pick it (the table
    /// inside places entries by the low bits and tags them with the top
    /// seven, which must stay independent of the shard).
    fn user_shard(&self, hash: u64) -> &RwLock<UserShard> {
        &self.inner.users[shard(hash >> 32)]
    }

    fn unindex(&self, user: u64, fragment: u64) {
        write(self.user_shard(user)).remove(user, fragment);
    }

    fn sweep_shard(&self, i: usize, now: u64) {
        let mut removed = Vec::new();
        {
            let mut shard = write(&self.inner.records[i]);
            shard.next_sweep = now + SWEEP_INTERVAL;
            shard.retain(|r| {
                let keep = !r.is_expired(now);
                if !keep {
                    removed.push((self.user_hash(&r.user_id), fragment(&r.held_key.0)));
                }
                keep
            });
            shard.shared.purge();
        }
        for (user, f) in removed {
            self.unindex(user, f);
        }
    }

    /// [`SessionStore::load_shared`] without a future: the authenticator
    /// calls it directly on the memory store it built itself, so the hot
    /// path skips the boxed future of a `dyn SessionStore` call.
    /// `now` is the caller's reading of this store's clock.
    pub(crate) fn load_now(&self, key: &SessionKey, now: u64) -> Option<Arc<SessionRecord>> {
        let shard = read(self.record_shard(fragment(key)));
        shard.get(key).filter(|r| !r.is_expired(now)).cloned()
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    fn attempt_store(&self) -> Option<Arc<dyn AttemptStore>> {
        Some(self.inner.attempts.clone())
    }

    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let now = self.inner.clock.now();
        let f = fragment(key);
        let hash = self.user_hash(&record.user_id);
        let sweep_due;
        let replaced;
        {
            // Lock order: user index shard, then record shard (as delete_user).
            let mut users = write(self.user_shard(hash));
            let mut shard = write(self.record_shard(f));
            // The same key, or (2^-63) another with its fragment: either
            // way a collision while it lives.
            if shard.by_fragment(f).is_some_and(|r| !r.is_expired(now)) {
                return Err(StoreError::Collision);
            }
            let mut record = record.clone();
            record.held_key = super::HeldKey(*key);
            shard.shared.share(&mut record);
            // An expired record in the slot: its index entry goes too
            // (unless it is this user's, which the new record keeps).
            replaced = shard
                .put(Arc::new(record))
                .map(|old| self.user_hash(&old.user_id))
                .filter(|&old| old != hash);
            users.insert(hash, f);
            sweep_due = now >= shard.next_sweep;
        }
        if let Some(old) = replaced {
            self.unindex(old, f);
        }
        if sweep_due {
            self.sweep_shard(shard(f >> 40), now);
        }
        Ok(())
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let now = self.inner.clock.now();
        let shard = read(self.record_shard(fragment(key)));
        Ok(shard
            .get(key)
            .filter(|r| !r.is_expired(now))
            .map(|r| SessionRecord::clone(r)))
    }

    async fn load_shared(
        &self,
        key: &SessionKey,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        Ok(self.load_now(key, self.inner.clock.now()))
    }

    async fn update(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        let now = self.inner.clock.now();
        let mut shard = write(self.record_shard(fragment(key)));
        let current = shard.get(key).filter(|c| {
            !c.is_expired(now) && c.version == record.version && c.user_id == record.user_id
        });
        if current.is_none() {
            return Err(StoreError::Conflict);
        }
        let version = record.version.wrapping_add(1);
        let mut next = record.clone();
        next.version = version;
        next.held_key = super::HeldKey(*key);
        shard.shared.share(&mut next);
        if let Some(slot) = shard.get_mut(key) {
            *slot = Arc::new(next);
        }
        Ok(version)
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let f = fragment(key);
        let removed = write(self.record_shard(f)).remove(key);
        match removed {
            Some(r) => {
                self.unindex(self.user_hash(&r.user_id), f);
                Ok(!r.is_expired(self.inner.clock.now()))
            }
            None => Ok(false),
        }
    }

    async fn delete_user(&self, user_id: &str) -> Result<usize, StoreError> {
        let now = self.inner.clock.now();
        let hash = self.user_hash(user_id);
        let mut users = write(self.user_shard(hash));
        let mut n = 0;
        for f in users.take(hash) {
            let removed =
                write(self.record_shard(f)).remove_fragment_if(f, |r| r.user_id == user_id);
            match removed {
                // Another user whose ID hashes alike: stays indexed.
                Some(None) => users.insert(hash, f),
                Some(Some(r)) => n += usize::from(!r.is_expired(now)),
                None => {}
            }
        }
        Ok(n)
    }

    async fn list_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        let now = self.inner.clock.now();
        let hash = self.user_hash(user_id);
        let keys = read(self.user_shard(hash)).keys(hash);
        let mut out = Vec::with_capacity(keys.len());
        for f in keys {
            if let Some(r) = read(self.record_shard(f)).by_fragment(f) {
                if !r.is_expired(now) && r.user_id == user_id {
                    out.push((r.held_key.0, SessionRecord::clone(r)));
                }
            }
        }
        Ok(out)
    }
}
