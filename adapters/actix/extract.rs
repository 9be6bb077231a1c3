//! `FromRequest` extractors over the outcome [`AuthMiddleware`](super::AuthMiddleware)
//! stored in the request: identities, a role guard, and handles for the
//! session and token operations.
//!
//! Every rejection is the core's [`Rejection`], turned into a response in
//! one place ([`ResponseError`](actix_web::ResponseError) in `response.rs`).

use std::fmt;
use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use super::require::check;
use super::response::MissingMiddlewareRejection;
use crate::auth::AuthOutcome;
use crate::identity::{AuthState, Identity, Requirement};
use crate::rejection::{Rejection, Scheme};

/// The outcome `AuthMiddleware` stored in `req`.
fn context(req: &HttpRequest) -> Result<Arc<AuthOutcome>, actix_web::Error> {
    match req.extensions().get::<Arc<AuthOutcome>>() {
        Some(outcome) => Ok(Arc::clone(outcome)),
        None => Err(MissingMiddlewareRejection::logged().into()),
    }
}

/// Run `f` on the stored [`AuthState`].
fn with_state<T>(
    req: &HttpRequest,
    f: impl FnOnce(&AuthState) -> Result<T, Rejection>,
) -> Result<T, actix_web::Error> {
    match req.extensions().get::<Arc<AuthOutcome>>() {
        Some(outcome) => f(&outcome.state).map_err(Into::into),
        None => Err(MissingMiddlewareRejection::logged().into()),
    }
}

macro_rules! identity_extractor {
    ($(#[$doc:meta])* $name:ident, |$state:ident| $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub Identity);

        impl $name {
            /// The identity.
            #[must_use]
            pub fn into_inner(self) -> Identity {
                self.0
            }
        }

        impl Deref for $name {
            type Target = Identity;
            fn deref(&self) -> &Identity {
                &self.0
            }
        }

        impl FromRequest for $name {
            type Error = actix_web::Error;
            type Future = Ready<Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                ready(with_state(req, |$state: &AuthState| $check.map(|id| $name(id.clone()))))
            }
        }
    };
}

identity_extractor!(
    /// An authenticated caller, by session cookie or bearer token; otherwise
    /// the request is refused (401, or 403/400/503 from the core).
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use portcullis::actix::Authenticated;
    /// async fn me(who: Authenticated) -> HttpResponse {
    ///     HttpResponse::Ok().body(format!("hello {}", who.subject()))
    /// }
    /// ```
    Authenticated,
    |state| state.require(&Requirement::Authenticated)
);

identity_extractor!(
    /// A caller authenticated by `Authorization: Bearer`; anything else is a
    /// 401 with `WWW-Authenticate: Bearer` (`error="invalid_token"` when a
    /// bad token was sent), even if a valid session cookie came along.
    BearerIdentity,
    |state| state.require_scheme(Scheme::Bearer, &Requirement::Authenticated)
);

identity_extractor!(
    /// A caller authenticated by the session cookie (and, on unsafe methods,
    /// by its CSRF checks); a bearer token does not count.
    SessionIdentity,
    |state| state.require_scheme(Scheme::Session, &Requirement::Authenticated)
);

/// The caller's identity if there is one; `None` for anonymous callers
/// (including a dead cookie or an expired token). Still refuses requests
/// that failed outright (CSRF failure, malformed credentials, store down):
/// optional authentication fails closed.
///
/// Use this rather than `Option<Authenticated>`: actix-web's blanket
/// `FromRequest for Option<T>` turns *every* error into `None`, so it would
/// let a request through as anonymous while the store is down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeAuthenticated(pub Option<Identity>);

impl FromRequest for MaybeAuthenticated {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(with_state(req, |state| {
            state.optional().map(|id| MaybeAuthenticated(id.cloned()))
        }))
    }
}

use crate::handle::{SessionHandle, TokenHandle};
use crate::identity::{AnyScheme, RoleName, SchemeFilter};

/// A handler argument that lets only callers with role `R::NAME` in
/// (authenticated by scheme `S`, any by default): 401 when not
/// authenticated, 403 (`error="insufficient_scope"` for bearer callers) when
/// the role is missing. Derefs to the [`Identity`].
///
/// ```
/// use portcullis::{BearerScheme, RoleName, actix::RequireRole};
/// struct Admin;
/// impl RoleName for Admin {
///     const NAME: &'static str = "admin";
/// }
/// async fn purge(admin: RequireRole<Admin, BearerScheme>) -> String {
///     format!("purged by {}", admin.subject())
/// }
/// # let _ = actix_web::web::post().to(purge);
/// ```
pub struct RequireRole<R: RoleName, S: SchemeFilter = AnyScheme> {
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

impl<R: RoleName, S: SchemeFilter> FromRequest for RequireRole<R, S> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let requirement = Requirement::any_role([R::NAME]);
        ready(with_state(req, |state| {
            check(state, S::SCHEME, &requirement).map(|id| RequireRole {
                identity: id.clone(),
                _marker: PhantomData,
            })
        }))
    }
}

impl FromRequest for SessionHandle {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(context(req).map(SessionHandle::new))
    }
}

impl FromRequest for TokenHandle {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(context(req).map(TokenHandle::new))
    }
}
