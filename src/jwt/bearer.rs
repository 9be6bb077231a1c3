//! `Authorization: Bearer` parsing (RFC 6750 §2.1).

use crate::rejection::RejectionKind;
use crate::request::HeaderLines;

/// The `b64token` characters of RFC 6750 §2.1 (before the trailing `=`s).
fn is_b64token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
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
/// use portcullis::jwt::parse_bearer;
/// use portcullis::request::HeaderLines;
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
pub fn parse_bearer<'a>(lines: &HeaderLines<'a>) -> Result<Option<&'a [u8]>, RejectionKind> {
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
    let body_end = token
        .iter()
        .position(|&b| !is_b64token_char(b))
        .unwrap_or(token.len());
    if body_end == 0 || !token[body_end..].iter().all(|&b| b == b'=') {
        return Err(RejectionKind::MalformedRequest);
    }
    Ok(Some(token))
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
