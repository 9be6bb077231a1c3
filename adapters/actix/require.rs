//! [`RequireLayer`]: refuse requests that do not meet a [`Requirement`]
//! before they reach the handlers of a scope, resource or route.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpMessage, ResponseError};

use super::middleware::ResponseFuture;
use crate::auth::AuthOutcome;
use crate::identity::Requirement;
use crate::rejection::Scheme;

/// Guard middleware: only requests whose caller meets a [`Requirement`]
/// (optionally with credentials of one [`Scheme`]) reach the wrapped
/// services; the others get the core's [`Rejection`](crate::Rejection) (401, 403, 400 or 503
/// with its challenge and JSON body).
///
/// Wrap it *inside* [`AuthLayer`](super::AuthLayer), e.g. on a
/// scope or a resource of an app that the `AuthLayer` wraps. Without
/// it, every request is refused with a 500.
///
/// ```
/// use actix_web::{test, web, App, HttpResponse};
/// use portcullis::actix::{AuthLayer, RequireLayer};
/// use portcullis::Authenticator;
///
/// # actix_web::rt::System::new().block_on(async {
/// let auth = Authenticator::builder().build().unwrap();
/// let app = test::init_service(
///     App::new().wrap(AuthLayer::new(auth)).service(
///         web::scope("/admin")
///             .wrap(RequireLayer::any_role(["admin"]))
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
pub struct RequireLayer {
    requirement: Requirement,
    scheme: Option<Scheme>,
}

impl RequireLayer {
    /// Require `requirement`, with credentials of any scheme.
    pub fn new(requirement: Requirement) -> Self {
        RequireLayer {
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
    /// challenged in that scheme (see [`AuthState::require_scheme`](crate::AuthState::require_scheme)).
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

impl<S, B> Transform<S, ServiceRequest> for RequireLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireService {
            service,
            guard: self.clone(),
        }))
    }
}

/// The [`Service`] that [`RequireLayer`] wraps around a scope, resource or
/// route.
#[derive(Debug)]
pub struct RequireService<S> {
    service: S,
    guard: RequireLayer,
}

impl<S, B> Service<ServiceRequest> for RequireService<S>
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
            Some(outcome) => outcome
                .state
                .require_in(self.guard.scheme, &self.guard.requirement)
                .err()
                .map(|r| r.error_response()),
            None => Some(crate::extract::missing_middleware().error_response()),
        };
        match refused {
            // The response goes back through AuthLayer, which adds any
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
