//! actix-web 4 adapter: [`AuthLayer`], [`RequireLayer`] and
//! `FromRequest` extractors.
//!
//! - [`AuthLayer`] authenticates every request once (session cookie or
//!   bearer token, CSRF for unsafe cookie requests), stores the
//!   `Arc<`[`AuthOutcome`](crate::AuthOutcome)`>` in the request extensions,
//!   and appends the `Set-Cookie` and `Cache-Control: no-store` the core
//!   queued.
//! - [`RequireLayer`] refuses requests that do not meet a
//!   [`Requirement`](crate::Requirement) before they reach a scope,
//!   resource or route.
//! - Extractors: the core's [`Identity`](crate::Identity),
//!   [`SessionIdentity`](crate::SessionIdentity),
//!   [`BearerIdentity`](crate::BearerIdentity),
//!   [`OptionalIdentity`](crate::OptionalIdentity),
//!   [`RequireRole`](crate::RequireRole),
//!   [`SessionHandle`](crate::SessionHandle) and
//!   [`TokenHandle`](crate::TokenHandle): the same types with the same
//!   meaning as in the tower/axum and Rocket adapters.
//!
//! Every refusal is the core's [`Rejection`](crate::Rejection), which
//! implements [`actix_web::ResponseError`] in exactly one place, so handlers
//! can return `Result<_, Rejection>` and actix-web sends the same status,
//! challenge and body as the other adapters. A missing [`AuthLayer`] is a
//! server configuration error: 500 `{"error":"internal server error"}`,
//! logged, never a pass and never a panic.
//!
//! Do not extract `Option<Identity>` (or `Option` of any extractor): actix-web's
//! blanket impl turns every error into `None`, failing open when the store
//! is down. Use [`OptionalIdentity`](crate::OptionalIdentity).
//!
//! Resource-server mode (tokens of another issuer, feature `jwks`) needs
//! nothing actix-specific: trust the issuer when building the
//! [`Authenticator`](crate::Authenticator), inside the actix runtime (its
//! keys are fetched in the background), and the same extractors accept
//! those tokens:
//!
//! ```ignore
//! use portcullis::jwt::{HttpKeySource, TrustedIssuer};
//! use portcullis::{actix::AuthLayer, Authenticator, BearerIdentity};
//!
//! async fn orders(BearerIdentity(who): BearerIdentity) -> String {
//!     who.subject().to_owned()
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let issuer = TrustedIssuer::new(HttpKeySource::jwks("https://www.googleapis.com/oauth2/v3/certs").unwrap())
//!         .issuer("https://accounts.google.com")
//!         .audience("my-client-id.apps.googleusercontent.com");
//!     let auth = Authenticator::builder().without_sessions().trust(issuer).build().unwrap();
//!     actix_web::HttpServer::new(move || {
//!         actix_web::App::new()
//!             .wrap(AuthLayer::new(auth.clone()))
//!             .route("/orders", actix_web::web::get().to(orders))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! ```
//! use actix_web::{test, web, App, HttpResponse};
//! use portcullis::{SessionHandle, SessionIdentity, actix::AuthLayer};
//! use portcullis::{Authenticator, Rejection};
//!
//! async fn login(session: SessionHandle) -> Result<HttpResponse, Rejection> {
//!     // (check the user's password first)
//!     let info = session.login("alice", vec!["user".into()]).await?;
//!     Ok(HttpResponse::Ok().json(info))
//! }
//! async fn me(who: SessionIdentity) -> HttpResponse {
//!     HttpResponse::Ok().body(who.subject().to_owned())
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! let auth = Authenticator::builder().build().unwrap();
//! let app = test::init_service(
//!     App::new()
//!         .wrap(AuthLayer::new(auth))
//!         .route("/login", web::post().to(login))
//!         .route("/me", web::get().to(me)),
//! )
//! .await;
//!
//! let res = test::call_service(&app, test::TestRequest::post().uri("/login").to_request()).await;
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.headers().get("cache-control").unwrap(), "no-store");
//! let set_cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
//! let cookie = set_cookie.split(';').next().unwrap().to_owned();
//!
//! let req = test::TestRequest::get().uri("/me").insert_header(("cookie", cookie)).to_request();
//! assert_eq!(test::call_and_read_body(&app, req).await, "alice");
//!
//! let res = test::call_service(&app, test::TestRequest::get().uri("/me").to_request()).await;
//! assert_eq!(res.status(), 401);
//! # });
//! ```

mod extract;
mod middleware;
mod require;
mod response;

pub use middleware::AuthLayer;
pub use require::RequireLayer;
