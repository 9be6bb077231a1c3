//! Keys that live elsewhere: the [`KeySource`] trait, and the refreshed,
//! lock-free snapshot of them that verification reads.
//!
//! One background task per key source does every fetch (single-flight by
//! construction). Requests read the current snapshot through an
//! `arc-swap` load and never wait on the network, except a token whose
//! `kid` is unknown: it may ask for one refetch (at most one per
//! `min_refetch` interval, however many such tokens arrive) and wait for it
//! up to `miss_wait`.

use std::error::Error as StdError;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use serde_json::Value;
use tokio::sync::{watch, Notify};

use super::keys::KeyRegistry;
use crate::error::ConfigError;

/// The error a [`KeySource`] reports: any error (logged, never shown to a
/// client).
pub(crate) type KeySourceError = Box<dyn StdError + Send + Sync>;

/// Where an issuer's public keys come from: an HTTP JWKS endpoint
/// ([`HttpKeySource`](super::HttpKeySource)), or anything else you
/// implement (a file, a secrets manager, a service mesh).
///
/// [`fetch`](Self::fetch) is only ever called by one background task per
/// [`TrustedIssuer`](super::TrustedIssuer), never on the request path,
/// and never twice at once.
///
/// ```
/// use portcullis::jwt::{FetchedKeys, KeySource};
/// use std::time::Duration;
/// type BoxError = Box<dyn std::error::Error + Send + Sync>;
///
/// /// Keys read from a file that a sidecar keeps current.
/// struct KeyFile(std::path::PathBuf);
///
/// #[async_trait::async_trait]
/// impl KeySource for KeyFile {
///     async fn fetch(&self) -> Result<FetchedKeys, BoxError> {
///         let bytes = tokio::fs::read(&self.0).await?;
///         let jwks = serde_json::from_slice(&bytes)?;
///         Ok(FetchedKeys::new(jwks, Some(Duration::from_secs(60))))
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait KeySource: Send + Sync + 'static {
    /// Fetch the current key set.
    ///
    /// # Errors
    /// Any failure (logged, never shown to a client); the last good keys
    /// stay in use and the fetch is retried with backoff.
    async fn fetch(&self) -> Result<FetchedKeys, Box<dyn StdError + Send + Sync>>;
}

/// A fetched key set: a JWKS document and how long it may be used before
/// the next fetch (an HTTP `Cache-Control: max-age`, for instance).
///
/// The set is imported tolerantly
/// ([`KeyRegistryBuilder::jwks`](super::KeyRegistryBuilder::jwks));
/// `max_age` is bounded to 1 minute … 24 hours, 5 minutes when `None`.
///
/// ```
/// use portcullis::jwt::FetchedKeys;
/// let keys = FetchedKeys::new(serde_json::json!({ "keys": [] }), None);
/// assert_eq!(keys.max_age, None);
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct FetchedKeys {
    /// The JWKS document (`{"keys":[...]}`).
    pub jwks: Value,
    /// How long the set stays fresh, if the source says.
    pub max_age: Option<Duration>,
}

impl FetchedKeys {
    /// A fetched set.
    #[must_use]
    pub fn new(jwks: Value, max_age: Option<Duration>) -> Self {
        FetchedKeys { jwks, max_age }
    }
}

impl fmt::Debug for FetchedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .jwks
            .get("keys")
            .and_then(Value::as_array)
            .map(Vec::len);
        f.debug_struct("FetchedKeys")
            .field("keys", &n)
            .field("max_age", &self.max_age)
            .finish()
    }
}

/// Shortest and longest time a fetched set is used before the next fetch.
pub(crate) const MIN_MAX_AGE: Duration = Duration::from_secs(60);
pub(crate) const MAX_MAX_AGE: Duration = Duration::from_secs(86_400);
/// Freshness of a set whose source gave none.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// A fetch that takes longer is abandoned (and retried).
const FETCH_DEADLINE: Duration = Duration::from_secs(30);
/// Retry delays after failures: 1 s, doubling, at most 30 s.
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);
const NEVER: u64 = u64::MAX;

/// One immutable view of the keys.
pub(crate) struct Snapshot {
    pub(crate) registry: KeyRegistry,
    /// Changes whenever the published keys change (cached verifications of
    /// an older generation are not trusted).
    pub(crate) generation: u64,
}

/// How a key set is refreshed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refresh {
    /// Least time between two refetches asked for by unknown `kid`s.
    pub(crate) min_refetch: Duration,
    /// Longest a request with an unknown `kid` waits for its refetch.
    pub(crate) miss_wait: Duration,
}

/// A refreshed key set; see the module docs.
pub(crate) struct RemoteKeys {
    source: Arc<dyn KeySource>,
    snapshot: ArcSwapOption<Snapshot>,
    refresh: Refresh,
    /// Fetches started / completed (waiters wait for a later one).
    started: AtomicU64,
    completed: watch::Sender<u64>,
    /// Wakes the refresh task early (an unknown `kid`, or shutdown).
    wake: Arc<Notify>,
    epoch: Instant,
    /// When (ms since `epoch`) an unknown `kid` last asked for a refetch,
    /// and which fetch answers it.
    last_miss_ms: AtomicU64,
    miss_target: AtomicU64,
    /// The issuer, for logs.
    label: String,
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("issuer", &self.label)
            .field("loaded", &self.is_loaded())
            .finish_non_exhaustive()
    }
}

impl Drop for RemoteKeys {
    fn drop(&mut self) {
        // Let the refresh task see that nobody needs it any more.
        self.wake.notify_one();
    }
}

impl RemoteKeys {
    /// Start refreshing `source` on the current Tokio runtime (the first
    /// fetch begins at once; nothing waits for it).
    pub(crate) fn start(
        source: Arc<dyn KeySource>,
        refresh: Refresh,
        label: String,
    ) -> Result<Arc<Self>, ConfigError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ConfigError::Invalid(
                "a trusted issuer's keys are refreshed by a background task: build the \
                 Authenticator inside a Tokio runtime"
                    .into(),
            )
        })?;
        let keys = Arc::new(RemoteKeys {
            source,
            snapshot: ArcSwapOption::empty(),
            refresh,
            started: AtomicU64::new(0),
            completed: watch::channel(0).0,
            wake: Arc::new(Notify::new()),
            epoch: Instant::now(),
            last_miss_ms: AtomicU64::new(NEVER),
            miss_target: AtomicU64::new(0),
            label,
        });
        runtime.spawn(run(Arc::downgrade(&keys)));
        Ok(keys)
    }

    /// The current keys, if any set has been loaded.
    pub(crate) fn current(&self) -> Option<Arc<Snapshot>> {
        self.snapshot.load_full()
    }

    pub(crate) fn is_loaded(&self) -> bool {
        self.snapshot.load().is_some()
    }

    /// A token named a `kid` the current keys lack (or no keys are loaded
    /// yet): ask for a refetch if one is allowed now, and wait up to
    /// `miss_wait` for it (or for one just asked for by another request).
    /// The keys after that fetch, or `None` when no refetch is allowed or
    /// it did not finish in time.
    pub(crate) async fn refetch_for_miss(&self) -> Option<Arc<Snapshot>> {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NEVER - 1);
        let min = u64::try_from(self.refresh.min_refetch.as_millis()).unwrap_or(NEVER);
        let wait = u64::try_from(self.refresh.miss_wait.as_millis()).unwrap_or(NEVER);
        let last = self.last_miss_ms.load(Ordering::Acquire);
        let target = if (last == NEVER || now.saturating_sub(last) >= min)
            && self
                .last_miss_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let target = self.started.load(Ordering::Acquire) + 1;
            self.miss_target.store(target, Ordering::Release);
            tracing::debug!(issuer = %self.label, "unknown kid: refetching the key set");
            self.wake.notify_one();
            target
        } else if last != NEVER && now.saturating_sub(last) < wait {
            // Another request's refetch is (or was just) in flight.
            self.miss_target.load(Ordering::Acquire)
        } else {
            return None;
        };
        let mut done = self.completed.subscribe();
        let arrived = tokio::time::timeout(
            self.refresh.miss_wait,
            done.wait_for(|&completed| completed >= target),
        )
        .await;
        match arrived {
            Ok(Ok(_)) => self.current(),
            _ => None,
        }
    }

    /// Fetch once and install the result; the delay until the next fetch.
    async fn fetch_once(&self, failures: &mut u32) -> Duration {
        let seq = self.started.fetch_add(1, Ordering::AcqRel) + 1;
        let outcome = match tokio::time::timeout(FETCH_DEADLINE, self.source.fetch()).await {
            Ok(Ok(fetched)) => self.install(&fetched).map(|()| fetched.max_age),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {}s", FETCH_DEADLINE.as_secs())),
        };
        self.completed.send_replace(seq);
        match outcome {
            Ok(max_age) => {
                *failures = 0;
                max_age
                    .unwrap_or(DEFAULT_MAX_AGE)
                    .clamp(MIN_MAX_AGE, MAX_MAX_AGE)
            }
            Err(reason) => {
                let keeping = if self.is_loaded() {
                    "keeping the last good keys"
                } else {
                    "no keys yet: its tokens are refused"
                };
                tracing::warn!(issuer = %self.label, %reason, "key set fetch failed; {keeping}");
                let delay = FIRST_RETRY.saturating_mul(1 << (*failures).min(5));
                *failures = failures.saturating_add(1);
                delay.min(LAST_RETRY)
            }
        }
    }

    /// Import a fetched set; an unusable one (no usable key, not a JWKS)
    /// is refused and the last good keys stay.
    fn install(&self, fetched: &FetchedKeys) -> Result<(), String> {
        let registry = KeyRegistry::builder()
            .jwks(&without_secrets(&fetched.jwks, &self.label))
            .build()
            .map_err(|e| e.to_string())?;
        let old = self.snapshot.load();
        let generation = match old.as_deref() {
            Some(s) if s.registry.jwks() == registry.jwks() => return Ok(()),
            Some(s) => s.generation + 1,
            None => 1,
        };
        tracing::info!(issuer = %self.label, keys = registry.len(), generation, "key set loaded");
        self.snapshot.store(Some(Arc::new(Snapshot {
            registry,
            generation,
        })));
        Ok(())
    }
}

/// A fetched set without its shared secrets (`kty: oct`): a published set
/// is public, so a secret in it is nobody's secret and is never used.
fn without_secrets(jwks: &Value, issuer: &str) -> Value {
    let Some(keys) = jwks.get("keys").and_then(Value::as_array) else {
        return jwks.clone();
    };
    let (secret, public): (Vec<&Value>, Vec<&Value>) = keys
        .iter()
        .partition(|k| k.get("kty").and_then(Value::as_str) == Some("oct"));
    if !secret.is_empty() {
        tracing::warn!(%issuer, skipped = secret.len(), "fetched key set: shared secrets (`oct`) skipped");
    }
    serde_json::json!({ "keys": public })
}

/// The refresh task: fetch, sleep until the set is due (or a refetch is
/// asked for), repeat; ends when the key set is dropped.
async fn run(keys: Weak<RemoteKeys>) {
    let mut failures = 0;
    loop {
        let Some(k) = keys.upgrade() else { return };
        let delay = k.fetch_once(&mut failures).await;
        let wake = k.wake.clone();
        drop(k); // never keep the key set alive while sleeping
        let _ = tokio::time::timeout(delay, wake.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Counting {
        calls: AtomicUsize,
        jwks: Value,
    }

    #[async_trait::async_trait]
    impl KeySource for Counting {
        async fn fetch(&self) -> Result<FetchedKeys, KeySourceError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(FetchedKeys::new(self.jwks.clone(), None))
        }
    }

    fn ec_jwks() -> Value {
        serde_json::json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "kid": "a",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        }]})
    }

    #[tokio::test]
    async fn misses_are_rate_limited_and_an_unchanged_set_keeps_its_generation() {
        let source = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            jwks: ec_jwks(),
        });
        let keys = RemoteKeys::start(
            source.clone(),
            Refresh {
                min_refetch: Duration::from_secs(3600),
                miss_wait: Duration::from_secs(1),
            },
            "test".into(),
        )
        .unwrap();
        let first = keys
            .refetch_for_miss()
            .await
            .expect("the first miss refetches");
        assert_eq!(first.generation, 1);
        for _ in 0..100 {
            let _ = keys.refetch_for_miss().await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The start-up fetch and the one allowed refetch (which found the
        // same set: same generation).
        assert_eq!(source.calls.load(Ordering::SeqCst), 2);
        assert_eq!(keys.current().unwrap().generation, 1);
    }

    #[tokio::test]
    async fn a_set_with_a_shared_secret_only_is_refused() {
        let source = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            jwks: serde_json::json!({ "keys": [{
                "kty": "oct", "kid": "s", "alg": "HS256",
                "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
            }]}),
        });
        let keys = RemoteKeys::start(
            source,
            Refresh {
                min_refetch: Duration::ZERO,
                miss_wait: Duration::from_secs(1),
            },
            "test".into(),
        )
        .unwrap();
        assert!(keys.refetch_for_miss().await.is_none());
        assert!(!keys.is_loaded());
    }
}
