//! Who the caller is, how they proved it, and what a route requires.
//!
//! ```
//! use portcullis::{AuthMethod, Identity, Requirement};
//! use portcullis::store::SessionKey;
//! use portcullis::RejectionKind;
//! let key = SessionKey::from_bytes([7; 32]);
//! let alice = Identity::new("alice", vec!["user".into()], AuthMethod::Session(key));
//! assert!(Requirement::Authenticated.check(&alice).is_ok());
//! assert!(Requirement::any_role(["user", "admin"]).check(&alice).is_ok());
//! assert_eq!(
//!     Requirement::any_role(["admin"]).check(&alice),
//!     Err(RejectionKind::InsufficientRole)
//! );
//! ```

use std::sync::Arc;

use crate::id::SessionKey;
use crate::rejection::{Rejection, RejectionKind, Scheme};
use crate::store::{SessionRecord, UserId};

/// Details of the bearer token that authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The token's unique ID.
    pub jti: String,
    /// When it was issued.
    pub iat: u64,
    /// When it expires.
    pub exp: u64,
    /// The refresh family (session) it belongs to, if any.
    pub sid: Option<String>,
    /// The issuer, for a token of a [`TrustedIssuer`](crate::jwt::TrustedIssuer)
    /// (whose `jti` may be empty and `iat` 0 when the token has none);
    /// `None` for this service's own tokens.
    pub iss: Option<String>,
}

impl TokenInfo {
    /// Token details.
    #[must_use]
    pub fn new(jti: String, iat: u64, exp: u64, sid: Option<String>) -> Self {
        TokenInfo {
            jti,
            iat,
            exp,
            sid,
            iss: None,
        }
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A session cookie; the key of the session record.
    Session(SessionKey),
    /// A bearer token (or a JWT cookie).
    Bearer(TokenInfo),
}

/// An authenticated caller. Cloning is cheap (a reference count, never a
/// string copy), so extractors hand out copies freely.
#[derive(Debug, Clone)]
pub struct Identity(Repr);

/// Where the subject, roles and method live: the session record itself
/// (no copy on the request path), or one shared allocation (bearer tokens,
/// which the verified-token cache hands out again without copying).
#[derive(Debug, Clone)]
enum Repr {
    Session {
        method: AuthMethod,
        record: Arc<SessionRecord>,
        /// When the request was authenticated (the authenticator's clock),
        /// for freshness checks.
        now: u64,
    },
    Owned(Arc<Owned>),
}

#[derive(Debug)]
struct Owned {
    /// Inline up to 23 bytes: no allocation for a typical user ID.
    subject: UserId,
    /// Shared: tokens with the same role set share one copy.
    roles: Arc<[String]>,
    method: AuthMethod,
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.subject() == other.subject()
            && self.roles() == other.roles()
            && self.method() == other.method()
    }
}
impl Eq for Identity {}

impl Identity {
    /// An identity with `subject`, `roles` and `method`.
    #[must_use]
    pub fn new(subject: impl Into<String>, roles: Vec<String>, method: AuthMethod) -> Self {
        Self::shared(UserId::from(subject.into()), Arc::from(roles), method)
    }
    /// [`new`](Self::new) from parts already in their stored form (the
    /// bearer path builds them without a copy).
    pub(crate) fn shared(subject: UserId, roles: Arc<[String]>, method: AuthMethod) -> Self {
        Identity(Repr::Owned(Arc::new(Owned {
            subject,
            roles,
            method,
        })))
    }
    /// The identity of the session `record` stored under `key`, seen at
    /// `now` (seconds since the Unix epoch, the instant freshness is judged
    /// at: see [`authenticated_within`](Self::authenticated_within)).
    #[must_use]
    pub fn from_session(key: SessionKey, record: Arc<SessionRecord>, now: u64) -> Self {
        Identity(Repr::Session {
            method: AuthMethod::Session(key),
            record,
            now,
        })
    }
    /// True when the caller proved a credential (logged in or
    /// re-authenticated) at most `window` before this request. Only a
    /// cookie session knows when that was; a bearer token never counts as
    /// recent (refreshes mint new tokens without a password).
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// use portcullis::{Identity, store::{SessionKey, SessionRecord}};
    /// let record = Arc::new(SessionRecord::new("alice", 1_000, 1_800, 43_200));
    /// let seen = |now| Identity::from_session(SessionKey::from_bytes([1; 32]), record.clone(), now);
    /// assert!(seen(1_300).authenticated_within(Duration::from_secs(300)));
    /// assert!(!seen(1_301).authenticated_within(Duration::from_secs(300)));
    /// ```
    #[must_use]
    pub fn authenticated_within(&self, window: std::time::Duration) -> bool {
        match &self.0 {
            Repr::Session { record, now, .. } => {
                record.authenticated_at != 0
                    && now.saturating_sub(record.authenticated_at) <= window.as_secs()
            }
            Repr::Owned(_) => false,
        }
    }
    /// The session record behind a session identity.
    pub(crate) fn session_record(&self) -> Option<&Arc<SessionRecord>> {
        match &self.0 {
            Repr::Session { record, .. } => Some(record),
            Repr::Owned(_) => None,
        }
    }
    /// The user ID.
    #[must_use]
    pub fn subject(&self) -> &str {
        match &self.0 {
            Repr::Owned(o) => &o.subject,
            Repr::Session { record, .. } => &record.user_id,
        }
    }
    /// The roles.
    #[must_use]
    pub fn roles(&self) -> &[String] {
        match &self.0 {
            Repr::Owned(o) => &o.roles,
            Repr::Session { record, .. } => &record.roles,
        }
    }
    /// True if the identity has `role`.
    #[must_use]
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().iter().any(|r| r == role)
    }
    /// How the caller authenticated.
    #[must_use]
    pub fn method(&self) -> &AuthMethod {
        match &self.0 {
            Repr::Owned(o) => &o.method,
            Repr::Session { method, .. } => method,
        }
    }
    /// The scheme rejections for this caller are phrased in.
    #[must_use]
    pub fn scheme(&self) -> Scheme {
        match self.method() {
            AuthMethod::Bearer(_) => Scheme::Bearer,
            _ => Scheme::Session,
        }
    }
}

/// What a route requires of its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requirement {
    /// Any authenticated caller.
    Authenticated,
    /// A caller with at least one of these roles.
    AnyRole(Vec<String>),
    /// A caller with every one of these roles.
    AllRoles(Vec<String>),
    /// A caller who proved a credential at most this long ago (step-up
    /// before a sensitive action; see [`Identity::authenticated_within`]).
    /// A stale caller gets 403
    /// [`RejectionKind::ReauthenticationRequired`]; re-authenticate with
    /// [`SessionHandle::reauthenticate`](crate::SessionHandle::reauthenticate).
    ///
    /// ```
    /// use std::time::Duration;
    /// use portcullis::{Authenticator, RequestView, Requirement, SessionHandle};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let anon = auth.authenticate(&RequestView::new("POST")).await;
    /// SessionHandle::new(anon.clone()).login("alice", vec![]).await.unwrap();
    /// let cookie = anon.take_response_headers().find(|(n, _)| *n == "set-cookie").unwrap().1;
    /// let mut view = RequestView::new("GET");
    /// view.add_header("cookie", cookie.split(';').next().unwrap().as_bytes());
    /// let outcome = auth.authenticate(&view).await;
    /// let fresh = Requirement::AuthenticatedWithin(Duration::from_secs(300));
    /// assert!(outcome.state.require(&fresh).is_ok());
    /// # });
    /// ```
    AuthenticatedWithin(std::time::Duration),
}

impl Requirement {
    /// At least one of `roles`.
    #[must_use]
    pub fn any_role<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement::AnyRole(roles.into_iter().map(Into::into).collect())
    }
    /// Every one of `roles`.
    #[must_use]
    pub fn all_roles<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement::AllRoles(roles.into_iter().map(Into::into).collect())
    }
    /// Check an authenticated caller.
    ///
    /// # Errors
    /// [`RejectionKind::InsufficientRole`] when a role is missing.
    pub fn check(&self, identity: &Identity) -> Result<(), RejectionKind> {
        let ok = match self {
            Requirement::Authenticated => true,
            Requirement::AnyRole(r) => r.iter().any(|r| identity.has_role(r)),
            Requirement::AllRoles(r) => r.iter().all(|r| identity.has_role(r)),
            Requirement::AuthenticatedWithin(window) => {
                return if identity.authenticated_within(*window) {
                    Ok(())
                } else {
                    Err(RejectionKind::ReauthenticationRequired)
                };
            }
        };
        if ok {
            Ok(())
        } else {
            Err(RejectionKind::InsufficientRole)
        }
    }
}

/// A role named at the type level, for [`RequireRole<R>`](crate::RequireRole)
/// (one trait for every framework). Declare one with [`role!`](crate::role).
///
/// ```
/// use portcullis::RoleName;
/// portcullis::role!(pub Admin = "admin");
/// assert_eq!(Admin::NAME, "admin");
/// ```
pub trait RoleName: Send + Sync + 'static {
    /// The role string, as stored in [`Identity::roles`].
    const NAME: &'static str;
}

/// Declare role types for [`RequireRole`](crate::RequireRole) in one line
/// each: `role!(pub Admin = "admin")` is an uninhabited `pub enum Admin {}`
/// implementing [`RoleName`] with `NAME = "admin"`. Several roles are
/// separated by `;`; doc comments and attributes go before each name.
///
/// ```
/// use portcullis::{RequireRole, RoleName};
/// portcullis::role! {
///     /// Can change other users' roles.
///     pub Admin = "admin";
///     pub(crate) Editor = "editor";
/// }
/// assert_eq!((Admin::NAME, Editor::NAME), ("admin", "editor"));
/// fn admin_only(who: RequireRole<Admin>) -> String {
///     who.subject().to_owned()
/// }
/// ```
#[macro_export]
macro_rules! role {
    ($($(#[$meta:meta])* $vis:vis $name:ident = $role:literal);+ $(;)?) => {$(
        #[doc = concat!("The role `", $role, "`.")]
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis enum $name {}
        impl $crate::RoleName for $name {
            const NAME: &'static str = $role;
        }
    )+};
}

/// Which credentials an extractor or guard accepts, at the type level:
/// [`Identity`] (either scheme),
/// [`BearerIdentity`](crate::BearerIdentity) (only a bearer token; without
/// one the answer is 401 with `WWW-Authenticate: Bearer`, even if a session
/// cookie was sent) or [`SessionIdentity`](crate::SessionIdentity) (only a
/// session cookie). The parameter of
/// [`OptionalIdentity`](crate::OptionalIdentity) and
/// [`RequireRole`](crate::RequireRole).
///
/// ```
/// use portcullis::{BearerIdentity, Identity, Scheme, SchemeFilter};
/// assert_eq!(BearerIdentity::SCHEME, Some(Scheme::Bearer));
/// assert_eq!(Identity::SCHEME, None);
/// ```
pub trait SchemeFilter: Send + Sync + 'static {
    /// The scheme required, or `None` for either.
    const SCHEME: Option<Scheme>;
}

impl SchemeFilter for Identity {
    const SCHEME: Option<Scheme> = None;
}

/// The outcome of authenticating one request.
///
/// ```
/// use portcullis::{AuthState, Requirement};
/// use portcullis::{Rejection, RejectionKind};
/// let anon = AuthState::Anonymous(Rejection::session(RejectionKind::MissingCredentials));
/// assert_eq!(anon.require(&Requirement::Authenticated).unwrap_err().status(), 401);
/// assert!(anon.optional().unwrap().is_none());
/// let down = AuthState::Failed(Rejection::session(RejectionKind::StoreUnavailable));
/// assert_eq!(down.optional().unwrap_err().status(), 503); // fail closed
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AuthState {
    /// A valid credential.
    Authenticated(Identity),
    /// No valid credential; the rejection says why (missing, invalid).
    Anonymous(Rejection),
    /// The request must be refused whatever the route (CSRF failure, store
    /// down, malformed credentials): even optional authentication fails.
    Failed(Rejection),
}

impl AuthState {
    /// The identity if it meets `req`, else the rejection to send.
    ///
    /// # Errors
    /// The rejection for the request (401, 403, 400 or 503).
    pub fn require(&self, req: &Requirement) -> Result<&Identity, Rejection> {
        match self {
            AuthState::Authenticated(id) => req
                .check(id)
                .map(|()| id)
                .map_err(|k| Rejection::new(k, id.scheme())),
            AuthState::Anonymous(r) | AuthState::Failed(r) => Err(*r),
        }
    }
    /// Like [`require`](Self::require), but only credentials of `scheme`
    /// count, and "no credentials" is phrased in `scheme` (e.g. a bearer-only
    /// route answers `WWW-Authenticate: Bearer` even when a cookie was sent).
    ///
    /// # Errors
    /// The rejection for the request.
    pub fn require_scheme(
        &self,
        scheme: Scheme,
        req: &Requirement,
    ) -> Result<&Identity, Rejection> {
        let missing = Rejection::new(RejectionKind::MissingCredentials, scheme);
        match self {
            AuthState::Authenticated(id) if id.scheme() == scheme => req
                .check(id)
                .map(|()| id)
                .map_err(|k| Rejection::new(k, scheme)),
            AuthState::Authenticated(_) => Err(missing),
            AuthState::Anonymous(r)
                if r.scheme() == scheme && r.kind() != RejectionKind::MissingCredentials =>
            {
                Err(*r)
            }
            AuthState::Anonymous(_) => Err(missing),
            AuthState::Failed(r) => Err(*r),
        }
    }

    /// [`require_scheme`](Self::require_scheme) when a scheme is given,
    /// else [`require`](Self::require): the one check behind every
    /// extractor and route layer of every adapter.
    pub(crate) fn require_in(
        &self,
        scheme: Option<Scheme>,
        req: &Requirement,
    ) -> Result<&Identity, Rejection> {
        match scheme {
            Some(scheme) => self.require_scheme(scheme, req),
            None => self.require(req),
        }
    }

    /// The identity if any; `Ok(None)` when anonymous.
    ///
    /// # Errors
    /// The rejection when the request failed outright (fail closed).
    pub fn optional(&self) -> Result<Option<&Identity>, Rejection> {
        match self {
            AuthState::Authenticated(id) => Ok(Some(id)),
            AuthState::Anonymous(_) => Ok(None),
            AuthState::Failed(r) => Err(*r),
        }
    }
    /// The identity, if authenticated.
    #[must_use]
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            AuthState::Authenticated(id) => Some(id),
            _ => None,
        }
    }
}
