//! Authenticate a request once: the core's [`AuthOutcome`] in Rocket's
//! request-local cache, shared by every guard of the request.

use std::borrow::Cow;
use std::sync::Arc;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};

use crate::auth::{AuthOutcome, Authenticator};
use crate::rejection::Rejection;
use crate::request::RequestView;

/// The request-local slot holding the outcome (`None`: the fairing is
/// missing, or no guard has run).
struct Cached(Option<Arc<AuthOutcome>>);

/// The outcome `Authenticator::authenticate_now` gave, if it could.
struct Now(Option<Arc<AuthOutcome>>);

/// The `host:port` text of an HTTP/2 request's `:authority`, kept in the
/// request-local cache so the view can borrow it.
struct AuthorityText(String);

/// The [`Authenticator`] the fairing installed, if any.
pub(crate) fn authenticator<'r>(req: &'r Request<'_>) -> Option<&'r Authenticator> {
    req.rocket().state::<Authenticator>()
}

/// The request's outcome, computed by the core on first use and cached for
/// the rest of the request; `None` when the fairing is not attached.
pub(crate) async fn outcome<'r>(req: &'r Request<'_>) -> Option<&'r Arc<AuthOutcome>> {
    let auth = authenticator(req)?;
    // In process (the builder's stores): the outcome at once. The guards'
    // futures are boxed (`async_trait`), and an authentication future
    // inside them would be copied into every box (~1.5k instructions a
    // request under callgrind).
    let now = req.local_cache(|| Now(auth.authenticate_now(&request_view(req))));
    if let Some(outcome) = &now.0 {
        return Some(outcome);
    }
    let cached = req
        .local_cache_async(Box::pin(async {
            Cached(Some(auth.authenticate(&request_view(req)).await))
        }))
        .await;
    cached.0.as_ref()
}

/// The outcome if a guard already computed it (used on the way out; never
/// authenticates).
pub(crate) fn existing_outcome<'r>(req: &'r Request<'_>) -> Option<&'r Arc<AuthOutcome>> {
    let now = req.local_cache(|| Now(None)).0.as_ref();
    now.or_else(|| req.local_cache(|| Cached(None)).0.as_ref())
}

/// The framework-neutral view of a Rocket request: the method, every header
/// line, the client IP and, for HTTP/2, the `:authority`.
///
/// Rocket drops header values that are not UTF-8 before any guard runs, so
/// such a line is absent here too (a non-UTF-8 `Cookie` line carries no
/// session; a non-UTF-8 `X-CSRF-Token` is a missing token).
fn request_view<'r>(req: &'r Request<'_>) -> RequestView<'r> {
    let mut view = RequestView::new(req.method().as_str());
    // Rocket's `client_ip` honours `Config::ip_header` (`X-Real-IP` by
    // default): disable it unless a trusted proxy sets that header. Its
    // rule (the first such line, if it parses, else the connection's
    // address) is applied in the one pass over the headers below: each
    // lookup in Rocket's header map hashes the name byte by byte.
    let ip_header = req.rocket().config().ip_header.as_deref();
    let mut ip_line = None;
    for header in req.headers().iter() {
        // `HeaderMap::iter` lends every value from the map (`Cow::Borrowed`),
        // which is what lets the view borrow instead of copy.
        if let Cow::Borrowed(value) = header.value {
            // Case-insensitive: both sides are `UncasedStr`.
            if ip_line.is_none() && ip_header == Some(&*header.name) {
                ip_line = Some(value);
            }
            view.add_header(header.name.as_str(), value.as_bytes());
        }
    }
    // HTTP/2 carries the host in `:authority`, which Rocket keeps out of the
    // header map; Rocket only hands it out as an owned string, so it is
    // copied only when there is no `Host` header for it to stand in for.
    if matches!(view.host, crate::request::Single::Absent) {
        if let Some(host) = req.host() {
            let text = &req.local_cache(|| AuthorityText(host.to_string())).0;
            view.set_authority(text.as_bytes());
        }
    }
    // The connection's own scheme (behind a trusted proxy the core reads
    // `X-Forwarded-Proto` itself).
    view.set_https(req.rocket().config().tls_enabled());
    let peer = req.remote().map(|r| r.ip());
    view.peer_ip = ip_line.and_then(|ip| ip.parse().ok()).or(peer);
    view
}

/// Fail a guard with `rejection`: stash it for the catchers and hand Rocket
/// its status.
pub(crate) fn reject<T>(req: &Request<'_>, rejection: Rejection) -> Outcome<T, Rejection> {
    crate::rocket::response::stash(req, rejection);
    Outcome::Error((Status::new(rejection.status()), rejection))
}

/// The whole outcome of authenticating the request: the
/// [`AuthState`](crate::AuthState), the live session if any, and the
/// headers queued for the response. Never fails once the fairing is
/// attached; route code decides what to require.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for &'r AuthOutcome {
    type Error = Rejection;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
        match outcome(req).await {
            Some(outcome) => Outcome::Success(outcome),
            None => reject(req, crate::extract::missing_middleware()),
        }
    }
}
