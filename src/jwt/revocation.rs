//! The revocation list (token blacklist): by `jti` until the token's own
//! expiry, by refresh family (every access token minted from it), and by
//! subject for everything issued up to an instant.

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::error::StoreError;
use crate::prehashed::PreHashed;

/// Where revoked tokens and subjects are remembered.
///
/// Object-safe and shared as `Arc<dyn RevocationList>`; the embedded
/// implementation is [`MemoryRevocationList`], a Redis one lives behind the
/// `redis` feature so several instances share revocations.
///
/// Contract:
///
/// - [`revoke_token`](Self::revoke_token) remembers a `jti` until
///   `expires_at` (seconds); after that the entry may disappear by itself
///   (the token is expired anyway), so memory stays bounded.
/// - [`revoke_family`](Self::revoke_family) refuses every token carrying
///   that refresh family (`sid`) until `expires_at`, so ending a family
///   ends every access token minted from it at once, of any generation.
/// - [`revoke_subject_before`](Self::revoke_subject_before) refuses every
///   token of `subject` whose issue time (milliseconds) is `<=` the instant
///   ("log out everywhere", password change). Calling it again keeps the
///   later instant. An implementation may forget the entry once every token
///   issued up to the instant has expired.
/// - [`is_revoked`](Self::is_revoked) is the single hot-path question, asked
///   once per authenticated request, so a networked implementation can
///   answer it in one round trip.
/// - Failures are [`StoreError`]s; callers fail closed (503).
///
/// ```
/// use std::sync::Arc;
/// use portcullis::clock::ManualClock;
/// use portcullis::jwt::{MemoryRevocationList, RevocationList};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = ManualClock::new(1_000);
/// let list: Arc<dyn RevocationList> = Arc::new(MemoryRevocationList::new(clock.clone()));
/// list.revoke_token("jti-1", 1_900).await.unwrap();
/// assert!(list.is_revoked("jti-1", None, "alice", 1_000_000).await.unwrap());
/// assert!(!list.is_revoked("jti-2", None, "alice", 1_000_000).await.unwrap());
///
/// list.revoke_family("family-7", 1_900).await.unwrap();
/// assert!(list.is_revoked("jti-5", Some("family-7"), "bob", 1_000_000).await.unwrap());
/// assert!(!list.is_revoked("jti-5", Some("family-8"), "bob", 1_000_000).await.unwrap());
///
/// list.revoke_subject_before("alice", 1_000_500).await.unwrap();
/// assert!(list.is_revoked("jti-3", None, "alice", 1_000_500).await.unwrap());  // issued at the instant
/// assert!(!list.is_revoked("jti-4", None, "alice", 1_000_501).await.unwrap()); // one ms later
/// # });
/// ```
#[async_trait]
pub trait RevocationList: Send + Sync + 'static {
    /// Refuse the token `jti` until `expires_at` (its `exp` plus the
    /// verifier's leeway).
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError>;

    /// Refuse every token of refresh family `family` (its `sid` claim)
    /// until `expires_at` (the latest expiry any of them can have, plus
    /// leeway).
    async fn revoke_family(&self, family: &str, expires_at: u64) -> Result<(), StoreError>;

    /// Refuse every token of `subject` issued at or before `instant_millis`.
    async fn revoke_subject_before(
        &self,
        subject: &str,
        instant_millis: u64,
    ) -> Result<(), StoreError>;

    /// True if the token `jti` of refresh family `family` (if any) and of
    /// `subject`, issued at `issued_at_millis`, is revoked by any rule.
    async fn is_revoked(
        &self,
        jti: &str,
        family: Option<&str>,
        subject: &str,
        issued_at_millis: u64,
    ) -> Result<bool, StoreError>;
}

const SHARDS: usize = 32;
/// Expired entries removed per write, at most (incremental purge).
const SWEEP_PER_WRITE: usize = 8;
/// Default time a subject cutoff is kept: one day, far beyond any access
/// token lifetime (a [`TokenService`](super::TokenService) building its own
/// list uses its access-token lifetime plus leeway instead).
pub(crate) const DEFAULT_SUBJECT_RETENTION: u64 = 86_400;

// The maps are keyed by the list's keyed SipHash of the string, computed
// once per lookup (it also picks the shard), passed through as the hash.
/// hash -> the (rarely more than one) entries whose key has that hash.
type Map<V> = HashMap<u64, Vec<(Box<str>, V)>, BuildHasherDefault<PreHashed>>;

fn get<'m, V>(m: &'m Map<V>, h: u64, key: &str) -> Option<&'m V> {
    m.get(&h)?.iter().find(|(k, _)| &**k == key).map(|(_, v)| v)
}

/// Insert or update; returns true if the key was new.
fn upsert<V>(m: &mut Map<V>, h: u64, key: &str, value: V, merge: impl FnOnce(&mut V, V)) -> bool {
    let bucket = m.entry(h).or_default();
    match bucket.iter_mut().find(|(k, _)| &**k == key) {
        Some((_, v)) => {
            merge(v, value);
            false
        }
        None => {
            bucket.push((key.into(), value));
            true
        }
    }
}

/// Remove `key` if `due(value)`; returns true if removed.
fn remove_if<V>(m: &mut Map<V>, h: u64, key: &str, due: impl FnOnce(&V) -> bool) -> bool {
    let Some(bucket) = m.get_mut(&h) else {
        return false;
    };
    let Some(i) = bucket.iter().position(|(k, _)| &**k == key) else {
        return false;
    };
    if !due(&bucket[i].1) {
        return false;
    }
    bucket.swap_remove(i);
    if bucket.is_empty() {
        m.remove(&h);
    }
    true
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EntryKind {
    Jti,
    Family,
    Subject,
}

/// (expiry, kind, hash, key) of an entry that may come due.
type Due = (u64, EntryKind, u64, Box<str>);

#[derive(Default)]
struct Shard {
    /// jti -> expires_at (seconds).
    jtis: Map<u64>,
    /// refresh family -> expires_at (seconds).
    families: Map<u64>,
    /// subject -> (cutoff in ms, keep until in seconds).
    subjects: Map<(u64, u64)>,
    /// Min-heap of entries by expiry, for the incremental purge.
    expiry: BinaryHeap<Reverse<Due>>,
}

impl Shard {
    /// Remove up to `max` entries whose time has come; returns how many
    /// live entries were removed.
    fn sweep(&mut self, now: u64, max: usize) -> usize {
        let mut removed = 0;
        for _ in 0..max {
            match self.expiry.peek() {
                Some(Reverse((at, ..))) if *at <= now => {}
                _ => break,
            }
            let Some(Reverse((at, kind, h, key))) = self.expiry.pop() else {
                break;
            };
            // The entry may have been extended since: only drop it if the
            // stored expiry is the one that came due.
            let gone = match kind {
                EntryKind::Jti => remove_if(&mut self.jtis, h, &key, |&exp| exp <= at),
                EntryKind::Family => remove_if(&mut self.families, h, &key, |&exp| exp <= at),
                EntryKind::Subject => {
                    remove_if(&mut self.subjects, h, &key, |&(_, until)| until <= at)
                }
            };
            removed += usize::from(gone);
        }
        removed
    }
}

/// The embedded [`RevocationList`]: 32 shards of `RwLock<HashMap>`, so
/// lookups are O(1) and concurrent with no global lock; expired entries are
/// purged a few at a time on every write (and all at once with
/// [`purge_expired`](Self::purge_expired)).
///
/// Per process only: with several instances behind a load balancer use the
/// Redis list (feature `redis`) so a revocation on one is seen by all.
///
/// ```
/// use std::time::Duration;
/// use std::sync::Arc;
/// use portcullis::clock::ManualClock;
/// use portcullis::jwt::{MemoryRevocationList, RevocationList};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = ManualClock::new(1_000);
/// let list = MemoryRevocationList::new(clock.clone());
/// list.revoke_token("j", 1_060).await.unwrap();
/// assert_eq!(list.len(), 1);
/// clock.advance(Duration::from_secs(61));
/// assert!(!list.is_revoked("j", None, "bob", 0).await.unwrap()); // expired: forgotten
/// list.purge_expired();
/// assert_eq!(list.len(), 0);
/// # });
/// ```
pub struct MemoryRevocationList {
    shards: Box<[RwLock<Shard>]>,
    hasher: RandomState,
    clock: SharedClock,
    subject_retention: u64,
    entries: AtomicUsize,
}

impl fmt::Debug for MemoryRevocationList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocationList")
            .field("entries", &self.len())
            .field("subject_retention", &self.subject_retention)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryRevocationList {
    fn default() -> Self {
        Self::with_shared_clock(Arc::new(SystemClock))
    }
}

impl MemoryRevocationList {
    /// An empty list reading time from `clock`.
    #[must_use]
    pub fn new(clock: impl Clock) -> Self {
        Self::with_shared_clock(Arc::new(clock))
    }

    /// An empty list on the crate's shared clock handle.
    pub(crate) fn with_shared_clock(clock: SharedClock) -> Self {
        MemoryRevocationList {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            clock,
            subject_retention: DEFAULT_SUBJECT_RETENTION,
            entries: AtomicUsize::new(0),
        }
    }

    /// Keep a subject cutoff this long after its instant (default one
    /// day); set it to at least the longest access
    /// token lifetime plus leeway.
    #[must_use]
    pub fn with_subject_retention(mut self, retention: Duration) -> Self {
        self.subject_retention = crate::clock::retention_secs(retention);
        self
    }

    /// Number of entries held (including expired ones not yet purged).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }

    /// True when nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remove every expired entry now (one shard at a time).
    pub fn purge_expired(&self) {
        let now = self.clock.now();
        for shard in &*self.shards {
            let mut shard = write(shard);
            let removed = shard.sweep(now, usize::MAX);
            self.entries.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// The keyed SipHash of `key` (attacker-chosen keys cannot crowd one
    /// shard or bucket) and the shard it picks. Middle bits choose the
    /// shard: the map inside uses the low bits and the top seven.
    fn locate(&self, key: &str) -> (u64, &RwLock<Shard>) {
        let h = self.hasher.hash_one(key);
        (h, &self.shards[((h >> 32) as usize) % SHARDS])
    }
}

// A poisoned lock only means another thread panicked mid-update; the maps
// stay structurally valid, so keep serving rather than failing every request.
fn read(l: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}
fn write(l: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryRevocationList {
    /// Remember `id` (a jti or a family) until `expires_at`.
    fn revoke_until(&self, kind: EntryKind, id: &str, expires_at: u64) {
        let now = self.clock.now();
        if expires_at <= now {
            return; // already expired: nothing to remember
        }
        let (h, shard) = self.locate(id);
        let mut shard = write(shard);
        let removed = shard.sweep(now, SWEEP_PER_WRITE);
        let map = if kind == EntryKind::Family {
            &mut shard.families
        } else {
            &mut shard.jtis
        };
        let added = upsert(map, h, id, expires_at, |v, new| *v = (*v).max(new));
        shard.expiry.push(Reverse((expires_at, kind, h, id.into())));
        // Counted under the shard lock, so an entry is always counted in
        // before a sweep can count it out.
        self.entries
            .fetch_add(usize::from(added), Ordering::Relaxed);
        self.entries.fetch_sub(removed, Ordering::Relaxed);
        drop(shard);
    }

    /// True if `id` is remembered in `kind`'s map and not yet expired.
    fn holds(&self, kind: EntryKind, id: &str, now: u64) -> bool {
        let (h, shard) = self.locate(id);
        let shard = read(shard);
        let map = if kind == EntryKind::Family {
            &shard.families
        } else {
            &shard.jtis
        };
        get(map, h, id).is_some_and(|&exp| now < exp)
    }

    /// [`RevocationList::is_revoked`] without a future (the authenticator
    /// calls it directly on a list it built, skipping the boxed future).
    pub(crate) fn is_revoked_now(
        &self,
        jti: &str,
        family: Option<&str>,
        subject: &str,
        issued_at_millis: u64,
    ) -> bool {
        if self.entries.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let now = self.clock.now();
        if self.holds(EntryKind::Jti, jti, now)
            || family.is_some_and(|f| self.holds(EntryKind::Family, f, now))
        {
            return true;
        }
        let (h, shard) = self.locate(subject);
        get(&read(shard).subjects, h, subject)
            .is_some_and(|&(cutoff, until)| now < until && issued_at_millis <= cutoff)
    }
}

#[async_trait]
impl RevocationList for MemoryRevocationList {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.revoke_until(EntryKind::Jti, jti, expires_at);
        Ok(())
    }

    async fn revoke_family(&self, family: &str, expires_at: u64) -> Result<(), StoreError> {
        self.revoke_until(EntryKind::Family, family, expires_at);
        Ok(())
    }

    async fn revoke_subject_before(
        &self,
        subject: &str,
        instant_millis: u64,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let until = (instant_millis / 1000)
            .saturating_add(self.subject_retention)
            .max(now.saturating_add(1));
        let (h, shard) = self.locate(subject);
        let mut shard = write(shard);
        let removed = shard.sweep(now, SWEEP_PER_WRITE);
        let added = upsert(
            &mut shard.subjects,
            h,
            subject,
            (instant_millis, until),
            |v, new| *v = (v.0.max(new.0), v.1.max(new.1)),
        );
        let keep = get(&shard.subjects, h, subject).map_or(until, |e| e.1);
        shard
            .expiry
            .push(Reverse((keep, EntryKind::Subject, h, subject.into())));
        // Counted under the shard lock, so an entry is always counted in
        // before a sweep can count it out.
        self.entries
            .fetch_add(usize::from(added), Ordering::Relaxed);
        self.entries.fetch_sub(removed, Ordering::Relaxed);
        drop(shard);
        Ok(())
    }

    async fn is_revoked(
        &self,
        jti: &str,
        family: Option<&str>,
        subject: &str,
        issued_at_millis: u64,
    ) -> Result<bool, StoreError> {
        Ok(self.is_revoked_now(jti, family, subject, issued_at_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn bounded_by_incremental_sweep() {
        block(async {
            let clock = ManualClock::new(1_000);
            let list = MemoryRevocationList::new(clock.clone());
            for i in 0..2_000 {
                list.revoke_token(&format!("j{i}"), 1_010).await.unwrap();
            }
            assert_eq!(list.len(), 2_000);
            clock.advance(Duration::from_secs(20));
            // Writes sweep a few due entries of their shard each.
            for i in 0..2_000 {
                list.revoke_token(&format!("k{i}"), 2_000).await.unwrap();
            }
            assert!(list.len() < 2_000 + 200, "len {}", list.len());
            list.purge_expired();
            assert_eq!(list.len(), 2_000);
        });
    }

    #[test]
    fn extension_is_not_dropped_early() {
        block(async {
            let clock = ManualClock::new(1_000);
            let list = MemoryRevocationList::new(clock.clone());
            list.revoke_token("j", 1_010).await.unwrap();
            list.revoke_token("j", 1_100).await.unwrap();
            clock.advance(Duration::from_secs(50));
            list.purge_expired();
            assert!(list.is_revoked("j", None, "s", 0).await.unwrap());
            assert_eq!(list.len(), 1);
        });
    }

    #[test]
    fn subject_cutoff_keeps_latest() {
        block(async {
            let clock = ManualClock::new(1_000);
            let list = MemoryRevocationList::new(clock.clone());
            list.revoke_subject_before("s", 1_000_200).await.unwrap();
            list.revoke_subject_before("s", 1_000_100).await.unwrap();
            assert!(list.is_revoked("x", None, "s", 1_000_150).await.unwrap());
            assert!(!list.is_revoked("x", None, "s", 1_000_201).await.unwrap());
            assert!(!list.is_revoked("x", None, "t", 0).await.unwrap());
        });
    }
}
