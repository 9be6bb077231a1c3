//! Time behind an injectable clock, so expiry can be tested without
//! sleeping. Points in time are whole seconds since the Unix epoch (`u64`,
//! the unit of JWT `exp`/`iat` and of every expiry in a
//! [`SessionRecord`](crate::store::SessionRecord)); spans are
//! [`Duration`]s.
//!
//! The [`Authenticator`](crate::Authenticator) uses the system wall clock
//! unless given another with
//! [`AuthenticatorBuilder::clock`](crate::AuthenticatorBuilder::clock); it
//! hands the same clock to its store (see
//! [`SessionStore`](crate::store::SessionStore) for which clock a store's
//! own expiry uses) and its token settings.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
///
/// ```
/// use portcullis::clock::{Clock, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::new(1_000);
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(clock.now(), 1_030);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time in milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
    /// The current time in whole seconds since the Unix epoch.
    fn now(&self) -> u64 {
        self.now_millis() / 1000
    }
}

pub(crate) use system::SystemClock;

/// The default clock, nameable only by this crate (and its own tests).
pub(crate) mod system {
    use super::{Clock, SystemTime, UNIX_EPOCH};

    /// The system wall clock (the default).
    #[derive(Debug, Clone, Copy, Default)]
    pub struct SystemClock;

    impl Clock for SystemClock {
        fn now_millis(&self) -> u64 {
            // u64 arithmetic: `Duration::as_millis` goes through u128.
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| {
                    d.as_secs()
                        .saturating_mul(1000)
                        .saturating_add(u64::from(d.subsec_millis()))
                })
                .unwrap_or(0)
        }
        // Read on every request: skip the millisecond round trip.
        fn now(&self) -> u64 {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        }
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use portcullis::clock::{Clock, ManualClock};
/// let a = ManualClock::new(10);
/// let b = a.clone();
/// a.set(99);
/// assert_eq!(b.now(), 99);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock standing at `now` (seconds since the Unix epoch).
    #[must_use]
    pub fn new(now: u64) -> Self {
        ManualClock(Arc::new(AtomicU64::new(now.saturating_mul(1000))))
    }
    /// Move the clock forward by `by` (to the millisecond).
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
    /// Set the clock (seconds since the Unix epoch).
    pub fn set(&self, now: u64) {
        self.0.store(now.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// How the crate holds a clock.
pub(crate) type SharedClock = Arc<dyn Clock>;

/// How long a subject cut-off is kept, in whole seconds, rounded up: one
/// kept a fraction too long refuses nothing it should not; one forgotten
/// too early lets a token back in.
pub(crate) fn retention_secs(retention: std::time::Duration) -> u64 {
    retention
        .as_secs()
        .saturating_add(u64::from(retention.subsec_nanos() > 0))
}

/// A shared clock is a clock: `Arc<dyn Clock>` and `Arc<ManualClock>` can be
/// handed to the builders as they are.
impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_millis(&self) -> u64 {
        (**self).now_millis()
    }
    fn now(&self) -> u64 {
        (**self).now()
    }
}
