//! Server-side session storage: the [`SessionStore`] trait, the
//! [`SessionRecord`] it keeps, and the embedded [`MemoryStore`].
//!
//! The trait is deliberately small so it is easy to implement over any
//! database. Records are addressed by [`SessionKey`] (a hash of the session
//! ID, never the ID itself). A refresh-token family is a record too (see
//! [`RecordKind`]), so one store serves both the cookie and the token model.
//!
//! Implement it for your own database and check it with the conformance kit
//! (feature `conformance`):
//! `portcullis::store::conformance::run(|| async { MyStore::new() }).await`.
//!
//! The trait is written with [`async_trait`](https://docs.rs/async-trait):
//! put `#[async_trait::async_trait]` on your `impl SessionStore for MyStore`
//! (add `async-trait = "0.1"` to your dependencies), as
//! `examples/sqlite_store.rs` does.

use std::sync::Arc;

use async_trait::async_trait;

pub(crate) use crate::error::StoreError;
pub use crate::id::SessionKey;

mod b64_32;
mod memory;
mod record;
mod session_data;
mod user_id;
mod wire;
pub use crate::throttle::AttemptStore;
pub use memory::MemoryStore;
pub(crate) use record::{FamilyState, HeldKey, Rotation};
pub use record::{RecordKind, SessionRecord};
pub use session_data::SessionData;
pub use user_id::UserId;

#[cfg(any(test, feature = "conformance"))]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;

/// Storage for [`SessionRecord`]s, keyed by [`SessionKey`].
///
/// Implement it with `#[async_trait::async_trait]` on the impl block (the
/// trait is declared with it, so `async fn`s in a plain impl do not match).
///
/// Every method is async and the trait is object-safe (it is used as
/// `Arc<dyn SessionStore>`). Contract, checked by the conformance kit:
///
/// - `create` never overwrites: an existing key is [`StoreError::Collision`].
/// - `load` of an unknown or expired key is `Ok(None)`.
/// - `update` is a compare-and-set on `record.version`: it stores the record
///   with `version + 1` and returns that new version, or answers
///   [`StoreError::Conflict`] when the stored version differs or the record
///   is gone.
/// - `delete_user` and `list_user` see every record whose `user_id` matches
///   (sessions and refresh families); a per-user index must stay consistent
///   with the records under concurrent use.
/// - Unreachable or slow backends answer [`StoreError::Unavailable`] /
///   [`StoreError::Timeout`]; callers then fail closed.
/// - **Expiry** is judged by the store's own clock, in whole seconds since
///   the Unix epoch: a record is expired once `now >=`
///   [`SessionRecord::expires_at`]. The shipped stores use the system clock
///   unless given another ([`MemoryStore::with_clock`],
///   `RedisStore::builder().clock(..)`); in tests, give the store and
///   [`AuthenticatorBuilder::clock`](crate::AuthenticatorBuilder::clock) the
///   same [`ManualClock`](crate::clock::ManualClock). (The default store of
///   an `Authenticator` built without `.store(..)` already shares its
///   clock.)
/// - **An expired record is absent** for every method, whether or not the
///   backend has dropped it yet: `load` answers `None`, `create` of its key
///   succeeds (replacing it, never a collision), `update` answers
///   [`StoreError::Conflict`], `delete` answers `false`, `list_user` omits
///   it and `delete_user` removes it. A store may drop
///   expired records at any time (a TTL, a sweep, lazily on access).
/// - Records are stored whole, in their serde form (e.g. one JSON column):
///   fields added in later versions round-trip without store changes.
///
/// ```
/// use portcullis::store::{MemoryStore, SessionKey, SessionRecord, SessionStore};
/// use std::time::{SystemTime, UNIX_EPOCH};
/// # tokio_test_block_on(async {
/// let store = MemoryStore::new();
/// let key = SessionKey::from_bytes([7; 32]);
/// let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
/// let rec = SessionRecord::new("alice", now, 60, 600);
/// store.create(&key, &rec).await.unwrap();
/// let loaded = store.load(&key).await.unwrap().unwrap();
/// assert_eq!(loaded.user_id, "alice");
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Insert a new record; [`StoreError::Collision`] if the key exists.
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError>;

    /// The record under `key`, or `None` if unknown or expired.
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError>;

    /// [`load`](Self::load) returning a shared record. The default wraps
    /// `load`; an in-process store can override it to skip a deep copy on
    /// every authenticated request (as [`MemoryStore`] does).
    async fn load_shared(
        &self,
        key: &SessionKey,
    ) -> Result<Option<Arc<SessionRecord>>, StoreError> {
        Ok(self.load(key).await?.map(Arc::new))
    }

    /// Compare-and-set on `record.version`; returns the new version.
    async fn update(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError>;

    /// Remove the record; `true` if it existed.
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError>;

    /// Remove every record of `user_id`; returns how many were removed.
    async fn delete_user(&self, user_id: &str) -> Result<usize, StoreError>;

    /// Every live record of `user_id`, with its key.
    async fn list_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError>;

    /// [`list_user`](Self::list_user), only the records of `kind` (the
    /// per-user caps ask for one kind). The default filters `list_user`; a
    /// store that indexes the kinds apart can answer without reading the
    /// other kind.
    async fn list_user_kind(
        &self,
        user_id: &str,
        kind: RecordKind,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        let mut all = self.list_user(user_id).await?;
        all.retain(|(_, r)| r.kind == kind);
        Ok(all)
    }

    /// Whether the store answers (a readiness probe). The default loads a
    /// key no record can have; override it with something cheaper if your
    /// backend has one.
    async fn ping(&self) -> Result<(), StoreError> {
        self.load(&SessionKey::from_bytes([0; 32]))
            .await
            .map(|_| ())
    }

    /// True when several processes may share this store (a network store
    /// such as Redis or SQL), so state kept beside it in process memory
    /// would split between instances. The default is `false`.
    fn is_shared(&self) -> bool {
        false
    }

    /// A revocation list on this store's backend, keeping subject cutoffs
    /// for `subject_retention`, for an
    /// [`Authenticator`](crate::Authenticator) given this store and no
    /// revocation list of its own: a shared store then shares revocations
    /// too, without being told twice. The default is `None`: the
    /// authenticator keeps revocations in process memory beside a store
    /// that is not [shared](Self::is_shared), and refuses to build beside
    /// one that is.
    fn revocation_list(
        &self,
        subject_retention: std::time::Duration,
    ) -> Option<Arc<dyn crate::jwt::RevocationList>> {
        let _ = subject_retention;
        None
    }

    /// Storage for login-throttle counters on this store's backend, for an
    /// [`Authenticator`](crate::Authenticator) with
    /// [login throttling](crate::LoginThrottle) on: a shared store then
    /// shares the counts, so every instance enforces the same limits. The
    /// default is `None`: the authenticator counts in process memory beside
    /// a store that is not [shared](Self::is_shared), and refuses to build
    /// beside one that is (unless throttling is off).
    fn attempt_store(&self) -> Option<Arc<dyn AttemptStore>> {
        None
    }
}

/// The keys past a per-user cap of `max`: newest first by creation time,
/// ties broken by key alone, so concurrent logins on several instances
/// agree on which survive (an order that favoured each login's own record
/// made two logins of one millisecond evict each other, leaving fewer than
/// `max`). A login that races `max` newer ones may so end its own record.
pub(crate) fn past_cap(records: &mut [(SessionKey, SessionRecord)], max: usize) -> Vec<SessionKey> {
    if records.len() <= max {
        return Vec::new();
    }
    records.sort_by(|a, b| (b.1.created_at_ms.cmp(&a.1.created_at_ms)).then(b.0.cmp(&a.0)));
    records[max..].iter().map(|(k, _)| *k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_of_one_millisecond_agree_on_the_survivor() {
        // Two instances each created one record at the same instant and
        // then listed both: together they must end exactly one.
        let rec = SessionRecord::new("u", 1_000, 60, 600);
        let both = [
            (SessionKey::from_bytes([1; 32]), rec.clone()),
            (SessionKey::from_bytes([2; 32]), rec),
        ];
        let mut ended: Vec<SessionKey> = past_cap(&mut both.clone(), 1);
        ended.extend(past_cap(&mut both.clone(), 1));
        ended.dedup();
        assert_eq!(ended.len(), 1, "{ended:?}");
    }
}

/// Attempts of [`update_record`] before it gives up on a record that
/// keeps changing under it. Every round of a contended record lets at
/// least one writer through, so this many concurrent writers of one
/// session all land.
const UPDATE_ATTEMPTS: usize = 64;

/// Why [`update_record`] wrote nothing.
#[derive(Debug)]
pub(crate) enum UpdateError<E> {
    /// The store failed (or the record kept changing: `Conflict`).
    Store(StoreError),
    /// The change refused the record as it was.
    Refused(E),
}

impl<E> From<StoreError> for UpdateError<E> {
    fn from(e: StoreError) -> Self {
        UpdateError::Store(e)
    }
}

/// Load the record under `key`, change it with `change`, and write it back
/// with the store's compare-and-set, reloading and reapplying on a
/// conflict, so a concurrent write is never lost and never overwritten
/// with stale data. Returns the record as written, or `None` when it is
/// gone. A record moved by an ID rotation is gone too, unless
/// `follow_moves`: then the change goes to its successor (a change meant
/// for the user, such as new roles, must reach the session under its new
/// ID). `change` may refuse (nothing is written).
pub(crate) async fn update_record<E>(
    store: &dyn SessionStore,
    key: &SessionKey,
    follow_moves: bool,
    mut change: impl FnMut(&mut SessionRecord) -> Result<(), E>,
) -> Result<Option<SessionRecord>, UpdateError<E>> {
    let mut key = *key;
    for _ in 0..UPDATE_ATTEMPTS {
        let Some(mut record) = store.load(&key).await? else {
            return Ok(None);
        };
        if let Some(next) = record.successor() {
            if !follow_moves {
                return Ok(None);
            }
            key = next;
            continue;
        }
        change(&mut record).map_err(UpdateError::Refused)?;
        match store.update(&key, &record).await {
            Ok(v) => {
                record.version = v;
                return Ok(Some(record));
            }
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
