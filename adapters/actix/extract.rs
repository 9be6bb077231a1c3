//! `FromRequest` for the core's extractor types, over the outcome
//! [`AuthLayer`](super::AuthLayer) stored in the request. The core decides
//! ([`FromOutcome`]); this file only finds the outcome.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::auth::AuthOutcome;
use crate::extract::{extract, FromOutcome};
use crate::handle::{SessionHandle, TokenHandle};
use crate::identity::{Identity, RoleName, SchemeFilter};
use crate::{BearerIdentity, OptionalIdentity, Rejection, RequireRole, SessionIdentity};

fn from_request<T: FromOutcome>(req: &HttpRequest) -> Ready<Result<T, Rejection>> {
    ready(extract(req.extensions().get::<Arc<AuthOutcome>>()))
}

macro_rules! extractor {
    ($ty:ty $(, $g:ident: $b:path)*) => {
        impl<$($g: $b),*> FromRequest for $ty {
            type Error = Rejection;
            type Future = Ready<Result<Self, Rejection>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                from_request(req)
            }
        }
    };
}

extractor!(Identity);
extractor!(SessionIdentity);
extractor!(BearerIdentity);
extractor!(OptionalIdentity<S>, S: SchemeFilter);
extractor!(RequireRole<R, S>, R: RoleName, S: SchemeFilter);
extractor!(SessionHandle);
extractor!(TokenHandle);
