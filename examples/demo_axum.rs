//! The axum demo server: serves exactly shared/DEMO_CONTRACT.md.
//!
//! ```text
//! INSECURE_COOKIES=1 cargo run --example demo_axum --features axum
//! ```
//!
//! Tests build the same app in-process with
//! `#[path = "../examples/demo_axum.rs"] mod demo_axum;` and
//! [`app`](crate::demo_axum::app).

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, FromRequest, Path, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use portcullis::tower::AuthLayer;
use portcullis::{Authenticator, Rejection};
use portcullis::{BearerIdentity, RequireRole, SessionHandle, SessionIdentity, TokenHandle};

#[path = "common/mod.rs"]
pub mod common;

use common::{Demo, LoginRequest, ReauthRequest, RefreshRequest, RevokeRequest, RolesRequest};
use serde_json::{Map, Value};

portcullis::role! {
    /// The `admin` role of the demo users.
    pub Admin = "admin";
}

/// A `{"error":...}` response with `status`.
fn json_error(status: u16, body: &'static str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A JSON request body read by the shared rules of
/// [`common::parse_json`]: 415 for another content type, 413 past
/// [`common::MAX_BODY`], 400 for anything unparsable, each as JSON.
struct JsonBody<T>(T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes().to_vec());
        if !common::is_json_content_type(content_type.as_deref()) {
            return Err(json_error(415, common::UNSUPPORTED_MEDIA_TYPE));
        }
        // `DefaultBodyLimit` below caps what this reads at MAX_BODY.
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                json_error(413, common::PAYLOAD_TOO_LARGE)
            } else {
                json_error(400, common::BAD_REQUEST)
            }
        })?;
        common::parse_json(content_type.as_deref(), &body)
            .map(JsonBody)
            .map_err(|(status, body)| json_error(status, body))
    }
}

async fn health() -> &'static str {
    "ok"
}

/// A public, cacheable `/.well-known/` document.
fn well_known(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, common::WELL_KNOWN_CACHE_CONTROL),
        ],
        body,
    )
        .into_response()
}

/// 200 `ok` when the stores answer, 503 when they do not.
async fn ready(auth: Authenticator) -> Response {
    match auth.ready().await {
        Ok(()) => "ok".into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn session_login(
    Extension(demo): Extension<Demo>,
    session: SessionHandle,
    body: Result<JsonBody<LoginRequest>, Response>,
) -> Response {
    // The cross-origin rule answers before the body (login CSRF).
    if let Err(rejection) = session.check_login_origin() {
        return rejection.into_response();
    }
    let JsonBody(req) = match body {
        Ok(body) => body,
        Err(response) => return response,
    };
    // Throttled (429) or store down (503): the password is not checked.
    let remember = req.remember;
    let checked = match session.login_attempt(&req.username).await {
        Ok(attempt) => common::check_login(&demo, attempt, req).await,
        Err(rejection) => Err(rejection),
    };
    let (user, roles) = match checked {
        Ok(found) => found,
        Err(rejection) => return rejection.into_response(),
    };
    match session.login_remember(user, roles, remember).await {
        Ok(info) => Json(info).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn session_me(SessionIdentity(who): SessionIdentity) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

async fn session_admin(who: RequireRole<Admin, SessionIdentity>) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

async fn session_list(session: SessionHandle) -> Result<Json<Value>, Rejection> {
    Ok(Json(common::sessions_body(session.list().await?)))
}

async fn session_revoke(
    session: SessionHandle,
    JsonBody(req): JsonBody<RevokeRequest>,
) -> Result<StatusCode, Rejection> {
    session.revoke(&req.id_hint).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn session_logout_others(session: SessionHandle) -> Result<StatusCode, Rejection> {
    session.logout_others().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn session_data(session: SessionHandle) -> Result<Json<Value>, Rejection> {
    Ok(Json(common::data_body(session.data()?)))
}

async fn session_patch(
    session: SessionHandle,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> Result<Json<Value>, Rejection> {
    Ok(Json(common::data_body(session.patch(patch).await?)))
}

async fn session_sensitive(
    Extension(demo): Extension<Demo>,
    session: SessionHandle,
) -> Result<Json<Value>, Rejection> {
    common::sensitive(&demo, &session).map(Json)
}

async fn session_reauth(
    session: SessionHandle,
    body: Result<JsonBody<ReauthRequest>, Response>,
) -> Response {
    if let Err(rejection) = session.check_login_origin() {
        return rejection.into_response();
    }
    match body {
        Ok(JsonBody(req)) => match common::reauth(&session, req).await {
            Ok(body) => Json(body).into_response(),
            Err(rejection) => rejection.into_response(),
        },
        Err(response) => response,
    }
}

async fn session_logout(session: SessionHandle) -> Result<StatusCode, Rejection> {
    session.logout().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn session_logout_all(session: SessionHandle) -> Result<StatusCode, Rejection> {
    session.logout_all().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn jwt_login(
    Extension(demo): Extension<Demo>,
    tokens: TokenHandle,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Response {
    let checked = match tokens.login_attempt(&req.username).await {
        Ok(attempt) => common::check_login(&demo, attempt, req).await,
        Err(rejection) => Err(rejection),
    };
    let (user, roles) = match checked {
        Ok(found) => found,
        Err(rejection) => return rejection.into_response(),
    };
    match tokens.issue(user, &roles).await {
        Ok(pair) => Json(pair).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn jwt_me(BearerIdentity(who): BearerIdentity) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

async fn jwt_admin(who: RequireRole<Admin, BearerIdentity>) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

async fn jwt_refresh(tokens: TokenHandle, JsonBody(req): JsonBody<RefreshRequest>) -> Response {
    match tokens.refresh(&req.refresh_token).await {
        Ok(pair) => Json(pair).into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn jwt_logout(tokens: TokenHandle) -> Result<StatusCode, Rejection> {
    tokens.logout().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn jwt_logout_all(tokens: TokenHandle) -> Result<StatusCode, Rejection> {
    tokens.logout_all().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn jwt_sessions(tokens: TokenHandle) -> Result<Json<Value>, Rejection> {
    Ok(Json(common::sessions_body(tokens.list().await?)))
}

async fn jwt_revoke(
    tokens: TokenHandle,
    JsonBody(req): JsonBody<RevokeRequest>,
) -> Result<StatusCode, Rejection> {
    tokens.revoke(&req.id_hint).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn jwt_logout_others(tokens: TokenHandle) -> Result<StatusCode, Rejection> {
    tokens.logout_others().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The `{user}` of an admin path. A name that is not UTF-8 names no user:
/// it is answered like any unknown user (nothing live), as the other demos
/// do.
fn user_name(user: Result<Path<String>, PathRejection>) -> String {
    user.map(|Path(u)| u).unwrap_or_default()
}

async fn admin_sessions(
    session: SessionHandle,
    user: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, Rejection> {
    common::require_admin(&session)?;
    let list = session.admin_list(&user_name(user)).await?;
    Ok(Json(common::sessions_body(list)))
}

async fn admin_roles(
    Extension(demo): Extension<Demo>,
    session: SessionHandle,
    user: Result<Path<String>, PathRejection>,
    body: Result<JsonBody<RolesRequest>, Response>,
) -> Response {
    if let Err(rejection) = common::require_admin(&session) {
        return rejection.into_response();
    }
    let JsonBody(req) = match body {
        Ok(body) => body,
        Err(response) => return response,
    };
    match common::admin_set_roles(&demo, &session, &user_name(user), req).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

async fn admin_logout_all(
    session: SessionHandle,
    user: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, Rejection> {
    common::require_admin(&session)?;
    session.admin_logout(&user_name(user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn not_found() -> Response {
    json_error(404, common::NOT_FOUND)
}

async fn method_not_allowed() -> Response {
    json_error(405, common::METHOD_NOT_ALLOWED)
}

/// The peer IP from axum's `ConnectInfo` (set by
/// `into_make_service_with_connect_info`).
fn peer_ip(ext: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// The demo's routes over `demo` (an [`Authenticator`] converts with the
/// default settings; serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` to record IPs).
pub fn app(demo: impl Into<Demo>) -> Router {
    let demo: Demo = demo.into();
    let auth: Authenticator = demo.auth.clone();
    let probe = auth.clone();
    let (jwks, discovery) = (demo.well_known.clone(), demo.well_known.clone());
    Router::new()
        .route("/session/login", post(session_login))
        .route("/session/me", get(session_me))
        .route("/session/admin", get(session_admin))
        .route("/session/list", get(session_list))
        .route("/session/logout", post(session_logout))
        .route("/session/logout-all", post(session_logout_all))
        .route("/session/revoke", post(session_revoke))
        .route("/session/logout-others", post(session_logout_others))
        .route("/session/data", get(session_data).patch(session_patch))
        .route("/session/sensitive", get(session_sensitive))
        .route("/session/reauth", post(session_reauth))
        .route("/jwt/login", post(jwt_login))
        .route("/jwt/me", get(jwt_me))
        .route("/jwt/admin", get(jwt_admin))
        .route("/jwt/refresh", post(jwt_refresh))
        .route("/jwt/logout", post(jwt_logout))
        .route("/jwt/logout-all", post(jwt_logout_all))
        .route("/jwt/sessions", get(jwt_sessions))
        .route("/jwt/revoke", post(jwt_revoke))
        .route("/jwt/logout-others", post(jwt_logout_others))
        .route("/admin/users/{user}/sessions", get(admin_sessions))
        .route("/admin/users/{user}/roles", put(admin_roles))
        .route("/admin/users/{user}/logout-all", post(admin_logout_all))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(common::MAX_BODY))
        .layer(Extension(demo))
        .layer(AuthLayer::new(auth).peer_ip(peer_ip))
        // Added after the layers: the health check never touches the store,
        // and neither probe reads a credential.
        .route("/health", get(health))
        .route("/ready", get(move || ready(probe.clone())))
        .route(
            "/.well-known/jwks.json",
            get(move || std::future::ready(well_known(jwks.jwks.clone()))),
        )
        .route(
            "/.well-known/openid-configuration",
            get(move || std::future::ready(well_known(discovery.openid_configuration.clone()))),
        )
}

#[allow(dead_code)] // unused when a test includes this file as a module
#[tokio::main]
async fn main() {
    let settings = common::Settings::from_env().unwrap_or_else(|e| common::exit_with(&e));
    let auth = common::authenticator(&settings)
        .await
        .unwrap_or_else(|e| common::exit_with(&e));
    let addr = SocketAddr::from(([127, 0, 0, 1], settings.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| common::exit_with(&format!("cannot listen on {addr}: {e}")));
    let local = listener.local_addr().unwrap_or(addr);
    println!("demo_axum listening on http://{local}");
    if settings.insecure_cookies {
        println!("INSECURE_COOKIES=1: cookies without Secure, for plain-HTTP testing only");
    }
    let demo = Demo::new(auth, &settings);
    let server = axum::serve(
        listener,
        app(demo).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    if let Err(e) = server.await {
        common::exit_with(&format!("server error: {e}"));
    }
}
