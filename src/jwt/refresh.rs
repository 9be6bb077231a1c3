//! Opaque refresh tokens: `base64url(family_id || secret)`, 32 random bytes
//! each. The store keeps the family under `sha256(family_id)` and only the
//! SHA-256 of the current secret, so a leaked store yields no usable token.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::base64url::decode_fixed;
use crate::error::RngError;
use crate::id::{random_32_pair, sha256, SessionId, SessionKey};

/// Length of the encoded refresh token (64 bytes in unpadded base64url).
pub(crate) const REFRESH_TOKEN_LEN: usize = 86;

/// Domain separation of successor derivation.
const SUCCESSOR_TAG: &[u8] = b"portcullis refresh successor\0";

pub(crate) struct RefreshToken {
    family: [u8; 32],
    secret: [u8; 32],
}

impl RefreshToken {
    /// A new family with its first secret.
    pub(crate) fn generate() -> Result<Self, RngError> {
        let (family, secret) = random_32_pair()?;
        Ok(RefreshToken { family, secret })
    }

    /// The successor of this token in its family: the secret is derived
    /// from this secret and a random `nonce` the family record keeps, so
    /// the same client retrying within the grace window can be handed the
    /// same successor again, while the store alone (which holds only hashes
    /// and the nonce) cannot produce it.
    pub(crate) fn successor(&self, nonce: &[u8; 32]) -> Self {
        let mut input = [0u8; SUCCESSOR_TAG.len() + 64];
        input[..SUCCESSOR_TAG.len()].copy_from_slice(SUCCESSOR_TAG);
        input[SUCCESSOR_TAG.len()..SUCCESSOR_TAG.len() + 32].copy_from_slice(&self.secret);
        input[SUCCESSOR_TAG.len() + 32..].copy_from_slice(nonce);
        RefreshToken {
            family: self.family,
            secret: sha256(&input),
        }
    }

    /// Parse the client's string; anything but exactly 86 canonical
    /// base64url characters is `None`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if text.len() != REFRESH_TOKEN_LEN {
            return None;
        }
        let raw = decode_fixed::<64>(text.as_bytes())?;
        let mut family = [0u8; 32];
        let mut secret = [0u8; 32];
        family.copy_from_slice(&raw[..32]);
        secret.copy_from_slice(&raw[32..]);
        Some(RefreshToken { family, secret })
    }

    pub(crate) fn encode(&self) -> String {
        let mut raw = [0u8; 64];
        raw[..32].copy_from_slice(&self.family);
        raw[32..].copy_from_slice(&self.secret);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The store key of the family.
    pub(crate) fn key(&self) -> SessionKey {
        SessionId::from_bytes(self.family).key()
    }

    /// What the store keeps: SHA-256 of the secret.
    pub(crate) fn secret_hash(&self) -> [u8; 32] {
        sha256(&self.secret)
    }

    /// Constant-time comparison with a stored hash.
    pub(crate) fn matches(&self, stored_hash: &[u8; 32]) -> bool {
        self.secret_hash().ct_eq(stored_hash).into()
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let t = RefreshToken::generate().unwrap();
        let s = t.encode();
        assert_eq!(s.len(), REFRESH_TOKEN_LEN);
        let back = RefreshToken::parse(&s).unwrap();
        assert!(back.matches(&t.secret_hash()));
        assert_eq!(back.key(), t.key());
        let n = [7u8; 32];
        let s1 = t.successor(&n);
        assert_eq!(s1.key(), t.key());
        assert!(s1.matches(&t.successor(&n).secret_hash()));
        assert!(!s1.matches(&t.successor(&[8u8; 32]).secret_hash()));
        assert!(!s1.matches(&t.secret_hash()));
        assert!(RefreshToken::parse(&s[..85]).is_none());
        assert!(RefreshToken::parse(&format!("{}=", &s[..85])).is_none());
        assert!(RefreshToken::parse("").is_none());
    }
}
