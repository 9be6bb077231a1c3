//! Request guards: `FromRequest` for the core's extractor types, over the
//! outcome the [`AuthLayer`](super::AuthLayer) fairing computes once per
//! request. The core decides ([`FromOutcome`]); this file only finds the
//! outcome and stashes a refusal for the catchers.

use rocket::request::{FromRequest, Outcome, Request};

use crate::extract::{extract, FromOutcome};
use crate::handle::{SessionHandle, TokenHandle};
use crate::identity::{Identity, RoleName, SchemeFilter};
use crate::{BearerIdentity, OptionalIdentity, Rejection, RequireRole, SessionIdentity};

use super::outcome::{outcome, reject};

async fn guard<T: FromOutcome>(req: &Request<'_>) -> Outcome<T, Rejection> {
    match extract(outcome(req).await) {
        Ok(value) => Outcome::Success(value),
        Err(rejection) => reject(req, rejection),
    }
}

macro_rules! guard {
    ($ty:ty $(, $g:ident: $b:path)*) => {
        #[rocket::async_trait]
        impl<'r $(, $g: $b)*> FromRequest<'r> for $ty {
            type Error = Rejection;

            async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Rejection> {
                guard(req).await
            }
        }
    };
}

guard!(Identity);
guard!(SessionIdentity);
guard!(BearerIdentity);
guard!(OptionalIdentity<S>, S: SchemeFilter);
guard!(RequireRole<R, S>, R: RoleName, S: SchemeFilter);
guard!(SessionHandle);
guard!(TokenHandle);
