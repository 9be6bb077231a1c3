//! Session IDs: 256 random bits from the OS CSPRNG, base64url without
//! padding, compared in constant time, never printed.
//!
//! A store never sees the raw ID: it is keyed by [`SessionKey`], the SHA-256
//! of the ID, so a leaked store (or a store dump in a backup) does not leak
//! live sessions.
//!
//! ```
//! use portcullis::__private::SessionId;
//! let id = SessionId::generate().unwrap();
//! let text = id.encode();
//! assert_eq!(text.len(), 43);
//! let back = SessionId::decode(&text).unwrap();
//! assert!(back == id);
//! assert_eq!(format!("{id:?}"), "SessionId(REDACTED)");
//! assert_ne!(id.key().to_hex(), text);
//! ```

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::base64url::decode_fixed;
use crate::error::{fill_random, ConfigError, RngError};

/// Length of a session ID in bytes (256 bits).
pub const ID_LEN: usize = 32;
/// Length of the base64url (no padding) form of an ID.
pub const ENCODED_ID_LEN: usize = 43;

/// A raw session ID: the bearer secret that the cookie carries.
#[derive(Clone)]
pub struct SessionId([u8; ID_LEN]);

impl SessionId {
    /// Draw a fresh ID from the OS CSPRNG.
    ///
    /// # Errors
    /// [`RngError`] if the OS generator fails.
    pub fn generate() -> Result<Self, RngError> {
        let mut b = [0u8; ID_LEN];
        fill_random(&mut b)?;
        Ok(SessionId(b))
    }

    /// Wrap raw bytes (for tests and custom ID sources).
    #[must_use]
    pub fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
        SessionId(bytes)
    }

    /// The raw bytes.
    #[must_use]
    #[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
    pub fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// base64url without padding (43 characters).
    #[must_use]
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parse the base64url form. Anything that is not exactly 43 canonical
    /// base64url characters is `None` (never a panic).
    #[must_use]
    #[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
    pub fn decode(text: &str) -> Option<Self> {
        Self::decode_bytes(text.as_bytes())
    }

    /// [`decode`](Self::decode) of bytes (a cookie value, read from the
    /// header as bytes).
    pub(crate) fn decode_bytes(text: &[u8]) -> Option<Self> {
        decode_fixed::<ID_LEN>(text).map(SessionId)
    }

    /// The store key: SHA-256 of the raw ID.
    #[must_use]
    pub fn key(&self) -> SessionKey {
        SessionKey(Sha256::digest(self.0).into())
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}
impl Eq for SessionId {}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(REDACTED)")
    }
}

/// The key under which a store keeps a record: SHA-256 of the session ID
/// (or of a refresh family's ID). Knowing a key does not let anyone build a
/// cookie that maps to it.
///
/// ```
/// use portcullis::store::SessionKey;
/// let k = SessionKey::from_bytes([7; 32]);
/// assert_eq!(SessionKey::from_hex(&k.to_hex()), Some(k));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// Wrap raw key bytes (for stores that persist keys as bytes).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SessionKey(bytes)
    }
    /// The raw key bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Lower-case hex (64 characters), for stores keyed by text.
    #[must_use]
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        s
    }
    /// Parse [`to_hex`](Self::to_hex) output.
    #[must_use]
    pub fn from_hex(text: &str) -> Option<Self> {
        let t = text.as_bytes();
        if t.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in t.chunks_exact(2).enumerate() {
            out[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
        }
        Some(SessionKey(out))
    }
    /// A short, non-secret label for listing sessions (`id_hint`): 12 hex
    /// characters of a second hash, so it reveals neither the ID nor the key.
    #[must_use]
    pub fn hint(&self) -> String {
        let h = Sha256::new()
            .chain_update(b"portcullis id_hint")
            .chain_update(self.0)
            .finalize();
        let mut s = String::with_capacity(12);
        for b in &h[..6] {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        s
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({})", self.hint())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

type HmacSha256 = Hmac<Sha256>;

/// Minimum length of an ID-signing secret (the HMAC-SHA256 block of security).
pub const MIN_SIGNING_KEY_LEN: usize = 32;

/// HMAC-SHA256 signing of cookie values, so forged or truncated IDs are
/// rejected before any store lookup. One key signs; every key verifies, so
/// keys rotate without logging anyone out.
///
/// The signed form is `<id>.<tag>` (43 + 1 + 43 characters).
///
/// Configured with [`SessionConfig::signing_key`](crate::SessionConfig::signing_key).
#[derive(Clone)]
pub struct IdSigner {
    // Pre-keyed MAC states: cloning one skips the key schedule per request.
    keys: Vec<HmacSha256>,
}

impl IdSigner {
    /// A signer whose active key is `secret` (at least 32 bytes).
    ///
    /// # Errors
    /// [`ConfigError::Key`] when the secret is shorter than 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self, ConfigError> {
        Ok(IdSigner {
            keys: vec![Self::mac(secret)?],
        })
    }

    /// Also accept values signed with an older `secret` (rotation).
    ///
    /// # Errors
    /// [`ConfigError::Key`] when the secret is shorter than 32 bytes.
    pub fn also_accept(mut self, secret: &[u8]) -> Result<Self, ConfigError> {
        self.keys.push(Self::mac(secret)?);
        Ok(self)
    }

    fn mac(secret: &[u8]) -> Result<HmacSha256, ConfigError> {
        if secret.len() < MIN_SIGNING_KEY_LEN {
            return Err(ConfigError::Key(format!(
                "ID signing secret must be at least {MIN_SIGNING_KEY_LEN} bytes"
            )));
        }
        HmacSha256::new_from_slice(secret).map_err(|_| ConfigError::Key("bad HMAC key".into()))
    }

    fn tag(mac: &HmacSha256, id: &[u8; ID_LEN]) -> [u8; 32] {
        let mut m = mac.clone();
        m.update(id);
        m.finalize().into_bytes().into()
    }

    /// `<id>.<tag>` with the active key.
    #[must_use]
    pub(crate) fn sign(&self, id: &SessionId) -> String {
        let tag = Self::tag(&self.keys[0], &id.0);
        let mut s = String::with_capacity(ENCODED_ID_LEN * 2 + 1);
        s.push_str(&id.encode());
        s.push('.');
        s.push_str(&URL_SAFE_NO_PAD.encode(tag));
        s
    }

    /// The ID, if `value` is `<id>.<tag>` and the tag verifies under any
    /// accepted key (compared in constant time).
    #[must_use]
    pub(crate) fn verify(&self, v: &[u8]) -> Option<SessionId> {
        if v.len() != ENCODED_ID_LEN * 2 + 1 || v[ENCODED_ID_LEN] != b'.' {
            return None;
        }
        let id = decode_fixed::<ID_LEN>(&v[..ENCODED_ID_LEN])?;
        let tag = decode_fixed::<32>(&v[ENCODED_ID_LEN + 1..])?;
        let mut ok = subtle::Choice::from(0);
        for k in &self.keys {
            ok |= Self::tag(k, &id).ct_eq(&tag);
        }
        bool::from(ok).then_some(SessionId(id))
    }
}

impl fmt::Debug for IdSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdSigner")
            .field("keys", &format_args!("[REDACTED; {}]", self.keys.len()))
            .finish()
    }
}

/// 32 random bytes (CSRF secrets, refresh secrets, `jti`s).
pub(crate) fn random_32() -> Result<[u8; 32], RngError> {
    let mut b = [0u8; 32];
    fill_random(&mut b)?;
    Ok(b)
}

/// Two independent 32-byte random values from one call to the OS
/// generator (a login needs an ID and a secret: one system call, not two).
pub(crate) fn random_32_pair() -> Result<([u8; 32], [u8; 32]), RngError> {
    let mut b = [0u8; 64];
    fill_random(&mut b)?;
    let mut first = [0u8; 32];
    let mut second = [0u8; 32];
    first.copy_from_slice(&b[..32]);
    second.copy_from_slice(&b[32..]);
    Ok((first, second))
}

/// SHA-256 helper.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}
