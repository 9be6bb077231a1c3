//! [`AuthLayer`]: authenticate every request once and send what the
//! core queued (Set-Cookie, `Cache-Control: no-store`) on the way out.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use actix_web::body::MessageBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderMap, HeaderValue, CACHE_CONTROL, SET_COOKIE, VARY};
use actix_web::{Error, HttpMessage};
use pin_project_lite::pin_project;

use crate::auth::{AuthOutcome, Authenticator};
use crate::request::RequestView;

/// The future the actix adapter's services return.
pub type ResponseFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>>>>;

/// Middleware that authenticates each request with an [`Authenticator`].
///
/// For every request it builds a [`RequestView`] from the method, every
/// header line, the peer IP and the connection scheme, runs
/// [`Authenticator::authenticate`] once, and stores the result as an
/// `Arc<`[`AuthOutcome`]`>` in the request extensions (one entry; it also
/// gives access to the `Authenticator` that produced it), where the [extractors](super) and [`RequireLayer`](super::RequireLayer)
/// find it. On the way out it appends the `Set-Cookie` the core queued (a
/// login, a rotation, a logout, or the removal of a dead cookie) and
/// `Cache-Control: no-store` when asked.
///
/// Authentication never fails the request here: routes decide what they
/// require, so public routes keep working for anonymous callers.
///
/// ```
/// use actix_web::{test, web, App, HttpResponse};
/// use portcullis::{actix::AuthLayer, Identity};
/// use portcullis::Authenticator;
///
/// # actix_web::rt::System::new().block_on(async {
/// let auth = Authenticator::builder().build().unwrap();
/// let app = test::init_service(
///     App::new()
///         .wrap(AuthLayer::new(auth))
///         .route("/me", web::get().to(|who: Identity| async move {
///             HttpResponse::Ok().body(who.subject().to_owned())
///         })),
/// )
/// .await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/me").to_request()).await;
/// assert_eq!(res.status(), 401);
/// # });
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthLayer {
    auth: Authenticator,
}

impl AuthLayer {
    /// Middleware over `auth` (cheap to clone; build one per app).
    pub fn new(auth: Authenticator) -> Self {
        AuthLayer { auth }
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuthLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = AuthService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthService {
            service: Rc::new(service),
            auth: self.auth.clone(),
        }))
    }
}

/// The [`Service`] that [`AuthLayer`] wraps around an app, scope or
/// resource.
#[derive(Debug)]
pub struct AuthService<S> {
    service: Rc<S>,
    auth: Authenticator,
}

impl<S, B> Service<ServiceRequest> for AuthService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = AuthFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // In process (the builder's stores): the app's own future, unboxed.
        if let Some(outcome) = self.auth.authenticate_now(&request_view(&req)) {
            req.extensions_mut().insert(Arc::clone(&outcome));
            let future = self.service.call(req);
            return AuthFuture::Running { future, outcome };
        }
        let (auth, service) = (self.auth.clone(), Rc::clone(&self.service));
        AuthFuture::Boxed {
            future: Box::pin(async move {
                let outcome = {
                    let view = request_view(&req);
                    auth.authenticate(&view).await
                };
                req.extensions_mut().insert(Arc::clone(&outcome));
                finish(service.call(req).await, &outcome)
            }),
        }
    }
}

pin_project! {
    /// The future of [`AuthService`]: the app's own when the outcome was
    /// known at once, a boxed one when a store had to be awaited.
    #[project = AuthFutureProj]
    pub enum AuthFuture<F, B> {
        /// The app's future; the outcome's headers go on its response.
        Running { #[pin] future: F, outcome: Arc<AuthOutcome> },
        /// Authentication, the app and the headers in one boxed future.
        Boxed { future: ResponseFuture<ServiceResponse<B>> },
    }
}

impl<F, B> Future for AuthFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.project() {
            AuthFutureProj::Running { future, outcome } => {
                Poll::Ready(finish(ready!(future.poll(cx)), outcome))
            }
            AuthFutureProj::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

/// The app's result with the core's pending headers added.
fn finish<B>(
    result: Result<ServiceResponse<B>, Error>,
    outcome: &AuthOutcome,
) -> Result<ServiceResponse<B>, Error> {
    match result {
        Ok(mut res) => {
            append_pending(res.headers_mut(), outcome);
            Ok(res)
        }
        // An inner middleware failed: keep the error, but carry the
        // queued Set-Cookie and no-store on the response it renders.
        Err(err) => {
            let mut res = err.error_response();
            append_pending(res.headers_mut(), outcome);
            Err(InternalError::from_response(err, res).into())
        }
    }
}

/// The framework-neutral view of an actix request: method, every header
/// line (raw bytes, so one malformed cookie pair cannot hide the others),
/// the peer IP and whether the connection is HTTPS.
pub(crate) fn request_view(req: &ServiceRequest) -> RequestView<'_> {
    let mut view = RequestView::new(req.method().as_str());
    for (name, value) in req.headers() {
        view.add_header(name.as_str(), value.as_bytes());
    }
    // HTTP/2 carries the host in the URI (`:authority`), not in a header.
    if let Some(authority) = req.uri().authority() {
        view.set_authority(authority.as_str().as_bytes());
    }
    view.peer_ip = req.peer_addr().map(|addr| addr.ip());
    // The connection's own scheme, never `connection_info()`, which believes
    // a client's `X-Forwarded-Proto`: behind a trusted proxy the core reads
    // that header itself (`Authenticator::builder().trusted_proxies`).
    view.https = Some(req.app_config().secure());
    view
}

/// Add the headers the core queued for this response.
fn append_pending(headers: &mut HeaderMap, outcome: &AuthOutcome) {
    let pending = outcome.response.take();
    if let Some(cookie) = pending.set_cookie {
        match HeaderValue::try_from(cookie) {
            Ok(value) => headers.append(SET_COOKIE, value),
            // The core builds cookie values from validated parts; never
            // expected, and never worth echoing.
            Err(_) => tracing::error!("portcullis: Set-Cookie value is not a valid header value"),
        }
    }
    if pending.no_store {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if pending.vary_cookie {
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
}
