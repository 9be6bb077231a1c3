//! [`TokenServiceBuilder`]: validated configuration of a [`TokenService`].

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::cache::{VerifiedCache, DEFAULT_VERIFIED_CACHE_SLOTS};
use super::keys::KeyRegistry;
use super::revocation::{MemoryRevocationList, RevocationList};
use super::service::{
    Inner, TokenService, DEFAULT_ACCESS_TTL, DEFAULT_REFRESH_TTL, MAX_ACCESS_TTL, MAX_REFRESH_TTL,
};
use super::validation::{Validation, DEFAULT_LEEWAY, MAX_LEEWAY};
use crate::clock::{SharedClock, SystemClock};
use crate::error::ConfigError;
use crate::store::{MemoryStore, SessionStore};

/// Default cap on refresh families per user (as for cookie sessions).
pub const DEFAULT_MAX_FAMILIES_PER_USER: usize = 5;

impl TokenService {
    /// Start configuring a service around `keys`.
    pub fn builder(keys: KeyRegistry) -> TokenServiceBuilder {
        TokenServiceBuilder {
            keys,
            issuer: None,
            audience: None,
            access_ttl: DEFAULT_ACCESS_TTL,
            refresh_ttl: DEFAULT_REFRESH_TTL,
            refresh_idle_ttl: None,
            leeway: DEFAULT_LEEWAY,
            store: None,
            revocations: None,
            clock: None,
            allowed_crit: Vec::new(),
            verified_cache: DEFAULT_VERIFIED_CACHE_SLOTS,
            max_lifetime: None,
            max_families: Some(DEFAULT_MAX_FAMILIES_PER_USER),
        }
    }
}

/// Configures a [`TokenService`]. Contradictory or weak settings are
/// refused by [`build`](Self::build).
///
/// ```
/// use portcullis::jwt::{KeyRegistry, TokenService};
/// let keys = KeyRegistry::hs256("k1", &[9u8; 32]).unwrap();
/// let err = TokenService::builder(keys).leeway(3_600).build().unwrap_err();
/// assert!(err.to_string().contains("leeway"));
/// ```
#[must_use]
pub struct TokenServiceBuilder {
    keys: KeyRegistry,
    issuer: Option<String>,
    audience: Option<String>,
    access_ttl: u64,
    refresh_ttl: u64,
    refresh_idle_ttl: Option<u64>,
    leeway: u64,
    store: Option<Arc<dyn SessionStore>>,
    revocations: Option<Arc<dyn RevocationList>>,
    clock: Option<SharedClock>,
    allowed_crit: Vec<String>,
    verified_cache: usize,
    max_lifetime: Option<Option<u64>>,
    max_families: Option<usize>,
}

impl fmt::Debug for TokenServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenServiceBuilder")
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("leeway", &self.leeway)
            .field("verified_cache", &self.verified_cache)
            .finish_non_exhaustive()
    }
}

impl TokenServiceBuilder {
    /// The `iss` we write, and require (exactly) on every token.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `aud` we write, and require (exactly, or as an element of an
    /// array) on every token.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Access-token lifetime in seconds (default 900, at most 86 400).
    pub fn access_ttl(mut self, secs: u64) -> Self {
        self.access_ttl = secs;
        self
    }

    /// Refresh-family absolute lifetime in seconds (default 14 days, at most
    /// one year, at least the access lifetime).
    pub fn refresh_ttl(mut self, secs: u64) -> Self {
        self.refresh_ttl = secs;
        self
    }

    /// Refresh-family idle timeout in seconds: a family unused this long
    /// expires (default: the absolute lifetime, i.e. no idle timeout).
    pub fn refresh_idle_ttl(mut self, secs: u64) -> Self {
        self.refresh_idle_ttl = Some(secs);
        self
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat`, in seconds (default
    /// 30, at most 300).
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }

    /// Where refresh families live (default: a new [`MemoryStore`] on the
    /// service's clock). Share the store of your cookie sessions to keep
    /// both in one place.
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The revocation list (default: a new [`MemoryRevocationList`] on the
    /// service's clock, keeping subject cutoffs for the access lifetime plus
    /// leeway).
    pub fn revocations(mut self, revocations: Arc<dyn RevocationList>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// The clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The longest lifetime (`exp` − `iat`, seconds) an access token may
    /// have to be accepted, plus the leeway (default: the access-token
    /// lifetime). A correctly signed token that claims to live longer is
    /// refused, so a token minted with a far-future `exp` (a leaked key, a
    /// bug elsewhere) cannot outlive log-out-everywhere. `None` removes the
    /// cap: only for tokens of another issuer whose lifetimes you do not
    /// control.
    ///
    /// ```
    /// use portcullis::jwt::{KeyRegistry, TokenService, JwtError};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let svc = TokenService::builder(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()).build().unwrap();
    /// let mut claims = svc.claims_for("alice", &[]).unwrap();
    /// claims.exp = claims.iat + 365 * 86_400; // signed, but a year long
    /// let token = svc.sign(&claims).unwrap();
    /// assert_eq!(svc.verify(token.as_bytes()).unwrap_err(), JwtError::LifetimeTooLong);
    /// # });
    /// ```
    pub fn max_token_lifetime(mut self, secs: Option<u64>) -> Self {
        self.max_lifetime = Some(secs);
        self
    }

    /// Accept tokens whose `crit` header lists `name` (an extension your
    /// application checks itself). Without this every `crit` is refused.
    pub fn allow_crit(mut self, name: impl Into<String>) -> Self {
        self.allowed_crit.push(name.into());
        self
    }

    /// Most refresh families (token logins) one user may have at once
    /// (default [`DEFAULT_MAX_FAMILIES_PER_USER`]; `None`: no cap). A login
    /// past it ends the user's oldest families, and every access token
    /// minted from them, so one account cannot pile up families without
    /// bound. Cookie sessions are capped separately
    /// ([`SessionConfig::max_sessions_per_user`](crate::session::SessionConfig::max_sessions_per_user)).
    ///
    /// ```
    /// use portcullis::jwt::{KeyRegistry, TokenService};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let svc = TokenService::builder(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap())
    ///     .max_families_per_user(Some(1))
    ///     .build()
    ///     .unwrap();
    /// let first = svc.issue("alice", &[]).await.unwrap();
    /// let second = svc.issue("alice", &[]).await.unwrap();
    /// assert!(svc.refresh(&first.refresh_token).await.is_err()); // evicted
    /// assert!(svc.authenticate(first.access_token.as_bytes()).await.is_err());
    /// assert!(svc.refresh(&second.refresh_token).await.is_ok());
    /// # });
    /// ```
    pub fn max_families_per_user(mut self, max: Option<usize>) -> Self {
        self.max_families = max;
        self
    }

    /// Slots of the verified-token cache (default
    /// [`DEFAULT_VERIFIED_CACHE_SLOTS`], rounded up to a power of two, at
    /// most [`MAX_VERIFIED_CACHE_SLOTS`](crate::jwt::MAX_VERIFIED_CACHE_SLOTS); `0` turns it off).
    ///
    /// A client presenting the same access token again (the normal case
    /// for an API client between refreshes) is then recognised by an exact,
    /// constant-time byte comparison instead of a signature check and JSON
    /// parse: about 1 µs saved per request with HS256, tens of µs with
    /// ES256/EdDSA/RS256. `exp`, `nbf` and `iat` are still checked against
    /// the clock on every request, and the revocation list is still asked
    /// on every request, so logout and revocation take effect at once. Only
    /// tokens that verified are cached; a full cache replaces entries, so
    /// memory stays bounded (about 400 bytes per slot in use).
    ///
    /// ```
    /// use portcullis::jwt::{KeyRegistry, TokenService};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let keys = KeyRegistry::hs256("k1", &[9u8; 32]).unwrap();
    /// let svc = TokenService::builder(keys).verified_cache(0).build().unwrap();
    /// let pair = svc.issue("alice", &[]).await.unwrap();
    /// assert!(svc.authenticate(pair.access_token.as_bytes()).await.is_ok());
    /// # });
    /// ```
    pub fn verified_cache(mut self, slots: usize) -> Self {
        self.verified_cache = slots;
        self
    }

    /// Check the configuration and build the service.
    ///
    /// # Errors
    /// [`ConfigError::Jwt`] when a lifetime or the leeway is out of range,
    /// the refresh lifetime is shorter than the access lifetime, the issuer
    /// or audience is empty, or a `crit` name is a registered header.
    pub fn build(self) -> Result<TokenService, ConfigError> {
        let bad = |m: String| Err(ConfigError::Jwt(m));
        if !(1..=MAX_ACCESS_TTL).contains(&self.access_ttl) {
            return bad(format!("access_ttl must be 1..={MAX_ACCESS_TTL} seconds"));
        }
        if !(self.access_ttl..=MAX_REFRESH_TTL).contains(&self.refresh_ttl) {
            return bad(format!(
                "refresh_ttl must be between access_ttl and {MAX_REFRESH_TTL} seconds"
            ));
        }
        let idle = self.refresh_idle_ttl.unwrap_or(self.refresh_ttl);
        if !(1..=self.refresh_ttl).contains(&idle) {
            return bad("refresh_idle_ttl must be 1..=refresh_ttl seconds".into());
        }
        if self.max_lifetime == Some(Some(0)) {
            return bad("max_token_lifetime must be at least 1 second".into());
        }
        if self.leeway > MAX_LEEWAY {
            return bad(format!("leeway must be at most {MAX_LEEWAY} seconds"));
        }
        if self.issuer.as_deref() == Some("") || self.audience.as_deref() == Some("") {
            return bad("issuer and audience must not be empty".into());
        }
        for name in &self.allowed_crit {
            if name.is_empty() || super::jws::REGISTERED.contains(&name.as_str()) {
                return bad(format!("`{name}` cannot be an allowed crit extension"));
            }
        }
        if self.max_families == Some(0) {
            return bad("max_families_per_user must be at least 1".into());
        }
        let clock: SharedClock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let (private_store, private_revocations) =
            (self.store.is_none(), self.revocations.is_none());
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::with_clock(clock.clone())));
        let revocations = self.revocations.unwrap_or_else(|| {
            Arc::new(
                MemoryRevocationList::new(clock.clone())
                    .with_subject_retention(self.access_ttl + self.leeway + 1),
            )
        });
        let cache = VerifiedCache::new(self.verified_cache)
            .map_err(|e| ConfigError::Invalid(format!("verified-token cache: {e}")))?;
        Ok(TokenService {
            inner: Arc::new(Inner {
                keys: self.keys,
                validation: Validation {
                    leeway: self.leeway,
                    issuer: self.issuer,
                    audience: self.audience,
                    allowed_crit: self.allowed_crit,
                    max_lifetime: self.max_lifetime.unwrap_or(Some(self.access_ttl)),
                },
                store,
                revocations,
                clock,
                access_ttl: self.access_ttl,
                refresh_ttl: self.refresh_ttl,
                refresh_idle_ttl: idle,
                max_families: self.max_families,
                private_store,
                private_revocations,
                last_cutoff_ms: AtomicU64::new(0),
                cache,
            }),
        })
    }
}
