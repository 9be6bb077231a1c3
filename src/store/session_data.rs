//! [`SessionData`], a record's application data.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A [`SessionRecord`](super::SessionRecord)'s application data: a JSON
/// object, read and changed as the `serde_json::Map` it dereferences to.
///
/// Empty data (most sessions have none) holds no map at all, one pointer
/// in the record instead of a map's 24 bytes (issue #19); the map is made
/// on the first change. It serializes as the JSON object it holds (`{}`
/// when empty).
///
/// ```
/// use portcullis::store::SessionRecord;
/// let mut r = SessionRecord::new("alice", 1_000, 60, 600);
/// assert!(r.data.is_empty());
/// r.data.insert("theme".into(), "dark".into());
/// assert_eq!(r.data.get("theme").and_then(|v| v.as_str()), Some("dark"));
/// assert_eq!(serde_json::to_value(&r.data).unwrap(), serde_json::json!({"theme": "dark"}));
/// ```
#[derive(Clone, Default)]
pub struct SessionData(Option<Box<Map<String, Value>>>);

fn empty() -> &'static Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

impl Deref for SessionData {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        match &self.0 {
            Some(map) => map,
            None => empty(),
        }
    }
}

impl DerefMut for SessionData {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.0.get_or_insert_with(Box::default)
    }
}

impl PartialEq for SessionData {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl fmt::Debug for SessionData {
    // Application data may hold anything; only its size prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionData({} members, REDACTED)", self.len())
    }
}

impl From<Map<String, Value>> for SessionData {
    fn from(map: Map<String, Value>) -> Self {
        SessionData((!map.is_empty()).then(|| Box::new(map)))
    }
}

impl From<SessionData> for Map<String, Value> {
    fn from(data: SessionData) -> Self {
        data.0.map(|m| *m).unwrap_or_default()
    }
}

impl Serialize for SessionData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for SessionData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(SessionData::from)
    }
}
