//! Token mode: JWT access tokens, rotating refresh tokens, revocation.
//!
//! - [`KeyRegistry`]: `kid` -> (key, [`Algorithm`]); one key signs, all
//!   verify (rotation without downtime); public keys published as a JWKS.
//! - [`TokenService`]: issue, authenticate, refresh, logout, logout-all.
//! - [`RevocationList`] / [`MemoryRevocationList`]: revoke by `jti` or by
//!   subject-and-instant.
//! - The `Authorization: Bearer` header is read strictly (RFC 6750 §2.1:
//!   one header, one `b64token`; anything else is a 400).
//! - Resource-server mode (feature `jwks`): `TrustedIssuer` accepts the
//!   tokens of another issuer, with keys from a `KeySource` such as
//!   `HttpKeySource` (a JWKS URL or OpenID discovery), refreshed in the
//!   background; [`TokenService::jwks`] and
//!   [`TokenService::openid_configuration`] publish this service's keys.
//!
//! # Verification policy
//!
//! Every token goes through the same steps, cheapest first, and any failure
//! is a 401 `invalid_token` (the reason, a [`JwtError`], is only logged):
//!
//! 1. At most 8 KiB, before anything is decoded.
//! 2. Exactly three segments of canonical unpadded base64url (no `=`, no
//!    characters outside the alphabet, no non-zero trailing bits), so one
//!    token has exactly one accepted spelling.
//! 3. Header: a JSON object, each member once; `alg` never `none`; `typ`
//!    absent or `JWT` / `at+jwt` (case-insensitive, optional
//!    `application/` prefix); `crit` refused unless each listed extension is
//!    allow-listed ([`TokenConfig::allow_crit`]) and present; `cty`
//!    (nested tokens) and `b64: false` refused; keys embedded in the header
//!    (`jwk`, `jku`, `x5u`, `x5c`) are never used.
//! 4. Key by `kid` from the registry only (see [`KeyRegistry`] for the
//!    no-`kid` rule); the algorithm is the key's: a different `alg` header is
//!    refused.
//! 5. Signature.
//! 6. Claims: registered claims strictly typed (e.g. `exp` as a string, a
//!    float or `null` is refused; duplicates refused); `exp` required,
//!    `nbf` and `iat` (not in the future) checked with a leeway of 30 s by
//!    default; `iss` / `aud`, when configured, required and matched exactly;
//!    access tokens also need `sub`, `iat` and `jti`.
//! 7. The revocation list, in one call.
//!
//! # Crypto backends
//!
//! Exactly one of the features `aws_lc_rs` (default) and `rust_crypto` is
//! expected; a build with neither fails with a clear message. A build with
//! both (as `--all-features` produces) uses AWS-LC and works without any
//! set-up. HMAC (`HS*`) verification never goes through the
//! backend: it is done here with a pre-keyed `hmac` state and a
//! constant-time comparison, the hot path of most deployments. Asymmetric
//! verification and all signing use `jsonwebtoken`'s provider, with keys
//! parsed once when the registry is built.
//!
//! ```
//! use portcullis::jwt::{KeyRegistry, TokenConfig};
//! use portcullis::RequestView;
//! use portcullis::Authenticator;
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let auth = Authenticator::builder()
//!     .without_sessions()
//!     .tokens(
//!         TokenConfig::new(KeyRegistry::hs256("k1", &[42u8; 32]).unwrap())
//!             .issuer("https://auth.example")
//!             .audience("api"),
//!     )
//!     .build()
//!     .unwrap();
//! let tokens = auth.tokens().unwrap();
//! let pair = tokens.issue("alice", &["user".into()]).await.unwrap();
//!
//! let header = format!("Bearer {}", pair.access_token);
//! let mut view = RequestView::new("GET");
//! view.add_header("authorization", header.as_bytes());
//! let outcome = auth.authenticate(&view).await;
//! let who = outcome.state.identity().unwrap();
//! assert_eq!(who.subject(), "alice");
//!
//! tokens.logout(who).await.unwrap();
//! assert!(auth.authenticate(&view).await.state.identity().is_none());
//! # });
//! ```

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!(
    "portcullis needs a JWT crypto backend: enable the feature `aws_lc_rs` (the default) or \
     `rust_crypto`, e.g. `portcullis = { version = \"0.1\", default-features = false, features = \
     [\"rust_crypto\"] }`"
);

mod algorithm;
mod backend;
mod bearer;
mod cache;
mod claims;
pub(crate) mod config;
mod error;
mod family;
#[cfg(feature = "jwks")]
pub(crate) mod foreign;
mod hmac;
#[cfg(feature = "jwks")]
mod http_source;
mod json;
mod jwk;
mod jws;
mod keys;
mod material;
mod refresh;
#[cfg(feature = "jwks")]
mod remote;
mod revocation;
mod service;
mod validation;
mod verify;

pub use algorithm::Algorithm;
pub(crate) use bearer::{bearer_token, is_b64token};
pub use claims::{Audience, Claims};
pub use config::TokenConfig;
pub use error::JwtError;
#[cfg(feature = "jwks")]
pub use foreign::TrustedIssuer;
#[cfg(feature = "jwks")]
pub use http_source::HttpKeySource;
pub use keys::{KeyRegistry, KeyRegistryBuilder};
#[cfg(feature = "jwks")]
pub use remote::{FetchedKeys, KeySource};
pub use revocation::{MemoryRevocationList, RevocationList};

/// Internals re-exported for the crate's own fuzz targets, benches and
/// tests (`crate::__private`).
#[cfg(feature = "__internal")]
pub(crate) mod internal {
    pub use super::backend::BACKEND;
    pub use super::bearer::parse_bearer;
    pub use super::claims::RESERVED_CLAIMS;
    pub use super::jws::Jws;
    pub use super::jws::{MAX_KID_LEN, MAX_TOKEN_LEN};
    pub use super::validation::DEFAULT_LEEWAY;
}
pub use service::{TokenPair, TokenService};

/// The non-secret hint of the family a refresh token belongs to (for audit
/// events), if it is one.
pub(crate) fn family_hint(refresh_token: &str) -> Option<String> {
    refresh::RefreshToken::parse(refresh_token).map(|rt| rt.key().hint())
}
