//! Redis-backed sessions, refresh-token families and revocations (feature
//! `redis`), so several server instances share one view of who is logged in.
//!
//! - [`RedisStore`] implements [`SessionStore`](crate::store::SessionStore):
//!   cookie sessions and refresh families live in Redis under a key prefix,
//!   keyed by the hashed session ID, with Redis TTLs that follow each
//!   record's expiry and a per-user index kept consistent by Lua scripts.
//!   `update` is a server-side compare-and-set, so two instances rotating
//!   the same refresh token at once cannot both win.
//! - [`RedisRevocationList`] implements
//!   [`RevocationList`](crate::jwt::RevocationList): revoked `jti`s until
//!   the token's expiry and per-subject "revoked before" instants, checked
//!   in one round trip with no in-process cache, so a revocation made on one
//!   instance is refused on every other at once.
//!
//! ```no_run
//! use std::sync::Arc;
//! use portcullis::jwt::{KeyRegistry, TokenConfig};
//! use portcullis::redis::RedisStore;
//! use portcullis::Authenticator;
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! # let secret = [0u8; 32];
//! // Every instance behind the load balancer: same Redis, same JWT keys.
//! // Sessions, refresh families and revocations all go to this Redis.
//! let store = Arc::new(RedisStore::connect("redis://127.0.0.1:6379/").await?);
//! let auth = Authenticator::builder()
//!     .store(store)
//!     .tokens(TokenConfig::new(KeyRegistry::hs256("k1", &secret)?))
//!     .build()?;
//! # let _ = auth;
//! # Ok(()) }
//! ```
//!
//! # Connection model
//!
//! One multiplexed connection per store, to one node
//! ([`RedisStoreBuilder::connect`]: a `ConnectionManager` that reconnects
//! by itself) or to a Redis Cluster
//! ([`RedisStoreBuilder::connect_cluster`]: routes by hash slot, follows
//! `MOVED`/`ASK`, refreshes its slot map after a failover). The requests
//! are short commands or single-key scripts, so multiplexing beats a pool
//! (no checkout, no lock on the request path). A [`RedisRevocationList`]
//! made with [`from_store`](RedisRevocationList::from_store) shares that
//! connection.
//!
//! # Failures
//!
//! Every call is bounded by a timeout (default 1 s) and answers
//! [`StoreError::Timeout`] past it; a refused or lost connection answers
//! [`StoreError::Unavailable`] at once. The callers fail closed (503).
//! Reads are retried once when the connection turns out dead, so the first
//! request after a Redis restart already succeeds. Error messages and
//! `Debug` output never carry the connection URL or its password. With
//! [`RedisStoreBuilder::replicas`], logouts and revocations are
//! acknowledged only once replicas confirm them (`WAIT`).
//!
//! # Deployment
//!
//! One node (or a primary with replicas), or a Redis Cluster: every script
//! touches one key, and every key has its own hash slot (see
//! [`RedisStore`] for the layout), so the same code runs on both. Expiries
//! are sent as TTLs computed from the application's clock, so application
//! hosts and the Redis host need not agree on the time.
//!
//! The layout changed in this release (hash-tagged keys, sorted-set
//! indexes): sessions written by an earlier version are not found (their
//! users log in again) and expire by their TTLs.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::{ErrorKind, RedisError, ServerErrorKind};

use crate::clock::SharedClock;
use crate::error::StoreError;

mod attempts;
mod builder;
mod conn;
mod revocation;
mod scripts;
mod store;

pub use builder::RedisStoreBuilder;
use conn::RedisConn;
pub use revocation::RedisRevocationList;
pub use store::RedisStore;

/// What a store and the revocation lists made from it share.
pub(crate) struct Shared {
    pub(crate) conn: RedisConn,
    pub(crate) prefix: String,
    pub(crate) timeout: Duration,
    pub(crate) clock: SharedClock,
    pub(crate) scripts: scripts::Scripts,
    /// Replicas that must confirm a write that ends access.
    pub(crate) replicas: usize,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the connection: its Debug names the server.
        f.debug_struct("Redis")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("replicas", &self.replicas)
            .finish_non_exhaustive()
    }
}

/// Redis had not loaded the script (it restarted, or a replica took over).
fn is_no_script(e: &RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

impl Shared {
    /// Run one Redis call (a write, or any call not safe to repeat) under
    /// the per-call timeout. It is tried a second time only when the first
    /// attempt never reached Redis (the connection was refused: Redis just
    /// came back and the manager's last reconnect had failed).
    pub(crate) async fn call<T, F>(&self, op: impl Fn(RedisConn) -> F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, RedisError>>,
    {
        self.run(op, RedisError::is_connection_refusal).await
    }

    /// Like [`call`](Self::call) for a read that is safe to repeat: when the
    /// connection turns out to be dead (Redis restarted, network blip), try
    /// once more on the connection the manager re-established, within the
    /// same overall timeout. The first request after a Redis restart then
    /// succeeds instead of answering 503.
    pub(crate) async fn read<T, F>(&self, op: impl Fn(RedisConn) -> F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, RedisError>>,
    {
        self.run(op, is_connection_error).await
    }

    async fn run<T, F>(
        &self,
        op: impl Fn(RedisConn) -> F,
        retry_if: fn(&RedisError) -> bool,
    ) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<T, RedisError>>,
    {
        let attempts = async {
            match op(self.conn.clone()).await {
                Err(e) if retry_if(&e) => op(self.conn.clone()).await,
                other => other,
            }
        };
        match tokio::time::timeout(self.timeout, attempts).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(map_error(&e)),
            Err(_) => Err(StoreError::Timeout),
        }
    }

    /// A key under the prefix whose hash slot is `rest`'s:
    /// `<prefix><kind>:{<rest>}`.
    pub(crate) fn tagged(&self, kind: &str, rest: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + kind.len() + 3 + rest.len());
        k.push_str(&self.prefix);
        k.push_str(kind);
        k.push_str(":{");
        k.push_str(rest);
        k.push('}');
        k
    }

    /// Run `script` on `key` with `args` (a write; see [`call`](Self::call)
    /// for when it is retried). With
    /// [`replicas`](RedisStoreBuilder::replicas) set and a `wrote` that
    /// says the result changed something, the write counts only once that
    /// many replicas hold it, within the timeout; else
    /// [`StoreError::Unavailable`]. `wrote: None`: no confirmation wanted.
    ///
    /// The `WAIT` travels in one pipeline with the write, so it is answered
    /// by the node that ran the write, for the connection that sent it. A
    /// `WAIT` of its own could reach another node (while a failover has
    /// the cluster client repair its connections it sends a command for a
    /// node it cannot reach to any node it can), or a fresh connection
    /// after a reconnect, and both answer for writes they never saw:
    /// a revocation would be confirmed that no replica holds.
    pub(crate) async fn write<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        key: &str,
        args: &[&[u8]],
        wrote: Option<fn(&T) -> bool>,
    ) -> Result<T, StoreError> {
        let mut eval = redis::cmd("EVALSHA");
        eval.arg(script.get_hash()).arg(1).arg(key);
        for a in args {
            eval.arg(*a);
        }
        let mut pipe = redis::pipe();
        pipe.add_command(eval);
        let Some(wrote) = wrote.filter(|_| self.replicas > 0) else {
            let (value,): (T,) = self.send(script, &pipe).await?;
            return Ok(value);
        };
        // Half the call's bound, so "no replica" comes back as such (503
        // with that reason) rather than as the call's own timeout.
        let ms = u64::try_from(self.timeout.as_millis() / 2)
            .unwrap_or(u64::MAX)
            .max(1);
        pipe.add_command(redis::cmd("WAIT").arg(self.replicas).arg(ms).clone());
        let (value, got): (T, usize) = self.send(script, &pipe).await?;
        if wrote(&value) {
            self.confirmed(got)?;
        }
        Ok(value)
    }

    /// Send `pipe` (whose scripts are `script`'s) as one [`call`](Self::call);
    /// when Redis no longer has the script (it restarted, a replica took
    /// over), load it and send the pipeline once more.
    async fn send<R: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        pipe: &redis::Pipeline,
    ) -> Result<R, StoreError> {
        self.call(|mut c| async move {
            match pipe.query_async(&mut c).await {
                Err(e) if is_no_script(&e) => {
                    script.load_async(&mut c).await?;
                    pipe.query_async(&mut c).await
                }
                other => other,
            }
        })
        .await
    }

    /// The replicas' confirmation on every primary (after writes to many
    /// keys).
    pub(crate) async fn confirm_all(&self) -> Result<(), StoreError> {
        if self.replicas == 0 {
            return Ok(());
        }
        let ms = u64::try_from(self.timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let replicas = self.replicas;
        let got: usize = self
            .call(|mut c| async move {
                redis::cmd("WAIT")
                    .arg(replicas)
                    .arg(ms)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        self.confirmed(got)
    }

    fn confirmed(&self, got: usize) -> Result<(), StoreError> {
        if got >= self.replicas {
            Ok(())
        } else {
            tracing::warn!(
                wanted = self.replicas,
                got,
                "redis: a replica did not confirm a logout or revocation"
            );
            Err(StoreError::Unavailable(
                "redis: no replica confirmed the write".into(),
            ))
        }
    }

    /// `GET` of each key, sent at once on the multiplexed connection (one
    /// round trip on a node; one per primary, in parallel, on a cluster).
    /// Not one `MGET`: redis 1.8's cluster client splits a multi-slot
    /// `MGET` by a slot map that a failover leaves stale, and then fails
    /// with a result-count mismatch; single-key commands follow `MOVED`.
    /// Repeatable (a read).
    pub(crate) async fn get_many(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        use redis::AsyncCommands as _;
        self.read(|c| {
            futures_util::future::try_join_all(keys.iter().map(move |k| {
                let mut c = c.clone();
                async move { c.get::<_, Option<Vec<u8>>>(k).await }
            }))
        })
        .await
    }

    /// A key under the prefix: `<prefix><kind>:<rest>`.
    pub(crate) fn key(&self, kind: &str, rest: &str) -> String {
        let mut k = String::with_capacity(self.prefix.len() + kind.len() + 1 + rest.len());
        k.push_str(&self.prefix);
        k.push_str(kind);
        k.push(':');
        k.push_str(rest);
        k
    }
}

/// The connection itself failed (as opposed to the command): a retry goes
/// to a fresh connection.
fn is_connection_error(e: &RedisError) -> bool {
    e.is_connection_dropped() || e.is_connection_refusal() || e.kind() == ErrorKind::Io
}

/// Turn a Redis error into a [`StoreError`] whose message names the kind of
/// failure only: never the server address, URL, password or script text.
pub(crate) fn map_error(e: &RedisError) -> StoreError {
    if e.is_timeout() {
        return StoreError::Timeout;
    }
    if e.is_connection_refusal() {
        return StoreError::Unavailable("redis: connection refused".into());
    }
    if e.is_connection_dropped() {
        return StoreError::Unavailable("redis: connection lost".into());
    }
    match e.kind() {
        ErrorKind::Io => StoreError::Unavailable("redis: I/O error".into()),
        ErrorKind::AuthenticationFailed => {
            StoreError::Unavailable("redis: authentication failed".into())
        }
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
            | ServerErrorKind::MasterDown
            | ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::ReadOnly,
        ) => StoreError::Unavailable(format!("redis: {}", e.category())),
        ErrorKind::InvalidClientConfig => {
            StoreError::Backend("redis: invalid connection settings".into())
        }
        _ => StoreError::Backend(format!("redis: {}", e.category())),
    }
}

/// Remaining milliseconds from `now_ms` until `at_secs`, at least 1 (Redis
/// refuses a zero TTL; a record already due is gone a millisecond later).
pub(crate) fn ttl_millis(at_secs: u64, now_ms: u64) -> u64 {
    at_secs.saturating_mul(1000).saturating_sub(now_ms).max(1)
}

/// Wrap a store or list's shared state.
pub(crate) type SharedRef = Arc<Shared>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_positive_and_relative() {
        assert_eq!(ttl_millis(10, 9_000), 1_000);
        assert_eq!(ttl_millis(10, 10_000), 1);
        assert_eq!(ttl_millis(10, 99_000), 1);
    }

    #[test]
    fn errors_never_echo_the_url() {
        for url in [
            "redis+bogus://:hunter2-secret@x/",
            "redis://:hunter2-secret@[::1/",
            "hunter2-secret",
        ] {
            let e = redis::Client::open(url).map(|_| ()).unwrap_err();
            let mapped = map_error(&e);
            assert!(!format!("{mapped:?}").contains("hunter2"), "{mapped:?}");
        }
    }
}
