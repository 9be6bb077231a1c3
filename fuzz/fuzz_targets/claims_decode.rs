//! Fuzz the JOSE header and JWT claims decoders *behind* a valid signature.
//!
//! There is no public pre-parse entry point (the claims parser is
//! crate-private), so this target signs the fuzzer's bytes itself with the
//! registry's HS256 secret: every input reaches header and claims parsing
//! instead of stopping at the signature check.
//!
//! Input layout: byte 0 = flags; bit 0 clear: the header is the exact one
//! the service signs with (its byte-identical fast path) and the rest is
//! the payload; bit 0 set: the rest is `header JSON` 0x00 `payload JSON`;
//! bit 1: sign with the older key `k2` instead of `k1`.
//!
//! Oracles: nothing panics; `verify` and `authenticate` agree (also when
//! the same token is presented again and served from the verified-token
//! cache); an accepted token's claims satisfy the policy (exp/nbf/iat with leeway, iss, aud,
//! sub, jti) and agree with a plain `serde_json` parse of the payload;
//! `verify_claims` into a map agrees with `verify`.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// The header JSON the service signs with (decoded from an issued token).
fn service_header() -> &'static [u8] {
    static H: OnceLock<Vec<u8>> = OnceLock::new();
    H.get_or_init(|| {
        use base64::Engine as _;
        let w = common::world();
        let claims = w.tokens.claims_for("seed", &[]).expect("claims");
        let token = w.tokens.sign(&claims).expect("sign");
        let h = token.split('.').next().expect("header segment");
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .expect("canonical")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (header, payload) = if flags & 1 == 0 {
        (service_header(), rest)
    } else {
        match rest.iter().position(|&b| b == 0) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        }
    };
    let secret: &[u8] = if flags & 2 == 0 {
        common::K1.1
    } else {
        common::K2.1
    };
    let token = common::sign_raw(secret, header, payload);
    let token = token.as_bytes();

    let w = common::world();
    let verified = w.tokens.verify(token);
    let authenticated = w.rt.block_on(w.tokens.authenticate(token));
    common::assert_agree(token, verified.is_ok(), authenticated.is_ok());
    // The same bytes again: a verified-token cache hit must answer alike.
    let again = w.rt.block_on(w.tokens.authenticate(token));
    assert_eq!(authenticated, again, "a cache hit changed the answer");
    let as_map = w
        .tokens
        .verify_claims::<serde_json::Map<String, serde_json::Value>>(token);
    assert_eq!(verified.is_ok(), as_map.is_ok());
    if verified.is_ok() {
        common::assert_claims_sound(token);
    }
    let _ = w.tokens.verify_payload::<serde_json::Value>(token);
});
