//! [`RedisRevocationList`]: the JWT revocation list over Redis.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::RedisStore;
use super::{ttl_millis, SharedRef};
use crate::error::StoreError;
use crate::jwt::RevocationList;

/// Key kinds under the prefix.
const JTI: &str = "rj";
const FAMILY: &str = "rf";
const SUBJECT: &str = "rs";

/// Default time a subject cutoff is kept after its instant: 30 days, beyond
/// any sensible access-token lifetime. Set it with
/// `RedisRevocationList::with_subject_retention` to at least your longest
/// token lifetime plus leeway.
pub(crate) const DEFAULT_SUBJECT_RETENTION: u64 = 30 * 86_400;

/// A [`RevocationList`] in Redis, shared by every instance that uses the same
/// server and prefix.
///
/// | key | content | TTL |
/// |-----|---------|-----|
/// | `<prefix>rj:<jti>` | the token's expiry (unix seconds) | until that expiry |
/// | `<prefix>rf:<family>` | the latest expiry of a token of that refresh family | until then |
/// | `<prefix>rs:<subject>` | "revoked up to" instant (unix ms; the latest wins) | the instant plus the subject retention |
///
/// [`is_revoked`](RevocationList::is_revoked) reads the three entries at
/// once, in one round trip (on a cluster, one per primary holding them, in
/// parallel). Writes are confirmed by replicas when the store asks for it
/// ([`RedisStoreBuilder::replicas`](super::RedisStoreBuilder::replicas)). There is no in-process cache: a revocation made on
/// one instance is refused by every other instance on its next request.
///
/// ```no_run
/// use std::time::Duration;
/// use portcullis::jwt::RevocationList;
/// use portcullis::redis::{RedisRevocationList, RedisStore};
/// # async fn demo() -> Result<(), portcullis::StoreError> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// let list = RedisRevocationList::from_store(&store).with_subject_retention(Duration::from_secs(3_600));
/// list.revoke_token("jti-123", 1_900_000_000).await?;
/// assert!(list.is_revoked("jti-123", None, "alice", 0).await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocationList {
    shared: SharedRef,
    subject_retention: u64,
}

impl fmt::Debug for RedisRevocationList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationList")
            .field("redis", &self.shared)
            .field("subject_retention", &self.subject_retention)
            .finish()
    }
}

impl RedisRevocationList {
    /// A list sharing `store`'s connection, prefix, timeout and clock.
    #[must_use]
    pub fn from_store(store: &RedisStore) -> Self {
        RedisRevocationList {
            shared: store.shared.clone(),
            subject_retention: DEFAULT_SUBJECT_RETENTION,
        }
    }

    /// Connect with the store defaults; see
    /// [`RedisStoreBuilder::connect`](super::RedisStoreBuilder::connect).
    ///
    /// # Errors
    /// As [`RedisStoreBuilder::connect`](super::RedisStoreBuilder::connect).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self::from_store(&RedisStore::connect(url).await?))
    }

    /// Keep a subject cutoff this long after its instant (default 30
    /// days). Set it to at least the
    /// longest access-token lifetime plus leeway: a cutoff forgotten earlier
    /// would let older tokens back in.
    #[must_use]
    pub fn with_subject_retention(mut self, retention: Duration) -> Self {
        self.subject_retention = crate::clock::retention_secs(retention);
        self
    }

    async fn keep_max(
        &self,
        kind: &str,
        id: &str,
        value: u64,
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let key = self.shared.key(kind, id);
        let (value, ttl_ms) = (value.to_string(), ttl_ms.to_string());
        let _stored: i64 = self
            .shared
            .write(
                &self.shared.scripts.keep_max,
                &key,
                &[value.as_bytes(), ttl_ms.as_bytes()],
                Some(|_| true),
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl RevocationList for RedisRevocationList {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        let now_ms = self.shared.clock.now_millis();
        if expires_at.saturating_mul(1000) <= now_ms {
            return Ok(()); // already expired: nothing to remember
        }
        self.keep_max(JTI, jti, expires_at, ttl_millis(expires_at, now_ms))
            .await
    }

    async fn revoke_family(&self, family: &str, expires_at: u64) -> Result<(), StoreError> {
        let now_ms = self.shared.clock.now_millis();
        if expires_at.saturating_mul(1000) <= now_ms {
            return Ok(());
        }
        self.keep_max(FAMILY, family, expires_at, ttl_millis(expires_at, now_ms))
            .await
    }

    async fn revoke_subject_before(
        &self,
        subject: &str,
        instant_millis: u64,
    ) -> Result<(), StoreError> {
        let now_ms = self.shared.clock.now_millis();
        let until = (instant_millis / 1000).saturating_add(self.subject_retention);
        // Keep it at least one second, as the memory list does.
        let ttl = ttl_millis(until, now_ms).max(1000);
        self.keep_max(SUBJECT, subject, instant_millis, ttl).await
    }

    async fn is_revoked(
        &self,
        jti: &str,
        family: Option<&str>,
        subject: &str,
        issued_at_millis: u64,
    ) -> Result<bool, StoreError> {
        let (jk, sk) = (self.shared.key(JTI, jti), self.shared.key(SUBJECT, subject));
        // A token without a family asks for a key that never exists, so the
        // one round trip has one shape.
        let fk = self.shared.key(FAMILY, family.unwrap_or(""));
        let keys = [jk, fk, sk];
        let values = self.shared.get_many(&keys).await?;
        let number = |i: usize| -> Option<u64> {
            values
                .get(i)?
                .as_deref()
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse().ok())
        };
        let (token_exp, family_exp, cutoff) = (number(0), number(1), number(2));
        let now = self.shared.clock.now();
        Ok(token_exp.is_some_and(|exp| now < exp)
            || (family.is_some() && family_exp.is_some_and(|exp| now < exp))
            || cutoff.is_some_and(|c| issued_at_millis <= c))
    }
}
