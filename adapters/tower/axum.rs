//! axum extractors (feature `axum`, on `axum-core` only): `FromRequestParts`
//! for the core's extractor types, over the outcome the
//! [`AuthLayer`](super::AuthLayer) stored in the request extensions. The
//! core decides ([`FromOutcome`]); this file only finds the outcome.

use std::sync::Arc;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use super::response::rejection_response;
use crate::auth::AuthOutcome;
use crate::extract::{extract, FromOutcome};
use crate::handle::{SessionHandle, TokenHandle};
use crate::identity::{Identity, RoleName, SchemeFilter};
use crate::{BearerIdentity, OptionalIdentity, Rejection, RequireRole, SessionIdentity};

impl IntoResponse for Rejection {
    /// Status, `WWW-Authenticate`, `Cache-Control: no-store` and the JSON
    /// body, via `rejection_response`.
    fn into_response(self) -> Response {
        rejection_response(&self)
    }
}

fn from_parts<T: FromOutcome>(parts: &Parts) -> Result<T, Rejection> {
    extract(parts.extensions.get::<Arc<AuthOutcome>>())
}

macro_rules! extractor {
    ($ty:ty $(, $g:ident: $b:path)*) => {
        impl<$($g: $b,)* S: Send + Sync> FromRequestParts<S> for $ty {
            type Rejection = Rejection;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
                from_parts(parts)
            }
        }
    };
}

extractor!(Identity);
extractor!(SessionIdentity);
extractor!(BearerIdentity);
extractor!(OptionalIdentity<Sch>, Sch: SchemeFilter);
extractor!(RequireRole<R, Sch>, R: RoleName, Sch: SchemeFilter);
extractor!(SessionHandle);
extractor!(TokenHandle);
