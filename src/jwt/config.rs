//! [`TokenConfig`]: the token-mode settings, validated when the
//! [`Authenticator`](crate::Authenticator) is built.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use super::cache::{VerifiedCache, DEFAULT_VERIFIED_CACHE_SLOTS};
use super::keys::KeyRegistry;
use super::revocation::{MemoryRevocationList, RevocationList};
use super::service::{
    Inner, TokenService, DEFAULT_ACCESS_TTL, DEFAULT_REFRESH_TTL, MAX_ACCESS_TTL, MAX_REFRESH_TTL,
};
use super::validation::{Validation, DEFAULT_LEEWAY, MAX_LEEWAY};
use crate::clock::SharedClock;
use crate::error::ConfigError;
use crate::store::SessionStore;

/// Default cap on refresh families per user (as for cookie sessions).
pub(crate) const DEFAULT_MAX_FAMILIES_PER_USER: usize = 5;

/// Token-mode settings: the signing keys, issuer and audience, lifetimes
/// and limits. Give it to
/// [`AuthenticatorBuilder::tokens`](crate::AuthenticatorBuilder::tokens);
/// the [`Authenticator`](crate::Authenticator) hands it the store, the
/// revocation list and the clock it was given, so refresh families and
/// revocations always live beside the sessions. Contradictory or weak
/// settings are refused by
/// [`AuthenticatorBuilder::build`](crate::AuthenticatorBuilder::build).
///
/// Every span of time is a [`Duration`] of whole seconds (JWT times are
/// seconds); a fraction of a second is refused rather than rounded.
///
/// ```
/// use std::time::Duration;
/// use portcullis::jwt::{KeyRegistry, TokenConfig};
/// use portcullis::Authenticator;
/// let keys = KeyRegistry::hs256("k1", &[9u8; 32]).unwrap();
/// let err = Authenticator::builder()
///     .tokens(TokenConfig::new(keys).leeway(Duration::from_secs(3_600)))
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("leeway"));
/// ```
#[must_use]
#[derive(Clone)]
pub struct TokenConfig {
    keys: KeyRegistry,
    issuer: Option<String>,
    audience: Option<String>,
    access_ttl: Duration,
    refresh_ttl: Duration,
    refresh_idle_ttl: Option<Duration>,
    leeway: Duration,
    allowed_crit: Vec<String>,
    verified_cache: usize,
    max_lifetime: Option<Option<Duration>>,
    max_families: Option<usize>,
}

impl fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenConfig")
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

/// What the [`Authenticator`](crate::Authenticator) hands a [`TokenConfig`]
/// when it builds the token service: the one store, revocation list and
/// clock of the whole configuration.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) revocations: Arc<dyn RevocationList>,
    /// The same list when the authenticator built a memory list itself:
    /// asked without a boxed future.
    pub(crate) own_memory_list: Option<Arc<MemoryRevocationList>>,
    pub(crate) clock: SharedClock,
    pub(crate) events: Option<crate::events::Events>,
}

/// `d` as whole seconds, or an error naming the setting.
fn whole_secs(name: &str, d: Duration) -> Result<u64, ConfigError> {
    if d.subsec_nanos() != 0 {
        return Err(ConfigError::Jwt(format!(
            "{name} must be a whole number of seconds"
        )));
    }
    Ok(d.as_secs())
}

impl TokenConfig {
    /// Token mode around `keys`, with the defaults: 15-minute access
    /// tokens, 14-day refresh families, 30 s leeway, at most 5 families per
    /// user, no issuer or audience.
    pub fn new(keys: KeyRegistry) -> Self {
        TokenConfig {
            keys,
            issuer: None,
            audience: None,
            access_ttl: Duration::from_secs(DEFAULT_ACCESS_TTL),
            refresh_ttl: Duration::from_secs(DEFAULT_REFRESH_TTL),
            refresh_idle_ttl: None,
            leeway: Duration::from_secs(DEFAULT_LEEWAY),
            allowed_crit: Vec::new(),
            verified_cache: DEFAULT_VERIFIED_CACHE_SLOTS,
            max_lifetime: None,
            max_families: Some(DEFAULT_MAX_FAMILIES_PER_USER),
        }
    }

    /// The subject-cutoff retention a revocation list needs for these
    /// settings: a cutoff must outlive every token it refuses, so the
    /// longest lifetime a token may have to be accepted, not the one we
    /// mint (without a lifetime cap: a year, the longest refresh family).
    pub(crate) fn subject_retention(&self) -> Duration {
        let longest = match self.max_lifetime {
            None => self.access_ttl,
            Some(Some(max)) => max.max(self.access_ttl),
            Some(None) => Duration::from_secs(MAX_REFRESH_TTL),
        };
        longest
            .saturating_add(self.leeway)
            .saturating_add(Duration::from_secs(1))
    }
}

impl TokenConfig {
    /// The configured issuer, if any.
    #[cfg(feature = "jwks")]
    pub(crate) fn own_issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

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

    /// Access-token lifetime (default 15 minutes, at most one day).
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.access_ttl = ttl;
        self
    }

    /// Refresh-family absolute lifetime (default 14 days, at most one
    /// year, at least the access lifetime).
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_ttl = ttl;
        self
    }

    /// Refresh-family idle timeout: a family unused this long expires
    /// (default: the absolute lifetime, i.e. no idle timeout).
    pub fn refresh_idle_ttl(mut self, ttl: Duration) -> Self {
        self.refresh_idle_ttl = Some(ttl);
        self
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 30 s, at
    /// most 5 minutes).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The longest lifetime (`exp` − `iat`) an access token may have to be
    /// accepted, plus the leeway (default: the access-token lifetime). A
    /// correctly signed token that claims to live longer is refused, so a
    /// token minted with a far-future `exp` (a leaked key, a bug elsewhere)
    /// cannot outlive log-out-everywhere. `None` removes the cap: only for
    /// tokens of another issuer whose lifetimes you do not control.
    ///
    /// ```
    /// use portcullis::jwt::{JwtError, KeyRegistry, TokenConfig};
    /// use portcullis::Authenticator;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder()
    ///     .tokens(TokenConfig::new(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()))
    ///     .build()
    ///     .unwrap();
    /// let svc = auth.tokens().unwrap();
    /// let mut claims = svc.claims_for("alice", &[]).unwrap();
    /// claims.exp = claims.iat + 365 * 86_400; // signed, but a year long
    /// let token = svc.sign(&claims).unwrap();
    /// assert_eq!(svc.verify(token.as_bytes()).unwrap_err(), JwtError::LifetimeTooLong);
    /// # });
    /// ```
    pub fn max_token_lifetime(mut self, max: Option<Duration>) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Accept tokens whose `crit` header lists `name` (an extension your
    /// application checks itself). Without this every `crit` is refused.
    pub fn allow_crit(mut self, name: impl Into<String>) -> Self {
        self.allowed_crit.push(name.into());
        self
    }

    /// Most refresh families (token logins) one user may have at once
    /// (default 5; `None`: no cap). A login past it ends the user's oldest
    /// families, and every access token minted from them, so one account
    /// cannot pile up families without bound. Cookie sessions are capped
    /// separately
    /// ([`SessionConfig::max_sessions_per_user`](crate::session::SessionConfig::max_sessions_per_user)).
    pub fn max_families_per_user(mut self, max: Option<usize>) -> Self {
        self.max_families = max;
        self
    }

    /// Slots of the verified-token cache (default 4096, rounded up to a
    /// power of two, at most 2^20; `0` turns it off).
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
    pub fn verified_cache(mut self, slots: usize) -> Self {
        self.verified_cache = slots;
        self
    }

    /// Check the settings and build the service on the shared parts.
    pub(crate) fn build(self, shared: Shared) -> Result<TokenService, ConfigError> {
        let bad = |m: String| Err(ConfigError::Jwt(m));
        let access_ttl = whole_secs("access_ttl", self.access_ttl)?;
        let refresh_ttl = whole_secs("refresh_ttl", self.refresh_ttl)?;
        let leeway = whole_secs("leeway", self.leeway)?;
        if !(1..=MAX_ACCESS_TTL).contains(&access_ttl) {
            return bad(format!("access_ttl must be 1..={MAX_ACCESS_TTL} seconds"));
        }
        if !(access_ttl..=MAX_REFRESH_TTL).contains(&refresh_ttl) {
            return bad(format!(
                "refresh_ttl must be between access_ttl and {MAX_REFRESH_TTL} seconds"
            ));
        }
        let idle = match self.refresh_idle_ttl {
            Some(d) => whole_secs("refresh_idle_ttl", d)?,
            None => refresh_ttl,
        };
        if !(1..=refresh_ttl).contains(&idle) {
            return bad("refresh_idle_ttl must be 1..=refresh_ttl seconds".into());
        }
        let max_lifetime = match self.max_lifetime {
            None => Some(access_ttl),
            Some(None) => None,
            Some(Some(d)) => match whole_secs("max_token_lifetime", d)? {
                0 => return bad("max_token_lifetime must be at least 1 second".into()),
                n => Some(n),
            },
        };
        if leeway > MAX_LEEWAY {
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
        let cache = VerifiedCache::new(self.verified_cache)
            .map_err(|e| ConfigError::Invalid(format!("verified-token cache: {e}")))?;
        Ok(TokenService {
            inner: Arc::new(Inner {
                keys: self.keys,
                validation: Validation {
                    leeway,
                    issuer: self.issuer,
                    audience: self.audience,
                    allowed_crit: self.allowed_crit,
                    max_lifetime,
                },
                store: shared.store,
                revocations: shared.revocations,
                own_memory_list: shared.own_memory_list,
                clock: shared.clock,
                events: shared.events,
                access_ttl,
                refresh_ttl,
                refresh_idle_ttl: idle,
                max_families: self.max_families,
                last_cutoff_ms: AtomicU64::new(0),
                cache,
            }),
        })
    }
}
