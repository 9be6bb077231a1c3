//! The connection under a store: one Redis node (with its replicas) or a
//! Redis Cluster, behind one type, so every command, pipeline and script
//! of the stores has one code path.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// A multiplexed connection to a node, or to every primary of a cluster.
/// Cloning is cheap and shares it.
#[derive(Clone)]
pub(crate) enum RedisConn {
    /// One node: reconnects by itself.
    Node(ConnectionManager),
    /// A cluster: routes each command by its keys' hash slot, follows
    /// `MOVED`/`ASK`, and refreshes its slot map after a failover.
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Node(c) => c.req_packed_command(cmd),
            RedisConn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Node(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Node(c) => c.get_db(),
            RedisConn::Cluster(c) => c.get_db(),
        }
    }
}

impl RedisConn {
    /// Connect to one node (`redis://`, `rediss://`, `redis+unix://`),
    /// trusting `root_ca` (PEM) for `rediss://` when given.
    pub(crate) async fn node(
        url: &str,
        timeout: Duration,
        root_ca: Option<&[u8]>,
    ) -> RedisResult<Self> {
        let client = match root_ca {
            #[cfg(feature = "redis-tls")]
            Some(pem) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.to_vec()),
                },
            )?,
            _ => redis::Client::open(url)?,
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // Reconnect attempts: two quick tries, then the next call starts
            // a new round. While Redis is down, calls fail in milliseconds
            // (503) instead of queueing behind a long back-off.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        Ok(RedisConn::Node(
            ConnectionManager::new_with_config(client, config).await?,
        ))
    }

    /// Connect to a cluster through any of its `seeds`, trusting `root_ca`
    /// (PEM) for `rediss://` when given.
    pub(crate) async fn cluster(
        seeds: &[String],
        timeout: Duration,
        root_ca: Option<&[u8]>,
    ) -> RedisResult<Self> {
        let builder = ClusterClientBuilder::new(seeds.iter().map(String::as_str))
            .connection_timeout(timeout)
            .response_timeout(timeout)
            // A redirect or a refreshed slot map is retried within the
            // call's own timeout; past it the caller answers 503.
            .retries(2);
        let builder = match root_ca {
            #[cfg(feature = "redis-tls")]
            Some(pem) => builder.certs(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            }),
            _ => builder,
        };
        let client = builder.build()?;
        Ok(RedisConn::Cluster(client.get_async_connection().await?))
    }
}
