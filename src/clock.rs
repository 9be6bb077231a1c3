//! Time as whole seconds since the Unix epoch, behind an injectable clock so
//! expiry can be tested without sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (the unit of JWT `exp`/`iat` and of every
/// expiry in a [`SessionRecord`](crate::store::SessionRecord)).
pub type UnixTime = u64;

/// A source of the current time.
///
/// ```
/// use portcullis::clock::{Clock, ManualClock};
/// let clock = ManualClock::new(1_000);
/// clock.advance(30);
/// assert_eq!(clock.now(), 1_030);
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time in milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
    /// The current time in whole seconds.
    fn now(&self) -> UnixTime {
        self.now_millis() / 1000
    }
}

/// The system wall clock.
///
/// ```
/// use portcullis::clock::{Clock, SystemClock};
/// assert!(SystemClock.now() > 1_600_000_000);
/// ```
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
    fn now(&self) -> UnixTime {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
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
    /// A clock standing at `now` (seconds).
    #[must_use]
    pub fn new(now: UnixTime) -> Self {
        ManualClock(Arc::new(AtomicU64::new(now.saturating_mul(1000))))
    }
    /// Move the clock forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.advance_millis(secs.saturating_mul(1000));
    }
    /// Move the clock forward by `millis`.
    pub fn advance_millis(&self, millis: u64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
    /// Set the clock (seconds).
    pub fn set(&self, now: UnixTime) {
        self.0.store(now.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;
