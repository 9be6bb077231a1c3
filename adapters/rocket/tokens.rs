//! [`Tokens`]: the token-mode handle (issue, refresh, log out).

use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};

use crate::auth::{AuthOutcome, Authenticator};
use crate::identity::Identity;
use crate::jwt::TokenPair;
use crate::rejection::Rejection;

use super::outcome::{authenticator, missing_fairing, outcome};

/// The token-mode handle of a request.
///
/// The guard itself never fails (login and refresh routes serve callers
/// without an access token); each operation returns the core's
/// [`Rejection`] on failure. Responses carrying tokens are sent with
/// `Cache-Control: no-store` by [`PortcullisFairing`](super::PortcullisFairing).
///
/// ```
/// use rocket::serde::json::Json;
/// use portcullis::jwt::TokenPair;
/// use portcullis::rocket::Tokens;
/// use portcullis::Rejection;
///
/// #[rocket::post("/jwt/login")]
/// async fn login(tokens: Tokens<'_>) -> Result<Json<TokenPair>, Rejection> {
///     // ... check the password first ...
///     Ok(Json(tokens.issue("alice", &["user".to_owned()]).await?))
/// }
///
/// #[rocket::post("/jwt/logout")]
/// async fn logout(tokens: Tokens<'_>) -> Result<rocket::http::Status, Rejection> {
///     tokens.logout().await?; // 401 without a valid bearer token
///     Ok(rocket::http::Status::NoContent)
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Tokens<'r> {
    auth: &'r Authenticator,
    outcome: &'r Arc<AuthOutcome>,
}

impl<'r> Tokens<'r> {
    /// Issue an access/refresh pair to `subject` (after you checked their
    /// password); the response is marked `no-store`.
    ///
    /// # Errors
    /// 503 when the store fails; 401 when token mode is off.
    pub async fn issue(&self, subject: &str, roles: &[String]) -> Result<TokenPair, Rejection> {
        self.auth.issue_tokens(self.outcome, subject, roles).await
    }

    /// Spend `refresh_token` for a new pair (a spent token revokes its whole
    /// family); the response is marked `no-store`.
    ///
    /// # Errors
    /// 401 for an invalid, expired or spent refresh token; 503 when the
    /// store fails.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, Rejection> {
        self.auth.refresh_tokens(self.outcome, refresh_token).await
    }

    /// Revoke the caller's access token and its refresh family.
    ///
    /// # Errors
    /// 401 (`WWW-Authenticate: Bearer`) without a valid bearer token; 503
    /// when the store fails.
    pub async fn logout(&self) -> Result<(), Rejection> {
        self.auth.token_logout(self.outcome).await
    }

    /// Revoke every token issued to the caller before now.
    ///
    /// # Errors
    /// 401 (`WWW-Authenticate: Bearer`) without a valid bearer token; 503
    /// when the store fails.
    pub async fn logout_all(&self) -> Result<(), Rejection> {
        self.auth.token_logout_all(self.outcome).await
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
impl<'r> FromRequest<'r> for Tokens<'r> {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        match (authenticator(req), outcome(req).await) {
            (Some(auth), Some(outcome)) => Outcome::Success(Tokens { auth, outcome }),
            _ => missing_fairing(),
        }
    }
}
