//! The token-mode guard: [`TokenHandle`](crate::TokenHandle) (issue,
//! refresh, log out, log out everywhere).
//!
//! The guard itself never fails once the fairing is attached (login and
//! refresh routes serve callers without an access token); each operation
//! returns the core's [`Rejection`] on failure. Responses carrying tokens
//! are sent with `Cache-Control: no-store` by
//! [`PortcullisFairing`](super::PortcullisFairing).
//!
//! ```
//! use rocket::serde::json::Json;
//! use portcullis::jwt::TokenPair;
//! use portcullis::TokenHandle;
//! use portcullis::Rejection;
//!
//! #[rocket::post("/jwt/login")]
//! async fn login(tokens: TokenHandle) -> Result<Json<TokenPair>, Rejection> {
//!     // ... check the password first ...
//!     Ok(Json(tokens.issue("alice", &["user".to_owned()]).await?))
//! }
//!
//! #[rocket::post("/jwt/logout")]
//! async fn logout(tokens: TokenHandle) -> Result<rocket::http::Status, Rejection> {
//!     tokens.logout().await?; // 401 without a valid bearer token
//!     Ok(rocket::http::Status::NoContent)
//! }
//! ```

use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};

use crate::handle::TokenHandle;
use crate::rejection::Rejection;

use super::outcome::{missing_fairing, outcome};

#[rocket::async_trait]
impl<'r> FromRequest<'r> for TokenHandle {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        match outcome(req).await {
            Some(outcome) => Outcome::Success(TokenHandle::new(Arc::clone(outcome))),
            None => missing_fairing(),
        }
    }
}
