//! What one request's authentication hands on: [`AuthOutcome`], the
//! response headers it queues, and the login body.

use std::sync::Mutex;

use crate::cookie::MAX_CANDIDATES;
use crate::id::SessionKey;
use crate::identity::AuthState;
use crate::rejection::RejectionKind;
use crate::session::{ActiveSession, ClientInfo};

use super::Authenticator;

/// Headers the core asks the adapter to add to the response.
#[derive(Debug, Default)]
pub(crate) struct ResponseHeaders {
    inner: Mutex<PendingHeaders>,
}

/// What [`ResponseHeaders::take`] hands to the adapter. `Debug` does not
/// show the `Set-Cookie` value (it carries a session ID).
#[derive(Default, Clone, PartialEq, Eq)]
pub(crate) struct PendingHeaders {
    /// A `Set-Cookie` value (a new session, or a removal cookie).
    pub(crate) set_cookie: Option<String>,
    /// Send `Cache-Control: no-store`: the request carried a session
    /// cookie or a bearer token, or the response sets or clears an ID or
    /// carries tokens (a shared cache must never keep such an answer).
    pub(crate) no_store: bool,
    /// Send `Vary: Cookie`: the answer depends on the session cookie (every
    /// response of a route that reads it, with or without a cookie).
    pub(crate) vary_cookie: bool,
}

impl std::fmt::Debug for PendingHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingHeaders")
            .field("set_cookie", &self.set_cookie.as_ref().map(|_| "REDACTED"))
            .field("no_store", &self.no_store)
            .field("vary_cookie", &self.vary_cookie)
            .finish()
    }
}

impl ResponseHeaders {
    /// What every response of a request starts with (see
    /// [`PendingHeaders`]).
    pub(super) fn start(no_store: bool, vary_cookie: bool) -> Self {
        ResponseHeaders {
            inner: Mutex::new(PendingHeaders {
                set_cookie: None,
                no_store,
                vary_cookie,
            }),
        }
    }

    pub(super) fn pending_mut(&mut self) -> &mut PendingHeaders {
        self.inner
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PendingHeaders> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Ask for a `Set-Cookie` (replacing any earlier one) and `no-store`.
    pub(crate) fn set_cookie(&self, value: String) {
        let mut p = self.lock();
        p.set_cookie = Some(value);
        p.no_store = true;
    }
    /// Ask for `Cache-Control: no-store` (e.g. a body carrying tokens).
    pub(crate) fn no_store(&self) {
        self.lock().no_store = true;
    }
    /// Take what is pending (adapters call this once, on the way out).
    #[must_use]
    pub(crate) fn take(&self) -> PendingHeaders {
        std::mem::take(&mut *self.lock())
    }
}

/// The distinct keys of the session cookies a request presented (at most
/// [`MAX_CANDIDATES`], as the cookie parser yields), kept inline: a request
/// with a cookie allocates nothing for them.
#[derive(Clone, Copy)]
pub(crate) struct Presented {
    keys: [SessionKey; MAX_CANDIDATES],
    len: usize,
}

impl Default for Presented {
    fn default() -> Self {
        Presented {
            keys: [SessionKey::from_bytes([0; 32]); MAX_CANDIDATES],
            len: 0,
        }
    }
}

impl Presented {
    /// Add `key` unless it is there already (the same cookie sent twice
    /// names one session) or the set is full.
    pub(crate) fn insert(&mut self, key: SessionKey) {
        if self.len < MAX_CANDIDATES && !self.as_slice().contains(&key) {
            self.keys[self.len] = key;
            self.len += 1;
        }
    }

    pub(crate) fn as_slice(&self) -> &[SessionKey] {
        &self.keys[..self.len]
    }
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The result of [`Authenticator::authenticate`] for one request; adapters
/// keep it in the request's extensions for extractors and handlers. It
/// remembers the [`Authenticator`] that produced it, so one value is all a
/// handler needs for later operations (login, logout, tokens).
#[derive(Debug)]
#[non_exhaustive]
pub struct AuthOutcome {
    /// Authenticated, anonymous or failed.
    pub state: AuthState,
    /// The live session when the cookie named one (even if CSRF failed).
    pub(crate) session: Option<ActiveSession>,
    /// Keys of every well-formed session cookie presented (ended at login).
    pub(crate) presented: Presented,
    /// The client's IP (after the trusted-proxy rule) and User-Agent
    /// (recorded at login).
    pub(crate) client: ClientInfo,
    /// Why an unsafe request fails the cross-origin rule, if it does
    /// (checked for every unsafe request, with or without a cookie: a
    /// cookie-session login refuses it, see [`Authenticator::login`]).
    pub(crate) cross_origin: Option<RejectionKind>,
    /// Headers to add to the response.
    pub(crate) response: ResponseHeaders,
    /// The session as this request left it, once it logged in, rotated,
    /// wrote data or logged out (`Some(None)`), so later operations of the
    /// same request act on the session as it now is.
    pub(crate) latest: Mutex<Option<Option<ActiveSession>>>,
    pub(super) auth: Authenticator,
}

impl AuthOutcome {
    /// Remember the session as this request left it (`None`: ended).
    pub(crate) fn set_latest(&self, session: Option<ActiveSession>) {
        *self
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(session);
    }

    /// The session as this request left it, if it changed it.
    pub(crate) fn latest(&self) -> Option<Option<ActiveSession>> {
        self.latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Take the headers the core queued for the response, as `(name,
    /// value)` pairs with lower-case names: `set-cookie` (a new session or a
    /// removal cookie), `cache-control: no-store` (the request carried a
    /// credential, or the answer sets one) and `vary: Cookie`. An adapter
    /// of another framework appends them on the way out, once: a second
    /// call yields nothing. The `set-cookie` value carries a session ID:
    /// never log it.
    ///
    /// ```
    /// use portcullis::{Authenticator, RequestView, SessionHandle};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let outcome = auth.authenticate(&RequestView::new("POST")).await;
    /// SessionHandle::new(outcome.clone()).login("alice", vec![]).await.unwrap();
    /// let headers: Vec<_> = outcome.take_response_headers().collect();
    /// assert!(headers.iter().any(|(n, v)| *n == "set-cookie" && v.starts_with("__Host-id=")));
    /// assert!(headers.contains(&("cache-control", "no-store".to_owned())));
    /// assert_eq!(outcome.take_response_headers().count(), 0);
    /// # });
    /// ```
    pub fn take_response_headers(&self) -> impl Iterator<Item = (&'static str, String)> {
        let p = self.response.take();
        [
            p.set_cookie.map(|v| ("set-cookie", v)),
            p.no_store.then(|| ("cache-control", "no-store".to_owned())),
            p.vary_cookie.then(|| ("vary", "Cookie".to_owned())),
        ]
        .into_iter()
        .flatten()
    }

    /// The authenticator that produced this outcome.
    ///
    /// ```
    /// use portcullis::{Authenticator, RequestView};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let outcome = auth.authenticate(&RequestView::new("GET")).await;
    /// assert!(outcome.authenticator().tokens().is_none());
    /// # });
    /// ```
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }
}

/// The body a login handler returns: who logged in and the CSRF token.
/// `Debug` does not show the token.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LoginInfo {
    /// The user ID.
    pub user: String,
    /// The roles.
    pub roles: Vec<String>,
    /// The CSRF token to send as `X-CSRF-Token` on unsafe requests.
    pub csrf_token: String,
}

impl std::fmt::Debug for LoginInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginInfo")
            .field("user", &self.user)
            .field("roles", &self.roles)
            .field("csrf_token", &"REDACTED")
            .finish()
    }
}
