//! [`AuthenticatorBuilder`]: the one place an [`Authenticator`] is configured.

use std::sync::Arc;

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::csrf::CsrfConfig;
use crate::error::ConfigError;
use crate::events::{EventSink, Events};
use crate::jwt::config::Shared;
use crate::jwt::{MemoryRevocationList, RevocationList, TokenConfig};
use crate::proxy::TrustedProxies;
use crate::session::{SessionConfig, SessionManager};
use crate::store::{MemoryStore, SessionStore};
use crate::throttle::LoginThrottle;

use super::{Authenticator, Inner};

/// Builder for [`Authenticator`]: the one place the whole configuration is
/// given, each part once. Defaults: cookie sessions on a [`MemoryStore`]
/// with [`SessionConfig::default`], no token mode, the system clock.
///
/// The store, the revocation list and the clock given here serve both
/// modes: refresh families live in the session store, and a store that
/// several instances share (Redis, SQL) also provides the revocation list
/// ([`SessionStore::revocation_list`]), so nothing silently stays in one
/// process's memory. Settings are checked by [`build`](Self::build).
///
/// ```
/// use std::{sync::Arc, time::Duration};
/// use portcullis::jwt::{KeyRegistry, TokenConfig};
/// use portcullis::SessionConfig;
/// use portcullis::store::MemoryStore;
/// use portcullis::Authenticator;
/// let auth = Authenticator::builder()
///     .store(Arc::new(MemoryStore::new()))
///     .sessions(SessionConfig::default().idle_timeout(Duration::from_secs(15 * 60)))
///     .tokens(
///         TokenConfig::new(KeyRegistry::hs256("k1", &[7u8; 32]).unwrap())
///             .issuer("https://auth.example")
///             .access_ttl(Duration::from_secs(300)),
///     )
///     .build()
///     .unwrap();
/// assert!(auth.tokens().is_some());
/// ```
#[must_use]
pub struct AuthenticatorBuilder {
    store: Option<Arc<dyn SessionStore>>,
    revocations: Option<Arc<dyn RevocationList>>,
    clock: SharedClock,
    sessions: Option<SessionConfig>,
    tokens: Option<TokenConfig>,
    csrf: CsrfConfig,
    /// The parsed list, or its error, returned at `build()`.
    proxies: Result<TrustedProxies, ConfigError>,
    /// The proxies send RFC 7239 `Forwarded`, not `X-Forwarded-*`.
    standard_forwarded: bool,
    throttle: LoginThrottle,
    events: Option<Arc<dyn EventSink>>,
    loader: Option<Arc<dyn super::UserLoader>>,
    #[cfg(feature = "jwks")]
    issuers: Vec<crate::jwt::TrustedIssuer>,
}

impl std::fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthenticatorBuilder")
            .field("sessions", &self.sessions)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl AuthenticatorBuilder {
    /// The store of cookie sessions and refresh families (default: a new
    /// [`MemoryStore`] on the builder's clock).
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }
    /// The JWT revocation list (default: the store's own
    /// ([`SessionStore::revocation_list`]), else a [`MemoryRevocationList`]
    /// beside a store that is not shared). Only needed to put revocations
    /// somewhere other than the store.
    pub fn revocations(mut self, revocations: Arc<dyn RevocationList>) -> Self {
        self.revocations = Some(revocations);
        self
    }
    /// The clock of every time decision (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
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
    /// Enable token mode with these settings.
    pub fn tokens(mut self, tokens: TokenConfig) -> Self {
        self.tokens = Some(tokens);
        self
    }
    /// Accept the access tokens of another issuer (resource-server mode;
    /// feature `jwks`), beside or instead of this service's own token
    /// mode; call again for each issuer. See
    /// [`TrustedIssuer`](crate::jwt::TrustedIssuer). Building then starts
    /// fetching its keys, and must happen inside a Tokio runtime.
    #[cfg(feature = "jwks")]
    pub fn trust(mut self, issuer: crate::jwt::TrustedIssuer) -> Self {
        self.issuers.push(issuer);
        self
    }
    /// CSRF settings.
    pub fn csrf(mut self, csrf: CsrfConfig) -> Self {
        self.csrf = csrf;
        self
    }
    /// The reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto`
    /// are believed (default: none, so both headers are ignored): a
    /// comma-separated list of IP addresses and CIDR blocks
    /// (`"127.0.0.1, 10.0.0.0/8, fd00::/8"`; empty entries are skipped). A
    /// request from a trusted peer is attributed to the right-most
    /// untrusted `X-Forwarded-For` address, and its scheme is read from
    /// `X-Forwarded-Proto`; from any other peer both headers are ignored.
    /// An entry that is not an address or block fails `build()` with
    /// [`ConfigError::Invalid`] naming it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use portcullis::{Authenticator, RequestView, SessionHandle};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder()
    ///     .trusted_proxies("10.0.0.0/8")
    ///     .build()
    ///     .unwrap();
    /// // A login through the proxy records the client, not the proxy.
    /// let mut view = RequestView::new("POST");
    /// view.set_peer_ip("10.0.0.1".parse().unwrap());
    /// view.add_header("x-forwarded-for", b"198.51.100.7");
    /// let outcome = auth.authenticate(&view).await;
    /// SessionHandle::new(outcome.clone()).login("alice", vec![]).await.unwrap();
    /// let (_, set_cookie) = outcome.take_response_headers().next().unwrap();
    /// let cookie = set_cookie.split(';').next().unwrap();
    /// let mut view = RequestView::new("GET");
    /// view.add_header("cookie", cookie.as_bytes());
    /// let session = SessionHandle::new(auth.authenticate(&view).await);
    /// let devices = session.list().await.unwrap();
    /// assert_eq!(devices[0].ip, Some("198.51.100.7".parse().unwrap()));
    ///
    /// assert!(Authenticator::builder().trusted_proxies("10.0.0.0/33").build().is_err());
    /// # });
    /// ```
    pub fn trusted_proxies(mut self, list: &str) -> Self {
        self.proxies = TrustedProxies::parse(list);
        self
    }
    /// The [trusted proxies](Self::trusted_proxies) send the standard
    /// `Forwarded` header (RFC 7239): the client is the right-most
    /// `for=` that is not a trusted proxy and the scheme is the right-most
    /// element's `proto=`, and `X-Forwarded-For` / `X-Forwarded-Proto` are
    /// then ignored. Only one of the two is ever believed: a proxy that sets
    /// one passes a client's copy of the other through untouched.
    ///
    /// ```
    /// use portcullis::{Authenticator, RequestView, SessionHandle};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder()
    ///     .trusted_proxies("10.0.0.0/8")
    ///     .forwarded_header()
    ///     .build()
    ///     .unwrap();
    /// let mut view = RequestView::new("POST");
    /// view.set_peer_ip("10.0.0.1".parse().unwrap());
    /// view.add_header("forwarded", b"for=192.0.2.1, for=198.51.100.7;proto=https");
    /// view.add_header("x-forwarded-for", b"203.0.113.66");
    /// let outcome = auth.authenticate(&view).await;
    /// SessionHandle::new(outcome.clone()).login("alice", vec![]).await.unwrap();
    /// let (_, set_cookie) = outcome.take_response_headers().next().unwrap();
    /// let mut view = RequestView::new("GET");
    /// view.add_header("cookie", set_cookie.split(';').next().unwrap().as_bytes());
    /// let session = SessionHandle::new(auth.authenticate(&view).await);
    /// let devices = session.list().await.unwrap();
    /// assert_eq!(devices[0].ip, Some("198.51.100.7".parse().unwrap()));
    /// # });
    /// ```
    pub fn forwarded_header(mut self) -> Self {
        self.standard_forwarded = true;
        self
    }
    /// Login throttling (default: on, see [`LoginThrottle`]). The counters
    /// live in the store's [`attempt_store`](crate::store::SessionStore::attempt_store),
    /// so every instance sharing a store enforces the same limits.
    pub fn login_throttle(mut self, throttle: LoginThrottle) -> Self {
        self.throttle = throttle;
        self
    }
    /// Where audit events go (default: nowhere, at no cost). See [`Event`](crate::Event)
    /// for an example; every event of the list in [`EventKind`](crate::EventKind) is emitted
    /// by the core, the same for every adapter and store.
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = Some(sink);
        self
    }
    /// Load the current user from your database on every authenticated
    /// request (opt-in; see [`UserLoader`](crate::UserLoader)): a deleted or
    /// demoted user is out at once, with no revocation call. The answer is
    /// cached for the request; a failure answers 503. Without it, the roles
    /// stored with the session or token are used.
    pub fn user_loader(mut self, loader: Arc<dyn super::UserLoader>) -> Self {
        self.loader = Some(loader);
        self
    }
    /// Validate and build.
    ///
    /// # Errors
    /// [`ConfigError`] when neither sessions nor tokens are enabled, a
    /// part's settings are invalid, or token mode runs beside a shared
    /// store that offers no revocation list and none was given (the
    /// revocations would otherwise stay in one process).
    pub fn build(self) -> Result<Authenticator, ConfigError> {
        #[cfg(feature = "jwks")]
        let trusted = !self.issuers.is_empty();
        #[cfg(not(feature = "jwks"))]
        let trusted = false;
        if self.sessions.is_none() && self.tokens.is_none() && !trusted {
            return Err(ConfigError::Invalid(
                "enable sessions, tokens or both (or trust an issuer's tokens)".into(),
            ));
        }
        #[cfg(feature = "jwks")]
        let issuers = trusted_issuers(self.issuers, self.tokens.as_ref())?;
        let proxies = match self.proxies? {
            p if self.standard_forwarded => p.with_forwarded(),
            p => p,
        };
        let clock = self.clock;
        let events = self.events.map(|sink| Events::new(sink, clock.clone()));
        // The memory store built here is also kept as itself, so lookups
        // skip the boxed future of a `dyn` call (see `SessionManager`).
        let (store, own_memory): (Arc<dyn SessionStore>, _) = match self.store {
            Some(given) => (given, None),
            None => {
                let memory = Arc::new(MemoryStore::with_shared_clock(clock.clone()));
                (memory.clone(), Some(memory))
            }
        };
        let tokens = match self.tokens {
            Some(config) => {
                let retention = config.subject_retention();
                // Like the store, a memory list built here is kept as itself.
                let mut own_list = None;
                let revocations: Arc<dyn RevocationList> =
                    match self.revocations {
                        Some(given) => given,
                        None => match store.revocation_list(retention) {
                            Some(from_store) => from_store,
                            None if store.is_shared() => return Err(ConfigError::Invalid(
                                "the session store is shared by several instances but offers no \
                                 revocation list: give one on the same backend with \
                                 `AuthenticatorBuilder::revocations`, or revocations made on \
                                 one instance would not reach the others"
                                    .into(),
                            )),
                            None => {
                                let list = Arc::new(
                                    MemoryRevocationList::with_shared_clock(clock.clone())
                                        .with_subject_retention(retention),
                                );
                                own_list = Some(list.clone());
                                list
                            }
                        },
                    };
                Some(config.build(Shared {
                    store: store.clone(),
                    revocations,
                    own_memory_list: own_list,
                    clock: clock.clone(),
                    events: events.clone(),
                })?)
            }
            None => None,
        };
        let throttle = self
            .throttle
            .build(store.attempt_store(), store.is_shared(), &clock)?;
        let sessions = match self.sessions {
            Some(cfg) => {
                let manager = SessionManager::new(store.clone(), cfg, clock.clone())?;
                Some(match own_memory.clone() {
                    Some(memory) => manager.with_own_memory_store(memory),
                    None => manager,
                })
            }
            None => None,
        };
        let in_process = own_memory.is_some()
            && tokens
                .as_ref()
                .is_none_or(crate::jwt::TokenService::has_own_memory_list)
            && self.loader.is_none()
            && !trusted;
        Ok(Authenticator {
            inner: Arc::new(Inner {
                in_process,
                sessions,
                tokens,
                csrf: self.csrf,
                proxies,
                throttle,
                events,
                store,
                clock,
                loader: self.loader,
                #[cfg(feature = "jwks")]
                issuers,
            }),
        })
    }
}

impl Authenticator {
    /// A builder with secure defaults.
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            store: None,
            revocations: None,
            clock: Arc::new(SystemClock),
            sessions: Some(SessionConfig::default()),
            tokens: None,
            csrf: CsrfConfig::default(),
            proxies: Ok(TrustedProxies::default()),
            standard_forwarded: false,
            throttle: LoginThrottle::default(),
            events: None,
            loader: None,
            #[cfg(feature = "jwks")]
            issuers: Vec::new(),
        }
    }
}

/// Build the trusted issuers, each `iss` name owned by one of them only
/// and never by this service's own token mode.
#[cfg(feature = "jwks")]
fn trusted_issuers(
    issuers: Vec<crate::jwt::TrustedIssuer>,
    own: Option<&TokenConfig>,
) -> Result<Vec<crate::jwt::foreign::ForeignVerifier>, ConfigError> {
    let own = own.and_then(TokenConfig::own_issuer);
    let mut seen: Vec<&str> = Vec::new();
    for name in issuers.iter().flat_map(|i| i.names()) {
        if seen.contains(&name.as_str()) || own == Some(name.as_str()) {
            return Err(ConfigError::Jwt(format!(
                "issuer `{name}` is configured twice: each issuer's tokens are verified with \
                 its own keys and settings only"
            )));
        }
        seen.push(name);
    }
    issuers
        .into_iter()
        .map(crate::jwt::TrustedIssuer::build)
        .collect()
}
