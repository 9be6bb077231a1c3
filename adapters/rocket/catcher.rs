//! Ready-made catchers: the core's exact rejection when a portcullis guard
//! failed, a short JSON error otherwise.

use std::io::Cursor;

use rocket::catcher::{BoxFuture, Catcher};
use rocket::http::{ContentType, Status};
use rocket::request::Request;
use rocket::response::{Responder, Response};

use super::response::stashed_rejection;

/// Catchers for 400, 401, 403 and 503, the statuses a guard failure can
/// carry. Each sends the [`Rejection`](crate::Rejection) the failing guard
/// stashed (the core's status, `WWW-Authenticate` challenge and JSON body,
/// byte for byte what the other adapters send); when the error did not come
/// from a portcullis guard (say a malformed body), a short JSON body such as
/// `{"error":"malformed request"}`.
///
/// ```
/// use rocket::http::{Header, Status};
/// use rocket::local::blocking::Client;
/// use portcullis::{BearerIdentity, rocket::AuthLayer};
/// use portcullis::Authenticator;
///
/// #[rocket::get("/me")]
/// fn me(who: BearerIdentity) -> String {
///     who.subject().to_owned()
/// }
///
/// let auth = Authenticator::builder().build().unwrap();
/// let rocket = rocket::build()
///     .attach(AuthLayer::new(auth))
///     .mount("/", rocket::routes![me])
///     .register("/", portcullis::rocket::catchers());
/// let client = Client::untracked(rocket).unwrap();
/// let res = client.get("/me").dispatch();
/// assert_eq!(res.status(), Status::Unauthorized);
/// assert_eq!(res.headers().get_one("WWW-Authenticate"), Some("Bearer"));
/// assert_eq!(res.into_string().unwrap(), r#"{"error":"authentication required"}"#);
/// ```
///
/// The list ends with a default catcher (every status without a more
/// specific catcher) that answers JSON too: `{"error":"<reason>"}`, e.g.
/// `"not found"`, `"payload too large"`, `"internal server error"`, where
/// Rocket's own default answers HTML. Register your own catcher for a
/// status (as the demo does for 404) to answer it differently.
///
/// ```
/// use rocket::http::Status;
/// use rocket::local::blocking::Client;
///
/// let rocket = rocket::build().register("/", portcullis::rocket::catchers());
/// let client = Client::untracked(rocket).unwrap();
/// let res = client.get("/nowhere").dispatch();
/// assert_eq!(res.status(), Status::NotFound);
/// assert_eq!(res.into_string().unwrap(), r#"{"error":"not found"}"#);
/// ```
#[must_use]
pub fn catchers() -> Vec<Catcher> {
    [400, 401, 403, 503]
        .into_iter()
        .map(|code| Catcher::new(code, render))
        .chain([Catcher::new(None, render)])
        .collect()
}

fn render<'r>(status: Status, req: &'r Request<'_>) -> BoxFuture<'r> {
    Box::pin(async move {
        match stashed_rejection(req) {
            Some(rejection) if rejection.status() == status.code => rejection.respond_to(req),
            _ => Ok(json_error(status)),
        }
    })
}

/// `{"error":"..."}` for a status no portcullis guard explains.
fn json_error(status: Status) -> Response<'static> {
    let message = match status.code {
        400 | 422 => "malformed request".to_owned(),
        401 => "authentication required".to_owned(),
        // 500 gives "internal server error", the body of
        // `crate::rejection::MISCONFIGURED_BODY` (e.g. the fairing is missing).
        _ => status.reason_lossy().to_ascii_lowercase(),
    };
    let body = serde_json::json!({ "error": message }).to_string();
    Response::build()
        .status(status)
        .header(ContentType::JSON)
        .sized_body(body.len(), Cursor::new(body))
        .finalize()
}
