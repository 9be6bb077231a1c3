//! The request-level core every adapter calls: authenticate a request once,
//! then log in, rotate, log out or list through the same outcome.
//!
//! Policy when a request carries both a bearer token and a session cookie:
//! **the `Authorization` header wins** and the cookie is ignored for that
//! request (so a bearer request never needs a CSRF token, and a cookie can
//! never upgrade a bad token).
//!
//! ```
//! use portcullis::{Authenticator, request::RequestView, identity::Requirement};
//! use portcullis::cookie::CookiePolicy;
//! use portcullis::session::SessionConfig;
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = Authenticator::builder().build().unwrap();
//!
//! // Log in (e.g. from a login handler):
//! let anonymous = auth.authenticate(&RequestView::new("POST")).await;
//! let login = auth.login(&anonymous, "alice", vec!["user".into()]).await.unwrap();
//! let set_cookie = anonymous.response.take().set_cookie.unwrap();
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

use std::sync::{Arc, Mutex};

use crate::clock::{SharedClock, SystemClock};
use crate::cookie::MAX_CANDIDATES;
use crate::csrf::{encode_token, CsrfConfig};
use crate::error::ConfigError;
use crate::id::SessionKey;
use crate::identity::{AuthState, Identity, Requirement};
use crate::jwt::{parse_bearer, TokenPair, TokenService};
use crate::proxy::TrustedProxies;
use crate::rejection::{Rejection, RejectionKind, Scheme};
use crate::request::RequestView;
use crate::session::{ActiveSession, ClientInfo, SessionConfig, SessionInfo, SessionManager};
use crate::store::{MemoryStore, SessionStore};

/// Headers the core asks the adapter to add to the response.
#[derive(Debug, Default)]
pub struct ResponseHeaders {
    inner: Mutex<PendingHeaders>,
}

/// What [`ResponseHeaders::take`] hands to the adapter. `Debug` does not
/// show the `Set-Cookie` value (it carries a session ID).
#[derive(Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingHeaders {
    /// A `Set-Cookie` value (a new session, or a removal cookie).
    pub set_cookie: Option<String>,
    /// Send `Cache-Control: no-store` (the response sets or clears an ID or
    /// carries tokens).
    pub no_store: bool,
}

impl std::fmt::Debug for PendingHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingHeaders")
            .field("set_cookie", &self.set_cookie.as_ref().map(|_| "REDACTED"))
            .field("no_store", &self.no_store)
            .finish()
    }
}

impl ResponseHeaders {
    fn lock(&self) -> std::sync::MutexGuard<'_, PendingHeaders> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Ask for a `Set-Cookie` (replacing any earlier one) and `no-store`.
    pub fn set_cookie(&self, value: String) {
        let mut p = self.lock();
        p.set_cookie = Some(value);
        p.no_store = true;
    }
    /// Ask for `Cache-Control: no-store` (e.g. a body carrying tokens).
    pub fn no_store(&self) {
        self.lock().no_store = true;
    }
    /// Take what is pending (adapters call this once, on the way out).
    #[must_use]
    pub fn take(&self) -> PendingHeaders {
        std::mem::take(&mut *self.lock())
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
    pub session: Option<ActiveSession>,
    /// Keys of every well-formed session cookie presented (ended at login).
    pub presented: Vec<SessionKey>,
    /// The client's IP (after the trusted-proxy rule) and User-Agent
    /// (recorded at login).
    pub client: ClientInfo,
    /// Why an unsafe request fails the cross-origin rule, if it does
    /// (checked for every unsafe request, with or without a cookie: a
    /// cookie-session login refuses it, see [`Authenticator::login`]).
    pub cross_origin: Option<RejectionKind>,
    /// Headers to add to the response.
    pub response: ResponseHeaders,
    auth: Authenticator,
}

impl AuthOutcome {
    /// The authenticator that produced this outcome.
    ///
    /// ```
    /// use portcullis::{request::RequestView, Authenticator};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let outcome = auth.authenticate(&RequestView::new("GET")).await;
    /// assert!(outcome.authenticator().sessions().is_some());
    /// # });
    /// ```
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }
}

/// The body a login handler returns: who logged in and the CSRF token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LoginInfo {
    /// The user ID.
    pub user: String,
    /// The roles.
    pub roles: Vec<String>,
    /// The CSRF token to send as `X-CSRF-Token` on unsafe requests.
    pub csrf_token: String,
}

/// Authenticates requests by session cookie and/or bearer token.
///
/// Cheap to clone (an `Arc` inside); build one at start-up and share it.
#[derive(Clone, Debug)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sessions: Option<SessionManager>,
    tokens: Option<TokenService>,
    csrf: CsrfConfig,
    proxies: TrustedProxies,
}

/// Builder for [`Authenticator`]. Defaults: cookie sessions on a
/// [`MemoryStore`] with [`SessionConfig::default`], no token mode.
#[must_use]
pub struct AuthenticatorBuilder {
    store: Option<Arc<dyn SessionStore>>,
    clock: SharedClock,
    sessions: Option<SessionConfig>,
    tokens: Option<TokenService>,
    csrf: CsrfConfig,
    proxies: TrustedProxies,
}

impl std::fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticatorBuilder")
            .finish_non_exhaustive()
    }
}

impl AuthenticatorBuilder {
    /// The session store (default: a new [`MemoryStore`]). Pass the same
    /// store to the [`TokenService`] so refresh families live beside sessions.
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }
    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
    /// Session settings.
    pub fn sessions(mut self, config: SessionConfig) -> Self {
        self.sessions = Some(config);
        self
    }
    /// Turn cookie sessions off (token mode only).
    pub fn without_sessions(mut self) -> Self {
        self.sessions = None;
        self
    }
    /// Enable token mode.
    pub fn tokens(mut self, tokens: TokenService) -> Self {
        self.tokens = Some(tokens);
        self
    }
    /// CSRF settings.
    pub fn csrf(mut self, csrf: CsrfConfig) -> Self {
        self.csrf = csrf;
        self
    }
    /// The reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto`
    /// are believed (default: none, so both headers are ignored). See
    /// [`TrustedProxies`].
    ///
    /// ```
    /// use portcullis::{proxy::TrustedProxies, request::RequestView, Authenticator};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder()
    ///     .trusted_proxies(TrustedProxies::parse("10.0.0.0/8").unwrap())
    ///     .build()
    ///     .unwrap();
    /// let mut view = RequestView::new("GET");
    /// view.peer_ip = Some("10.0.0.1".parse().unwrap());
    /// view.add_header("x-forwarded-for", b"198.51.100.7");
    /// let outcome = auth.authenticate(&view).await;
    /// assert_eq!(outcome.client.ip, Some("198.51.100.7".parse().unwrap()));
    /// # });
    /// ```
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }
    /// Validate and build.
    ///
    /// # Errors
    /// [`ConfigError`] when neither sessions nor tokens are enabled, or a
    /// part's configuration is invalid.
    pub fn build(self) -> Result<Authenticator, ConfigError> {
        if self.sessions.is_none() && self.tokens.is_none() {
            return Err(ConfigError::Invalid(
                "enable sessions, tokens or both".into(),
            ));
        }
        // Beside a store that several instances share, per-process token
        // state would split between them: refresh families and revocations
        // that one instance writes and another never sees.
        if let (Some(store), Some(tokens)) = (&self.store, &self.tokens) {
            let (private_store, private_revocations) = tokens.private_state();
            if store.is_shared() && (private_store || private_revocations) {
                return Err(ConfigError::Invalid(
                    "the session store is shared by several instances, but the TokenService \
                     keeps its refresh families or revocations in process memory: give it the \
                     same store (`TokenServiceBuilder::store`) and a shared revocation list \
                     (`TokenServiceBuilder::revocations`; an explicit MemoryRevocationList is \
                     accepted if you really want one per process)"
                        .into(),
                ));
            }
        }
        let clock = self.clock;
        let sessions = match self.sessions {
            Some(cfg) => {
                let store = self
                    .store
                    .unwrap_or_else(|| Arc::new(MemoryStore::with_clock(clock.clone())));
                Some(SessionManager::new(store, cfg, clock)?)
            }
            None => None,
        };
        Ok(Authenticator {
            inner: Arc::new(Inner {
                sessions,
                tokens: self.tokens,
                csrf: self.csrf,
                proxies: self.proxies,
            }),
        })
    }
}

impl Authenticator {
    /// A builder with secure defaults.
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            store: None,
            clock: Arc::new(SystemClock),
            sessions: Some(SessionConfig::default()),
            tokens: None,
            csrf: CsrfConfig::default(),
            proxies: TrustedProxies::default(),
        }
    }

    /// The session manager, when sessions are enabled.
    #[must_use]
    pub fn sessions(&self) -> Option<&SessionManager> {
        self.inner.sessions.as_ref()
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
    /// [`AuthOutcome::state`] so optional routes can still run.
    pub async fn authenticate(&self, view: &RequestView<'_>) -> AuthOutcome {
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
            presented: Vec::new(),
            client: ClientInfo::new(client.ip, view.user_agent),
            cross_origin,
            response: ResponseHeaders::default(),
            auth: self.clone(),
        };
        // Bearer first: the Authorization header wins over a cookie. With
        // token mode off it is not ours at all (a gateway may inject its
        // own identity token), so it is ignored.
        let bearer = match &self.inner.tokens {
            Some(_) => parse_bearer(&view.authorization),
            None => Ok(None),
        };
        match bearer {
            Err(kind) => {
                outcome.state = AuthState::Failed(Rejection::bearer(kind));
                return outcome;
            }
            Ok(Some(token)) => {
                outcome.state = match &self.inner.tokens {
                    Some(tokens) => match tokens.authenticate(token).await {
                        Ok(id) => AuthState::Authenticated(id),
                        Err(RejectionKind::StoreUnavailable) => {
                            AuthState::Failed(Rejection::bearer(RejectionKind::StoreUnavailable))
                        }
                        Err(kind) => AuthState::Anonymous(Rejection::bearer(kind)),
                    },
                    // Unreachable: without token mode `bearer` is `None`.
                    None => AuthState::Anonymous(Rejection::bearer(RejectionKind::InvalidToken)),
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
            .values(&view.cookie_headers)
            .take(MAX_CANDIDATES)
        {
            any_cookie = true;
            if let Some(id) = sessions.decode_cookie(value) {
                // The same cookie sent twice names one session, not two.
                let key = id.key();
                if !outcome.presented.contains(&key) {
                    outcome.presented.push(key);
                }
            }
        }
        // Every candidate is looked up: two live sessions of our name
        // (cookie tossing) make the request anonymous, so a tossed cookie
        // can never choose the session.
        let mut live = 0usize;
        for i in 0..outcome.presented.len() {
            match sessions.find_key(outcome.presented[i]).await {
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
                match self
                    .inner
                    .csrf
                    .check_with(view, client.https, &active.record.secret)
                {
                    Ok(()) => AuthState::Authenticated(Identity::from_session(
                        active.key,
                        active.record.clone(),
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

    fn manager(&self) -> Result<&SessionManager, Rejection> {
        self.inner
            .sessions
            .as_ref()
            .ok_or(Rejection::session(RejectionKind::MissingCredentials))
    }

    fn current_session<'a>(
        &self,
        outcome: &'a AuthOutcome,
    ) -> Result<&'a ActiveSession, Rejection> {
        outcome
            .state
            .require_scheme(Scheme::Session, &Requirement::Authenticated)?;
        outcome
            .session
            .as_ref()
            .ok_or(Rejection::session(RejectionKind::MissingCredentials))
    }

    /// Refuse a cookie-session login (or re-authentication) that fails the
    /// cross-origin rule, with or without a cookie: a cross-site form must
    /// not log the victim into the attacker's account (login CSRF). Call
    /// it first in a login handler, before reading the body or checking a
    /// password, so the answer is the same whatever the credentials;
    /// [`login`](Self::login) checks it again.
    ///
    /// ```
    /// use portcullis::{request::RequestView, Authenticator};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let mut view = RequestView::new("POST");
    /// view.add_header("sec-fetch-site", b"cross-site");
    /// let outcome = auth.authenticate(&view).await;
    /// assert_eq!(auth.check_login_origin(&outcome).unwrap_err().status(), 403);
    /// assert_eq!(auth.login(&outcome, "alice", vec![]).await.unwrap_err().status(), 403);
    /// assert!(outcome.response.take().set_cookie.is_none());
    /// # });
    /// ```
    ///
    /// # Errors
    /// 403 ([`RejectionKind::CrossSiteRequest`]).
    pub fn check_login_origin(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        match outcome.cross_origin {
            Some(kind) => Err(Rejection::session(kind)),
            None => Ok(()),
        }
    }

    /// Log a user in: ends every session the request's cookies named
    /// (fixation defence), creates a fresh session and CSRF token, and queues
    /// the `Set-Cookie` in `outcome.response`. An unsafe request that fails
    /// the cross-origin rule is refused first (see
    /// [`check_login_origin`](Self::check_login_origin)).
    ///
    /// # Errors
    /// 403 for a cross-origin request or past a refusing session cap; 503
    /// when the store fails.
    pub async fn login(
        &self,
        outcome: &AuthOutcome,
        user: &str,
        roles: Vec<String>,
    ) -> Result<LoginInfo, Rejection> {
        let m = self.manager()?;
        self.check_login_origin(outcome)?;
        let login = m
            .login(user, roles.clone(), &outcome.presented, &outcome.client)
            .await?;
        outcome.response.set_cookie(login.set_cookie);
        Ok(LoginInfo {
            user: user.to_owned(),
            roles,
            csrf_token: login.csrf_token,
        })
    }

    /// Give the current session a new ID and CSRF token (call on privilege
    /// change); returns the new CSRF token.
    ///
    /// # Errors
    /// 401/403 without a valid session (or CSRF failure); 503 on store failure.
    pub async fn rotate(&self, outcome: &AuthOutcome) -> Result<String, Rejection> {
        let m = self.manager()?;
        let current = self.current_session(outcome)?;
        let next = m.rotate(current).await?;
        outcome.response.set_cookie(next.set_cookie);
        Ok(next.csrf_token)
    }

    /// End the current session and queue the removal cookie.
    ///
    /// # Errors
    /// 401/403 without a valid session (or CSRF failure); 503 on store failure.
    pub async fn logout(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        let m = self.manager()?;
        let current = self.current_session(outcome)?;
        outcome.response.set_cookie(m.logout(&current.key).await?);
        Ok(())
    }

    /// Log the current session's user out everywhere (see
    /// [`logout_everywhere`](Self::logout_everywhere)) and queue the removal
    /// cookie.
    ///
    /// # Errors
    /// 401/403 without a valid session (or CSRF failure); 503 on store failure.
    pub async fn logout_all(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        let m = self.manager()?;
        let current = self.current_session(outcome)?;
        self.logout_everywhere(&current.record.user_id).await?;
        outcome
            .response
            .set_cookie(m.config().cookie.removal_cookie());
        Ok(())
    }

    /// Log `user` out everywhere (password change, "sign out all
    /// devices", an administrator's lock-out): every access token issued to
    /// the user before now is refused, and every refresh family and cookie
    /// session of the user ends. The token cut-off comes first and each
    /// family is ended by delete-then-revoke, so no refresh in flight can
    /// mint a token that survives this.
    ///
    /// ```
    /// use portcullis::{request::RequestView, Authenticator, jwt::{KeyRegistry, TokenService}};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let tokens = TokenService::builder(KeyRegistry::hs256("k", &[1u8; 32]).unwrap()).build().unwrap();
    /// let auth = Authenticator::builder().tokens(tokens.clone()).build().unwrap();
    /// let anon = auth.authenticate(&RequestView::new("POST")).await;
    /// auth.login(&anon, "alice", vec![]).await.unwrap();
    /// let pair = tokens.issue("alice", &[]).await.unwrap();
    /// auth.logout_everywhere("alice").await.unwrap();
    /// assert!(tokens.authenticate(pair.access_token.as_bytes()).await.is_err());
    /// assert!(tokens.refresh(&pair.refresh_token).await.is_err());
    /// assert!(auth.sessions().unwrap().list("alice", None).await.unwrap().is_empty());
    /// # });
    /// ```
    ///
    /// # Errors
    /// 503 when the store or revocation list fails.
    pub async fn logout_everywhere(&self, user: &str) -> Result<(), Rejection> {
        if let Some(tokens) = &self.inner.tokens {
            tokens.logout_all(user).await?;
        }
        if let Some(m) = &self.inner.sessions {
            m.logout_all(user).await?;
        }
        Ok(())
    }

    /// Change `user`'s roles everywhere at once (a demotion takes effect
    /// now, not at the next login): every live cookie session answers with
    /// the new roles, every refresh family mints with them from its next
    /// refresh, and every access token issued before now is refused.
    /// Nothing else ends.
    ///
    /// ```
    /// use portcullis::{request::RequestView, identity::Requirement, Authenticator};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let anon = auth.authenticate(&RequestView::new("POST")).await;
    /// auth.login(&anon, "bob", vec!["admin".into()]).await.unwrap();
    /// let cookie = anon.response.take().set_cookie.unwrap();
    /// auth.set_user_roles("bob", &["user".into()]).await.unwrap();
    /// let mut view = RequestView::new("GET");
    /// view.add_header("cookie", cookie.split(';').next().unwrap().as_bytes());
    /// let who = auth.authenticate(&view).await;
    /// let who = who.state.require(&Requirement::Authenticated).unwrap();
    /// assert!(!who.has_role("admin") && who.has_role("user"));
    /// # });
    /// ```
    ///
    /// # Errors
    /// 503 when the store or revocation list fails.
    pub async fn set_user_roles(&self, user: &str, roles: &[String]) -> Result<(), Rejection> {
        if let Some(m) = &self.inner.sessions {
            m.set_user_roles(user, roles).await?;
        }
        if let Some(tokens) = &self.inner.tokens {
            tokens.set_roles(user, roles).await?;
        }
        Ok(())
    }

    /// The current user's sessions.
    ///
    /// # Errors
    /// 401 without a valid session; 503 on store failure.
    pub async fn list_sessions(
        &self,
        outcome: &AuthOutcome,
    ) -> Result<Vec<SessionInfo>, Rejection> {
        let m = self.manager()?;
        let current = self.current_session(outcome)?;
        m.list(&current.record.user_id, Some(&current.key)).await
    }

    fn token_service(&self) -> Result<&TokenService, Rejection> {
        self.inner
            .tokens
            .as_ref()
            .ok_or(Rejection::bearer(RejectionKind::MissingCredentials))
    }

    /// Issue an access + refresh token pair for a user who just proved who
    /// they are (a login handler); marks the response `no-store`.
    ///
    /// # Errors
    /// 503 when the store fails; 401 when token mode is off.
    pub async fn issue_tokens(
        &self,
        outcome: &AuthOutcome,
        subject: &str,
        roles: &[String],
    ) -> Result<TokenPair, Rejection> {
        let pair = self
            .token_service()?
            .issue_for(subject, roles, &outcome.client)
            .await?;
        outcome.response.no_store();
        Ok(pair)
    }

    /// Exchange a refresh token for a new pair (the old one is spent; a spent
    /// one presented again revokes its family); marks the response `no-store`.
    ///
    /// # Errors
    /// 401 for an invalid, spent or revoked refresh token; 503 on store failure.
    pub async fn refresh_tokens(
        &self,
        outcome: &AuthOutcome,
        refresh_token: &str,
    ) -> Result<TokenPair, Rejection> {
        let pair = self
            .token_service()?
            .refresh_from(refresh_token, &outcome.client)
            .await?;
        outcome.response.no_store();
        Ok(pair)
    }

    /// Revoke the request's bearer token and its refresh family.
    ///
    /// # Errors
    /// 401 without a valid bearer token; 503 on store failure.
    pub async fn token_logout(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        let service = self.token_service()?;
        let id = outcome
            .state
            .require_scheme(Scheme::Bearer, &Requirement::Authenticated)?;
        service.logout(id).await
    }

    /// Log the bearer's user out everywhere (see
    /// [`logout_everywhere`](Self::logout_everywhere)): tokens, refresh
    /// families and cookie sessions.
    ///
    /// # Errors
    /// 401 without a valid bearer token; 503 on store failure.
    pub async fn token_logout_all(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        self.token_service()?;
        let id = outcome
            .state
            .require_scheme(Scheme::Bearer, &Requirement::Authenticated)?;
        self.logout_everywhere(id.subject()).await
    }

    /// The current session's CSRF token, if a session is active.
    #[must_use]
    pub fn csrf_token(&self, outcome: &AuthOutcome) -> Option<String> {
        outcome
            .session
            .as_ref()
            .map(|s| encode_token(&s.record.secret))
    }
}
