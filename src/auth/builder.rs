//! [`AuthenticatorBuilder`]: the one place an [`Authenticator`] is configured.

use std::sync::Arc;

use crate::clock::{SharedClock, SystemClock};
use crate::csrf::CsrfConfig;
use crate::error::ConfigError;
use crate::jwt::TokenService;
use crate::proxy::TrustedProxies;
use crate::session::{SessionConfig, SessionManager};
use crate::store::{MemoryStore, SessionStore};

use super::{Authenticator, Inner};

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
}
