//! Fuzz `Authorization` parsing: arbitrary bytes split on `\n` into one or
//! several `Authorization` header lines (many, up to `MAX_HEADER_BYTES`
//! exercises the overflow), through `portcullis::__private::parse_bearer`, then
//! the whole request through `Authenticator::authenticate` (token mode on an
//! HS256 registry; seeds carry a valid `Bearer` header).
//!
//! Oracles (RFC 6750 §2.1 as the module documents it): a token is returned
//! only for exactly one line whose scheme is `Bearer` (any case), and it is
//! a non-empty b64token (`A-Za-z0-9-._~+/` then only `=`), cut from that
//! line with only SP/HTAB trimmed; two or more lines are always refused;
//! a request authenticates only with a token `verify` accepts.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use portcullis::__private::{parse_bearer, HeaderLines};
use portcullis::RequestView;
use portcullis::{AuthState, RejectionKind};

fn is_b64token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

fuzz_target!(|data: &[u8]| {
    let mut view = RequestView::new("GET");
    let mut authorization = HeaderLines::default();
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for line in &lines {
        view.add_header("authorization", line);
        authorization.push(line);
    }
    let parsed = parse_bearer(&authorization);
    match parsed {
        Ok(Some(token)) => {
            assert_eq!(lines.len(), 1, "a token from several Authorization lines");
            let line = lines[0];
            let trimmed = {
                let mut l = line;
                while let [b' ' | b'\t', r @ ..] = l {
                    l = r;
                }
                while let [r @ .., b' ' | b'\t'] = l {
                    l = r;
                }
                l
            };
            assert!(trimmed.len() > 6 && trimmed[..6].eq_ignore_ascii_case(b"bearer"));
            assert!(matches!(trimmed[6], b' ' | b'\t'));
            assert!(
                trimmed.ends_with(token),
                "the token is not the end of the line"
            );
            let body = token
                .iter()
                .position(|&b| !is_b64token_char(b))
                .unwrap_or(token.len());
            assert!(body > 0 && token[body..].iter().all(|&b| b == b'='));
        }
        Ok(None) => assert!(
            lines.len() <= 1,
            "several Authorization lines were not refused"
        ),
        Err(kind) => assert_eq!(kind, RejectionKind::MalformedRequest),
    }

    let w = common::world();
    let outcome = w.rt.block_on(w.auth.authenticate(&view));
    if let AuthState::Authenticated(_) = outcome.state {
        let token = parsed
            .ok()
            .flatten()
            .expect("authenticated without a bearer token");
        assert!(w.tokens.verify(token).is_ok());
        common::assert_properly_signed(token);
    }
});
