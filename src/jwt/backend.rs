//! Which `jsonwebtoken` crypto provider does the asymmetric work.
//!
//! Our features `aws_lc_rs` (default) and `rust_crypto` pass through to
//! `jsonwebtoken`. We never rely on `jsonwebtoken`'s process-wide default
//! provider for our own work: every signer and verifier is made by calling
//! the chosen provider's factories directly, so a build with both features
//! (as `cargo --all-features` produces) works without any set-up and never
//! reaches `jsonwebtoken`'s "could not determine the CryptoProvider" panic.
//!
//! With both features on, AWS-LC is picked for our own calls. The library
//! never installs a process-wide provider: an application that calls
//! `jsonwebtoken` itself chooses its own (for example
//! `jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default()` once
//! at start-up, when more than one backend is compiled in), before or after
//! building an `Authenticator`, and both keep working
//! (`tests/jwt_provider_*.rs`).

use jsonwebtoken::crypto::CryptoProvider;

#[cfg(feature = "aws_lc_rs")]
pub(crate) static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;

#[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
pub(crate) static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;

// Neither backend: `compile_error!` in `jwt/mod.rs` stops the build; this
// placeholder only keeps that message the single error the user sees.
#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
pub(crate) static PROVIDER: &CryptoProvider = &NO_PROVIDER;

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
static NO_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |_, _| Err(jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into()),
    verifier_factory: |_, _| Err(jsonwebtoken::errors::ErrorKind::InvalidAlgorithm.into()),
    key_utils: jsonwebtoken::crypto::KeyUtils::new_unimplemented(),
};

/// The name of the crypto backend compiled in: `"aws-lc-rs"` (also when both
/// backend features are enabled) or `"rust-crypto"`.
///
/// ```
/// assert!(["aws-lc-rs", "rust-crypto"].contains(&portcullis::__private::BACKEND));
/// ```
#[cfg(feature = "aws_lc_rs")]
#[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
pub const BACKEND: &str = "aws-lc-rs";
/// The name of the crypto backend compiled in: `"aws-lc-rs"` (also when both
/// backend features are enabled) or `"rust-crypto"`.
///
/// ```
/// assert!(["aws-lc-rs", "rust-crypto"].contains(&portcullis::__private::BACKEND));
/// ```
#[cfg(not(feature = "aws_lc_rs"))]
#[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
pub const BACKEND: &str = "rust-crypto";
