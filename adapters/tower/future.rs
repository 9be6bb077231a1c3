//! The response futures of [`Auth`](super::Auth) and
//! [`Require`](super::Require).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::request::Parts;
use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::auth::{AuthOutcome, PendingHeaders};

/// The boxed authentication step (the core's `authenticate` is an `async
/// fn`, so its future cannot be named).
pub(crate) type Authenticating = Pin<Box<dyn Future<Output = (Parts, Arc<AuthOutcome>)> + Send>>;

pin_project! {
    /// Response future of [`Auth`](super::Auth): authenticates, calls the
    /// inner service, then adds the core's pending headers to its response.
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        Authenticating {
            authenticating: Authenticating,
            body: Option<B>,
            service: Option<S>,
        },
        Running {
            #[pin]
            future: S::Future,
            outcome: Arc<AuthOutcome>,
        },
        Done,
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(crate) fn new(authenticating: Authenticating, body: B, service: S) -> Self {
        ResponseFuture {
            state: State::Authenticating {
                authenticating,
                body: Some(body),
                service: Some(service),
            },
        }
    }

    /// Authenticated already: the inner service's future runs at once.
    pub(crate) fn running(future: S::Future, outcome: Arc<AuthOutcome>) -> Self {
        let state = State::Running { future, outcome };
        ResponseFuture { state }
    }
}

impl<S, B> std::fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// Add what the core queued: `Set-Cookie` is appended (the handler may set
/// cookies of its own), `Cache-Control: no-store` replaces any other
/// caching directive.
fn apply_pending<B>(res: &mut Response<B>, pending: PendingHeaders) {
    if let Some(cookie) = pending.set_cookie {
        match HeaderValue::try_from(cookie) {
            Ok(v) => {
                res.headers_mut().append(SET_COOKIE, v);
            }
            // The core builds the value from a validated policy and a
            // base64url ID; this would be a core bug. Never log the value.
            Err(_) => tracing::error!("portcullis: dropped an invalid Set-Cookie value"),
        }
    }
    if pending.no_store {
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if pending.vary_cookie {
        res.headers_mut()
            .append(VARY, HeaderValue::from_static("Cookie"));
    }
}

impl<S, B, ResB> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResB>>,
{
    type Output = Result<Response<ResB>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Authenticating {
                    authenticating,
                    body,
                    service,
                } => {
                    let (parts, outcome) = ready!(authenticating.as_mut().poll(cx));
                    let (Some(body), Some(mut service)) = (body.take(), service.take()) else {
                        unreachable!(
                            "the authenticating state is left right after its body is taken"
                        )
                    };
                    let future = service.call(Request::from_parts(parts, body));
                    this.state.set(State::Running { future, outcome });
                }
                StateProj::Running { future, outcome } => {
                    let result = ready!(future.poll(cx));
                    let pending = outcome.response.take();
                    this.state.set(State::Done);
                    return Poll::Ready(result.map(|mut res| {
                        apply_pending(&mut res, pending);
                        res
                    }));
                }
                StateProj::Done => {
                    panic!("portcullis::tower::ResponseFuture polled after completion")
                }
            }
        }
    }
}

pin_project! {
    /// Response future of [`Require`](super::Require): the inner service's
    /// future, or the ready rejection response.
    pub struct RequireFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner {
            #[pin]
            future: F,
        },
        Rejected {
            response: Option<Response<B>>,
        },
    }
}

impl<F, B> RequireFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        RequireFuture {
            kind: Kind::Inner { future },
        }
    }
    pub(crate) fn rejected(response: Response<B>) -> Self {
        RequireFuture {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B> std::fmt::Debug for RequireFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for RequireFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Rejected { response } => match response.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => panic!("portcullis::tower::RequireFuture polled after completion"),
            },
        }
    }
}
