//! The actix-web variants (actix-web 4, one worker).

use std::net::Ipv4Addr;

use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, App, HttpResponse, HttpServer};
use portcullis::actix::AuthLayer;
use portcullis::{BearerIdentity, Rejection, SessionHandle, SessionIdentity, TokenHandle};

use crate::{authenticator, bare_body, fail, me_body};

pub fn serve(variant: &str, port: u16) {
    let addr = (Ipv4Addr::LOCALHOST, port);
    let run = actix_web::rt::System::new().block_on(async move {
        match variant {
            "actix-bare" => {
                HttpServer::new(|| {
                    App::new()
                        .route("/session/me", web::get().to(bare_me))
                        .route("/jwt/me", web::get().to(bare_me))
                })
                .workers(1)
                .bind(addr)?
                .run()
                .await
            }
            "actix-bare-headers" => {
                HttpServer::new(|| App::new().route("/session/me", web::get().to(bare_headers_me)))
                    .workers(1)
                    .bind(addr)?
                    .run()
                    .await
            }
            "actix-portcullis" | "actix-portcullis-nocache" => {
                let auth = authenticator(variant == "actix-portcullis");
                HttpServer::new(move || {
                    App::new()
                        .wrap(AuthLayer::new(auth.clone()))
                        .route("/login", web::post().to(login))
                        .route("/token", web::post().to(token))
                        .route("/session/me", web::get().to(session_me))
                        .route("/jwt/me", web::get().to(jwt_me))
                })
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
                        .route("/login", web::post().to(as_login))
                        .route("/session/me", web::get().to(as_me))
                })
                .workers(1)
                .bind(addr)?
                .run()
                .await
            }
            _ => fail(&format!("unknown variant {variant:?}")),
        }
    });
    run.unwrap_or_else(|e| fail(&e.to_string()));
}

async fn bare_me() -> HttpResponse {
    HttpResponse::Ok().json(bare_body())
}

/// The bare answer plus the contract's headers (see `axum_srv::bare_headers`).
async fn bare_headers_me() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::VARY, HeaderValue::from_static("Cookie")))
        .json(bare_body())
}

async fn login(session: SessionHandle) -> Result<HttpResponse, Rejection> {
    session.login("alice", vec!["user".into()]).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn token(tokens: TokenHandle) -> Result<String, Rejection> {
    Ok(tokens.issue("alice", &["user".into()]).await?.access_token)
}

async fn session_me(who: SessionIdentity) -> HttpResponse {
    HttpResponse::Ok().json(me_body(who.subject(), who.roles()))
}

async fn jwt_me(who: BearerIdentity) -> HttpResponse {
    HttpResponse::Ok().json(me_body(who.subject(), who.roles()))
}

/// actix-session's encrypted cookie session holding the user id and roles.
async fn as_login(session: Session) -> actix_web::Result<HttpResponse> {
    session.insert("user_id", "alice")?;
    session.insert("roles", ["user"])?;
    Ok(HttpResponse::NoContent().finish())
}

async fn as_me(session: Session) -> actix_web::Result<HttpResponse> {
    let Some(user) = session.get::<String>("user_id")? else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    let roles = session.get::<Vec<String>>("roles")?.unwrap_or_default();
    Ok(HttpResponse::Ok().json(me_body(&user, &roles)))
}
