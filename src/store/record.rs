//! [`SessionRecord`], what a [`SessionStore`](super::SessionStore) keeps
//! for one session or refresh family, and its kind.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::b64_32;
use super::{SessionData, SessionKey, UserId};

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
/// [`update`](super::SessionStore::update) succeeds only if the stored version equals
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
///
/// Its serialized form (`serde`, e.g. one JSON column) names every public
/// field as it is spelled here.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionRecord {
    /// Session or refresh family.
    pub kind: RecordKind,
    /// The authenticated user's ID.
    pub user_id: UserId,
    /// The user's roles at login. Shared: a store may hold one copy of a
    /// role set for every session that has it (the
    /// [`MemoryStore`](super::MemoryStore) does).
    pub roles: Arc<[String]>,
    /// When the session was created.
    pub created_at: u64,
    /// Creation time in milliseconds: orders sessions created within the same
    /// second (the per-user cap evicts the oldest).
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
    pub ip: Option<IpAddr>,
    /// Client User-Agent at login (truncated), if known. Shared: a store
    /// may hold one copy of a User-Agent for every session that has it (the
    /// [`MemoryStore`](super::MemoryStore) does).
    pub user_agent: Option<Arc<str>>,
    /// The CSRF secret of a cookie session (random and unused for a
    /// refresh family, whose state is kept apart, typed and private).
    pub secret: [u8; 32],
    /// When the user last proved a credential: the login, or the latest
    /// re-authentication (seconds since the Unix epoch). Records written
    /// before it existed read as `0`, which no freshness check accepts.
    pub authenticated_at: u64,
    /// Whether the cookie outlives the browser ("remember me").
    pub(crate) persistent: bool,
    /// What only some records have (see [`Rare`]): one pointer in the
    /// others.
    pub(crate) rare: Option<Box<Rare>>,
    /// Small application data.
    pub data: SessionData,
    /// Optimistic-concurrency version (see the type docs).
    pub version: u64,
    /// The key a [`MemoryStore`](super::MemoryStore) holds the record
    /// under (all zero elsewhere): kept in the record, the store's table
    /// slot is one pointer instead of a 32-byte key beside it. Not part of
    /// the record's value: equality, `Debug` and serde ignore it.
    pub(crate) held_key: HeldKey,
}

/// The fields only some records have, boxed together (the session's
/// memory in [`MemoryStore`](super::MemoryStore) is issue #19's target).
/// Serialized as three fields of the record, each left out when empty.
#[derive(Clone, PartialEq, Default)]
pub(crate) struct Rare {
    /// A refresh family's rotation state (`None` for a cookie session).
    pub(crate) family: Option<FamilyState>,
    /// The stable, non-secret hint of the credential (see
    /// [`SessionKey::hint`]): the hint of the key the session was created
    /// under, kept across ID rotation. `None` while the credential still
    /// has that first key (a refresh family, a session never rotated): the
    /// hint is then derived from the key, and a live session stores none.
    pub(crate) hint: Option<String>,
    /// Set when the session's ID was rotated: the key (hex) of the
    /// successor. Such a record is a tombstone, absent for every request
    /// and list, kept only until the rotation deletes it, so a concurrent
    /// writer either lands before the move (and is carried over) or finds
    /// it moved.
    pub(crate) moved_to: Option<String>,
}

/// [`SessionRecord::held_key`]: equal to every other, so two records of
/// the same value compare equal wherever they are held.
#[derive(Clone, Copy)]
pub(crate) struct HeldKey(pub(crate) SessionKey);

impl Default for HeldKey {
    fn default() -> Self {
        HeldKey(SessionKey::from_bytes([0; 32]))
    }
}

impl PartialEq for HeldKey {
    fn eq(&self, _: &Self) -> bool {
        true
    }
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
            .field("family", &self.family().map(|_| "REDACTED"))
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
    pub fn new(user_id: impl Into<UserId>, now: u64, idle_secs: u64, absolute_secs: u64) -> Self {
        let secret = crate::id::random_32().unwrap_or([0; 32]);
        Self::with_secret(user_id.into(), now, idle_secs, absolute_secs, secret)
    }

    /// [`new`](Self::new) with the given secret: the session manager draws
    /// a login's ID and secret in one call to the OS generator.
    pub(crate) fn with_secret(
        user_id: UserId,
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
            authenticated_at: now,
            persistent: true,
            rare: None,
            data: SessionData::default(),
            version: 0,
            held_key: HeldKey::default(),
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
        self.hint().map_or_else(|| key.hint(), str::to_owned)
    }

    /// The successor's key, when this record is a rotation's tombstone.
    pub(crate) fn successor(&self) -> Option<SessionKey> {
        self.moved_to().and_then(SessionKey::from_hex)
    }

    /// A refresh family's rotation state.
    pub(crate) fn family(&self) -> Option<&FamilyState> {
        self.rare.as_ref()?.family.as_ref()
    }

    /// The hint stored for a rotated session (see [`Rare::hint`]).
    pub(crate) fn hint(&self) -> Option<&str> {
        self.rare.as_ref()?.hint.as_deref()
    }

    /// The successor's key (hex) of a rotation's tombstone.
    pub(crate) fn moved_to(&self) -> Option<&str> {
        self.rare.as_ref()?.moved_to.as_deref()
    }

    /// True for a rotation's tombstone.
    pub(crate) fn is_moved(&self) -> bool {
        self.moved_to().is_some()
    }

    pub(crate) fn set_family(&mut self, family: Option<FamilyState>) {
        self.change_rare(|r| r.family = family);
    }

    pub(crate) fn set_hint(&mut self, hint: Option<String>) {
        self.change_rare(|r| r.hint = hint);
    }

    pub(crate) fn set_moved_to(&mut self, successor: Option<String>) {
        self.change_rare(|r| r.moved_to = successor);
    }

    /// Changes the rare fields; a record left with none holds no box.
    fn change_rare(&mut self, change: impl FnOnce(&mut Rare)) {
        let rare = self.rare.get_or_insert_with(Box::default);
        change(rare);
        if **rare == Rare::default() {
            self.rare = None;
        }
    }
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
