//! Audit events: who logged in, failed, logged out, was refused and why,
//! emitted by the core for every adapter and store.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::clock::SharedClock;
use crate::rejection::Scheme;

/// What happened. The names ([`EventKind::name`]) are those of the demo
/// servers' audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A login (cookie session or token pair) succeeded.
    LoginSucceeded,
    /// A credential check failed ([`LoginAttempt::failed`](crate::LoginAttempt::failed)).
    LoginFailed,
    /// A login was refused by the throttle, before any password check.
    LoginThrottled,
    /// A session or token family was logged out.
    Logout,
    /// Every credential of a user ended (log out everywhere).
    LogoutEverywhere,
    /// One session or token family was ended by its user (by `id_hint`,
    /// or as one of the "other devices").
    SessionRevoked,
    /// A cookie named no live session (expired, ended or never issued).
    SessionExpired,
    /// A session's user proved a credential again (step-up).
    ReauthSucceeded,
    /// A re-authentication's credential check failed.
    ReauthFailed,
    /// An unsafe cookie request failed the CSRF token or cross-origin rule.
    CsrfRefused,
    /// A bearer token was refused (invalid, expired or revoked).
    TokenRefused,
    /// A refresh token was exchanged for a new pair.
    RefreshRotated,
    /// A spent refresh token came back: its family ended.
    RefreshReuseDetected,
    /// A user's roles changed.
    RolesChanged,
    /// The store or revocation list did not answer (the request got 503).
    StoreUnavailable,
}

impl EventKind {
    /// The dotted name, e.g. `"login.failed"`.
    ///
    /// ```
    /// use portcullis::EventKind;
    /// assert_eq!(EventKind::RefreshReuseDetected.name(), "refresh.reuse_detected");
    /// ```
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::LoginSucceeded => "login.succeeded",
            EventKind::LoginFailed => "login.failed",
            EventKind::LoginThrottled => "login.throttled",
            EventKind::Logout => "logout",
            EventKind::LogoutEverywhere => "logout.everywhere",
            EventKind::SessionRevoked => "session.revoked",
            EventKind::SessionExpired => "session.expired",
            EventKind::ReauthSucceeded => "reauth.succeeded",
            EventKind::ReauthFailed => "reauth.failed",
            EventKind::CsrfRefused => "csrf.refused",
            EventKind::TokenRefused => "token.refused",
            EventKind::RefreshRotated => "refresh.rotated",
            EventKind::RefreshReuseDetected => "refresh.reuse_detected",
            EventKind::RolesChanged => "roles.changed",
            EventKind::StoreUnavailable => "store.unavailable",
        }
    }

    /// Refusals of requests without a valid credential: anyone can cause
    /// them, so they are rate-limited (so is `csrf.refused` without a
    /// session).
    const fn is_flood_prone(self) -> bool {
        matches!(
            self,
            EventKind::SessionExpired | EventKind::TokenRefused | EventKind::StoreUnavailable
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One audit event. Its fields are typed so that none can hold a secret:
/// the user is a subject or the username a login named, `id_hint` is the
/// non-secret hint of a session or family (never its ID), `reason` is one
/// of the crate's fixed phrases, and no field carries a password, cookie
/// value, CSRF token, token or key.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use portcullis::{Authenticator, Event, EventKind, EventSink, RequestView, SessionHandle};
///
/// #[derive(Default)]
/// struct Collect(Mutex<Vec<String>>);
/// impl EventSink for Collect {
///     fn record(&self, event: &Event) {
///         self.0.lock().unwrap().push(format!("{} {:?}", event.kind, event.user));
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let sink = Arc::new(Collect::default());
/// let auth = Authenticator::builder().events(sink.clone()).build().unwrap();
/// let session = SessionHandle::new(auth.authenticate(&RequestView::new("POST")).await);
/// session.login("alice", vec![]).await.unwrap();
/// assert_eq!(*sink.0.lock().unwrap(), ["login.succeeded Some(\"alice\")"]);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// When, in milliseconds since the Unix epoch (the authenticator's clock).
    pub at_ms: u64,
    /// The user it happened to, when known (for `login.failed`, the
    /// username the attempt named, which may not exist).
    pub user: Option<String>,
    /// Who did it, when not the user (an administrator).
    pub actor: Option<String>,
    /// The client's IP (after the trusted-proxy rule), when known.
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent` (truncated), when known.
    pub user_agent: Option<std::sync::Arc<str>>,
    /// The non-secret hint of the session or refresh family concerned.
    pub id_hint: Option<String>,
    /// The credential scheme of the request.
    pub scheme: Option<Scheme>,
    /// Why, for refusals (a fixed phrase, never request data).
    pub reason: Option<&'static str>,
    /// The request's `X-Request-Id` (at most 64 characters of
    /// `[A-Za-z0-9._:/+=-]`; another value is not recorded).
    pub request_id: Option<String>,
    /// How many events of this kind and reason were dropped by the rate
    /// limit just before this one.
    pub suppressed: u64,
}

impl Event {
    /// An event of `kind` about the client `client`, judged under `scheme`.
    pub(crate) fn from_client(
        kind: EventKind,
        client: &crate::session::ClientInfo,
        scheme: Scheme,
    ) -> Self {
        let mut e = Event::new(kind);
        e.ip = client.ip;
        e.user_agent.clone_from(&client.user_agent);
        e.request_id = client.request_id.as_ref().map(|id| id.as_str().to_owned());
        e.scheme = Some(scheme);
        e
    }

    pub(crate) fn new(kind: EventKind) -> Self {
        Event {
            kind,
            at_ms: 0,
            user: None,
            actor: None,
            ip: None,
            user_agent: None,
            id_hint: None,
            scheme: None,
            reason: None,
            request_id: None,
            suppressed: 0,
        }
    }
}

/// Where audit events go, set once with
/// [`AuthenticatorBuilder::events`](crate::AuthenticatorBuilder::events)
/// (default: nowhere, at no cost). `record` is called on the request path:
/// keep it quick and non-blocking (hand the event to a channel, a
/// buffered writer thread, `tracing`).
pub trait EventSink: Send + Sync + 'static {
    /// Record one event.
    fn record(&self, event: &Event);
}

/// Refusals that anyone can cause pass at most once per second per kind
/// and reason; the next one that passes reports how many were dropped.
#[derive(Default)]
struct FloodGate {
    /// Per kind and reason: the second of the last event that passed, and
    /// how many were dropped since.
    windows: Mutex<HashMap<FloodKey, (u64, u64)>>,
}

type FloodKey = (EventKind, &'static str);

impl FloodGate {
    /// `Some(dropped)` when the event may pass.
    fn admit(&self, kind: EventKind, reason: &'static str, now_ms: u64) -> Option<u64> {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let second = now_ms / 1000;
        let entry = windows.entry((kind, reason)).or_insert((u64::MAX, 0));
        if entry.0 == second {
            entry.1 += 1;
            None
        } else {
            let dropped = entry.1;
            *entry = (second, 0);
            Some(dropped)
        }
    }
}

/// The sink of an authenticator, with its clock and flood gate.
#[derive(Clone)]
pub(crate) struct Events {
    sink: Arc<dyn EventSink>,
    clock: SharedClock,
    gate: Arc<FloodGate>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

impl Events {
    pub(crate) fn new(sink: Arc<dyn EventSink>, clock: SharedClock) -> Self {
        Events {
            sink,
            clock,
            gate: Arc::default(),
        }
    }

    /// Stamp and record `event` (rate-limited when anyone can cause it).
    pub(crate) fn emit(&self, mut event: Event) {
        event.at_ms = self.clock.now_millis();
        let flood_prone = event.kind.is_flood_prone()
            || (event.kind == EventKind::CsrfRefused && event.user.is_none());
        if flood_prone {
            match self
                .gate
                .admit(event.kind, event.reason.unwrap_or(""), event.at_ms)
            {
                Some(dropped) => event.suppressed = dropped,
                None => return,
            }
        }
        self.sink.record(&event);
    }
}

#[cfg(test)]
mod tests {
    use super::{EventKind, FloodGate};

    #[test]
    fn floods_pass_once_per_second_with_a_count() {
        let gate = FloodGate::default();
        assert_eq!(
            gate.admit(EventKind::TokenRefused, "invalid token", 1_000),
            Some(0)
        );
        for ms in 1_001..1_100 {
            assert_eq!(
                gate.admit(EventKind::TokenRefused, "invalid token", ms),
                None
            );
        }
        // Another reason has its own budget.
        assert_eq!(
            gate.admit(EventKind::TokenRefused, "malformed", 1_500),
            Some(0)
        );
        assert_eq!(
            gate.admit(EventKind::TokenRefused, "invalid token", 2_000),
            Some(99)
        );
    }
}
