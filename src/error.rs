//! Error types: configuration errors (raised when building) and store errors.
//!
//! Request-level failures are [`Rejection`](crate::Rejection)s, a separate
//! type in [`crate::rejection`]: a configuration error is the operator's
//! problem and must stop start-up, a rejection is the client's answer.

use std::fmt;

/// A configuration that is contradictory or insecure, refused when a builder
/// runs (never per request).
///
/// ```
/// use portcullis::{Authenticator, CookiePolicy, SameSite, SessionConfig};
/// // `SameSite=None` without `Secure` is refused at build time.
/// let cookie = CookiePolicy::default()
///     .name("sid")
///     .same_site(SameSite::None)
///     .insecure_no_secure();
/// let err = Authenticator::builder()
///     .sessions(SessionConfig::default().cookie(cookie))
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("SameSite=None"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The cookie policy breaks a browser rule (prefix, SameSite, name).
    Cookie(String),
    /// A secret or key is too short, malformed or missing.
    Key(String),
    /// The JWT configuration is contradictory (algorithms, backends, claims).
    Jwt(String),
    /// Another setting is out of range.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Cookie(m) => write!(f, "invalid cookie policy: {m}"),
            ConfigError::Key(m) => write!(f, "invalid key: {m}"),
            ConfigError::Jwt(m) => write!(f, "invalid JWT configuration: {m}"),
            ConfigError::Invalid(m) => write!(f, "invalid configuration: {m}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A failure of a [`SessionStore`](crate::store::SessionStore) or
/// [`RevocationList`](crate::jwt::RevocationList).
///
/// The manager retries [`StoreError::Collision`], reports
/// [`StoreError::Conflict`] to the caller, and turns everything else into a
/// 503 [`Rejection`](crate::Rejection): a store that is down lets nobody in.
///
/// Messages must never contain secrets (connection strings with passwords,
/// session IDs); implementations are responsible for that.
///
/// ```
/// use portcullis::StoreError;
/// let e = StoreError::Unavailable("connection refused".into());
/// assert!(e.is_unavailable());
/// assert!(!StoreError::Conflict.is_unavailable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// `create` found a record under that key already. The manager draws a
    /// new ID and tries again.
    Collision,
    /// `update` lost an optimistic-concurrency race: the record's version no
    /// longer matches (or it was deleted meanwhile).
    Conflict,
    /// The backend cannot be reached.
    Unavailable(String),
    /// The backend did not answer in time.
    Timeout,
    /// Any other backend failure (bad data, protocol error).
    Backend(String),
}

impl StoreError {
    /// True for failures that mean "the store cannot answer now" (fail closed
    /// with 503): everything except `Collision` and `Conflict`.
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        !matches!(self, StoreError::Collision | StoreError::Conflict)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Collision => f.write_str("a record with that key exists"),
            StoreError::Conflict => f.write_str("the record changed concurrently"),
            StoreError::Unavailable(m) => write!(f, "store unavailable: {m}"),
            StoreError::Timeout => f.write_str("store timed out"),
            StoreError::Backend(m) => write!(f, "store failure: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The operating system's random number generator failed (should never
/// happen on a supported platform; treated as 503, fail closed).
///
/// ```ignore
/// let e = portcullis::RngError;
/// assert_eq!(e.to_string(), "the OS random number generator failed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngError;

impl fmt::Display for RngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the OS random number generator failed")
    }
}

impl std::error::Error for RngError {}

/// Fill `buf` from the OS CSPRNG.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), RngError> {
    getrandom::fill(buf).map_err(|_| RngError)
}
