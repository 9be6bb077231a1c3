//! actix-web 4 adapter: [`AuthMiddleware`], [`RequireAuth`] and
//! `FromRequest` extractors.
//!
//! - [`AuthMiddleware`] authenticates every request once (session cookie or
//!   bearer token, CSRF for unsafe cookie requests), stores the
//!   `Arc<`[`AuthOutcome`](crate::AuthOutcome)`>` in the request extensions,
//!   and appends the `Set-Cookie` and `Cache-Control: no-store` the core
//!   queued.
//! - [`RequireAuth`] refuses requests that do not meet a
//!   [`Requirement`](crate::Requirement) before they reach a scope,
//!   resource or route.
//! - Extractors (the same names and meaning as the axum adapter's):
//!
//! | extractor | gives | refuses with |
//! |-----------|-------|--------------|
//! | [`Authenticated`] | any authenticated caller | 401 / 400 / 403 (CSRF) / 503 |
//! | [`MaybeAuthenticated`] | the caller or `None` | only a request that fails outright (CSRF, malformed credentials, store down) |
//! | [`BearerIdentity`] / [`SessionIdentity`] | a caller of that scheme | 401 phrased in that scheme (`WWW-Authenticate: Bearer` for bearer routes) |
//! | [`RequireRole<R, S>`](RequireRole) | a caller with role `R::NAME`, optionally of scheme `S` | 401 / 403 (`insufficient_scope` for bearer) |
//! | [`SessionHandle`](crate::SessionHandle) | log in / rotate / log out / list / CSRF token | 500 only without [`AuthMiddleware`] |
//! | [`TokenHandle`](crate::TokenHandle) | issue / refresh / log out tokens | 500 only without [`AuthMiddleware`] |
//!
//! Every refusal is the core's [`Rejection`](crate::Rejection), which
//! implements [`actix_web::ResponseError`] in exactly one place, so handlers
//! can return `Result<_, Rejection>` and actix-web sends the same status,
//! challenge and body as the other adapters. A missing [`AuthMiddleware`] is
//! a server configuration error: 500 `{"error":"internal server error"}`, logged,
//! never a pass and never a panic.
//!
//! Do not extract `Option<Authenticated>` (or `Option` of any extractor
//! here): actix-web's blanket impl turns every error into `None`, failing
//! open when the store is down. Use [`MaybeAuthenticated`].
//!
//! ```
//! use actix_web::{test, web, App, HttpResponse};
//! use portcullis::{SessionHandle, actix::{AuthMiddleware, SessionIdentity}};
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
//!         .wrap(AuthMiddleware::new(auth))
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

pub use extract::{
    Authenticated, BearerIdentity, MaybeAuthenticated, RequireRole, SessionIdentity,
};
pub use middleware::{AuthMiddleware, AuthService, ResponseFuture};
pub use require::{RequireAuth, RequireAuthService};
pub use response::MissingMiddlewareRejection;
