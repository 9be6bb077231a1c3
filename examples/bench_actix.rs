//! Load-test targets for the actix adapter (see scripts/bench_actix.sh):
//! one worker on 127.0.0.1:PORT (default 8088) serving `GET /session/me`
//! and `GET /jwt/me` in one of three ways:
//!
//! - `bare`: the same routes and the same JSON body, no authentication;
//! - `portcullis`: the actix demo app (`AuthMiddleware`, in-memory stores);
//!   prints a session `COOKIE=` and an access `TOKEN=` to use;
//! - `actix-session`: `actix-session`'s encrypted cookie session reading a
//!   user id and roles on each request (`POST /login` sets the cookie).
//!
//! ```text
//! cargo run --release --example bench_actix --features actix-web -- portcullis
//! ```

use std::sync::LazyLock;

use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::{web, App, HttpResponse, HttpServer};
use portcullis::identity::AuthMethod;
use portcullis::request::RequestView;
use portcullis::Identity;

#[path = "demo_actix.rs"]
#[allow(dead_code)]
mod demo_actix;

use demo_actix::common;

static ALICE: LazyLock<Identity> =
    LazyLock::new(|| Identity::new("alice", vec!["user".into()], AuthMethod::Test));

/// The unauthenticated baseline: the same body, built the same way.
async fn bare_me() -> HttpResponse {
    HttpResponse::Ok().json(common::me_body(&ALICE))
}

async fn cookie_login(session: Session) -> actix_web::Result<HttpResponse> {
    session.insert("user_id", "alice")?;
    session.insert("roles", vec!["user"])?;
    Ok(HttpResponse::NoContent().finish())
}

async fn cookie_me(session: Session) -> actix_web::Result<HttpResponse> {
    let Some(user) = session.get::<String>("user_id")? else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    let roles = session.get::<Vec<String>>("roles")?.unwrap_or_default();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "user": user, "roles": roles })))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8088);
    let addr = ("127.0.0.1", port);
    match mode.as_str() {
        "bare" => {
            HttpServer::new(|| {
                App::new().service(
                    web::scope("")
                        .service(web::resource("/session/me").route(web::get().to(bare_me)))
                        .service(web::resource("/jwt/me").route(web::get().to(bare_me))),
                )
            })
            .workers(1)
            .bind(addr)?
            .run()
            .await
        }
        "portcullis" => {
            let settings = common::Settings::from_vars(&|k| {
                (k == "ACCESS_TTL_SECS").then(|| "86400".to_owned())
            })
            .unwrap_or_else(|e| common::exit_with(&e));
            let auth = common::authenticator(&settings)
                .await
                .unwrap_or_else(|e| common::exit_with(&e));
            let anonymous = auth.authenticate(&RequestView::new("POST")).await;
            let roles = vec!["user".to_owned()];
            auth.login(&anonymous, "alice", roles.clone())
                .await
                .unwrap_or_else(|e| common::exit_with(&e.to_string()));
            let set_cookie = anonymous.response.take().set_cookie.unwrap_or_default();
            let cookie = set_cookie.split(';').next().unwrap_or_default();
            let tokens = auth
                .tokens()
                .unwrap_or_else(|| common::exit_with("token mode is off"));
            let pair = tokens
                .issue("alice", &roles)
                .await
                .unwrap_or_else(|e| common::exit_with(&e.to_string()));
            println!("COOKIE={cookie}");
            println!("TOKEN={}", pair.access_token);
            HttpServer::new(move || demo_actix::app(auth.clone()))
                .workers(1)
                .bind(addr)?
                .run()
                .await
        }
        "actix-session" => {
            let key = Key::generate();
            HttpServer::new(move || {
                App::new()
                    .wrap(
                        SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                            .cookie_secure(false)
                            .build(),
                    )
                    .route("/login", web::post().to(cookie_login))
                    .route("/session/me", web::get().to(cookie_me))
            })
            .workers(1)
            .bind(addr)?
            .run()
            .await
        }
        _ => common::exit_with("usage: bench_actix bare|portcullis|actix-session"),
    }
}
