//! Identity request guards: who the caller is, optionally, by which
//! credential, and with which role.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use rocket::request::{FromRequest, Outcome, Request};

use crate::identity::{Identity, Requirement};
use crate::rejection::Rejection;

use super::outcome::{missing_fairing, outcome, reject};

/// Check `requirement` (under `C`'s scheme) against the request's cached
/// outcome.
async fn require<'r, C: SchemeFilter>(
    req: &'r Request<'_>,
    requirement: &Requirement,
) -> Outcome<&'r Identity, Rejection> {
    let Some(outcome) = outcome(req).await else {
        return missing_fairing();
    };
    let checked = match C::SCHEME {
        Some(scheme) => outcome.state.require_scheme(scheme, requirement),
        None => outcome.state.require(requirement),
    };
    match checked {
        Ok(identity) => Outcome::Success(identity),
        Err(rejection) => reject(req, rejection),
    }
}

/// Any authenticated caller, by bearer token or session cookie (401
/// otherwise). Take `Identity` for an owned copy, `&Identity` to borrow.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for &'r Identity {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        require::<AnyScheme>(req, &Requirement::Authenticated).await
    }
}

/// Any authenticated caller, cloned out of the request (see `&Identity`).
#[rocket::async_trait]
impl<'r> FromRequest<'r> for Identity {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        require::<AnyScheme>(req, &Requirement::Authenticated)
            .await
            .map(Identity::clone)
    }
}

/// The caller if authenticated, `None` if anonymous; still fails closed
/// when the request must be refused whatever the route (store down,
/// CSRF failure, malformed credentials).
///
/// Prefer this to Rocket's `Option<&Identity>`, which turns every failure,
/// a 503 included, into `None`.
///
/// ```
/// use portcullis::rocket::OptionalIdentity;
///
/// #[rocket::get("/")]
/// fn home(who: OptionalIdentity<'_>) -> String {
///     match who.0 {
///         Some(id) => format!("hello {}", id.subject()),
///         None => "hello stranger".into(),
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct OptionalIdentity<'r>(pub Option<&'r Identity>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for OptionalIdentity<'r> {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        let Some(outcome) = outcome(req).await else {
            return missing_fairing();
        };
        match outcome.state.optional() {
            Ok(identity) => Outcome::Success(OptionalIdentity(identity)),
            Err(rejection) => reject(req, rejection),
        }
    }
}

use crate::identity::{AnyScheme, BearerScheme, SchemeFilter, SessionScheme};

/// An authenticated caller, by the credential `C` (any by default).
/// Dereferences to [`Identity`].
///
/// ```
/// use portcullis::rocket::{BearerIdentity, SessionIdentity};
///
/// #[rocket::get("/jwt/me")]
/// fn jwt_me(who: BearerIdentity<'_>) -> String {
///     who.subject().to_owned()
/// }
///
/// #[rocket::get("/session/me")]
/// fn session_me(who: SessionIdentity<'_>) -> String {
///     who.subject().to_owned()
/// }
/// ```
pub struct Authenticated<'r, C: SchemeFilter = AnyScheme> {
    identity: &'r Identity,
    credential: PhantomData<C>,
}

/// A caller authenticated by a bearer token.
pub type BearerIdentity<'r> = Authenticated<'r, BearerScheme>;
/// A caller authenticated by a session cookie.
pub type SessionIdentity<'r> = Authenticated<'r, SessionScheme>;

impl<'r, C: SchemeFilter> Authenticated<'r, C> {
    /// The caller.
    #[must_use]
    pub fn identity(&self) -> &'r Identity {
        self.identity
    }
}

impl<C: SchemeFilter> Deref for Authenticated<'_, C> {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        self.identity
    }
}

impl<C: SchemeFilter> fmt::Debug for Authenticated<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authenticated").field(self.identity).finish()
    }
}

impl<C: SchemeFilter> Clone for Authenticated<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C: SchemeFilter> Copy for Authenticated<'_, C> {}

#[rocket::async_trait]
impl<'r, C: SchemeFilter> FromRequest<'r> for Authenticated<'r, C> {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        require::<C>(req, &Requirement::Authenticated)
            .await
            .map(|identity| Authenticated {
                identity,
                credential: PhantomData,
            })
    }
}

use crate::identity::RoleName;

/// A caller with role `R`, by the credential `C` (any by default): 401
/// without valid credentials, 403 (`insufficient_scope` for bearer tokens)
/// without the role. Dereferences to [`Identity`].
///
/// ```
/// use rocket::http::{Header, Status};
/// use rocket::local::blocking::Client;
/// use portcullis::{RoleName, SessionScheme, rocket::{PortcullisFairing, RequireRole}};
/// use portcullis::RequestView;
/// use portcullis::Authenticator;
///
/// pub enum Admin {}
/// impl RoleName for Admin {
///     const NAME: &'static str = "admin";
/// }
///
/// #[rocket::get("/admin")]
/// fn admin(who: RequireRole<'_, Admin, SessionScheme>) -> String {
///     format!("hello {}", who.subject())
/// }
///
/// let auth = Authenticator::builder().build().unwrap();
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let cookie = rt.block_on(async {
///     let anonymous = auth.authenticate(&RequestView::new("POST")).await;
///     auth.login(&anonymous, "alice", vec!["user".into()]).await.unwrap();
///     let set_cookie = anonymous.response.take().set_cookie.unwrap();
///     set_cookie.split(';').next().unwrap().to_owned()
/// });
/// let rocket = rocket::build()
///     .attach(PortcullisFairing::new(auth))
///     .mount("/", rocket::routes![admin])
///     .register("/", portcullis::rocket::catchers());
/// let client = Client::untracked(rocket).unwrap();
/// assert_eq!(client.get("/admin").dispatch().status(), Status::Unauthorized);
/// let res = client.get("/admin").header(Header::new("Cookie", cookie)).dispatch();
/// assert_eq!(res.status(), Status::Forbidden);
/// assert_eq!(res.into_string().unwrap(), r#"{"error":"insufficient role"}"#);
/// ```
pub struct RequireRole<'r, R: RoleName, C: SchemeFilter = AnyScheme> {
    identity: &'r Identity,
    marker: PhantomData<(R, C)>,
}

impl<'r, R: RoleName, C: SchemeFilter> RequireRole<'r, R, C> {
    /// The caller.
    #[must_use]
    pub fn identity(&self) -> &'r Identity {
        self.identity
    }
}

impl<R: RoleName, C: SchemeFilter> Deref for RequireRole<'_, R, C> {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        self.identity
    }
}

impl<R: RoleName, C: SchemeFilter> fmt::Debug for RequireRole<'_, R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireRole")
            .field("role", &R::NAME)
            .field("identity", self.identity)
            .finish()
    }
}

impl<R: RoleName, C: SchemeFilter> Clone for RequireRole<'_, R, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R: RoleName, C: SchemeFilter> Copy for RequireRole<'_, R, C> {}

#[rocket::async_trait]
impl<'r, R: RoleName, C: SchemeFilter> FromRequest<'r> for RequireRole<'r, R, C> {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        let requirement = Requirement::any_role([R::NAME]);
        require::<C>(req, &requirement)
            .await
            .map(|identity| RequireRole {
                identity,
                marker: PhantomData,
            })
    }
}
