//! tower middleware (feature `tower`) and axum extractors (feature `axum`).
//!
//! Two layers, in the tower-http mould:
//!
//! - [`AuthLayer`] authenticates every request once with
//!   [`Authenticator::authenticate`](crate::Authenticator::authenticate),
//!   puts the `Arc<`[`AuthOutcome`](crate::AuthOutcome)`>` (which also
//!   gives access to the [`Authenticator`](crate::Authenticator)) into the
//!   request extensions, and on the way out appends the `Set-Cookie` the
//!   core queued and sets `Cache-Control: no-store` when asked. It never
//!   refuses a request.
//! - [`RequireLayer`] refuses requests that do not meet a
//!   [`Requirement`](crate::Requirement) (401, 403, 400 for malformed credentials, 503 when the store is down),
//!   optionally only for one [`Scheme`](crate::Scheme). The answer is the
//!   core's [`Rejection`](crate::Rejection) turned into a response in one
//!   place; [`RequireLayer::responder`] replaces it with a closure, and
//!   [`RequireLayer::login_redirect`] sends HTML routes to the login page.
//!   The rejection is attached to the response extensions for logging.
//!
//! The services and futures the layers build are named by the compiler
//! only (as in actix-web's adapter): nothing to import, nothing to learn.
//!
//! The feature `tower` needs no web framework: bodies are generic (`B`),
//! rejection bodies need `B: From<&'static str>` (axum's `Body`, `String`,
//! `http_body_util::Full<Bytes>`). The peer IP comes from a
//! [`SocketAddr`](std::net::SocketAddr) extension by default; see
//! [`AuthLayer::peer_ip`] for axum's `ConnectInfo`.
//!
//! ```
//! use portcullis::{Authenticator, Rejection, Scheme, SessionHandle};
//! use portcullis::tower::{AuthLayer, RequireLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = Authenticator::builder().build().unwrap();
//!
//! // Log alice in out of band and keep her cookie.
//! let anonymous = auth.authenticate(&portcullis::RequestView::new("POST")).await;
//! SessionHandle::new(anonymous.clone()).login("alice", vec!["user".into()]).await.unwrap();
//! let set_cookie = anonymous.take_response_headers().find(|(n, _)| *n == "set-cookie").unwrap().1;
//! let cookie = set_cookie.split(';').next().unwrap().to_owned();
//!
//! let svc = ServiceBuilder::new()
//!     .layer(AuthLayer::new(auth))
//!     .layer(RequireLayer::any_role(["admin"]).scheme(Scheme::Session))
//!     .service_fn(|_req: http::Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(String::from("admin area")))
//!     });
//!
//! // No cookie: 401.
//! let res = svc.clone().oneshot(http::Request::new(String::new())).await.unwrap();
//! assert_eq!(res.status(), 401);
//!
//! // alice is not an admin: 403, and the reason is in the extensions.
//! let req = http::Request::get("/admin").header("cookie", &cookie).body(String::new()).unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), 403);
//! assert_eq!(res.extensions().get::<Rejection>().unwrap().message(), "insufficient role");
//! # });
//! ```
//!
//! # axum
//!
//! With the `axum` feature the core's extractor types are axum handler
//! arguments: [`Identity`](crate::Identity),
//! [`SessionIdentity`](crate::SessionIdentity),
//! [`BearerIdentity`](crate::BearerIdentity),
//! [`OptionalIdentity`](crate::OptionalIdentity),
//! [`RequireRole`](crate::RequireRole),
//! [`SessionHandle`](crate::SessionHandle) and
//! [`TokenHandle`](crate::TokenHandle), the same types with the same
//! meaning as in the actix-web and Rocket adapters. Every refusal is the
//! core's [`Rejection`](crate::Rejection), which is `IntoResponse`; without [`AuthLayer`] in front of the route they
//! answer 500 and log the configuration error.
//!
//! ```
//! use axum::{routing::{get, post}, Router, Json};
//! use portcullis::{Authenticator, Identity, Rejection};
//! use portcullis::tower::AuthLayer;
//! use portcullis::{RequireRole, SessionHandle, SessionIdentity};
//! use tower::ServiceExt;
//!
//! portcullis::role!(Admin = "admin");
//!
//! async fn me(who: Identity) -> String {
//!     who.subject().to_owned()
//! }
//! async fn admin(who: RequireRole<Admin, SessionIdentity>) -> String {
//!     format!("hello {}", who.subject())
//! }
//! async fn logout(session: SessionHandle) -> Result<(), Rejection> {
//!     session.logout().await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = Authenticator::builder().build().unwrap();
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route("/admin", get(admin))
//!     .route("/logout", post(logout))
//!     .layer(AuthLayer::new(auth));
//!
//! let res = app.oneshot(http::Request::get("/me").body(axum::body::Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(res.status(), 401);
//! # });
//! ```

mod future;
mod layer;
mod response;
mod service;

#[cfg(feature = "axum")]
mod axum;

#[cfg(test)]
mod tests;

pub use layer::{AuthLayer, RequireLayer};
