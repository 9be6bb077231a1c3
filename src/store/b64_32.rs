//! 32-byte secrets and hashes in a record's serialized form: base64url
//! without padding.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{de::Error, Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&URL_SAFE_NO_PAD.encode(v))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    crate::base64url::decode_fixed::<32>(s.as_bytes()).ok_or_else(|| D::Error::custom("bad secret"))
}
