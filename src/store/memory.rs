//! The embedded, in-process store.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use super::{SessionKey, SessionRecord, SessionStore, StoreError};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::throttle::{AttemptStore, MemoryAttempts};

const SHARDS: usize = 64;
/// A shard is swept for expired records at most this often (seconds).
const SWEEP_INTERVAL: u64 = 30;

/// Session keys are SHA-256 outputs of server-drawn IDs: already uniform and
/// not chosen by clients, so eight of their bytes are the hash.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // SessionKey hashes as one 32-byte slice (plus a length prefix we skip).
        if bytes.len() >= 16 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[8..16]);
            self.0 = u64::from_le_bytes(b);
        }
    }
    fn write_usize(&mut self, _: usize) {}
    // The user index's keys are already keyed SipHash outputs.
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type RecordMap = HashMap<SessionKey, Arc<SessionRecord>, BuildHasherDefault<KeyHasher>>;

#[derive(Default)]
struct RecordShard {
    map: RecordMap,
    next_sweep: u64,
    shared: Interner,
}

/// One copy of each User-Agent and role set the shard's records hold: most
/// sessions share a handful of each, and a copy of each per session was
/// over a quarter of its memory. Values no record holds any more leave at
/// the shard's sweep.
#[derive(Default)]
struct Interner {
    agents: HashSet<Arc<str>>,
    role_sets: HashSet<Arc<[String]>>,
}

impl Interner {
    /// `record` holding the shard's copies of its User-Agent and roles.
    fn share(&mut self, record: &mut SessionRecord) {
        if let Some(agent) = &mut record.user_agent {
            *agent = intern(&mut self.agents, agent);
        }
        record.roles = intern(&mut self.role_sets, &record.roles);
    }

    /// Drops the values only the interner still holds.
    fn purge(&mut self) {
        self.agents.retain(|a| Arc::strong_count(a) > 1);
        self.role_sets.retain(|r| Arc::strong_count(r) > 1);
    }
}

fn intern<T: ?Sized + std::hash::Hash + Eq>(set: &mut HashSet<Arc<T>>, value: &Arc<T>) -> Arc<T> {
    match set.get(&**value) {
        Some(shared) => Arc::clone(shared),
        None => {
            set.insert(Arc::clone(value));
            Arc::clone(value)
        }
    }
}

/// The in-memory [`SessionStore`], the crate's default.
///
/// - **Concurrent**: records live in 64 shards, each behind its own
///   `RwLock`, chosen by the (uniformly random) key; a lookup takes one
///   shard's read lock, so there is no global lock on the request path.
/// - **Per-user index**: a second sharded map from user ID to keys, kept
///   consistent with the records (a create holds the user's index shard while
///   it inserts, `delete_user` holds it while it removes).
/// - **Expiry**: expired records are invisible at once and purged
///   incrementally: a write to a shard sweeps that one shard (1/64 of the
///   data) at most every 30 seconds; there is no stop-the-world pass.
/// - **Memory**: about 410-430 bytes of RSS per live session (record,
///   index entry, map slots and allocator overhead) with a short user ID,
///   two roles, an IP and a 111-byte User-Agent, measured from outside at
///   ~400k sessions by `python3 benches/http/run.py memory`. Sessions with
///   the same User-Agent or role set share one copy of it (per shard);
///   a copy no session holds leaves at the shard's sweep.
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

/// The per-user index: a user's session keys under a keyed 64-bit hash of
/// the user ID. The ID itself lives only in the records (no copy per
/// user), and a user with one session costs one map slot (no set). Two IDs
/// whose hashes collide share an entry; every reader checks the record's
/// `user_id`, so they never see each other's sessions.
type UserIndex = HashMap<u64, UserKeys, BuildHasherDefault<KeyHasher>>;

enum UserKeys {
    One(SessionKey),
    /// Boxed: most users have one session, and every map slot is as large
    /// as the largest variant (the one extra allocation is paid only by a
    /// user's second session).
    #[allow(clippy::box_collection)]
    Many(Box<HashSet<SessionKey>>),
}

impl UserKeys {
    fn insert(&mut self, key: SessionKey) {
        match self {
            UserKeys::One(k) if *k == key => {}
            UserKeys::One(k) => *self = UserKeys::Many(Box::new(HashSet::from([*k, key]))),
            UserKeys::Many(set) => {
                set.insert(key);
            }
        }
    }

    /// Removes `key`; true when nothing is left.
    fn remove(&mut self, key: &SessionKey) -> bool {
        match self {
            UserKeys::One(k) => k == key,
            UserKeys::Many(set) => {
                set.remove(key);
                set.is_empty()
            }
        }
    }

    fn keys(&self) -> Vec<SessionKey> {
        match self {
            UserKeys::One(k) => vec![*k],
            UserKeys::Many(set) => set.iter().copied().collect(),
        }
    }
}

struct Inner {
    records: Box<[RwLock<RecordShard>]>,
    users: Box<[RwLock<UserIndex>]>,
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
        self.inner.records.iter().map(|s| read(s).map.len()).sum()
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

    fn record_shard(&self, key: &SessionKey) -> &RwLock<RecordShard> {
        &self.inner.records[usize::from(key.as_bytes()[0]) % SHARDS]
    }

    fn user_hash(&self, user: &str) -> u64 {
        self.inner.user_hasher.hash_one(user)
    }

    /// The index shard of a user: bits 32.. of its hash pick it (the map
    /// inside places entries by the low bits and tags them with the top
    /// seven, which must stay independent of the shard).
    fn user_shard(&self, hash: u64) -> &RwLock<UserIndex> {
        // Truncation is intended: only a few bits pick a shard.
        #[allow(clippy::cast_possible_truncation)]
        let i = (hash >> 32) as usize % SHARDS;
        &self.inner.users[i]
    }

    fn unindex(&self, user: &str, key: &SessionKey) {
        let hash = self.user_hash(user);
        let mut users = write(self.user_shard(hash));
        if let Some(keys) = users.get_mut(&hash) {
            if keys.remove(key) {
                users.remove(&hash);
            }
        }
    }

    fn sweep_shard(&self, i: usize, now: u64) {
        let mut removed = Vec::new();
        {
            let mut shard = write(&self.inner.records[i]);
            shard.next_sweep = now + SWEEP_INTERVAL;
            shard.map.retain(|k, r| {
                let keep = !r.is_expired(now);
                if !keep {
                    removed.push((*k, r.user_id.clone()));
                }
                keep
            });
            shard.shared.purge();
        }
        for (k, user) in removed {
            self.unindex(&user, &k);
        }
    }

    /// [`SessionStore::load_shared`] without a future: the authenticator
    /// calls it directly on the memory store it built itself, so the hot
    /// path skips the boxed future of a `dyn SessionStore` call.
    pub(crate) fn load_now(&self, key: &SessionKey) -> Option<Arc<SessionRecord>> {
        let now = self.inner.clock.now();
        let shard = read(self.record_shard(key));
        shard.map.get(key).filter(|r| !r.is_expired(now)).cloned()
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    fn attempt_store(&self) -> Option<Arc<dyn AttemptStore>> {
        Some(self.inner.attempts.clone())
    }

    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let now = self.inner.clock.now();
        let sweep_due;
        {
            // Lock order: user index shard, then record shard (as delete_user).
            let hash = self.user_hash(&record.user_id);
            let mut users = write(self.user_shard(hash));
            let mut shard = write(self.record_shard(key));
            match shard.map.get(key) {
                Some(existing) if !existing.is_expired(now) => return Err(StoreError::Collision),
                _ => {}
            }
            let mut record = record.clone();
            shard.shared.share(&mut record);
            if let Some(old) = shard.map.insert(*key, Arc::new(record)) {
                // An expired record under the same key: drop its index entry.
                let old_hash = self.user_hash(&old.user_id);
                if old_hash != hash {
                    if let Some(keys) = users.get_mut(&old_hash) {
                        if keys.remove(key) {
                            users.remove(&old_hash);
                        }
                    }
                }
            }
            users
                .entry(hash)
                .and_modify(|keys| keys.insert(*key))
                .or_insert(UserKeys::One(*key));
            sweep_due = now >= shard.next_sweep;
        }
        if sweep_due {
            let i = usize::from(key.as_bytes()[0]) % SHARDS;
            self.sweep_shard(i, now);
        }
        Ok(())
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let now = self.inner.clock.now();
        let shard = read(self.record_shard(key));
        Ok(shard
            .map
            .get(key)
            .filter(|r| !r.is_expired(now))
            .map(|r| SessionRecord::clone(r)))
    }

    async fn load_shared(
        &self,
        key: &SessionKey,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        Ok(self.load_now(key))
    }

    async fn update(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        let now = self.inner.clock.now();
        let mut guard = write(self.record_shard(key));
        let shard = &mut *guard;
        match shard.map.get_mut(key) {
            Some(current)
                if !current.is_expired(now)
                    && current.version == record.version
                    && current.user_id == record.user_id =>
            {
                let version = record.version.wrapping_add(1);
                let mut next = record.clone();
                next.version = version;
                shard.shared.share(&mut next);
                *current = Arc::new(next);
                Ok(version)
            }
            _ => Err(StoreError::Conflict),
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let removed = write(self.record_shard(key)).map.remove(key);
        match removed {
            Some(r) => {
                self.unindex(&r.user_id, key);
                Ok(!r.is_expired(self.inner.clock.now()))
            }
            None => Ok(false),
        }
    }

    async fn delete_user(&self, user_id: &str) -> Result<usize, StoreError> {
        let now = self.inner.clock.now();
        let hash = self.user_hash(user_id);
        let mut users = write(self.user_shard(hash));
        let Some(mut entry) = users.remove(&hash) else {
            return Ok(0);
        };
        let mut n = 0;
        let mut empty = false;
        for k in entry.keys() {
            let mut shard = write(self.record_shard(&k));
            if shard.map.get(&k).is_some_and(|r| r.user_id != user_id) {
                continue; // another user whose ID hashes alike: stays indexed
            }
            if let Some(r) = shard.map.remove(&k) {
                n += usize::from(!r.is_expired(now));
            }
            empty = entry.remove(&k);
        }
        if !empty {
            users.insert(hash, entry);
        }
        Ok(n)
    }

    async fn list_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        let now = self.inner.clock.now();
        let hash = self.user_hash(user_id);
        let keys = match read(self.user_shard(hash)).get(&hash) {
            Some(entry) => entry.keys(),
            None => return Ok(Vec::new()),
        };
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(r) = read(self.record_shard(&k)).map.get(&k) {
                if !r.is_expired(now) && r.user_id == user_id {
                    out.push((k, SessionRecord::clone(r)));
                }
            }
        }
        Ok(out)
    }
}
