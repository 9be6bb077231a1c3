//! [`SessionConfig`]: the session settings and their secure defaults.

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
    /// Idle timeout: a session unused this long ends (default 30 min).
    pub idle_timeout: u64,
    /// Absolute timeout: no session lives longer (default 12 h).
    pub absolute_timeout: u64,
    /// `last_seen` and the idle expiry are written at most once per this many
    /// seconds (default 60), so a busy session does not write on every request.
    /// The interval in effect is at most a quarter of the idle timeout, so a
    /// session in use never reaches its idle deadline between two writes
    /// (and the idle timeout seen by an active user shrinks by at most a
    /// quarter).
    pub rolling_interval: u64,
    /// Cap on concurrent sessions per user (default 5; `None`: no cap).
    pub max_sessions_per_user: Option<usize>,
    /// What to do past the cap.
    pub limit_policy: SessionLimitPolicy,
    /// The session cookie.
    pub cookie: CookiePolicy,
    /// HMAC-sign cookie values so forged IDs are refused before any store
    /// lookup (default off: IDs are already 256-bit random).
    pub signer: Option<IdSigner>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout: 30 * 60,
            absolute_timeout: 12 * 60 * 60,
            rolling_interval: 60,
            max_sessions_per_user: Some(5),
            limit_policy: SessionLimitPolicy::EvictOldest,
            cookie: CookiePolicy::default(),
            signer: None,
        }
    }
}

impl SessionConfig {
    /// Idle timeout in seconds.
    #[must_use]
    pub fn idle_timeout(mut self, secs: u64) -> Self {
        self.idle_timeout = secs;
        self
    }
    /// Absolute timeout in seconds.
    #[must_use]
    pub fn absolute_timeout(mut self, secs: u64) -> Self {
        self.absolute_timeout = secs;
        self
    }
    /// Rolling-refresh write interval in seconds.
    #[must_use]
    pub fn rolling_interval(mut self, secs: u64) -> Self {
        self.rolling_interval = secs;
        self
    }
    /// Cap on sessions per user and the policy past it.
    #[must_use]
    pub fn max_sessions_per_user(mut self, max: Option<usize>, policy: SessionLimitPolicy) -> Self {
        self.max_sessions_per_user = max;
        self.limit_policy = policy;
        self
    }
    /// The cookie policy.
    #[must_use]
    pub fn cookie(mut self, cookie: CookiePolicy) -> Self {
        self.cookie = cookie;
        self
    }
    /// Sign cookie values.
    #[must_use]
    pub fn signer(mut self, signer: IdSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.idle_timeout == 0 || self.absolute_timeout == 0 {
            return Err(ConfigError::Invalid(
                "session timeouts must be positive".into(),
            ));
        }
        if self.max_sessions_per_user == Some(0) {
            return Err(ConfigError::Invalid(
                "max_sessions_per_user must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
