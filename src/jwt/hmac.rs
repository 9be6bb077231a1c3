//! HMAC keys for the HS* algorithms, pre-keyed once: every token reuses the
//! keyed state instead of running the key schedule again. With the
//! `aws_lc_rs` backend the MAC is AWS-LC's (the same library as the
//! asymmetric algorithms, assembly on every x86-64); with `rust_crypto`
//! alone it is RustCrypto's.

use super::algorithm::Algorithm;
use crate::error::ConfigError;

/// A pre-keyed HMAC state for one HS* algorithm (no `Debug`: it holds the
/// secret).
#[derive(Clone)]
pub(crate) struct HmacKey(Inner);

#[cfg(feature = "aws_lc_rs")]
type Inner = aws_lc_rs::hmac::Key;

#[cfg(not(feature = "aws_lc_rs"))]
#[derive(Clone)]
enum Inner {
    S256(hmac::Hmac<sha2::Sha256>),
    S384(hmac::Hmac<sha2::Sha384>),
    S512(hmac::Hmac<sha2::Sha512>),
}

impl HmacKey {
    /// A key for `alg` (an HS* algorithm) from `secret`, which must be at
    /// least as long as the algorithm's output.
    pub(crate) fn new(alg: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        let min = alg.min_secret_len();
        if !alg.is_hmac() {
            return Err(ConfigError::Key(format!("{alg} is not an HMAC algorithm")));
        }
        if secret.len() < min {
            return Err(ConfigError::Key(format!(
                "{alg} secret must be at least {min} bytes (got {})",
                secret.len()
            )));
        }
        Ok(HmacKey(keyed(alg, secret)?))
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> Vec<u8> {
        #[cfg(feature = "aws_lc_rs")]
        {
            aws_lc_rs::hmac::sign(&self.0, msg).as_ref().to_vec()
        }
        #[cfg(not(feature = "aws_lc_rs"))]
        {
            use hmac::Mac as _;
            match &self.0 {
                Inner::S256(m) => m.clone().chain_update(msg).finalize().into_bytes().to_vec(),
                Inner::S384(m) => m.clone().chain_update(msg).finalize().into_bytes().to_vec(),
                Inner::S512(m) => m.clone().chain_update(msg).finalize().into_bytes().to_vec(),
            }
        }
    }

    /// Constant-time comparison; a tag of the wrong length fails.
    pub(crate) fn verify(&self, msg: &[u8], tag: &[u8]) -> bool {
        #[cfg(feature = "aws_lc_rs")]
        {
            aws_lc_rs::hmac::verify(&self.0, msg, tag).is_ok()
        }
        #[cfg(not(feature = "aws_lc_rs"))]
        {
            use hmac::Mac as _;
            match &self.0 {
                Inner::S256(m) => m.clone().chain_update(msg).verify_slice(tag).is_ok(),
                Inner::S384(m) => m.clone().chain_update(msg).verify_slice(tag).is_ok(),
                Inner::S512(m) => m.clone().chain_update(msg).verify_slice(tag).is_ok(),
            }
        }
    }
}

#[cfg(feature = "aws_lc_rs")]
#[allow(clippy::unnecessary_wraps)] // fallible with the other backend
fn keyed(alg: Algorithm, secret: &[u8]) -> Result<Inner, ConfigError> {
    use aws_lc_rs::hmac::{Key, HMAC_SHA256, HMAC_SHA384, HMAC_SHA512};
    let algorithm = match alg {
        Algorithm::HS256 => HMAC_SHA256,
        Algorithm::HS384 => HMAC_SHA384,
        _ => HMAC_SHA512,
    };
    Ok(Key::new(algorithm, secret))
}

#[cfg(not(feature = "aws_lc_rs"))]
fn keyed(alg: Algorithm, secret: &[u8]) -> Result<Inner, ConfigError> {
    use hmac::Mac as _;
    let bad = |_| ConfigError::Key("bad HMAC key".into());
    Ok(match alg {
        Algorithm::HS256 => Inner::S256(hmac::Hmac::new_from_slice(secret).map_err(bad)?),
        Algorithm::HS384 => Inner::S384(hmac::Hmac::new_from_slice(secret).map_err(bad)?),
        _ => Inner::S512(hmac::Hmac::new_from_slice(secret).map_err(bad)?),
    })
}
