//! The request-level core every adapter calls: authenticate a request once,
//! then log in, rotate, log out or list through the same outcome.
//!
//! Policy when a request carries both a bearer token and a session cookie:
//! **the `Authorization` header wins** and the cookie is ignored for that
//! request (so a bearer request never needs a CSRF token, and a cookie can
//! never upgrade a bad token).
//!
//! ```
//! use portcullis::{Authenticator, RequestView, Requirement, SessionHandle};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = Authenticator::builder().build().unwrap();
//!
//! // Log in (e.g. from a login handler):
//! let anonymous = auth.authenticate(&RequestView::new("POST")).await;
//! let login = SessionHandle::new(anonymous.clone()).login("alice", vec!["user".into()]).await.unwrap();
//! let set_cookie = anonymous.take_response_headers().find(|(n, _)| *n == "set-cookie").unwrap().1;
//! assert!(set_cookie.starts_with("__Host-id="));
//!
//! // The next request carries the cookie:
//! let cookie = set_cookie.split(';').next().unwrap().to_owned();
//! let mut view = RequestView::new("GET");
//! view.add_header("cookie", cookie.as_bytes());
//! let outcome = auth.authenticate(&view).await;
//! let who = outcome.state.require(&Requirement::Authenticated).unwrap();
//! assert_eq!(who.subject(), "alice");
//! # let _ = login;
//! # });
//! ```

use std::sync::Arc;

use crate::cookie::MAX_CANDIDATES;
use crate::csrf::CsrfConfig;
use crate::events::{Event, EventKind, Events};
use crate::identity::{AuthState, Identity};
use crate::jwt::{bearer_token, TokenService};
use crate::proxy::TrustedProxies;
use crate::rejection::{Rejection, RejectionKind, Scheme};
use crate::request::RequestView;
use crate::session::{ClientInfo, SessionManager};
use crate::throttle::{LoginAttempt, Throttle};

mod bearer;
mod builder;
mod data;
mod devices;
mod loader;
mod operations;
mod outcome;

pub use builder::AuthenticatorBuilder;
pub use loader::UserLoader;
#[cfg(feature = "tower")]
pub(crate) use outcome::PendingHeaders;
pub use outcome::{AuthOutcome, LoginInfo};
use outcome::{Presented, ResponseHeaders};

/// Authenticates requests by session cookie and/or bearer token.
///
/// Cheap to clone (an `Arc` inside); build one at start-up and share it.
#[derive(Clone, Debug)]
pub struct Authenticator {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) sessions: Option<SessionManager>,
    pub(super) tokens: Option<TokenService>,
    pub(super) csrf: CsrfConfig,
    pub(super) proxies: TrustedProxies,
    pub(super) throttle: Option<Throttle>,
    pub(super) events: Option<Events>,
    /// The store of sessions and refresh families (the device list).
    pub(super) store: Arc<dyn crate::store::SessionStore>,
    pub(super) clock: crate::clock::SharedClock,
    /// The application's per-request user lookup, if any.
    pub(super) loader: Option<Arc<dyn UserLoader>>,
    /// Other services whose tokens are accepted.
    #[cfg(feature = "jwks")]
    pub(super) issuers: Vec<crate::jwt::foreign::ForeignVerifier>,
    /// Every store `authenticate` asks is in this process and never waits
    /// (the memory store and list the builder made, no user loader, no
    /// trusted issuer), so [`Authenticator::authenticate_now`] answers.
    pub(super) in_process: bool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("sessions", &self.sessions)
            .field("tokens", &self.tokens)
            .field("csrf", &self.csrf)
            .field("proxies", &self.proxies)
            .field("throttle", &self.throttle)
            .field("events", &self.events)
            .field("user_loader", &self.loader.is_some())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Whether the stores answer: a readiness probe for a `/ready` route
    /// (a liveness route such as `/health` should not touch the store).
    /// Asks the session store and, in token mode, the refresh-family store
    /// and the revocation list, once each; with trusted issuers (feature
    /// `jwks`), 503 until each has had its keys loaded once.
    ///
    /// ```
    /// use portcullis::Authenticator;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// assert!(auth.ready().await.is_ok());
    /// # });
    /// ```
    ///
    /// # Errors
    /// 503 ([`RejectionKind::StoreUnavailable`]) when a store does not answer.
    pub async fn ready(&self) -> Result<(), Rejection> {
        let down = |e: crate::StoreError| {
            tracing::warn!(error = %e, "readiness probe: a store does not answer");
            Rejection::new(RejectionKind::StoreUnavailable, self.default_scheme())
        };
        if let Some(m) = &self.inner.sessions {
            m.store().ping().await.map_err(down)?;
        }
        if let Some(t) = &self.inner.tokens {
            t.ping().await.map_err(down)?;
        }
        self.issuers_ready()
    }

    /// The session manager, when sessions are enabled.
    #[must_use]
    #[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
    pub(crate) fn sessions(&self) -> Option<&SessionManager> {
        self.inner.sessions.as_ref()
    }

    /// The login attempt of `username` for the request of `outcome`,
    /// answered in `scheme` (see [`LoginThrottle`](crate::LoginThrottle)).
    pub(crate) async fn login_attempt(
        &self,
        outcome: &AuthOutcome,
        username: &str,
        scheme: Scheme,
        failure: EventKind,
    ) -> Result<LoginAttempt, Rejection> {
        let audit = self
            .inner
            .events
            .clone()
            .map(|events| (events, Event::from_client(failure, &outcome.client, scheme)));
        match &self.inner.throttle {
            Some(throttle) => {
                throttle
                    .begin(username, &outcome.client, scheme, audit)
                    .await
            }
            None => Ok(LoginAttempt::unthrottled(scheme, username, audit)),
        }
    }

    /// The token service, when token mode is enabled.
    #[must_use]
    pub fn tokens(&self) -> Option<&TokenService> {
        self.inner.tokens.as_ref()
    }

    /// The scheme a request with no credentials at all is challenged in:
    /// bearer when only token mode is on, otherwise session.
    #[must_use]
    pub fn default_scheme(&self) -> Scheme {
        if self.inner.sessions.is_none() {
            Scheme::Bearer
        } else {
            Scheme::Session
        }
    }

    /// Authenticate one request. Never fails outright: failures are in
    /// [`AuthOutcome::state`] so optional routes can still run. The outcome
    /// is shared: hand it to [`SessionHandle::new`](crate::SessionHandle::new)
    /// and [`TokenHandle::new`](crate::TokenHandle::new) for the operations,
    /// and send what [`AuthOutcome::take_response_headers`] yields with the
    /// response. The adapters do all of this; call it yourself only to
    /// plug in another framework.
    ///
    /// Each call runs in one `tracing` span, `portcullis.authenticate`, with
    /// the fields `scheme`, `outcome` (`authenticated`, `anonymous`,
    /// `failed`) and, once known, the user under OpenTelemetry's name
    /// `enduser.id`; a refused request is an event in it (`info` when the
    /// request failed outright, `debug` for a refused credential), and store
    /// failures are `warn` events. No secret is ever recorded.
    pub async fn authenticate(&self, view: &RequestView<'_>) -> Arc<AuthOutcome> {
        let span = tracing::info_span!(
            "portcullis.authenticate",
            scheme = tracing::field::Empty,
            outcome = tracing::field::Empty,
            "enduser.id" = tracing::field::Empty,
        );
        // No subscriber wants the span: entering and leaving it on every
        // poll cost ~0.6k instructions per request under callgrind.
        let traced = !span.is_disabled();
        let mut outcome = if traced {
            tracing::Instrument::instrument(self.outcome_of(view), span.clone()).await
        } else {
            self.outcome_of(view).await
        };
        if let Some(loader) = &self.inner.loader {
            let state = std::mem::replace(
                &mut outcome.state,
                AuthState::Anonymous(Rejection::session(RejectionKind::MissingCredentials)),
            );
            let load = loader::load_user(loader, state, self.inner.clock.now());
            outcome.state = if traced {
                tracing::Instrument::instrument(load, span.clone()).await
            } else {
                load.await
            };
        }
        trace_outcome(&span, &outcome);
        if let Some(events) = &self.inner.events {
            outcome.client.request_id = view
                .request_id
                .one()
                .and_then(crate::session::RequestId::parse);
            audit_refusal(events, &outcome);
        }
        Arc::new(outcome)
    }

    /// [`authenticate`](Self::authenticate) without a future to keep, when
    /// nothing it asks can wait (see `Inner::in_process`): adapters then
    /// call the handler at once instead of boxing the future. `None`:
    /// await `authenticate` (dropping a pending one is as harmless as a
    /// client that hangs up).
    #[cfg_attr(
        not(any(feature = "tower", feature = "actix-web", feature = "rocket")),
        allow(dead_code)
    )]
    pub(crate) fn authenticate_now(&self, view: &RequestView<'_>) -> Option<Arc<AuthOutcome>> {
        if !self.inner.in_process {
            return None;
        }
        let future = std::pin::pin!(self.authenticate(view));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match std::future::Future::poll(future, &mut cx) {
            std::task::Poll::Ready(outcome) => Some(outcome),
            std::task::Poll::Pending => None,
        }
    }

    /// The audit sink, when one is set.
    pub(crate) fn events(&self) -> Option<&Events> {
        self.inner.events.as_ref()
    }

    /// Emit `kind` for `user` (and `id_hint`) on the request of `outcome`.
    pub(crate) fn audit(
        &self,
        outcome: Option<&AuthOutcome>,
        kind: EventKind,
        scheme: Scheme,
        user: &str,
        id_hint: Option<String>,
    ) {
        if let Some(events) = &self.inner.events {
            let mut e = match outcome {
                Some(o) => Event::from_client(kind, &o.client, scheme),
                None => {
                    let mut e = Event::new(kind);
                    e.scheme = Some(scheme);
                    e
                }
            };
            // An administrator acting on someone else is the actor.
            e.actor = outcome
                .and_then(|o| o.state.identity())
                .map(Identity::subject)
                .filter(|actor| *actor != user)
                .map(str::to_owned);
            e.user = Some(user.to_owned());
            e.id_hint = id_hint;
            events.emit(e);
        }
    }

    /// The outcome for `view`, before it is shared.
    async fn outcome_of(&self, view: &RequestView<'_>) -> AuthOutcome {
        let client = self.inner.proxies.resolve(view);
        let cross_origin = if view.is_safe_method() {
            None
        } else {
            self.inner.csrf.check_origin_with(view, client.https).err()
        };
        let mut outcome = AuthOutcome {
            state: AuthState::Anonymous(Rejection::new(
                RejectionKind::MissingCredentials,
                self.default_scheme(),
            )),
            session: None,
            presented: Presented::default(),
            client: ClientInfo::new(client.ip, view.user_agent),
            cross_origin,
            // A request with credentials is never cached; a cookie-session
            // answer varies with the cookie.
            response: ResponseHeaders::start(
                !view.authorization.is_empty(),
                self.inner.sessions.is_some(),
            ),
            latest: std::sync::Mutex::new(None),
            auth: self.clone(),
        };
        // Bearer first: the Authorization header wins over a cookie. With
        // token mode off it is not ours at all (a gateway may inject its
        // own identity token), so it is ignored.
        let bearer = if self.accepts_bearer() {
            bearer_token(&view.authorization)
        } else {
            Ok(None)
        };
        match bearer {
            Err(kind) => {
                outcome.state = AuthState::Failed(Rejection::bearer(kind));
                return outcome;
            }
            Ok(Some(token)) => {
                outcome.state = match self.bearer(token).await {
                    Ok(id) => AuthState::Authenticated(id),
                    Err(
                        kind @ (RejectionKind::StoreUnavailable | RejectionKind::MalformedRequest),
                    ) => AuthState::Failed(Rejection::bearer(kind)),
                    Err(kind) => AuthState::Anonymous(Rejection::bearer(kind)),
                };
                return outcome;
            }
            Ok(None) => {}
        }
        let Some(sessions) = &self.inner.sessions else {
            return outcome;
        };
        // Decode every candidate before the first await, so the cookie
        // iterator is not part of the future (it stays small: adapters box
        // it on every request).
        let mut any_cookie = false;
        for value in sessions
            .config()
            .cookie
            .value_bytes(&view.cookie_headers)
            .take(MAX_CANDIDATES)
        {
            if !any_cookie {
                any_cookie = true;
                // Owned here, so no lock: a request carrying a session
                // cookie is never cached.
                outcome.response.pending_mut().no_store = true;
            }
            if let Some(id) = sessions.decode_cookie(value) {
                outcome.presented.insert(id.key());
            }
        }
        // Every candidate is looked up: two live sessions of our name
        // (cookie tossing) make the request anonymous, so a tossed cookie
        // can never choose the session.
        let mut live = 0usize;
        let presented = outcome.presented;
        // One clock read for the lookups and the identity.
        let now = if presented.as_slice().is_empty() {
            0
        } else {
            self.inner.clock.now()
        };
        for &key in presented.as_slice() {
            match sessions.find_key_at(key, now).await {
                Ok(Some(active)) => {
                    live += 1;
                    outcome.session = Some(active);
                }
                Ok(None) => {}
                Err(r) => {
                    outcome.state = AuthState::Failed(r);
                    return outcome;
                }
            }
        }
        if live > 1 {
            outcome.session = None;
            outcome.state = AuthState::Anonymous(Rejection::session(RejectionKind::InvalidSession));
            return outcome;
        }
        outcome.state = match &outcome.session {
            Some(active) => {
                // The origin half was decided above (`cross_origin`, which
                // is `None` for safe methods); only the token is left.
                let csrf = match outcome.cross_origin {
                    Some(kind) => Err(kind),
                    None if view.is_safe_method() => Ok(()),
                    None => crate::csrf::check_token(view.csrf_token, &active.record.secret),
                };
                match csrf {
                    Ok(()) => AuthState::Authenticated(Identity::from_session(
                        active.key,
                        active.record.clone(),
                        now,
                    )),
                    Err(kind) => AuthState::Failed(Rejection::session(kind)),
                }
            }
            None if any_cookie => {
                // A dead or forged cookie: tell the browser to drop it.
                outcome
                    .response
                    .set_cookie(sessions.config().cookie.removal_cookie());
                AuthState::Anonymous(Rejection::session(RejectionKind::InvalidSession))
            }
            None => outcome.state,
        };
        outcome
    }
}

/// The audit event of a refused request, if it is one.
fn audit_refusal(events: &Events, outcome: &AuthOutcome) {
    let (kind, rejection) = match &outcome.state {
        AuthState::Failed(r) => match r.kind() {
            RejectionKind::StoreUnavailable => (EventKind::StoreUnavailable, r),
            RejectionKind::CsrfTokenInvalid | RejectionKind::CrossSiteRequest => {
                (EventKind::CsrfRefused, r)
            }
            RejectionKind::MalformedRequest => (EventKind::TokenRefused, r),
            _ => return,
        },
        AuthState::Anonymous(r) => match r.kind() {
            RejectionKind::InvalidToken => (EventKind::TokenRefused, r),
            RejectionKind::InvalidSession => (EventKind::SessionExpired, r),
            _ => return,
        },
        AuthState::Authenticated(_) => return,
    };
    let mut e = Event::from_client(kind, &outcome.client, rejection.scheme());
    e.reason = Some(rejection.message());
    if let Some(active) = &outcome.session {
        e.user = Some(active.record.user_id.to_string());
        e.id_hint = Some(active.record.id_hint(&active.key));
    }
    events.emit(e);
}

/// Record `outcome` on its request's span (nothing when tracing is off).
fn trace_outcome(span: &tracing::Span, outcome: &AuthOutcome) {
    if span.is_disabled() {
        return;
    }
    let scheme_name = |s: Scheme| match s {
        Scheme::Bearer => "bearer",
        _ => "session",
    };
    match &outcome.state {
        AuthState::Authenticated(id) => {
            span.record("scheme", scheme_name(id.scheme()));
            span.record("outcome", "authenticated");
            span.record("enduser.id", id.subject());
        }
        AuthState::Anonymous(r) => {
            span.record("scheme", scheme_name(r.scheme()));
            span.record("outcome", "anonymous");
            if r.kind() != RejectionKind::MissingCredentials {
                tracing::debug!(parent: span, reason = r.message(), "credential refused");
            }
        }
        AuthState::Failed(r) => {
            span.record("scheme", scheme_name(r.scheme()));
            span.record("outcome", "failed");
            tracing::info!(
                parent: span,
                reason = r.message(),
                status = r.status(),
                "request refused"
            );
        }
    }
}
