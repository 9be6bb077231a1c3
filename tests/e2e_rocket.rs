//! The Rocket demo end to end: launched on a free port of 127.0.0.1 and
//! driven over real HTTP with reqwest (session login/me/logout with CSRF,
//! fixation, refresh-token reuse, 401 vs 403, garbage cookies, bad input),
//! plus the raw-socket cases a client library would refuse to send
//! (non-UTF-8 header bytes).
#![cfg(feature = "rocket")]

#[path = "support/accounts_http.rs"]
mod accounts_http;
#[path = "../examples/demo_rocket.rs"]
mod demo_rocket;
#[path = "support/raw_http.rs"]
mod raw_http;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use demo_rocket::common::{self, Settings};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Response, StatusCode};
use rocket::fairing::AdHoc;
use rocket::Shutdown;
use serde_json::{json, Value};

/// A demo server running on 127.0.0.1 with the port Rocket picked; shut
/// down on drop.
struct Server {
    addr: SocketAddr,
    shutdown: Shutdown,
    http: Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

impl Server {
    /// Launch the demo on port 0 (the OS picks a free one; Rocket reports it
    /// to liftoff fairings).
    async fn start(vars: &[(&str, &str)]) -> Server {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let settings =
            Settings::from_vars(&|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
                .unwrap_or_else(|e| panic!("settings: {e}"));
        let auth = common::authenticator(&settings)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let rocket =
            demo_rocket::rocket(auth, 0).attach(AdHoc::on_liftoff("report port", move |rocket| {
                Box::pin(async move {
                    let config = rocket.config();
                    let _ = tx.send((
                        SocketAddr::new(config.address, config.port),
                        rocket.shutdown(),
                    ));
                })
            }));
        tokio::spawn(async move {
            if let Err(e) = rocket.launch().await {
                panic!("demo_rocket failed: {e}");
            }
        });
        let (addr, shutdown) = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .unwrap_or_else(|_| panic!("demo_rocket did not lift off"))
            .unwrap_or_else(|_| panic!("demo_rocket stopped before liftoff"));
        assert!(
            addr.ip().is_loopback(),
            "the demo listens on 127.0.0.1 only, not {addr}"
        );
        assert_ne!(addr.port(), 0);
        let http = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        Server {
            addr,
            shutdown,
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = self.http.get(self.url(path));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    async fn post(&self, path: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Response {
        let mut req = self.http.post(self.url(path));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    async fn login(&self, user: &str, headers: &[(&str, &str)]) -> Login {
        let body = json!({ "username": user, "password": format!("{user}-password") });
        let r = self.post("/session/login", headers, Some(&body)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "cache-control").as_deref(), Some("no-store"));
        let set_cookie = header(&r, "set-cookie").unwrap_or_else(|| panic!("no Set-Cookie"));
        let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
        let v: Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
        Login {
            cookie,
            set_cookie,
            csrf: v["csrf_token"].as_str().unwrap_or_default().to_owned(),
            body: v,
        }
    }

    async fn tokens(&self, user: &str) -> (String, String) {
        let body = json!({ "username": user, "password": format!("{user}-password") });
        let r = self.post("/jwt/login", &[], Some(&body)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "cache-control").as_deref(), Some("no-store"));
        let v: Value = r.json().await.unwrap_or_else(|e| panic!("{e}"));
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        (s("access_token"), s("refresh_token"))
    }

    async fn me(&self, cookie: &str) -> StatusCode {
        self.get("/session/me", &[("cookie", cookie)])
            .await
            .status()
    }

    async fn jwt_me(&self, access: &str) -> StatusCode {
        let auth = format!("Bearer {access}");
        self.get("/jwt/me", &[("authorization", &auth)])
            .await
            .status()
    }

    async fn refresh(&self, refresh: &str) -> Response {
        self.post(
            "/jwt/refresh",
            &[],
            Some(&json!({ "refresh_token": refresh })),
        )
        .await
    }

    /// Send raw bytes (a request reqwest would refuse to build) and return
    /// the status code of the answer.
    fn raw(&self, request: &[u8]) -> u16 {
        let mut stream = TcpStream::connect(self.addr).unwrap_or_else(|e| panic!("{e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap_or_else(|e| panic!("{e}"));
        stream.write_all(request).unwrap_or_else(|e| panic!("{e}"));
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        text.split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"))
    }
}

struct Login {
    cookie: String,
    set_cookie: String,
    csrf: String,
    body: Value,
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn error_json(r: Response) -> String {
    let v: Value = r
        .json()
        .await
        .unwrap_or_else(|e| panic!("error body is not JSON: {e}"));
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error member: {v}"))
        .to_owned()
}

const INSECURE: &[(&str, &str)] = &[("INSECURE_COOKIES", "1"), ("MAX_SESSIONS_PER_USER", "100")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_unknown_routes() {
    let s = Server::start(INSECURE).await;
    let r = s.get("/health", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap_or_default(), "ok");
    let r = s.get("/no/such/route", &[]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(error_json(r).await, "not found");
    let r = s
        .http
        .delete(s.url("/session/me"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        r.headers().get("server").is_none(),
        "no Server header naming the framework"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_login_me_logout_with_csrf() {
    let s = Server::start(INSECURE).await;
    let login = s.login("alice", &[]).await;
    assert_eq!(login.body["user"], "alice");
    assert_eq!(login.body["roles"], json!(["user"]));
    let attrs = login.set_cookie.to_ascii_lowercase();
    assert!(login.cookie.starts_with("id="), "{}", login.set_cookie);
    for attr in ["httponly", "samesite=lax", "path=/"] {
        assert!(
            attrs.split(';').any(|a| a.trim() == attr),
            "{attr} in {}",
            login.set_cookie
        );
    }
    assert!(!attrs.contains("secure"), "INSECURE_COOKIES=1 drops Secure");

    let r = s.get("/session/me", &[("cookie", &login.cookie)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap_or_default(),
        json!({"user": "alice", "roles": ["user"]})
    );

    // The session list records the real peer address.
    let r = s.get("/session/list", &[("cookie", &login.cookie)]).await;
    let v: Value = r.json().await.unwrap_or_default();
    let current: Vec<&Value> = v["sessions"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["current"] == true).collect())
        .unwrap_or_default();
    assert_eq!(current.len(), 1, "{v}");
    assert_eq!(current[0]["ip"], "127.0.0.1");

    // No token, a wrong one, a cross-site request: 403 and the session stays.
    let r = s
        .post("/session/logout", &[("cookie", &login.cookie)], None)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_json(r).await, "invalid CSRF token");
    let r = s
        .post(
            "/session/logout",
            &[("cookie", &login.cookie), ("x-csrf-token", "nope")],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let cross = [
        ("cookie", login.cookie.as_str()),
        ("x-csrf-token", login.csrf.as_str()),
        ("origin", "http://evil.example"),
    ];
    let r = s.post("/session/logout", &cross, None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_json(r).await, "cross-site request refused");
    assert_eq!(s.me(&login.cookie).await, StatusCode::OK);

    // Same origin (reqwest sends the Host it connected to) and the token.
    let origin = format!("http://{}", s.addr);
    let ok = [
        ("cookie", login.cookie.as_str()),
        ("x-csrf-token", login.csrf.as_str()),
        ("origin", origin.as_str()),
    ];
    let r = s.post("/session/logout", &ok, None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&r, "cache-control").as_deref(), Some("no-store"));
    let removal = header(&r, "set-cookie")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        removal.starts_with("id=;") && removal.contains("max-age=0"),
        "{removal}"
    );
    assert_eq!(s.me(&login.cookie).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_replaces_the_presented_session() {
    let s = Server::start(INSECURE).await;
    let first = s.login("alice", &[]).await;
    let second = s.login("alice", &[("cookie", &first.cookie)]).await;
    assert_ne!(first.cookie, second.cookie);
    assert_eq!(
        s.me(&first.cookie).await,
        StatusCode::UNAUTHORIZED,
        "the old session ended"
    );
    assert_eq!(s.me(&second.cookie).await, StatusCode::OK);
    // A planted, well-formed ID is never adopted.
    let planted = format!("id={}", "A".repeat(43));
    let third = s.login("alice", &[("cookie", &planted)]).await;
    assert_ne!(third.cookie, planted);
    assert_eq!(s.me(&planted).await, StatusCode::UNAUTHORIZED);
    assert_eq!(s.me(&third.cookie).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_reuse_revokes_the_family() {
    let s = Server::start(INSECURE).await;
    let (access, refresh) = s.tokens("alice").await;
    assert_eq!(s.jwt_me(&access).await, StatusCode::OK);
    let r = s.refresh(&refresh).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "cache-control").as_deref(), Some("no-store"));
    let v: Value = r.json().await.unwrap_or_default();
    let next_refresh = v["refresh_token"].as_str().unwrap_or_default().to_owned();
    let next_access = v["access_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(s.jwt_me(&next_access).await, StatusCode::OK);
    // The spent token again: 401, and the family (the new token too) is gone.
    let r = s.refresh(&refresh).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body = r.text().await.unwrap_or_default();
    assert!(!body.contains(&refresh), "the error echoes the token");
    assert_eq!(
        s.refresh(&next_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Logout revokes the access token at once.
    let (access, _) = s.tokens("alice").await;
    let auth = format!("Bearer {access}");
    let r = s
        .post("/jwt/logout", &[("authorization", &auth)], None)
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = s.get("/jwt/me", &[("authorization", &auth)]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&r, "www-authenticate").as_deref(),
        Some(r#"Bearer error="invalid_token""#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_403_versus_401() {
    let s = Server::start(INSECURE).await;
    let (alice, _) = s.tokens("alice").await;
    let (admin, _) = s.tokens("admin").await;
    let r = s
        .get(
            "/jwt/admin",
            &[("authorization", &format!("Bearer {alice}"))],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header(&r, "www-authenticate").as_deref(),
        Some(r#"Bearer error="insufficient_scope""#)
    );
    assert_eq!(error_json(r).await, "insufficient role");
    let r = s.get("/jwt/admin", &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&r, "www-authenticate").as_deref(), Some("Bearer"));
    let r = s
        .get(
            "/jwt/admin",
            &[("authorization", &format!("Bearer {admin}"))],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let alice = s.login("alice", &[]).await;
    let admin = s.login("admin", &[]).await;
    let r = s.get("/session/admin", &[("cookie", &alice.cookie)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("www-authenticate").is_none());
    assert_eq!(
        s.get("/session/admin", &[]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.get("/session/admin", &[("cookie", &admin.cookie)])
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_cookies_and_bad_input_get_4xx_and_the_server_keeps_serving() {
    let s = Server::start(INSECURE).await;
    let alice = s.login("alice", &[]).await;
    let value = alice.cookie.trim_start_matches("id=").to_owned();

    let long = format!("id={}", "A".repeat(6 * 1024));
    let junk_pairs: String = (0..200).map(|i| format!("junk{i}=x; ")).collect();
    let posing = format!("%69%64={value}");
    for cookie in [
        "id=",
        "id=!!!$$$",
        ";;;; ;",
        "id",
        "=;=;==",
        long.as_str(),
        junk_pairs.as_str(),
        "id=a; id=b; id=",
        posing.as_str(),
    ] {
        let r = s.get("/session/me", &[("cookie", cookie)]).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "cookie {cookie:.40}");
        let body = r.text().await.unwrap_or_default();
        assert!(!body.contains(&value));
    }
    // Junk beside the real cookie does not log the user out.
    for cookie in [
        format!("id=junk; {}", alice.cookie),
        format!("{}; id=junk; a=%%%", alice.cookie),
    ] {
        assert_eq!(s.me(&cookie).await, StatusCode::OK, "{cookie}");
    }
    // Non-UTF-8 cookie bytes (obs-text): Rocket drops the line; 401, no 5xx.
    let mut headers = HeaderMap::new();
    headers.insert(
        "cookie",
        HeaderValue::from_bytes(b"id=\xff\xfe\x80abc").unwrap_or_else(|e| panic!("{e}")),
    );
    let r = s
        .http
        .get(s.url("/session/me"))
        .headers(headers)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A non-UTF-8 Authorization header: absent for Rocket, so 401 Bearer.
    let status = s.raw(b"GET /jwt/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 401);

    // Bodies: malformed JSON 400, wrong type 415, oversized 413 -- all JSON.
    let r = s
        .http
        .post(s.url("/session/login"))
        .header("content-type", "application/json")
        .body(r#"{"username":"alice","#)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_json(r).await, "malformed request");
    let r = s
        .http
        .post(s.url("/jwt/login"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = s
        .http
        .post(s.url("/jwt/login"))
        .header("content-type", "application/json")
        .body(vec![b'a'; 1024 * 1024])
        .send()
        .await;
    // The server may answer 413 before reading the whole body and close.
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // Oversized headers: a 4xx from the HTTP layer, never a 5xx.
    let huge = format!(
        "GET /session/me HTTP/1.1\r\nHost: x\r\nCookie: id={}\r\nConnection: close\r\n\r\n",
        "A".repeat(512 * 1024)
    );
    let status = s.raw(huge.as_bytes());
    assert!((400..500).contains(&status), "huge header: {status}");

    // Still serving, and alice is still logged in.
    assert_eq!(s.get("/health", &[]).await.status(), StatusCode::OK);
    assert_eq!(s.me(&alice.cookie).await, StatusCode::OK);
}

/// H1 (review): a browser over HTTP/2 sends each cookie on its own line;
/// over HTTP/1.1 the same is many `Cookie:` lines. Our cookie behind 1, 8,
/// 9 and 64 other lines, or behind 16 KiB of other cookies, is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h1_session_cookie_found_after_many_cookie_lines() {
    let s = Server::start(INSECURE).await;
    let login = s.login("alice", &[]).await;
    let request = |lines: &[String]| raw_http::get_with_cookie_lines("/session/me", lines);
    for before in [0usize, 1, 8, 9, 64] {
        let mut lines: Vec<String> = (0..before).map(|i| format!("c{i}=v{i}")).collect();
        lines.push(login.cookie.clone());
        assert_eq!(s.raw(&request(&lines)), 200, "after {before} cookie lines");
    }
    let mut lines: Vec<String> = (0..16)
        .map(|i| format!("big{i}={}", "x".repeat(1020)))
        .collect();
    lines.push(login.cookie.clone());
    assert_eq!(
        s.raw(&request(&lines)),
        200,
        "after 16 KiB of other cookies"
    );
}

/// **(v2)** The account and Administration routes over real HTTP.
#[tokio::test]
async fn account_routes_over_http() {
    let s = Server::start(INSECURE).await;
    accounts_http::account_routes(&s.url("")).await;
}
