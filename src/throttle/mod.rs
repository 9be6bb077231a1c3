//! Login throttling: password guessing is slowed per username and client,
//! per username for everyone, and per client, with the counts in the
//! configured store so every instance sharing it enforces the same limits.
//!
//! The application checks passwords; the core decides everything else
//! (the rules are on [`LoginAttempt`]).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::SharedClock;
use crate::error::{ConfigError, StoreError};
use crate::events::{Event, EventKind, Events};
use crate::rejection::{Rejection, RejectionKind, Scheme};
use crate::session::ClientInfo;

mod config;
mod memory;
mod store;

pub use config::LoginThrottle;
pub(crate) use memory::MemoryAttempts;
pub use store::AttemptStore;

/// How long a pair's doubling is remembered without a failure.
const FORGET_AFTER_MS: u64 = 24 * 60 * 60 * 1000;
/// Attempts at a compare-and-set that lost to a concurrent attempt.
const CAS_ATTEMPTS: usize = 64;

/// The throttle an [`Authenticator`](crate::Authenticator) runs: its
/// settings, its store and its clock.
#[derive(Clone)]
pub(crate) struct Throttle {
    config: LoginThrottle,
    store: Arc<dyn AttemptStore>,
    clock: SharedClock,
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// One counter: the recent failures (at most the limit is kept), the
/// doubling level, the end of the current lock, the last failure (ms).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Counter {
    #[serde(default)]
    failures: Vec<u64>,
    #[serde(default)]
    level: u32,
    #[serde(default)]
    locked_until: u64,
    #[serde(default)]
    last_failure: u64,
}

/// Which of the three counters, with its limit and whether it doubles.
#[derive(Debug, Clone, Copy)]
struct Rule {
    limit: u32,
    doubling: bool,
}

impl Counter {
    fn decode(bytes: &[u8]) -> Counter {
        // A record this version cannot read counts as empty rather than
        // failing every login of its user.
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    /// Record one failure at `now`.
    fn fail(&mut self, now: u64, rule: Rule, config: &LoginThrottle) {
        let window = millis(config.window);
        if rule.doubling && self.last_failure.saturating_add(FORGET_AFTER_MS) <= now {
            self.level = 0;
        }
        self.failures.retain(|&t| t.saturating_add(window) > now);
        self.failures.push(now);
        let keep = usize::try_from(rule.limit).unwrap_or(usize::MAX);
        if self.failures.len() > keep {
            let extra = self.failures.len() - keep;
            self.failures.drain(..extra);
        }
        self.last_failure = now;
        let lock = if rule.doubling && self.level > 0 {
            self.level = self.level.saturating_add(1);
            true
        } else if self.failures.len() >= keep {
            if rule.doubling {
                self.level = 1;
            }
            true
        } else {
            false
        };
        if lock {
            let base = millis(config.lockout);
            let period = if rule.doubling {
                let doublings = self.level.saturating_sub(1).min(31);
                base.saturating_mul(1u64 << doublings)
                    .min(millis(config.max_lockout))
            } else {
                base
            };
            self.locked_until = now.saturating_add(period);
        }
    }

    /// How long the store must keep this counter.
    fn ttl(&self, now: u64, rule: Rule, config: &LoginThrottle) -> Duration {
        let mut until = self
            .locked_until
            .max(self.last_failure.saturating_add(millis(config.window)));
        if rule.doubling && self.level > 0 {
            until = until.max(self.last_failure.saturating_add(FORGET_AFTER_MS));
        }
        Duration::from_millis(until.saturating_sub(now).max(1_000))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The client a count is kept for: the IP, an IPv6 address per /64.
fn client_text(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        // No peer address (an adapter that cannot see one): all such
        // requests are one client, so the limits still hold.
        None => "unknown".into(),
    }
}

/// A store key: a tag and the SHA-256 of the parts, so the store never holds
/// a username or an IP.
fn key(tag: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(tag.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(tag.len() + 1 + 64);
    out.push_str(tag);
    out.push(':');
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

impl Throttle {
    pub(crate) fn new(
        config: LoginThrottle,
        store: Arc<dyn AttemptStore>,
        clock: SharedClock,
    ) -> Self {
        Throttle {
            config,
            store,
            clock,
        }
    }

    /// The attempt of `username` from `ip`: refused (429, with the seconds
    /// until the longest lock ends) when any of its counters is locked.
    pub(crate) async fn begin(
        &self,
        username: &str,
        from: &ClientInfo,
        scheme: Scheme,
        audit: Option<(Events, Event)>,
    ) -> Result<LoginAttempt, Rejection> {
        let client = client_text(from.ip);
        let keys = [
            key("p", &[username, &client]),
            key("u", &[username]),
            key("c", &[&client]),
        ];
        let found = self
            .store
            .load(&keys)
            .await
            .map_err(|e| unavailable(&e, scheme))?;
        let now = self.clock.now_millis();
        let locked_until = found
            .iter()
            .flatten()
            .map(|(bytes, _)| Counter::decode(bytes).locked_until)
            .max()
            .unwrap_or(0);
        if locked_until > now {
            let secs = (locked_until - now).div_ceil(1000).max(1);
            tracing::info!("login attempt refused: throttled");
            if let Some((events, e)) = audit {
                let mut e = with_user(e, username);
                e.kind = EventKind::LoginThrottled;
                e.reason = Some(RejectionKind::TooManyAttempts.message());
                events.emit(e);
            }
            return Err(Rejection::new(RejectionKind::TooManyAttempts, scheme)
                .with_retry_after(u32::try_from(secs).unwrap_or(u32::MAX)));
        }
        Ok(LoginAttempt {
            throttle: Some(self.clone()),
            keys,
            seen: found,
            scheme,
            audit: audit.map(|(events, e)| (events, with_user(e, username))),
        })
    }

    fn rules(&self) -> [Rule; 3] {
        [
            Rule {
                limit: self.config.max_failures,
                doubling: true,
            },
            Rule {
                limit: self.config.max_failures_per_user,
                doubling: false,
            },
            Rule {
                limit: self.config.max_failures_per_client,
                doubling: false,
            },
        ]
    }

    /// Add one failure to the counter under `key`, by compare-and-set, so
    /// concurrent failures on several instances are all counted. The first
    /// try starts from `seen` (what the attempt read before the password
    /// check), saving a round trip; a lost compare-and-set reads again.
    async fn count(
        &self,
        key: &str,
        rule: Rule,
        mut seen: Option<Option<(Vec<u8>, u64)>>,
    ) -> Result<(), StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let current = match seen.take() {
                Some(value) => value,
                None => self
                    .store
                    .load(std::slice::from_ref(&key.to_owned()))
                    .await?
                    .into_iter()
                    .next()
                    .flatten(),
            };
            let (mut counter, version) = match current {
                Some((bytes, version)) => (Counter::decode(&bytes), version),
                None => (Counter::default(), 0),
            };
            let now = self.clock.now_millis();
            counter.fail(now, rule, &self.config);
            let bytes = serde_json::to_vec(&counter)
                .map_err(|e| StoreError::Backend(format!("throttle counter: {e}")))?;
            let ttl = counter.ttl(now, rule, &self.config);
            if self
                .store
                .compare_and_set(key, version, &bytes, ttl)
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError::Conflict)
    }
}

/// `e` naming the username an attempt gave: client input, so at most
/// [`MAX_EVENT_USER`] bytes of it (cut at a character boundary) reach the
/// event, whatever the application accepted.
fn with_user(mut e: Event, username: &str) -> Event {
    let mut end = username.len().min(MAX_EVENT_USER);
    while !username.is_char_boundary(end) {
        end -= 1;
    }
    e.user = Some(username[..end].to_owned());
    e
}

/// Longest username an audit event repeats.
const MAX_EVENT_USER: usize = 256;

fn unavailable(e: &StoreError, scheme: Scheme) -> Rejection {
    tracing::warn!(error = %e, "login throttle store failure");
    Rejection::new(RejectionKind::StoreUnavailable, scheme)
}

/// The application checks passwords; the core decides everything else. A
/// login handler asks for a [`LoginAttempt`] before the password check (a
/// throttled attempt is answered 429 there, and the password is never
/// checked), then reports how the check went:
///
/// ```
/// use portcullis::{Authenticator, LoginThrottle, RejectionKind, RequestView, SessionHandle};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let auth = Authenticator::builder()
///     .login_throttle(LoginThrottle::default().max_failures(2))
///     .build()
///     .unwrap();
/// let mut view = RequestView::new("POST");
/// view.set_peer_ip("198.51.100.7".parse().unwrap());
/// for _ in 0..2 {
///     let session = SessionHandle::new(auth.authenticate(&view).await);
///     let attempt = session.login_attempt("alice").await.unwrap();
///     // ... the password check fails ...
///     assert_eq!(attempt.failed().await.kind(), RejectionKind::InvalidCredentials);
/// }
/// // The pair is throttled now, even with the right password.
/// let session = SessionHandle::new(auth.authenticate(&view).await);
/// let refused = session.login_attempt("alice").await.unwrap_err();
/// assert_eq!(refused.status(), 429);
/// assert_eq!(refused.retry_after(), Some(60));
/// # });
/// ```
///
/// The rules (defaults in brackets; see [`LoginThrottle`]):
///
/// - **Username + client** [5 failures in 15 min]: that pair is refused for
///   the lockout [60 s]; each further failure before a success refuses it
///   again for twice the previous period [at most 1 h]. A success clears
///   the pair; so do 24 hours without a failure. The lock is keyed on the
///   client too, so an attacker elsewhere cannot lock the real user out.
/// - **Username, all clients** [100 failures in 15 min]: the username is
///   refused for everyone for the lockout (no doubling).
/// - **Client, all usernames** [50 failures in 15 min]: the client is
///   refused for the lockout (no doubling); a success never clears it.
///
/// "Client" is the peer IP after the trusted-proxy rule, an IPv6 address
/// counted per /64. Only a completed, failed credential check counts, and a
/// refused attempt is not counted. An unknown username counts exactly like
/// a known one. Keys in the store are SHA-256 hashes: no username or IP is
/// stored. Attempts that pass the check at the same moment are all
/// answered, so a burst of parallel guesses can exceed a limit by the
/// number of guesses in flight.
///
/// One login attempt that passed the throttle: report how the credential
/// check went with [`failed`](Self::failed) or
/// [`succeeded`](Self::succeeded). Dropping it reports nothing (a request
/// that never completed its check is not a failure). Get one from
/// [`SessionHandle::login_attempt`](crate::SessionHandle::login_attempt) or
/// [`TokenHandle::login_attempt`](crate::TokenHandle::login_attempt).
#[must_use = "report the credential check with `failed` or `succeeded`"]
pub struct LoginAttempt {
    /// `None` when throttling is off.
    throttle: Option<Throttle>,
    keys: [String; 3],
    /// The counters as read before the password check.
    seen: Vec<Option<(Vec<u8>, u64)>>,
    scheme: Scheme,
    /// The sink and the `login.failed` event to emit, when audited.
    audit: Option<(Events, Event)>,
}

impl fmt::Debug for LoginAttempt {
    // The keys are hashes, but of a username and IP: not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("throttled", &self.throttle.is_some())
            .finish_non_exhaustive()
    }
}

impl LoginAttempt {
    /// An attempt with throttling off.
    pub(crate) fn unthrottled(
        scheme: Scheme,
        username: &str,
        audit: Option<(Events, Event)>,
    ) -> Self {
        LoginAttempt {
            throttle: None,
            keys: Default::default(),
            seen: Vec::new(),
            scheme,
            audit: audit.map(|(events, e)| (events, with_user(e, username))),
        }
    }

    /// Emit `login.failed` (when audited).
    fn audit_failure(&self) {
        if let Some((events, e)) = &self.audit {
            let mut e = e.clone();
            e.reason = Some(RejectionKind::InvalidCredentials.message());
            events.emit(e);
        }
    }

    /// The credential check failed (wrong password or unknown user): the
    /// failure is counted, and the answer to send is returned: 401
    /// [`RejectionKind::InvalidCredentials`], or 503 when the count could not
    /// be stored (fail closed).
    pub async fn failed(mut self) -> Rejection {
        self.audit_failure();
        let Some(throttle) = &self.throttle else {
            return Rejection::new(RejectionKind::InvalidCredentials, self.scheme);
        };
        let mut seen = std::mem::take(&mut self.seen).into_iter();
        for (key, rule) in self.keys.iter().zip(throttle.rules()) {
            if let Err(e) = throttle.count(key, rule, seen.next()).await {
                return unavailable(&e, self.scheme);
            }
        }
        Rejection::new(RejectionKind::InvalidCredentials, self.scheme)
    }

    /// The credential check succeeded: the username + client count and its
    /// doubling are cleared (the per-username and per-client counts are
    /// not). Then log the user in.
    ///
    /// # Errors
    /// 503 when the store fails.
    pub async fn succeeded(self) -> Result<(), Rejection> {
        let Some(throttle) = &self.throttle else {
            return Ok(());
        };
        throttle
            .store
            .delete(&self.keys[0])
            .await
            .map_err(|e| unavailable(&e, self.scheme))
    }
}

impl LoginThrottle {
    /// The throttle for an authenticator, or `None` when off.
    pub(crate) fn build(
        self,
        store: Option<Arc<dyn AttemptStore>>,
        shared_store: bool,
        clock: &SharedClock,
    ) -> Result<Option<Throttle>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        self.validate()?;
        let store =
            match store {
                Some(store) => store,
                None if shared_store => return Err(ConfigError::Invalid(
                    "the session store is shared by several instances but offers no login-attempt \
                     store: login throttling would count per process (turn it off with \
                     LoginThrottle::disabled, or use a store that offers one)"
                        .into(),
                )),
                None => Arc::new(MemoryAttempts::new(clock.clone())),
            };
        Ok(Some(Throttle::new(self, store, clock.clone())))
    }
}

#[cfg(test)]
mod tests;
