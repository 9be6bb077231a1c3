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
#[path = "support/redis_server.rs"]
mod redis_server;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use redis_server::RedisServer;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

const SECRET: &str = "multi-instance-test-secret-0123456789abcdef";

/// One demo instance on a loopback port.
struct Instance {
    addr: SocketAddr,
    client: Client,
}

/// A cookie session: `name=value` and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn start(redis_url: &str) -> Instance {
    let (addr, client) = axum_demo::start(&|k| match k {
        "REDIS_URL" => Some(redis_url.to_owned()),
        "JWT_SECRET" => Some(SECRET.to_owned()),
        "INSECURE_COOKIES" => Some("1".to_owned()),
        "MAX_SESSIONS_PER_USER" => Some("1000".to_owned()),
        _ => None,
    })
    .await;
    Instance { addr, client }
}

impl Instance {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("http://{}{path}", self.addr));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> StatusCode {
        self.send(reqwest::Method::GET, path, headers, None)
            .await
            .status()
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Response {
        self.send(reqwest::Method::POST, path, headers, body).await
    }

    async fn try_login(&self, user: &str) -> Result<Session, StatusCode> {
        let body = json!({ "username": user, "password": format!("{user}-password") });
        let res = self.post("/session/login", &[], Some(body)).await;
        if res.status() != StatusCode::OK {
            return Err(res.status());
        }
        let cookie = res.headers()["set-cookie"]
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned();
        let v: Value = res.json().await.unwrap_or_default();
        Ok(Session {
            cookie,
            csrf: v["csrf_token"].as_str().unwrap_or_default().to_owned(),
        })
    }

    async fn login(&self, user: &str) -> Session {
        self.try_login(user)
            .await
            .unwrap_or_else(|s| panic!("session login: {s}"))
    }

    async fn me(&self, s: &Session) -> StatusCode {
        self.get("/session/me", &[("cookie", &s.cookie)]).await
    }

    async fn tokens(&self, user: &str) -> (String, String) {
        let body = json!({ "username": user, "password": format!("{user}-password") });
        let res = self.post("/jwt/login", &[], Some(body)).await;
        assert_eq!(res.status(), 200, "jwt login");
        let v: Value = res.json().await.unwrap_or_default();
        (
            v["access_token"].as_str().unwrap_or_default().to_owned(),
            v["refresh_token"].as_str().unwrap_or_default().to_owned(),
        )
    }

    async fn jwt_me(&self, access: &str) -> StatusCode {
        self.get("/jwt/me", &[("authorization", &format!("Bearer {access}"))])
            .await
    }

    async fn refresh(&self, refresh: &str) -> Response {
        self.post(
            "/jwt/refresh",
            &[],
            Some(json!({ "refresh_token": refresh })),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_sessions_tokens_and_revocations() {
    let redis = RedisServer::start();
    let a = start(&redis.url()).await;
    let b = start(&redis.url()).await;

    // A session made on A is valid on B, and listed there.
    let s = a.login("alice").await;
    assert_eq!(b.me(&s).await, 200, "session from A accepted on B");
    let res = b
        .send(
            reqwest::Method::GET,
            "/session/list",
            &[("cookie", &s.cookie)],
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap_or_default();
    assert!(list["sessions"]
        .as_array()
        .is_some_and(|v| v.iter().any(|e| e["current"] == true)));

    // Logout on B is refused on A.
    let res = b
        .post(
            "/session/logout",
            &[("cookie", &s.cookie), ("x-csrf-token", &s.csrf)],
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(a.me(&s).await, 401, "logged out on B: refused on A at once");

    // Logout-all on A ends B's sessions of the user too.
    let (s1, s2) = (a.login("admin").await, b.login("admin").await);
    assert_eq!(
        b.get("/session/admin", &[("cookie", &s1.cookie)]).await,
        200
    );
    let res = a
        .post(
            "/session/logout-all",
            &[("cookie", &s1.cookie), ("x-csrf-token", &s1.csrf)],
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(b.me(&s2).await, 401);
    assert_eq!(b.me(&s1).await, 401);

    // A token issued on A is valid on B; revoked (logout) on A, refused on B.
    let (access, _refresh) = a.tokens("alice").await;
    assert_eq!(b.jwt_me(&access).await, 200);
    let res = a
        .post(
            "/jwt/logout",
            &[("authorization", &format!("Bearer {access}"))],
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        b.jwt_me(&access).await,
        401,
        "revoked on A: refused on B at once"
    );

    // A refresh on B spends the token for A.
    let (_, refresh) = a.tokens("alice").await;
    let res = b.refresh(&refresh).await;
    assert_eq!(res.status(), 200, "refresh on B");
    let next: Value = res.json().await.unwrap_or_default();
    assert_eq!(
        a.refresh(&refresh).await.status(),
        401,
        "spent on B: refused on A"
    );
    // Reuse revoked the family: the token B handed out is dead as well.
    let next_refresh = next["refresh_token"].as_str().unwrap_or_default();
    assert_eq!(a.refresh(next_refresh).await.status(), 401);

    // Logout-all (bearer) on B: tokens from A are refused on A.
    let (t1, _) = a.tokens("admin").await;
    let res = b
        .post(
            "/jwt/logout-all",
            &[("authorization", &format!("Bearer {t1}"))],
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(a.jwt_me(&t1).await, 401);
    let (t2, _) = a.tokens("admin").await;
    assert_eq!(
        b.jwt_me(&t2).await,
        200,
        "a fresh login works after logout-all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_on_two_instances_have_exactly_one_winner() {
    let redis = RedisServer::start();
    let a = start(&redis.url()).await;
    let b = start(&redis.url()).await;
    for round in 0..10 {
        let (_, refresh) = a.tokens("alice").await;
        let (ra, rb) = tokio::join!(a.refresh(&refresh), b.refresh(&refresh));
        let codes = [ra.status(), rb.status()];
        let wins = codes.iter().filter(|c| **c == StatusCode::OK).count();
        assert_eq!(
            wins, 1,
            "round {round}: exactly one of two concurrent refreshes wins: {codes:?}"
        );
        assert!(
            codes.contains(&StatusCode::UNAUTHORIZED),
            "round {round}: the other gets 401: {codes:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_outage_answers_503_and_recovers_without_restarting_the_servers() {
    let mut redis = RedisServer::start();
    let a = start(&redis.url()).await;
    let b = start(&redis.url()).await;
    let s = a.login("alice").await;
    let (access, refresh) = b.tokens("alice").await;
    assert_eq!(b.me(&s).await, 200);

    redis.kill();
    for inst in [&a, &b] {
        let t = Instant::now();
        assert_eq!(inst.me(&s).await, 503, "session check with Redis down");
        assert_eq!(
            inst.jwt_me(&access).await,
            503,
            "revocation check with Redis down"
        );
        assert_eq!(
            inst.get("/session/admin", &[("cookie", &s.cookie)]).await,
            503
        );
        assert_eq!(
            inst.try_login("alice").await.err(),
            Some(StatusCode::SERVICE_UNAVAILABLE),
            "login needs the store"
        );
        assert_eq!(inst.refresh(&refresh).await.status(), 503);
        assert_eq!(
            inst.get("/health", &[]).await,
            200,
            "health does not touch the store"
        );
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "failures are fast: {:?}",
            t.elapsed()
        );
        // Unprotected failures are still plain client errors.
        assert_eq!(inst.get("/session/me", &[]).await, 401);
    }

    redis.restart(); // same port, empty (sessions died with the old server)
    for inst in [&a, &b] {
        // The first login after the restart already works: no polling, no
        // server restart, no new store.
        let s = match inst.try_login("alice").await {
            Ok(s) => s,
            Err(code) => panic!("first login after the Redis restart: {code}"),
        };
        assert_eq!(a.me(&s).await, 200);
        assert_eq!(b.me(&s).await, 200);
        let (access, _) = inst.tokens("alice").await;
        assert_eq!(a.jwt_me(&access).await, 200);
        assert_eq!(b.jwt_me(&access).await, 200);
    }
}
