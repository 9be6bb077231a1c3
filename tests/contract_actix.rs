//! The shared contract suite (tests/contract/) against the actix-web demo,
//! in-process through `actix_web::test`; the cross-adapter equality of
//! failure answers; and the actix adapter's own guarantees (the core runs
//! once per request, a rejection is the same bytes from an extractor, a
//! handler and `RequireLayer`, a missing middleware is a 500).
#![cfg(feature = "actix-web")]

#[path = "attacks/mod.rs"]
mod attacks;
#[path = "contract/mod.rs"]
mod contract;
#[path = "../examples/demo_actix.rs"]
mod demo_actix;
/// The axum demo, for the direct comparison (`--features "axum actix-web"`).
/// Both demos include `examples/common/` (each its own copy).
#[cfg(feature = "axum")]
#[allow(clippy::duplicate_mod)]
#[path = "../examples/demo_axum.rs"]
mod demo_axum;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::{test, web, App, HttpResponse};
use contract::{Harness, Resp};
use demo_actix::common::{self, Settings, Stores};
use portcullis::store::{MemoryStore, SessionKey, SessionRecord, SessionStore};
use portcullis::{
    actix::{AuthLayer, RequireLayer},
    Identity, OptionalIdentity, RequireRole, RoleName, SessionHandle, SessionIdentity, TokenHandle,
};
use portcullis::{Authenticator, Rejection, RejectionKind, StoreError};

/// The peer address every in-process request comes from.
const PEER: ([u8; 4], u16) = ([127, 0, 0, 1], 40_000);

/// An actix app (from `test::init_service`) driven in-process; the suite
/// reads `Set-Cookie` and sends `Cookie` itself.
pub struct ActixHarness<S> {
    app: S,
}

impl<S, B> Harness for ActixHarness<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Resp {
        let method = Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|e| panic!("bad method {method}: {e}"));
        let mut req = test::TestRequest::default()
            .method(method)
            .uri(path)
            .peer_addr(SocketAddr::from(PEER));
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| panic!("header name {name}: {e}"));
            let value = HeaderValue::from_bytes(value)
                .unwrap_or_else(|e| panic!("header value of {name}: {e}"));
            req = req.append_header((name, value));
        }
        let req = req.set_payload(body.to_vec()).to_request();
        // An `Err` is what the server would turn into a response: do the same.
        let res = match test::try_call_service(&self.app, req).await {
            Ok(res) => res.map_into_boxed_body(),
            Err(e) => {
                let res = e.error_response();
                ServiceResponse::new(test::TestRequest::default().to_http_request(), res)
            }
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

async fn harness(
    auth: Authenticator,
) -> ActixHarness<
    impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>,
> {
    ActixHarness {
        app: test::init_service(demo_actix::app(common::Demo::new(auth, &settings()))).await,
    }
}

/// One test per contract row: `contract_row::<row>`.
mod contract_row {
    use super::*;
    contract::rows!(
        #[actix_web::test]
        harness(demo_auth().await).await
    );
}

/// One test per attack section: `attack::<section>`.
mod attack {
    use super::*;
    attacks::sections!(
        #[actix_web::test]
        harness(attack_auth().await).await
    );
}

/// The demo with the attack suite's settings.
async fn attack_auth() -> Authenticator {
    let settings = Settings::from_vars(&attacks::setting).unwrap_or_else(|e| panic!("{e}"));
    common::authenticator(&settings)
        .await
        .unwrap_or_else(|e| panic!("authenticator: {e}"))
}

#[actix_web::test]
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
    contract::store_down(&harness(auth).await, &outage).await;
}

#[actix_web::test]
async fn insecure_cookies_setting_drops_secure_and_prefix() {
    let s = Settings {
        insecure_cookies: true,
        ..settings()
    };
    let auth = common::authenticator(&s)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let h = harness(auth).await;
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
/// requests: status, `WWW-Authenticate` and body, byte for byte, derived
/// from the core's `Rejection` (so the actix adapter is held to the core's
/// bytes even when no other demo is built).
fn expected_failures() -> Vec<(&'static str, u16, Option<String>, String)> {
    let s = |k| Rejection::session(k);
    let b = |k| Rejection::bearer(k);
    let core = |r: Rejection| {
        (
            r.status(),
            r.www_authenticate().map(str::to_owned),
            r.body().to_owned(),
        )
    };
    let demo = |status: u16, body: &str| (status, None, body.to_owned());
    let rows = vec![
        (
            "GET /session/me (no cookie)",
            core(s(RejectionKind::MissingCredentials)),
        ),
        (
            "GET /session/me (dead cookie)",
            core(s(RejectionKind::InvalidSession)),
        ),
        (
            "GET /session/admin (alice)",
            core(s(RejectionKind::InsufficientRole)),
        ),
        (
            "POST /session/logout (no CSRF)",
            core(s(RejectionKind::CsrfTokenInvalid)),
        ),
        (
            "POST /session/logout (cross-site)",
            core(s(RejectionKind::CrossSiteRequest)),
        ),
        (
            "POST /session/login (wrong password)",
            core(s(RejectionKind::InvalidCredentials)),
        ),
        (
            "POST /session/login (malformed JSON)",
            demo(400, common::BAD_REQUEST),
        ),
        (
            "POST /session/login (text/plain)",
            demo(415, common::UNSUPPORTED_MEDIA_TYPE),
        ),
        (
            "GET /jwt/me (no token)",
            core(b(RejectionKind::MissingCredentials)),
        ),
        (
            "GET /jwt/me (garbage token)",
            core(b(RejectionKind::InvalidToken)),
        ),
        (
            "GET /jwt/me (two Authorization headers)",
            core(b(RejectionKind::MalformedRequest)),
        ),
        (
            "GET /jwt/admin (alice)",
            core(b(RejectionKind::InsufficientRole)),
        ),
        (
            "POST /jwt/login (wrong password)",
            core(s(RejectionKind::InvalidCredentials)),
        ),
        (
            "POST /jwt/refresh (spent token)",
            core(b(RejectionKind::InvalidToken)),
        ),
        (
            "POST /jwt/logout (no token)",
            core(b(RejectionKind::MissingCredentials)),
        ),
        ("GET /no/such/route", demo(404, common::NOT_FOUND)),
        (
            "POST /session/revoke (unknown hint)",
            core(s(RejectionKind::NotFound)),
        ),
        (
            "POST /session/revoke (no CSRF)",
            core(s(RejectionKind::CsrfTokenInvalid)),
        ),
        (
            "POST /session/logout-others (no session)",
            core(s(RejectionKind::MissingCredentials)),
        ),
        (
            "GET /session/data (no session)",
            core(s(RejectionKind::MissingCredentials)),
        ),
        (
            "PATCH /session/data (not an object)",
            demo(400, common::BAD_REQUEST),
        ),
        (
            "PATCH /session/data (too large)",
            core(s(RejectionKind::PayloadTooLarge)),
        ),
        (
            "GET /session/sensitive (no session)",
            core(s(RejectionKind::MissingCredentials)),
        ),
        (
            "POST /session/reauth (wrong password)",
            core(s(RejectionKind::InvalidCredentials)),
        ),
        (
            "POST /session/reauth (cross-site)",
            core(s(RejectionKind::CrossSiteRequest)),
        ),
        (
            "GET /jwt/sessions (no token)",
            core(b(RejectionKind::MissingCredentials)),
        ),
        (
            "POST /jwt/revoke (unknown hint)",
            core(b(RejectionKind::NotFound)),
        ),
        (
            "GET /admin/users/bob/sessions (none)",
            core(b(RejectionKind::MissingCredentials)),
        ),
        (
            "GET /admin/users/bob/sessions (alice)",
            core(b(RejectionKind::InsufficientRole)),
        ),
        (
            "PUT /admin/users/bob/roles (alice's cookie)",
            core(s(RejectionKind::InsufficientRole)),
        ),
    ];
    rows.into_iter()
        .map(|(req, (st, c, body))| (req, st, c, body))
        .collect()
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

#[actix_web::test]
async fn same_failures_match_the_core() {
    let actix = failure_table(&contract::same_failures(&harness(demo_auth().await).await).await);
    assert_eq!(actix, expected_failures());
}

#[actix_web::test]
async fn store_down_answers_match_the_core() {
    let (sessions, revocations, outage) = contract::failing_stores();
    let auth = common::authenticator_with(
        &settings(),
        Stores {
            sessions,
            revocations,
        },
    )
    .unwrap_or_else(|e| panic!("authenticator: {e}"));
    let h = harness(auth).await;
    let alice = contract::login_session(&h, "alice", &[]).await;
    let t = contract::login_tokens(&h, "alice").await;
    outage.down();
    let session_down = Rejection::session(RejectionKind::StoreUnavailable);
    let bearer_down = Rejection::bearer(RejectionKind::StoreUnavailable);
    let r = contract::get(&h, "/session/me", &[("cookie", alice.cookie.as_bytes())]).await;
    assert_eq!(
        (r.status, r.header("www-authenticate"), r.text()),
        (
            503,
            session_down.www_authenticate().map(str::to_owned),
            session_down.body().to_owned()
        )
    );
    let r = contract::get(&h, "/jwt/me", &[("authorization", t.bearer().as_bytes())]).await;
    assert_eq!(
        (r.status, r.header("www-authenticate"), r.text()),
        (
            503,
            bearer_down.www_authenticate().map(str::to_owned),
            bearer_down.body().to_owned()
        )
    );
    outage.up();
}

/// The axum demo, in-process, for the direct comparison (built only with
/// `--features "axum actix-web"`).
#[cfg(feature = "axum")]
mod axum_side {
    use super::demo_axum;
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

    pub async fn harness(auth: portcullis::Authenticator) -> AxumHarness {
        AxumHarness(demo_axum::app(auth))
    }
}

/// The same failing requests (no token, bad token, missing role, missing
/// CSRF, cross-site, bad bodies, unknown route) give the same status,
/// challenge and body from axum and actix.
#[cfg(feature = "axum")]
#[actix_web::test]
async fn same_failures_as_axum() {
    let actix = contract::same_failures(&harness(demo_auth().await).await).await;
    let axum = contract::same_failures(&axum_side::harness(demo_auth().await).await).await;
    assert_eq!(failure_table(&actix), failure_table(&axum));
}

/// And with the store down.
#[cfg(feature = "axum")]
#[actix_web::test]
async fn store_down_answers_as_axum() {
    async fn answers<H: Harness>(
        h: &H,
        outage: &contract::Outage,
    ) -> Vec<(u16, Option<String>, String)> {
        let alice = contract::login_session(h, "alice", &[]).await;
        let t = contract::login_tokens(h, "alice").await;
        let bearer = t.bearer();
        outage.down();
        let mut out = Vec::new();
        for (path, headers) in [
            ("/session/me", vec![("cookie", alice.cookie.as_bytes())]),
            ("/jwt/me", vec![("authorization", bearer.as_bytes())]),
        ] {
            let r = contract::get(h, path, &headers).await;
            out.push((r.status, r.header("www-authenticate"), r.text()));
        }
        outage.up();
        out
    }
    let (sessions, revocations, outage) = contract::failing_stores();
    let auth = common::authenticator_with(
        &settings(),
        Stores {
            sessions,
            revocations,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let actix = answers(&harness(auth).await, &outage).await;
    let (sessions, revocations, outage) = contract::failing_stores();
    let auth = common::authenticator_with(
        &settings(),
        Stores {
            sessions,
            revocations,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let axum = answers(&axum_side::harness(auth).await, &outage).await;
    assert_eq!(actix, axum);
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

struct UserRole;
impl RoleName for UserRole {
    const NAME: &'static str = "user";
}

async fn login(session: SessionHandle) -> Result<HttpResponse, Rejection> {
    Ok(HttpResponse::Ok().body(
        session
            .login("alice", vec!["user".into()])
            .await?
            .csrf_token,
    ))
}

async fn many(
    a: Identity,
    b: SessionIdentity,
    c: RequireRole<UserRole>,
    d: OptionalIdentity,
    e: SessionHandle,
    f: TokenHandle,
) -> HttpResponse {
    assert!(e.identity().is_some() && f.outcome().state.identity().is_some());
    let d = d
        .into_inner()
        .map(|id| id.subject().to_owned())
        .unwrap_or_default();
    HttpResponse::Ok().body([a.subject(), b.subject(), c.subject(), &d].join(","))
}

/// A handler that maps the state itself: the same rejection, the same bytes.
async fn by_hand(session: SessionHandle) -> Result<HttpResponse, Rejection> {
    let who = session
        .outcome()
        .state
        .require(&portcullis::Requirement::Authenticated)?;
    Ok(HttpResponse::Ok().body(who.subject().to_owned()))
}

async fn ok() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

fn test_app(
    auth: Authenticator,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(AuthLayer::new(auth))
        .route("/login", web::post().to(login))
        .route("/many", web::get().to(many))
        .route("/by-hand", web::get().to(by_hand))
        .service(
            web::scope("/guarded")
                .wrap(RequireLayer::authenticated())
                .route("/ok", web::get().to(ok)),
        )
        .service(
            web::resource("/admin")
                .wrap(RequireLayer::any_role(["admin"]).bearer())
                .route(web::get().to(ok)),
        )
        .route(
            "/fails",
            web::get()
                .to(|| async { Err::<HttpResponse, _>(actix_web::error::ErrorImATeapot("boom")) }),
        )
}

async fn cookie_of(h: &impl Harness) -> String {
    let r = h.send("POST", "/login", &[], b"").await;
    assert_eq!(r.status, 200);
    let (name, value) = contract::cookie_pair(&r.header("set-cookie").unwrap_or_default());
    format!("{name}={value}")
}

fn plain_auth(store: Option<Arc<dyn SessionStore>>) -> Authenticator {
    let mut b = Authenticator::builder();
    if let Some(store) = store {
        b = b.store(store);
    }
    b.build().unwrap_or_else(|e| panic!("{e}"))
}

#[actix_web::test]
async fn the_core_runs_once_per_request_whatever_the_number_of_extractors() {
    let loads = Arc::new(AtomicUsize::new(0));
    let store = Arc::new(CountingStore {
        inner: MemoryStore::new(),
        loads: loads.clone(),
    });
    let h = ActixHarness {
        app: test::init_service(test_app(plain_auth(Some(store)))).await,
    };
    let cookie = cookie_of(&h).await;
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
        "one store load for six extractors"
    );
}

#[actix_web::test]
async fn a_rejection_is_the_same_bytes_from_extractor_handler_and_guard() {
    let h = ActixHarness {
        app: test::init_service(test_app(plain_auth(None))).await,
    };
    let expected = Rejection::session(RejectionKind::MissingCredentials);
    let from_extractor = h.send("GET", "/many", &[], b"").await;
    assert_eq!(from_extractor.status, expected.status());
    assert_eq!(from_extractor.text(), expected.body());
    assert_eq!(
        from_extractor.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        from_extractor.headers_all("cache-control"),
        vec!["no-store".to_owned()]
    );
    assert_eq!(from_extractor.header("www-authenticate"), None);
    for path in ["/by-hand", "/guarded/ok"] {
        let r = h.send("GET", path, &[], b"").await;
        assert_eq!(
            (r.status, &r.headers, &r.body),
            (
                from_extractor.status,
                &from_extractor.headers,
                &from_extractor.body
            ),
            "{path}"
        );
    }
    // A bearer-only guard challenges in its scheme.
    let r = h.send("GET", "/admin", &[], b"").await;
    let bearer = Rejection::bearer(RejectionKind::MissingCredentials);
    assert_eq!(
        (r.status, r.header("www-authenticate").as_deref()),
        (401, bearer.www_authenticate())
    );
    // Two Authorization headers: 400 with the invalid_request challenge
    // (in token mode; without it `Authorization` is not ours and is ignored,
    // review finding L11).
    let tokens = portcullis::jwt::TokenConfig::new(
        portcullis::jwt::KeyRegistry::hs256("k1", &[7u8; 32]).unwrap_or_else(|e| panic!("{e}")),
    );
    let with_tokens = ActixHarness {
        app: test::init_service(test_app(
            Authenticator::builder()
                .tokens(tokens)
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        ))
        .await,
    };
    let r = with_tokens
        .send(
            "GET",
            "/many",
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
    // Authenticated: the guard lets the request through.
    let cookie = cookie_of(&h).await;
    let r = h
        .send("GET", "/guarded/ok", &[("cookie", cookie.as_bytes())], b"")
        .await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    // The session cookie does not open the bearer-only resource.
    let r = h
        .send("GET", "/admin", &[("cookie", cookie.as_bytes())], b"")
        .await;
    assert_eq!(
        (r.status, r.header("www-authenticate").as_deref()),
        (401, Some("Bearer"))
    );
}

#[actix_web::test]
async fn the_removal_cookie_of_a_dead_cookie_reaches_guard_and_error_responses() {
    let h = ActixHarness {
        app: test::init_service(test_app(plain_auth(None))).await,
    };
    let dead = format!("__Host-id={}", "C".repeat(43));
    for (path, status) in [("/guarded/ok", 401), ("/many", 401), ("/fails", 418)] {
        let r = h
            .send("GET", path, &[("cookie", dead.as_bytes())], b"")
            .await;
        assert_eq!(r.status, status, "{path}");
        let removal = r.header("set-cookie").unwrap_or_default();
        assert!(contract::is_removal(&removal), "{path}: {removal}");
        assert_eq!(
            r.headers_all("cache-control"),
            vec!["no-store".to_owned()],
            "{path}: one Cache-Control"
        );
    }
}

#[actix_web::test]
async fn a_junk_cookie_pair_does_not_hide_the_session_cookie() {
    // actix-web's own `cookies()` drops the whole header on one bad pair.
    let h = ActixHarness {
        app: test::init_service(test_app(plain_auth(None))).await,
    };
    let cookie = cookie_of(&h).await;
    for junk in ["=; ", "a=\"unterminated; ", "b\u{e9}d name=1; ", ";;; "] {
        let header = format!("{junk}{cookie}; also=junk=more");
        let r = h
            .send("GET", "/many", &[("cookie", header.as_bytes())], b"")
            .await;
        assert_eq!(r.status, 200, "{junk:?}");
    }
}

#[actix_web::test]
async fn without_the_middleware_extractors_and_guards_refuse_with_500() {
    let app = App::new()
        .route("/many", web::get().to(many))
        .route(
            "/handle",
            web::get().to(|_s: SessionHandle| async { HttpResponse::Ok().finish() }),
        )
        .route(
            "/tokens",
            web::get().to(|_t: TokenHandle| async { HttpResponse::Ok().finish() }),
        )
        .service(
            web::scope("/guarded")
                .wrap(RequireLayer::authenticated())
                .route("/ok", web::get().to(ok)),
        );
    let h = ActixHarness {
        app: test::init_service(app).await,
    };
    for path in ["/many", "/handle", "/tokens", "/guarded/ok"] {
        let r = h.send("GET", path, &[], b"").await;
        assert_eq!(r.status, 500, "{path}");
        assert_eq!(r.text(), r#"{"error":"internal server error"}"#, "{path}");
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/json"),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn the_demo_answers_json_for_unknown_routes_and_methods() {
    let h = harness(demo_auth().await).await;
    let r = h.send("GET", "/nope", &[], b"").await;
    assert_eq!((r.status, r.text().as_str()), (404, common::NOT_FOUND));
    let r = h.send("DELETE", "/session/me", &[], b"").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (405, common::METHOD_NOT_ALLOWED)
    );
    let r = h.send("GET", "/health", &[], b"").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    // A body over the limit, announced or not.
    let big = vec![b'{'; common::MAX_BODY + 1];
    let r = h
        .send(
            "POST",
            "/jwt/login",
            &[("content-type", b"application/json")],
            &big,
        )
        .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (413, common::PAYLOAD_TOO_LARGE)
    );
}

#[actix_web::test]
async fn the_origin_check_knows_the_connection_scheme() {
    // Over plain HTTP an `https://` Origin is another origin. A client's own
    // `X-Forwarded-Proto: https` changes nothing (review: actix-web's
    // `ConnectionInfo` believed it); behind a configured trusted proxy
    // (`TRUSTED_PROXIES`) the header is believed and the origin matches.
    let h = harness(demo_auth().await).await;
    let s = contract::login_session(&h, "alice", &[]).await;
    let https_origin = format!("https://{}", contract::HOST);
    let common_headers = |extra: &[(&'static str, &'static [u8])]| {
        let mut v: Vec<(&str, Vec<u8>)> = vec![
            ("cookie", s.cookie.clone().into_bytes()),
            ("x-csrf-token", s.csrf.clone().into_bytes()),
            ("host", contract::HOST.as_bytes().to_vec()),
            ("origin", https_origin.clone().into_bytes()),
        ];
        v.extend(extra.iter().map(|(n, b)| (*n, b.to_vec())));
        v
    };
    let plain = common_headers(&[]);
    let plain: Vec<(&str, &[u8])> = plain.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    let r = h.send("POST", "/session/logout", &plain, b"").await;
    assert_eq!(
        (r.status, r.text()),
        (
            403,
            Rejection::session(RejectionKind::CrossSiteRequest)
                .body()
                .to_owned()
        )
    );
    assert_eq!(contract::session_status(&h, &s).await, 200);
    let proxied = common_headers(&[("x-forwarded-proto", b"https")]);
    let proxied: Vec<(&str, &[u8])> = proxied.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    let r = h.send("POST", "/session/logout", &proxied, b"").await;
    assert_eq!(
        r.status, 403,
        "X-Forwarded-Proto from a peer that is no proxy"
    );
    assert_eq!(contract::session_status(&h, &s).await, 200);

    let mut vars: Vec<(&str, &str)> = contract::SUITE_SETTINGS.to_vec();
    vars.push(("TRUSTED_PROXIES", "127.0.0.1"));
    let settings = Settings::from_vars(&|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap_or_else(|e| panic!("settings: {e}"));
    let behind_proxy = harness(
        common::authenticator(&settings)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    let s = contract::login_session(&behind_proxy, "alice", &[]).await;
    let proxied = {
        let mut v = common_headers(&[("x-forwarded-proto", b"https")]);
        v[0].1 = s.cookie.clone().into_bytes();
        v[1].1 = s.csrf.clone().into_bytes();
        v
    };
    let proxied: Vec<(&str, &[u8])> = proxied.iter().map(|(n, v)| (*n, v.as_slice())).collect();
    let r = behind_proxy
        .send("POST", "/session/logout", &proxied, b"")
        .await;
    assert_eq!(r.status, 204, "X-Forwarded-Proto from a trusted proxy");
    assert_eq!(contract::session_status(&behind_proxy, &s).await, 401);
}
