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
//! | `conformance` | the public store conformance kit |
//!
//! The core never imports a web framework: an adapter fills a
//! [`RequestView`](request::RequestView), calls
//! [`Authenticator::authenticate`], and turns the resulting
//! [`AuthState`] or [`Rejection`] back into its
//! framework's types.
//!
//! ```
//! use portcullis::{Authenticator, request::RequestView, identity::Requirement};
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

pub mod auth;
pub mod clock;
pub mod cookie;
pub mod csrf;
mod error;
pub mod handle;
pub mod id;
pub mod identity;
pub mod jwt;
pub mod proxy;
pub mod redirect;
pub mod rejection;
pub mod request;
pub mod session;
pub mod store;

pub use auth::{AuthOutcome, Authenticator, AuthenticatorBuilder};
pub use error::{ConfigError, RngError, StoreError};
pub use handle::{SessionHandle, TokenHandle};
pub use identity::{AuthState, Identity, Requirement};
pub use rejection::{Rejection, RejectionKind, Scheme, MISCONFIGURED_BODY};

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
