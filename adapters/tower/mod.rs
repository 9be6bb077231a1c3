//! tower middleware (feature `tower`) and axum extractors (feature `axum`).
//!
//! Two layers, in the tower-http mould:
//!
//! - [`AuthLayer`] → [`Auth<S>`](Auth) → [`ResponseFuture`]: authenticates
//!   every request once with [`Authenticator::authenticate`](crate::Authenticator::authenticate),
//!   puts `Arc<`[`AuthOutcome`](crate::auth::AuthOutcome)`>` (which also
//!   gives access to the [`Authenticator`](crate::Authenticator)) into the
//!   request extensions, and on the way out appends the `Set-Cookie` the core queued and sets
//!   `Cache-Control: no-store` when asked. It never refuses a request.
//! - [`RequireLayer`] → [`Require<S, R>`](Require) → [`RequireFuture`]:
//!   refuses requests that do not meet a [`Requirement`](crate::Requirement)
//!   (401, 403, 400 for malformed credentials, 503 when the store is down),
//!   optionally only for one [`Scheme`](crate::Scheme). The answer is the
//!   core's [`Rejection`](crate::Rejection) turned into a response in one
//!   place ([`rejection_response`]); replace it with a
//!   [`RejectionResponder`] (a closure, or a
//!   [`LoginRedirect`](crate::redirect::LoginRedirect) for HTML routes).
//!   The rejection is attached to the response extensions for logging.
//!
//! The feature `tower` needs no web framework: bodies are generic (`B`),
//! rejection bodies need `B: From<&'static str>` (axum's `Body`, `String`,
//! `http_body_util::Full<Bytes>`). The peer IP comes from a
//! [`SocketAddr`](std::net::SocketAddr) extension by default; see
//! [`AuthLayer::peer_ip`] for axum's `ConnectInfo`.
//!
//! ```
//! use portcullis::{Authenticator, Rejection, Scheme};
//! use portcullis::tower::{AuthLayer, RequireLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = Authenticator::builder().build().unwrap();
//!
//! // Log alice in out of band and keep her cookie.
//! let anonymous = auth.authenticate(&portcullis::RequestView::new("POST")).await;
//! auth.login(&anonymous, "alice", vec!["user".into()]).await.unwrap();
//! let set_cookie = anonymous.response.take().set_cookie.unwrap();
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
//! With the `axum` feature, [`axum`] adds extractors
//! (`Identity`, `Option<Identity>`, `BearerIdentity`, `SessionIdentity`,
//! `RequireRole<R, S>`, `SessionHandle`, `TokenHandle`) and `IntoResponse`
//! for [`Rejection`](crate::Rejection).

mod future;
mod layer;
mod response;
mod service;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;

#[cfg(test)]
mod tests;

pub use future::{RequireFuture, ResponseFuture};
pub use layer::{default_peer_ip, AuthLayer, PeerIpFn, RequireLayer};
#[cfg(test)]
use response::MISSING_LAYER_BODY;
pub use response::{missing_layer_response, rejection_response, JsonResponder, RejectionResponder};
pub use service::{Auth, Require};
