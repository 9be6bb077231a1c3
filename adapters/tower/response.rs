//! The one place a [`Rejection`] becomes an HTTP response, and the
//! responder hook that lets a route answer differently (a closure, or a
//! redirect to the login page for HTML routes).

use http::header::{CACHE_CONTROL, LOCATION};
use http::request::Parts;
use http::{HeaderName, HeaderValue, Response, StatusCode};

use crate::redirect::LoginRedirect;
use crate::Rejection;

/// The response for `rejection`: its status, `Content-Type:
/// application/json`, `Cache-Control: no-store`, the `WWW-Authenticate`
/// challenge if any, the JSON body, and the [`Rejection`] itself in the
/// response extensions (so an outer layer can log why). Every tower/axum
/// response for a rejection is built here, from the core's
/// [`Rejection::status`], [`Rejection::headers`] and [`Rejection::body`].
#[must_use]
pub(crate) fn rejection_response<B: From<&'static str>>(rejection: &Rejection) -> Response<B> {
    let mut res = Response::new(B::from(rejection.body()));
    *res.status_mut() =
        StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = res.headers_mut();
    for (name, value) in rejection.headers() {
        // The core's names and values are constants; a failure here would be
        // a core bug, so skip rather than panic.
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
    res.extensions_mut().insert(*rejection);
    res
}

/// Turns a [`Rejection`] into the response a `RequireLayer` service sends:
/// the JSON default, [`LoginRedirect`], or any
/// `Fn(&Rejection, &Parts) -> Response<B> + Clone` given to
/// [`RequireLayer::responder`](super::RequireLayer::responder). Named by the
/// compiler only (the module is private): a closure is the way to customise.
pub trait RejectionResponder<B> {
    /// The response for `rejection` of the request `request`.
    fn respond(&self, rejection: &Rejection, request: &Parts) -> Response<B>;
}

/// The default responder: `rejection_response` (status, challenge,
/// `no-store`, JSON body).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonResponder;

impl<B: From<&'static str>> RejectionResponder<B> for JsonResponder {
    fn respond(&self, rejection: &Rejection, _request: &Parts) -> Response<B> {
        rejection_response(rejection)
    }
}

impl<F, B> RejectionResponder<B> for F
where
    F: Fn(&Rejection, &Parts) -> Response<B>,
{
    fn respond(&self, rejection: &Rejection, request: &Parts) -> Response<B> {
        self(rejection, request)
    }
}

// For HTML routes: a 401 becomes a redirect to the login page (`302 Found`
// for `GET`/`HEAD`, with the original path and query as a safe `next`;
// `303 See Other` without `next` for other methods), with
// `Cache-Control: no-store`. Every other rejection (403, 400, 503) keeps the
// JSON answer: a user who is logged in but not allowed must not be bounced
// to the login page, and a store outage must stay visible.
impl<B: From<&'static str>> RejectionResponder<B> for LoginRedirect {
    fn respond(&self, rejection: &Rejection, request: &Parts) -> Response<B> {
        let original = request
            .uri
            .path_and_query()
            .map(http::uri::PathAndQuery::as_str);
        let Some((status, location)) =
            self.for_rejection(rejection, request.method.as_str(), original)
        else {
            return rejection_response(rejection);
        };
        let (Ok(status), Ok(location)) = (
            StatusCode::from_u16(status),
            HeaderValue::from_str(&location),
        ) else {
            // `location` only emits a checked path and percent-escapes `next`.
            return rejection_response(rejection);
        };
        let mut res = Response::new(B::from(""));
        *res.status_mut() = status;
        res.headers_mut().insert(LOCATION, location);
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res.extensions_mut().insert(*rejection);
        res
    }
}
