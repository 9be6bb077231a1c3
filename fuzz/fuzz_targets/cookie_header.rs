//! Fuzz the `Cookie` request-header path: arbitrary bytes, split on `\n`
//! into several `Cookie` header lines (HTTP/2 splits them; more than
//! `MAX_HEADER_BYTES` exercises the overflow), read by
//! `CookiePolicy::values`, each value decoded with `SessionId::decode` and
//! `IdSigner::verify`, and the whole request run through
//! `Authenticator::authenticate` (plain and signed cookies, with one live
//! session whose cookie is in the seed corpus so the store-hit and CSRF
//! paths are reached).
//!
//! Input layout: byte 0 = flags (bit 0: signed cookies, bit 1: POST instead
//! of GET, bit 2: send the live session's CSRF token), the rest = header lines.
//!
//! Invariants checked (a failure aborts, so libFuzzer reports it):
//! - at most `MAX_CANDIDATES` values, each non-empty, at most
//!   `MAX_COOKIE_VALUE_LEN` bytes, in the base64url/`.` alphabet;
//! - a value that decodes re-encodes to itself (canonical form only);
//! - a value that verifies is exactly what the signer would produce;
//! - `authenticate` never panics, and only the live session's own cookie
//!   can authenticate.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use portcullis::clock::ManualClock;
use portcullis::CookiePolicy;
use portcullis::__private::{cookie_values, sign, verify_id, MAX_CANDIDATES, MAX_COOKIE_VALUE_LEN};
use portcullis::__private::{IdSigner, SessionId};
use portcullis::RequestView;
use portcullis::SessionConfig;
use portcullis::store::{MemoryStore, SessionRecord, SessionStore};
use portcullis::{AuthState, Authenticator};

/// The live session's raw ID (seeds carry its cookie).
const LIVE_ID: [u8; 32] = [7; 32];
/// The live session's CSRF secret.
const LIVE_SECRET: [u8; 32] = [9; 32];
const SIGNING_KEY: [u8; 32] = [0x42; 32];
const OLD_SIGNING_KEY: [u8; 32] = [0x24; 32];
const NOW: u64 = 1_700_000_000;

struct World {
    rt: tokio::runtime::Runtime,
    plain: Authenticator,
    signed: Authenticator,
    signer: IdSigner,
    policy: CookiePolicy,
}

fn signer() -> IdSigner {
    IdSigner::new(&SIGNING_KEY)
        .and_then(|s| s.also_accept(&OLD_SIGNING_KEY))
        .expect("valid signing keys")
}

fn authenticator(rt: &tokio::runtime::Runtime, config: SessionConfig) -> Authenticator {
    let clock = ManualClock::new(NOW);
    let store = Arc::new(MemoryStore::with_clock(clock.clone()));
    let mut record = SessionRecord::new("fuzz", NOW, 1800, 43_200);
    record.secret = LIVE_SECRET;
    rt.block_on(store.create(&SessionId::from_bytes(LIVE_ID).key(), &record))
        .expect("seed session");
    Authenticator::builder()
        .store(store)
        .clock(clock)
        .sessions(config)
        .build()
        .expect("valid authenticator")
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let plain = authenticator(&rt, SessionConfig::default());
        let signed = authenticator(&rt, SessionConfig::default()
                .signing_key(&SIGNING_KEY)
                .also_accept_signing_key(&OLD_SIGNING_KEY));
        World {
            rt,
            plain,
            signed,
            signer: signer(),
            policy: CookiePolicy::default(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let w = world();
    let signed = flags & 1 != 0;
    let mut view = RequestView::new(if flags & 2 != 0 { "POST" } else { "GET" });
    for line in rest.split(|&b| b == b'\n') {
        view.add_header("cookie", line);
    }
    let token = portcullis::__private::encode_token(&LIVE_SECRET);
    if flags & 4 != 0 {
        view.add_header("x-csrf-token", token.as_bytes());
    }

    let mut n = 0;
    for value in cookie_values(&w.policy, &view) {
        n += 1;
        assert!(!value.is_empty() && value.len() <= MAX_COOKIE_VALUE_LEN);
        assert!(value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        if let Some(id) = SessionId::decode(value) {
            assert_eq!(id.encode(), value, "a non-canonical ID decoded");
        }
        if let Some(id) = verify_id(&w.signer, value) {
            assert_eq!(sign(&w.signer, &id).len(), value.len());
            // Signed by the active or the old key: either way the ID part is canonical.
            assert_eq!(&value[..43], id.encode());
        }
    }
    assert!(n <= MAX_CANDIDATES);

    let auth = if signed { &w.signed } else { &w.plain };
    let outcome = w.rt.block_on(auth.authenticate(&view));
    if let AuthState::Authenticated(who) = &outcome.state {
        assert_eq!(who.subject(), "fuzz");
        let live = SessionId::from_bytes(LIVE_ID);
        // The only way in is the live session's cookie (signed with either key).
        let named_live = cookie_values(&w.policy, &view).into_iter().any(|v| {
            let id = if signed {
                verify_id(&w.signer, v)
            } else {
                SessionId::decode(v)
            };
            id.is_some_and(|id| id == live)
        });
        assert!(
            named_live,
            "authenticated without the live session's cookie"
        );
    }
});
