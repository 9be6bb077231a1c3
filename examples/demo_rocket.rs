//! The Rocket demo server: serves exactly shared/DEMO_CONTRACT.md.
//!
//! ```text
//! INSECURE_COOKIES=1 cargo run --example demo_rocket --features rocket
//! ```
//!
//! Tests build the same app in-process with
//! `#[path = "../examples/demo_rocket.rs"] mod demo_rocket;` and
//! [`rocket`](crate::demo_rocket::rocket), then drive it with
//! `rocket::local::asynchronous::Client` or launch it on a free port.

use std::net::Ipv4Addr;

use portcullis::jwt::TokenPair;
use portcullis::{
    rocket::AuthLayer, BearerIdentity, RequireRole, SessionHandle, SessionIdentity, TokenHandle,
};
use portcullis::{Authenticator, Rejection};
use rocket::catcher::{BoxFuture, Catcher};
use rocket::config::LogLevel;
use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Build, Request, Rocket};

#[path = "common/mod.rs"]
pub mod common;

use common::{Demo, LoginRequest, ReauthRequest, RefreshRequest, RevokeRequest, RolesRequest};
use rocket::State;
use serde_json::{Map, Value};

portcullis::role! {
    /// The `admin` role of the demo users.
    pub Admin = "admin";
}

/// Every answer of a demo route other than success: the core's
/// [`Rejection`], or one of the demo's own JSON errors.
#[derive(Debug)]
pub enum ApiError {
    /// Refused by portcullis (status, challenge and body from the core).
    Rejected(Rejection),
    /// A demo error: status and a `{"error":...}` body from `common`.
    Json(u16, &'static str),
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        ApiError::Rejected(rejection)
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            ApiError::Rejected(rejection) => rejection.respond_to(req),
            ApiError::Json(status, body) => {
                (Status::new(status), (ContentType::JSON, body)).respond_to(req)
            }
        }
    }
}

/// A JSON request body read by the shared rules of [`common::parse_json`]:
/// 415 for another content type, 413 past [`common::MAX_BODY`], 400 for
/// anything unparsable. Take it as `Result<JsonBody<T>, ApiError>` so the
/// handler answers the error itself, as JSON.
pub struct JsonBody<T>(pub T);

#[rocket::async_trait]
impl<'r, T: serde::de::DeserializeOwned> FromData<'r> for JsonBody<T> {
    type Error = ApiError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let content_type = req.headers().get_one("Content-Type").map(str::as_bytes);
        let parsed = if common::is_json_content_type(content_type) {
            match data.open(common::MAX_BODY.bytes()).into_bytes().await {
                Ok(body) if body.is_complete() => common::parse_json(content_type, &body),
                Ok(_) => Err((413, common::PAYLOAD_TOO_LARGE)),
                Err(_) => Err((400, common::BAD_REQUEST)),
            }
        } else {
            Err((415, common::UNSUPPORTED_MEDIA_TYPE))
        };
        match parsed {
            Ok(value) => data::Outcome::Success(JsonBody(value)),
            Err((status, body)) => {
                data::Outcome::Error((Status::new(status), ApiError::Json(status, body)))
            }
        }
    }
}

type JsonResult<T> = Result<Json<T>, ApiError>;

#[rocket::get("/health")]
fn health() -> &'static str {
    "ok"
}

/// A public, cacheable `/.well-known/` document.
#[derive(rocket::Responder)]
#[response(content_type = "json")]
struct WellKnownDoc(String, rocket::http::Header<'static>);

fn well_known(body: String) -> WellKnownDoc {
    WellKnownDoc(
        body,
        rocket::http::Header::new("Cache-Control", common::WELL_KNOWN_CACHE_CONTROL),
    )
}

#[rocket::get("/.well-known/jwks.json")]
fn jwks(demo: &State<Demo>) -> WellKnownDoc {
    well_known(demo.well_known.jwks.clone())
}

#[rocket::get("/.well-known/openid-configuration")]
fn openid_configuration(demo: &State<Demo>) -> WellKnownDoc {
    well_known(demo.well_known.openid_configuration.clone())
}

/// 200 `ok` when the stores answer, 503 when they do not.
#[rocket::get("/ready")]
async fn ready(auth: &rocket::State<Authenticator>) -> Result<&'static str, Rejection> {
    auth.ready().await.map(|()| "ok")
}

#[rocket::post("/session/login", data = "<body>")]
async fn session_login(
    demo: &State<Demo>,
    session: SessionHandle,
    body: Result<JsonBody<LoginRequest>, ApiError>,
) -> JsonResult<portcullis::LoginInfo> {
    // The cross-origin rule answers before the body (login CSRF).
    session.check_login_origin()?;
    let req = body?.0;
    let remember = req.remember;
    // Throttled (429) or store down (503): the password is not checked.
    let attempt = session.login_attempt(&req.username).await?;
    let (user, roles) = common::check_login(demo, attempt, req).await?;
    Ok(Json(session.login_remember(user, roles, remember).await?))
}

#[rocket::get("/session/me")]
fn session_me(who: SessionIdentity) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

#[rocket::get("/session/admin")]
fn session_admin(who: RequireRole<Admin, SessionIdentity>) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

#[rocket::get("/session/list")]
async fn session_list(session: SessionHandle) -> JsonResult<Value> {
    Ok(Json(common::sessions_body(session.list().await?)))
}

#[rocket::post("/session/revoke", data = "<body>")]
async fn session_revoke(
    session: SessionHandle,
    body: Result<JsonBody<RevokeRequest>, ApiError>,
) -> Result<Status, ApiError> {
    session.revoke(&body?.0.id_hint).await?;
    Ok(Status::NoContent)
}

#[rocket::post("/session/logout-others")]
async fn session_logout_others(session: SessionHandle) -> Result<Status, Rejection> {
    session.logout_others().await?;
    Ok(Status::NoContent)
}

#[rocket::get("/session/data")]
fn session_data(session: SessionHandle) -> JsonResult<Value> {
    Ok(Json(common::data_body(session.data()?)))
}

#[rocket::patch("/session/data", data = "<body>")]
async fn session_patch(
    session: SessionHandle,
    body: Result<JsonBody<Map<String, Value>>, ApiError>,
) -> JsonResult<Value> {
    Ok(Json(common::data_body(session.patch(body?.0).await?)))
}

#[rocket::get("/session/sensitive")]
fn session_sensitive(demo: &State<Demo>, session: SessionHandle) -> JsonResult<Value> {
    Ok(Json(common::sensitive(demo, &session)?))
}

#[rocket::post("/session/reauth", data = "<body>")]
async fn session_reauth(
    session: SessionHandle,
    body: Result<JsonBody<ReauthRequest>, ApiError>,
) -> JsonResult<Value> {
    session.check_login_origin()?;
    Ok(Json(common::reauth(&session, body?.0).await?))
}

#[rocket::post("/session/logout")]
async fn session_logout(session: SessionHandle) -> Result<Status, Rejection> {
    session.logout().await?;
    Ok(Status::NoContent)
}

#[rocket::post("/session/logout-all")]
async fn session_logout_all(session: SessionHandle) -> Result<Status, Rejection> {
    session.logout_all().await?;
    Ok(Status::NoContent)
}

#[rocket::post("/jwt/login", data = "<body>")]
async fn jwt_login(
    demo: &State<Demo>,
    tokens: TokenHandle,
    body: Result<JsonBody<LoginRequest>, ApiError>,
) -> JsonResult<TokenPair> {
    let req = body?.0;
    let attempt = tokens.login_attempt(&req.username).await?;
    let (user, roles) = common::check_login(demo, attempt, req).await?;
    Ok(Json(tokens.issue(user, &roles).await?))
}

#[rocket::get("/jwt/me")]
fn jwt_me(who: BearerIdentity) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

#[rocket::get("/jwt/admin")]
fn jwt_admin(who: RequireRole<Admin, BearerIdentity>) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

#[rocket::post("/jwt/refresh", data = "<body>")]
async fn jwt_refresh(
    tokens: TokenHandle,
    body: Result<JsonBody<RefreshRequest>, ApiError>,
) -> JsonResult<TokenPair> {
    Ok(Json(tokens.refresh(&body?.0.refresh_token).await?))
}

#[rocket::post("/jwt/logout")]
async fn jwt_logout(tokens: TokenHandle) -> Result<Status, Rejection> {
    tokens.logout().await?;
    Ok(Status::NoContent)
}

#[rocket::post("/jwt/logout-all")]
async fn jwt_logout_all(tokens: TokenHandle) -> Result<Status, Rejection> {
    tokens.logout_all().await?;
    Ok(Status::NoContent)
}

#[rocket::get("/jwt/sessions")]
async fn jwt_sessions(tokens: TokenHandle) -> JsonResult<Value> {
    Ok(Json(common::sessions_body(tokens.list().await?)))
}

#[rocket::post("/jwt/revoke", data = "<body>")]
async fn jwt_revoke(
    tokens: TokenHandle,
    body: Result<JsonBody<RevokeRequest>, ApiError>,
) -> Result<Status, ApiError> {
    tokens.revoke(&body?.0.id_hint).await?;
    Ok(Status::NoContent)
}

#[rocket::post("/jwt/logout-others")]
async fn jwt_logout_others(tokens: TokenHandle) -> Result<Status, Rejection> {
    tokens.logout_others().await?;
    Ok(Status::NoContent)
}

#[rocket::get("/admin/users/<user>/sessions")]
async fn admin_sessions(session: SessionHandle, user: &str) -> JsonResult<Value> {
    common::require_admin(&session)?;
    Ok(Json(common::sessions_body(session.admin_list(user).await?)))
}

#[rocket::put("/admin/users/<user>/roles", data = "<body>")]
async fn admin_roles(
    demo: &State<Demo>,
    session: SessionHandle,
    user: &str,
    body: Result<JsonBody<RolesRequest>, ApiError>,
) -> Result<Status, ApiError> {
    common::require_admin(&session)?;
    common::admin_set_roles(demo, &session, user, body?.0).await?;
    Ok(Status::NoContent)
}

#[rocket::post("/admin/users/<user>/logout-all")]
async fn admin_logout_all(session: SessionHandle, user: &str) -> Result<Status, Rejection> {
    common::require_admin(&session)?;
    session.admin_logout(user).await?;
    Ok(Status::NoContent)
}

/// True when `path` is one of `route`'s paths (a `<param>` segment matches
/// any one segment).
fn same_path(route: &str, path: &str) -> bool {
    let (mut r, mut p) = (route.split('/'), path.split('/'));
    loop {
        match (r.next(), p.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b || (a.starts_with('<') && !b.is_empty()) => {}
            _ => return false,
        }
    }
}

/// 404 as JSON; a known path asked with another method is 405, as in the
/// other demos (Rocket itself answers 404 for both).
fn not_found<'r>(_: Status, req: &'r Request<'_>) -> BoxFuture<'r> {
    let path = req.uri().path();
    let known = req
        .rocket()
        .routes()
        .any(|route| same_path(route.uri.path(), path.as_str()));
    let error = if known {
        ApiError::Json(405, common::METHOD_NOT_ALLOWED)
    } else {
        ApiError::Json(404, common::NOT_FOUND)
    };
    Box::pin(async move { error.respond_to(req) })
}

/// The demo app over `demo` (an [`Authenticator`] converts with the
/// default settings), listening on 127.0.0.1:`port` once launched
/// (`0`: any free port, see `rocket.config().port` at liftoff).
///
/// Rocket's own configuration (`Rocket.toml`, `ROCKET_*`) is read first;
/// the address, `port` and the settings below override it. Logging is off
/// unless `ROCKET_LOG_LEVEL` is set.
pub fn rocket(demo: impl Into<Demo>, port: u16) -> Rocket<Build> {
    let demo: Demo = demo.into();
    let limits = rocket::data::Limits::default()
        .limit("bytes", common::MAX_BODY.bytes())
        .limit("json", common::MAX_BODY.bytes())
        .limit("string", common::MAX_BODY.bytes());
    let mut figment = rocket::Config::figment()
        .merge(("address", Ipv4Addr::LOCALHOST))
        .merge(("port", port))
        .merge(("limits", limits))
        // The demo is reached directly, not through a proxy: take the peer
        // address, never a client-chosen `X-Real-IP`.
        .merge(("ip_header", false))
        // No `Server: Rocket` header.
        .merge(("ident", false))
        .merge(("cli_colors", false));
    // Quiet unless asked (Rocket's "critical" still logs every failed guard).
    if std::env::var_os("ROCKET_LOG_LEVEL").is_none() {
        figment = figment.merge(("log_level", LogLevel::Off));
    }
    rocket::custom(figment)
        .attach(AuthLayer::new(demo.auth.clone()))
        .manage(demo)
        .mount(
            "/",
            rocket::routes![
                health,
                ready,
                jwks,
                openid_configuration,
                session_login,
                session_me,
                session_admin,
                session_list,
                session_logout,
                session_logout_all,
                session_revoke,
                session_logout_others,
                session_data,
                session_patch,
                session_sensitive,
                session_reauth,
                jwt_login,
                jwt_me,
                jwt_admin,
                jwt_refresh,
                jwt_logout,
                jwt_logout_all,
                jwt_sessions,
                jwt_revoke,
                jwt_logout_others,
                admin_sessions,
                admin_roles,
                admin_logout_all,
            ],
        )
        .register("/", portcullis::rocket::catchers())
        .register("/", [Catcher::new(404, not_found)])
}

#[allow(dead_code)] // unused when a test includes this file as a module
#[rocket::main]
async fn main() {
    let settings = common::Settings::from_env().unwrap_or_else(|e| common::exit_with(&e));
    let auth = common::authenticator(&settings)
        .await
        .unwrap_or_else(|e| common::exit_with(&e));
    let insecure = settings.insecure_cookies;
    let app = rocket(Demo::new(auth, &settings), settings.port).attach(
        rocket::fairing::AdHoc::on_liftoff("banner", move |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                println!(
                    "demo_rocket listening on http://{}:{}",
                    config.address, config.port
                );
                if insecure {
                    println!(
                        "INSECURE_COOKIES=1: cookies without Secure, for plain-HTTP testing only"
                    );
                }
            })
        }),
    );
    if let Err(e) = app.launch().await {
        common::exit_with(&format!("server error: {e}"));
    }
}
