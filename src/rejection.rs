//! Request rejections: one type that knows its HTTP status, its
//! `WWW-Authenticate` challenge and a short public message.
//!
//! Every adapter maps a [`Rejection`] to a response in exactly one place,
//! using [`Rejection::status`], [`Rejection::www_authenticate`] and
//! [`Rejection::body`], so the three frameworks put the same bytes on the
//! wire for the same failure.
//!
//! ```
//! use portcullis::{Rejection, RejectionKind};
//! let r = Rejection::bearer(RejectionKind::InvalidToken);
//! assert_eq!(r.status(), 401);
//! assert_eq!(r.www_authenticate(), Some(r#"Bearer error="invalid_token""#));
//! assert_eq!(r.body(), r#"{"error":"invalid token"}"#);
//!
//! let r = Rejection::bearer(RejectionKind::InsufficientRole);
//! assert_eq!(r.status(), 403);
//! assert_eq!(r.www_authenticate(), Some(r#"Bearer error="insufficient_scope""#));
//! ```

use std::borrow::Cow;
use std::fmt;

/// The body adapters send (with status 500) when a route needs the
/// authentication outcome but the middleware/fairing was not installed: a
/// server configuration error, reported the same way by every adapter.
pub(crate) const MISCONFIGURED_BODY: &str = r#"{"error":"internal server error"}"#;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No credentials at all (401).
    MissingCredentials,
    /// A session cookie was sent but names no live session (401).
    InvalidSession,
    /// A bearer token was sent but is invalid, expired or revoked (401).
    InvalidToken,
    /// The credentials are malformed at the protocol level, e.g. two
    /// `Authorization` headers (400, `invalid_request`).
    MalformedRequest,
    /// Authenticated, but lacking the required role (403).
    InsufficientRole,
    /// Missing or wrong CSRF token on an unsafe cookie request (403).
    CsrfTokenInvalid,
    /// A cross-site unsafe request carrying the session cookie (403).
    CrossSiteRequest,
    /// The store or revocation list could not answer: fail closed (503).
    StoreUnavailable,
    /// The user has reached the session cap and the policy refuses (403).
    TooManySessions,
    /// A login's credential check failed: wrong password or unknown user,
    /// answered alike (401). Login handlers return it, so every framework
    /// answers the same bytes.
    InvalidCredentials,
    /// Too many failed logins: the attempt is refused before any password
    /// check (429, with `Retry-After`; see
    /// [`LoginThrottle`](crate::LoginThrottle)).
    TooManyAttempts,
    /// A route asked for the authentication outcome but the adapter's
    /// middleware (`AuthLayer`) did not run: a server configuration error,
    /// logged, answered 500 by every adapter alike.
    MissingMiddleware,
    /// Authenticated, but not recently enough for this route: prove a
    /// credential again (403; for a bearer caller, RFC 9470's
    /// `insufficient_user_authentication`). See
    /// [`Requirement::AuthenticatedWithin`](crate::Requirement::AuthenticatedWithin).
    ReauthenticationRequired,
    /// The caller named a credential (by `id_hint`) that is not theirs or
    /// does not exist, answered alike (404).
    NotFound,
    /// Session data would grow past its cap; nothing was written (413). See
    /// [`SessionConfig::max_data_bytes`](crate::SessionConfig::max_data_bytes).
    PayloadTooLarge,
    /// Stored session data did not decode as the type asked for: a bug in
    /// the application, logged, answered 500.
    SessionDataInvalid,
}

impl RejectionKind {
    /// The HTTP status code.
    #[must_use]
    pub const fn status(self) -> u16 {
        match self {
            RejectionKind::MissingCredentials
            | RejectionKind::InvalidSession
            | RejectionKind::InvalidToken
            | RejectionKind::InvalidCredentials => 401,
            RejectionKind::MalformedRequest => 400,
            RejectionKind::InsufficientRole
            | RejectionKind::CsrfTokenInvalid
            | RejectionKind::CrossSiteRequest
            | RejectionKind::TooManySessions => 403,
            RejectionKind::StoreUnavailable => 503,
            RejectionKind::TooManyAttempts => 429,
            RejectionKind::MissingMiddleware | RejectionKind::SessionDataInvalid => 500,
            RejectionKind::ReauthenticationRequired => 403,
            RejectionKind::NotFound => 404,
            RejectionKind::PayloadTooLarge => 413,
        }
    }

    /// The short public message (never contains request data).
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            RejectionKind::MissingCredentials => "authentication required",
            RejectionKind::InvalidSession => "invalid or expired session",
            RejectionKind::InvalidToken => "invalid token",
            RejectionKind::MalformedRequest => "malformed request",
            RejectionKind::InsufficientRole => "insufficient role",
            RejectionKind::CsrfTokenInvalid => "invalid CSRF token",
            RejectionKind::CrossSiteRequest => "cross-site request refused",
            RejectionKind::StoreUnavailable => "service unavailable",
            RejectionKind::TooManySessions => "too many sessions",
            RejectionKind::InvalidCredentials => "invalid credentials",
            RejectionKind::TooManyAttempts => "too many attempts",
            RejectionKind::MissingMiddleware | RejectionKind::SessionDataInvalid => {
                "internal server error"
            }
            RejectionKind::ReauthenticationRequired => "reauthentication required",
            RejectionKind::NotFound => "not found",
            RejectionKind::PayloadTooLarge => "payload too large",
        }
    }

    const fn body(self) -> &'static str {
        match self {
            RejectionKind::MissingCredentials => r#"{"error":"authentication required"}"#,
            RejectionKind::InvalidSession => r#"{"error":"invalid or expired session"}"#,
            RejectionKind::InvalidToken => r#"{"error":"invalid token"}"#,
            RejectionKind::MalformedRequest => r#"{"error":"malformed request"}"#,
            RejectionKind::InsufficientRole => r#"{"error":"insufficient role"}"#,
            RejectionKind::CsrfTokenInvalid => r#"{"error":"invalid CSRF token"}"#,
            RejectionKind::CrossSiteRequest => r#"{"error":"cross-site request refused"}"#,
            RejectionKind::StoreUnavailable => r#"{"error":"service unavailable"}"#,
            RejectionKind::TooManySessions => r#"{"error":"too many sessions"}"#,
            RejectionKind::InvalidCredentials => r#"{"error":"invalid credentials"}"#,
            RejectionKind::TooManyAttempts => r#"{"error":"too many attempts"}"#,
            RejectionKind::MissingMiddleware | RejectionKind::SessionDataInvalid => {
                MISCONFIGURED_BODY
            }
            RejectionKind::ReauthenticationRequired => r#"{"error":"reauthentication required"}"#,
            RejectionKind::NotFound => r#"{"error":"not found"}"#,
            RejectionKind::PayloadTooLarge => r#"{"error":"payload too large"}"#,
        }
    }
}

/// Which credential scheme the request was judged under; decides the
/// `WWW-Authenticate` challenge (RFC 6750 for bearer tokens, none for cookie
/// sessions, which have no standard challenge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Cookie session.
    Session,
    /// `Authorization: Bearer` (or a JWT carried in a cookie).
    Bearer,
}

/// A refused request: status, challenge and public JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection {
    kind: RejectionKind,
    scheme: Scheme,
    /// Seconds for `Retry-After` (a throttled login).
    retry_after: Option<u32>,
}

impl Rejection {
    /// A rejection judged under `scheme`.
    #[must_use]
    pub const fn new(kind: RejectionKind, scheme: Scheme) -> Self {
        Rejection {
            kind,
            scheme,
            retry_after: None,
        }
    }
    /// The same rejection, answered with `Retry-After: secs`.
    #[must_use]
    pub(crate) const fn with_retry_after(mut self, secs: u32) -> Self {
        self.retry_after = Some(secs);
        self
    }
    /// The seconds of the `Retry-After` header, if any (a throttled login).
    #[must_use]
    pub const fn retry_after(&self) -> Option<u32> {
        self.retry_after
    }
    /// A cookie-session rejection (no challenge header).
    #[must_use]
    pub const fn session(kind: RejectionKind) -> Self {
        Self::new(kind, Scheme::Session)
    }
    /// A bearer-token rejection (RFC 6750 challenge).
    #[must_use]
    pub const fn bearer(kind: RejectionKind) -> Self {
        Self::new(kind, Scheme::Bearer)
    }
    /// Why.
    #[must_use]
    pub const fn kind(&self) -> RejectionKind {
        self.kind
    }
    /// Under which scheme.
    #[must_use]
    pub const fn scheme(&self) -> Scheme {
        self.scheme
    }
    /// The HTTP status code.
    #[must_use]
    pub const fn status(&self) -> u16 {
        self.kind.status()
    }
    /// The public message.
    #[must_use]
    pub const fn message(&self) -> &'static str {
        self.kind.message()
    }
    /// The JSON body, `{"error":"<message>"}`.
    #[must_use]
    pub const fn body(&self) -> &'static str {
        self.kind.body()
    }
    /// The `WWW-Authenticate` value, if any (RFC 6750 §3).
    #[must_use]
    pub const fn www_authenticate(&self) -> Option<&'static str> {
        match (self.scheme, self.kind) {
            (Scheme::Session, _) => None,
            (Scheme::Bearer, RejectionKind::MissingCredentials) => Some("Bearer"),
            (Scheme::Bearer, RejectionKind::InvalidToken | RejectionKind::InvalidSession) => {
                Some(r#"Bearer error="invalid_token""#)
            }
            (Scheme::Bearer, RejectionKind::MalformedRequest) => {
                Some(r#"Bearer error="invalid_request""#)
            }
            (Scheme::Bearer, RejectionKind::InsufficientRole) => {
                Some(r#"Bearer error="insufficient_scope""#)
            }
            (Scheme::Bearer, RejectionKind::ReauthenticationRequired) => {
                Some(r#"Bearer error="insufficient_user_authentication""#)
            }
            (Scheme::Bearer, _) => None,
        }
    }
    /// Every header of the response, as `(name, value)` pairs (lower-case
    /// names): `content-type`, `cache-control` and, if any,
    /// `www-authenticate` and `retry-after`.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, Cow<'static, str>)> {
        [
            Some(("content-type", Cow::Borrowed("application/json"))),
            Some(("cache-control", Cow::Borrowed("no-store"))),
            self.www_authenticate()
                .map(|v| ("www-authenticate", Cow::Borrowed(v))),
            self.retry_after
                .map(|s| ("retry-after", Cow::Owned(s.to_string()))),
        ]
        .into_iter()
        .flatten()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.status())
    }
}

impl std::error::Error for Rejection {}
