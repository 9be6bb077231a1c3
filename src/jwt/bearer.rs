//! `Authorization: Bearer` parsing (RFC 6750 §2.1).

use crate::rejection::RejectionKind;
use crate::request::HeaderLines;

/// The `b64token` characters of RFC 6750 §2.1 (before the trailing `=`s):
/// `A-Z a-z 0-9 - . _ ~ + /`. Branch-free, so the scan over a whole token
/// below compiles to a vectorised loop.
#[inline(always)]
fn is_b64token_char(b: u8) -> bool {
    // Clearing bit 5 maps `a-z` onto `A-Z` and nothing else onto `A-Z`
    // (bytes >= 0x80 keep their high bit).
    let letter = (b & !0x20).wrapping_sub(b'A') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    let sign = (b == b'-') | (b == b'.') | (b == b'_') | (b == b'~') | (b == b'+') | (b == b'/');
    letter | digit | sign
}

/// True if every byte of `s` is a `b64token` character. Chunks of 64
/// bytes are checked without branches; a bad chunk ends the scan.
fn all_b64token(s: &[u8]) -> bool {
    let chunk_ok = |chunk: &[u8]| {
        let mut bad = 0u8;
        for &b in chunk {
            bad |= u8::from(!is_b64token_char(b));
        }
        bad == 0
    };
    let mut chunks = s.chunks_exact(64);
    chunks.all(chunk_ok) && chunk_ok(chunks.remainder())
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = v {
        if !is_ows(*first) {
            break;
        }
        v = rest;
    }
    while let [rest @ .., last] = v {
        if !is_ows(*last) {
            break;
        }
        v = rest;
    }
    v
}

/// The bearer token of a request, from its `Authorization` header lines.
///
/// - No `Authorization` header, or another scheme (`Basic ...`):
///   `Ok(None)` — not a bearer request.
/// - `Bearer <token>` (scheme case-insensitive, one or more spaces): the
///   token, which must be one RFC 6750 `b64token`
///   (`A-Z a-z 0-9 - . _ ~ + /`, then optional trailing `=`).
/// - Two or more `Authorization` lines, an empty token, several tokens or
///   a character outside that set: `Err(MalformedRequest)` (400
///   `invalid_request`).
///
/// Never panics, whatever the bytes.
///
/// ```
/// use portcullis::__private::parse_bearer;
/// use portcullis::__private::HeaderLines;
/// use portcullis::RejectionKind;
///
/// let mut lines = HeaderLines::default();
/// assert_eq!(parse_bearer(&lines), Ok(None));
/// lines.push(b"bearer abc.def.ghi");
/// assert_eq!(parse_bearer(&lines), Ok(Some(&b"abc.def.ghi"[..])));
///
/// let mut basic = HeaderLines::default();
/// basic.push(b"Basic dXNlcjpwYXNz");
/// assert_eq!(parse_bearer(&basic), Ok(None));
///
/// let mut two = HeaderLines::default();
/// two.push(b"Bearer a b");
/// assert_eq!(parse_bearer(&two), Err(RejectionKind::MalformedRequest));
/// ```
///
/// # Errors
/// [`RejectionKind::MalformedRequest`] as described above.
#[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
pub fn parse_bearer<'a>(lines: &HeaderLines<'a>) -> Result<Option<&'a [u8]>, RejectionKind> {
    match bearer_token(lines)? {
        Some(token) if !is_b64token(token) => Err(RejectionKind::MalformedRequest),
        token => Ok(token),
    }
}

/// [`parse_bearer`] without the character check, which the authenticator
/// runs only when the token is not in a verified-token cache (only checked
/// tokens are cached; the check costs ~0.9k instructions on a 400-byte
/// token).
pub(crate) fn bearer_token<'a>(lines: &HeaderLines<'a>) -> Result<Option<&'a [u8]>, RejectionKind> {
    if lines.is_empty() && !lines.overflowed() {
        return Ok(None);
    }
    let mut iter = lines.iter();
    let (Some(value), None) = (iter.next(), iter.next()) else {
        return Err(RejectionKind::MalformedRequest);
    };
    if lines.overflowed() {
        return Err(RejectionKind::MalformedRequest);
    }
    let value = trim_ows(value);
    let scheme_end = value.iter().position(|&b| is_ows(b)).unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case(b"Bearer") {
        return Ok(None);
    }
    let token = trim_ows(rest);
    if token.is_empty() {
        return Err(RejectionKind::MalformedRequest);
    }
    Ok(Some(token))
}

/// Whether `token` is one RFC 6750 `b64token`:
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`. The
/// trailing `=`s are stripped, then the rest must be non-empty and made of
/// token characters only (`=` is not one, so an inner `=` is refused).
pub(crate) fn is_b64token(token: &[u8]) -> bool {
    let body_end = token.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    body_end != 0 && all_b64token(&token[..body_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&[u8]]) -> Result<Option<Vec<u8>>, RejectionKind> {
        let mut l = HeaderLines::default();
        for v in values {
            l.push(v);
        }
        parse_bearer(&l).map(|o| o.map(<[u8]>::to_vec))
    }

    #[test]
    fn char_set_exhaustive() {
        for b in 0..=255u8 {
            let want = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_char(b), want, "{b:#04x}");
            // In the first chunk, a middle chunk and the remainder.
            for at in [0, 97, 149] {
                let mut token = vec![b'a'; 150];
                token[at] = b;
                assert_eq!(all_b64token(&token), want, "{b:#04x} at {at}");
            }
        }
    }

    #[test]
    fn cases() {
        assert_eq!(parse(&[b"Bearer a.b.c"]), Ok(Some(b"a.b.c".to_vec())));
        assert_eq!(parse(&[b"BEARER   a.b.c  "]), Ok(Some(b"a.b.c".to_vec())));
        assert_eq!(parse(&[b"Bearer abc=="]), Ok(Some(b"abc==".to_vec())));
        assert_eq!(parse(&[b"Bearer\tabc"]), Ok(Some(b"abc".to_vec())));
        assert_eq!(parse(&[b"Basic abc"]), Ok(None));
        assert_eq!(parse(&[b"Bearerx abc"]), Ok(None));
        assert_eq!(parse(&[b""]), Ok(None));
        for bad in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Bearer a b",
            b"Bearer a,b",
            b"Bearer =abc",
            b"Bearer ab=c",
            b"Bearer \xff",
            b"Bearer a\"b",
            b"Bearer ==",
            b"Bearer a=b=",
        ] {
            assert_eq!(
                parse(&[bad]),
                Err(RejectionKind::MalformedRequest),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse(&[b"Bearer a", b"Bearer a"]),
            Err(RejectionKind::MalformedRequest)
        );
        assert_eq!(
            parse(&[b"Basic a", b"Bearer a"]),
            Err(RejectionKind::MalformedRequest)
        );
    }
}
