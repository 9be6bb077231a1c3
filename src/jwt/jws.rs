//! JWS compact serialization: size cap, segment split, canonical base64url,
//! and the protected header with our policy on `alg`, `typ`, `crit`, `cty`
//! and `b64`.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use super::algorithm::Algorithm;
use super::error::JwtError;
use super::json::{is_object, set_once, Str};

/// The longest raw token accepted (8 KiB), checked before any decoding.
pub const MAX_TOKEN_LEN: usize = 8192;

/// The longest `kid` accepted, in bytes (in a token header or in a key).
pub const MAX_KID_LEN: usize = 256;

/// Decoded bytes that fit the stack buffer; larger tokens (rare) decode
/// into a heap buffer instead.
pub(crate) const SMALL_DECODE: usize = 1024;

/// The three segments of a compact JWS, still encoded.
#[derive(Clone, Copy)]
pub(crate) struct Segments<'t> {
    pub(crate) header: &'t [u8],
    pub(crate) payload: &'t [u8],
    pub(crate) signature: &'t [u8],
    /// `header '.' payload`: what the signature covers.
    pub(crate) signing_input: &'t [u8],
}

impl Segments<'_> {
    /// Buffer space for decoding all three segments (the decoder wants
    /// room for its conservative estimate of each).
    pub(crate) fn decode_room(&self) -> usize {
        [self.header, self.payload, self.signature]
            .iter()
            .map(|s| s.len() / 4 * 3 + 3)
            .sum()
    }
}

/// Split a compact JWS: at most [`MAX_TOKEN_LEN`] bytes, a non-empty header
/// before the first dot, a non-empty signature after the last dot, and a
/// second dot somewhere. The payload may be empty (a JWS may sign nothing;
/// a JWT then fails on its claims).
///
/// Characters are not checked here: every segment is base64url-decoded
/// later (or, for a header, compared byte for byte with one we produced),
/// and the decoder refuses anything outside the alphabet, including a
/// third dot inside the payload. Only the two ends of the token are
/// scanned.
pub(crate) fn split(token: &[u8]) -> Result<Segments<'_>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLarge);
    }
    let first = token
        .iter()
        .position(|&b| b == b'.')
        .ok_or(JwtError::Malformed)?;
    let last = token
        .iter()
        .rposition(|&b| b == b'.')
        .ok_or(JwtError::Malformed)?;
    if first == 0 || last == first || last + 1 == token.len() {
        return Err(JwtError::Malformed);
    }
    Ok(Segments {
        header: &token[..first],
        payload: &token[first + 1..last],
        signature: &token[last + 1..],
        signing_input: &token[..last],
    })
}

/// Decode one segment into the front of `out`; refuses padding, characters
/// outside the alphabet, impossible lengths and non-zero trailing bits (so
/// every byte string has exactly one accepted encoding).
pub(crate) fn decode<'b>(segment: &[u8], out: &'b mut [u8]) -> Result<&'b [u8], JwtError> {
    crate::base64url::decode_into(segment, out).ok_or(JwtError::Malformed)
}

/// The protected header members we act on. Everything else is ignored
/// (in particular `jwk`, `jku`, `x5u`, `x5c`: keys are never taken from a
/// token).
#[derive(Debug, Default)]
pub(crate) struct Header<'de> {
    pub(crate) alg: Option<Str<'de>>,
    pub(crate) kid: Option<Str<'de>>,
    pub(crate) typ: Option<Str<'de>>,
    pub(crate) cty: Option<Str<'de>>,
    pub(crate) crit: Option<Vec<Str<'de>>>,
    pub(crate) b64: Option<bool>,
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut h = Header::default();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match &*key {
                "alg" => set_once(&mut h.alg, map.next_value()?, "alg")?,
                "kid" => set_once(&mut h.kid, map.next_value()?, "kid")?,
                "typ" => set_once(&mut h.typ, map.next_value()?, "typ")?,
                "cty" => set_once(&mut h.cty, map.next_value()?, "cty")?,
                "crit" => set_once(&mut h.crit, map.next_value()?, "crit")?,
                "b64" => set_once(&mut h.b64, map.next_value()?, "b64")?,
                _ => {
                    // Materialise unknown members (rare) so that exactly the
                    // JSON `verify` accepts is accepted here: out-of-range
                    // numbers and over-deep nesting are refused, not skipped.
                    map.next_value::<serde_json::Value>()?;
                }
            }
        }
        Ok(h)
    }
}

impl<'de> Deserialize<'de> for Header<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HeaderVisitor)
    }
}

/// Header names defined by RFC 7515/7516/7797 that may never be listed in
/// `crit` (RFC 7515 §4.1.11), nor allowed as an extension: the one list
/// both the verifier and the builder read.
pub(crate) const REGISTERED: &[&str] = &[
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc",
    "zip", "b64",
];

impl<'de> Header<'de> {
    /// Parse a decoded header (must be a JSON object).
    pub(crate) fn parse(json: &'de [u8]) -> Result<Self, JwtError> {
        // UTF-8 checked once, as for the claims (`RawClaims::parse`).
        if !is_object(json) {
            return Err(JwtError::MalformedHeader);
        }
        let text = std::str::from_utf8(json).map_err(|_| JwtError::MalformedHeader)?;
        serde_json::from_str::<Header<'de>>(text).map_err(|_| JwtError::MalformedHeader)
    }

    /// Apply the header policy; returns the `alg` name.
    ///
    /// - `alg` required; `none` in any case refused outright.
    /// - `typ` absent, or `JWT` / `at+jwt` (case-insensitive, optional
    ///   `application/` prefix, RFC 7515 §4.1.9, RFC 9068).
    /// - `cty` refused (no nested tokens), `b64` must be absent or `true`.
    /// - `crit` refused unless non-empty and every listed name is in
    ///   `allowed_crit`, is not a registered name, and is present.
    pub(crate) fn check(&self, json: &[u8], allowed_crit: &[String]) -> Result<&str, JwtError> {
        let alg = self.alg.as_deref().ok_or(JwtError::MalformedHeader)?;
        if alg.eq_ignore_ascii_case("none") {
            return Err(JwtError::AlgNone);
        }
        if let Some(typ) = self.typ.as_deref() {
            if !typ_allowed(typ) {
                return Err(JwtError::UnsupportedHeader("typ"));
            }
        }
        if self.cty.is_some() {
            return Err(JwtError::UnsupportedHeader("cty"));
        }
        if self.b64 == Some(false) {
            return Err(JwtError::UnsupportedHeader("b64"));
        }
        if let Some(crit) = &self.crit {
            check_crit(crit, json, allowed_crit)?;
        }
        if let Some(kid) = &self.kid {
            if kid.len() > MAX_KID_LEN {
                return Err(JwtError::KidTooLong);
            }
        }
        Ok(alg)
    }
}

fn typ_allowed(typ: &str) -> bool {
    let t = typ.as_bytes();
    let prefix = b"application/";
    let t = if t.len() > prefix.len() && t[..prefix.len()].eq_ignore_ascii_case(prefix) {
        &t[prefix.len()..]
    } else {
        t
    };
    t.eq_ignore_ascii_case(b"jwt") || t.eq_ignore_ascii_case(b"at+jwt")
}

fn check_crit(crit: &[Str<'_>], json: &[u8], allowed: &[String]) -> Result<(), JwtError> {
    const REFUSE: JwtError = JwtError::UnsupportedHeader("crit");
    if crit.is_empty() || allowed.is_empty() {
        return Err(REFUSE);
    }
    for name in crit {
        if REGISTERED.contains(&&**name) || !allowed.iter().any(|a| a == &**name) {
            return Err(REFUSE);
        }
    }
    // Rare path: every listed extension must be present (RFC 7515 §4.1.11).
    let all: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(json).map_err(|_| JwtError::MalformedHeader)?;
    if crit.iter().all(|n| all.contains_key(&**n)) {
        Ok(())
    } else {
        Err(REFUSE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rules() {
        assert!(split(b"a.b.c").is_ok());
        assert!(split(b"a..c").is_ok());
        assert_eq!(split(b"a.b").err(), Some(JwtError::Malformed));
        assert_eq!(split(b"abc").err(), Some(JwtError::Malformed));
        assert_eq!(split(b".b.c").err(), Some(JwtError::Malformed));
        assert_eq!(split(b"a.b.").err(), Some(JwtError::Malformed));
        // A third dot lands in the payload, which the decoder refuses.
        let s = split(b"a.b.c.d").unwrap();
        assert_eq!(s.payload, b"b.c");
        let mut buf = [0u8; 16];
        assert!(decode(s.payload, &mut buf).is_err());
        assert_eq!(
            split(&[b'a'; MAX_TOKEN_LEN + 1]).err(),
            Some(JwtError::TooLarge)
        );
    }

    #[test]
    fn canonical_base64() {
        let mut buf = [0u8; 16];
        assert_eq!(decode(b"QQ", &mut buf).unwrap(), b"A");
        assert!(decode(b"QR", &mut buf).is_err()); // non-zero trailing bits
        assert!(decode(b"QQ==", &mut buf).is_err());
        assert!(decode(b"Q", &mut buf).is_err());
    }

    #[test]
    fn header_policy() {
        let ok = |j: &str| {
            let h = Header::parse(j.as_bytes())?;
            h.check(j.as_bytes(), &["exp".to_string()])
                .map(str::to_owned)
        };
        assert_eq!(ok(r#"{"alg":"HS256"}"#).unwrap(), "HS256");
        assert!(ok(r#"{"alg":"HS256","typ":"jwt"}"#).is_ok());
        assert!(ok(r#"{"alg":"HS256","typ":"application/AT+JWT"}"#).is_ok());
        assert_eq!(
            ok(r#"{"alg":"HS256","typ":"JWS"}"#),
            Err(JwtError::UnsupportedHeader("typ"))
        );
        assert_eq!(ok(r#"{"alg":"nOnE"}"#), Err(JwtError::AlgNone));
        assert_eq!(
            ok(r#"{"alg":"HS256","alg":"HS256"}"#),
            Err(JwtError::MalformedHeader)
        );
        assert_eq!(ok(r#"["HS256"]"#), Err(JwtError::MalformedHeader));
        assert_eq!(ok(r#"{"alg":null}"#), Err(JwtError::MalformedHeader));
        assert_eq!(ok(r#"{"kid":"a"}"#), Err(JwtError::MalformedHeader));
        assert!(ok(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#).is_ok());
        assert!(ok(r#"{"alg":"HS256","crit":["exp"]}"#).is_err());
        assert!(ok(r#"{"alg":"HS256","crit":["other"],"other":1}"#).is_err());
        assert!(ok(r#"{"alg":"HS256","crit":[]}"#).is_err());
        assert!(ok(r#"{"alg":"HS256","cty":"JWT"}"#).is_err());
        assert!(ok(r#"{"alg":"HS256","b64":false}"#).is_err());
    }
}

/// A verified JWS (signature and header checked; no claim checked).
///
/// `Debug` shows the payload's length only.
///
/// ```ignore
/// use portcullis::jwt::KeyRegistry;
/// let keys = KeyRegistry::hs256("k1", &[7u8; 32]).unwrap();
/// assert!(keys.verify_jws(b"eyJhbGciOiJub25lIn0.e30.").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
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
