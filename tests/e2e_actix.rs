//! The actix-web demo end to end: a real `HttpServer` on 127.0.0.1:0 (its
//! own actix system on a thread) and `reqwest` over plain HTTP.
#![cfg(feature = "actix-web")]

#[path = "support/accounts_http.rs"]
mod accounts_http;
#[path = "../examples/demo_actix.rs"]
mod demo_actix;
#[path = "support/raw_http.rs"]
mod raw_http;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::HttpServer;
use demo_actix::common::{self, Settings};
use reqwest::header::HeaderMap;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

/// A demo server running on its own thread.
struct Server {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl Server {
    /// Start the demo with `vars` (plus a session cap the tests cannot
    /// reach) on 127.0.0.1:0.
    fn start(vars: &[(&str, &str)]) -> Server {
        let mut all = vec![("MAX_SESSIONS_PER_USER".to_owned(), "1000".to_owned())];
        all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let settings =
            Settings::from_vars(&|k| all.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
                .unwrap_or_else(|e| panic!("settings: {e}"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let auth = common::authenticator(&settings)
                    .await
                    .unwrap_or_else(|e| panic!("authenticator: {e}"));
                let listener = std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap_or_else(|e| panic!("bind: {e}"));
                let addr = listener
                    .local_addr()
                    .unwrap_or_else(|e| panic!("local_addr: {e}"));
                // One user table for both workers, as `main` does.
                let demo = common::Demo::new(auth, &settings);
                let server = HttpServer::new(move || demo_actix::app(demo.clone()))
                    .workers(2)
                    .disable_signals()
                    .listen(listener)
                    .unwrap_or_else(|e| panic!("listen: {e}"))
                    .run();
                let _ = tx.send((addr, server.handle()));
                let _ = server.await;
            });
        });
        let (addr, handle) = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("server did not start: {e}"));
        Server { addr, handle }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stop(self) {
        self.handle.stop(true).await;
    }
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// `name=value` of the response's `Set-Cookie`.
fn cookie_of(res: &Response) -> String {
    let sc = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Set-Cookie: {:?}", res.headers()));
    sc.split(';').next().unwrap_or_default().to_owned()
}

fn no_store(headers: &HeaderMap) -> bool {
    headers.get_all("cache-control").iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|d| d.trim() == "no-store"))
    })
}

fn creds(user: &str) -> Value {
    json!({ "username": user, "password": format!("{user}-password") })
}

/// Log in by cookie; (cookie pair, CSRF token).
async fn login(c: &Client, s: &Server, user: &str, extra_cookie: Option<&str>) -> (String, String) {
    let mut req = c.post(s.url("/session/login")).json(&creds(user));
    if let Some(cookie) = extra_cookie {
        req = req.header("cookie", cookie);
    }
    let res = req.send().await.unwrap_or_else(|e| panic!("login: {e}"));
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_store(res.headers()));
    let cookie = cookie_of(&res);
    let body: Value = res
        .json()
        .await
        .unwrap_or_else(|e| panic!("login body: {e}"));
    (
        cookie,
        body["csrf_token"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn me(c: &Client, s: &Server, cookie: &str) -> StatusCode {
    c.get(s.url("/session/me"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("me: {e}"))
        .status()
}

async fn tokens(c: &Client, s: &Server, user: &str) -> (String, String) {
    let res = c
        .post(s.url("/jwt/login"))
        .json(&creds(user))
        .send()
        .await
        .unwrap_or_else(|e| panic!("jwt login: {e}"));
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_store(res.headers()));
    let v: Value = res.json().await.unwrap_or_else(|e| panic!("{e}"));
    (
        v["access_token"].as_str().unwrap_or_default().to_owned(),
        v["refresh_token"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn session_login_me_list_logout_with_csrf() {
    let s = Server::start(&[]);
    let c = client();
    let (cookie, csrf) = login(&c, &s, "alice", None).await;
    assert!(cookie.starts_with("__Host-id="), "{cookie}");

    let res = c
        .get(s.url("/session/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v, json!({ "user": "alice", "roles": ["user"] }));

    // The peer IP of the real connection is recorded.
    let res = c
        .get(s.url("/session/list"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let v: Value = res.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["sessions"][0]["ip"], "127.0.0.1", "{v}");

    // No CSRF token: 403 and the session stays.
    let res = c
        .post(s.url("/session/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(&c, &s, &cookie).await, StatusCode::OK);

    // A cross-origin POST with the right token: 403.
    let res = c
        .post(s.url("/session/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(me(&c, &s, &cookie).await, StatusCode::OK);

    // Same origin (the Host reqwest sends) and the token: 204 + removal.
    let res = c
        .post(s.url("/session/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("origin", format!("http://{}", s.addr))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(no_store(res.headers()));
    let removal = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        removal.starts_with("__Host-id=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );
    assert_eq!(me(&c, &s, &cookie).await, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn a_browser_like_client_with_a_cookie_jar() {
    // INSECURE_COOKIES=1: a plain-HTTP client keeps and sends the cookie.
    let s = Server::start(&[("INSECURE_COOKIES", "1")]);
    let c = Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let res = c
        .post(s.url("/session/login"))
        .json(&creds("admin"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::OK);
    let csrf = res.json::<Value>().await.unwrap_or_else(|e| panic!("{e}"))["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let res = c
        .get(s.url("/session/admin"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::OK);
    let res = c
        .post(s.url("/session/logout-all"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The jar dropped the removed cookie: anonymous again.
    let res = c
        .get(s.url("/session/me"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn login_never_reuses_a_presented_session_id() {
    let s = Server::start(&[]);
    let c = client();
    let (first, _) = login(&c, &s, "alice", None).await;
    let (second, _) = login(&c, &s, "alice", Some(&first)).await;
    assert_ne!(first, second);
    assert_eq!(
        me(&c, &s, &first).await,
        StatusCode::UNAUTHORIZED,
        "the presented session ended"
    );
    assert_eq!(me(&c, &s, &second).await, StatusCode::OK);
    // A planted, well-formed ID is not adopted.
    let planted = format!("__Host-id={}", "A".repeat(43));
    let (third, _) = login(&c, &s, "alice", Some(&planted)).await;
    assert_ne!(third, planted);
    assert_eq!(me(&c, &s, &planted).await, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let s = Server::start(&[]);
    let c = client();
    let (access, refresh) = tokens(&c, &s, "alice").await;
    let res = c
        .get(s.url("/jwt/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::OK);

    let res = c
        .post(s.url("/jwt/refresh"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_store(res.headers()));
    let v: Value = res.json().await.unwrap_or_else(|e| panic!("{e}"));
    let next_refresh = v["refresh_token"].as_str().unwrap_or_default().to_owned();
    assert_ne!(next_refresh, refresh);

    // The spent token again: 401, and the whole family is revoked.
    let res = c
        .post(s.url("/jwt/refresh"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = c
        .post(s.url("/jwt/refresh"))
        .json(&json!({ "refresh_token": next_refresh }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Logout: the access token is refused from then on.
    let (access, _) = tokens(&c, &s, "alice").await;
    let res = c
        .post(s.url("/jwt/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = c
        .get(s.url("/jwt/me"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some(r#"Bearer error="invalid_token""#)
    );
    s.stop().await;
}

#[tokio::test]
async fn roles_answer_403_and_anonymous_401() {
    let s = Server::start(&[]);
    let c = client();
    let (alice, _) = tokens(&c, &s, "alice").await;
    let (admin, _) = tokens(&c, &s, "admin").await;
    let res = c
        .get(s.url("/jwt/admin"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::OK);
    let res = c
        .get(s.url("/jwt/admin"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some(r#"Bearer error="insufficient_scope""#)
    );
    assert_eq!(
        res.text().await.unwrap_or_default(),
        r#"{"error":"insufficient role"}"#
    );
    let res = c
        .get(s.url("/jwt/admin"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );

    let (alice_cookie, _) = login(&c, &s, "alice", None).await;
    let res = c
        .get(s.url("/session/admin"))
        .header("cookie", &alice_cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get("www-authenticate").is_none());
    let res = c
        .get(s.url("/session/admin"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    s.stop().await;
}

#[tokio::test]
async fn garbage_cookies_and_bytes_get_4xx_and_the_server_keeps_serving() {
    let s = Server::start(&[]);
    let c = client();
    let (cookie, _) = login(&c, &s, "alice", None).await;
    // Junk around a valid cookie does not log the user out.
    for junk in [
        format!("junk=\"; {cookie}; __Host-id=!!!"),
        format!("=; ;;; {cookie}"),
        format!("__Host-id=junk; {cookie}"),
    ] {
        assert_eq!(me(&c, &s, &junk).await, StatusCode::OK, "{junk}");
    }
    // Garbage alone: 401 JSON, never a 5xx. A malformed value counts as no
    // cookie; a well-formed unknown one is an invalid session, and the
    // browser is told to drop it.
    for (garbage, body, removal) in [
        (
            "__Host-id=%%%garbage%%%; x",
            r#"{"error":"authentication required"}"#,
            false,
        ),
        (
            "__Host-id=garbagegarbagegarbage",
            r#"{"error":"invalid or expired session"}"#,
            true,
        ),
    ] {
        let res = c
            .get(s.url("/session/me"))
            .header("cookie", garbage)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{garbage}");
        assert_eq!(
            res.headers().get("set-cookie").is_some(),
            removal,
            "{garbage}"
        );
        assert_eq!(res.text().await.unwrap_or_default(), body, "{garbage}");
    }

    // Raw bytes on the socket: non-UTF-8 header values, a huge header, a
    // malformed request line. Each gets a 4xx or a closed connection.
    let raw: Vec<Vec<u8>> = vec![
        [b"GET /session/me HTTP/1.1\r\nHost: x\r\nCookie: __Host-id=\xff\xfe\x80\r\nConnection: close\r\n\r\n".as_slice()]
            .concat(),
        format!(
            "GET /jwt/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            "A".repeat(64 * 1024)
        )
        .into_bytes(),
        b"\x00\x01garbage\r\n\r\n".to_vec(),
        b"POST /jwt/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n{"
            .to_vec(),
    ];
    for bytes in raw {
        let status = raw_status(s.addr, &bytes);
        assert!(
            status.is_none_or(|st| (400..500).contains(&st)),
            "{status:?}"
        );
    }
    // Still serving.
    assert_eq!(me(&c, &s, &cookie).await, StatusCode::OK);
    let res = c
        .get(s.url("/health"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.text().await.unwrap_or_default(), "ok");
    s.stop().await;
}

/// Send `bytes` on a fresh connection; the status code of the answer, if
/// any arrived.
fn raw_status(addr: SocketAddr, bytes: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let _ = stream.write_all(bytes);
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Run the demo's real `main` in a child process (this test binary, with
/// `DEMO_ACTIX_MAIN=1`), so start-up failures are checked on the actual
/// entry point without a separately built example.
#[test]
fn demo_main_child() {
    if std::env::var_os("DEMO_ACTIX_MAIN").is_some() {
        demo_actix::main();
    }
}

#[test]
fn bad_settings_stop_the_server_with_a_message() {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    for (var, value) in [
        ("JWT_SECRET", "short"),
        ("ACCESS_TTL_SECS", "soon"),
        ("INSECURE_COOKIES", "yes"),
    ] {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "demo_main_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DEMO_ACTIX_MAIN", "1")
            .env(var, value)
            .env("PORT", "0")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{var}={value} must stop the server: {stderr}"
        );
        assert!(stderr.contains(&format!("error: {var}")), "{var}: {stderr}");
    }
}

/// H1 (review): a browser over HTTP/2 sends each cookie on its own line;
/// over HTTP/1.1 the same is many `Cookie:` lines. Our cookie behind 1, 8,
/// 9 and 64 other lines, or behind 16 KiB of other cookies, is found.
#[actix_web::test]
async fn h1_session_cookie_found_after_many_cookie_lines() {
    let s = Server::start(&[("INSECURE_COOKIES", "1")]);
    let c = client();
    let (cookie, _) = login(&c, &s, "alice", None).await;
    let request = |lines: &[String]| raw_http::get_with_cookie_lines("/session/me", lines);
    let addr = s.addr;
    for before in [0usize, 1, 8, 9, 64] {
        let mut lines: Vec<String> = (0..before).map(|i| format!("c{i}=v{i}")).collect();
        lines.push(cookie.clone());
        let bytes = request(&lines);
        let status = tokio::task::spawn_blocking(move || raw_status(addr, &bytes))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, Some(200), "after {before} cookie lines");
    }
    let mut lines: Vec<String> = (0..16)
        .map(|i| format!("big{i}={}", "x".repeat(1020)))
        .collect();
    lines.push(cookie.clone());
    let bytes = request(&lines);
    let status = tokio::task::spawn_blocking(move || raw_status(addr, &bytes))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, Some(200), "after 16 KiB of other cookies");
    s.stop().await;
}

/// **(v2)** The account and Administration routes over real HTTP.
#[actix_web::test]
async fn account_routes_over_http() {
    let s = Server::start(&[]);
    accounts_http::account_routes(&s.url("")).await;
}
