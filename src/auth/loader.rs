//! Per-request user loading: an opt-in hook that asks the application's
//! own database for the current user on every authenticated request.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::StoreError;
use crate::identity::{AuthMethod, AuthState, Identity};
use crate::rejection::{Rejection, RejectionKind};

/// Loads the current user from the application's database on each
/// authenticated request, so a deleted, locked or demoted user is out at
/// once, without any revocation call (axum-login's `AuthnBackend::get_user`).
/// Set it with
/// [`AuthenticatorBuilder::user_loader`](crate::AuthenticatorBuilder::user_loader);
/// without one, the roles stored with the session or token are used.
///
/// It runs once per request, after the credential was verified: its answer
/// is the request's identity for every extractor, guard and handle.
/// `Ok(Some(roles))` replaces the roles; `Ok(None)` (no such user any more,
/// or locked) makes the request anonymous, 401; an error fails it closed,
/// 503.
///
/// ```
/// use std::sync::Arc;
/// use portcullis::{Authenticator, StoreError, UserLoader};
///
/// struct Users; // e.g. a database pool
/// #[async_trait::async_trait]
/// impl UserLoader for Users {
///     async fn roles(&self, user: &str) -> Result<Option<Vec<String>>, StoreError> {
///         // SELECT roles FROM users WHERE id = $1 AND NOT locked
///         Ok((user == "alice").then(|| vec!["user".to_owned()]))
///     }
/// }
///
/// let auth = Authenticator::builder().user_loader(Arc::new(Users)).build().unwrap();
/// # let _ = auth;
/// ```
#[async_trait]
pub trait UserLoader: Send + Sync + 'static {
    /// The current roles of `user`, or `None` when the user may no longer
    /// sign in.
    ///
    /// # Errors
    /// A failure of the application's database (the request gets 503).
    async fn roles(&self, user: &str) -> Result<Option<Vec<String>>, StoreError>;
}

/// The state of a request once `loader` has seen its caller.
pub(super) async fn load_user(
    loader: &Arc<dyn UserLoader>,
    state: AuthState,
    now: u64,
) -> AuthState {
    let AuthState::Authenticated(id) = state else {
        return state;
    };
    match loader.roles(id.subject()).await {
        Ok(Some(roles)) if roles == id.roles() => AuthState::Authenticated(id),
        Ok(Some(roles)) => AuthState::Authenticated(id.with_roles(roles, now)),
        Ok(None) => {
            let kind = match id.method() {
                AuthMethod::Bearer(_) => RejectionKind::InvalidToken,
                _ => RejectionKind::InvalidSession,
            };
            AuthState::Anonymous(Rejection::new(kind, id.scheme()))
        }
        Err(e) => {
            tracing::warn!(error = %e, "user loader failure");
            AuthState::Failed(Rejection::new(RejectionKind::StoreUnavailable, id.scheme()))
        }
    }
}

impl Identity {
    /// This identity with `roles` instead of its own (a session identity
    /// keeps its record's other fields, so step-up checks still work).
    fn with_roles(&self, roles: Vec<String>, now: u64) -> Identity {
        match self.method() {
            AuthMethod::Session(key) => match self.session_record() {
                Some(record) => {
                    let mut record = crate::store::SessionRecord::clone(record);
                    record.roles = roles.into();
                    Identity::from_session(*key, Arc::new(record), now)
                }
                None => Identity::new(self.subject(), roles, self.method().clone()),
            },
            method => Identity::new(self.subject(), roles, method.clone()),
        }
    }
}
