//! [`RedisStore`]: the [`SessionStore`] over Redis (one node or a cluster).

use std::fmt;

use async_trait::async_trait;
use redis::AsyncCommands as _;

use super::builder::RedisStoreBuilder;
use super::{ttl_millis, SharedRef};
use crate::store::{RecordKind, SessionKey, SessionRecord, SessionStore, StoreError};

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "portcullis:";
/// Default bound on every Redis call.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Key kinds under the prefix.
pub(crate) const RECORD: &str = "s";
pub(crate) const USER_INDEX: &str = "u";
/// A user's refresh families, apart from the sessions.
pub(crate) const FAMILY_INDEX: &str = "uf";
/// Index members one call reads or deletes at most.
const INDEX_CHUNK: isize = 256;

/// What a removal found: its status (0 none or someone else's, 1 live, 2
/// expired), the record's owner and kind.
type Removed = (u8, String, String);

/// A [`SessionStore`] in Redis, shared by every server instance that points
/// at the same Redis (one node with its replicas, or a Redis Cluster) and
/// prefix.
///
/// Layout under the prefix (default `portcullis:`), one hash slot per key
/// (the part in braces picks it, so a cluster spreads records and users
/// over its shards):
///
/// | key | type | content |
/// |-----|------|---------|
/// | `<prefix>s:{<hex key>}` | string | the record as JSON, TTL = its expiry |
/// | `<prefix>u:{<user id>}` | sorted set | the hex keys of the user's cookie sessions, scored by their expiry at creation (unix ms), TTL ≥ theirs |
/// | `<prefix>uf:{<user id>}` | sorted set | the same for the user's refresh families |
///
/// The key is [`SessionKey::to_hex`], a SHA-256 of the session ID, so a
/// leaked Redis does not leak usable session IDs, and a request finds its
/// record from its cookie in one round trip. Every script touches one key:
/// [`update`](SessionStore::update) is an atomic compare-and-set on the
/// record's version; [`create`](SessionStore::create) writes the index
/// entry first and the record second, so a live record is never missing
/// from its user's index (log out everywhere finds it); deletes remove the
/// record first and the entry second. An entry whose record is gone is
/// dropped by the next listing once its score (the record's expiry) has
/// passed; before that it may be a `create` between its two writes. [`load`](SessionStore::load)
/// also checks the expiry itself with the store's clock, so a record is
/// invisible from its expiry instant even if its TTL has not fired yet.
///
/// Cloning is cheap and shares the connection.
///
/// ```no_run
/// use std::time::Duration;
/// use portcullis::redis::RedisStore;
/// # async fn demo() -> Result<(), portcullis::StoreError> {
/// let store = RedisStore::builder()
///     .prefix("myapp:auth:")
///     .timeout(Duration::from_millis(250))
///     .connect("redis://127.0.0.1:6379/")
///     .await?;
/// # let _ = store;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) shared: SharedRef,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedisStore").field(&self.shared).finish()
    }
}

impl RedisStore {
    /// A builder with the defaults (prefix `portcullis:`, 1 s timeout,
    /// system clock, no replica confirmation).
    pub fn builder() -> RedisStoreBuilder {
        RedisStoreBuilder::default()
    }

    /// Connect to one node with the defaults; see
    /// [`RedisStoreBuilder::connect`].
    ///
    /// # Errors
    /// As [`RedisStoreBuilder::connect`].
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        Self::builder().connect(url).await
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// Round-trip a `PING` (for health checks; on a cluster, to every
    /// primary).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] / [`StoreError::Timeout`] when Redis does
    /// not answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.shared
            .read(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| ())
    }

    fn record_key(&self, hex: &str) -> String {
        self.shared.tagged(RECORD, hex)
    }

    fn index_key(&self, user_id: &str, kind: RecordKind) -> String {
        self.shared.tagged(index_kind(kind), user_id)
    }

    fn now_ms(&self) -> u64 {
        self.shared.clock.now_millis()
    }

    /// Remove a record (`owner`'s only, when given).
    async fn remove(&self, hex: &str, owner: &str, confirm: bool) -> Result<Removed, StoreError> {
        let rk = self.record_key(hex);
        let now = self.shared.clock.now().to_string();
        // Only a removal that took something away is confirmed.
        let wrote: Option<fn(&Removed) -> bool> = confirm.then_some(|r| r.0 != 0);
        self.shared
            .write(
                &self.shared.scripts.delete,
                &rk,
                &[now.as_bytes(), owner.as_bytes()],
                wrote,
            )
            .await
    }

    /// One chunk of a user's index from `offset`: (member, score).
    async fn index_chunk(&self, ik: &str, offset: isize) -> Result<Vec<(String, u64)>, StoreError> {
        self.shared
            .read(|mut c| async move {
                c.zrange_withscores::<_, Vec<(String, f64)>>(ik, offset, offset + INDEX_CHUNK - 1)
                    .await
            })
            .await
            .map(|v| {
                v.into_iter()
                    // Scores are whole milliseconds, exact in an f64.
                    .map(|(m, s)| (m, if s > 0.0 { s as u64 } else { 0 }))
                    .collect()
            })
    }

    async fn unindex(&self, ik: &str, members: &[String]) -> Result<(), StoreError> {
        if members.is_empty() {
            return Ok(());
        }
        self.shared
            .call(|mut c| async move { c.zrem::<_, _, i64>(ik, members).await })
            .await
            .map(|_| ())
    }
}

fn encode(record: &SessionRecord) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record)
        .map_err(|_| StoreError::Backend("cannot encode session record".into()))
}

/// The index of a user's records of `kind`.
fn index_kind(kind: RecordKind) -> &'static str {
    if kind == RecordKind::RefreshFamily {
        FAMILY_INDEX
    } else {
        USER_INDEX
    }
}

const KINDS: [RecordKind; 2] = [RecordKind::Session, RecordKind::RefreshFamily];

fn decode(bytes: &[u8]) -> Result<SessionRecord, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|_| StoreError::Backend("corrupt session record in redis".into()))
}

#[async_trait]
impl SessionStore for RedisStore {
    fn is_shared(&self) -> bool {
        true
    }

    fn attempt_store(&self) -> Option<std::sync::Arc<dyn crate::store::AttemptStore>> {
        Some(std::sync::Arc::new(super::attempts::RedisAttempts::new(
            self.shared.clone(),
        )))
    }

    fn revocation_list(
        &self,
        subject_retention: std::time::Duration,
    ) -> Option<std::sync::Arc<dyn crate::jwt::RevocationList>> {
        Some(std::sync::Arc::new(
            super::RedisRevocationList::from_store(self).with_subject_retention(subject_retention),
        ))
    }

    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let now_ms = self.now_ms();
        if record.is_expired(now_ms / 1000) {
            // Nothing to keep: an expired record would be invisible anyway.
            return Ok(());
        }
        let json = encode(record)?;
        let ttl = ttl_millis(record.expires_at(), now_ms);
        // The index lives as long as the record could (its absolute expiry).
        let index_ttl = ttl_millis(record.absolute_expires_at.max(record.expires_at()), now_ms);
        let hex = key.to_hex();
        let (rk, ik) = (
            self.record_key(&hex),
            self.index_key(&record.user_id, record.kind),
        );
        let (rk, ik, member, json) = (rk.as_str(), ik.as_str(), hex.as_str(), json.as_slice());
        let shared = &self.shared;
        // The index entry first: a live record is never missing from it.
        let _: i64 = shared
            .call(|mut c| async move {
                shared
                    .scripts
                    .index_add
                    .key(ik)
                    .arg(member)
                    .arg(record.expires_at().saturating_mul(1000))
                    .arg(index_ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        let created: i64 = shared
            .call(|mut c| async move {
                shared
                    .scripts
                    .create
                    .key(rk)
                    .arg(json)
                    .arg(ttl)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if created == 1 {
            Ok(())
        } else {
            Err(StoreError::Collision)
        }
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let rk = self.record_key(&key.to_hex());
        let raw: Option<Vec<u8>> = self
            .shared
            .read(|mut c| {
                let rk = rk.as_str();
                async move { c.get(rk).await }
            })
            .await?;
        let Some(raw) = raw else { return Ok(None) };
        let record = decode(&raw)?;
        if record.is_expired(self.shared.clock.now()) {
            return Ok(None);
        }
        Ok(Some(record))
    }

    async fn update(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        let now_ms = self.now_ms();
        let version = record.version.wrapping_add(1);
        let mut next = record.clone();
        next.version = version;
        let json = encode(&next)?;
        let ttl = ttl_millis(next.expires_at(), now_ms);
        let rk = self.record_key(&key.to_hex());
        let expected = record.version;
        let user = record.user_id.as_str();
        let (rk, json) = (rk.as_str(), json.as_slice());
        let latest = next.absolute_expires_at.max(next.expires_at());
        let shared = &self.shared;
        let stored: i64 = shared
            .call(|mut c| async move {
                shared
                    .scripts
                    .update
                    .key(rk)
                    .arg(json)
                    .arg(ttl)
                    .arg(expected)
                    .arg(user)
                    .arg(now_ms / 1000)
                    .arg(latest)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        match stored {
            0 => Err(StoreError::Conflict),
            2 => {
                // Rare (the core never extends an absolute expiry): the
                // index must outlive the record's new expiry.
                let ik = self.index_key(&record.user_id, record.kind);
                let (ik, index_ttl) = (ik.as_str(), ttl_millis(latest, now_ms));
                let _: i64 = shared
                    .call(|mut c| async move {
                        shared
                            .scripts
                            .index_stretch
                            .key(ik)
                            .arg(index_ttl)
                            .invoke_async(&mut c)
                            .await
                    })
                    .await?;
                Ok(version)
            }
            _ => Ok(version),
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let hex = key.to_hex();
        let (status, user, kind) = self.remove(&hex, "", true).await?;
        if !user.is_empty() {
            let kind = if kind == "refresh_family" {
                RecordKind::RefreshFamily
            } else {
                RecordKind::Session
            };
            let ik = self.index_key(&user, kind);
            self.unindex(&ik, std::slice::from_ref(&hex)).await?;
        }
        Ok(status == 1)
    }

    async fn delete_user(&self, user_id: &str) -> Result<usize, StoreError> {
        let mut removed = 0usize;
        for kind in KINDS {
            let ik = self.index_key(user_id, kind);
            let mut offset: isize = 0;
            // One bounded chunk per round, until only not-yet-due entries of
            // records still being created remain.
            loop {
                let chunk = self.index_chunk(&ik, offset).await?;
                if chunk.is_empty() {
                    break;
                }
                let statuses = futures_util::future::try_join_all(
                    chunk
                        .iter()
                        .map(|(hex, _)| self.remove(hex, user_id, false)),
                )
                .await?;
                let now_ms = self.now_ms();
                let mut gone = Vec::with_capacity(chunk.len());
                for ((hex, score), (status, _, _)) in chunk.iter().zip(&statuses) {
                    if *status == 1 {
                        removed += 1;
                    }
                    if *status != 0 || *score < now_ms {
                        gone.push(hex.clone());
                    } else {
                        offset += 1; // not yet due: maybe a create in flight
                    }
                }
                self.unindex(&ik, &gone).await?;
            }
        }
        self.shared.confirm_all().await?;
        Ok(removed)
    }

    async fn list_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        let mut out = self.list_user_kind(user_id, RecordKind::Session).await?;
        out.extend(
            self.list_user_kind(user_id, RecordKind::RefreshFamily)
                .await?,
        );
        Ok(out)
    }

    async fn list_user_kind(
        &self,
        user_id: &str,
        kind: RecordKind,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        let ik = self.index_key(user_id, kind);
        let now = self.shared.clock.now();
        let mut out: Vec<(SessionKey, SessionRecord)> = Vec::new();
        let mut offset: isize = 0;
        loop {
            let chunk = self.index_chunk(&ik, offset).await?;
            if chunk.is_empty() {
                break;
            }
            let keys: Vec<String> = chunk.iter().map(|(hex, _)| self.record_key(hex)).collect();
            let values = self.shared.get_many(&keys).await?;
            let now_ms = self.now_ms();
            let mut vanished = Vec::new();
            for ((hex, score), value) in chunk.iter().zip(values) {
                let Some(raw) = value else {
                    if *score < now_ms {
                        vanished.push(hex.clone()); // expired by TTL, or a crash
                    } else {
                        offset += 1;
                    }
                    continue;
                };
                offset += 1;
                let Some(key) = SessionKey::from_hex(hex) else {
                    continue;
                };
                let record = decode(&raw)?;
                if record.user_id == user_id && record.kind == kind && !record.is_expired(now) {
                    out.push((key, record));
                }
            }
            // Pruning is repeatable and harmless (the record is gone).
            self.unindex(&ik, &vanished).await?;
        }
        out.sort_unstable_by_key(|(k, _)| *k);
        out.dedup_by(|a, b| a.0 == b.0);
        Ok(out)
    }
}
