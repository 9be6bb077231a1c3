//! [`LoginThrottle`]: the limits and their defaults.

use std::time::Duration;

use crate::error::ConfigError;

/// Login throttling settings, for
/// [`AuthenticatorBuilder::login_throttle`](crate::AuthenticatorBuilder::login_throttle).
/// On by default, with the limits of OWASP's guidance and django-axes'
/// defaults: 5 failures per username and client, 100 per username from all
/// clients, 50 per client, counted over 15 minutes; a 60 s lockout that
/// doubles per further failure of the pair up to 1 h. The rules are in
/// [`LoginAttempt`](crate::LoginAttempt)'s module docs.
///
/// ```
/// use std::time::Duration;
/// use portcullis::{Authenticator, LoginThrottle};
/// let auth = Authenticator::builder()
///     .login_throttle(
///         LoginThrottle::default()
///             .max_failures(10)
///             .lockout(Duration::from_secs(30)),
///     )
///     .build()
///     .unwrap();
/// # let _ = auth;
/// // Off, explicitly (e.g. a service whose logins are throttled upstream):
/// let auth = Authenticator::builder().login_throttle(LoginThrottle::disabled()).build();
/// assert!(auth.is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginThrottle {
    pub(crate) enabled: bool,
    pub(crate) max_failures: u32,
    pub(crate) max_failures_per_user: u32,
    pub(crate) max_failures_per_client: u32,
    pub(crate) lockout: Duration,
    pub(crate) max_lockout: Duration,
    pub(crate) window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            enabled: true,
            max_failures: 5,
            max_failures_per_user: 100,
            max_failures_per_client: 50,
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(60 * 60),
            window: Duration::from_secs(15 * 60),
        }
    }
}

impl LoginThrottle {
    /// No throttling at all. An explicit opt-out: password guessing is then
    /// limited only by what is in front of the server.
    #[must_use]
    pub fn disabled() -> Self {
        LoginThrottle {
            enabled: false,
            ..Self::default()
        }
    }
    /// Failures of one username from one client before that pair is
    /// throttled (default 5).
    #[must_use]
    pub fn max_failures(mut self, n: u32) -> Self {
        self.max_failures = n;
        self
    }
    /// Failures of one username from all clients before the username is
    /// throttled for everyone (default 100).
    #[must_use]
    pub fn max_failures_per_user(mut self, n: u32) -> Self {
        self.max_failures_per_user = n;
        self
    }
    /// Failures from one client, any usernames, before the client is
    /// throttled (default 50).
    #[must_use]
    pub fn max_failures_per_client(mut self, n: u32) -> Self {
        self.max_failures_per_client = n;
        self
    }
    /// The first throttle period (default 60 s); a pair's later periods
    /// double, up to [`max_lockout`](Self::max_lockout).
    #[must_use]
    pub fn lockout(mut self, period: Duration) -> Self {
        self.lockout = period;
        self
    }
    /// The longest period a pair is throttled for (default 1 h).
    #[must_use]
    pub fn max_lockout(mut self, period: Duration) -> Self {
        self.max_lockout = period;
        self
    }
    /// How long a failure counts (default 15 min, a sliding window).
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_failures == 0
            || self.max_failures_per_user == 0
            || self.max_failures_per_client == 0
        {
            return Err(ConfigError::Invalid(
                "login throttle limits must be at least 1".into(),
            ));
        }
        for (name, d) in [
            ("lockout", self.lockout),
            ("max_lockout", self.max_lockout),
            ("window", self.window),
        ] {
            if d.is_zero() || d.subsec_nanos() != 0 {
                return Err(ConfigError::Invalid(format!(
                    "the login throttle's {name} must be a positive whole number of seconds"
                )));
            }
        }
        if self.lockout > self.max_lockout {
            return Err(ConfigError::Invalid(
                "the login throttle's lockout is longer than its max_lockout".into(),
            ));
        }
        Ok(())
    }
}
