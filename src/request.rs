//! The framework-neutral view of a request that adapters hand to the core.
//!
//! An adapter walks its framework's headers once, calling
//! [`RequestView::add_header`] for each; the view keeps borrowed slices of
//! the few headers authentication needs, so nothing is copied or allocated.
//!
//! ```
//! use portcullis::request::{RequestView, Single};
//! let mut view = RequestView::new("POST");
//! view.add_header("Cookie", b"a=1; __Host-id=xyz");
//! view.add_header("cookie", b"b=2");
//! view.add_header("X-CSRF-Token", b"t1");
//! view.add_header("x-csrf-token", b"t2");
//! assert_eq!(view.cookie_headers.iter().count(), 2);
//! assert_eq!(view.csrf_token, Single::Many); // ambiguous: never matches
//! assert!(!view.is_safe_method());
//! ```

use std::net::IpAddr;

/// Most header lines of one name that are looked at (more are ignored and
/// flagged, so a flood of `Cookie` lines costs nothing).
pub const MAX_HEADER_LINES: usize = 8;

/// Up to [`MAX_HEADER_LINES`] values of a repeatable header, borrowed.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeaderLines<'a> {
    lines: [&'a [u8]; MAX_HEADER_LINES],
    len: usize,
    overflow: bool,
}

impl<'a> HeaderLines<'a> {
    /// Append a value (ignored past [`MAX_HEADER_LINES`], see
    /// [`overflowed`](Self::overflowed)).
    pub fn push(&mut self, value: &'a [u8]) {
        if self.len < MAX_HEADER_LINES {
            self.lines[self.len] = value;
            self.len += 1;
        } else {
            self.overflow = true;
        }
    }
    /// The values, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.lines[..self.len].iter().copied()
    }
    /// The values, in order, by value (the view is `Copy`).
    pub fn into_lines(self) -> impl Iterator<Item = &'a [u8]> {
        self.lines.into_iter().take(self.len)
    }
    /// How many values were kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when no value was seen.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True when more than [`MAX_HEADER_LINES`] values were sent.
    #[must_use]
    pub fn overflowed(&self) -> bool {
        self.overflow
    }
}

/// A header that must appear at most once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Single<'a> {
    /// Not sent.
    #[default]
    Absent,
    /// Sent once.
    One(&'a [u8]),
    /// Sent more than once: treated as untrustworthy by every check.
    Many,
}

impl<'a> Single<'a> {
    fn push(&mut self, v: &'a [u8]) {
        *self = match self {
            Single::Absent => Single::One(v),
            _ => Single::Many,
        };
    }
    /// The value if it was sent exactly once.
    #[must_use]
    pub fn one(&self) -> Option<&'a [u8]> {
        match self {
            Single::One(v) => Some(v),
            _ => None,
        }
    }
}

/// What the core needs to know about a request.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RequestView<'a> {
    /// The method, e.g. `"GET"`.
    pub method: &'a str,
    /// Every `Cookie` header line (HTTP/2 may split them).
    pub cookie_headers: HeaderLines<'a>,
    /// Every `Authorization` header line.
    pub authorization: HeaderLines<'a>,
    /// `Origin`.
    pub origin: Single<'a>,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: Single<'a>,
    /// `X-CSRF-Token`.
    pub csrf_token: Single<'a>,
    /// `Host` (or the `:authority` of HTTP/2, which adapters pass as `host`).
    pub host: Single<'a>,
    /// `User-Agent`.
    pub user_agent: Option<&'a [u8]>,
    /// Whether the connection is known to be HTTPS (`None`: unknown, e.g.
    /// behind a TLS-terminating proxy).
    pub https: Option<bool>,
    /// The peer's IP address, if known.
    pub peer_ip: Option<IpAddr>,
}

impl<'a> RequestView<'a> {
    /// An empty view of a request with `method`.
    #[must_use]
    pub fn new(method: &'a str) -> Self {
        RequestView {
            method,
            ..Default::default()
        }
    }

    /// Record one header; names are matched case-insensitively and headers
    /// the core does not use are ignored.
    pub fn add_header(&mut self, name: &str, value: &'a [u8]) {
        let n = name.as_bytes();
        // Dispatch on length first: most headers are rejected with one compare.
        match n.len() {
            4 if n.eq_ignore_ascii_case(b"host") => self.host.push(value),
            6 if n.eq_ignore_ascii_case(b"cookie") => self.cookie_headers.push(value),
            6 if n.eq_ignore_ascii_case(b"origin") => self.origin.push(value),
            10 if n.eq_ignore_ascii_case(b"user-agent") && self.user_agent.is_none() => {
                self.user_agent = Some(value);
            }
            10 if n.eq_ignore_ascii_case(b":authority") => self.host.push(value),
            12 if n.eq_ignore_ascii_case(b"x-csrf-token") => self.csrf_token.push(value),
            13 if n.eq_ignore_ascii_case(b"authorization") => self.authorization.push(value),
            14 if n.eq_ignore_ascii_case(b"sec-fetch-site") => self.sec_fetch_site.push(value),
            _ => {}
        }
    }

    /// GET, HEAD, OPTIONS and TRACE are safe (RFC 9110 §9.2.1) and never
    /// need a CSRF token.
    #[must_use]
    pub fn is_safe_method(&self) -> bool {
        matches!(self.method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
    }
}
