//! [`Session`]: the cookie-session handle (log in, rotate, log out, list).

use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};

use crate::auth::{AuthOutcome, Authenticator, LoginInfo};
use crate::identity::Identity;
use crate::rejection::Rejection;
use crate::session::SessionInfo;

use super::outcome::{authenticator, missing_fairing, outcome};

/// The cookie-session handle of a request.
///
/// The guard itself never fails (a login route must work for anonymous
/// callers and for callers with a dead cookie); each operation checks what
/// it needs and returns the core's [`Rejection`], which is a
/// [`Responder`](rocket::response::Responder). Cookies are sent by
/// [`PortcullisFairing`](super::PortcullisFairing) on the way out, with
/// `Cache-Control: no-store`.
///
/// ```
/// use rocket::serde::json::Json;
/// use portcullis::rocket::Session;
/// use portcullis::Rejection;
///
/// #[rocket::post("/login")]
/// async fn login(session: Session<'_>) -> Result<Json<portcullis::auth::LoginInfo>, Rejection> {
///     // ... check the password first ...
///     Ok(Json(session.login("alice", vec!["user".into()]).await?))
/// }
///
/// #[rocket::post("/logout")]
/// async fn logout(session: Session<'_>) -> Result<rocket::http::Status, Rejection> {
///     session.logout().await?; // 401/403 (CSRF) unless a valid session
///     Ok(rocket::http::Status::NoContent)
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Session<'r> {
    auth: &'r Authenticator,
    outcome: &'r Arc<AuthOutcome>,
}

impl<'r> Session<'r> {
    /// Log `user` in with a fresh session ID (every session the request's
    /// cookies named ends: fixation defence) and queue its `Set-Cookie`.
    ///
    /// # Errors
    /// 503 when the store fails; 403 past a refusing session cap.
    pub async fn login(&self, user: &str, roles: Vec<String>) -> Result<LoginInfo, Rejection> {
        self.auth.login(self.outcome, user, roles).await
    }

    /// Give the current session a new ID and CSRF token (call on privilege
    /// change); returns the new CSRF token.
    ///
    /// # Errors
    /// 401/403 without a valid session (or on CSRF failure); 503 on store
    /// failure.
    pub async fn rotate(&self) -> Result<String, Rejection> {
        self.auth.rotate(self.outcome).await
    }

    /// End the current session and queue the removal cookie.
    ///
    /// # Errors
    /// 401/403 without a valid session (or on CSRF failure); 503 on store
    /// failure.
    pub async fn logout(&self) -> Result<(), Rejection> {
        self.auth.logout(self.outcome).await
    }

    /// End every session of the current user and queue the removal cookie.
    ///
    /// # Errors
    /// 401/403 without a valid session (or on CSRF failure); 503 on store
    /// failure.
    pub async fn logout_all(&self) -> Result<(), Rejection> {
        self.auth.logout_all(self.outcome).await
    }

    /// The current user's sessions (`current` marks this one).
    ///
    /// # Errors
    /// 401 without a valid session; 503 on store failure.
    pub async fn list(&self) -> Result<Vec<SessionInfo>, Rejection> {
        self.auth.list_sessions(self.outcome).await
    }

    /// The current session's CSRF token, if a session is active.
    #[must_use]
    pub fn csrf_token(&self) -> Option<String> {
        self.auth.csrf_token(self.outcome)
    }

    /// The caller, if authenticated (by any credential).
    #[must_use]
    pub fn identity(&self) -> Option<&'r Identity> {
        self.outcome.state.identity()
    }

    /// The request's whole authentication outcome.
    #[must_use]
    pub fn outcome(&self) -> &'r Arc<AuthOutcome> {
        self.outcome
    }

    /// The authenticator.
    #[must_use]
    pub fn authenticator(&self) -> &'r Authenticator {
        self.auth
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Session<'r> {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        match (authenticator(req), outcome(req).await) {
            (Some(auth), Some(outcome)) => Outcome::Success(Session { auth, outcome }),
            _ => missing_fairing(),
        }
    }
}
