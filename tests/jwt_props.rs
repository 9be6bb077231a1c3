//! Property tests: the bearer parser and the token verifier never panic on
//! any bytes, and never accept what they should not.

use std::sync::Arc;
use std::time::Duration;

use portcullis::__private::HeaderLines;
use portcullis::clock::ManualClock;
use portcullis::RejectionKind;
use portcullis::{
    __private::parse_bearer,
    jwt::{KeyRegistry, TokenService},
};
use proptest::prelude::*;

#[path = "support/cache_twins.rs"]
mod cache_twins;
use cache_twins::cache_twins;

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
        prop_assert!(portcullis::__private::verify_jws(svc.keys(), &raw).is_err());
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
    static SVC: TokenService = portcullis::Authenticator::builder().without_sessions().clock(Arc::new(ManualClock::new(1_700_000_000))).tokens(portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", &[5u8; 32]).unwrap())).build().map(|a| a.tokens().expect("token mode").clone())
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

/// One step of the cache differential test.
#[derive(Debug, Clone)]
enum Op {
    /// Present token `i`, with byte `pos` replaced by `byte` if given.
    Present(usize, Option<(prop::sample::Index, u8)>),
    /// Move the clock by this many seconds (negative: back).
    Clock(i64),
    /// Log token `i` out.
    Logout(usize),
    /// Log every token of the subject out.
    LogoutAll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..4, prop::option::of((any::<prop::sample::Index>(), any::<u8>())))
            .prop_map(|(i, m)| Op::Present(i, m)),
        2 => (-90i64..600).prop_map(Op::Clock),
        1 => (0usize..4).prop_map(Op::Logout),
        1 => Just(Op::LogoutAll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The verified-token cache never changes an answer: a service with a
    /// tiny cache (forcing replacements) and one without it, sharing clock,
    /// store and revocation list, agree on every request of any sequence of
    /// presentations, tamperings, clock moves and logouts.
    #[test]
    fn verified_cache_never_changes_an_answer(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let (cached, plain, clock) = cache_twins(&[5u8; 32], 1_700_000_000, 2);
            let mut tokens = Vec::new();
            for who in ["alice", "alice", "bob", "carol"] {
                tokens.push(cached.issue(who, &["user".into()]).await.unwrap().access_token);
                clock.advance(Duration::from_millis(1));
            }
            let mut now = 1_700_000_000i64;
            for op in ops {
                match op {
                    Op::Present(i, m) => {
                        let mut t = tokens[i].clone().into_bytes();
                        if let Some((pos, byte)) = m {
                            let p = pos.index(t.len());
                            t[p] = byte;
                        }
                        let a = cached.authenticate(&t).await;
                        let b = plain.authenticate(&t).await;
                        prop_assert_eq!(a, b);
                    }
                    Op::Clock(d) => {
                        now += d;
                        clock.set(u64::try_from(now).unwrap());
                    }
                    Op::Logout(i) => {
                        if let Ok(who) = plain.authenticate(tokens[i].as_bytes()).await {
                            plain.logout(&who).await.unwrap();
                        }
                    }
                    Op::LogoutAll => {
                        clock.advance(Duration::from_millis(1));
                        plain.logout_all("alice").await.unwrap();
                    }
                }
            }
            Ok(())
        })?;
    }
}
