//! [`RedisStore`]: the [`SessionStore`] over Redis, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands as _;

use super::{map_error, scripts::Scripts, ttl_millis, Shared, SharedRef};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::store::{RecordKind, SessionKey, SessionRecord, SessionStore, StoreError};

/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "portcullis:";
/// Default bound on every Redis call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// Key kinds under the prefix.
pub(crate) const RECORD: &str = "s";
pub(crate) const USER_INDEX: &str = "u";
/// A user's refresh families, apart from the sessions.
pub(crate) const FAMILY_INDEX: &str = "uf";
/// Index members one script call handles at most.
const INDEX_CHUNK: u64 = 256;

/// A [`SessionStore`] in Redis, shared by every server instance that points
/// at the same server and prefix.
///
/// Layout under the prefix (default `portcullis:`):
///
/// | key | type | content |
/// |-----|------|---------|
/// | `<prefix>s:<hex key>` | string | the record as JSON, TTL = its expiry |
/// | `<prefix>u:<user id>` | set | the hex keys of the user's cookie sessions, TTL ≥ theirs |
/// | `<prefix>uf:<user id>` | set | the hex keys of the user's refresh families, TTL ≥ theirs |
///
/// The key is [`SessionKey::to_hex`], a SHA-256 of the session ID, so a
/// leaked Redis does not leak usable session IDs. Every write is one Lua
/// script, so records and the per-user index never disagree, and
/// [`update`](SessionStore::update) is an atomic compare-and-set on the
/// record's version. [`load`](SessionStore::load) also checks the expiry
/// itself with the store's clock, so a record is invisible from its expiry
/// instant even if its TTL has not fired yet.
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

/// Builder for [`RedisStore`]: key prefix, per-call timeout and clock.
///
/// ```no_run
/// use std::time::Duration;
/// use portcullis::redis::RedisStore;
/// # async fn demo() -> Result<(), portcullis::StoreError> {
/// let store = RedisStore::builder()
///     .prefix("myapp:")
///     .timeout(Duration::from_millis(500))
///     .connect("redis://:password@redis.internal:6379/0")
///     .await?;
/// # let _ = store;
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Clone)]
pub struct RedisStoreBuilder {
    prefix: String,
    timeout: Duration,
    clock: SharedClock,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for RedisStoreBuilder {
    fn default() -> Self {
        RedisStoreBuilder {
            // Namespaced so the store can share a Redis with other data.
            prefix: DEFAULT_PREFIX.to_owned(),
            // A request waits at most this long for Redis before failing
            // closed with 503; a healthy local Redis answers in well under 1 ms.
            timeout: DEFAULT_TIMEOUT,
            clock: Arc::new(SystemClock),
        }
    }
}

impl RedisStoreBuilder {
    /// The key prefix (default `portcullis:`). Two applications sharing a
    /// Redis need different prefixes; instances of one application share it.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The bound on every Redis call, connecting included (default 1 s).
    /// Zero is raised to 1 ms.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The clock that judges expiry and computes TTLs (default the system
    /// clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Connect to the Redis named by `url` (`redis://[:password@]host[:port][/db]`
    /// or `redis+unix:///path`) and build the store.
    ///
    /// The connection reconnects by itself after failures; calls made while
    /// Redis is unreachable fail fast with [`StoreError::Unavailable`].
    ///
    /// # Errors
    /// [`StoreError::Backend`] for a URL that does not parse,
    /// [`StoreError::Unavailable`] / [`StoreError::Timeout`] when Redis cannot
    /// be reached within the timeout. The message never contains the URL.
    pub async fn connect(self, url: &str) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url).map_err(|e| map_error(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            // Reconnect attempts: two quick tries, then the next call starts
            // a new round. While Redis is down, calls fail in milliseconds
            // (503) instead of queueing behind a long back-off.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let conn = match tokio::time::timeout(
            self.timeout,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(map_error(&e)),
            Err(_) => return Err(StoreError::Timeout),
        };
        Ok(self.build(conn))
    }

    /// Build the store over a [`ConnectionManager`] you configured yourself.
    pub fn build(self, conn: ConnectionManager) -> RedisStore {
        RedisStore {
            shared: Arc::new(Shared {
                conn,
                prefix: self.prefix,
                timeout: self.timeout,
                clock: self.clock,
                scripts: Scripts::new(),
            }),
        }
    }
}

impl RedisStore {
    /// A builder with the defaults (prefix `portcullis:`, 1 s timeout,
    /// system clock).
    pub fn builder() -> RedisStoreBuilder {
        RedisStoreBuilder::default()
    }

    /// Connect with the defaults; see [`RedisStoreBuilder::connect`].
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

    /// Round-trip a `PING` (for health checks).
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

    fn record_key(&self, key: &SessionKey) -> String {
        self.shared.key(RECORD, &key.to_hex())
    }

    fn index_key(&self, user_id: &str, kind: RecordKind) -> String {
        self.shared.key(index_kind(kind), user_id)
    }

    fn now_ms(&self) -> u64 {
        self.shared.clock.now_millis()
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
        let (rk, ik, member) = (
            self.record_key(key),
            self.index_key(&record.user_id, record.kind),
            key.to_hex(),
        );
        let (rk, ik, member, json) = (rk.as_str(), ik.as_str(), member.as_str(), json.as_slice());
        let shared = &self.shared;
        let created: i64 = shared
            .call(|mut c| async move {
                shared
                    .scripts
                    .create
                    .key(rk)
                    .key(ik)
                    .arg(json)
                    .arg(ttl)
                    .arg(member)
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
        let rk = self.record_key(key);
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
        let (rk, ik) = (
            self.record_key(key),
            self.index_key(&record.user_id, record.kind),
        );
        let expected = record.version;
        let user = record.user_id.as_str();
        let (rk, ik, json) = (rk.as_str(), ik.as_str(), json.as_slice());
        let shared = &self.shared;
        let stored: i64 = shared
            .call(|mut c| async move {
                shared
                    .scripts
                    .update
                    .key(rk)
                    .key(ik)
                    .arg(json)
                    .arg(ttl)
                    .arg(expected)
                    .arg(user)
                    .arg(now_ms / 1000)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        if stored == 1 {
            Ok(version)
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let now = self.shared.clock.now();
        let rk = self.record_key(key);
        let index_prefix = self.shared.key(USER_INDEX, "");
        let family_prefix = self.shared.key(FAMILY_INDEX, "");
        let member = key.to_hex();
        let (rk, index_prefix, member, family_prefix) = (
            rk.as_str(),
            index_prefix.as_str(),
            member.as_str(),
            family_prefix.as_str(),
        );
        let shared = &self.shared;
        let removed: i64 = shared
            .call(|mut c| async move {
                shared
                    .scripts
                    .delete
                    .key(rk)
                    .arg(index_prefix)
                    .arg(member)
                    .arg(now)
                    .arg(family_prefix)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(removed == 1)
    }

    async fn delete_user(&self, user_id: &str) -> Result<usize, StoreError> {
        let now = self.shared.clock.now();
        let record_prefix = self.shared.key(RECORD, "");
        let record_prefix = record_prefix.as_str();
        let shared = &self.shared;
        let mut removed = 0u64;
        for kind in KINDS {
            let ik = self.index_key(user_id, kind);
            let ik = ik.as_str();
            // One bounded chunk per call, until the index is empty.
            loop {
                let (n, left): (u64, u64) = shared
                    .call(|mut c| async move {
                        shared
                            .scripts
                            .delete_user
                            .key(ik)
                            .arg(record_prefix)
                            .arg(user_id)
                            .arg(now)
                            .arg(INDEX_CHUNK)
                            .invoke_async(&mut c)
                            .await
                    })
                    .await?;
                removed += n;
                if left == 0 {
                    break;
                }
            }
        }
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
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
        let record_prefix = self.shared.key(RECORD, "");
        let (ik, record_prefix) = (ik.as_str(), record_prefix.as_str());
        let shared = &self.shared;
        let now = self.shared.clock.now();
        let mut out: Vec<(SessionKey, SessionRecord)> = Vec::new();
        let mut cursor = b"0".to_vec();
        loop {
            let cur = cursor.as_slice();
            // Repeatable: pruning vanished members twice is harmless.
            let flat: Vec<Vec<u8>> = shared
                .read(|mut c| async move {
                    shared
                        .scripts
                        .list_user
                        .key(ik)
                        .arg(record_prefix)
                        .arg(cur)
                        .arg(INDEX_CHUNK)
                        .invoke_async(&mut c)
                        .await
                })
                .await?;
            let Some((next, pairs)) = flat.split_first() else {
                break;
            };
            for pair in pairs.chunks_exact(2) {
                let Some(key) = std::str::from_utf8(&pair[0])
                    .ok()
                    .and_then(SessionKey::from_hex)
                else {
                    continue;
                };
                let record = decode(&pair[1])?;
                if record.user_id == user_id && record.kind == kind && !record.is_expired(now) {
                    out.push((key, record));
                }
            }
            if next.as_slice() == b"0" {
                break;
            }
            cursor.clone_from(next);
        }
        // SSCAN may return a member twice across calls.
        out.sort_unstable_by_key(|(k, _)| *k);
        out.dedup_by(|a, b| a.0 == b.0);
        Ok(out)
    }
}
