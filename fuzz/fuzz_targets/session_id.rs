//! Fuzz session-ID decoding: `SessionId::decode`, `IdSigner::verify` (with a
//! rotated key set) and `SessionKey::from_hex` on arbitrary text.
//!
//! Invariants: whatever decodes is canonical (re-encodes to the same text),
//! whatever verifies is exactly `<id>.<tag>` under one of the accepted keys,
//! and nothing panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis::__private::{sign, verify_id, SessionId};
use portcullis::__private::IdSigner;
use portcullis::store::SessionKey;

fn signers() -> &'static (IdSigner, IdSigner, IdSigner) {
    static S: OnceLock<(IdSigner, IdSigner, IdSigner)> = OnceLock::new();
    S.get_or_init(|| {
        let new = IdSigner::new(&[0x42; 32]).expect("key");
        let old = IdSigner::new(&[0x24; 32]).expect("key");
        let both = IdSigner::new(&[0x42; 32])
            .and_then(|s| s.also_accept(&[0x24; 32]))
            .expect("keys");
        (new, old, both)
    })
}

fn check(text: &str) {
    if let Some(id) = SessionId::decode(text) {
        assert_eq!(id.encode(), text, "non-canonical ID accepted");
    }
    let (new, old, both) = signers();
    let by_both = verify_id(both, text);
    let by_new = verify_id(new, text);
    let by_old = verify_id(old, text);
    // Rotation accepts exactly the union of the single-key verifiers.
    assert_eq!(by_both.is_some(), by_new.is_some() || by_old.is_some());
    if let Some(id) = by_new {
        assert_eq!(sign(new, &id), text, "non-canonical signed value accepted");
    }
    if let Some(id) = by_old {
        assert_eq!(sign(old, &id), text, "non-canonical signed value accepted");
    }
    if let Some(key) = SessionKey::from_hex(text) {
        assert_eq!(key.to_hex(), text);
    }
}

fuzz_target!(|data: &[u8]| {
    match std::str::from_utf8(data) {
        Ok(text) => check(text),
        Err(_) => check(&String::from_utf8_lossy(data)),
    }
});
