//! The cookie-session guard: [`SessionHandle`](crate::SessionHandle) (log
//! in, rotate, log out, log out everywhere, list, CSRF token).
//!
//! The guard itself never fails once the fairing is attached (a login route
//! must work for anonymous callers and for callers with a dead cookie); each
//! operation checks what it needs and returns the core's
//! [`Rejection`], which is a [`Responder`](rocket::response::Responder).
//! Cookies are sent by [`PortcullisFairing`](super::PortcullisFairing) on the
//! way out, with `Cache-Control: no-store`.
//!
//! ```
//! use rocket::serde::json::Json;
//! use portcullis::SessionHandle;
//! use portcullis::Rejection;
//!
//! #[rocket::post("/login")]
//! async fn login(session: SessionHandle) -> Result<Json<portcullis::LoginInfo>, Rejection> {
//!     // ... check the password first ...
//!     Ok(Json(session.login("alice", vec!["user".into()]).await?))
//! }
//!
//! #[rocket::post("/logout")]
//! async fn logout(session: SessionHandle) -> Result<rocket::http::Status, Rejection> {
//!     session.logout().await?; // 401/403 (CSRF) unless a valid session
//!     Ok(rocket::http::Status::NoContent)
//! }
//! ```

use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};

use crate::handle::SessionHandle;
use crate::rejection::Rejection;

use super::outcome::{missing_fairing, outcome};

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SessionHandle {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        match outcome(req).await {
            Some(outcome) => Outcome::Success(SessionHandle::new(Arc::clone(outcome))),
            None => missing_fairing(),
        }
    }
}
