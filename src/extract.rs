//! What a handler asks for. These types are the extractors (axum,
//! actix-web) and request guards (Rocket) of every adapter: each adapter
//! only implements its framework's trait by handing the request's
//! [`AuthOutcome`] to [`FromOutcome`], so the decisions (which scheme
//! counts, what an anonymous caller gets, 401 or 403) are made here once.
//!
//! | type | lets in | refuses with |
//! |------|---------|--------------|
//! | [`Identity`] | any authenticated caller | 401 (400, 403, 503 when the request failed) |
//! | [`SessionIdentity`] | a caller of the session cookie | 401, no challenge |
//! | [`BearerIdentity`] | a caller of `Authorization: Bearer` | 401 with `WWW-Authenticate: Bearer` |
//! | [`OptionalIdentity<S>`](OptionalIdentity) | everyone; the identity if there is one (of scheme `S`) | only a request that failed outright (CSRF, malformed credentials, store down) |
//! | [`RequireRole<R, S>`](RequireRole) | a caller with role `R::NAME` (of scheme `S`) | 401, 403 |
//! | [`SessionHandle`], [`TokenHandle`] | everyone: the operations (login, logout, tokens) | nothing |
//!
//! Without the adapter's middleware in front of the route, every one of
//! them answers 500 [`RejectionKind::MissingMiddleware`] and logs the
//! configuration error.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use crate::auth::AuthOutcome;
use crate::handle::{SessionHandle, TokenHandle};
use crate::identity::{Identity, Requirement, RoleName, SchemeFilter};
use crate::rejection::{Rejection, RejectionKind, Scheme};

/// Built from the request's outcome, the same way in every adapter.
pub(crate) trait FromOutcome: Sized {
    /// `Self` for the request whose outcome is `outcome`.
    fn from_outcome(outcome: &Arc<AuthOutcome>) -> Result<Self, Rejection>;
}

/// `T` from the outcome an adapter found in the request; without one the
/// middleware is missing: logged, 500.
pub(crate) fn extract<T: FromOutcome>(outcome: Option<&Arc<AuthOutcome>>) -> Result<T, Rejection> {
    match outcome {
        Some(outcome) => T::from_outcome(outcome),
        None => Err(missing_middleware()),
    }
}

/// The rejection for a route whose middleware was not installed (a server
/// configuration error, logged here once for every adapter).
pub(crate) fn missing_middleware() -> Rejection {
    tracing::error!(
        "portcullis: no authentication outcome in the request; install the adapter's \
         AuthLayer in front of this route (server configuration error)"
    );
    Rejection::session(RejectionKind::MissingMiddleware)
}

/// The identity meeting `requirement`, counting only credentials of
/// `scheme` when one is given.
fn required(
    outcome: &AuthOutcome,
    scheme: Option<Scheme>,
    requirement: &Requirement,
) -> Result<Identity, Rejection> {
    outcome.state.require_in(scheme, requirement).cloned()
}

impl FromOutcome for Identity {
    fn from_outcome(outcome: &Arc<AuthOutcome>) -> Result<Self, Rejection> {
        required(outcome, None, &Requirement::Authenticated)
    }
}

macro_rules! scheme_identity {
    ($(#[$doc:meta])* $name:ident, $scheme:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub Identity);

        impl Deref for $name {
            type Target = Identity;
            fn deref(&self) -> &Identity {
                &self.0
            }
        }

        impl SchemeFilter for $name {
            const SCHEME: Option<Scheme> = Some($scheme);
        }

        impl FromOutcome for $name {
            fn from_outcome(outcome: &Arc<AuthOutcome>) -> Result<Self, Rejection> {
                required(outcome, Some($scheme), &Requirement::Authenticated).map($name)
            }
        }
    };
}

scheme_identity!(
    /// A caller authenticated by `Authorization: Bearer`; without one the
    /// answer is 401 with `WWW-Authenticate: Bearer`, even if a session
    /// cookie was sent. Derefs to the [`Identity`].
    ///
    /// ```
    /// use portcullis::BearerIdentity;
    /// fn api(who: BearerIdentity) -> String {
    ///     who.subject().to_owned()
    /// }
    /// ```
    BearerIdentity,
    Scheme::Bearer
);

scheme_identity!(
    /// A caller authenticated by the session cookie (CSRF-checked on unsafe
    /// methods); a bearer token does not count. Derefs to the [`Identity`].
    ///
    /// ```
    /// use portcullis::SessionIdentity;
    /// fn page(who: SessionIdentity) -> String {
    ///     format!("hello {}", who.subject())
    /// }
    /// ```
    SessionIdentity,
    Scheme::Session
);

/// Everyone gets in: the identity when the caller is authenticated (by
/// scheme `S`: [`Identity`] for either, the default, [`SessionIdentity`] or
/// [`BearerIdentity`]), `None` for an anonymous caller, a dead
/// cookie or an expired token. A request that failed outright (CSRF,
/// malformed credentials, store down) is still refused: optional never
/// means fail open. Derefs to `Option<Identity>`.
///
/// ```
/// use portcullis::OptionalIdentity;
/// fn home(who: OptionalIdentity) -> String {
///     match who.as_ref() {
///         Some(who) => format!("hello {}", who.subject()),
///         None => "hello stranger".into(),
///     }
/// }
/// ```
pub struct OptionalIdentity<S: SchemeFilter = Identity> {
    identity: Option<Identity>,
    _scheme: PhantomData<fn() -> S>,
}

impl<S: SchemeFilter> OptionalIdentity<S> {
    /// The identity, if any.
    #[must_use]
    pub fn into_inner(self) -> Option<Identity> {
        self.identity
    }
}

impl<S: SchemeFilter> Deref for OptionalIdentity<S> {
    type Target = Option<Identity>;
    fn deref(&self) -> &Option<Identity> {
        &self.identity
    }
}

impl<S: SchemeFilter> fmt::Debug for OptionalIdentity<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OptionalIdentity")
            .field(&self.identity)
            .finish()
    }
}

impl<S: SchemeFilter> FromOutcome for OptionalIdentity<S> {
    fn from_outcome(outcome: &Arc<AuthOutcome>) -> Result<Self, Rejection> {
        let state = &outcome.state;
        let identity = match (state.optional()?, S::SCHEME) {
            (None, _) => None,
            (Some(id), None) => Some(id.clone()),
            (Some(id), Some(scheme)) => (id.scheme() == scheme).then(|| id.clone()),
        };
        Ok(OptionalIdentity {
            identity,
            _scheme: PhantomData,
        })
    }
}

/// Lets in only callers with role `R::NAME` (authenticated by scheme `S`:
/// [`Identity`] for either, the default, [`SessionIdentity`] or
/// [`BearerIdentity`]): 401 when not authenticated, 403 when the role is
/// missing. Derefs to the [`Identity`]. Declare a role in one line with
/// [`role!`](crate::role).
///
/// ```
/// use portcullis::{BearerIdentity, RequireRole};
/// portcullis::role!(Admin = "admin");
/// fn admin_api(who: RequireRole<Admin, BearerIdentity>) -> String {
///     who.subject().to_owned()
/// }
/// ```
pub struct RequireRole<R: RoleName, S: SchemeFilter = Identity> {
    identity: Identity,
    _marker: PhantomData<fn() -> (R, S)>,
}

impl<R: RoleName, S: SchemeFilter> RequireRole<R, S> {
    /// The identity.
    #[must_use]
    pub fn into_identity(self) -> Identity {
        self.identity
    }
}

impl<R: RoleName, S: SchemeFilter> Deref for RequireRole<R, S> {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.identity
    }
}

impl<R: RoleName, S: SchemeFilter> fmt::Debug for RequireRole<R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireRole")
            .field("role", &R::NAME)
            .field("identity", &self.identity)
            .finish()
    }
}

impl<R: RoleName, S: SchemeFilter> FromOutcome for RequireRole<R, S> {
    fn from_outcome(outcome: &Arc<AuthOutcome>) -> Result<Self, Rejection> {
        let identity = required(outcome, S::SCHEME, &Requirement::any_role([R::NAME]))?;
        Ok(RequireRole {
            identity,
            _marker: PhantomData,
        })
    }
}

impl FromOutcome for SessionHandle {
    fn from_outcome(outcome: &Arc<AuthOutcome>) -> Result<Self, Rejection> {
        Ok(SessionHandle::new(Arc::clone(outcome)))
    }
}

impl FromOutcome for TokenHandle {
    fn from_outcome(outcome: &Arc<AuthOutcome>) -> Result<Self, Rejection> {
        Ok(TokenHandle::new(Arc::clone(outcome)))
    }
}
