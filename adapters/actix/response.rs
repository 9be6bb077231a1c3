//! The one place a [`Rejection`] becomes an actix-web response.
//!
//! Status, `WWW-Authenticate`, `Content-Type`, `Cache-Control` and the JSON
//! body all come from the core ([`Rejection::status`],
//! [`Rejection::headers`], [`Rejection::body`]), so actix-web puts the same
//! bytes on the wire as every other adapter for the same failure.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::rejection::Rejection;

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        for header in self.headers() {
            res.insert_header(header);
        }
        res.body(self.body())
    }
}

/// The body of the 500 answered when [`AuthMiddleware`](super::AuthMiddleware)
/// is missing (the same bytes as the tower adapter's).
pub(crate) const MISSING_MIDDLEWARE_BODY: &str = crate::rejection::MISCONFIGURED_BODY;

/// A handler or guard asked for authentication but
/// [`AuthMiddleware`](super::AuthMiddleware) is not wrapped around it.
///
/// A server misconfiguration, answered with a 500 (never a pass): the
/// request is refused rather than let through unauthenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingMiddlewareRejection;

impl MissingMiddlewareRejection {
    pub(crate) fn logged() -> Self {
        tracing::error!(
            "portcullis: no authentication outcome in the request extensions; \
             wrap `portcullis::actix::AuthMiddleware` around this route (server configuration error)"
        );
        MissingMiddlewareRejection
    }
}

impl fmt::Display for MissingMiddlewareRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("portcullis AuthMiddleware is missing")
    }
}

impl std::error::Error for MissingMiddlewareRejection {}

impl ResponseError for MissingMiddlewareRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError()
            .insert_header(("content-type", "application/json"))
            .insert_header(("cache-control", "no-store"))
            .body(MISSING_MIDDLEWARE_BODY)
    }
}
