//! [`RedisStoreBuilder`]: prefix, timeout, clock, replica confirmation, and
//! the connection (one node or a cluster).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::conn::RedisConn;
use super::scripts::Scripts;
use super::store::{RedisStore, DEFAULT_PREFIX, DEFAULT_TIMEOUT};
use super::{map_error, Shared};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::store::StoreError;

/// Builder for [`RedisStore`]: key prefix, per-call timeout, clock, how
/// many replicas must confirm a logout or revocation, and the connection —
/// one node ([`connect`](Self::connect)) or a Redis Cluster
/// ([`connect_cluster`](Self::connect_cluster)); the stores behave the same
/// on both.
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
/// let cluster = RedisStore::builder()
///     .replicas(1) // a logout is acknowledged once a replica has it
///     .connect_cluster(&["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
///     .await?;
/// # let _ = (store, cluster);
/// # Ok(()) }
/// ```
#[must_use]
#[derive(Clone)]
pub struct RedisStoreBuilder {
    prefix: String,
    timeout: Duration,
    clock: SharedClock,
    replicas: usize,
    /// The CA (PEM) `rediss://` servers are checked against, instead of
    /// the OS trust store.
    #[cfg_attr(not(feature = "redis-tls"), allow(dead_code))]
    root_ca: Option<Vec<u8>>,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("replicas", &self.replicas)
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
            replicas: 0,
            root_ca: None,
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

    /// Replicas that must have a write that ends access (a logout, a
    /// revocation, log-out-everywhere) before it is acknowledged (default
    /// 0: the primary's answer is enough). With 1, such a write answers
    /// only once `WAIT 1` confirms a replica holds it, within half the
    /// call's timeout (the `WAIT` is pipelined with the write, so the node
    /// that ran the write answers it), else it fails with
    /// [`StoreError::Unavailable`] (503), so a
    /// failover to that replica cannot bring back a session or token the
    /// user saw end. Redis replication stays asynchronous: `WAIT` narrows
    /// the window, it does not make Redis strongly consistent (a replica
    /// that confirmed can still lose the race to be promoted to one that
    /// did not). Login and refresh writes are not waited for: losing one
    /// in a failover logs a user out, never in.
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }

    /// Check `rediss://` servers against this CA (PEM: one or more
    /// certificates) instead of the OS trust store (feature `redis-tls`).
    /// The server's certificate is always verified, name included; there is
    /// no way to turn that off.
    ///
    /// `rediss://` needs a rustls crypto provider chosen by the
    /// application, once at start-up (for example
    /// `rustls::crypto::aws_lc_rs::default_provider().install_default()`):
    /// the `redis` crate builds its TLS settings from the process default,
    /// and portcullis never installs one for the whole process. Without
    /// one, connecting fails with a message saying so.
    #[cfg(feature = "redis-tls")]
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_ca = Some(pem.into());
        self
    }

    /// Connect to the Redis named by `url` (`redis://[:password@]host[:port][/db]`,
    /// `rediss://` with the `redis-tls` feature (see
    /// `tls_root_certificates`), or `redis+unix:///path`)
    /// and build the store.
    ///
    /// The connection reconnects by itself after failures; calls made while
    /// Redis is unreachable fail fast with [`StoreError::Unavailable`].
    ///
    /// # Errors
    /// [`StoreError::Backend`] for a URL that does not parse,
    /// [`StoreError::Unavailable`] / [`StoreError::Timeout`] when Redis cannot
    /// be reached within the timeout. The message never contains the URL.
    pub async fn connect(self, url: &str) -> Result<RedisStore, StoreError> {
        tls_ready(&[url])?;
        let conn = self
            .bounded(RedisConn::node(url, self.timeout, self.root_ca.as_deref()))
            .await?;
        self.with_scripts(conn).await
    }

    /// Connect to a Redis Cluster through any of its `seeds` (each
    /// `redis://host:port`, or `rediss://` with `redis-tls`) and build the
    /// store. Commands are routed by hash slot, `MOVED`/`ASK` redirects are
    /// followed, and the slot map is refreshed after a failover, without a
    /// restart; while a slot has no primary, the calls for its keys answer
    /// [`StoreError::Unavailable`] (503) and the others keep working.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_cluster<S: AsRef<str>>(
        self,
        seeds: &[S],
    ) -> Result<RedisStore, StoreError> {
        let seeds: Vec<String> = seeds.iter().map(|s| s.as_ref().to_owned()).collect();
        if seeds.is_empty() {
            return Err(StoreError::Backend("redis: no cluster seed given".into()));
        }
        tls_ready(&seeds)?;
        let conn = self
            .bounded(RedisConn::cluster(
                &seeds,
                self.timeout,
                self.root_ca.as_deref(),
            ))
            .await?;
        self.with_scripts(conn).await
    }

    async fn bounded(
        &self,
        connecting: impl std::future::Future<Output = redis::RedisResult<RedisConn>>,
    ) -> Result<RedisConn, StoreError> {
        match tokio::time::timeout(self.timeout, connecting).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(map_error(&e)),
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// Build the store over a [`ConnectionManager`] you configured yourself
    /// (one node).
    pub fn build(self, conn: ConnectionManager) -> RedisStore {
        self.with(RedisConn::Node(conn), Scripts::new())
    }

    /// The store over `conn`, its scripts loaded first.
    async fn with_scripts(self, mut conn: RedisConn) -> Result<RedisStore, StoreError> {
        let scripts = Scripts::new();
        self.bounded(async {
            scripts.load_all(&mut conn).await?;
            Ok(conn)
        })
        .await
        .map(|conn| self.with(conn, scripts))
    }

    fn with(self, conn: RedisConn, scripts: Scripts) -> RedisStore {
        RedisStore {
            shared: Arc::new(Shared {
                conn,
                prefix: self.prefix,
                timeout: self.timeout,
                clock: self.clock,
                scripts,
                replicas: self.replicas,
            }),
        }
    }
}

/// `rediss://` can be used: the `redis-tls` feature is on and the
/// application chose a rustls crypto provider (the `redis` crate takes the
/// process default, which portcullis never installs).
fn tls_ready<S: AsRef<str>>(urls: &[S]) -> Result<(), StoreError> {
    if !urls.iter().any(|u| u.as_ref().starts_with("rediss://")) {
        return Ok(());
    }
    #[cfg(not(feature = "redis-tls"))]
    {
        Err(StoreError::Backend(
            "redis: rediss:// needs the `redis-tls` feature".into(),
        ))
    }
    #[cfg(feature = "redis-tls")]
    {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            return Err(StoreError::Backend(
                "redis: rediss:// needs a rustls crypto provider chosen by the application \
                 (e.g. rustls::crypto::aws_lc_rs::default_provider().install_default() at \
                 start-up); portcullis never installs one for the whole process"
                    .into(),
            ));
        }
        Ok(())
    }
}
