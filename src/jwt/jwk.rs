//! Importing verification keys from JWKs (RFC 7517): one key strictly, a
//! published set tolerantly.

use serde_json::{Map, Value};

use super::algorithm::{Algorithm, Family};
use super::hmac::HmacKey;
use super::material::{ec_material, ed_material, rsa_material, Key, Material};
use crate::error::ConfigError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// Private members of asymmetric JWKs (RFC 7518 §6.2.2, §6.3.2, RFC 8037).
const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth"];

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError::Key(msg.into())
}

fn str_member<'a>(m: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ConfigError> {
    match m.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(err(format!("JWK member `{name}` must be a string"))),
    }
}

fn required<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, ConfigError> {
    str_member(m, name)?.ok_or_else(|| err(format!("JWK member `{name}` is missing")))
}

fn b64_member(m: &Map<String, Value>, name: &str) -> Result<Vec<u8>, ConfigError> {
    URL_SAFE_NO_PAD
        .decode(required(m, name)?)
        .map_err(|_| err(format!("JWK member `{name}` is not canonical base64url")))
}

/// Build a verification key from one JWK.
pub(crate) fn key_from_jwk(jwk: &Value) -> Result<Key, ConfigError> {
    let m = jwk
        .as_object()
        .ok_or_else(|| err("a JWK must be a JSON object"))?;
    let kty = required(m, "kty")?;
    let kid = required(m, "kid")?.to_owned();
    let alg_name = required(m, "alg")?;
    let alg = Algorithm::from_name(alg_name).ok_or_else(|| {
        err(format!(
            "JWK alg `{alg_name}` is not a supported signature algorithm"
        ))
    })?;

    if let Some(u) = str_member(m, "use")? {
        if u != "sig" {
            return Err(err(format!("JWK `use` is `{u}`, not `sig`")));
        }
    }
    if let Some(ops) = m.get("key_ops") {
        let ops = ops
            .as_array()
            .ok_or_else(|| err("JWK `key_ops` must be an array"))?;
        let mut verify = false;
        for op in ops {
            match op.as_str() {
                Some("verify") => verify = true,
                Some("sign") => {}
                _ => return Err(err("JWK `key_ops` allows more than sign/verify")),
            }
        }
        if !verify {
            return Err(err("JWK `key_ops` does not allow `verify`"));
        }
    }

    let family = alg.family();
    let expected_kty = match family {
        Family::Hmac => "oct",
        Family::Rsa => "RSA",
        Family::Ec => "EC",
        Family::Ed => "OKP",
    };
    if kty != expected_kty {
        return Err(err(format!("JWK kty `{kty}` does not fit alg {alg}")));
    }
    if family != Family::Hmac && PRIVATE.iter().any(|p| m.contains_key(*p)) {
        return Err(err(
            "JWK holds private key material; pass the public key (load private keys from PEM)",
        ));
    }

    let material = match family {
        Family::Hmac => Material::Hmac(HmacKey::new(alg, &b64_member(m, "k")?)?),
        Family::Rsa => rsa_material(&b64_member(m, "n")?, &b64_member(m, "e")?, None)?,
        Family::Ec => {
            let crv = required(m, "crv")?;
            let want = if alg == Algorithm::ES256 {
                "P-256"
            } else {
                "P-384"
            };
            if crv != want {
                return Err(err(format!("JWK crv `{crv}` does not fit alg {alg}")));
            }
            let (x, y) = (b64_member(m, "x")?, b64_member(m, "y")?);
            let mut point = Vec::with_capacity(1 + x.len() + y.len());
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            if x.len() != y.len() {
                return Err(err("JWK x and y differ in length"));
            }
            ec_material(alg, &point, None)?
        }
        Family::Ed => {
            let crv = required(m, "crv")?;
            if crv != "Ed25519" {
                return Err(err(format!(
                    "JWK crv `{crv}` is not supported (Ed25519 only)"
                )));
            }
            ed_material(&b64_member(m, "x")?, None)?
        }
    };
    Key::new(kid, alg, material)
}

/// The algorithm a key without `alg` implies by its type and curve (RFC
/// 7518 leaves it to the application; these are what identity providers
/// mean). `None` for an HMAC secret: a shared secret never travels in a
/// published set.
fn implied_alg(m: &Map<String, Value>) -> Option<&'static str> {
    match (
        m.get("kty").and_then(Value::as_str),
        m.get("crv").and_then(Value::as_str),
    ) {
        (Some("RSA"), _) => Some("RS256"),
        (Some("EC"), Some("P-256")) => Some("ES256"),
        (Some("EC"), Some("P-384")) => Some("ES384"),
        (Some("OKP"), Some("Ed25519")) => Some("EdDSA"),
        _ => None,
    }
}

/// The usable keys of a JWKS's `keys` array, tolerantly, as identity
/// providers publish them: a key that cannot verify our tokens (an
/// encryption key, a shared secret beside public keys, an unknown type or
/// curve, private material, a missing
/// `kid` among several keys, a `kid` that names several keys, anything
/// the strict import refuses) is
/// skipped with a reason instead of failing the set; a key without `alg`
/// gets the one its type implies. Each key still has exactly one
/// algorithm, and a token's `alg` must match it.
pub(crate) fn keys_from_jwks(keys: &[Value]) -> (Vec<Key>, Vec<String>) {
    let mut usable = Vec::new();
    let mut skipped = Vec::new();
    let kid_of = |jwk: &Value| jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
    let kids: Vec<Option<String>> = keys.iter().map(kid_of).collect();
    let kty = |jwk: &Value| jwk.get("kty").and_then(Value::as_str).map(str::to_owned);
    // A set with public keys is a published one: a secret in it is nobody's
    // secret (and a registry never mixes the two).
    let published = keys
        .iter()
        .any(|k| matches!(kty(k).as_deref(), Some("RSA" | "EC" | "OKP")));
    for (i, jwk) in keys.iter().enumerate() {
        let Some(m) = jwk.as_object() else {
            skipped.push(format!("key {i}: not a JSON object"));
            continue;
        };
        let name = match m.get("kid").and_then(Value::as_str) {
            Some(kid) => format!("key {i} (kid `{kid}`)"),
            None => format!("key {i}"),
        };
        // Which of two keys under one `kid` would the issuer mean? Neither
        // is trusted, even when the other is unusable anyway.
        if kids[i].is_some() && kids.iter().filter(|k| **k == kids[i]).count() > 1 {
            skipped.push(format!("{name}: its `kid` names several keys of the set"));
            continue;
        }
        if published && kty(jwk).as_deref() == Some("oct") {
            skipped.push(format!(
                "{name}: a shared secret (`oct`) in a published key set"
            ));
            continue;
        }
        let mut m = m.clone();
        if !m.contains_key("kid") {
            if keys.len() > 1 {
                skipped.push(format!("{name}: no `kid`, and the set has several keys"));
                continue;
            }
            // The set's only key: tokens without a `kid` select it.
            m.insert("kid".into(), Value::String("jwks-0".into()));
        }
        if !m.contains_key("alg") {
            match implied_alg(&m) {
                Some(alg) => {
                    m.insert("alg".into(), Value::String(alg.into()));
                }
                None => {
                    let member =
                        |n: &str| m.get(n).and_then(Value::as_str).unwrap_or("-").to_owned();
                    skipped.push(format!(
                        "{name}: no `alg`, and kty `{}` crv `{}` imply none we verify",
                        member("kty"),
                        member("crv")
                    ));
                    continue;
                }
            }
        }
        match key_from_jwk(&Value::Object(m)) {
            Ok(key) => usable.push(key),
            Err(e) => skipped.push(format!("{name}: {e}")),
        }
    }
    (usable, skipped)
}
