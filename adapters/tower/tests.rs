//! In-process tests of the tower layers around trivial services (no
//! framework, `String` bodies).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response, StatusCode};
use tower::{service_fn, ServiceBuilder, ServiceExt};

use super::response::rejection_response;
use super::{AuthLayer, RequireLayer};
use crate::auth::AuthOutcome;
use crate::jwt::{KeyRegistry, TokenConfig};
use crate::rejection::MISCONFIGURED_BODY as MISSING_LAYER_BODY;
use crate::{Authenticator, Rejection, RejectionKind, Scheme, SessionHandle};

fn authenticator() -> Authenticator {
    Authenticator::builder()
        .tokens(TokenConfig::new(
            KeyRegistry::hs256("k1", &[7u8; 32]).unwrap(),
        ))
        .build()
        .unwrap()
}

/// Log `user` in outside any service; `(cookie pair, csrf token)`.
async fn login(auth: &Authenticator, user: &str, roles: &[&str]) -> (String, String) {
    let anonymous = auth
        .authenticate(&crate::request::RequestView::new("POST"))
        .await;
    let info = SessionHandle::new(anonymous.clone())
        .login(user, roles.iter().map(|r| (*r).to_owned()).collect())
        .await
        .unwrap();
    let set_cookie = anonymous.response.take().set_cookie.unwrap();
    (
        set_cookie.split(';').next().unwrap().to_owned(),
        info.csrf_token,
    )
}

fn outcome_of<B>(req: &Request<B>) -> Arc<AuthOutcome> {
    Arc::clone(req.extensions().get::<Arc<AuthOutcome>>().unwrap())
}

async fn ok_handler(_req: Request<String>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("ok".to_owned()))
}

#[tokio::test]
async fn auth_layer_shares_the_outcome_and_the_authenticator() {
    let auth = authenticator();
    let (cookie, _) = login(&auth, "alice", &["user"]).await;
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(auth))
        .service_fn(|req: Request<String>| async move {
            let outcome = outcome_of(&req);
            assert!(outcome.authenticator().sessions().is_some());
            let who = outcome
                .state
                .identity()
                .map_or("nobody", |i| i.subject())
                .to_owned();
            Ok::<_, Infallible>(Response::new(who))
        });
    let req = Request::get("/")
        .header("cookie", &cookie)
        .body(String::new())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.body(), "alice");
    assert!(res.headers().get("set-cookie").is_none());
    // Contract v2 "Always": a request that carried a session cookie is
    // never cached, and the answer varies with the cookie (v1 sent
    // neither here).
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["vary"], "Cookie");
    let res = svc.oneshot(Request::new(String::new())).await.unwrap();
    assert_eq!(res.body(), "nobody");
    assert!(res.headers().get("cache-control").is_none());
    assert_eq!(res.headers()["vary"], "Cookie");
}

#[tokio::test]
async fn login_in_the_handler_appends_the_cookie_and_no_store() {
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(authenticator()))
        .service_fn(|req: Request<String>| async move {
            let outcome = outcome_of(&req);
            outcome
                .authenticator()
                .login(&outcome, "alice", vec![], None)
                .await
                .unwrap();
            let res = Response::builder()
                .header("set-cookie", "theme=dark")
                .header("cache-control", "public, max-age=600")
                .body(String::new())
                .unwrap();
            Ok::<_, Infallible>(res)
        });
    let res = svc
        .oneshot(Request::post("/login").body(String::new()).unwrap())
        .await
        .unwrap();
    let cookies: Vec<_> = res.headers().get_all("set-cookie").iter().collect();
    assert_eq!(
        cookies.len(),
        2,
        "the handler's cookie is kept: {cookies:?}"
    );
    assert_eq!(cookies[0], "theme=dark");
    assert!(cookies[1].to_str().unwrap().starts_with("__Host-id="));
    // no-store replaces any caching the handler asked for.
    assert_eq!(res.headers().get_all("cache-control").iter().count(), 1);
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn a_dead_cookie_is_cleared_on_any_response() {
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(authenticator()))
        .service_fn(ok_handler);
    let dead = format!("__Host-id={}", "A".repeat(43));
    let req = Request::get("/")
        .header("cookie", dead)
        .body(String::new())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn require_layer_answers_from_the_core_rejection() {
    let auth = authenticator();
    let (alice, _) = login(&auth, "alice", &["user"]).await;
    let (admin, _) = login(&auth, "root", &["user", "admin"]).await;
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(auth))
        .layer(RequireLayer::any_role(["admin"]))
        .service_fn(ok_handler);

    let res = svc
        .clone()
        .oneshot(Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.body(), r#"{"error":"authentication required"}"#);
    assert_eq!(
        res.extensions().get::<Rejection>(),
        Some(&Rejection::session(RejectionKind::MissingCredentials))
    );

    let req = Request::get("/")
        .header("cookie", &alice)
        .body(String::new())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.body(), r#"{"error":"insufficient role"}"#);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::InsufficientRole
    );

    let req = Request::get("/")
        .header("cookie", &admin)
        .body(String::new())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.extensions().get::<Rejection>().is_none());

    // CSRF failure on an unsafe method: 403 whatever the role.
    let req = Request::post("/")
        .header("cookie", &admin)
        .body(String::new())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::CsrfTokenInvalid
    );
}

#[tokio::test]
async fn scheme_specific_require_ignores_other_credentials() {
    let auth = authenticator();
    let (admin_cookie, _) = login(&auth, "root", &["admin"]).await;
    let pair = auth
        .tokens()
        .unwrap()
        .issue("alice", &["user".into()])
        .await
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(auth))
        .layer(RequireLayer::any_role(["admin"]).scheme(Scheme::Bearer))
        .service_fn(ok_handler);

    let req = Request::get("/")
        .header("cookie", &admin_cookie)
        .body(String::new())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");

    let bearer = format!("Bearer {}", pair.access_token);
    let req = Request::get("/")
        .header("authorization", &bearer)
        .body(String::new())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="insufficient_scope""#
    );

    let req = Request::get("/")
        .header("authorization", "Bearer a.b.c")
        .body(String::new())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
}

#[tokio::test]
async fn require_without_auth_layer_is_a_logged_500() {
    let svc = ServiceBuilder::new()
        .layer(RequireLayer::authenticated())
        .service_fn(ok_handler);
    let res = svc.oneshot(Request::new(String::new())).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.body(), MISSING_LAYER_BODY);
}

#[tokio::test]
async fn the_rejection_response_is_replaceable() {
    let custom = |r: &Rejection, req: &http::request::Parts| {
        let mut res = Response::new(format!("{} on {}", r.status(), req.uri.path()));
        *res.status_mut() = StatusCode::IM_A_TEAPOT;
        res
    };
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(authenticator()))
        .layer(RequireLayer::authenticated().responder(custom))
        .service_fn(ok_handler);
    let res = svc
        .oneshot(Request::get("/x").body(String::new()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(res.body(), "401 on /x");
    // The rejection is attached whatever the responder did.
    assert!(res.extensions().get::<Rejection>().is_some());
}

#[tokio::test]
async fn login_redirect_for_html_routes() {
    let auth = authenticator();
    let (alice, _) = login(&auth, "alice", &["user"]).await;
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(auth))
        .layer(
            RequireLayer::any_role(["admin"])
                .login_redirect("/login")
                .unwrap(),
        )
        .service_fn(ok_handler);

    let req = Request::get("/account?tab=keys")
        .body(String::new())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(
        res.headers()["location"],
        "/login?next=%2Faccount%3Ftab%3Dkeys"
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.extensions().get::<Rejection>().is_some());

    // An open-redirect attempt through the path loses its `next`.
    let req = Request::get("//evil.example/x")
        .body(String::new())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "/login");

    let req = Request::post("/account/delete")
        .body(String::new())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");

    // Logged in but not allowed: no bounce to the login page.
    let req = Request::get("/admin")
        .header("cookie", &alice)
        .body(String::new())
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn peer_ip_and_user_agent_reach_the_session() {
    let auth = authenticator();
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(auth))
        .service_fn(move |req: Request<String>| async move {
            let outcome = outcome_of(&req);
            SessionHandle::new(outcome.clone())
                .login("alice", vec![])
                .await
                .unwrap();
            let listed = outcome
                .client
                .ip
                .map(|ip| ip.to_string())
                .unwrap_or_default();
            Ok::<_, Infallible>(Response::new(listed))
        });
    let mut req = Request::post("/")
        .header("user-agent", "ua/1")
        .body(String::new())
        .unwrap();
    req.extensions_mut()
        .insert(SocketAddr::from(([10, 1, 2, 3], 5555)));
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.body(), "10.1.2.3");

    // A custom reader (e.g. axum's ConnectInfo, a proxy header set by a
    // trusted layer) replaces the default.
    #[derive(Clone)]
    struct Peer(std::net::IpAddr);
    let auth = authenticator();
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(auth).peer_ip(|ext| ext.get::<Peer>().map(|p| p.0)))
        .service_fn(|req: Request<String>| async move {
            Ok::<_, Infallible>(Response::new(format!("{:?}", outcome_of(&req).client.ip)))
        });
    let mut req = Request::new(String::new());
    req.extensions_mut().insert(Peer([192, 0, 2, 9].into()));
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.body(), "Some(192.0.2.9)");
}

#[tokio::test]
async fn the_uri_authority_stands_in_for_host_and_its_scheme_for_https() {
    let auth = authenticator();
    let (cookie, csrf) = login(&auth, "alice", &["user"]).await;
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(auth))
        .layer(RequireLayer::authenticated())
        .service_fn(ok_handler);
    let post = |uri: &str, origin: &str| {
        Request::post(uri)
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("origin", origin)
            .body(String::new())
            .unwrap()
    };
    // HTTP/2 style: no Host header, the authority is in the URI.
    let res = svc
        .clone()
        .oneshot(post("https://app.example/x", "https://app.example"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The scheme counts: an http:// page may not post to the https:// site.
    let res = svc
        .clone()
        .oneshot(post("https://app.example/x", "http://app.example"))
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = svc
        .oneshot(post("https://app.example/x", "https://evil.example"))
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn inner_errors_pass_through() {
    let svc = ServiceBuilder::new()
        .layer(AuthLayer::new(authenticator()))
        .service(service_fn(|_req: Request<String>| async {
            Err::<Response<String>, _>("boom")
        }));
    assert_eq!(
        svc.oneshot(Request::new(String::new())).await.unwrap_err(),
        "boom"
    );
}

#[test]
fn futures_are_send_with_a_body_that_is_not_sync() {
    // axum's Body is Send but not Sync: the auth future must not hold a
    // reference to it across the authentication await.
    struct NotSync(#[allow(dead_code)] std::cell::Cell<u8>);
    fn assert_send<T: Send>(_: &T) {}
    let mut svc = ServiceBuilder::new()
        .layer(AuthLayer::new(authenticator()))
        .layer(RequireLayer::authenticated())
        .service_fn(|_req: Request<NotSync>| async {
            Ok::<_, Infallible>(Response::new(String::new()))
        });
    let fut = tower::Service::call(&mut svc, Request::new(NotSync(std::cell::Cell::new(0))));
    assert_send(&fut);
}

#[test]
fn a_rejection_response_carries_the_core_bytes() {
    let res: Response<String> = rejection_response(&Rejection::bearer(RejectionKind::InvalidToken));
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.body(), r#"{"error":"invalid token"}"#);
    assert!(res.extensions().get::<Rejection>().is_some());
}

#[test]
fn a_login_path_must_be_local() {
    for bad in [
        "https://evil.example/",
        "//evil.example",
        "login",
        "/login?x=1",
        "/\\evil",
    ] {
        assert!(
            RequireLayer::authenticated().login_redirect(bad).is_err(),
            "{bad} accepted"
        );
    }
}

/// Builder-made stores: no boxed future (#19); given ones: awaited; alike.
#[tokio::test]
async fn in_process_and_awaited_authentication_answer_alike() {
    let given = Authenticator::builder()
        .store(Arc::new(crate::store::MemoryStore::new()))
        .build()
        .unwrap();
    for (auth, in_process) in [(authenticator(), true), (given, false)] {
        let view = crate::request::RequestView::new("GET");
        assert_eq!(auth.authenticate_now(&view).is_some(), in_process);
        let (cookie, _) = login(&auth, "alice", &["user"]).await;
        let svc = ServiceBuilder::new()
            .layer(AuthLayer::new(auth))
            .service_fn(|req: Request<String>| async move {
                let outcome = outcome_of(&req);
                let who = outcome.state.identity().map(|i| i.subject().to_owned());
                if req.uri().path() == "/logout" {
                    SessionHandle::new(outcome).logout().await.unwrap();
                }
                Ok::<_, Infallible>(Response::new(who.unwrap_or_default()))
            });
        let req = |path: &str| {
            let req = Request::get(path).header("cookie", &cookie);
            req.body(String::new()).unwrap()
        };
        let res = svc.clone().oneshot(req("/")).await.unwrap();
        assert_eq!(res.body(), "alice", "in process: {in_process}");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.headers()["vary"], "Cookie");
        let res = svc.clone().oneshot(req("/logout")).await.unwrap();
        assert!(res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"));
        let res = svc.oneshot(req("/")).await.unwrap();
        assert_eq!(res.body(), "", "logged out, in process: {in_process}");
    }
}
