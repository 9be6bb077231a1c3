//! The demos' JWT signing keys and what they publish: `JWT_ALG`,
//! `JWT_SECRET`, `JWT_PREVIOUS_SECRETS`, `JWT_PRIVATE_KEY_FILE`,
//! `JWT_PREVIOUS_KEY_FILES`, `JWT_ISSUER`, `JWT_AUDIENCE`, `PUBLIC_URL`, and
//! the bodies of `/.well-known/jwks.json` and
//! `/.well-known/openid-configuration`.

use base64::Engine as _;
use portcullis::jwt::{Algorithm, KeyRegistry};
use portcullis::Authenticator;
use sha2::Digest as _;

/// `Cache-Control` of the two `/.well-known/` documents: public (they hold
/// no secret) and short (5 minutes, well under the 15-minute token
/// lifetime, so a new key reaches verifiers before its tokens are common).
pub const WELL_KNOWN_CACHE_CONTROL: &str = "public, max-age=300";

/// How the demo signs its tokens.
#[derive(Clone)]
pub struct JwtSettings {
    pub alg: Algorithm,
    /// HS256: `JWT_SECRET` (random per process when unset) and
    /// `JWT_PREVIOUS_SECRETS`.
    pub secret: Option<Vec<u8>>,
    pub previous_secrets: Vec<Vec<u8>>,
    /// Asymmetric: the PEM of `JWT_PRIVATE_KEY_FILE` (generated at start
    /// when unset) and of each `JWT_PREVIOUS_KEY_FILES` entry.
    pub private_key: Option<Vec<u8>>,
    pub previous_keys: Vec<Vec<u8>>,
    pub issuer: String,
    pub audience: String,
    /// `PUBLIC_URL` (default `http://127.0.0.1:PORT`).
    pub public_url: String,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("alg", &self.alg)
            .field("secret", &self.secret.as_ref().map(|_| "REDACTED"))
            .field("previous_secrets", &self.previous_secrets.len())
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "REDACTED"),
            )
            .field("previous_keys", &self.previous_keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("public_url", &self.public_url)
            .finish()
    }
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read_pem(var: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{var}: cannot read {path}: {e}"))
}

impl JwtSettings {
    /// Read the settings through `get`; `port` is the listening port (for
    /// the default `PUBLIC_URL`).
    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>, port: u16) -> Result<Self, String> {
        let alg = match get("JWT_ALG").as_deref().map(str::trim) {
            None | Some("" | "HS256") => Algorithm::HS256,
            Some("ES256") => Algorithm::ES256,
            Some("EdDSA") => Algorithm::EdDSA,
            Some("RS256") => Algorithm::RS256,
            Some(other) => {
                return Err(format!(
                    "JWT_ALG must be HS256, ES256, EdDSA or RS256, got {other:?}"
                ))
            }
        };
        let secret = get("JWT_SECRET").filter(|s| !s.is_empty());
        let previous_secrets = list(get("JWT_PREVIOUS_SECRETS"));
        let private_file = get("JWT_PRIVATE_KEY_FILE").filter(|s| !s.is_empty());
        let previous_files = list(get("JWT_PREVIOUS_KEY_FILES"));
        if alg == Algorithm::HS256 {
            if private_file.is_some() || !previous_files.is_empty() {
                return Err(
                    "JWT_PRIVATE_KEY_FILE and JWT_PREVIOUS_KEY_FILES need an asymmetric JWT_ALG (ES256, EdDSA or RS256)"
                        .into(),
                );
            }
        } else if secret.is_some() || !previous_secrets.is_empty() {
            return Err(format!(
                "JWT_SECRET and JWT_PREVIOUS_SECRETS are HS256 settings: with JWT_ALG={alg} the key is JWT_PRIVATE_KEY_FILE"
            ));
        }
        for (name, s) in secret
            .iter()
            .map(|s| ("JWT_SECRET", s))
            .chain(previous_secrets.iter().map(|s| ("JWT_PREVIOUS_SECRETS", s)))
        {
            if s.len() < 32 {
                return Err(format!("{name}: each secret must be at least 32 bytes"));
            }
        }
        let private_key = match &private_file {
            Some(path) => Some(read_pem("JWT_PRIVATE_KEY_FILE", path)?),
            None => None,
        };
        let previous_keys = previous_files
            .iter()
            .map(|p| read_pem("JWT_PREVIOUS_KEY_FILES", p))
            .collect::<Result<_, _>>()?;
        let public_url = get("PUBLIC_URL")
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err("PUBLIC_URL must be an http:// or https:// URL".into());
        }
        let text = |name: &str| {
            get(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "portcullis-demo".into())
        };
        Ok(JwtSettings {
            alg,
            secret: secret.map(String::into_bytes),
            previous_secrets: previous_secrets
                .into_iter()
                .map(String::into_bytes)
                .collect(),
            private_key,
            previous_keys,
            issuer: text("JWT_ISSUER"),
            audience: text("JWT_AUDIENCE"),
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The signing key first (it signs), then the previous ones (they only
    /// verify, and stay published).
    pub fn registry(&self) -> Result<KeyRegistry, String> {
        let mut b = KeyRegistry::builder();
        if self.alg == Algorithm::HS256 {
            let secret = match &self.secret {
                Some(s) => s.clone(),
                None => {
                    let mut s = vec![0u8; 32];
                    getrandom::fill(&mut s).map_err(|e| e.to_string())?;
                    s
                }
            };
            for s in std::iter::once(&secret).chain(&self.previous_secrets) {
                b = b.hmac(secret_kid(s), Algorithm::HS256, s);
            }
        } else {
            let current = match &self.private_key {
                Some(pem) => pem.clone(),
                None => generate(self.alg)?,
            };
            b = b.private_pem("current", self.alg, &current);
            for (i, pem) in self.previous_keys.iter().enumerate() {
                let (alg, private) = key_kind(pem).ok_or_else(|| {
                    format!(
                        "JWT_PREVIOUS_KEY_FILES entry {} is not a usable PEM key",
                        i + 1
                    )
                })?;
                b = if private {
                    b.private_pem(format!("previous-{i}"), alg, pem)
                } else {
                    b.public_pem(format!("previous-{i}"), alg, pem)
                };
            }
            // Names every instance with the same files agrees on (RFC 7638).
            b = b.thumbprint_kids();
        }
        b.build().map_err(|e| format!("JWT keys: {e}"))
    }
}

/// The `kid` of an HS256 secret: a hash of it, so that every instance with
/// the same secret names it the same way, and a previous secret keeps the
/// name its tokens carry.
fn secret_kid(secret: &[u8]) -> String {
    let digest = sha2::Sha256::digest([b"portcullis-demo-kid:".as_slice(), secret].concat());
    format!("hs-{}", hex(&digest[..8]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The algorithm a PEM key fits, and whether it is private.
fn key_kind(pem: &[u8]) -> Option<(Algorithm, bool)> {
    let private = String::from_utf8_lossy(pem).contains("PRIVATE KEY");
    [
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::RS256,
        Algorithm::ES384,
    ]
    .into_iter()
    .find(|&alg| {
        let b = KeyRegistry::builder();
        let b = if private {
            b.private_pem("probe", alg, pem)
        } else {
            b.public_pem("probe", alg, pem)
        };
        b.build().is_ok()
    })
    .map(|alg| (alg, private))
}

/// A fresh private key for `alg`, as PKCS#8 PEM.
fn generate(alg: Algorithm) -> Result<Vec<u8>, String> {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let fail = |_| format!("cannot generate a {alg} key");
    let der: Vec<u8> = match alg {
        Algorithm::ES256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(fail)?
                .as_ref()
                .to_vec()
        }
        Algorithm::EdDSA => Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(fail)?
            .as_ref()
            .to_vec(),
        _ => aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(fail)?
            .as_der()
            .map_err(fail)?
            .as_ref()
            .to_vec(),
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok(pem.into_bytes())
}

/// The bodies of the two `/.well-known/` routes (the keys never change
/// while the process runs, so they are made once).
#[derive(Debug)]
pub struct WellKnown {
    pub jwks: String,
    pub openid_configuration: String,
}

impl WellKnown {
    pub fn new(auth: &Authenticator, public_url: &str) -> WellKnown {
        let jwks_uri = format!("{public_url}/.well-known/jwks.json");
        match auth.tokens() {
            Some(tokens) => WellKnown {
                jwks: tokens.jwks().to_string(),
                openid_configuration: tokens
                    .openid_configuration(&jwks_uri)
                    .unwrap_or_default()
                    .to_string(),
            },
            None => WellKnown {
                jwks: r#"{"keys":[]}"#.into(),
                openid_configuration: "{}".into(),
            },
        }
    }
}
