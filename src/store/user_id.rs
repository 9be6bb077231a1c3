//! [`UserId`], the user a record belongs to.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// The ID of the user a [`SessionRecord`](super::SessionRecord) belongs
/// to: a string that dereferences to `&str` and compares with `str` and
/// `String`.
///
/// An ID of up to 23 bytes is kept inside the record itself, so a session
/// of a short ID allocates nothing for it (issue #19: the heap string was
/// 32 bytes of every session's memory); a longer one is shared, so a
/// clone never copies it. It serializes as a plain JSON string, as the
/// `String` it replaces did.
///
/// ```
/// use portcullis::store::{SessionRecord, UserId};
/// let r = SessionRecord::new("alice", 1_000, 60, 600);
/// assert_eq!(r.user_id, "alice");
/// assert_eq!(r.user_id.as_str().len(), 5);
/// let id: UserId = String::from("bob").into();
/// assert_eq!(id.to_string(), "bob");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(SmolStr);

impl UserId {
    /// The ID as a string slice.
    ///
    /// ```
    /// # use portcullis::store::UserId;
    /// assert_eq!(UserId::from("alice").as_str(), "alice");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for UserId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for UserId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for UserId {
    fn from(s: &str) -> Self {
        UserId(SmolStr::new(s))
    }
}

impl From<&String> for UserId {
    fn from(s: &String) -> Self {
        UserId(SmolStr::new(s))
    }
}

impl From<String> for UserId {
    fn from(s: String) -> Self {
        UserId(SmolStr::from(s))
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> Self {
        id.0.into()
    }
}

impl PartialEq<str> for UserId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for UserId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for UserId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<UserId> for str {
    fn eq(&self, other: &UserId) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<UserId> for &str {
    fn eq(&self, other: &UserId) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<UserId> for String {
    fn eq(&self, other: &UserId) -> bool {
        self == other.as_str()
    }
}
