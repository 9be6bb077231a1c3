//! The shared contract suite (tests/contract/) against the Rocket demo,
//! in-process through `rocket::local::asynchronous::Client`; the
//! cross-adapter equality of failure answers; and the Rocket adapter's own
//! guarantees (the core runs once per request, catchers render the stashed
//! rejection, a missing fairing is a 500).
#![cfg(feature = "rocket")]
// Each demo includes `examples/common/` itself (it is a standalone example);
// comparing demos here loads that module once per demo.
#![allow(clippy::duplicate_mod)]

#[path = "attacks/mod.rs"]
mod attacks;
#[path = "contract/mod.rs"]
mod contract;
#[cfg(feature = "actix-web")]
#[path = "../examples/demo_actix.rs"]
mod demo_actix;
#[cfg(feature = "axum")]
#[path = "../examples/demo_axum.rs"]
mod demo_axum;
#[path = "../examples/demo_rocket.rs"]
mod demo_rocket;

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use contract::{Harness, Resp};
use demo_rocket::common::{self, Settings, Stores};
use portcullis::store::{MemoryStore, SessionKey, SessionRecord, SessionStore};
use portcullis::{
    rocket::AuthLayer, OptionalIdentity, RequireRole, RoleName, SessionHandle, SessionIdentity,
    TokenHandle,
};
use portcullis::{AuthOutcome, Authenticator, Identity, Rejection, StoreError};
use rocket::http::{Header, Method};
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket};

/// The peer address every in-process request comes from.
const PEER: ([u8; 4], u16) = ([127, 0, 0, 1], 40_000);

/// A Rocket app driven in-process by Rocket's local (untracked) client:
/// the suite reads `Set-Cookie` and sends `Cookie` itself.
pub struct RocketHarness {
    client: Client,
}

impl RocketHarness {
    pub async fn new(rocket: Rocket<Build>) -> Self {
        let client = Client::untracked(rocket)
            .await
            .unwrap_or_else(|e| panic!("rocket failed to ignite: {e}"));
        RocketHarness { client }
    }
}

impl Harness for RocketHarness {
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Resp {
        let method = Method::from_str(method)
            .unwrap_or_else(|()| panic!("the suite sent an unknown method {method}"));
        let mut req = self
            .client
            .req(method, path.to_owned())
            .remote(SocketAddr::from(PEER));
        for (name, value) in headers {
            // Rocket's server drops header values that are not UTF-8 before
            // routing (and its local client cannot carry them): mirror that.
            if let Ok(value) = std::str::from_utf8(value) {
                req.add_header(Header::new((*name).to_owned(), value.to_owned()));
            }
        }
        req.set_body(body);
        let res = req.dispatch().await;
        let status = res.status().code;
        let headers = res
            .headers()
            .iter()
            .map(|h| {
                (
                    h.name().as_str().to_ascii_lowercase(),
                    h.value().as_bytes().to_vec(),
                )
            })
            .collect();
        let body = res.into_bytes().await.unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    // Rocket 0.5 drops non-UTF-8 header values before any guard runs.
    fn drops_non_utf8_header_lines(&self) -> bool {
        true
    }
}

/// The demo defaults, except the suite's settings (`contract::SUITE_SETTINGS`).
fn settings() -> Settings {
    Settings::from_vars(&|k| {
        contract::SUITE_SETTINGS
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap_or_else(|e| panic!("settings: {e}"))
}

async fn demo_auth() -> Authenticator {
    common::authenticator(&settings())
        .await
        .unwrap_or_else(|e| panic!("authenticator: {e}"))
}

async fn demo() -> RocketHarness {
    let demo = common::Demo::new(demo_auth().await, &settings());
    RocketHarness::new(demo_rocket::rocket(demo, 0)).await
}

/// One test per contract row: `contract_row::<row>`.
mod contract_row {
    use super::*;
    contract::rows!(
        #[rocket::async_test]
        demo().await
    );
}

/// One test per attack section: `attack::<section>`.
mod attack {
    use super::*;
    attacks::sections!(
        #[rocket::async_test]
        RocketHarness::new(demo_rocket::rocket(attack_auth().await, 0)).await
    );
}

/// The demo with the attack suite's settings.
async fn attack_auth() -> Authenticator {
    let settings = Settings::from_vars(&attacks::setting).unwrap_or_else(|e| panic!("{e}"));
    common::authenticator(&settings)
        .await
        .unwrap_or_else(|e| panic!("authenticator: {e}"))
}

#[rocket::async_test]
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
    contract::store_down(
        &RocketHarness::new(demo_rocket::rocket(auth, 0)).await,
        &outage,
    )
    .await;
}

#[rocket::async_test]
async fn insecure_cookies_setting_drops_secure_and_prefix() {
    let s = Settings {
        insecure_cookies: true,
        ..settings()
    };
    let auth = common::authenticator(&s)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let h = RocketHarness::new(demo_rocket::rocket(auth, 0)).await;
    let login = contract::login_session(&h, "alice", &[]).await;
    assert!(!login.name.starts_with("__Host-"), "{}", login.set_cookie);
    assert!(
        !login.set_cookie.to_ascii_lowercase().contains("secure"),
        "{}",
        login.set_cookie
    );
    contract::session_logout(&h).await;
    contract::csrf_cross_origin(&h).await;
}

// --------------------------- cross-adapter equality -------------------------

/// The answers every adapter must give to the suite's fixed failing
/// requests (no token, bad token, missing role, missing CSRF, ...): status,
/// `WWW-Authenticate` and body, byte for byte. Written out here so the
/// Rocket adapter is held to the core's bytes even when no other demo is
/// built.
fn expected_failures() -> Vec<(&'static str, u16, Option<&'static str>, &'static str)> {
    let bearer_invalid = Some(r#"Bearer error="invalid_token""#);
    vec![
        (
            "GET /session/me (no cookie)",
            401,
            None,
            r#"{"error":"authentication required"}"#,
        ),
        (
            "GET /session/me (dead cookie)",
            401,
            None,
            r#"{"error":"invalid or expired session"}"#,
        ),
        (
            "GET /session/admin (alice)",
            403,
            None,
            r#"{"error":"insufficient role"}"#,
        ),
        (
            "POST /session/logout (no CSRF)",
            403,
            None,
            r#"{"error":"invalid CSRF token"}"#,
        ),
        (
            "POST /session/logout (cross-site)",
            403,
            None,
            r#"{"error":"cross-site request refused"}"#,
        ),
        (
            "POST /session/login (wrong password)",
            401,
            None,
            r#"{"error":"invalid credentials"}"#,
        ),
        (
            "POST /session/login (malformed JSON)",
            400,
            None,
            common::BAD_REQUEST,
        ),
        (
            "POST /session/login (text/plain)",
            415,
            None,
            common::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "GET /jwt/me (no token)",
            401,
            Some("Bearer"),
            r#"{"error":"authentication required"}"#,
        ),
        (
            "GET /jwt/me (garbage token)",
            401,
            bearer_invalid,
            r#"{"error":"invalid token"}"#,
        ),
        (
            "GET /jwt/me (two Authorization headers)",
            400,
            Some(r#"Bearer error="invalid_request""#),
            r#"{"error":"malformed request"}"#,
        ),
        (
            "GET /jwt/admin (alice)",
            403,
            Some(r#"Bearer error="insufficient_scope""#),
            r#"{"error":"insufficient role"}"#,
        ),
        (
            "POST /jwt/login (wrong password)",
            401,
            None,
            r#"{"error":"invalid credentials"}"#,
        ),
        (
            "POST /jwt/refresh (spent token)",
            401,
            bearer_invalid,
            r#"{"error":"invalid token"}"#,
        ),
        (
            "POST /jwt/logout (no token)",
            401,
            Some("Bearer"),
            r#"{"error":"authentication required"}"#,
        ),
        ("GET /no/such/route", 404, None, common::NOT_FOUND),
        (
            "POST /session/revoke (unknown hint)",
            404,
            None,
            r#"{"error":"not found"}"#,
        ),
        (
            "POST /session/revoke (no CSRF)",
            403,
            None,
            r#"{"error":"invalid CSRF token"}"#,
        ),
        (
            "POST /session/logout-others (no session)",
            401,
            None,
            r#"{"error":"authentication required"}"#,
        ),
        (
            "GET /session/data (no session)",
            401,
            None,
            r#"{"error":"authentication required"}"#,
        ),
        (
            "PATCH /session/data (not an object)",
            400,
            None,
            common::BAD_REQUEST,
        ),
        (
            "PATCH /session/data (too large)",
            413,
            None,
            r#"{"error":"payload too large"}"#,
        ),
        (
            "GET /session/sensitive (no session)",
            401,
            None,
            r#"{"error":"authentication required"}"#,
        ),
        (
            "POST /session/reauth (wrong password)",
            401,
            None,
            r#"{"error":"invalid credentials"}"#,
        ),
        (
            "POST /session/reauth (cross-site)",
            403,
            None,
            r#"{"error":"cross-site request refused"}"#,
        ),
        (
            "GET /jwt/sessions (no token)",
            401,
            Some("Bearer"),
            r#"{"error":"authentication required"}"#,
        ),
        (
            "POST /jwt/revoke (unknown hint)",
            404,
            None,
            r#"{"error":"not found"}"#,
        ),
        (
            "GET /admin/users/bob/sessions (none)",
            401,
            Some("Bearer"),
            r#"{"error":"authentication required"}"#,
        ),
        (
            "GET /admin/users/bob/sessions (alice)",
            403,
            Some(r#"Bearer error="insufficient_scope""#),
            r#"{"error":"insufficient role"}"#,
        ),
        (
            "PUT /admin/users/bob/roles (alice's cookie)",
            403,
            None,
            r#"{"error":"insufficient role"}"#,
        ),
    ]
}

fn failure_table(
    failures: &[contract::Failure],
) -> Vec<(&'static str, u16, Option<String>, String)> {
    failures
        .iter()
        .map(|f| {
            (
                f.request,
                f.status,
                f.www_authenticate.clone(),
                String::from_utf8_lossy(&f.body).into_owned(),
            )
        })
        .collect()
}

#[rocket::async_test]
async fn same_failures_match_the_core() {
    let rocket = failure_table(&contract::same_failures(&demo().await).await);
    let expected: Vec<_> = expected_failures()
        .into_iter()
        .map(|(r, s, c, b)| (r, s, c.map(str::to_owned), b.to_owned()))
        .collect();
    assert_eq!(rocket, expected);
}

#[rocket::async_test]
async fn store_down_answers_match_the_core() {
    // The failure every adapter sends when the store is down: 503, the
    // scheme's (empty) challenge, the core's body.
    let session = Rejection::session(portcullis::RejectionKind::StoreUnavailable);
    let bearer = Rejection::bearer(portcullis::RejectionKind::StoreUnavailable);
    let expected: Vec<(u16, Option<String>, String)> = [session, bearer]
        .iter()
        .map(|r| {
            (
                r.status(),
                r.www_authenticate().map(str::to_owned),
                r.body().to_owned(),
            )
        })
        .collect();
    let got =
        store_down_answers(|auth| async { RocketHarness::new(demo_rocket::rocket(auth, 0)).await })
            .await;
    assert_eq!(got, expected);
}

/// The axum demo, in-process, for the direct comparison (built only with
/// `--features "axum rocket"`).
#[cfg(feature = "axum")]
mod axum_side {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::contract::{Harness, Resp};

    pub struct AxumHarness(pub axum::Router);

    impl Harness for AxumHarness {
        async fn send(
            &self,
            method: &str,
            path: &str,
            headers: &[(&str, &[u8])],
            body: &[u8],
        ) -> Resp {
            let mut req = http::Request::builder().method(method).uri(path);
            for (name, value) in headers {
                req = req.header(*name, *value);
            }
            let mut req = req
                .body(Body::from(body.to_vec()))
                .unwrap_or_else(|e| panic!("invalid request {method} {path}: {e}"));
            let peer: std::net::SocketAddr = super::PEER.into();
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let res = self
                .0
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
                .unwrap_or_default();
            Resp {
                status,
                headers,
                body,
            }
        }
    }

    pub fn harness(auth: portcullis::Authenticator) -> AxumHarness {
        AxumHarness(super::demo_axum::app(auth))
    }
}

/// The actix-web demo, in-process, for the direct comparison (built only
/// with `--features "actix-web rocket"`).
#[cfg(feature = "actix-web")]
mod actix_side {
    use actix_web::body::MessageBody;
    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::http::header::{HeaderName, HeaderValue};
    use actix_web::http::Method;
    use actix_web::test;

    use super::contract::{Harness, Resp};

    pub struct ActixHarness<S>(pub S);

    impl<S, B> Harness for ActixHarness<S>
    where
        S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody + 'static,
    {
        async fn send(
            &self,
            method: &str,
            path: &str,
            headers: &[(&str, &[u8])],
            body: &[u8],
        ) -> Resp {
            let method = Method::from_bytes(method.as_bytes())
                .unwrap_or_else(|e| panic!("bad method {method}: {e}"));
            let mut req = test::TestRequest::default()
                .method(method)
                .uri(path)
                .peer_addr(super::PEER.into());
            for (name, value) in headers {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let value =
                    HeaderValue::from_bytes(value).unwrap_or_else(|e| panic!("{name}: {e}"));
                req = req.append_header((name, value));
            }
            let req = req.set_payload(body.to_vec()).to_request();
            let res = match test::try_call_service(&self.0, req).await {
                Ok(res) => res.map_into_boxed_body(),
                Err(e) => ServiceResponse::new(
                    test::TestRequest::default().to_http_request(),
                    e.error_response(),
                ),
            };
            let status = res.status().as_u16();
            let headers = res
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect();
            let body = test::try_read_body(res)
                .await
                .unwrap_or_else(|e| panic!("reading the body of {path}: {e}"))
                .to_vec();
            Resp {
                status,
                headers,
                body,
            }
        }
    }
}

/// The same failing requests give the same status, challenge and body from
/// Rocket and axum.
#[cfg(feature = "axum")]
#[rocket::async_test]
async fn same_failures_as_axum() {
    let rocket = contract::same_failures(&demo().await).await;
    let axum = contract::same_failures(&axum_side::harness(demo_auth().await)).await;
    assert_eq!(failure_table(&rocket), failure_table(&axum));
}

/// The same failing requests give the same status, challenge and body from
/// Rocket and actix-web.
#[cfg(feature = "actix-web")]
#[actix_web::test]
async fn same_failures_as_actix() {
    let rocket = contract::same_failures(&demo().await).await;
    let app = actix_web::test::init_service(demo_actix::app(demo_auth().await)).await;
    let actix = contract::same_failures(&actix_side::ActixHarness(app)).await;
    assert_eq!(failure_table(&rocket), failure_table(&actix));
}

/// And with the store down, against axum when it is built.
#[rocket::async_test]
async fn store_down_answers_match_the_other_adapters() {
    #[allow(unused_mut)]
    let mut answers = vec![(
        "rocket",
        store_down_answers(|auth| async { RocketHarness::new(demo_rocket::rocket(auth, 0)).await })
            .await,
    )];
    #[cfg(feature = "axum")]
    answers.push((
        "axum",
        store_down_answers(|auth| async { axum_side::harness(auth) }).await,
    ));
    for (name, got) in &answers[1..] {
        assert_eq!(got, &answers[0].1, "{name} vs rocket");
    }
}

/// And with the store down, against actix-web.
#[cfg(feature = "actix-web")]
#[actix_web::test]
async fn store_down_answers_as_actix() {
    let rocket =
        store_down_answers(|auth| async { RocketHarness::new(demo_rocket::rocket(auth, 0)).await })
            .await;
    let actix = store_down_answers(|auth| async {
        actix_side::ActixHarness(actix_web::test::init_service(demo_actix::app(auth)).await)
    })
    .await;
    assert_eq!(rocket, actix);
}

/// `(status, WWW-Authenticate, body)` of `/session/me` and `/jwt/me` with
/// valid credentials while the store is down.
async fn store_down_answers<H, F, Fut>(make: F) -> Vec<(u16, Option<String>, String)>
where
    H: Harness,
    F: FnOnce(Authenticator) -> Fut,
    Fut: std::future::Future<Output = H>,
{
    let (sessions, revocations, outage) = contract::failing_stores();
    let auth = common::authenticator_with(
        &settings(),
        Stores {
            sessions,
            revocations,
        },
    )
    .unwrap_or_else(|e| panic!("authenticator: {e}"));
    let h = make(auth).await;
    let alice = contract::login_session(&h, "alice", &[]).await;
    let t = contract::login_tokens(&h, "alice").await;
    let bearer = t.bearer();
    outage.down();
    let mut out = Vec::new();
    for (path, header) in [
        ("/session/me", ("cookie", alice.cookie.as_bytes())),
        ("/jwt/me", ("authorization", bearer.as_bytes())),
    ] {
        let r = contract::get(&h, path, &[header]).await;
        out.push((r.status, r.header("www-authenticate"), r.text()));
    }
    outage.up();
    out
}

// ----------------------------- adapter guarantees ---------------------------

/// Counts store loads (one per authenticated request when the core runs
/// once).
struct CountingStore {
    inner: MemoryStore,
    loads: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl SessionStore for CountingStore {
    async fn create(&self, k: &SessionKey, r: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create(k, r).await
    }
    async fn load(&self, k: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(k).await
    }
    async fn update(&self, k: &SessionKey, r: &SessionRecord) -> Result<u64, StoreError> {
        self.inner.update(k, r).await
    }
    async fn delete(&self, k: &SessionKey) -> Result<bool, StoreError> {
        self.inner.delete(k).await
    }
    async fn delete_user(&self, u: &str) -> Result<usize, StoreError> {
        self.inner.delete_user(u).await
    }
    async fn list_user(&self, u: &str) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        self.inner.list_user(u).await
    }
}

enum User {}
impl RoleName for User {
    const NAME: &'static str = "user";
}

#[rocket::post("/login")]
async fn login(session: SessionHandle) -> Result<String, Rejection> {
    Ok(session
        .login("alice", vec!["user".into()])
        .await?
        .csrf_token)
}

#[rocket::get("/many")]
#[allow(clippy::too_many_arguments)]
fn many(
    a: Identity,
    b: Identity,
    c: SessionIdentity,
    d: RequireRole<User>,
    e: OptionalIdentity,
    f: SessionHandle,
    g: TokenHandle,
    h: &AuthOutcome,
) -> String {
    assert!(f.identity().is_some() && g.identity().is_some() && h.state.identity().is_some());
    assert!(e.is_some());
    [a.subject(), b.subject(), c.subject(), d.subject()].join(",")
}

#[rocket::get("/either")]
fn either(who: Result<Identity, Rejection>) -> Result<String, Rejection> {
    who.map(|id| id.subject().to_owned())
}

/// Rocket's debug configuration without its log output.
fn quiet() -> rocket::Config {
    rocket::Config {
        log_level: rocket::config::LogLevel::Off,
        ..rocket::Config::debug_default()
    }
}

fn test_rocket(auth: Authenticator) -> Rocket<Build> {
    rocket::build()
        .configure(quiet())
        .attach(AuthLayer::new(auth))
        .mount("/", rocket::routes![login, many, either])
        .register("/", portcullis::rocket::catchers())
}

#[rocket::async_test]
async fn the_core_runs_once_per_request_whatever_the_number_of_guards() {
    let loads = Arc::new(AtomicUsize::new(0));
    let store = Arc::new(CountingStore {
        inner: MemoryStore::new(),
        loads: loads.clone(),
    });
    let auth = Authenticator::builder()
        .store(store)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let h = RocketHarness::new(test_rocket(auth)).await;
    let r = h.send("POST", "/login", &[], b"").await;
    assert_eq!(r.status, 200);
    let cookie = contract::cookie_pair(&r.header("set-cookie").unwrap_or_default());
    let cookie = format!("{}={}", cookie.0, cookie.1);
    let before = loads.load(Ordering::SeqCst);
    let r = h
        .send("GET", "/many", &[("cookie", cookie.as_bytes())], b"")
        .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "alice,alice,alice,alice")
    );
    assert_eq!(
        loads.load(Ordering::SeqCst) - before,
        1,
        "one store load for eight guards"
    );
}

#[rocket::async_test]
async fn a_guard_error_is_the_cores_rejection_for_handlers_and_catchers() {
    // Token mode on, so a malformed `Authorization` is ours to refuse
    // (without token mode it is ignored: review finding L11).
    let tokens = portcullis::jwt::TokenConfig::new(
        portcullis::jwt::KeyRegistry::hs256("k1", &[7u8; 32]).unwrap_or_else(|e| panic!("{e}")),
    );
    let h = RocketHarness::new(test_rocket(
        Authenticator::builder()
            .tokens(tokens)
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
    ))
    .await;
    // Through the catcher.
    let r = h.send("GET", "/many", &[], b"").await;
    let expected = Rejection::session(portcullis::RejectionKind::MissingCredentials);
    assert_eq!(r.status, expected.status());
    assert_eq!(r.text(), expected.body());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // Through the handler's `Result<_, Rejection>`: the same bytes.
    let r2 = h.send("GET", "/either", &[], b"").await;
    assert_eq!(
        (r2.status, r2.headers.clone(), r2.body.clone()),
        (r.status, r.headers.clone(), r.body.clone())
    );
    // A malformed Authorization header: 400 with the bearer challenge.
    let r = h
        .send(
            "GET",
            "/either",
            &[
                ("authorization", b"Bearer a"),
                ("authorization", b"Bearer b"),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some(r#"Bearer error="invalid_request""#)
    );
    // An error no guard explains: generic JSON.
    let r = h.send("GET", "/nowhere", &[], b"").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"error":"not found"}"#)
    );
}

#[rocket::async_test]
async fn the_set_cookie_of_a_dead_cookie_reaches_a_catcher_response() {
    let h = RocketHarness::new(test_rocket(
        Authenticator::builder()
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
    ))
    .await;
    let dead = format!("__Host-id={}", "C".repeat(43));
    let r = h
        .send("GET", "/many", &[("cookie", dead.as_bytes())], b"")
        .await;
    assert_eq!(r.status, 401);
    let removal = r.header("set-cookie").unwrap_or_default();
    assert!(contract::is_removal(&removal), "{removal}");
    assert_eq!(
        r.headers_all("cache-control"),
        vec!["no-store".to_owned()],
        "one Cache-Control"
    );
}

#[rocket::async_test]
async fn without_the_fairing_guards_refuse_with_500() {
    let rocket = rocket::build()
        .configure(quiet())
        .mount("/", rocket::routes![login, many, either])
        .register("/", portcullis::rocket::catchers());
    let h = RocketHarness::new(rocket).await;
    for (method, path) in [("GET", "/many"), ("POST", "/login")] {
        let r = h.send(method, path, &[], b"").await;
        assert_eq!(
            (r.status, r.text().as_str()),
            (500, r#"{"error":"internal server error"}"#),
            "{path}"
        );
    }
    // A handler that takes the guard's `Result` still fails closed, with
    // the one missing-middleware rejection every adapter answers (500; it
    // was a 503 store-unavailable rejection before the one-shape issue).
    let r = h.send("GET", "/either", &[], b"").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (500, r#"{"error":"internal server error"}"#)
    );
}

#[rocket::async_test]
async fn a_second_managed_authenticator_stops_ignition() {
    let auth = Authenticator::builder()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let rocket = rocket::build()
        .configure(quiet())
        .manage(auth.clone())
        .attach(AuthLayer::new(auth));
    match Client::untracked(rocket).await {
        Ok(_) => panic!("ignition must fail with two Authenticators"),
        // Reading a Rocket error marks it handled (it panics on drop otherwise).
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// The IP recorded with a session is Rocket's `client_ip`: the first line
/// of `Config::ip_header` (`X-Real-IP` by default) when it parses, else the
/// peer; with `ip_header` off, always the peer.
#[rocket::async_test]
async fn the_recorded_ip_follows_rockets_client_ip_rule() {
    #[rocket::post("/login")]
    async fn login(session: SessionHandle) -> Result<String, Rejection> {
        session.login("ip-user", vec![]).await?;
        Ok(String::new())
    }
    #[rocket::get("/ip")]
    async fn ip(session: SessionHandle) -> Result<String, Rejection> {
        let mine = session.list().await?.into_iter().find(|s| s.current);
        Ok(mine
            .and_then(|s| s.ip)
            .map(|ip| ip.to_string())
            .unwrap_or_default())
    }
    let recorded = |ip_header: Option<&'static str>, lines: Vec<(&'static str, &'static str)>| async move {
        let auth = Authenticator::builder()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let rocket = rocket::build()
            .configure(rocket::Config {
                ip_header: ip_header.map(Into::into),
                ..quiet()
            })
            .attach(AuthLayer::new(auth))
            .mount("/", rocket::routes![login, ip]);
        let client = Client::untracked(rocket)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut req = client.post("/login").remote(SocketAddr::from(PEER));
        for (name, value) in lines {
            req = req.header(Header::new(name, value));
        }
        let res = req.dispatch().await;
        assert_eq!(res.status().code, 200, "login");
        let cookie = res
            .headers()
            .get_one("Set-Cookie")
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("no session cookie"))
            .to_owned();
        client
            .get("/ip")
            .header(Header::new("Cookie", cookie))
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default()
    };
    let real = Some("X-Real-IP");
    assert_eq!(recorded(real, vec![]).await, "127.0.0.1");
    assert_eq!(
        recorded(
            real,
            vec![("X-Real-IP", "203.0.113.9"), ("X-Real-IP", "198.51.100.1")]
        )
        .await,
        "203.0.113.9"
    );
    assert_eq!(
        recorded(real, vec![("x-real-ip", "2001:db8::7")]).await,
        "2001:db8::7"
    );
    assert_eq!(
        recorded(real, vec![("X-Real-IP", "not an ip")]).await,
        "127.0.0.1"
    );
    assert_eq!(
        recorded(
            Some("CF-Connecting-IP"),
            vec![
                ("X-Real-IP", "203.0.113.9"),
                ("CF-Connecting-IP", "192.0.2.4")
            ]
        )
        .await,
        "192.0.2.4"
    );
    assert_eq!(
        recorded(None, vec![("X-Real-IP", "203.0.113.9")]).await,
        "127.0.0.1"
    );
}
