//! Demo instances (the axum demo, in-process, over real HTTP) pointed at
//! one shared store, and the checks that two such instances behave as one
//! service: the Redis and SQL multi-instance tests run the same checks.
//!
//! The including crate mounts `support/axum_demo.rs` as `axum_demo` and
//! `examples/demo_axum.rs` as `demo_axum`.
#![allow(dead_code)] // each test file uses a different subset

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::axum_demo;

const SECRET: &str = "multi-instance-test-secret-0123456789abcdef";

/// One demo instance on a loopback port.
pub struct Instance {
    addr: SocketAddr,
    client: Client,
    stop: Option<(
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    )>,
}

/// A cookie session: `name=value` and its CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// The settings of every instance: one JWT secret, plain-HTTP cookies, a
/// session cap the tests cannot reach, and `store` (`("REDIS_URL", url)`).
fn settings<'a>(store: (&'a str, &'a str)) -> impl Fn(&str) -> Option<String> + 'a {
    move |k| match k {
        "JWT_SECRET" => Some(SECRET.to_owned()),
        "INSECURE_COOKIES" => Some("1".to_owned()),
        "MAX_SESSIONS_PER_USER" => Some("1000".to_owned()),
        k if k == store.0 => Some(store.1.to_owned()),
        _ => None,
    }
}

/// An instance on the store named by `store` (`("DATABASE_URL", url)`),
/// served by the test's runtime.
pub async fn start(store: (&str, &str)) -> Instance {
    let (addr, client) = axum_demo::start(&settings(store)).await;
    Instance {
        addr,
        client,
        stop: None,
    }
}

/// An instance with its own runtime on its own thread: [`Instance::stop`]
/// ends it the way a process ends, dropping everything it held (server,
/// authenticator, pool, background tasks).
pub fn start_own_runtime(store: (&str, &str)) -> Instance {
    let (name, url) = (store.0.to_owned(), store.1.to_owned());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        rt.block_on(async move {
            let started = axum_demo::start(&settings((&name, &url))).await;
            let _ = ready_tx.send(started);
            let _ = stop_rx.await;
        });
        // Dropping the runtime here cancels every task the instance spawned.
    });
    let (addr, client) = ready_rx
        .recv()
        .unwrap_or_else(|e| panic!("the instance did not start: {e}"));
    Instance {
        addr,
        client,
        stop: Some((stop_tx, thread)),
    }
}

impl Instance {
    /// End an instance of [`start_own_runtime`] and wait until it is gone.
    pub fn stop(mut self) {
        if let Some((tx, thread)) = self.stop.take() {
            let _ = tx.send(());
            let _ = thread.join();
        }
    }

    pub async fn send(
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

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> StatusCode {
        self.send(reqwest::Method::GET, path, headers, None)
            .await
            .status()
    }

    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Response {
        self.send(reqwest::Method::POST, path, headers, body).await
    }

    pub async fn try_login(&self, user: &str) -> Result<Session, StatusCode> {
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

    pub async fn login(&self, user: &str) -> Session {
        self.try_login(user)
            .await
            .unwrap_or_else(|s| panic!("session login: {s}"))
    }

    pub async fn me(&self, s: &Session) -> StatusCode {
        self.get("/session/me", &[("cookie", &s.cookie)]).await
    }

    pub async fn tokens(&self, user: &str) -> (String, String) {
        let body = json!({ "username": user, "password": format!("{user}-password") });
        let res = self.post("/jwt/login", &[], Some(body)).await;
        assert_eq!(res.status(), 200, "jwt login");
        let v: Value = res.json().await.unwrap_or_default();
        (
            v["access_token"].as_str().unwrap_or_default().to_owned(),
            v["refresh_token"].as_str().unwrap_or_default().to_owned(),
        )
    }

    pub async fn jwt_me(&self, access: &str) -> StatusCode {
        self.get("/jwt/me", &[("authorization", &format!("Bearer {access}"))])
            .await
    }

    pub async fn refresh(&self, refresh: &str) -> Response {
        self.post(
            "/jwt/refresh",
            &[],
            Some(json!({ "refresh_token": refresh })),
        )
        .await
    }
}

/// What one instance does, the other sees at once: sessions, logout,
/// logout-all, token revocation, refresh spending and reuse detection.
pub async fn share_sessions_tokens_and_revocations(a: &Instance, b: &Instance) {
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

/// Two instances refreshing one token at once: exactly one wins.
pub async fn concurrent_refreshes_have_one_winner(a: &Instance, b: &Instance) {
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

/// With the store down: protected routes and logins 503 fast, `/health`
/// 200, unprotected failures still plain 4xx.
pub async fn during_outage(instances: &[&Instance], s: &Session, access: &str, refresh: &str) {
    for inst in instances {
        let t = Instant::now();
        assert_eq!(inst.me(s).await, 503, "session check with the store down");
        assert_eq!(
            inst.jwt_me(access).await,
            503,
            "revocation check with the store down"
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
        assert_eq!(inst.refresh(refresh).await.status(), 503);
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
}

/// After the store is back: logins and checks work again on both, without
/// restarting either.
pub async fn after_recovery(a: &Instance, b: &Instance) {
    for inst in [&a, &b] {
        // The first login after the restart already works: no polling, no
        // server restart, no new store.
        let s = match inst.try_login("alice").await {
            Ok(s) => s,
            Err(code) => panic!("first login after the store came back: {code}"),
        };
        assert_eq!(a.me(&s).await, 200);
        assert_eq!(b.me(&s).await, 200);
        let (access, _) = inst.tokens("alice").await;
        assert_eq!(a.jwt_me(&access).await, 200);
        assert_eq!(b.jwt_me(&access).await, 200);
    }
}
