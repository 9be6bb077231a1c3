//! Two token services that differ only in their verified-token cache,
//! sharing one manual clock, refresh store and revocation list: whatever
//! one does (issue, logout) the other sees, so their answers can be
//! compared request by request.

use std::sync::Arc;

use portcullis::clock::{Clock, ManualClock};
use portcullis::jwt::{KeyRegistry, MemoryRevocationList, TokenService};
use portcullis::store::MemoryStore;

/// `(service with `slots` cache slots, service without a cache, clock)`.
pub fn cache_twins(
    secret: &[u8],
    now: u64,
    slots: usize,
) -> (TokenService, TokenService, ManualClock) {
    let clock = ManualClock::new(now);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let store = Arc::new(MemoryStore::with_clock(shared.clone()));
    let revocations = Arc::new(MemoryRevocationList::new(shared.clone()));
    let svc = |slots| {
        portcullis::Authenticator::builder()
            .without_sessions()
            .clock(shared.clone())
            .store(store.clone())
            .revocations(revocations.clone())
            .tokens(
                portcullis::jwt::TokenConfig::new(
                    KeyRegistry::hs256("k1", secret).expect("a valid secret"),
                )
                .verified_cache(slots),
            )
            .build()
            .map(|a| a.tokens().expect("token mode").clone())
            .expect("a valid configuration")
    };
    (svc(slots), svc(0), clock)
}
