//! What the session manager hands out: the client, a live session, a
//! login's result, an entry of the device list.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

use crate::id::SessionKey;
use crate::last_seen;
use crate::store::{RecordKind, SessionRecord};

/// Who is logging in from where (recorded in the session for listing).
/// `Debug` shows neither the IP nor the User-Agent.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientInfo {
    /// Peer IP.
    pub ip: Option<IpAddr>,
    /// User-Agent, truncated to 256 bytes (shared with the records and
    /// events made from it: no copy per use).
    pub user_agent: Option<Arc<str>>,
    /// `X-Request-Id` (only kept when audit events are on).
    pub(crate) request_id: Option<RequestId>,
}

/// An `X-Request-Id`, kept inline (no allocation per request): at most 64
/// characters of `[A-Za-z0-9._:/+=-]`, so it can never forge a log field.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestId {
    len: u8,
    bytes: [u8; 64],
}

impl RequestId {
    /// `value` if it is a valid request ID.
    pub(crate) fn parse(value: &[u8]) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b));
        if !ok {
            return None;
        }
        let mut bytes = [0u8; 64];
        bytes[..value.len()].copy_from_slice(value);
        Some(RequestId {
            len: u8::try_from(value.len()).ok()?,
            bytes,
        })
    }

    /// The ID as text.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII was accepted.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInfo")
            .field("ip", &self.ip.as_ref().map(|_| "REDACTED"))
            .field("user_agent", &self.user_agent.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

impl ClientInfo {
    /// Client details; the User-Agent is kept only if it is valid UTF-8 and
    /// truncated to 256 bytes.
    #[must_use]
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&[u8]>) -> Self {
        let user_agent = user_agent.and_then(|ua| {
            let ua = &ua[..ua.len().min(256)];
            if let Some(seen) = last_seen::get(&LAST_USER_AGENT, |s| s.as_bytes() == ua) {
                return Some(seen);
            }
            // Cut at a char boundary if truncation split one.
            let text = match std::str::from_utf8(ua) {
                Ok(s) => s,
                Err(e) => std::str::from_utf8(&ua[..e.valid_up_to()]).ok()?,
            };
            let text: Arc<str> = Arc::from(text);
            if text.len() == ua.len() {
                last_seen::set(&LAST_USER_AGENT, &text);
            }
            Some(text)
        });
        ClientInfo {
            ip,
            user_agent,
            request_id: None,
        }
    }
}

thread_local! {
    /// The User-Agent this thread saw last: a browser sends the same one on
    /// every request, so it is shared instead of copied each time.
    static LAST_USER_AGENT: last_seen::Slot<str> = const { RefCell::new(None) };
}

/// A live session found from a cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveSession {
    /// Its store key.
    pub key: SessionKey,
    /// Its record (with the version current after any rolling refresh);
    /// shared, so authenticating a request copies nothing. Change it with
    /// `Arc::make_mut(&mut session.record)`.
    pub record: Arc<SessionRecord>,
}

/// The result of a login or rotation.
#[derive(Clone)]
#[non_exhaustive]
pub struct LoginOutcome {
    /// The new session's key.
    pub key: SessionKey,
    /// The cookie value (the ID, signed if configured). Secret.
    #[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
    pub cookie_value: String,
    /// The full `Set-Cookie` header value.
    pub set_cookie: String,
    /// The new CSRF token for `X-CSRF-Token`.
    pub csrf_token: String,
    /// The record as stored under `key`.
    pub(crate) record: SessionRecord,
}

impl std::fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginOutcome")
            .field("key", &self.key)
            .field("cookie_value", &"REDACTED")
            .finish_non_exhaustive()
    }
}

/// One entry of a user's device list: a cookie session or a refresh-token
/// family. Serialises as `{"id_hint","kind","created_at","last_seen","ip",
/// "user_agent","current"}` with `kind` `"session"` or `"token"`.
///
/// `id_hint` is a short non-secret label, stable for the life of the
/// credential (across ID rotation, re-authentication and refresh): a
/// truncated hash of the key the credential was created under, so it
/// cannot be turned into an ID, a cookie or a token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// A short non-secret label.
    pub id_hint: String,
    /// A cookie session or a refresh family.
    #[serde(serialize_with = "kind_name")]
    pub kind: RecordKind,
    /// Creation time.
    pub created_at: u64,
    /// Last time seen (to the rolling interval).
    pub last_seen: u64,
    /// IP at login (a family's: at its latest refresh).
    pub ip: Option<IpAddr>,
    /// User-Agent at login (a family's: at its latest refresh).
    pub user_agent: Option<Arc<str>>,
    /// True for the session making the request.
    pub current: bool,
}

fn kind_name<S: serde::Serializer>(kind: &RecordKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match kind {
        RecordKind::Session => "session",
        RecordKind::RefreshFamily => "token",
    })
}

impl SessionInfo {
    /// The entry of `record`, stored under `key`.
    pub(crate) fn of(key: &SessionKey, record: SessionRecord, current: bool) -> Self {
        SessionInfo {
            id_hint: record.id_hint(key),
            kind: record.kind,
            created_at: record.created_at,
            last_seen: record.last_seen,
            ip: record.ip,
            user_agent: record.user_agent,
            current,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::ClientInfo;

    fn agent(ua: &[u8]) -> Option<Arc<str>> {
        ClientInfo::new(None, Some(ua)).user_agent
    }

    #[test]
    fn a_repeated_user_agent_is_shared_and_every_value_stays_exact() {
        let a = agent(b"Mozilla/5.0 (X11; Linux x86_64)").unwrap();
        let again = agent(b"Mozilla/5.0 (X11; Linux x86_64)").unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(agent(b"curl/8.0").as_deref(), Some("curl/8.0"));
        assert_eq!(agent(b"").as_deref(), Some(""));
        // Invalid UTF-8 is cut at the last boundary, never taken for the
        // value seen before it.
        let _ = agent(b"ok");
        assert_eq!(agent(b"ok\xFF").as_deref(), Some("ok"));
        assert_eq!(agent(b"ok\xC3").as_deref(), Some("ok"));
        // Longer than 256 bytes: truncated, then compared as truncated.
        let long = [b'a'; 300];
        assert_eq!(agent(&long).map(|s| s.len()), Some(256));
        assert_eq!(agent(&long[..256]).map(|s| s.len()), Some(256));
        let mut near = [b'a'; 256];
        near[255] = b'b';
        assert_eq!(
            agent(&near).as_deref().map(|s| s.ends_with('b')),
            Some(true)
        );
    }
}
