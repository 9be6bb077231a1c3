//! The axum demo over real HTTP: started in-process on 127.0.0.1:0 with
//! `axum::serve` and `ConnectInfo`, spoken to with reqwest, and with raw
//! bytes over a `TcpStream` where reqwest refuses to send them (non-UTF-8
//! and oversized headers).
#![cfg(feature = "axum")]

#[path = "support/accounts_http.rs"]
mod accounts_http;
#[path = "support/axum_demo.rs"]
mod axum_demo;
#[path = "../examples/demo_axum.rs"]
mod demo_axum;

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A running demo server and a client for it.
struct Server {
    addr: SocketAddr,
    client: Client,
}

/// Start the demo as `main` does (plain-HTTP cookies, like the README's
/// curl session), on a free port. The server task ends with the test's
/// runtime.
async fn start() -> Server {
    let (addr, client) = axum_demo::start(&|k| match k {
        "INSECURE_COOKIES" => Some("1".to_owned()),
        // Tests log the same users in many times per second.
        "MAX_SESSIONS_PER_USER" => Some("1000".to_owned()),
        _ => None,
    })
    .await;
    Server { addr, client }
}

/// A cookie session: `name=value` and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = self.client.get(self.url(path));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Response {
        let mut req = self.client.post(self.url(path));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    async fn login(&self, user: &str, cookie: Option<&str>) -> Session {
        let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
        let body = json!({ "username": user, "password": format!("{user}-password") });
        let res = self.post("/session/login", &headers, Some(body)).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let set_cookie = res.headers()["set-cookie"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        let v: Value = res.json().await.unwrap_or_default();
        Session {
            cookie: set_cookie.split(';').next().unwrap_or_default().to_owned(),
            csrf: v["csrf_token"].as_str().unwrap_or_default().to_owned(),
        }
    }

    async fn me(&self, s: &Session) -> StatusCode {
        self.get("/session/me", &[("cookie", &s.cookie)])
            .await
            .status()
    }

    async fn tokens(&self, user: &str) -> (String, String) {
        let body = json!({ "username": user, "password": format!("{user}-password") });
        let res = self.post("/jwt/login", &[], Some(body)).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let v: Value = res.json().await.unwrap_or_default();
        (
            v["access_token"].as_str().unwrap_or_default().to_owned(),
            v["refresh_token"].as_str().unwrap_or_default().to_owned(),
        )
    }

    async fn health(&self) {
        let res = self.get("/health", &[]).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap_or_default(), "ok");
    }
}

/// Send raw bytes, read until the server closes (or 10 s); the status code
/// of the answer, or `None` when the server closed or reset without one.
async fn raw(addr: SocketAddr, request: Vec<u8>) -> Option<u16> {
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let (mut rd, mut wr) = stream.split();
    let write = async {
        // The server may answer and close before reading everything.
        let _ = wr.write_all(&request).await;
        let _ = wr.flush().await;
    };
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        buf
    };
    let (_, buf) =
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(write, read) })
            .await
            .unwrap_or_else(|_| panic!("the server hung on a raw request"));
    let head = String::from_utf8_lossy(&buf);
    head.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

fn raw_get(path: &str, extra_headers: &[u8]) -> Vec<u8> {
    let mut r =
        format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n").into_bytes();
    r.extend_from_slice(extra_headers);
    r.extend_from_slice(b"\r\n");
    r
}

#[tokio::test]
async fn session_fixation_is_defeated_over_http() {
    let s = start().await;
    let first = s.login("alice", None).await;
    assert_eq!(s.me(&first).await, 200);
    let second = s.login("alice", Some(&first.cookie)).await;
    assert_ne!(
        second.cookie, first.cookie,
        "the login reused the presented session"
    );
    assert_eq!(
        s.me(&first).await,
        401,
        "the session named at login must end"
    );
    assert_eq!(s.me(&second).await, 200);

    // ConnectInfo reaches the session record over real TCP.
    let res = s
        .get(
            "/session/list",
            &[("cookie", &second.cookie), ("user-agent", "e2e/1")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap_or_default();
    let current = v["sessions"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["current"] == true).cloned())
        .unwrap_or_default();
    assert_eq!(current["ip"], "127.0.0.1");
}

#[tokio::test]
async fn logout_is_refused_without_the_csrf_header() {
    let s = start().await;
    let a = s.login("alice", None).await;
    let res = s
        .post("/session/logout", &[("cookie", &a.cookie)], None)
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(s.me(&a).await, 200, "a refused logout keeps the session");

    let res = s
        .post(
            "/session/logout",
            &[("cookie", &a.cookie), ("x-csrf-token", &a.csrf)],
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let removal = res.headers()["set-cookie"].to_str().unwrap_or_default();
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert_eq!(
        s.me(&a).await,
        401,
        "the old cookie is refused after logout"
    );
}

#[tokio::test]
async fn cross_site_unsafe_requests_are_refused() {
    let s = start().await;
    let a = s.login("alice", None).await;
    let base = [
        ("cookie", a.cookie.as_str()),
        ("x-csrf-token", a.csrf.as_str()),
    ];
    for extra in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "http://evil.example"),
        ("origin", "null"),
    ] {
        let mut headers = base.to_vec();
        headers.push(extra);
        let res = s.post("/session/logout", &headers, None).await;
        assert_eq!(res.status(), 403, "{extra:?}");
        assert_eq!(s.me(&a).await, 200, "{extra:?}: the session must stay");
    }
    // The page's own origin (reqwest sends Host: 127.0.0.1:PORT) passes.
    let own = format!("http://{}", s.addr);
    let mut headers = base.to_vec();
    headers.push(("origin", &own));
    let res = s.post("/session/logout", &headers, None).await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_family() {
    let s = start().await;
    let (access, refresh) = s.tokens("alice").await;
    let res = s
        .post(
            "/jwt/refresh",
            &[],
            Some(json!({ "refresh_token": refresh })),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let v: Value = res.json().await.unwrap_or_default();
    let next = v["refresh_token"].as_str().unwrap_or_default().to_owned();
    let next_access = v["access_token"].as_str().unwrap_or_default().to_owned();
    let bearer = format!("Bearer {next_access}");
    assert_eq!(
        s.get("/jwt/me", &[("authorization", &bearer)])
            .await
            .status(),
        200
    );

    // The spent token again: refused, and the family dies with it.
    let res = s
        .post(
            "/jwt/refresh",
            &[],
            Some(json!({ "refresh_token": refresh })),
        )
        .await;
    assert_eq!(res.status(), 401);
    let body = res.text().await.unwrap_or_default();
    assert!(!body.contains(&refresh), "the error echoes the token");
    let res = s
        .post("/jwt/refresh", &[], Some(json!({ "refresh_token": next })))
        .await;
    assert_eq!(res.status(), 401, "the rest of the family is revoked");

    // Logout refuses the access token from then on.
    let (access2, _) = s.tokens("alice").await;
    let bearer2 = format!("Bearer {access2}");
    assert_eq!(
        s.post("/jwt/logout", &[("authorization", &bearer2)], None)
            .await
            .status(),
        204
    );
    let res = s.get("/jwt/me", &[("authorization", &bearer2)]).await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    let _ = access;
}

#[tokio::test]
async fn a_missing_role_is_403_and_no_credentials_401() {
    let s = start().await;
    let (alice, _) = s.tokens("alice").await;
    let (admin, _) = s.tokens("admin").await;
    let res = s
        .get(
            "/jwt/admin",
            &[("authorization", &format!("Bearer {alice}"))],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="insufficient_scope""#
    );
    let res = s
        .get(
            "/jwt/admin",
            &[("authorization", &format!("Bearer {admin}"))],
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = s.get("/jwt/admin", &[]).await;
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");

    let a = s.login("alice", None).await;
    assert_eq!(
        s.get("/session/admin", &[("cookie", &a.cookie)])
            .await
            .status(),
        403
    );
    assert_eq!(s.get("/session/admin", &[]).await.status(), 401);
}

#[tokio::test]
async fn garbage_cookies_and_headers_are_answered_4xx() {
    let s = start().await;
    let a = s.login("alice", None).await;
    let name = a.cookie.split('=').next().unwrap_or_default().to_owned();

    // Through reqwest: printable garbage.
    let long = format!("{name}={}", "A".repeat(8 * 1024));
    for cookie in [
        format!("{name}="),
        format!("{name}=!!!"),
        ";;;;".to_owned(),
        format!("{name}=x; {name}=y; {name}=z"),
        long,
    ] {
        let res = s.get("/session/me", &[("cookie", &cookie)]).await;
        assert_eq!(res.status(), 401, "{cookie:.40}");
    }
    for auth in ["Bearer", "Bearer a b", "Basic Zm9vOmJhcg==", "Bearer a\"b"] {
        let res = s.get("/jwt/me", &[("authorization", auth)]).await;
        assert!(res.status().is_client_error(), "{auth}: {}", res.status());
    }
    // A junk duplicate does not log the user out.
    let dup = format!("{name}=junk; {}", a.cookie);
    assert_eq!(
        s.get("/session/me", &[("cookie", &dup)]).await.status(),
        200
    );

    // Raw bytes reqwest would refuse to send.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "non-UTF-8 cookie",
            [
                b"cookie: ".as_slice(),
                name.as_bytes(),
                b"=\xff\xfe\x80\r\n",
            ]
            .concat(),
        ),
        (
            "non-UTF-8 cookie name",
            b"cookie: \xc3\x28=abc\r\n".to_vec(),
        ),
        (
            "non-UTF-8 bearer token",
            b"authorization: Bearer \xff\xfe\r\n".to_vec(),
        ),
        (
            "64 KiB cookie",
            [
                b"cookie: ".as_slice(),
                name.as_bytes(),
                b"=",
                &[b'A'; 64 * 1024],
                b"\r\n",
            ]
            .concat(),
        ),
        ("nine cookie lines", b"cookie: a=1\r\n".repeat(9)),
    ];
    for (what, headers) in &cases {
        for path in ["/session/me", "/jwt/me"] {
            let status = raw(s.addr, raw_get(path, headers)).await;
            assert!(
                status.is_some_and(|c| (400..500).contains(&c)),
                "{what} on {path}: {status:?}"
            );
        }
    }
    // Too big or malformed for the HTTP parser: a 4xx or a closed
    // connection, never a 2xx, a 5xx or a hang.
    let huge: Vec<u8> = [b"cookie: a=".as_slice(), &vec![b'A'; 1024 * 1024], b"\r\n"].concat();
    let many: Vec<u8> = (0..200)
        .flat_map(|i| format!("x-h{i}: v\r\n").into_bytes())
        .collect();
    for (what, request) in [
        ("1 MiB header", raw_get("/session/me", &huge)),
        ("200 headers", raw_get("/session/me", &many)),
        (
            "bad request line",
            b"GET /\xff\xfe HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        ),
        (
            "header without colon",
            raw_get("/session/me", b"garbage\r\n"),
        ),
        (
            "bad header name",
            raw_get("/session/me", b"co\x01okie: a=b\r\n"),
        ),
    ] {
        let status = raw(s.addr, request).await;
        assert!(
            status.is_none_or(|c| (400..500).contains(&c)),
            "{what}: {status:?}"
        );
    }
    // A body past MAX_BODY is refused before it is read in full.
    let big = format!(
        "POST /session/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        10 * 1024 * 1024
    );
    let status = raw(s.addr, [big.into_bytes(), vec![b'{'; 64 * 1024]].concat()).await;
    assert_eq!(status, Some(413));

    // Still serving everyone, and alice is still logged in.
    s.health().await;
    assert_eq!(s.me(&a).await, 200);
}

#[tokio::test]
async fn a_burst_on_one_session_does_not_lose_the_logout() {
    let s = std::sync::Arc::new(start().await);
    let a = std::sync::Arc::new(s.login("alice", None).await);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (s, a) = (s.clone(), a.clone());
        tasks.push(tokio::spawn(async move {
            if i == 32 {
                let res = s
                    .post(
                        "/session/logout",
                        &[("cookie", &a.cookie), ("x-csrf-token", &a.csrf)],
                        None,
                    )
                    .await;
                (true, res.status())
            } else {
                (false, s.me(&a).await)
            }
        }));
    }
    let mut saw_logout = false;
    for t in tasks {
        let (is_logout, status) = t.await.unwrap_or_else(|e| panic!("task: {e}"));
        if is_logout {
            assert_eq!(status, 204);
            saw_logout = true;
        } else {
            assert!(status == 200 || status == 401, "{status}");
        }
    }
    assert!(saw_logout);
    // Whatever interleaving happened, the logout stuck.
    for _ in 0..8 {
        assert_eq!(s.me(&a).await, 401);
    }
    let res = s
        .post(
            "/session/logout",
            &[("cookie", &a.cookie), ("x-csrf-token", &a.csrf)],
            None,
        )
        .await;
    assert_eq!(res.status(), 401);
    s.health().await;
}

/// H1 (review): a browser over HTTP/2 sends each cookie on its own line;
/// over HTTP/1.1 the same is many `Cookie:` lines. Our cookie behind 1, 8,
/// 9 and 64 other lines, or behind 16 KiB of other cookies, is found.
#[tokio::test]
async fn h1_session_cookie_found_after_many_cookie_lines() {
    let s = start().await;
    let session = s.login("alice", None).await;
    for before in [0usize, 1, 8, 9, 64] {
        let mut extra = Vec::new();
        for i in 0..before {
            extra.extend_from_slice(format!("cookie: c{i}=v{i}\r\n").as_bytes());
        }
        extra.extend_from_slice(format!("cookie: {}\r\n", session.cookie).as_bytes());
        let status = raw(s.addr, raw_get("/session/me", &extra)).await;
        assert_eq!(status, Some(200), "after {before} cookie lines");
    }
    let mut extra = Vec::new();
    for i in 0..16 {
        extra.extend_from_slice(format!("cookie: big{i}={}\r\n", "x".repeat(1020)).as_bytes());
    }
    extra.extend_from_slice(format!("cookie: {}\r\n", session.cookie).as_bytes());
    assert_eq!(raw(s.addr, raw_get("/session/me", &extra)).await, Some(200));
    s.health().await;
}

/// L9 (review) over HTTP, past the window: the same client retrying the
/// spent refresh token within 10 s gets the same successor; after 10 s the
/// same retry is reuse, and the family ends.
#[tokio::test]
async fn l9_refresh_retry_grace_ends_after_10_s() {
    let s = start().await;
    let ua = [("user-agent", "e2e-client/1.0")];
    let (_, refresh) = s.tokens("alice").await;
    let body = || Some(json!({ "refresh_token": refresh }));
    let first: Value = s
        .post("/jwt/refresh", &ua, body())
        .await
        .json()
        .await
        .unwrap_or_default();
    let again: Value = s
        .post("/jwt/refresh", &ua, body())
        .await
        .json()
        .await
        .unwrap_or_default();
    assert!(first["refresh_token"].is_string());
    assert_eq!(
        first["refresh_token"], again["refresh_token"],
        "same successor"
    );
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    assert_eq!(s.post("/jwt/refresh", &ua, body()).await.status(), 401);
    let next = json!({ "refresh_token": first["refresh_token"] });
    assert_eq!(
        s.post("/jwt/refresh", &ua, Some(next)).await.status(),
        401,
        "the family ended"
    );
}

/// **(v2)** The account and Administration routes over real HTTP.
#[tokio::test]
async fn account_routes_over_http() {
    let s = start().await;
    accounts_http::account_routes(&format!("http://{}", s.addr)).await;
}
