//! Key material: HMAC keys (see `hmac`), public/private keys from PEM, the RSA sanity
//! checks, and the per-algorithm signing and verifying of one key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::EllipticCurve;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::algorithm::{Algorithm, Family};
use super::backend::PROVIDER;
use super::error::JwtError;
use super::hmac::HmacKey;
use super::jws::MAX_KID_LEN;
use crate::error::ConfigError;

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

    pub(crate) fn public_jwk(&self) -> Option<Value> {
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

impl Key {
    /// The RFC 7638 JWK thumbprint (SHA-256) of a public key: its required
    /// members in lexicographic order, no whitespace, hashed, base64url.
    /// `None` for an HMAC secret.
    pub(crate) fn thumbprint(&self) -> Option<String> {
        use sha2::Digest as _;
        let Material::Asymmetric { public, .. } = &self.material else {
            return None;
        };
        let kty = public.get("kty")?.as_str()?;
        let members: &[&str] = match kty {
            "RSA" => &["e", "kty", "n"],
            "EC" => &["crv", "kty", "x", "y"],
            _ => &["crv", "kty", "x"],
        };
        let mut canonical = Map::new();
        for m in members {
            canonical.insert((*m).to_owned(), public.get(*m)?.clone());
        }
        // serde_json's map is ordered by key, and `to_string` is compact.
        let digest = Sha256::digest(Value::Object(canonical).to_string().as_bytes());
        Some(URL_SAFE_NO_PAD.encode(digest))
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

pub(crate) fn from_private_pem(alg: Algorithm, pem: &[u8]) -> Result<Material, ConfigError> {
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

pub(crate) fn from_public_pem(alg: Algorithm, pem: &[u8]) -> Result<Material, ConfigError> {
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
