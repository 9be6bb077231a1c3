//! Cookie policy and Cookie-header parsing (internal steps: formatting
//! `Set-Cookie`, finding our values among the header lines).

use super::{CookiePolicy, SameSite, MAX_CANDIDATES, MAX_COOKIE_VALUE_LEN};
use crate::id::{IdSigner, SessionId};
use crate::request::{HeaderLines, RequestView, MAX_HEADER_BYTES};
use proptest::prelude::*;

fn lines<'a>(values: &[&'a [u8]]) -> HeaderLines<'a> {
    let mut h = HeaderLines::default();
    for v in values {
        h.push(v);
    }
    h
}

fn found<'a>(p: &'a CookiePolicy, values: &[&'a [u8]]) -> Vec<&'a str> {
    p.values(&lines(values)).collect()
}

#[test]
fn defaults_are_secure() {
    let p = CookiePolicy::default();
    let c = p.set_cookie("v", Some(10));
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=10"] {
        assert!(c.contains(attr), "{attr} missing from {c}");
    }
    assert!(c.starts_with("__Host-id=v"));
    assert!(!c.contains("Domain"));
    let r = p.removal_cookie();
    assert!(r.starts_with("__Host-id=;"), "{r}");
    assert!(r.contains("Max-Age=0") && r.contains("Secure") && r.contains("Path=/"));
}

#[test]
fn contradictions_are_refused_at_build_time() {
    let cases = [
        CookiePolicy::default()
            .name("x")
            .same_site(SameSite::None)
            .insecure_no_secure(),
        CookiePolicy::default()
            .name("__Host-x")
            .domain("example.com"),
        CookiePolicy::default().name("__Host-x").path("/app"),
        CookiePolicy::default()
            .name("__Host-x")
            .insecure_no_secure(),
        CookiePolicy::default()
            .name("__Secure-x")
            .insecure_no_secure(),
        CookiePolicy::default().name(""),
        CookiePolicy::default().name("a b"),
        CookiePolicy::default().name("a;b"),
        CookiePolicy::default().name("x").path("no-slash"),
        CookiePolicy::default().name("x").path("/a;b"),
    ];
    for (i, b) in cases.into_iter().enumerate() {
        assert!(b.validate().is_err(), "case {i} should be refused");
    }
    assert!(CookiePolicy::default()
        .name("__Secure-x")
        .domain("example.com")
        .path("/app")
        .validate()
        .is_ok());
    assert!(CookiePolicy::default()
        .name("sid")
        .insecure_no_secure()
        .validate()
        .is_ok());
    let none = CookiePolicy::default().name("x").same_site(SameSite::None);
    assert!(none
        .set_cookie("v", Some(1))
        .contains("SameSite=None; Secure"));
}

#[test]
fn browser_session_cookie_has_no_max_age() {
    let p = CookiePolicy::default().browser_session_cookie();
    assert!(!p.persistent_by_default() && CookiePolicy::default().persistent_by_default());
    assert!(!p.set_cookie("v", None).contains("Max-Age"));
    assert!(!p.set_cookie("v", None).contains("Expires"));
}

#[test]
fn finds_by_exact_name_across_lines() {
    let p = CookiePolicy::default();
    assert_eq!(found(&p, &[b"a=1; __Host-id=abc; b=2"]), ["abc"]);
    assert_eq!(found(&p, &[b"a=1", b"b=2;__Host-id=abc"]), ["abc"]);
    // Case, whitespace tricks and encodings do not match.
    assert!(found(&p, &[b"__host-id=abc"]).is_empty());
    assert!(found(&p, &["\u{2000}__Host-id=abc".as_bytes()]).is_empty());
    assert!(found(&p, &[b"%5F%5FHost-id=abc"]).is_empty());
    assert!(found(&p, &[b"x__Host-id=abc"]).is_empty());
    // Optional whitespace (SP / HTAB only) and DQUOTEs are allowed.
    assert_eq!(found(&p, &[b"a=1;\t __Host-id=abc \t"]), ["abc"]);
    assert_eq!(found(&p, &[b"__Host-id=\"abc\""]), ["abc"]);
}

#[test]
fn malformed_pairs_never_hide_a_valid_one() {
    let p = CookiePolicy::default();
    let junk: &[u8] = b"=; ;;garbage; x=\xff\xfe; __Host-id=; __Host-id=a b; __Host-id=ok; y";
    assert_eq!(found(&p, &[junk]), ["ok"]);
    let long = format!("__Host-id={}", "a".repeat(MAX_COOKIE_VALUE_LEN + 1));
    assert!(found(&p, &[long.as_bytes()]).is_empty());
    assert!(found(&p, &[b"__Host-id=%41"]).is_empty());
    assert!(found(&p, &[b""]).is_empty());
}

#[test]
fn duplicates_are_candidates_in_order_up_to_the_limit() {
    let p = CookiePolicy::default();
    assert_eq!(
        found(&p, &[b"__Host-id=first; __Host-id=second"]),
        ["first", "second"]
    );
    let many = "__Host-id=v; ".repeat(MAX_CANDIDATES + 3);
    assert_eq!(found(&p, &[many.as_bytes()]).len(), MAX_CANDIDATES);
}

/// H1 (review): HTTP/2 and HTTP/3 browsers send each cookie as its own
/// line; the old cap of 8 lines lost our cookie behind older ones.
#[test]
fn h1_session_cookie_found_after_many_cookie_lines() {
    for before in [0usize, 1, 8, 9, 64, 500] {
        let crumbs: Vec<String> = (0..before).map(|i| format!("c{i}=v{i}")).collect();
        let mut view = RequestView::new("GET");
        for c in &crumbs {
            view.add_header("cookie", c.as_bytes());
        }
        view.add_header("cookie", b"__Host-id=late");
        assert!(!view.cookie_headers.overflowed(), "{before} lines");
        let found: Vec<&str> = CookiePolicy::default()
            .values(&view.cookie_headers)
            .collect();
        assert_eq!(found, ["late"], "after {before} lines");
    }
    // 16 KiB of other cookies in few lines, or in many.
    let big = format!("junk={}", "j".repeat(16 * 1024));
    let mut view = RequestView::new("GET");
    view.add_header("cookie", big.as_bytes());
    view.add_header("cookie", b"__Host-id=late");
    assert_eq!(
        CookiePolicy::default()
            .values(&view.cookie_headers)
            .collect::<Vec<_>>(),
        ["late"]
    );
}

#[test]
fn h1_cookie_lines_past_the_byte_cap_are_ignored_not_fatal() {
    let chunk = format!("junk={}", "j".repeat(1024));
    let mut view = RequestView::new("GET");
    for _ in 0..(MAX_HEADER_BYTES / chunk.len() + 1) {
        view.add_header("cookie", chunk.as_bytes());
    }
    view.add_header("cookie", b"__Host-id=late");
    assert!(view.cookie_headers.overflowed());
    assert!(CookiePolicy::default()
        .values(&view.cookie_headers)
        .next()
        .is_none());
}

#[test]
fn signed_ids_reject_forgery_and_truncation() {
    let s = IdSigner::new(&[3u8; 32]).unwrap();
    let id = SessionId::generate().unwrap();
    let v = s.sign(&id);
    assert_eq!(v.len(), 87);
    assert!(s.verify(v.as_bytes()).unwrap() == id);
    let mut forged = v.clone().into_bytes();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    assert!(s.verify(&forged).is_none());
    assert!(s.verify(&v.as_bytes()[..86]).is_none());
    assert!(s.verify(id.encode().as_bytes()).is_none());
    assert!(IdSigner::new(&[0u8; 31]).is_err());
    assert!(IdSigner::new(&[9u8; 32])
        .unwrap()
        .verify(v.as_bytes())
        .is_none());
}

proptest! {
    #[test]
    fn any_cookie_header_bytes_never_panic(lines_in in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..10)) {
        let p = CookiePolicy::default();
        let refs: Vec<&[u8]> = lines_in.iter().map(Vec::as_slice).collect();
        let mut view = RequestView::new("GET");
        for r in &refs {
            view.add_header("cookie", r);
        }
        for v in p.values(&view.cookie_headers) {
            prop_assert!(!v.is_empty() && v.len() <= MAX_COOKIE_VALUE_LEN);
            prop_assert!(v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
            let _ = SessionId::decode(v);
        }
    }

    #[test]
    fn ids_round_trip_through_the_cookie(bytes in any::<[u8; 32]>(), prefix in "[a-z]{1,5}=[a-z0-9]{0,5}") {
        let id = SessionId::from_bytes(bytes);
        let p = CookiePolicy::default();
        let header = format!("{prefix}; {}", p.set_cookie(&id.encode(), Some(60)).split(';').next().unwrap());
        let got: Vec<&str> = p.values(&lines(&[header.as_bytes()])).collect();
        prop_assert_eq!(got.len(), 1);
        prop_assert!(SessionId::decode(got[0]).unwrap() == id);
    }

    #[test]
    fn non_canonical_ids_are_refused(text in "[A-Za-z0-9_-]{0,50}") {
        if let Some(id) = SessionId::decode(&text) {
            // Only the canonical encoding decodes.
            prop_assert_eq!(id.encode(), text);
        }
    }
}

/// The reader as first written (split at `;`, trim, find `=`, unwrap
/// DQUOTEs, check each byte): the one-pass reader must find exactly what
/// this finds.
fn reference<'h>(name: &str, headers: &HeaderLines<'h>) -> Vec<&'h str> {
    fn trim_sp(mut s: &[u8]) -> &[u8] {
        while let [b' ' | b'\t', rest @ ..] = s {
            s = rest;
        }
        while let [rest @ .., b' ' | b'\t'] = s {
            s = rest;
        }
        s
    }
    let value_char = |b: u8| b.is_ascii_alphanumeric() || b"-_.".contains(&b);
    let mut out = Vec::new();
    for line in headers.iter() {
        for pair in line.split(|&b| b == b';') {
            let pair = trim_sp(pair);
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            if &pair[..eq] != name.as_bytes() {
                continue;
            }
            let mut v = trim_sp(&pair[eq + 1..]);
            if v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"' {
                v = &v[1..v.len() - 1];
            }
            if !v.is_empty() && v.len() <= MAX_COOKIE_VALUE_LEN && v.iter().all(|&b| value_char(b))
            {
                out.push(std::str::from_utf8(v).unwrap());
            }
        }
    }
    out.truncate(MAX_CANDIDATES);
    out
}

/// Pieces that make the reader's decisions: our name and near misses,
/// separators, quotes, whitespace it trims and whitespace it does not,
/// value bytes, bytes outside the alphabet, and a value one byte too long.
const PIECES: &[&[u8]] = &[
    b"__Host-id",
    b"__Host-idx",
    b"__host-id",
    b"_Host-id",
    b"=",
    b";",
    b" ",
    b"\t",
    b"\r",
    b"\"",
    b"abc",
    b"A-_.9",
    b"x",
    b",",
    b"\xc3\xa9",
    b"\0",
];

fn line_from(picks: &[usize], long: bool) -> Vec<u8> {
    let mut line: Vec<u8> = picks
        .iter()
        .flat_map(|&i| PIECES[i % PIECES.len()].to_vec())
        .collect();
    if long {
        line.extend_from_slice(b"; __Host-id=");
        line.extend(std::iter::repeat_n(
            b'a',
            MAX_COOKIE_VALUE_LEN + (picks.len() % 2),
        ));
    }
    line
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn the_one_pass_reader_finds_what_splitting_finds(
        first in prop::collection::vec(any::<usize>(), 0..14),
        second in prop::collection::vec(any::<usize>(), 0..6),
        long in any::<bool>(),
    ) {
        let (a, b) = (line_from(&first, long), line_from(&second, false));
        let headers = lines(&[&a, &b]);
        for name in ["__Host-id", "x"] {
            let p = CookiePolicy::default().name(name);
            let got: Vec<&str> = p.values(&headers).collect();
            prop_assert_eq!(got, reference(name, &headers), "{:?} {:?}", String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
        }
    }
}

#[test]
fn ids_do_not_collide_in_a_large_sample() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..100_000 {
        assert!(seen.insert(*SessionId::generate().unwrap().as_bytes()));
    }
}

#[test]
fn h1_a_flood_of_empty_cookie_lines_is_bounded_too() {
    let mut view = RequestView::new("GET");
    for _ in 0..100_000 {
        view.add_header("cookie", b"");
    }
    assert!(view.cookie_headers.overflowed());
    assert!(view.cookie_headers.len() <= MAX_HEADER_BYTES / 16);
}
