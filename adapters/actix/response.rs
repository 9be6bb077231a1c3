//! The one place a [`Rejection`] becomes an actix-web response.
//!
//! Status, `WWW-Authenticate`, `Content-Type`, `Cache-Control` and the JSON
//! body all come from the core ([`Rejection::status`],
//! [`Rejection::headers`], [`Rejection::body`]), so actix-web puts the same
//! bytes on the wire as every other adapter for the same failure.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::rejection::Rejection;

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        for (name, value) in self.headers() {
            res.insert_header((name, value.as_ref()));
        }
        res.body(self.body())
    }
}
