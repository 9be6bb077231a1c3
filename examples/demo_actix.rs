//! The actix-web demo server: serves exactly shared/DEMO_CONTRACT.md.
//!
//! ```text
//! INSECURE_COOKIES=1 cargo run --example demo_actix --features actix-web
//! ```
//!
//! Tests build the same app in-process with
//! `#[path = "../examples/demo_actix.rs"] mod demo_actix;` and
//! [`app`](crate::demo_actix::app).

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::http::StatusCode;
use actix_web::{web, App, FromRequest, HttpRequest, HttpResponse, HttpServer, Resource};
use portcullis::{
    actix::{AuthLayer, RequireLayer},
    BearerIdentity, RequireRole, SessionHandle, SessionIdentity, TokenHandle,
};
use portcullis::{Authenticator, Rejection};

#[path = "common/mod.rs"]
pub mod common;

use common::{Demo, LoginRequest, ReauthRequest, RefreshRequest, RevokeRequest, RolesRequest};
use serde_json::{Map, Value};

portcullis::role! {
    /// The `admin` role of the demo users.
    pub Admin = "admin";
}

/// A `{"error":...}` response with `status`.
fn json_error(status: u16, body: &'static str) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    HttpResponse::build(status)
        .insert_header((CONTENT_TYPE, "application/json"))
        .body(body)
}

/// A JSON request body read by the shared rules of
/// [`common::parse_json`]: 415 for another content type, 413 past
/// [`common::MAX_BODY`], 400 for anything unparsable, each as JSON.
struct JsonBody<T>(T);

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let reject = |status, body| {
            InternalError::from_response("request body", json_error(status, body)).into()
        };
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.as_bytes().to_vec());
        if !common::is_json_content_type(content_type.as_deref()) {
            return Box::pin(std::future::ready(Err(reject(
                415,
                common::UNSUPPORTED_MEDIA_TYPE,
            ))));
        }
        // `web::PayloadConfig` in `app` caps what this reads at MAX_BODY.
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    reject(413, common::PAYLOAD_TOO_LARGE)
                } else {
                    reject(400, common::BAD_REQUEST)
                }
            })?;
            common::parse_json(content_type.as_deref(), &body)
                .map(JsonBody)
                .map_err(|(status, body)| reject(status, body))
        })
    }
}

async fn health() -> &'static str {
    "ok"
}

/// `/.well-known/jwks.json`: public and cacheable.
async fn jwks(demo: web::Data<Demo>) -> HttpResponse {
    well_known(demo.well_known.jwks.clone())
}

/// `/.well-known/openid-configuration`: public and cacheable.
async fn openid_configuration(demo: web::Data<Demo>) -> HttpResponse {
    well_known(demo.well_known.openid_configuration.clone())
}

fn well_known(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", common::WELL_KNOWN_CACHE_CONTROL))
        .body(body)
}

/// 200 `ok` when the stores answer, 503 when they do not.
async fn ready(auth: web::Data<Authenticator>) -> Result<&'static str, Rejection> {
    auth.ready().await.map(|()| "ok")
}

async fn session_login(
    demo: web::Data<Demo>,
    session: SessionHandle,
    body: Result<JsonBody<LoginRequest>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    // The cross-origin rule answers before the body (login CSRF).
    session.check_login_origin()?;
    let JsonBody(req) = body?;
    let remember = req.remember;
    // Throttled (429) or store down (503): the password is not checked.
    let attempt = session.login_attempt(&req.username).await?;
    let (user, roles) = common::check_login(&demo, attempt, req).await?;
    let info = session.login_remember(user, roles, remember).await?;
    Ok(HttpResponse::Ok().json(info))
}

async fn session_me(who: SessionIdentity) -> HttpResponse {
    HttpResponse::Ok().json(common::me_body(&who))
}

async fn session_list(session: SessionHandle) -> Result<HttpResponse, Rejection> {
    Ok(HttpResponse::Ok().json(common::sessions_body(session.list().await?)))
}

async fn session_revoke(
    session: SessionHandle,
    JsonBody(req): JsonBody<RevokeRequest>,
) -> Result<HttpResponse, Rejection> {
    session.revoke(&req.id_hint).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn session_logout_others(session: SessionHandle) -> Result<HttpResponse, Rejection> {
    session.logout_others().await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn session_data(session: SessionHandle) -> Result<HttpResponse, Rejection> {
    Ok(HttpResponse::Ok().json(common::data_body(session.data()?)))
}

async fn session_patch(
    session: SessionHandle,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, Rejection> {
    Ok(HttpResponse::Ok().json(common::data_body(session.patch(patch).await?)))
}

async fn session_sensitive(
    demo: web::Data<Demo>,
    session: SessionHandle,
) -> Result<HttpResponse, Rejection> {
    Ok(HttpResponse::Ok().json(common::sensitive(&demo, &session)?))
}

async fn session_reauth(
    session: SessionHandle,
    body: Result<JsonBody<ReauthRequest>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    session.check_login_origin()?;
    let JsonBody(req) = body?;
    Ok(HttpResponse::Ok().json(common::reauth(&session, req).await?))
}

async fn session_logout(session: SessionHandle) -> Result<HttpResponse, Rejection> {
    session.logout().await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn session_logout_all(session: SessionHandle) -> Result<HttpResponse, Rejection> {
    session.logout_all().await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn jwt_login(
    demo: web::Data<Demo>,
    tokens: TokenHandle,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<HttpResponse, Rejection> {
    let attempt = tokens.login_attempt(&req.username).await?;
    let (user, roles) = common::check_login(&demo, attempt, req).await?;
    let pair = tokens.issue(user, &roles).await?;
    Ok(HttpResponse::Ok().json(pair))
}

async fn jwt_me(who: BearerIdentity) -> HttpResponse {
    HttpResponse::Ok().json(common::me_body(&who))
}

async fn jwt_admin(who: RequireRole<Admin, BearerIdentity>) -> HttpResponse {
    HttpResponse::Ok().json(common::me_body(&who))
}

async fn jwt_refresh(
    tokens: TokenHandle,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> Result<HttpResponse, Rejection> {
    let pair = tokens.refresh(&req.refresh_token).await?;
    Ok(HttpResponse::Ok().json(pair))
}

async fn jwt_logout(tokens: TokenHandle) -> Result<HttpResponse, Rejection> {
    tokens.logout().await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn jwt_logout_all(tokens: TokenHandle) -> Result<HttpResponse, Rejection> {
    tokens.logout_all().await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn jwt_sessions(tokens: TokenHandle) -> Result<HttpResponse, Rejection> {
    Ok(HttpResponse::Ok().json(common::sessions_body(tokens.list().await?)))
}

async fn jwt_revoke(
    tokens: TokenHandle,
    JsonBody(req): JsonBody<RevokeRequest>,
) -> Result<HttpResponse, Rejection> {
    tokens.revoke(&req.id_hint).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn jwt_logout_others(tokens: TokenHandle) -> Result<HttpResponse, Rejection> {
    tokens.logout_others().await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn admin_sessions(
    session: SessionHandle,
    user: web::Path<String>,
) -> Result<HttpResponse, Rejection> {
    common::require_admin(&session)?;
    let list = session.admin_list(&user).await?;
    Ok(HttpResponse::Ok().json(common::sessions_body(list)))
}

async fn admin_roles(
    demo: web::Data<Demo>,
    session: SessionHandle,
    user: web::Path<String>,
    body: Result<JsonBody<RolesRequest>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    common::require_admin(&session)?;
    let JsonBody(req) = body?;
    common::admin_set_roles(&demo, &session, &user, req).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn admin_logout_all(
    session: SessionHandle,
    user: web::Path<String>,
) -> Result<HttpResponse, Rejection> {
    common::require_admin(&session)?;
    session.admin_logout(&user).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn not_found() -> HttpResponse {
    json_error(404, common::NOT_FOUND)
}

async fn method_not_allowed() -> HttpResponse {
    json_error(405, common::METHOD_NOT_ALLOWED)
}

/// A resource answering a JSON 405 for methods it does not route.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// The demo's routes over `demo` (an [`Authenticator`] converts with the
/// default settings).
pub fn app(
    demo: impl Into<Demo>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let demo: Demo = demo.into();
    let auth = demo.auth.clone();
    App::new()
        // Outside the middleware: the health check never touches the store,
        // and neither probe reads a credential.
        .route("/health", web::get().to(health))
        .app_data(web::Data::new(auth.clone()))
        .app_data(web::Data::new(demo))
        .route("/ready", web::get().to(ready))
        .route("/.well-known/jwks.json", web::get().to(jwks))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(openid_configuration),
        )
        .service(
            web::scope("")
                .wrap(AuthLayer::new(auth))
                .app_data(web::PayloadConfig::new(common::MAX_BODY))
                .service(resource("/session/login").route(web::post().to(session_login)))
                .service(resource("/session/me").route(web::get().to(session_me)))
                .service(
                    // The guard middleware here; the extractor on /jwt/admin.
                    resource("/session/admin")
                        .wrap(RequireLayer::any_role(["admin"]).session())
                        .route(web::get().to(session_me)),
                )
                .service(resource("/session/list").route(web::get().to(session_list)))
                .service(resource("/session/logout").route(web::post().to(session_logout)))
                .service(resource("/session/logout-all").route(web::post().to(session_logout_all)))
                .service(resource("/session/revoke").route(web::post().to(session_revoke)))
                .service(
                    resource("/session/logout-others").route(web::post().to(session_logout_others)),
                )
                .service(
                    resource("/session/data")
                        .route(web::get().to(session_data))
                        .route(web::patch().to(session_patch)),
                )
                .service(resource("/session/sensitive").route(web::get().to(session_sensitive)))
                .service(resource("/session/reauth").route(web::post().to(session_reauth)))
                .service(resource("/jwt/login").route(web::post().to(jwt_login)))
                .service(resource("/jwt/me").route(web::get().to(jwt_me)))
                .service(resource("/jwt/admin").route(web::get().to(jwt_admin)))
                .service(resource("/jwt/refresh").route(web::post().to(jwt_refresh)))
                .service(resource("/jwt/logout").route(web::post().to(jwt_logout)))
                .service(resource("/jwt/logout-all").route(web::post().to(jwt_logout_all)))
                .service(resource("/jwt/sessions").route(web::get().to(jwt_sessions)))
                .service(resource("/jwt/revoke").route(web::post().to(jwt_revoke)))
                .service(resource("/jwt/logout-others").route(web::post().to(jwt_logout_others)))
                .service(
                    resource("/admin/users/{user}/sessions").route(web::get().to(admin_sessions)),
                )
                .service(resource("/admin/users/{user}/roles").route(web::put().to(admin_roles)))
                .service(
                    resource("/admin/users/{user}/logout-all")
                        .route(web::post().to(admin_logout_all)),
                )
                .default_service(web::to(not_found)),
        )
}

/// Read the settings, build the authenticator and serve on 127.0.0.1:PORT;
/// bad settings print a message and exit with status 2.
#[actix_web::main]
pub async fn main() {
    let settings = common::Settings::from_env().unwrap_or_else(|e| common::exit_with(&e));
    let auth = common::authenticator(&settings)
        .await
        .unwrap_or_else(|e| common::exit_with(&e));
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], settings.port));
    // One user table for every worker of this process.
    let demo = Demo::new(auth, &settings);
    let server = HttpServer::new(move || app(demo.clone()))
        .bind(addr)
        .unwrap_or_else(|e| common::exit_with(&format!("cannot listen on {addr}: {e}")));
    let local = server.addrs().first().copied().unwrap_or(addr);
    println!("demo_actix listening on http://{local}");
    if settings.insecure_cookies {
        println!("INSECURE_COOKIES=1: cookies without Secure, for plain-HTTP local testing only");
    }
    if let Err(e) = server.run().await {
        common::exit_with(&format!("server error: {e}"));
    }
}
