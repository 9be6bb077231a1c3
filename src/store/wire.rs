//! The serialized form of a [`SessionRecord`]: one object whose members
//! are the record's fields, the rare ones left out when empty. Written by
//! hand because the rare fields share one box in memory (see
//! [`Rare`](super::record::Rare)) but are members of their own on the
//! wire, where records written by earlier versions must still read.

use std::net::IpAddr;
use std::sync::Arc;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::b64_32;
use super::record::{HeldKey, Rare};
use super::{FamilyState, RecordKind, SessionData, SessionRecord, UserId};

/// The fields every record serializes (the rare ones come on top).
const ALWAYS: usize = 15;

impl Serialize for SessionRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rare = self.rare.as_deref();
        let family = rare.and_then(|r| r.family.as_ref());
        let hint = rare.and_then(|r| r.hint.as_deref());
        let moved_to = rare.and_then(|r| r.moved_to.as_deref());
        let present = [family.is_some(), hint.is_some(), moved_to.is_some()];
        let len = ALWAYS + present.iter().filter(|p| **p).count();
        let mut st = s.serialize_struct("SessionRecord", len)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("user_id", &self.user_id)?;
        st.serialize_field("roles", &self.roles)?;
        st.serialize_field("created_at", &self.created_at)?;
        st.serialize_field("created_at_ms", &self.created_at_ms)?;
        st.serialize_field("last_seen", &self.last_seen)?;
        st.serialize_field("idle_expires_at", &self.idle_expires_at)?;
        st.serialize_field("absolute_expires_at", &self.absolute_expires_at)?;
        st.serialize_field("ip", &self.ip)?;
        st.serialize_field("user_agent", &self.user_agent)?;
        st.serialize_field("secret", &Secret(&self.secret))?;
        optional(&mut st, "family", family)?;
        st.serialize_field("authenticated_at", &self.authenticated_at)?;
        st.serialize_field("persistent", &self.persistent)?;
        optional(&mut st, "hint", hint)?;
        optional(&mut st, "moved_to", moved_to)?;
        st.serialize_field("data", &self.data)?;
        st.serialize_field("version", &self.version)?;
        st.end()
    }
}

fn optional<S: SerializeStruct, T: Serialize>(
    st: &mut S,
    name: &'static str,
    value: Option<T>,
) -> Result<(), S::Error> {
    match value {
        Some(v) => st.serialize_field(name, &v),
        None => st.skip_field(name),
    }
}

/// A 32-byte secret in its serialized form (base64url).
struct Secret<'a>(&'a [u8; 32]);

impl Serialize for Secret<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        b64_32::serialize(self.0, s)
    }
}

/// What a serialized record reads into: a member missing from a record
/// written before it existed takes its default.
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    kind: RecordKind,
    user_id: UserId,
    #[serde(default)]
    roles: Arc<[String]>,
    created_at: u64,
    #[serde(default)]
    created_at_ms: u64,
    last_seen: u64,
    idle_expires_at: u64,
    absolute_expires_at: u64,
    #[serde(default)]
    ip: Option<IpAddr>,
    #[serde(default)]
    user_agent: Option<Arc<str>>,
    #[serde(with = "b64_32")]
    secret: [u8; 32],
    #[serde(default)]
    family: Option<FamilyState>,
    #[serde(default)]
    authenticated_at: u64,
    #[serde(default = "persistent_default")]
    persistent: bool,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default)]
    moved_to: Option<String>,
    #[serde(default)]
    data: SessionData,
    #[serde(default)]
    version: u64,
}

fn persistent_default() -> bool {
    true
}

impl<'de> Deserialize<'de> for SessionRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let rare = Rare {
            family: w.family,
            hint: w.hint,
            moved_to: w.moved_to,
        };
        Ok(SessionRecord {
            kind: w.kind,
            user_id: w.user_id,
            roles: w.roles,
            created_at: w.created_at,
            created_at_ms: w.created_at_ms,
            last_seen: w.last_seen,
            idle_expires_at: w.idle_expires_at,
            absolute_expires_at: w.absolute_expires_at,
            ip: w.ip,
            user_agent: w.user_agent,
            secret: w.secret,
            authenticated_at: w.authenticated_at,
            persistent: w.persistent,
            rare: (rare != Rare::default()).then(|| Box::new(rare)),
            data: w.data,
            version: w.version,
            held_key: HeldKey::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Rotation;

    /// A record with every rare field, in the form earlier versions wrote
    /// (their derived `Serialize`): it must read back and write the same.
    const WRITTEN_BEFORE: &str = concat!(
        r#"{"kind":"refresh_family","user_id":"alice","roles":["admin"],"#,
        r#""created_at":1000,"created_at_ms":1000500,"last_seen":1010,"#,
        r#""idle_expires_at":2800,"absolute_expires_at":44200,"#,
        r#""ip":"198.51.100.7","user_agent":"agent/1","#,
        r#""secret":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE","#,
        r#""family":{"current":"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI","#,
        r#""rotation":{"spent":"AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM","#,
        r#""nonce":"BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ","at_ms":1005}},"#,
        r#""authenticated_at":1000,"persistent":false,"hint":"abcd","#,
        r#""moved_to":"ef01","data":{"n":1},"version":7}"#
    );

    #[test]
    fn the_serialized_form_is_the_one_earlier_versions_wrote() {
        let r: SessionRecord = serde_json::from_str(WRITTEN_BEFORE).expect("reads");
        assert_eq!(r.kind, RecordKind::RefreshFamily);
        assert_eq!((r.hint(), r.moved_to()), (Some("abcd"), Some("ef01")));
        let state = r.family().expect("family state");
        assert_eq!(state.current, [2; 32]);
        assert!(state
            .rotation
            .as_ref()
            .is_some_and(|x: &Rotation| x.at_ms == 1005));
        assert!(!r.persistent);
        assert_eq!(serde_json::to_string(&r).expect("writes"), WRITTEN_BEFORE);
    }

    #[test]
    fn a_record_without_rare_fields_holds_no_box_and_writes_none() {
        let mut r = SessionRecord::new("alice", 1_000, 60, 600);
        r.set_hint(Some("h".into()));
        r.set_hint(None);
        assert!(r.rare.is_none(), "emptied rare fields drop their box");
        let json = serde_json::to_value(&r).expect("writes");
        for absent in ["family", "hint", "moved_to"] {
            assert!(json.get(absent).is_none(), "{absent} written: {json}");
        }
        let back: SessionRecord = serde_json::from_value(json).expect("reads");
        assert!(back.rare.is_none() && back == r);
    }
}
