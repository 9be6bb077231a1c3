//! [`RequireAuth`]: refuse requests that do not meet a [`Requirement`]
//! before they reach the handlers of a scope, resource or route.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpMessage, ResponseError};

use super::middleware::ResponseFuture;
use super::response::MissingMiddlewareRejection;
use crate::auth::AuthOutcome;
use crate::identity::{AuthState, Identity, Requirement};
use crate::rejection::{Rejection, Scheme};

/// Guard middleware: only requests whose caller meets a [`Requirement`]
/// (optionally with credentials of one [`Scheme`]) reach the wrapped
/// services; the others get the core's [`Rejection`] (401, 403, 400 or 503
/// with its challenge and JSON body).
///
/// Wrap it *inside* [`AuthMiddleware`](super::AuthMiddleware), e.g. on a
/// scope or a resource of an app that the `AuthMiddleware` wraps. Without
/// it, every request is refused with a 500.
///
/// ```
/// use actix_web::{test, web, App, HttpResponse};
/// use portcullis::actix::{AuthMiddleware, RequireAuth};
/// use portcullis::Authenticator;
///
/// # actix_web::rt::System::new().block_on(async {
/// let auth = Authenticator::builder().build().unwrap();
/// let app = test::init_service(
///     App::new().wrap(AuthMiddleware::new(auth)).service(
///         web::scope("/admin")
///             .wrap(RequireAuth::any_role(["admin"]))
///             .route("/stats", web::get().to(HttpResponse::Ok)),
///     ),
/// )
/// .await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/admin/stats").to_request()).await;
/// assert_eq!(res.status(), 401);
/// # });
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireAuth {
    requirement: Requirement,
    scheme: Option<Scheme>,
}

impl RequireAuth {
    /// Require `requirement`, with credentials of any scheme.
    pub fn new(requirement: Requirement) -> Self {
        RequireAuth {
            requirement,
            scheme: None,
        }
    }
    /// Require any authenticated caller.
    pub fn authenticated() -> Self {
        Self::new(Requirement::Authenticated)
    }
    /// Require a caller with at least one of `roles`.
    pub fn any_role<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Requirement::any_role(roles))
    }
    /// Only credentials of `scheme` count; a caller without them is
    /// challenged in that scheme (see [`AuthState::require_scheme`]).
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = Some(scheme);
        self
    }
    /// Only a bearer token counts (`WWW-Authenticate: Bearer` when absent).
    pub fn bearer(self) -> Self {
        self.scheme(Scheme::Bearer)
    }
    /// Only the session cookie counts.
    pub fn session(self) -> Self {
        self.scheme(Scheme::Session)
    }
}

/// Check `state` against `requirement`, in `scheme` when given.
pub(crate) fn check<'a>(
    state: &'a AuthState,
    scheme: Option<Scheme>,
    requirement: &Requirement,
) -> Result<&'a Identity, Rejection> {
    match scheme {
        Some(scheme) => state.require_scheme(scheme, requirement),
        None => state.require(requirement),
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequireAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireAuthService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireAuthService {
            service,
            guard: self.clone(),
        }))
    }
}

/// The [`Service`] that [`RequireAuth`] wraps around a scope, resource or
/// route.
#[derive(Debug)]
pub struct RequireAuthService<S> {
    service: S,
    guard: RequireAuth,
}

impl<S, B> Service<ServiceRequest> for RequireAuthService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = ResponseFuture<Self::Response>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let refused = match req.extensions().get::<Arc<AuthOutcome>>() {
            Some(outcome) => check(&outcome.state, self.guard.scheme, &self.guard.requirement)
                .err()
                .map(|r| r.error_response()),
            None => Some(MissingMiddlewareRejection::logged().error_response()),
        };
        match refused {
            // The response goes back through AuthMiddleware, which adds any
            // queued Set-Cookie (e.g. the removal of a dead cookie).
            Some(response) => {
                Box::pin(ready(Ok(req.into_response(response).map_into_right_body())))
            }
            None => {
                let fut = self.service.call(req);
                Box::pin(async move { fut.await.map(ServiceResponse::map_into_left_body) })
            }
        }
    }
}
