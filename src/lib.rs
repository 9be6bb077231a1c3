//! # portcullis
//!
//! Session and JWT authentication for Rust web services, done right once:
//! secure cookies, server-side sessions behind a store trait, JWT issuing
//! and validation with a revocation list, refresh-token rotation, CSRF
//! protection and role checks. A framework-agnostic core does every
//! security decision; thin feature-gated adapters plug it into tower/axum,
//! actix-web and Rocket.
//!
//! | feature       | what it adds |
//! |---------------|--------------|
//! | `aws_lc_rs`   | JWT crypto on AWS-LC (default; fastest asymmetric verification) |
//! | `rust_crypto` | JWT crypto on RustCrypto (pure Rust) |
//! | `tower`       | `AuthLayer` / `RequireLayer` for any tower stack |
//! | `axum`        | axum extractors (implies `tower`) |
//! | `actix-web`   | actix-web middleware and extractors |
//! | `rocket`      | Rocket request guards and fairing |
//! | `redis`       | `RedisStore` and `RedisRevocationList` |
//! | `postgres`    | `sql::SqlStore` on PostgreSQL (sqlx) |
//! | `sqlite`      | `sql::SqlStore` on a SQLite file (sqlx, SQLite bundled) |
//! | `conformance` | the public store and revocation-list conformance kits |
//!
//! The core never imports a web framework: an adapter fills a
//! [`RequestView`], calls
//! [`Authenticator::authenticate`], and turns the resulting
//! [`AuthState`] or [`Rejection`] back into its
//! framework's types.
//!
//! ```
//! use portcullis::{Authenticator, RequestView, Requirement};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = Authenticator::builder().build().unwrap();
//! let view = RequestView::new("GET");
//! let outcome = auth.authenticate(&view).await;
//! let err = outcome.state.require(&Requirement::Authenticated).unwrap_err();
//! assert_eq!(err.status(), 401);
//! # });
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod base64url;
pub mod clock;
mod cookie;
mod csrf;
mod error;
mod events;
#[cfg_attr(
    not(any(feature = "axum", feature = "actix-web", feature = "rocket")),
    allow(dead_code)
)] // used by the adapters
mod extract;
mod handle;
mod id;
mod identity;
pub mod jwt;
mod last_seen;
pub mod manual;
mod prehashed;
mod proxy;
#[cfg_attr(not(feature = "tower"), allow(dead_code))] // the tower adapter's login redirect
mod redirect;
mod rejection;
mod request;
mod session;
pub mod store;
mod throttle;

pub use auth::{AuthOutcome, Authenticator, AuthenticatorBuilder, LoginInfo, UserLoader};
pub use cookie::{CookiePolicy, SameSite};
pub use csrf::CsrfConfig;
pub use error::{ConfigError, StoreError};
pub use events::{Event, EventKind, EventSink};
pub use extract::{BearerIdentity, OptionalIdentity, RequireRole, SessionIdentity};
pub use handle::{SessionHandle, TokenHandle};
pub use identity::{
    AuthMethod, AuthState, Identity, Requirement, RoleName, SchemeFilter, TokenInfo,
};
pub use rejection::{Rejection, RejectionKind, Scheme};
pub use request::RequestView;
pub use session::{SessionConfig, SessionInfo, SessionLimitPolicy};
pub use throttle::{LoginAttempt, LoginThrottle};

/// Internals for this crate's own fuzz targets, benches and tests (feature
/// `__internal`). Not part of the API: no stability promise, not counted
/// in the public-API budget, may change in any release.
/// The names most applications import, in one line:
/// `use portcullis::prelude::*;`. Every name here also has its own home
/// (the crate root, [`jwt`]); the adapters' `AuthLayer`s stay in their
/// modules (`portcullis::tower`, `actix`, `rocket`), which share the name.
///
/// ```
/// use portcullis::prelude::*;
/// role!(Admin = "admin");
/// async fn admin_page(who: RequireRole<Admin>) -> String {
///     who.subject().to_owned()
/// }
/// let keys = KeyRegistry::hs256("k1", &[7u8; 32]).unwrap();
/// let auth = Authenticator::builder()
///     .sessions(SessionConfig::default())
///     .tokens(TokenConfig::new(keys))
///     .build()
///     .unwrap();
/// # let _ = auth;
/// ```
pub mod prelude {
    pub use crate::jwt::{KeyRegistry, TokenConfig};
    pub use crate::{
        role, Authenticator, BearerIdentity, CookiePolicy, Identity, OptionalIdentity, Rejection,
        RejectionKind, RequireRole, RoleName, SessionConfig, SessionHandle, SessionIdentity,
        TokenHandle,
    };
}

#[cfg(feature = "__internal")]
#[doc(hidden)]
pub mod __private {
    pub use crate::clock::system::SystemClock;
    pub use crate::cookie::{MAX_CANDIDATES, MAX_COOKIE_VALUE_LEN};
    pub use crate::csrf::{check_token, encode_token};
    pub use crate::error::RngError;
    pub use crate::id::{IdSigner, SessionId, ENCODED_ID_LEN, ID_LEN};
    pub use crate::jwt::internal::*;
    pub use crate::request::{HeaderLines, Single, MAX_HEADER_BYTES};
    pub use crate::session::{ActiveSession, ClientInfo, LoginOutcome, SessionManager};

    /// The `Set-Cookie` the core queued for `outcome` (taking every queued
    /// header, through the public `AuthOutcome::take_response_headers`).
    pub fn set_cookie(outcome: &crate::AuthOutcome) -> Option<String> {
        outcome
            .take_response_headers()
            .find(|(name, _)| *name == "set-cookie")
            .map(|(_, value)| value)
    }
    /// Queue a `Set-Cookie` on `outcome`, as the core's operations do.
    pub fn queue_set_cookie(outcome: &crate::AuthOutcome, value: String) {
        outcome.response.set_cookie(value);
    }
    /// `TokenService::issue` for a client (IP, User-Agent).
    ///
    /// # Errors
    /// As `issue`.
    pub async fn issue_for(
        svc: &crate::jwt::TokenService,
        subject: &str,
        roles: &[String],
        client: &ClientInfo,
    ) -> Result<crate::jwt::TokenPair, crate::Rejection> {
        svc.issue_for(subject, roles, client).await
    }
    /// `TokenService::refresh` by a client (the retry grace needs it).
    ///
    /// # Errors
    /// As `refresh`.
    pub async fn refresh_from(
        svc: &crate::jwt::TokenService,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<crate::jwt::TokenPair, crate::Rejection> {
        svc.refresh_from(refresh_token, client).await
    }
    /// The live session `outcome` found, if any.
    pub fn session(outcome: &crate::AuthOutcome) -> Option<&ActiveSession> {
        outcome.session.as_ref()
    }
    /// The client `outcome` saw (after the trusted-proxy rule).
    pub fn client(outcome: &crate::AuthOutcome) -> &ClientInfo {
        &outcome.client
    }
    /// Why `outcome`'s request fails the cross-origin rule, if it does.
    pub fn cross_origin(outcome: &crate::AuthOutcome) -> Option<crate::RejectionKind> {
        outcome.cross_origin
    }

    /// The session manager of `auth`, if cookie sessions are on.
    pub fn sessions(auth: &crate::Authenticator) -> Option<&SessionManager> {
        auth.sessions()
    }
    /// The JWS checks of `keys` alone (Wycheproof vectors, fuzzing).
    ///
    /// # Errors
    /// As the verifier.
    pub fn verify_jws(
        keys: &crate::jwt::KeyRegistry,
        token: &[u8],
    ) -> Result<Jws, crate::jwt::JwtError> {
        keys.verify_jws(token)
    }
    /// Every well-formed value of `policy`'s cookie in `view`'s `Cookie`
    /// lines, as the authenticator finds them.
    pub fn cookie_values<'s>(
        policy: &'s crate::CookiePolicy,
        view: &'s crate::RequestView<'_>,
    ) -> Vec<&'s str> {
        policy.values(&view.cookie_headers).collect()
    }
    /// `id` signed by `signer`, as a cookie value.
    pub fn sign(signer: &IdSigner, id: &SessionId) -> String {
        signer.sign(id)
    }
    /// The ID in a signed cookie value, if `signer` accepts it.
    pub fn verify_id(signer: &IdSigner, value: &str) -> Option<SessionId> {
        signer.verify(value.as_bytes())
    }
}

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
#[path = "../adapters/tower/mod.rs"]
pub mod tower;

#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
#[path = "../adapters/actix/mod.rs"]
pub mod actix;

#[cfg(feature = "rocket")]
#[cfg_attr(docsrs, doc(cfg(feature = "rocket")))]
#[path = "../adapters/rocket/mod.rs"]
pub mod rocket;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;

#[cfg(any(feature = "postgres", feature = "sqlite"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "postgres", feature = "sqlite"))))]
pub mod sql;
