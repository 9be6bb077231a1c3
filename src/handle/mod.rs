//! Handles that adapters hand to handlers: one per request, cheap to clone,
//! the same type in every framework (each adapter only implements its
//! extractor or guard for them).
//!
//! ```
//! use std::sync::Arc;
//! use portcullis::SessionHandle;
//! use portcullis::{Authenticator, RequestView};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = Authenticator::builder().build().unwrap();
//! let outcome = auth.authenticate(&RequestView::new("POST")).await;
//! let session = SessionHandle::new(outcome.clone());
//! let info = session.login("alice", vec!["user".into()]).await.unwrap();
//! assert_eq!(info.user, "alice");
//! assert!(outcome.take_response_headers().any(|(n, _)| n == "set-cookie"));
//! # });
//! ```

use std::sync::Arc;

use crate::auth::{AuthOutcome, Authenticator, LoginInfo};
use crate::events::EventKind;
use crate::identity::Identity;
use crate::jwt::TokenPair;
use crate::rejection::{Rejection, Scheme};
use crate::session::SessionInfo;
use crate::throttle::LoginAttempt;

mod admin;
mod data;

/// The accessors both handles share (each is a view of one outcome).
macro_rules! outcome_accessors {
    ($($handle:ident),+) => {$(
        impl $handle {
            /// The caller, if authenticated (by any credential).
            #[must_use]
            pub fn identity(&self) -> Option<&Identity> {
                self.outcome.state.identity()
            }

            /// This request's authentication outcome.
            #[must_use]
            pub fn outcome(&self) -> &Arc<AuthOutcome> {
                &self.outcome
            }

            /// The authenticator.
            #[must_use]
            pub fn authenticator(&self) -> &Authenticator {
                self.outcome.authenticator()
            }
        }
    )+};
}

/// The cookie-session handle of a request: log in, rotate, log out, log out
/// everywhere, list, CSRF token. Taking one never fails (a login route must
/// work for anonymous callers); each operation checks what it needs.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    outcome: Arc<AuthOutcome>,
}

impl SessionHandle {
    /// The handle for a request whose outcome is `outcome`.
    #[must_use]
    pub fn new(outcome: Arc<AuthOutcome>) -> Self {
        SessionHandle { outcome }
    }

    /// The login attempt of `username`, before its password is checked:
    /// 429 [`RejectionKind::TooManyAttempts`](crate::RejectionKind::TooManyAttempts)
    /// with `Retry-After` while it is throttled (then do not check the
    /// password), 503 when the counters cannot be read. Report the check
    /// with [`LoginAttempt::failed`] (which answers the 401) or
    /// [`LoginAttempt::succeeded`], then [`login`](Self::login). Call it
    /// after [`check_login_origin`](Self::check_login_origin) and after
    /// reading the body, so answers come in the order 403, 4xx, 503, 429,
    /// 401. Pass the username as your user lookup normalises it (a
    /// case-insensitive lookup wants a lower-cased name), so spelling
    /// variants count as one.
    ///
    /// ```
    /// use portcullis::{Rejection, SessionHandle};
    /// async fn login(session: SessionHandle, user: &str, password: &str) -> Result<String, Rejection> {
    ///     session.check_login_origin()?;
    ///     let attempt = session.login_attempt(user).await?;
    ///     if password != "correct horse" {
    ///         return Err(attempt.failed().await);
    ///     }
    ///     attempt.succeeded().await?;
    ///     Ok(session.login(user, vec![]).await?.csrf_token)
    /// }
    /// ```
    ///
    /// # Errors
    /// 429 while throttled; 503 when the store fails.
    pub async fn login_attempt(&self, username: &str) -> Result<LoginAttempt, Rejection> {
        self.outcome
            .authenticator()
            .login_attempt(
                &self.outcome,
                username,
                Scheme::Session,
                EventKind::LoginFailed,
            )
            .await
    }

    /// Log `user` in with `roles`: every session the request's cookies named
    /// ends (fixation defence), a fresh one is created and its cookie queued.
    /// The cookie is persistent unless the policy says
    /// [`browser_session_cookie`](crate::CookiePolicy::browser_session_cookie);
    /// [`login_remember`](Self::login_remember) chooses per login.
    ///
    /// # Errors
    /// 503 when the store fails; 403 past a refusing session cap or for a
    /// cross-origin request.
    pub async fn login(&self, user: &str, roles: Vec<String>) -> Result<LoginInfo, Rejection> {
        self.outcome
            .authenticator()
            .login(&self.outcome, user, roles, None)
            .await
    }

    /// [`login`](Self::login), choosing "remember me" for this login: with
    /// `true` the cookie is persistent (`Max-Age` = the session's
    /// remaining absolute life, whose absolute timeout is
    /// [`remember_absolute_timeout`](crate::SessionConfig::remember_absolute_timeout));
    /// with `false` it is a browser-session cookie (no `Max-Age`). Every
    /// later cookie of the session (rotation, re-authentication) keeps the
    /// choice; the server's timeouts apply either way.
    ///
    /// ```
    /// use portcullis::{Authenticator, RequestView, SessionHandle};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let cookie_of = |remember: bool| {
    ///     let auth = auth.clone();
    ///     async move {
    ///         let outcome = auth.authenticate(&RequestView::new("POST")).await;
    ///         let session = SessionHandle::new(outcome.clone());
    ///         session.login_remember("alice", vec![], remember).await.unwrap();
    ///         outcome.take_response_headers().find(|(n, _)| *n == "set-cookie").unwrap().1
    ///     }
    /// };
    /// assert!(cookie_of(true).await.contains("Max-Age="));
    /// assert!(!cookie_of(false).await.contains("Max-Age="));
    /// # });
    /// ```
    ///
    /// # Errors
    /// As [`login`](Self::login).
    pub async fn login_remember(
        &self,
        user: &str,
        roles: Vec<String>,
        remember: bool,
    ) -> Result<LoginInfo, Rejection> {
        self.outcome
            .authenticator()
            .login(&self.outcome, user, roles, Some(remember))
            .await
    }

    /// The attempt of re-authenticating the current session's user (step-up
    /// before a sensitive action), before the password is checked: counted
    /// and throttled like a login of that user, audited as
    /// `reauth.failed`. On success call
    /// [`reauthenticate`](Self::reauthenticate); a failure
    /// ([`LoginAttempt::failed`]) leaves the session as it was.
    ///
    /// ```
    /// use portcullis::{Rejection, SessionHandle};
    /// async fn reauth(session: SessionHandle, password: &str) -> Result<String, Rejection> {
    ///     let attempt = session.reauth_attempt().await?;
    ///     if password != "correct horse" {
    ///         return Err(attempt.failed().await);
    ///     }
    ///     attempt.succeeded().await?;
    ///     session.reauthenticate().await
    /// }
    /// ```
    ///
    /// # Errors
    /// 401/403 without a valid, CSRF-checked session or for a cross-origin
    /// request; 429 while throttled; 503 when the store fails.
    pub async fn reauth_attempt(&self) -> Result<LoginAttempt, Rejection> {
        self.outcome
            .authenticator()
            .reauth_attempt(&self.outcome)
            .await
    }

    /// The current session's user proved a credential again: the session
    /// counts as recent for
    /// [`Requirement::AuthenticatedWithin`](crate::Requirement::AuthenticatedWithin)
    /// from now, and its ID and CSRF token rotate (a privilege change; the
    /// old cookie and token stop working). Returns the new CSRF token.
    ///
    /// # Errors
    /// 401/403 without a valid, CSRF-checked session or for a cross-origin
    /// request; 503 when the store fails.
    pub async fn reauthenticate(&self) -> Result<String, Rejection> {
        self.outcome
            .authenticator()
            .reauthenticate(&self.outcome)
            .await
    }

    /// Refuse a cookie-session login (or re-authentication) that fails the
    /// cross-origin rule, with or without a cookie: a cross-site form must
    /// not log the victim into the attacker's account (login CSRF). Call
    /// it first in a login handler, before reading the body or checking a
    /// password, so the answer is the same whatever the credentials;
    /// [`login`](Self::login) checks it again.
    ///
    /// ```
    /// use portcullis::{Authenticator, RequestView, SessionHandle};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let mut view = RequestView::new("POST");
    /// view.add_header("sec-fetch-site", b"cross-site");
    /// let outcome = auth.authenticate(&view).await;
    /// let session = SessionHandle::new(outcome.clone());
    /// assert_eq!(session.check_login_origin().unwrap_err().status(), 403);
    /// assert_eq!(session.login("alice", vec![]).await.unwrap_err().status(), 403);
    /// assert!(outcome.take_response_headers().all(|(n, _)| n != "set-cookie"));
    /// # });
    /// ```
    ///
    /// # Errors
    /// 403 for a request that fails the cross-origin rule.
    pub fn check_login_origin(&self) -> Result<(), Rejection> {
        self.outcome
            .authenticator()
            .check_login_origin(&self.outcome)
    }

    /// Give the current session a new ID and CSRF token (call on privilege
    /// change); returns the new CSRF token.
    ///
    /// # Errors
    /// 401/403 without a valid, CSRF-checked session; 503 on store failure.
    pub async fn rotate(&self) -> Result<String, Rejection> {
        self.outcome.authenticator().rotate(&self.outcome).await
    }

    /// End this session (the store record and the cookie).
    ///
    /// # Errors
    /// 401/403 without a valid, CSRF-checked session; 503 on store failure.
    pub async fn logout(&self) -> Result<(), Rejection> {
        self.outcome.authenticator().logout(&self.outcome).await
    }

    /// Log this user out everywhere: every session and refresh family
    /// ends and every access token issued before now is refused
    /// ([`Authenticator::logout_everywhere`]).
    ///
    /// # Errors
    /// 401/403 without a valid, CSRF-checked session; 503 on store failure.
    pub async fn logout_all(&self) -> Result<(), Rejection> {
        self.outcome.authenticator().logout_all(&self.outcome).await
    }

    /// This user's devices: live cookie sessions and refresh-token
    /// families, oldest first (`current` marks this session).
    ///
    /// # Errors
    /// 401 without a valid session; 503 on store failure.
    pub async fn list(&self) -> Result<Vec<SessionInfo>, Rejection> {
        self.outcome
            .authenticator()
            .list_devices(&self.outcome, Scheme::Session)
            .await
    }

    /// End this user's session or token family whose
    /// [`id_hint`](SessionInfo::id_hint) is `id_hint` (ending a family
    /// refuses every access token minted from it); ending this very session
    /// also queues the removal cookie. Another user's hint is not found,
    /// exactly like an unknown one.
    ///
    /// # Errors
    /// 404 [`RejectionKind::NotFound`](crate::RejectionKind::NotFound) for
    /// a hint the caller does not own; 401/403 without a valid,
    /// CSRF-checked session; 503 on store failure.
    pub async fn revoke(&self, id_hint: &str) -> Result<(), Rejection> {
        self.outcome
            .authenticator()
            .revoke_device(&self.outcome, Scheme::Session, id_hint)
            .await
    }

    /// Sign out every other device: every other session and token family
    /// of this user ends; this session stays valid.
    ///
    /// # Errors
    /// 401/403 without a valid, CSRF-checked session; 503 on store failure.
    pub async fn logout_others(&self) -> Result<(), Rejection> {
        self.outcome
            .authenticator()
            .end_other_devices(&self.outcome, Scheme::Session)
            .await
    }

    /// The current session's CSRF token, if a session is active.
    #[must_use]
    pub fn csrf_token(&self) -> Option<String> {
        self.outcome.authenticator().csrf_token(&self.outcome)
    }
}

/// The token handle of a request: issue, refresh and revoke tokens.
/// Responses carrying tokens are marked `Cache-Control: no-store`.
#[derive(Debug, Clone)]
pub struct TokenHandle {
    outcome: Arc<AuthOutcome>,
}

impl TokenHandle {
    /// The handle for a request whose outcome is `outcome`.
    #[must_use]
    pub fn new(outcome: Arc<AuthOutcome>) -> Self {
        TokenHandle { outcome }
    }

    /// The login attempt of `username` for a token login, before its
    /// password is checked; as
    /// [`SessionHandle::login_attempt`](crate::SessionHandle::login_attempt),
    /// with the same counts, answered in the bearer scheme.
    ///
    /// # Errors
    /// 429 while throttled; 503 when the store fails.
    pub async fn login_attempt(&self, username: &str) -> Result<LoginAttempt, Rejection> {
        self.outcome
            .authenticator()
            .login_attempt(
                &self.outcome,
                username,
                Scheme::Bearer,
                EventKind::LoginFailed,
            )
            .await
    }

    /// Issue an access/refresh pair for `subject` (after checking the
    /// password).
    ///
    /// # Errors
    /// 503 when the store fails; 401 when token mode is off.
    pub async fn issue(&self, subject: &str, roles: &[String]) -> Result<TokenPair, Rejection> {
        self.outcome
            .authenticator()
            .issue_tokens(&self.outcome, subject, roles)
            .await
    }

    /// Exchange `refresh_token` for a new pair; the old one is spent, and
    /// presenting a spent one revokes its whole family.
    ///
    /// # Errors
    /// 401 for an invalid, spent or revoked refresh token; 503 on store failure.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, Rejection> {
        self.outcome
            .authenticator()
            .refresh_tokens(&self.outcome, refresh_token)
            .await
    }

    /// Revoke the request's bearer token and end its refresh family (with
    /// every access token minted from it).
    ///
    /// # Errors
    /// 401 without a valid bearer token; 503 on store failure.
    pub async fn logout(&self) -> Result<(), Rejection> {
        self.outcome
            .authenticator()
            .token_logout(&self.outcome)
            .await
    }

    /// Log the bearer's user out everywhere: every access token issued
    /// before now is refused and every refresh family and cookie session
    /// ends ([`Authenticator::logout_everywhere`]).
    ///
    /// # Errors
    /// 401 without a valid bearer token; 503 on store failure.
    pub async fn logout_all(&self) -> Result<(), Rejection> {
        self.outcome
            .authenticator()
            .token_logout_all(&self.outcome)
            .await
    }

    /// The bearer's user's devices, as [`SessionHandle::list`]; `current`
    /// marks the family of the presented token.
    ///
    /// # Errors
    /// 401 without a valid bearer token; 503 on store failure.
    pub async fn list(&self) -> Result<Vec<SessionInfo>, Rejection> {
        self.outcome
            .authenticator()
            .list_devices(&self.outcome, Scheme::Bearer)
            .await
    }

    /// End one of the bearer's user's credentials by hint, as
    /// [`SessionHandle::revoke`].
    ///
    /// # Errors
    /// 404 for a hint the caller does not own; 401 without a valid bearer
    /// token; 503 on store failure.
    pub async fn revoke(&self, id_hint: &str) -> Result<(), Rejection> {
        self.outcome
            .authenticator()
            .revoke_device(&self.outcome, Scheme::Bearer, id_hint)
            .await
    }

    /// End every session and token family of the bearer's user but the
    /// presented token's family.
    ///
    /// # Errors
    /// 401 without a valid bearer token; 503 on store failure.
    pub async fn logout_others(&self) -> Result<(), Rejection> {
        self.outcome
            .authenticator()
            .end_other_devices(&self.outcome, Scheme::Bearer)
            .await
    }
}

outcome_accessors!(SessionHandle, TokenHandle);
