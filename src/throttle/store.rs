//! [`AttemptStore`]: where login-throttle counters live.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::StoreError;

/// Storage for login-throttle counters: small opaque values under string
/// keys, each with a version, changed only by compare-and-set, so
/// concurrent failed logins on several instances never lose a count.
///
/// A [`SessionStore`](super::super::store::SessionStore) offers one with
/// [`SessionStore::attempt_store`](crate::store::SessionStore::attempt_store)
/// (`RedisStore` does); the [`Authenticator`](crate::Authenticator) keeps
/// counters in process memory beside a store that offers none and is not
/// shared, and refuses to build beside a shared one. Implement it with
/// `#[async_trait::async_trait]`, like `SessionStore`.
///
/// Contract:
///
/// - A value is absent (version 0) before its first write and once its TTL
///   has passed.
/// - `compare_and_set(key, expected, value, ttl)` stores `value` with
///   version `expected + 1` and the TTL, and answers `true`, only if the
///   current version is `expected`; otherwise it changes nothing and
///   answers `false`. This one operation must be atomic across every
///   process sharing the backend.
/// - `load` reads several keys at once (one round trip where the backend
///   allows it), in order.
/// - Keys are at most 66 ASCII characters; values at most a few KiB.
///
/// ```
/// use std::time::Duration;
/// use portcullis::store::{AttemptStore, MemoryStore, SessionStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let attempts = MemoryStore::new().attempt_store().unwrap();
/// let key = "p:00".to_owned();
/// assert!(attempts.compare_and_set(&key, 0, b"one", Duration::from_secs(60)).await.unwrap());
/// assert!(!attempts.compare_and_set(&key, 0, b"lost", Duration::from_secs(60)).await.unwrap());
/// let got = attempts.load(&[key]).await.unwrap();
/// assert_eq!(got[0], Some((b"one".to_vec(), 1)));
/// # });
/// ```
#[async_trait]
pub trait AttemptStore: Send + Sync + 'static {
    /// The value and version under each of `keys`, `None` when absent.
    async fn load(&self, keys: &[String]) -> Result<Vec<Option<(Vec<u8>, u64)>>, StoreError>;

    /// Store `value` under `key` for `ttl` if its version is `expected` (0:
    /// absent); `false` when another write came first.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: u64,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Remove `key` (a success clears its counter).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}
