//! Token claims: the public, generic [`Claims`] type and the strict
//! zero-copy decoder the verifier runs on every request.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};

use super::error::JwtError;
use super::json::{is_object, set_once, Str, StrOrSeq};

/// Claim names the library writes itself; application claims may not use
/// them (see [`Claims::extra`]).
pub const RESERVED_CLAIMS: &[&str] = &[
    "sub", "iat", "exp", "nbf", "iss", "aud", "jti", "sid", "roles", "iat_ms",
];

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
///
/// ```
/// use portcullis::jwt::Audience;
/// let a: Audience = serde_json::from_str(r#"["api","admin"]"#).unwrap();
/// assert!(a.contains("admin") && !a.contains("web"));
/// let one: Audience = serde_json::from_str(r#""api""#).unwrap();
/// assert_eq!(one, Audience::One("api".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Audience {
    /// A single audience string.
    One(String),
    /// An array of audiences.
    Many(Vec<String>),
}

impl Audience {
    /// True if `aud` names `audience` exactly.
    #[must_use]
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(v) => v.iter().any(|a| a == audience),
        }
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Audience::One(a) => s.serialize_str(a),
            Audience::Many(v) => v.serialize(s),
        }
    }
}

/// The claims of an access token: the registered ones typed, plus
/// application claims through `T` (flattened into the same JSON object).
///
/// `T = ()` means "no application claims"; use a struct of your own, or
/// `serde_json::Map<String, serde_json::Value>` to see whatever is there
/// (that is what [`TokenService::verify`](super::TokenService::verify)
/// returns).
///
/// Application claims must not reuse a name in [`RESERVED_CLAIMS`]:
/// [`TokenService::sign`](super::TokenService::sign) refuses that, and the
/// verifier refuses any token with a duplicated member.
///
/// ```
/// use portcullis::jwt::Claims;
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct Tenant { tenant: String }
/// let c = Claims::new("alice", 1_000, 1_900, "id-1").with_extra(Tenant { tenant: "acme".into() });
/// let json = serde_json::to_value(&c).unwrap();
/// assert_eq!(json["tenant"], "acme");
/// assert_eq!(json["exp"], 1_900);
/// let back: Claims<Tenant> = serde_json::from_value(json).unwrap();
/// assert_eq!(back.extra.tenant, "acme");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Claims<T = ()> {
    /// Subject: the user ID.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expiry (seconds since the epoch); always present.
    pub exp: u64,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Unique token ID (at least 128 random bits when we issue it).
    pub jti: String,
    /// The refresh family (hex [`SessionKey`](crate::id::SessionKey)) the
    /// token belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The subject's roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Issue time in milliseconds (private claim, used by subject
    /// revocation; consistent with `iat`: `iat_ms / 1000 == iat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_ms: Option<u64>,
    /// Application claims.
    #[serde(flatten)]
    pub extra: T,
}

impl Claims<()> {
    /// Claims with the required members and nothing else.
    #[must_use]
    pub fn new(sub: impl Into<String>, iat: u64, exp: u64, jti: impl Into<String>) -> Self {
        Claims {
            sub: sub.into(),
            iat,
            exp,
            nbf: None,
            iss: None,
            aud: None,
            jti: jti.into(),
            sid: None,
            roles: Vec::new(),
            iat_ms: None,
            extra: (),
        }
    }
}

impl<T> Claims<T> {
    /// Replace the application claims.
    #[must_use]
    pub fn with_extra<U>(self, extra: U) -> Claims<U> {
        Claims {
            sub: self.sub,
            iat: self.iat,
            exp: self.exp,
            nbf: self.nbf,
            iss: self.iss,
            aud: self.aud,
            jti: self.jti,
            sid: self.sid,
            roles: self.roles,
            iat_ms: self.iat_ms,
            extra,
        }
    }

    /// Set the roles.
    #[must_use]
    pub fn with_roles(mut self, roles: Vec<String>) -> Self {
        self.roles = roles;
        self
    }

    /// Set the issuer.
    #[must_use]
    pub fn with_issuer(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }

    /// Set a single audience.
    #[must_use]
    pub fn with_audience(mut self, aud: impl Into<String>) -> Self {
        self.aud = Some(Audience::One(aud.into()));
        self
    }

    /// Set the refresh family.
    #[must_use]
    pub fn with_sid(mut self, sid: impl Into<String>) -> Self {
        self.sid = Some(sid.into());
        self
    }

    /// Set `nbf`.
    #[must_use]
    pub fn with_not_before(mut self, nbf: u64) -> Self {
        self.nbf = Some(nbf);
        self
    }

    /// Set `iat_ms` (should satisfy `iat_ms / 1000 == iat`).
    #[must_use]
    pub fn with_iat_ms(mut self, iat_ms: u64) -> Self {
        self.iat_ms = Some(iat_ms);
        self
    }

    /// The issue time used by subject revocation: `iat_ms` when present
    /// and consistent with `iat`, else `iat * 1000`.
    #[must_use]
    pub fn issued_at_millis(&self) -> u64 {
        issued_at_millis(self.iat, self.iat_ms)
    }
}

/// `iat_ms` if consistent with `iat`, else the start of the `iat` second.
pub(crate) fn issued_at_millis(iat: u64, iat_ms: Option<u64>) -> u64 {
    match iat_ms {
        Some(ms) if ms / 1000 == iat => ms,
        _ => iat.saturating_mul(1000),
    }
}

/// The registered claims as the verifier sees them: every member typed,
/// each at most once, strings borrowed where possible. Unknown members are
/// skipped without being materialised.
#[derive(Debug, Default)]
pub(crate) struct RawClaims<'de> {
    pub(crate) sub: Option<Str<'de>>,
    pub(crate) iat: Option<u64>,
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iss: Option<Str<'de>>,
    pub(crate) aud: Option<StrOrSeq<'de>>,
    pub(crate) jti: Option<Str<'de>>,
    pub(crate) sid: Option<Str<'de>>,
    pub(crate) roles: Option<Vec<Str<'de>>>,
    pub(crate) iat_ms: Option<u64>,
}

struct ClaimsVisitor;

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = RawClaims<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut c = RawClaims::default();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match &*key {
                "sub" => set_once(&mut c.sub, map.next_value()?, "sub")?,
                "iat" => set_once(&mut c.iat, map.next_value()?, "iat")?,
                "exp" => set_once(&mut c.exp, map.next_value()?, "exp")?,
                "nbf" => set_once(&mut c.nbf, map.next_value()?, "nbf")?,
                "iss" => set_once(&mut c.iss, map.next_value()?, "iss")?,
                "aud" => set_once(&mut c.aud, map.next_value()?, "aud")?,
                "jti" => set_once(&mut c.jti, map.next_value()?, "jti")?,
                "sid" => set_once(&mut c.sid, map.next_value()?, "sid")?,
                "roles" => set_once(&mut c.roles, map.next_value()?, "roles")?,
                "iat_ms" => set_once(&mut c.iat_ms, map.next_value()?, "iat_ms")?,
                _ => {
                    // Materialise unknown members (rare) so that exactly the
                    // JSON `verify` accepts is accepted here: out-of-range
                    // numbers and over-deep nesting are refused, not skipped.
                    map.next_value::<serde_json::Value>()?;
                }
            }
        }
        Ok(c)
    }
}

impl<'de> Deserialize<'de> for RawClaims<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ClaimsVisitor)
    }
}

impl<'de> RawClaims<'de> {
    /// Decode a payload: a JSON object whose registered claims are
    /// well-typed (NumericDates are non-negative integers; strings are
    /// strings; `aud` a string or array of strings; `roles` an array of
    /// strings) and not repeated. `null` is a wrong type, not "absent".
    pub(crate) fn parse(json: &'de [u8]) -> Result<Self, JwtError> {
        // JSON text is UTF-8 (RFC 8259 §8.1); checked up front, once,
        // because skipped members would otherwise escape serde_json's
        // checks, and parsed as `str` so no string is checked again (~0.8k
        // instructions per token).
        if !is_object(json) {
            return Err(JwtError::MalformedClaims);
        }
        let text = std::str::from_utf8(json).map_err(|_| JwtError::MalformedClaims)?;
        serde_json::from_str::<RawClaims<'de>>(text).map_err(|_| JwtError::MalformedClaims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_that_are_not_utf8_are_refused_wherever_the_bytes_are() {
        for bad in [
            &b"{\"sub\":\"\xff\"}"[..],
            b"{\"x\":\"\xc3\"}",
            b"{\"exp\":1,\"\xfe\":0}",
        ] {
            assert_eq!(RawClaims::parse(bad).err(), Some(JwtError::MalformedClaims));
        }
        assert_eq!(
            RawClaims::parse("{\"sub\":\"jos\u{e9}\"}".as_bytes())
                .ok()
                .and_then(|c| c.sub)
                .as_deref(),
            Some("jos\u{e9}")
        );
    }

    #[test]
    fn strict_types() {
        assert!(RawClaims::parse(br#"{"exp":1,"sub":"a"}"#).is_ok());
        for bad in [
            r#"{"exp":"1"}"#,
            r#"{"exp":1.5}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":null}"#,
            r#"{"nbf":null}"#,
            r#"{"sub":1}"#,
            r#"{"aud":[1]}"#,
            r#"{"roles":"admin"}"#,
            r#"{"exp":1,"exp":2}"#,
            r#"[1,2]"#,
            r#"{"exp":1} x"#,
            "",
        ] {
            assert_eq!(
                RawClaims::parse(bad.as_bytes()).err(),
                Some(JwtError::MalformedClaims),
                "{bad}"
            );
        }
    }

    #[test]
    fn borrowed_and_escaped() {
        let c =
            RawClaims::parse(br#"{"sub":"al\u0069ce","\u0065xp":5,"x":{"deep":[1,2]}}"#).unwrap();
        assert_eq!(c.sub.as_deref(), Some("alice"));
        assert_eq!(c.exp, Some(5));
    }

    #[test]
    fn issued_ms() {
        assert_eq!(issued_at_millis(10, Some(10_999)), 10_999);
        assert_eq!(issued_at_millis(10, Some(11_000)), 10_000);
        assert_eq!(issued_at_millis(10, None), 10_000);
    }
}
