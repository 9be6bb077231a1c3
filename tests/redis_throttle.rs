//! Login throttling on a real `redis-server` shared by two instances: every
//! failure counts, whichever instance saw it, under concurrency.
//!
//! `cargo test --test redis_throttle --features redis`
#![cfg(feature = "redis")]

#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;

use portcullis::redis::RedisStore;
use portcullis::{Authenticator, LoginThrottle, RequestView, SessionHandle};
use redis_server::RedisServer;

async fn instance(server: &RedisServer, throttle: LoginThrottle) -> Authenticator {
    let store = RedisStore::builder()
        .prefix("throttle:")
        .connect(&server.url())
        .await
        .expect("connect to the test redis");
    // Given only the store: the counters follow it into Redis.
    Authenticator::builder()
        .store(Arc::new(store))
        .login_throttle(throttle)
        .build()
        .expect("authenticator")
}

async fn attempt_from(
    auth: &Authenticator,
    user: &str,
    ip: String,
) -> Result<portcullis::LoginAttempt, portcullis::Rejection> {
    let mut view = RequestView::new("POST");
    view.set_peer_ip(ip.parse().expect("ip"));
    SessionHandle::new(auth.authenticate(&view).await)
        .login_attempt(user)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_on_two_instances_are_all_counted() {
    let server = RedisServer::start();
    const LIMIT: u32 = 40;
    let throttle = LoginThrottle::default().max_failures_per_user(LIMIT);
    let a = instance(&server, throttle.clone()).await;
    let b = instance(&server, throttle).await;
    // LIMIT - 1 failures for one username, from distinct clients, half on
    // each instance, all at once: every one must be counted.
    let mut tasks = Vec::new();
    for i in 0..LIMIT - 1 {
        let auth = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let attempt = attempt_from(&auth, "alice", format!("198.51.100.{i}"))
                .await
                .expect("not throttled yet");
            assert_eq!(attempt.failed().await.status(), 401);
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    // One short of the limit: still open, on both instances.
    assert!(attempt_from(&a, "alice", "203.0.113.1".into())
        .await
        .is_ok());
    assert!(attempt_from(&b, "alice", "203.0.113.1".into())
        .await
        .is_ok());
    // The LIMIT-th failure throttles the username for everyone, everywhere.
    let last = attempt_from(&b, "alice", "203.0.113.2".into())
        .await
        .expect("open");
    assert_eq!(last.failed().await.status(), 401);
    for auth in [&a, &b] {
        let refused = attempt_from(auth, "alice", "203.0.113.3".into())
            .await
            .unwrap_err();
        assert_eq!((refused.status(), refused.retry_after()), (429, Some(60)));
    }
    // Another username is not affected.
    assert!(attempt_from(&a, "bob", "203.0.113.3".into()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_on_one_instance_clears_the_pair_on_the_other() {
    let server = RedisServer::start();
    let a = instance(&server, LoginThrottle::default()).await;
    let b = instance(&server, LoginThrottle::default()).await;
    let ip = || "198.51.100.7".to_owned();
    for _ in 0..4 {
        attempt_from(&a, "alice", ip())
            .await
            .unwrap()
            .failed()
            .await;
    }
    attempt_from(&b, "alice", ip())
        .await
        .unwrap()
        .succeeded()
        .await
        .unwrap();
    for _ in 0..4 {
        attempt_from(&a, "alice", ip())
            .await
            .unwrap()
            .failed()
            .await;
    }
    assert!(
        attempt_from(&b, "alice", ip()).await.is_ok(),
        "the count started over"
    );
    attempt_from(&b, "alice", ip())
        .await
        .unwrap()
        .failed()
        .await;
    assert_eq!(
        attempt_from(&a, "alice", ip()).await.unwrap_err().status(),
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_keys_name_neither_user_nor_client() {
    let server = RedisServer::start();
    let a = instance(&server, LoginThrottle::default()).await;
    attempt_from(&a, "alice", "198.51.100.7".into())
        .await
        .unwrap()
        .failed()
        .await;
    let mut c = redis::Client::open(server.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("throttle:lc:*")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for k in &keys {
        assert!(!k.contains("alice") && !k.contains("198.51"), "{k}");
        let ttl: i64 = redis::cmd("PTTL").arg(k).query_async(&mut c).await.unwrap();
        assert!(ttl > 0, "every counter expires: {k} {ttl}");
    }
}
