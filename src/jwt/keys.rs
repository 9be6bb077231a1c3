//! The key registry: `kid` -> (key, algorithm), one active signing key,
//! several verification keys, and the public JWKS.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::EllipticCurve;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{json, Map, Value};
use sha2::{Sha256, Sha384, Sha512};

use super::algorithm::{Algorithm, Family};
use super::backend::PROVIDER;
use super::error::JwtError;
use super::jws::{self, Header, Segments, MAX_KID_LEN, SMALL_DECODE};
use crate::error::ConfigError;

/// A pre-keyed HMAC state: cloning it skips the key schedule per token.
#[derive(Clone)]
pub(crate) enum HmacKey {
    S256(Hmac<Sha256>),
    S384(Hmac<Sha384>),
    S512(Hmac<Sha512>),
}

impl HmacKey {
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
        let bad = |_| ConfigError::Key("bad HMAC key".into());
        Ok(match alg {
            Algorithm::HS256 => HmacKey::S256(Hmac::new_from_slice(secret).map_err(bad)?),
            Algorithm::HS384 => HmacKey::S384(Hmac::new_from_slice(secret).map_err(bad)?),
            _ => HmacKey::S512(Hmac::new_from_slice(secret).map_err(bad)?),
        })
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            HmacKey::S256(m) => m.clone().chain_update(msg).finalize().into_bytes().to_vec(),
            HmacKey::S384(m) => m.clone().chain_update(msg).finalize().into_bytes().to_vec(),
            HmacKey::S512(m) => m.clone().chain_update(msg).finalize().into_bytes().to_vec(),
        }
    }

    /// Constant-time comparison; a tag of the wrong length fails.
    fn verify(&self, msg: &[u8], tag: &[u8]) -> bool {
        match self {
            HmacKey::S256(m) => m.clone().chain_update(msg).verify_slice(tag).is_ok(),
            HmacKey::S384(m) => m.clone().chain_update(msg).verify_slice(tag).is_ok(),
            HmacKey::S512(m) => m.clone().chain_update(msg).verify_slice(tag).is_ok(),
        }
    }
}

// Few, long-lived values: keeping the pre-keyed HMAC state inline saves an
// indirection on the hot path, so the size difference is deliberate.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Material {
    Hmac(HmacKey),
    Asymmetric {
        verify: DecodingKey,
        sign: Option<EncodingKey>,
        /// The public JWK members (`kty`, `n`/`e`, `crv`/`x`/`y`).
        public: Map<String, Value>,
    },
}

/// One registered key.
pub(crate) struct Key {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    /// base64url of `{"alg":..,"typ":"JWT","kid":..}`: the header we sign
    /// with, and the verifier's fast path (a token carrying exactly these
    /// bytes needs no header parsing).
    pub(crate) header_b64: String,
    pub(crate) material: Material,
}

impl Key {
    pub(crate) fn new(
        kid: String,
        alg: Algorithm,
        material: Material,
    ) -> Result<Self, ConfigError> {
        if kid.is_empty() || kid.len() > MAX_KID_LEN {
            return Err(ConfigError::Key(format!(
                "a kid must be 1 to {MAX_KID_LEN} bytes long"
            )));
        }
        let header = json!({ "alg": alg.as_str(), "typ": "JWT", "kid": kid });
        let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
        Ok(Key {
            kid,
            alg,
            header_b64,
            material,
        })
    }

    pub(crate) fn can_sign(&self) -> bool {
        match &self.material {
            Material::Hmac(_) => true,
            Material::Asymmetric { sign, .. } => sign.is_some(),
        }
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, JwtError> {
        match &self.material {
            Material::Hmac(h) => Ok(h.sign(msg)),
            Material::Asymmetric { sign: Some(ek), .. } => {
                let signer = (PROVIDER.signer_factory)(&self.alg.to_jwt(), ek)
                    .map_err(|_| JwtError::Signing)?;
                signer.try_sign(msg).map_err(|_| JwtError::Signing)
            }
            Material::Asymmetric { sign: None, .. } => Err(JwtError::NoSigningKey),
        }
    }

    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Hmac(h) => h.verify(msg, sig),
            Material::Asymmetric { verify, .. } => {
                match (PROVIDER.verifier_factory)(&self.alg.to_jwt(), verify) {
                    Ok(v) => v.verify(msg, &sig.to_vec()).is_ok(),
                    Err(_) => false,
                }
            }
        }
    }

    fn public_jwk(&self) -> Option<Value> {
        match &self.material {
            Material::Hmac(_) => None,
            Material::Asymmetric { public, .. } => {
                let mut m = public.clone();
                m.insert("kid".into(), Value::String(self.kid.clone()));
                m.insert("alg".into(), Value::String(self.alg.as_str().into()));
                m.insert("use".into(), Value::String("sig".into()));
                Some(Value::Object(m))
            }
        }
    }
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(URL_SAFE_NO_PAD.encode(bytes))
}

fn key_err(what: &str) -> impl FnOnce(jsonwebtoken::errors::Error) -> ConfigError + '_ {
    move |_| ConfigError::Key(format!("cannot load {what}"))
}

/// Strip leading zero bytes of a big-endian integer.
fn trim_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

/// Smallest RSA modulus accepted (NIST SP 800-57, and AWS-LC's own floor).
pub(crate) const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (bounds verification cost).
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// Check an RSA public key: 2048..=8192 bits, odd exponent 3 <= e < 2^32,
/// and not a ROCA-vulnerable modulus (CVE-2017-15361).
pub(crate) fn check_rsa(n: &[u8], e: &[u8]) -> Result<(Vec<u8>, Vec<u8>), ConfigError> {
    let n = trim_zeros(n);
    let e = trim_zeros(e);
    // An empty modulus is 0 bits (not an underflow): refused below.
    let bits = (n.len() * 8).saturating_sub(n.first().map_or(0, |b| b.leading_zeros() as usize));
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(ConfigError::Key(format!(
            "RSA modulus must be {MIN_RSA_BITS} to {MAX_RSA_BITS} bits (got {bits})"
        )));
    }
    let e_val = if e.len() <= 4 {
        e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    } else {
        0
    };
    if e_val < 3 || e_val % 2 == 0 {
        return Err(ConfigError::Key(
            "RSA public exponent must be odd, at least 3 and below 2^32".into(),
        ));
    }
    if roca_fingerprint(n) {
        return Err(ConfigError::Key(
            "RSA modulus has the ROCA fingerprint (CVE-2017-15361); regenerate the key".into(),
        ));
    }
    Ok((n.to_vec(), e.to_vec()))
}

/// The ROCA test (Nemec et al., CCS 2017): keys from the flawed generator
/// have `n mod p` inside the subgroup generated by 65537 for every one of
/// these small primes; random moduli almost never do.
fn roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let r = n
            .iter()
            .fold(0u32, |acc, &b| (acc * 256 + u32::from(b)) % p);
        let g = 65_537 % p;
        let mut x = 1;
        loop {
            if x == r {
                return true;
            }
            x = x * g % p;
            if x == 1 {
                return false;
            }
        }
    })
}

pub(crate) fn rsa_material(
    n: &[u8],
    e: &[u8],
    sign: Option<EncodingKey>,
) -> Result<Material, ConfigError> {
    let (n, e) = check_rsa(n, e)?;
    let mut public = Map::new();
    public.insert("kty".into(), "RSA".into());
    public.insert("n".into(), b64(&n));
    public.insert("e".into(), b64(&e));
    Ok(Material::Asymmetric {
        verify: DecodingKey::from_rsa_raw_components(&n, &e),
        sign,
        public,
    })
}

pub(crate) fn ec_material(
    alg: Algorithm,
    point: &[u8],
    sign: Option<EncodingKey>,
) -> Result<Material, ConfigError> {
    let (crv, len) = match alg {
        Algorithm::ES256 => ("P-256", 32),
        Algorithm::ES384 => ("P-384", 48),
        _ => return Err(ConfigError::Key(format!("{alg} is not an ECDSA algorithm"))),
    };
    if point.len() != 1 + 2 * len || point[0] != 4 {
        return Err(ConfigError::Key(format!(
            "{alg} needs an uncompressed {crv} public key"
        )));
    }
    let mut public = Map::new();
    public.insert("kty".into(), "EC".into());
    public.insert("crv".into(), crv.into());
    public.insert("x".into(), b64(&point[1..=len]));
    public.insert("y".into(), b64(&point[1 + len..]));
    Ok(Material::Asymmetric {
        verify: DecodingKey::from_ec_der(point),
        sign,
        public,
    })
}

pub(crate) fn ed_material(x: &[u8], sign: Option<EncodingKey>) -> Result<Material, ConfigError> {
    if x.len() != 32 {
        return Err(ConfigError::Key("EdDSA needs an Ed25519 public key".into()));
    }
    let mut public = Map::new();
    public.insert("kty".into(), "OKP".into());
    public.insert("crv".into(), "Ed25519".into());
    public.insert("x".into(), b64(x));
    Ok(Material::Asymmetric {
        verify: DecodingKey::from_ed_der(x),
        sign,
        public,
    })
}

fn from_private_pem(alg: Algorithm, pem: &[u8]) -> Result<Material, ConfigError> {
    let utils = &PROVIDER.key_utils;
    match alg.family() {
        Family::Hmac => Err(ConfigError::Key(format!(
            "{alg} uses a shared secret, not a PEM key"
        ))),
        Family::Rsa => {
            let ek = EncodingKey::from_rsa_pem(pem).map_err(key_err("the RSA private key"))?;
            let (n, e) = (utils.rsa_pub_components_from_private_key)(ek.as_bytes())
                .map_err(key_err("the RSA private key"))?;
            rsa_material(&n, &e, Some(ek))
        }
        Family::Ec => {
            let ek =
                EncodingKey::from_ec_pem(pem).map_err(key_err("the EC private key (PKCS#8)"))?;
            let (_, x, y) = (utils.ec_pub_components_from_private_key)(ek.as_bytes(), alg.to_jwt())
                .map_err(key_err("the EC private key for this curve"))?;
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            ec_material(alg, &point, Some(ek))
        }
        Family::Ed => {
            let ek = EncodingKey::from_ed_pem(pem).map_err(key_err("the Ed25519 private key"))?;
            let x =
                (utils.ed_pub_components_from_private_key)(ek.as_bytes(), &EllipticCurve::Ed25519)
                    .map_err(key_err("the Ed25519 private key"))?;
            ed_material(&x, Some(ek))
        }
    }
}

fn from_public_pem(alg: Algorithm, pem: &[u8]) -> Result<Material, ConfigError> {
    match alg.family() {
        Family::Hmac => Err(ConfigError::Key(format!(
            "{alg} uses a shared secret, not a PEM key"
        ))),
        Family::Rsa => {
            let dk = DecodingKey::from_rsa_pem(pem).map_err(key_err("the RSA public key"))?;
            let der = dk
                .try_get_as_bytes()
                .map_err(key_err("the RSA public key"))?;
            let (n, e) = (PROVIDER.key_utils.rsa_pub_components_from_public_key)(der)
                .map_err(key_err("the RSA public key"))?;
            rsa_material(&n, &e, None)
        }
        Family::Ec => {
            let dk = DecodingKey::from_ec_pem(pem).map_err(key_err("the EC public key"))?;
            let point = dk
                .try_get_as_bytes()
                .map_err(key_err("the EC public key"))?;
            ec_material(alg, point, None)
        }
        Family::Ed => {
            let dk = DecodingKey::from_ed_pem(pem).map_err(key_err("the Ed25519 public key"))?;
            let x = dk
                .try_get_as_bytes()
                .map_err(key_err("the Ed25519 public key"))?;
            ed_material(x, None)
        }
    }
}

/// A verified JWS (signature and header checked; no claim checked).
///
/// `Debug` shows the payload's length only.
///
/// ```
/// use portcullis::jwt::KeyRegistry;
/// let keys = KeyRegistry::hs256("k1", &[7u8; 32]).unwrap();
/// assert!(keys.verify_jws(b"eyJhbGciOiJub25lIn0.e30.").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Jws {
    /// The algorithm (that of the key that verified it).
    pub alg: Algorithm,
    /// The `kid` of the key that verified it.
    pub kid: String,
    /// The decoded payload.
    pub payload: Vec<u8>,
}

impl fmt::Debug for Jws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jws")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("payload", &format_args!("[{} bytes]", self.payload.len()))
            .finish()
    }
}

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
///   unknown `kid`, or one longer than [`MAX_KID_LEN`](super::MAX_KID_LEN),
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
}

impl KeyRegistry {
    /// Start a registry.
    pub fn builder() -> KeyRegistryBuilder {
        KeyRegistryBuilder {
            keys: Vec::new(),
            active: None,
            error: None,
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
    pub fn verify_jws(&self, token: &[u8]) -> Result<Jws, JwtError> {
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

    /// Every key of a JWKS document (`{"keys":[...]}`), as with
    /// [`jwk`](Self::jwk).
    pub fn jwks(mut self, jwks: &Value) -> Self {
        match jwks.get("keys").and_then(Value::as_array) {
            Some(keys) => {
                for k in keys {
                    self = self.jwk(k);
                }
                self
            }
            None => self.push(Err(ConfigError::Key(
                "a JWKS must be an object with a \"keys\" array".into(),
            ))),
        }
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
        let keys = self.keys;
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
        Ok(KeyRegistry {
            inner: Arc::new(RegistryInner { keys, active, jwks }),
        })
    }
}
