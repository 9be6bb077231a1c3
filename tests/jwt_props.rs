//! Property tests: the bearer parser and the token verifier never panic on
//! any bytes, and never accept what they should not.

use std::sync::Arc;

use portcullis::clock::ManualClock;
use portcullis::jwt::{parse_bearer, KeyRegistry, TokenService};
use portcullis::request::HeaderLines;
use portcullis::RejectionKind;
use proptest::prelude::*;

fn lines(values: &[Vec<u8>]) -> HeaderLines<'_> {
    let mut l = HeaderLines::default();
    for v in values {
        l.push(v);
    }
    l
}

fn b64token_char() -> impl Strategy<Value = u8> {
    prop::sample::select(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/".to_vec(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn bearer_never_panics(values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..10)) {
        let l = lines(&values);
        if let Ok(Some(token)) = parse_bearer(&l) {
            // Whatever is returned is one non-empty b64token.
            prop_assert!(!token.is_empty());
            prop_assert!(token.iter().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(values.len(), 1);
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive(
        scheme in "[bB][eE][aA][rR][eE][rR]",
        spaces in " {1,3}",
        body in prop::collection::vec(b64token_char(), 1..40),
        pad in 0usize..3,
    ) {
        let mut token = body.clone();
        token.extend(std::iter::repeat_n(b'=', pad));
        let value = [scheme.as_bytes(), spaces.as_bytes(), &token].concat();
        let v = vec![value];
        let l = lines(&v);
        prop_assert_eq!(parse_bearer(&l), Ok(Some(&token[..])));
        // Two tokens, or the same header twice: malformed.
        let two = vec![[v[0].clone(), b" x".to_vec()].concat()];
        prop_assert_eq!(parse_bearer(&lines(&two)), Err(RejectionKind::MalformedRequest));
        let twice = vec![v[0].clone(), v[0].clone()];
        prop_assert_eq!(parse_bearer(&lines(&twice)), Err(RejectionKind::MalformedRequest));
    }

    #[test]
    fn verifier_never_panics_nor_accepts_garbage(raw in prop::collection::vec(any::<u8>(), 0..600)) {
        let svc = service();
        prop_assert!(svc.verify(&raw).is_err());
        prop_assert!(svc.keys().verify_jws(&raw).is_err());
    }

    #[test]
    fn verifier_refuses_any_single_byte_change(pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let svc = service();
        let token = TOKEN.with(|t| t.clone());
        let mut t = token.into_bytes();
        let i = pos.index(t.len());
        prop_assume!(t[i] != byte);
        t[i] = byte;
        prop_assert!(svc.verify(&t).is_err());
    }

    #[test]
    fn verifier_handles_structured_junk(
        h in "[A-Za-z0-9_-]{0,80}",
        p in "[A-Za-z0-9_-]{0,200}",
        s in "[A-Za-z0-9_-]{0,90}",
    ) {
        let svc = service();
        let t = format!("{h}.{p}.{s}");
        prop_assert!(svc.verify(t.as_bytes()).is_err());
    }
}

thread_local! {
    static SVC: TokenService = TokenService::builder(KeyRegistry::hs256("k1", &[5u8; 32]).unwrap())
        .clock(Arc::new(ManualClock::new(1_700_000_000)))
        .build()
        .unwrap();
    static TOKEN: String = SVC.with(|s| {
        let c = s.claims_for("alice", &["user".into()]).unwrap();
        s.sign(&c).unwrap()
    });
}

fn service() -> TokenService {
    SVC.with(Clone::clone)
}

#[test]
fn the_mutated_token_is_valid_to_begin_with() {
    let svc = service();
    let token = TOKEN.with(Clone::clone);
    assert!(svc.verify(token.as_bytes()).is_ok());
}
