//! axum extractors (feature `axum`), built on `axum-core` only.
//!
//! | extractor | gives | refuses with |
//! |-----------|-------|--------------|
//! | [`Identity`] | any authenticated caller | 401 / 400 / 403 (CSRF) / 503 |
//! | `Option<Identity>` | the caller or `None` | only a request that fails outright (CSRF, malformed credentials, store down) |
//! | [`BearerIdentity`] / [`SessionIdentity`] | a caller of that scheme | 401 phrased in that scheme (`WWW-Authenticate: Bearer` for bearer routes) |
//! | [`RequireRole<R, S>`](RequireRole) | a caller with role `R::NAME`, optionally of scheme `S` | 401 / 403 (`insufficient_scope` for bearer) |
//! | [`SessionHandle`] | log in / rotate / log out / list / CSRF token | 500 only without [`AuthLayer`](super::AuthLayer) |
//! | [`TokenHandle`] | issue / refresh / log out tokens | 500 only without [`AuthLayer`](super::AuthLayer) |
//!
//! Every refusal is the core's [`Rejection`] (its [`IntoResponse`] builds the
//! response once, through [`rejection_response`]), except a missing
//! [`AuthLayer`](super::AuthLayer): that is a server configuration error,
//! answered `500` with an `error` log line, never a panic.
//!
//! ```
//! use axum::{routing::{get, post}, Router, Json};
//! use portcullis::{Authenticator, Identity, Rejection};
//! use portcullis::tower::AuthLayer;
//! use portcullis::{RoleName, SessionHandle, SessionScheme, tower::axum::RequireRole};
//! use tower::ServiceExt;
//!
//! struct Admin;
//! impl RoleName for Admin {
//!     const NAME: &'static str = "admin";
//! }
//!
//! async fn me(who: Identity) -> String {
//!     who.subject().to_owned()
//! }
//! async fn admin(who: RequireRole<Admin, SessionScheme>) -> String {
//!     format!("hello {}", who.subject())
//! }
//! async fn logout(session: SessionHandle) -> Result<(), Rejection> {
//!     session.logout().await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = Authenticator::builder().build().unwrap();
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route("/admin", get(admin))
//!     .route("/logout", post(logout))
//!     .layer(AuthLayer::new(auth));
//!
//! let res = app.oneshot(http::Request::get("/me").body(axum::body::Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(res.status(), 401);
//! # });
//! ```

use std::marker::PhantomData;
use std::sync::Arc;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use super::response::{missing_layer_response, rejection_response};
use crate::auth::AuthOutcome;
use crate::handle::{SessionHandle, TokenHandle};
use crate::identity::{AnyScheme, RoleName, SchemeFilter};
use crate::{Identity, Rejection, Requirement, Scheme};

impl IntoResponse for Rejection {
    /// Status, `WWW-Authenticate`, `Cache-Control: no-store` and the JSON
    /// body, via [`rejection_response`].
    fn into_response(self) -> Response {
        rejection_response(&self)
    }
}

/// Why an extractor of this module refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtractRejection {
    /// The core refused the request (401, 403, 400, 503).
    Rejected(Rejection),
    /// No [`AuthLayer`](super::AuthLayer) ran before the extractor: a server
    /// configuration error, answered 500 and logged.
    MissingAuthLayer,
}

impl From<Rejection> for ExtractRejection {
    fn from(r: Rejection) -> Self {
        ExtractRejection::Rejected(r)
    }
}

impl IntoResponse for ExtractRejection {
    fn into_response(self) -> Response {
        match self {
            ExtractRejection::Rejected(r) => r.into_response(),
            ExtractRejection::MissingAuthLayer => missing_layer_response(),
        }
    }
}

impl std::fmt::Display for ExtractRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtractRejection::Rejected(r) => r.fmt(f),
            ExtractRejection::MissingAuthLayer => {
                f.write_str("AuthLayer missing (server configuration error)")
            }
        }
    }
}

impl std::error::Error for ExtractRejection {}

fn outcome(parts: &Parts) -> Result<&Arc<AuthOutcome>, ExtractRejection> {
    parts
        .extensions
        .get::<Arc<AuthOutcome>>()
        .ok_or(ExtractRejection::MissingAuthLayer)
}

/// The identity meeting `requirement` (of `scheme`, if given).
fn required(
    parts: &Parts,
    scheme: Option<Scheme>,
    requirement: &Requirement,
) -> Result<Identity, ExtractRejection> {
    let state = &outcome(parts)?.state;
    let id = match scheme {
        Some(s) => state.require_scheme(s, requirement)?,
        None => state.require(requirement)?,
    };
    Ok(id.clone())
}

/// The identity if there is one of `scheme` (any if `None`); fails only
/// when the request fails outright.
fn optional(parts: &Parts, scheme: Option<Scheme>) -> Result<Option<Identity>, ExtractRejection> {
    let state = &outcome(parts)?.state;
    if state.optional()?.is_none() {
        return Ok(None);
    }
    Ok(match scheme {
        Some(s) => state
            .require_scheme(s, &Requirement::Authenticated)
            .ok()
            .cloned(),
        None => state.identity().cloned(),
    })
}

/// Any authenticated caller, whatever the scheme.
impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        required(parts, None, &Requirement::Authenticated)
    }
}

/// `Option<Identity>`: `None` for anonymous callers (including a dead
/// cookie or an expired token); a request that fails outright (CSRF,
/// malformed credentials, store down) is still refused.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Identity {
    type Rejection = ExtractRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        optional(parts, None)
    }
}

macro_rules! scheme_extractor {
    ($(#[$doc:meta])* $name:ident, $scheme:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub Identity);

        impl std::ops::Deref for $name {
            type Target = Identity;
            fn deref(&self) -> &Identity {
                &self.0
            }
        }

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ExtractRejection;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
                required(parts, Some($scheme), &Requirement::Authenticated).map($name)
            }
        }

        impl<S: Send + Sync> OptionalFromRequestParts<S> for $name {
            type Rejection = ExtractRejection;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
                Ok(optional(parts, Some($scheme))?.map($name))
            }
        }
    };
}

scheme_extractor!(
    /// A caller authenticated by `Authorization: Bearer`; without one the
    /// answer is 401 with `WWW-Authenticate: Bearer` (even if a session
    /// cookie was sent). `Option<BearerIdentity>` is `None` for anyone else.
    BearerIdentity,
    Scheme::Bearer
);

scheme_extractor!(
    /// A caller authenticated by the session cookie (CSRF-checked on unsafe
    /// methods); a bearer token does not count. `Option<SessionIdentity>` is
    /// `None` for anyone else.
    SessionIdentity,
    Scheme::Session
);

/// A handler argument that lets only callers with role `R::NAME` in
/// (authenticated by scheme `S`, any by default): 401 when not
/// authenticated, 403 when the role is missing. Derefs to the [`Identity`].
///
/// ```
/// use portcullis::{BearerScheme, RoleName, tower::axum::RequireRole};
/// struct Admin;
/// impl RoleName for Admin {
///     const NAME: &'static str = "admin";
/// }
/// async fn admin_api(who: RequireRole<Admin, BearerScheme>) -> String {
///     who.subject().to_owned()
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(admin_api);
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

impl<R: RoleName, S: SchemeFilter> std::fmt::Debug for RequireRole<R, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireRole")
            .field("role", &R::NAME)
            .field("identity", &self.identity)
            .finish()
    }
}

impl<R: RoleName, S: SchemeFilter> std::ops::Deref for RequireRole<R, S> {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.identity
    }
}

impl<R: RoleName, Sch: SchemeFilter, S: Send + Sync> FromRequestParts<S> for RequireRole<R, Sch> {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let identity = required(parts, Sch::SCHEME, &Requirement::any_role([R::NAME]))?;
        Ok(RequireRole {
            identity,
            _marker: PhantomData,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SessionHandle {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(SessionHandle::new(Arc::clone(outcome(parts)?)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TokenHandle {
    type Rejection = ExtractRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(TokenHandle::new(Arc::clone(outcome(parts)?)))
    }
}
