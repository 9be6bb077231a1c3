//! The Rocket variants (Rocket 0.5, one worker).

use std::net::Ipv4Addr;

use portcullis::rocket::AuthLayer;
use portcullis::{BearerIdentity, Rejection, SessionHandle, SessionIdentity, TokenHandle};
use rocket::config::{LogLevel, SecretKey};
use rocket::http::{Cookie, CookieJar, Header, Status};
use rocket::serde::json::Json;
use rocket::{get, post, routes, Build, Rocket};
use serde_json::Value;

use crate::{authenticator, bare_body, fail, me_body};

pub fn serve(variant: &str, port: u16) {
    let config = rocket::Config {
        address: Ipv4Addr::LOCALHOST.into(),
        port,
        workers: 1,
        log_level: LogLevel::Off,
        secret_key: SecretKey::generate().unwrap_or_else(|| fail("no OS randomness")),
        ..rocket::Config::release_default()
    };
    let base = rocket::custom(config);
    let rocket: Rocket<Build> = match variant {
        "rocket-bare" => base.mount("/", routes![bare_session_me, bare_jwt_me]),
        "rocket-bare-headers" => base.mount("/", routes![bare_headers_me]),
        "rocket-portcullis" | "rocket-portcullis-nocache" => base
            .attach(AuthLayer::new(authenticator(
                variant == "rocket-portcullis",
            )))
            .mount("/", routes![login, token, session_me, jwt_me])
            .register("/", portcullis::rocket::catchers()),
        "rocket-private-cookie" => base.mount("/", routes![pc_login, pc_me]),
        _ => fail(&format!("unknown variant {variant:?}")),
    };
    if let Err(e) = rocket::execute(rocket.launch()) {
        fail(&e.to_string());
    }
}

#[get("/session/me")]
fn bare_session_me() -> Json<Value> {
    Json(bare_body())
}

/// The bare answer plus the contract's headers (see `axum_srv::bare_headers`).
#[derive(rocket::Responder)]
struct WithHeaders {
    body: Json<Value>,
    cache_control: Header<'static>,
    vary: Header<'static>,
}

#[get("/session/me")]
fn bare_headers_me() -> WithHeaders {
    WithHeaders {
        body: Json(bare_body()),
        cache_control: Header::new("Cache-Control", "no-store"),
        vary: Header::new("Vary", "Cookie"),
    }
}

#[get("/jwt/me")]
fn bare_jwt_me() -> Json<Value> {
    Json(bare_body())
}

#[post("/login")]
async fn login(session: SessionHandle) -> Result<Status, Rejection> {
    session.login("alice", vec!["user".into()]).await?;
    Ok(Status::NoContent)
}

#[post("/token")]
async fn token(tokens: TokenHandle) -> Result<String, Rejection> {
    Ok(tokens.issue("alice", &["user".into()]).await?.access_token)
}

#[get("/session/me")]
fn session_me(who: SessionIdentity) -> Json<Value> {
    Json(me_body(who.subject(), who.roles()))
}

#[get("/jwt/me")]
fn jwt_me(who: BearerIdentity) -> Json<Value> {
    Json(me_body(who.subject(), who.roles()))
}

/// Rocket's own private (encrypted, authenticated) cookie holding the user
/// id and roles as JSON: the plain Rocket way to keep a login.
#[post("/login")]
fn pc_login(jar: &CookieJar<'_>) -> Status {
    let value = serde_json::json!({ "user": "alice", "roles": ["user"] }).to_string();
    jar.add_private(Cookie::build(("session", value)).http_only(true));
    Status::NoContent
}

#[get("/session/me")]
fn pc_me(jar: &CookieJar<'_>) -> Result<Json<Value>, Status> {
    let cookie = jar.get_private("session").ok_or(Status::Unauthorized)?;
    let v: Value = serde_json::from_str(cookie.value()).map_err(|_| Status::Unauthorized)?;
    let user = v["user"].as_str().ok_or(Status::Unauthorized)?;
    let roles: Vec<String> = serde_json::from_value(v["roles"].clone()).unwrap_or_default();
    Ok(Json(me_body(user, &roles)))
}
