//! The key registry: `kid` -> (key, algorithm), one active signing key,
//! several verification keys, and the public JWKS.

use std::fmt;
use std::sync::Arc;

use serde_json::{json, Value};

use super::algorithm::Algorithm;
use super::error::JwtError;
use super::hmac::HmacKey;
use super::jws::{self, Header, Jws, Segments, SMALL_DECODE};
use super::material::{from_private_pem, from_public_pem, Key, Material};
use crate::error::ConfigError;

/// The signing and verification keys of a [`TokenService`](super::TokenService):
/// `kid` -> (key, algorithm).
///
/// - **Algorithm from the key.** Each key is bound to one [`Algorithm`]; a
///   token whose `alg` header differs is refused, so neither `none` nor
///   algorithm confusion (an HS256 token "signed" with an RSA public key)
///   can get through.
/// - **Rotation.** One *active* key signs; every key verifies. Add the new
///   key, make it active, and drop the old one once its tokens have expired.
/// - **`kid` policy.** Tokens we sign always carry a `kid`. A token with an
///   unknown `kid`, or one longer than 256 bytes,
///   is refused without any lookup outside the registry (the `kid` is only
///   compared with the registered ones). A token *without* `kid` is accepted
///   only while the registry holds exactly one key (the RFC 7515 examples
///   and single-key issuers need that); with two or more it is refused.
/// - **No mixing.** A registry holds either HMAC secrets or public keys, not
///   both (a shared secret next to published keys invites confusion).
/// - **Minimum strength.** HMAC secrets of at least the hash size (32/48/64
///   bytes), RSA moduli of at least 2048 bits (no ROCA keys), EC keys on the
///   algorithm's own curve.
/// - The public keys are published with [`jwks`](Self::jwks); HMAC secrets
///   never are.
///
/// `Clone` is cheap (shared). `Debug` shows the `kid`s and algorithms only.
///
/// ```
/// use portcullis::jwt::{Algorithm, KeyRegistry};
/// let keys = KeyRegistry::builder()
///     .hmac("2025-06", Algorithm::HS256, b"a fresh secret of at least 32 bytes!")
///     .hmac("2025-01", Algorithm::HS256, b"the previous secret, still accepted.")
///     .active("2025-06")
///     .build()
///     .unwrap();
/// assert_eq!(keys.active_kid(), Some("2025-06"));
/// assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 0); // HMAC is never published
///
/// // Too short a secret is refused when building:
/// assert!(KeyRegistry::hs256("k", b"short").is_err());
/// ```
#[derive(Clone)]
pub struct KeyRegistry {
    inner: Arc<RegistryInner>,
}

struct RegistryInner {
    keys: Vec<Key>,
    active: Option<usize>,
    jwks: Value,
    /// Why keys of an imported JWKS were left out.
    skipped: Vec<String>,
}

impl KeyRegistry {
    /// Start a registry.
    pub fn builder() -> KeyRegistryBuilder {
        KeyRegistryBuilder {
            keys: Vec::new(),
            active: None,
            error: None,
            skipped: Vec::new(),
            thumbprint_kids: false,
        }
    }

    /// A registry with one HS256 secret (at least 32 bytes) that signs and
    /// verifies.
    ///
    /// # Errors
    /// [`ConfigError::Key`] for a short secret or a bad `kid`.
    pub fn hs256(kid: impl Into<String>, secret: &[u8]) -> Result<Self, ConfigError> {
        Self::builder().hmac(kid, Algorithm::HS256, secret).build()
    }

    /// How many keys are registered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.keys.len()
    }

    /// Never true for a built registry (building refuses an empty one).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.keys.is_empty()
    }

    /// The `kid` and algorithm of every key.
    pub fn kids(&self) -> impl Iterator<Item = (&str, Algorithm)> + '_ {
        self.inner.keys.iter().map(|k| (k.kid.as_str(), k.alg))
    }

    /// Why keys of a JWKS given to [`KeyRegistryBuilder::jwks`] were left
    /// out, one line each (empty when every key was usable).
    ///
    /// ```
    /// use portcullis::jwt::KeyRegistry;
    /// let keys = KeyRegistry::hs256("k1", &[7u8; 32]).unwrap();
    /// assert!(keys.skipped_keys().is_empty());
    /// ```
    #[must_use]
    pub fn skipped_keys(&self) -> &[String] {
        &self.inner.skipped
    }

    /// The `kid` of the signing key, if the registry can sign.
    #[must_use]
    pub fn active_kid(&self) -> Option<&str> {
        self.inner.active.map(|i| self.inner.keys[i].kid.as_str())
    }

    /// True if a key can sign (false for verification-only registries).
    #[must_use]
    pub fn can_sign(&self) -> bool {
        self.inner.active.is_some()
    }

    /// The public keys as a JWKS document (`{"keys":[...]}`), for services
    /// that only verify. HMAC keys never appear in it.
    #[must_use]
    pub fn jwks(&self) -> Value {
        self.inner.jwks.clone()
    }

    /// Verify a compact JWS: format, header policy, key and signature — no
    /// claims. For tokens from other issuers whose payload is not a JWT, and
    /// for test vectors. No `crit` extension is accepted here.
    ///
    /// # Errors
    /// The reason the JWS was refused.
    #[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
    pub(crate) fn verify_jws(&self, token: &[u8]) -> Result<Jws, JwtError> {
        self.verify_then(token, &[], |key, payload| {
            Ok(Jws {
                alg: key.alg,
                kid: key.kid.clone(),
                payload: payload.to_vec(),
            })
        })
    }

    pub(crate) fn active(&self) -> Option<&Key> {
        self.inner.active.map(|i| &self.inner.keys[i])
    }

    fn find(&self, kid: Option<&str>) -> Result<&Key, JwtError> {
        let keys = &self.inner.keys;
        match kid {
            Some(kid) => keys
                .iter()
                .find(|k| k.kid == kid)
                .ok_or(JwtError::UnknownKey),
            None if keys.len() == 1 => Ok(&keys[0]),
            None => Err(JwtError::UnknownKey),
        }
    }

    /// The verification core shared by every entry point: verify the
    /// token, then hand the key that verified it and the decoded payload to
    /// `then`. Typical tokens decode into a small stack buffer; larger ones
    /// (up to [`MAX_TOKEN_LEN`](super::MAX_TOKEN_LEN)) into a heap buffer.
    pub(crate) fn verify_then<R>(
        &self,
        token: &[u8],
        allowed_crit: &[String],
        then: impl FnOnce(&Key, &[u8]) -> Result<R, JwtError>,
    ) -> Result<R, JwtError> {
        let seg = jws::split(token)?;
        let room = seg.decode_room();
        if room <= SMALL_DECODE {
            let mut buf = [0u8; SMALL_DECODE];
            let (key, payload) = self.verify_segments(seg, allowed_crit, &mut buf)?;
            then(key, payload)
        } else {
            let mut buf = vec![0u8; room];
            let (key, payload) = self.verify_segments(seg, allowed_crit, &mut buf)?;
            then(key, payload)
        }
    }

    fn verify_segments<'b>(
        &self,
        seg: Segments<'_>,
        allowed_crit: &[String],
        buf: &'b mut [u8],
    ) -> Result<(&Key, &'b [u8]), JwtError> {
        let (hbuf, rest) = buf.split_at_mut(seg.header.len() / 4 * 3 + 3);
        // Fast path: a header byte-identical to one we sign with needs no
        // decoding or parsing (it is valid, and names its key).
        let key = match self
            .inner
            .keys
            .iter()
            .find(|k| k.header_b64.as_bytes() == seg.header)
        {
            Some(k) => k,
            None => {
                let json = jws::decode(seg.header, hbuf)?;
                let header = Header::parse(json)?;
                let alg = header.check(json, allowed_crit)?;
                let key = self.find(header.kid.as_deref())?;
                if alg != key.alg.as_str() {
                    return Err(JwtError::AlgorithmMismatch);
                }
                key
            }
        };
        let (sbuf, pbuf) = rest.split_at_mut(seg.signature.len() / 4 * 3 + 3);
        let sig = jws::decode(seg.signature, sbuf)?;
        let payload = jws::decode(seg.payload, pbuf)?;
        if !key.verify(seg.signing_input, sig) {
            return Err(JwtError::BadSignature);
        }
        Ok((key, payload))
    }
}

impl fmt::Debug for KeyRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for k in &self.inner.keys {
            l.entry(&format_args!("{}:{}(REDACTED)", k.kid, k.alg));
        }
        l.finish()
    }
}

/// Builds a [`KeyRegistry`]. Every method records the first error, which
/// [`build`](Self::build) returns; nothing is checked per request.
#[must_use]
pub struct KeyRegistryBuilder {
    keys: Vec<Key>,
    active: Option<String>,
    error: Option<ConfigError>,
    skipped: Vec<String>,
    thumbprint_kids: bool,
}

impl fmt::Debug for KeyRegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRegistryBuilder")
            .field(
                "keys",
                &self.keys.iter().map(|k| &k.kid).collect::<Vec<_>>(),
            )
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

impl KeyRegistryBuilder {
    fn push(mut self, key: Result<Key, ConfigError>) -> Self {
        match key {
            Ok(k) => self.keys.push(k),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// An HMAC secret (`HS256`/`HS384`/`HS512`) that signs and verifies.
    /// Secrets shorter than the hash size (32/48/64 bytes) are refused.
    ///
    /// ```
    /// use portcullis::jwt::{Algorithm, KeyRegistry};
    /// let err = KeyRegistry::builder().hmac("k", Algorithm::HS512, &[1u8; 32]).build().unwrap_err();
    /// assert!(err.to_string().contains("at least 64 bytes"));
    /// ```
    pub fn hmac(self, kid: impl Into<String>, alg: Algorithm, secret: &[u8]) -> Self {
        let key =
            HmacKey::new(alg, secret).and_then(|h| Key::new(kid.into(), alg, Material::Hmac(h)));
        self.push(key)
    }

    /// A private key in PEM (RSA in PKCS#1 or PKCS#8; EC and Ed25519 in
    /// PKCS#8) that signs and verifies; its public half is published in the
    /// JWKS. The key is tested with a signature when the registry is built.
    ///
    /// ```
    /// use portcullis::jwt::{Algorithm, KeyRegistry};
    /// let pem = b"-----BEGIN PRIVATE KEY-----\n\
    ///     MC4CAQAwBQYDK2VwBCIEIJ4Bx4+kEMx/vvVjXRx1WYSdspSnP4KAwn9hjMy0aAEh\n\
    ///     -----END PRIVATE KEY-----\n";
    /// let keys = KeyRegistry::builder().private_pem("ed-1", Algorithm::EdDSA, pem).build().unwrap();
    /// assert_eq!(keys.jwks()["keys"][0]["crv"], "Ed25519");
    /// ```
    pub fn private_pem(self, kid: impl Into<String>, alg: Algorithm, pem: &[u8]) -> Self {
        let key = from_private_pem(alg, pem).and_then(|m| Key::new(kid.into(), alg, m));
        self.push(key)
    }

    /// A public key in PEM (`PUBLIC KEY` / `RSA PUBLIC KEY`) that only
    /// verifies.
    pub fn public_pem(self, kid: impl Into<String>, alg: Algorithm, pem: &[u8]) -> Self {
        let key = from_public_pem(alg, pem).and_then(|m| Key::new(kid.into(), alg, m));
        self.push(key)
    }

    /// A verification key from a JWK (RFC 7517): a public `RSA`, `EC` or
    /// `OKP` key, or an `oct` HMAC secret. It must carry `kid` and a
    /// supported `alg` consistent with its `kty`/`crv`; `use`, if present,
    /// must be `sig`; `key_ops`, if present, must allow `verify` and nothing
    /// but `sign`/`verify`. Private asymmetric members (`d`, ...) are refused:
    /// load private keys from PEM.
    ///
    /// ```
    /// use portcullis::jwt::KeyRegistry;
    /// let jwk = serde_json::json!({
    ///     "kty": "EC", "crv": "P-256", "kid": "rfc7515-a3", "alg": "ES256",
    ///     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
    /// });
    /// let keys = KeyRegistry::builder().jwk(&jwk).build().unwrap();
    /// assert!(!keys.can_sign());
    /// ```
    pub fn jwk(self, jwk: &Value) -> Self {
        let key = super::jwk::key_from_jwk(jwk);
        self.push(key)
    }

    /// The usable keys of a JWKS document (`{"keys":[...]}`), as identity
    /// providers publish them (Keycloak, Auth0, Entra, Cognito, Google, or
    /// another portcullis service). Unlike [`jwk`](Self::jwk), a key that
    /// cannot verify tokens is skipped with a reason (logged at `warn` by
    /// [`build`](Self::build), listed by [`KeyRegistry::skipped_keys`])
    /// instead of failing the set: an encryption key (`use: enc`), a shared
    /// secret (`oct`) beside public keys, an unknown `kty` or curve, private
    /// members, an unsupported `alg`, a
    /// key without `kid` among several, every key of a `kid` that names
    /// several (ambiguous). A key without `alg` gets the one
    /// its type implies: RSA → RS256, EC P-256 → ES256, P-384 → ES384,
    /// OKP Ed25519 → EdDSA. A set with no usable key fails `build`.
    ///
    /// ```
    /// use portcullis::jwt::KeyRegistry;
    /// let jwks = serde_json::json!({ "keys": [
    ///     { "kty": "EC", "crv": "P-256", "kid": "sig-1", "use": "sig",
    ///       "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///       "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" },
    ///     { "kty": "RSA", "kid": "enc-1", "use": "enc", "n": "AQAB", "e": "AQAB" }
    /// ]});
    /// let keys = KeyRegistry::builder().jwks(&jwks).build().unwrap();
    /// assert_eq!(keys.kids().map(|(kid, alg)| (kid, alg.as_str())).collect::<Vec<_>>(), [("sig-1", "ES256")]);
    /// assert_eq!(keys.skipped_keys().len(), 1);
    /// ```
    pub fn jwks(mut self, jwks: &Value) -> Self {
        match jwks.get("keys").and_then(Value::as_array) {
            Some(keys) => {
                let (usable, skipped) = super::jwk::keys_from_jwks(keys);
                if usable.is_empty() {
                    let why = if skipped.is_empty() {
                        "it is empty".to_owned()
                    } else {
                        skipped.join("; ")
                    };
                    return self.push(Err(ConfigError::Key(format!(
                        "the JWKS has no usable key: {why}"
                    ))));
                }
                self.keys.extend(usable);
                self.skipped.extend(skipped);
                self
            }
            None => self.push(Err(ConfigError::Key(
                "a JWKS must be an object with a \"keys\" array".into(),
            ))),
        }
    }

    /// Name every public/private key pair by its RFC 7638 JWK thumbprint
    /// instead of the `kid` it was added with, so every instance that loads
    /// the same key file names it the same way, and a key's name says which
    /// key it is. HMAC secrets keep their `kid`. [`active`](Self::active)
    /// then takes the thumbprint.
    ///
    /// ```
    /// use portcullis::jwt::{Algorithm, KeyRegistry};
    /// let pem = b"-----BEGIN PRIVATE KEY-----\n\
    ///     MC4CAQAwBQYDK2VwBCIEIJ4Bx4+kEMx/vvVjXRx1WYSdspSnP4KAwn9hjMy0aAEh\n\
    ///     -----END PRIVATE KEY-----\n";
    /// let keys = KeyRegistry::builder()
    ///     .private_pem("placeholder", Algorithm::EdDSA, pem)
    ///     .thumbprint_kids()
    ///     .build()
    ///     .unwrap();
    /// let kid = keys.active_kid().unwrap();
    /// assert_eq!(kid.len(), 43); // base64url of a SHA-256
    /// assert_eq!(keys.jwks()["keys"][0]["kid"], kid);
    /// ```
    pub fn thumbprint_kids(mut self) -> Self {
        self.thumbprint_kids = true;
        self
    }

    /// Which key signs. Default: the first key added that can sign.
    pub fn active(mut self, kid: impl Into<String>) -> Self {
        self.active = Some(kid.into());
        self
    }

    /// Check and freeze the registry.
    ///
    /// # Errors
    /// [`ConfigError::Key`] for any invalid key, an empty registry, a
    /// duplicate `kid`, HMAC mixed with public keys, an unknown active `kid`,
    /// an active key that cannot sign, or a private key failing its
    /// sign-and-verify self-test.
    pub fn build(self) -> Result<KeyRegistry, ConfigError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut keys = self.keys;
        if self.thumbprint_kids {
            keys = keys
                .into_iter()
                .map(|k| match k.thumbprint() {
                    Some(kid) => Key::new(kid, k.alg, k.material),
                    None => Ok(k),
                })
                .collect::<Result<_, _>>()?;
        }
        if keys.is_empty() {
            return Err(ConfigError::Key("the key registry is empty".into()));
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(ConfigError::Key(format!("duplicate kid `{}`", k.kid)));
            }
        }
        let hmac = keys.iter().filter(|k| k.alg.is_hmac()).count();
        if hmac != 0 && hmac != keys.len() {
            return Err(ConfigError::Key(
                "a registry holds either HMAC secrets or public keys, not both".into(),
            ));
        }
        let active = match &self.active {
            Some(kid) => {
                let i = keys.iter().position(|k| &k.kid == kid).ok_or_else(|| {
                    ConfigError::Key(format!("active kid `{kid}` is not registered"))
                })?;
                if !keys[i].can_sign() {
                    return Err(ConfigError::Key(format!(
                        "active kid `{kid}` has no private key"
                    )));
                }
                Some(i)
            }
            None => keys.iter().position(Key::can_sign),
        };
        for k in keys.iter().filter(|k| k.can_sign() && !k.alg.is_hmac()) {
            let msg = b"portcullis key self-test";
            let ok = k.sign(msg).is_ok_and(|sig| k.verify(msg, &sig));
            if !ok {
                return Err(ConfigError::Key(format!(
                    "key `{}` failed its {} sign-and-verify self-test",
                    k.kid, k.alg
                )));
            }
        }
        let jwks = json!({ "keys": keys.iter().filter_map(Key::public_jwk).collect::<Vec<_>>() });
        for reason in &self.skipped {
            tracing::warn!(%reason, "JWKS key skipped");
        }
        Ok(KeyRegistry {
            inner: Arc::new(RegistryInner {
                keys,
                active,
                jwks,
                skipped: self.skipped,
            }),
        })
    }
}
