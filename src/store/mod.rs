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

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub(crate) use crate::error::StoreError;
pub use crate::id::SessionKey;

mod b64_32;
mod memory;
pub use crate::throttle::AttemptStore;
pub use memory::MemoryStore;

#[cfg(any(test, feature = "conformance"))]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;

/// What a record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordKind {
    /// A cookie session.
    #[default]
    Session,
    /// A refresh-token family (token mode).
    RefreshFamily,
}

/// One server-side session (or refresh-token family).
///
/// `version` implements optimistic concurrency: a store's
/// [`update`](SessionStore::update) succeeds only if the stored version equals
/// the record's, and then stores it with `version + 1`.
///
/// ```
/// use portcullis::store::SessionRecord;
/// let r = SessionRecord::new("alice", 1_000, 1_800, 43_200);
/// assert_eq!(r.idle_expires_at, 2_800);
/// assert_eq!(r.absolute_expires_at, 44_200);
/// assert_eq!(r.expires_at(), 2_800);
/// assert!(!r.is_expired(2_799) && r.is_expired(2_800));
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// Session or refresh family.
    #[serde(default)]
    pub kind: RecordKind,
    /// The authenticated user's ID.
    pub user_id: String,
    /// The user's roles at login. Shared: a store may hold one copy of a
    /// role set for every session that has it (the [`MemoryStore`] does).
    #[serde(default)]
    pub roles: Arc<[String]>,
    /// When the session was created.
    pub created_at: u64,
    /// Creation time in milliseconds: orders sessions created within the same
    /// second (the per-user cap evicts the oldest).
    #[serde(default)]
    pub created_at_ms: u64,
    /// Last time the session was seen (written at most once per rolling
    /// interval, not on every request).
    pub last_seen: u64,
    /// End of the idle timeout (moves with `last_seen`).
    pub idle_expires_at: u64,
    /// Hard end of the session; nothing extends it.
    pub absolute_expires_at: u64,
    /// Client IP at login, if known (serialized as text, e.g.
    /// `"198.51.100.7"`).
    #[serde(default)]
    pub ip: Option<IpAddr>,
    /// Client User-Agent at login (truncated), if known. Shared: a store
    /// may hold one copy of a User-Agent for every session that has it (the
    /// [`MemoryStore`] does).
    #[serde(default)]
    pub user_agent: Option<Arc<str>>,
    /// The CSRF secret of a cookie session (random and unused for a
    /// refresh family, whose state is kept apart, typed and private).
    #[serde(with = "b64_32")]
    pub secret: [u8; 32],
    /// A refresh family's rotation state (`None` for a cookie session).
    /// Boxed: 120 bytes every cookie session would otherwise carry empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) family: Option<Box<FamilyState>>,
    /// When the user last proved a credential: the login, or the latest
    /// re-authentication (seconds since the Unix epoch). Records written
    /// before it existed read as `0`, which no freshness check accepts.
    #[serde(default)]
    pub authenticated_at: u64,
    /// Whether the cookie outlives the browser ("remember me").
    #[serde(default = "persistent_default")]
    pub(crate) persistent: bool,
    /// The stable, non-secret hint of the credential (see
    /// [`SessionKey::hint`]): the hint of the key the session was created
    /// under, kept across ID rotation. `None` while the credential still
    /// has that first key (a refresh family, a session never rotated): the
    /// hint is then derived from the key, and a live session stores none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hint: Option<Box<str>>,
    /// Set when the session's ID was rotated: the key (hex) of the
    /// successor. Such a record is a tombstone, absent for every request
    /// and list, kept only until the rotation deletes it, so a concurrent
    /// writer either lands before the move (and is carried over) or finds
    /// it moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) moved_to: Option<Box<str>>,
    /// Small application data.
    #[serde(default)]
    pub data: serde_json::Map<String, serde_json::Value>,
    /// Optimistic-concurrency version (see the type docs).
    #[serde(default)]
    pub version: u64,
}

impl std::fmt::Debug for SessionRecord {
    // The secret (CSRF token / refresh hash), the client's IP and
    // User-Agent and the application data never print: `Debug` reaches
    // logs through `#[tracing::instrument]` and `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("kind", &self.kind)
            .field("user_id", &self.user_id)
            .field("roles", &self.roles)
            .field("created_at", &self.created_at)
            .field("last_seen", &self.last_seen)
            .field("idle_expires_at", &self.idle_expires_at)
            .field("absolute_expires_at", &self.absolute_expires_at)
            .field("ip", &self.ip.as_ref().map(|_| "REDACTED"))
            .field("user_agent", &self.user_agent.as_ref().map(|_| "REDACTED"))
            .field("secret", &"REDACTED")
            .field("family", &self.family.as_ref().map(|_| "REDACTED"))
            .field("authenticated_at", &self.authenticated_at)
            .field(
                "data",
                &format_args!("{} members, REDACTED", self.data.len()),
            )
            .field("version", &self.version)
            .finish()
    }
}

impl SessionRecord {
    /// A session for `user_id` created at `now` with the given idle and
    /// absolute lifetimes (seconds). The idle expiry never passes the
    /// absolute one. The CSRF secret is drawn from the OS generator (should
    /// that fail it stays all-zero, which no CSRF check ever accepts).
    #[must_use]
    pub fn new(user_id: impl Into<String>, now: u64, idle_secs: u64, absolute_secs: u64) -> Self {
        let secret = crate::id::random_32().unwrap_or([0; 32]);
        Self::with_secret(user_id.into(), now, idle_secs, absolute_secs, secret)
    }

    /// [`new`](Self::new) with the given secret: the session manager draws
    /// a login's ID and secret in one call to the OS generator.
    pub(crate) fn with_secret(
        user_id: String,
        now: u64,
        idle_secs: u64,
        absolute_secs: u64,
        secret: [u8; 32],
    ) -> Self {
        let absolute = now.saturating_add(absolute_secs);
        SessionRecord {
            kind: RecordKind::Session,
            user_id,
            roles: Arc::default(),
            created_at: now,
            created_at_ms: now.saturating_mul(1000),
            last_seen: now,
            idle_expires_at: now.saturating_add(idle_secs).min(absolute),
            absolute_expires_at: absolute,
            ip: None,
            user_agent: None,
            secret,
            family: None,
            authenticated_at: now,
            persistent: true,
            hint: None,
            moved_to: None,
            data: serde_json::Map::new(),
            version: 0,
        }
    }

    /// The earlier of the idle and absolute expiries: a store may drop the
    /// record at this instant (e.g. as a Redis TTL).
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.idle_expires_at.min(self.absolute_expires_at)
    }

    /// True once `now` reaches [`expires_at`](Self::expires_at).
    #[must_use]
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at()
    }

    /// The stable hint of this credential, stored under `key`.
    pub(crate) fn id_hint(&self, key: &SessionKey) -> String {
        self.hint
            .as_deref()
            .map_or_else(|| key.hint(), str::to_owned)
    }

    /// The successor's key, when this record is a rotation's tombstone.
    pub(crate) fn successor(&self) -> Option<SessionKey> {
        self.moved_to.as_deref().and_then(SessionKey::from_hex)
    }
}

fn persistent_default() -> bool {
    true
}

/// What a refresh family needs between two refreshes: never a usable
/// secret, only hashes and the nonce a successor is derived with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FamilyState {
    /// SHA-256 of the family's current refresh secret.
    #[serde(with = "b64_32")]
    pub(crate) current: [u8; 32],
    /// The latest rotation, for the retry grace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rotation: Option<Rotation>,
}

/// One rotation of a refresh family.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Rotation {
    /// SHA-256 of the secret the rotation spent.
    #[serde(with = "b64_32")]
    pub(crate) spent: [u8; 32],
    /// The nonce the successor was derived with.
    #[serde(with = "b64_32")]
    pub(crate) nonce: [u8; 32],
    /// When it happened (ms since the Unix epoch).
    pub(crate) at_ms: u64,
}

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
