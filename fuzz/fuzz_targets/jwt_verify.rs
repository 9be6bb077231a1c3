//! Fuzz token verification with arbitrary bytes as the token: every public
//! entry point — `TokenService::verify`, `verify_payload`, `authenticate`,
//! and `KeyRegistry::verify_jws` on a two-key and a one-key registry —
//! over an HS256 registry with key rotation (`k1` active, `k2` accepted),
//! an issuer, an audience and an allow-listed `crit` extension. The seed
//! corpus (fuzz/seeds/jwt_verify, written by `cargo run --example seeds`)
//! holds real tokens: issued ones, ones signed by `k2`, without `kid`, with
//! an unknown or oversized `kid`, with `crit` (allowed, unknown, missing
//! member), `typ` variants, `alg: none`, and the RFC 7515 A.1 example, so
//! the header JSON, `kid` and `crit` paths are reached from the start.
//!
//! Oracles: nothing panics; whatever any entry point accepts carries the
//! exact HMAC of its signing input under a registered key; `verify` and
//! `authenticate` agree; accepted claims satisfy the policy and agree with
//! a plain `serde_json` parse of the payload.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let w = common::world();
    let verified = w.tokens.verify(data);
    let authenticated = w.rt.block_on(w.tokens.authenticate(data));
    common::assert_agree(data, verified.is_ok(), authenticated.is_ok());
    if let Ok(claims) = &verified {
        common::assert_properly_signed(data);
        common::assert_claims_sound(data);
        let who = authenticated.as_ref().expect("verify implies authenticate");
        assert_eq!(who.subject(), claims.sub);
    }
    if w.tokens.verify_payload::<serde_json::Value>(data).is_ok() {
        common::assert_properly_signed(data);
    }
    for registry in [w.tokens.keys(), &w.single] {
        if let Ok(jws) = portcullis::__private::verify_jws(&registry, data) {
            common::assert_properly_signed(data);
            assert!(jws.kid == common::K1.0 || jws.kid == common::K2.0);
        }
    }
});
