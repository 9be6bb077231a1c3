//! [`SessionConfig`]: the session settings and their secure defaults.

use std::time::Duration;

use crate::cookie::CookiePolicy;
use crate::error::ConfigError;
use crate::id::IdSigner;

/// What to do when a user logs in past [`SessionConfig::max_sessions_per_user`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionLimitPolicy {
    /// End the user's oldest sessions (default).
    EvictOldest,
    /// Refuse the new login (403).
    Refuse,
}

/// Session settings. Defaults follow OWASP's session management guidance.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionConfig {
    pub(crate) idle_timeout: Duration,
    pub(crate) absolute_timeout: Duration,
    pub(crate) remember_absolute_timeout: Option<Duration>,
    pub(crate) max_data_bytes: usize,
    pub(crate) rolling_interval: Duration,
    pub(crate) max_sessions_per_user: Option<usize>,
    pub(crate) limit_policy: SessionLimitPolicy,
    pub(crate) cookie: CookiePolicy,
    /// The ID signer, or the error of its key, returned at `build()`.
    pub(crate) signer: Option<Result<IdSigner, ConfigError>>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 60 * 60),
            remember_absolute_timeout: None,
            max_data_bytes: 4096,
            rolling_interval: Duration::from_secs(60),
            max_sessions_per_user: Some(5),
            limit_policy: SessionLimitPolicy::EvictOldest,
            cookie: CookiePolicy::default(),
            signer: None,
        }
    }
}

impl SessionConfig {
    /// Idle timeout: a session unused this long ends (default 30 min).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }
    /// Absolute timeout: no session lives longer (default 12 h).
    #[must_use]
    pub fn absolute_timeout(mut self, timeout: Duration) -> Self {
        self.absolute_timeout = timeout;
        self
    }
    /// Absolute timeout of a session whose login asked to be remembered
    /// ([`SessionHandle::login_remember`](crate::SessionHandle::login_remember)
    /// with `true`; default: the same as
    /// [`absolute_timeout`](Self::absolute_timeout)). The idle timeout
    /// applies to it as to any session.
    ///
    /// ```
    /// use std::time::Duration;
    /// use portcullis::{Authenticator, CookiePolicy, SessionConfig};
    /// // Browser-session cookies unless the user ticks "remember me",
    /// // which keeps them for 30 days.
    /// let auth = Authenticator::builder()
    ///     .sessions(
    ///         SessionConfig::default()
    ///             .cookie(CookiePolicy::default().browser_session_cookie())
    ///             .remember_absolute_timeout(Duration::from_secs(30 * 24 * 3600)),
    ///     )
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// ```
    #[must_use]
    pub fn remember_absolute_timeout(mut self, timeout: Duration) -> Self {
        self.remember_absolute_timeout = Some(timeout);
        self
    }
    /// Cap on a session's application data, measured as compact JSON
    /// (default 4096 bytes). A write past it is refused with 413
    /// [`RejectionKind::PayloadTooLarge`](crate::RejectionKind::PayloadTooLarge)
    /// and changes nothing; the cap keeps every request's store read small.
    #[must_use]
    pub fn max_data_bytes(mut self, max: usize) -> Self {
        self.max_data_bytes = max;
        self
    }
    /// The absolute timeout of a login that is remembered or not.
    pub(crate) fn absolute_for(&self, remember: bool) -> Duration {
        match self.remember_absolute_timeout {
            Some(t) if remember => t,
            _ => self.absolute_timeout,
        }
    }
    /// `last_seen` and the idle expiry are written at most once per this
    /// interval (default 60 s), so a busy session does not write on every
    /// request. The interval in effect is at most a quarter of the idle
    /// timeout, so a session in use never reaches its idle deadline between
    /// two writes (and the idle timeout seen by an active user shrinks by at
    /// most a quarter).
    #[must_use]
    pub fn rolling_interval(mut self, interval: Duration) -> Self {
        self.rolling_interval = interval;
        self
    }
    /// Cap on concurrent sessions per user (default 5; `None`: no cap) and
    /// what to do past it (default: end the oldest).
    #[must_use]
    pub fn max_sessions_per_user(mut self, max: Option<usize>, policy: SessionLimitPolicy) -> Self {
        self.max_sessions_per_user = max;
        self.limit_policy = policy;
        self
    }
    /// The session cookie (default: `__Host-id`, `Secure`, `HttpOnly`,
    /// `SameSite=Lax`, `Path=/`).
    #[must_use]
    pub fn cookie(mut self, cookie: CookiePolicy) -> Self {
        self.cookie = cookie;
        self
    }
    /// HMAC-SHA256-sign cookie values with `secret` (at least 32 bytes), so
    /// forged or truncated IDs are refused before any store lookup (default
    /// off: IDs are already 256-bit random). The signed value is
    /// `<id>.<tag>`. Replaces any key given before.
    ///
    /// ```
    /// use portcullis::{Authenticator, SessionConfig};
    /// // Rotate: the new key signs, the old one still verifies.
    /// let auth = Authenticator::builder()
    ///     .sessions(
    ///         SessionConfig::default()
    ///             .signing_key(&[2u8; 32])
    ///             .also_accept_signing_key(&[1u8; 32]),
    ///     )
    ///     .build()
    ///     .unwrap();
    /// # let _ = auth;
    /// // Keys shorter than 256 bits are refused at build().
    /// let short = Authenticator::builder()
    ///     .sessions(SessionConfig::default().signing_key(&[1u8; 16]))
    ///     .build();
    /// assert!(short.is_err());
    /// ```
    #[must_use]
    pub fn signing_key(mut self, secret: &[u8]) -> Self {
        self.signer = Some(IdSigner::new(secret));
        self
    }
    /// Also accept values signed with an older `secret` (key rotation
    /// without logging anyone out); needs [`signing_key`](Self::signing_key)
    /// first.
    #[must_use]
    pub fn also_accept_signing_key(mut self, secret: &[u8]) -> Self {
        self.signer = Some(match self.signer {
            Some(Ok(signer)) => signer.also_accept(secret),
            Some(Err(e)) => Err(e),
            None => Err(ConfigError::Invalid(
                "also_accept_signing_key needs signing_key first".into(),
            )),
        });
        self
    }
    /// The signer, once [`validate`](Self::validate) has passed.
    pub(crate) fn signer(&self) -> Option<&IdSigner> {
        self.signer.as_ref().and_then(|s| s.as_ref().ok())
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (name, d) in [
            ("idle_timeout", self.idle_timeout),
            ("absolute_timeout", self.absolute_timeout),
            ("remember_absolute_timeout", self.absolute_for(true)),
            ("rolling_interval", self.rolling_interval),
        ] {
            if d.subsec_nanos() != 0 {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be a whole number of seconds"
                )));
            }
        }
        if self.idle_timeout.is_zero()
            || self.absolute_timeout.is_zero()
            || self.absolute_for(true).is_zero()
        {
            return Err(ConfigError::Invalid(
                "session timeouts must be positive".into(),
            ));
        }
        if self.max_sessions_per_user == Some(0) {
            return Err(ConfigError::Invalid(
                "max_sessions_per_user must be at least 1".into(),
            ));
        }
        self.cookie.validate()?;
        if let Some(Err(e)) = &self.signer {
            return Err(e.clone());
        }
        Ok(())
    }
}
