//! [`Auth`] and [`Require`]: the services the layers build.

use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::request::Parts;
use http::{Request, Response};
use tower_service::Service;

use super::future::{RequireFuture, ResponseFuture};
use super::layer::{AuthLayer, RequireLayer};
use super::response::{rejection_response, RejectionResponder};
use crate::auth::AuthOutcome;
use crate::request::RequestView;
use crate::AuthState;

/// The service built by [`AuthLayer`]: authenticates the request, shares
/// the outcome through the request extensions, and adds the core's pending
/// `Set-Cookie` / `Cache-Control: no-store` to the response.
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S> Auth<S> {
    /// Wrap `inner` with the configuration of `layer`.
    pub fn new(inner: S, layer: AuthLayer) -> Self {
        Auth { inner, layer }
    }
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
    /// Unwrap.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// The view of `parts` the core authenticates: every header, the URI's
/// authority (the core decides when it stands in for `Host`), the peer IP
/// and whether the connection is HTTPS.
fn view_of(parts: &Parts, peer_ip: Option<IpAddr>, https: Option<bool>) -> RequestView<'_> {
    let mut view = RequestView::new(parts.method.as_str());
    for (name, value) in &parts.headers {
        view.add_header(name.as_str(), value.as_bytes());
    }
    if let Some(authority) = parts.uri.authority() {
        view.set_authority(authority.as_str().as_bytes());
    }
    view.peer_ip = peer_ip;
    view.https = https;
    view
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Auth<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        // Keep the instance that was polled ready; leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);

        let (mut parts, body) = req.into_parts();
        let peer_ip = (self.layer.peer_ip)(&parts.extensions);
        let https = parts
            .uri
            .scheme()
            .map(|s| *s == http::uri::Scheme::HTTPS)
            .or(self.layer.https);
        let auth = &self.layer.auth;
        if let Some(outcome) = auth.authenticate_now(&view_of(&parts, peer_ip, https)) {
            parts.extensions.insert(Arc::clone(&outcome));
            return ResponseFuture::running(inner.call(Request::from_parts(parts, body)), outcome);
        }
        let auth = auth.clone();
        // Only the head moves into the boxed future (the body stays in the
        // response future), so any `Send` body works, `Sync` or not.
        let authenticating = Box::pin(async move {
            let outcome = {
                let view = view_of(&parts, peer_ip, https);
                auth.authenticate(&view).await
            };
            parts.extensions.insert(Arc::clone(&outcome));
            (parts, outcome)
        });
        ResponseFuture::new(authenticating, body, inner)
    }
}

/// The service built by [`RequireLayer`]: passes requests whose
/// [`AuthOutcome`] meets the requirement, answers the rejection otherwise.
#[derive(Clone, Debug)]
pub struct Require<S, R> {
    inner: S,
    layer: RequireLayer<R>,
}

impl<S, R> Require<S, R> {
    /// Wrap `inner` with the configuration of `layer`.
    pub fn new(inner: S, layer: RequireLayer<R>) -> Self {
        Require { inner, layer }
    }
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
    /// Unwrap.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn check(&self, state: &AuthState) -> Result<(), crate::Rejection> {
        let config = &self.layer.config;
        state
            .require_in(config.scheme, &config.requirement)
            .map(|_| ())
    }
}

impl<S, R, ReqB, ResB> Service<Request<ReqB>> for Require<S, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    R: RejectionResponder<ResB>,
    ResB: From<&'static str>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = RequireFuture<S::Future, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let verdict = req
            .extensions()
            .get::<Arc<AuthOutcome>>()
            .map(|outcome| self.check(&outcome.state));
        match verdict {
            Some(Ok(())) => RequireFuture::inner(self.inner.call(req)),
            Some(Err(rejection)) => {
                let (parts, _body) = req.into_parts();
                let mut res = self.layer.responder.respond(&rejection, &parts);
                res.extensions_mut().insert(rejection);
                RequireFuture::rejected(res)
            }
            None => {
                RequireFuture::rejected(rejection_response(&crate::extract::missing_middleware()))
            }
        }
    }
}
