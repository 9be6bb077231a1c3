//! Two axum demo servers behind one Redis and one `JWT_SECRET`, spoken to
//! over real HTTP: what one instance does, the other sees at once. Also the
//! fault path: Redis killed mid-run (503, `/health` still 200) and restarted
//! on the same port (logins work again without restarting the servers).
//!
//! `cargo test --test redis_multi_instance --features "redis axum"`
//! (needs `redis-server` on PATH; the test fails if it is missing).
#![cfg(all(feature = "redis", feature = "axum"))]

#[path = "support/axum_demo.rs"]
mod axum_demo;
#[path = "../examples/demo_axum.rs"]
mod demo_axum;
#[path = "support/demo_instances.rs"]
mod demo_instances;
#[path = "support/redis_server.rs"]
mod redis_server;

use demo_instances::start;
use redis_server::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_sessions_tokens_and_revocations() {
    let redis = RedisServer::start();
    let a = start(("REDIS_URL", &redis.url())).await;
    let b = start(("REDIS_URL", &redis.url())).await;
    demo_instances::share_sessions_tokens_and_revocations(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_on_two_instances_have_exactly_one_winner() {
    let redis = RedisServer::start();
    let a = start(("REDIS_URL", &redis.url())).await;
    let b = start(("REDIS_URL", &redis.url())).await;
    demo_instances::concurrent_refreshes_have_one_winner(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_outage_answers_503_and_recovers_without_restarting_the_servers() {
    let mut redis = RedisServer::start();
    let a = start(("REDIS_URL", &redis.url())).await;
    let b = start(("REDIS_URL", &redis.url())).await;
    let s = a.login("alice").await;
    let (access, refresh) = b.tokens("alice").await;
    assert_eq!(b.me(&s).await, 200);

    redis.kill();
    demo_instances::during_outage(&[&a, &b], &s, &access, &refresh).await;

    redis.restart(); // same port, empty (sessions died with the old server)
    demo_instances::after_recovery(&a, &b).await;
}
