//! The shared contract suite (tests/contract/) against the axum demo,
//! in-process through `tower::ServiceExt::oneshot`.
#![cfg(feature = "axum")]

#[path = "attacks/mod.rs"]
mod attacks;
#[path = "contract/mod.rs"]
mod contract;
#[path = "../examples/demo_axum.rs"]
mod demo_axum;
#[cfg(all(feature = "postgres", feature = "sqlite"))]
#[path = "support/postgres_server.rs"]
mod postgres_server;

use axum::body::Body;
use axum::Router;
use contract::{Harness, Resp};
use demo_axum::common::{self, Settings, Stores};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The demo app, called in-process; each request gets a fixed peer address.
struct AxumHarness {
    app: Router,
    /// What the app's store needs kept until the test ends (a SQLite file).
    _keep: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl AxumHarness {
    fn new(app: Router) -> Self {
        AxumHarness { app, _keep: None }
    }
}

impl Harness for AxumHarness {
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Resp {
        let mut req = http::Request::builder().method(method).uri(path);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let mut req = req
            .body(Body::from(body.to_vec()))
            .unwrap_or_else(|e| panic!("the suite built an invalid request {method} {path}: {e}"));
        let peer: std::net::SocketAddr = ([127, 0, 0, 1], 40_000).into();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let res = self
            .app
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = res.status().as_u16();
        let headers = res
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect();
        let body = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_else(|e| panic!("reading the response body of {method} {path}: {e}"));
        Resp {
            status,
            headers,
            body,
        }
    }
}

/// The demo defaults, except a session cap the suite cannot reach (see
/// `contract::SUITE_SETTINGS`).
fn settings() -> Settings {
    Settings::from_vars(&|k| {
        contract::SUITE_SETTINGS
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap_or_else(|e| panic!("settings: {e}"))
}

async fn demo_app() -> Router {
    let auth = common::authenticator(&settings())
        .await
        .unwrap_or_else(|e| panic!("authenticator: {e}"));
    demo_axum::app(common::Demo::new(auth, &settings()))
}

/// One test per contract row: `contract_row::<row>`.
mod contract_row {
    use super::*;
    contract::rows!(
        #[tokio::test]
        AxumHarness::new(demo_app().await)
    );
}

/// The demo on a SQL store with a table prefix of its own (rows run in
/// parallel and log the same users in).
#[cfg(all(feature = "postgres", feature = "sqlite"))]
fn sql_app(url: &str, prefix: &str) -> Router {
    let s = settings();
    // 125 rows run at once on 2 cores, each migrating a fresh schema on its
    // first request: the rows test the contract, not the 1 s default
    // timeout (under that load a first login could take longer and 503).
    let builder = portcullis::sql::SqlStore::builder()
        .table_prefix(prefix)
        .timeout(std::time::Duration::from_secs(5));
    let stores = common::sql_stores_with(builder, url, &s).unwrap_or_else(|e| panic!("{e}"));
    let auth = common::authenticator_with(&s, stores).unwrap_or_else(|e| panic!("{e}"));
    demo_axum::app(common::Demo::new(auth, &s))
}

#[cfg(all(feature = "postgres", feature = "sqlite"))]
fn unique() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("OS RNG: {e}"));
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The whole contract with `DATABASE_URL=sqlite://...`: one file per row,
/// removed when the row ends.
#[cfg(all(feature = "postgres", feature = "sqlite"))]
fn sqlite_harness() -> AxumHarness {
    struct File(std::path::PathBuf);
    impl Drop for File {
        fn drop(&mut self) {
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
            }
        }
    }
    let file = File(std::env::temp_dir().join(format!("portcullis-row-{}.db", unique())));
    let app = sql_app(&format!("sqlite://{}", file.0.display()), "portcullis_");
    AxumHarness {
        app,
        _keep: Some(Box::new(file)),
    }
}

/// The whole contract with `DATABASE_URL=postgres://...`: one cluster for
/// this binary, one table prefix per row.
#[cfg(all(feature = "postgres", feature = "sqlite"))]
fn postgres_harness() -> AxumHarness {
    let url = postgres_server::PgServer::shared().url();
    AxumHarness::new(sql_app(&url, &format!("r{}_", unique())))
}

/// `contract_row_sqlite::<row>`: every row on SQLite.
#[cfg(all(feature = "postgres", feature = "sqlite"))]
mod contract_row_sqlite {
    use super::*;
    contract::rows!(
        #[tokio::test]
        sqlite_harness()
    );
}

/// `contract_row_postgres::<row>`: every row on PostgreSQL.
#[cfg(all(feature = "postgres", feature = "sqlite"))]
mod contract_row_postgres {
    use super::*;
    contract::rows!(
        #[tokio::test]
        postgres_harness()
    );
}

/// One test per attack section: `attack::<section>`.
mod attack {
    use super::*;
    attacks::sections!(
        #[tokio::test]
        AxumHarness::new(demo_axum::app(attack_auth().await))
    );
}

/// The demo with the attack suite's settings.
async fn attack_auth() -> portcullis::Authenticator {
    let settings = Settings::from_vars(&attacks::setting).unwrap_or_else(|e| panic!("{e}"));
    common::authenticator(&settings)
        .await
        .unwrap_or_else(|e| panic!("authenticator: {e}"))
}

#[tokio::test]
async fn contract_store_down() {
    let (sessions, revocations, outage) = contract::failing_stores();
    let auth = common::authenticator_with(
        &settings(),
        Stores {
            sessions,
            revocations,
        },
    )
    .unwrap_or_else(|e| panic!("authenticator: {e}"));
    contract::store_down(&AxumHarness::new(demo_axum::app(auth)), &outage).await;
}

#[tokio::test]
async fn contract_same_failures_are_stable() {
    // Two independent apps answer the fixed failing requests identically
    // (no per-process secret or ID leaks into an error answer). The actix
    // and Rocket suites compare their `same_failures` with this list.
    let a = contract::same_failures(&AxumHarness::new(demo_app().await)).await;
    let b = contract::same_failures(&AxumHarness::new(demo_app().await)).await;
    assert_eq!(a, b);
    if std::env::var_os("SHOW_FAILURES").is_some() {
        for f in &a {
            println!(
                "{:<45} {} {:?} {}",
                f.request,
                f.status,
                f.www_authenticate,
                String::from_utf8_lossy(&f.body)
            );
        }
    }
}

#[tokio::test]
async fn insecure_cookies_setting_drops_secure_and_prefix() {
    let s = Settings::from_vars(&|k| match k {
        "INSECURE_COOKIES" => Some("1".to_owned()),
        _ => contract::SUITE_SETTINGS
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned()),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let auth = common::authenticator(&s)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let h = AxumHarness::new(demo_axum::app(auth));
    let login = contract::login_session(&h, "alice", &[]).await;
    assert!(!login.name.starts_with("__Host-"), "{}", login.set_cookie);
    assert!(
        !login.set_cookie.to_ascii_lowercase().contains("secure"),
        "{}",
        login.set_cookie
    );
    // The whole suite holds with plain-HTTP cookies too.
    contract::session_logout(&h).await;
    contract::csrf_cross_origin(&h).await;
}

#[tokio::test]
async fn missing_auth_layer_is_a_500_not_a_panic() {
    use axum::routing::get;
    use portcullis::Identity;
    use portcullis::SessionHandle;
    async fn me(who: Identity) -> String {
        who.subject().to_owned()
    }
    async fn handle(_s: SessionHandle) -> &'static str {
        "unreachable"
    }
    let app = Router::new()
        .route("/me", get(me))
        .route("/handle", get(handle));
    let h = AxumHarness::new(app);
    for path in ["/me", "/handle"] {
        let r = h.send("GET", path, &[], b"").await;
        assert_eq!(r.status, 500, "{path}");
        assert_eq!(r.text(), r#"{"error":"internal server error"}"#);
    }
}

/// **(v2)** "Audit log": with `AUDIT_LOG`, the demo writes one JSON object
/// per event to a file of mode 0600, with `event`, `at`, `user`, `ip`,
/// `request_id`, and never a password, cookie value, CSRF token or token.
#[tokio::test]
async fn audit_log_lines_without_secrets() {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::temp_dir().join(format!("portcullis-audit-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let path_text = path.to_string_lossy().into_owned();
    let vars = |name: &str| match name {
        "AUDIT_LOG" => Some(path_text.clone()),
        other => attacks::setting(other),
    };
    let settings = Settings::from_vars(&vars).unwrap_or_else(|e| panic!("{e}"));
    let auth = common::authenticator(&settings)
        .await
        .unwrap_or_else(|e| panic!("authenticator: {e}"));
    let h = AxumHarness::new(demo_axum::app(auth));
    let json = ("content-type", b"application/json".as_slice());
    let rid = ("x-request-id", b"audit-1".as_slice());
    let wrong = br#"{"username":"alice","password":"not-alices-password"}"#;
    let r = h.send("POST", "/session/login", &[json, rid], wrong).await;
    assert_eq!(r.status, 401);
    let right = br#"{"username":"alice","password":"alice-password"}"#;
    let r = h.send("POST", "/session/login", &[json, rid], right).await;
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").unwrap_or_default();
    let cookie_value = contract::cookie_pair(&cookie).1;
    let csrf = r.json()["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = h
        .send(
            "GET",
            "/jwt/me",
            &[("authorization", b"Bearer forged.token.here")],
            b"",
        )
        .await;
    assert_eq!(r.status, 401);
    // (v2) Step-up, a revocation by hint, an administrator's role change.
    let pair = contract::cookie_pair(&cookie);
    let c = format!("{}={}", pair.0, pair.1);
    let session = [
        json,
        ("cookie", c.as_bytes()),
        ("x-csrf-token", csrf.as_bytes()),
    ];
    let r = h
        .send(
            "POST",
            "/session/reauth",
            &session,
            br#"{"password":"not-it"}"#,
        )
        .await;
    assert_eq!(r.status, 401);
    let r = h
        .send(
            "POST",
            "/session/reauth",
            &session,
            br#"{"password":"alice-password"}"#,
        )
        .await;
    assert_eq!(r.status, 200);
    let new_cookie = r.header("set-cookie").unwrap_or_default();
    let new_csrf = r.json()["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let pair = contract::cookie_pair(&new_cookie);
    let c2 = format!("{}={}", pair.0, pair.1);
    let session = [
        json,
        ("cookie", c2.as_bytes()),
        ("x-csrf-token", new_csrf.as_bytes()),
    ];
    let other = contract::login_session(&h, "alice", &[]).await;
    let list = h
        .send(
            "GET",
            "/session/list",
            &[("cookie", other.cookie.as_bytes())],
            b"",
        )
        .await;
    let hint = list.json()["sessions"][1]["id_hint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let body = serde_json::to_vec(&serde_json::json!({ "id_hint": hint })).unwrap_or_default();
    let r = h.send("POST", "/session/revoke", &session, &body).await;
    assert_eq!(r.status, 204);
    let admin = contract::login_tokens(&h, "admin").await;
    let bearer = admin.bearer();
    let r = h
        .send(
            "PUT",
            "/admin/users/bob/roles",
            &[json, ("authorization", bearer.as_bytes())],
            br#"{"roles":["user"]}"#,
        )
        .await;
    assert_eq!(r.status, 204);

    // The writer thread appends soon after.
    let mut text = String::new();
    for _ in 0..200 {
        text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.lines().count() >= 9 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mode = std::fs::metadata(&path)
        .expect("audit log")
        .permissions()
        .mode()
        & 0o777;
    let _ = std::fs::remove_file(&path);
    assert_eq!(mode, 0o600, "the audit log is private");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let events: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(
        events,
        [
            "login.failed",
            "login.succeeded",
            "token.refused",
            "reauth.failed",
            "reauth.succeeded",
            "login.succeeded",
            "session.revoked",
            "login.succeeded",
            "roles.changed",
        ],
        "{text}"
    );
    // A session keeps its hint through re-authentication.
    assert_eq!(lines[4]["id_hint"], lines[1]["id_hint"], "{text}");
    assert_eq!(lines[6]["id_hint"], hint.as_str(), "{text}");
    assert_eq!(
        (lines[8]["user"].as_str(), lines[8]["actor"].as_str()),
        (Some("bob"), Some("admin"))
    );
    assert!(lines[1]["actor"].is_null());
    assert_eq!(lines[0]["user"], "alice");
    assert_eq!(lines[0]["ip"], "127.0.0.1");
    assert_eq!(lines[0]["request_id"], "audit-1");
    assert!(lines[1]["id_hint"].is_string());
    for l in &lines {
        let at = l["at"].as_str().unwrap_or_default();
        assert!(
            at.len() == 24 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
            "{at}"
        );
    }
    for secret in [
        "not-alices-password",
        "alice-password",
        cookie_value.as_str(),
        csrf.as_str(),
        "forged.token.here",
        pair.1.as_str(),
        new_csrf.as_str(),
        admin.access.as_str(),
    ] {
        assert!(
            !secret.is_empty() && !text.contains(secret),
            "the audit log holds a secret"
        );
    }
}
