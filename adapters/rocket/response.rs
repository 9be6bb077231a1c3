//! The one place a [`Rejection`] becomes a Rocket response, and the
//! request-local stash that lets catchers render the exact rejection a
//! guard failed with.
//!
//! Status, `WWW-Authenticate`, `Content-Type`, `Cache-Control` and the JSON
//! body all come from the core ([`Rejection::status`],
//! [`Rejection::headers`], [`Rejection::body`]), so Rocket puts the same
//! bytes on the wire as every other adapter for the same failure.

use std::io::Cursor;
use std::sync::Mutex;

use rocket::http::Status;
use rocket::request::Request;
use rocket::response::{self, Responder, Response};

use crate::rejection::Rejection;

/// A handler can return a [`Rejection`] (e.g. `Result<T, Rejection>` from a
/// [`SessionHandle`](crate::SessionHandle) call): status, challenge and JSON body come
/// from the core.
impl<'r> Responder<'r, 'static> for Rejection {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let body = self.body();
        let mut res = Response::build();
        res.status(Status::new(self.status()));
        for (name, value) in self.headers() {
            res.raw_header(name, value);
        }
        res.sized_body(body.len(), Cursor::new(body));
        Ok(res.finalize())
    }
}

/// The rejection the latest failing guard of this request produced.
#[derive(Default)]
struct Stash(Mutex<Option<Rejection>>);

/// Remember `rejection` for the catchers (the latest failure wins).
pub(crate) fn stash(req: &Request<'_>, rejection: Rejection) {
    let slot = req.local_cache(Stash::default);
    *slot
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(rejection);
}

/// The rejection a portcullis guard of this request failed with, if any.
///
/// Rocket hands a catcher only the status, not the guard's error value;
/// the guards stash their [`Rejection`] so a catcher can still send the
/// core's exact response. [`catchers`](super::catchers) does this for you;
/// use this function in catchers of your own:
///
/// ```
/// use rocket::http::Status;
/// use rocket::Request;
///
/// #[rocket::catch(401)]
/// fn unauthorized(req: &Request<'_>) -> Result<portcullis::Rejection, &'static str> {
///     portcullis::rocket::stashed_rejection(req).ok_or("please log in")
/// }
/// # let _ = rocket::catchers![unauthorized];
/// ```
#[must_use]
pub fn stashed_rejection(req: &Request<'_>) -> Option<Rejection> {
    *req.local_cache(Stash::default)
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
