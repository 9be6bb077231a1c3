//! Strict, zero-copy JSON helpers for headers and claims.
//!
//! Registered members are decoded by hand-written map visitors so that:
//! the document must be a JSON object (a derived struct would also accept a
//! positional array), each member may appear once, `null` is never taken as
//! "absent", and strings are borrowed from the decoded bytes when they hold
//! no escapes (no allocation on the hot path).

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

/// A JSON string, borrowed when possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Str<'de>(pub(crate) Cow<'de, str>);

impl Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Str<'_> {
    pub(crate) fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Str(Cow::Owned(v)))
    }
}

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

/// A string or an array of strings (the two forms of `aud`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StrOrSeq<'de> {
    One(Str<'de>),
    Many(Vec<Str<'de>>),
}

impl StrOrSeq<'_> {
    pub(crate) fn contains(&self, wanted: &str) -> bool {
        match self {
            StrOrSeq::One(s) => &**s == wanted,
            StrOrSeq::Many(v) => v.iter().any(|s| &**s == wanted),
        }
    }
}

struct StrOrSeqVisitor;

impl<'de> Visitor<'de> for StrOrSeqVisitor {
    type Value = StrOrSeq<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(StrOrSeq::One(Str(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(StrOrSeq::One(Str(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(StrOrSeq::One(Str(Cow::Owned(v))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(16));
        while let Some(s) = seq.next_element::<Str<'de>>()? {
            out.push(s);
        }
        Ok(StrOrSeq::Many(out))
    }
}

impl<'de> Deserialize<'de> for StrOrSeq<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrOrSeqVisitor)
    }
}

/// Store a member, refusing a second occurrence.
pub(crate) fn set_once<T, E: de::Error>(
    slot: &mut Option<T>,
    value: T,
    name: &'static str,
) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}

/// True if `json` (after leading whitespace) starts an object. A derived or
/// map visitor would refuse anything else too; checking first gives a clear
/// and cheap failure.
pub(crate) fn is_object(json: &[u8]) -> bool {
    json.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|b| *b == b'{')
}
