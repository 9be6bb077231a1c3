//! The framework-neutral view of a request that adapters hand to the core.
//!
//! An adapter walks its framework's headers once, calling
//! [`RequestView::add_header`] for each; the view keeps borrowed slices of
//! the few headers authentication needs, so nothing is copied or allocated.
//!
//! ```ignore
//! use portcullis::{RequestView, __private::Single};
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

/// Most bytes of one repeatable header that are looked at, all its lines
/// together, each line counted with 16 bytes of framing (more are ignored
/// and flagged). The work is bounded by bytes,
/// not by a count of lines: over HTTP/2 and HTTP/3 browsers send every
/// cookie as its own `cookie` line (RFC 9113 §8.2.3), so a user with many
/// older cookies sends many lines, and the server's own header limits
/// already bound how many there can be.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// What one header line counts towards [`MAX_HEADER_BYTES`] besides its
/// value (`name: ` and CRLF, roughly).
const LINE_OVERHEAD: usize = 16;

/// Lines kept without allocating; later ones spill to the heap (rare).
const INLINE_LINES: usize = 8;

/// The values of a repeatable header, borrowed, in order, up to
/// [`MAX_HEADER_BYTES`] in all.
///
/// ```
/// use portcullis::__private::HeaderLines;
/// let mut lines = HeaderLines::default();
/// let crumbs: Vec<String> = (0..64).map(|i| format!("c{i}=1")).collect();
/// for c in &crumbs {
///     lines.push(c.as_bytes());
/// }
/// lines.push(b"__Host-id=ours");
/// assert_eq!(lines.len(), 65);
/// assert_eq!(lines.iter().last(), Some(&b"__Host-id=ours"[..]));
/// assert!(!lines.overflowed());
/// ```
#[derive(Clone, Default)]
pub struct HeaderLines<'a> {
    inline: [&'a [u8]; INLINE_LINES],
    spill: Vec<&'a [u8]>,
    len: usize,
    bytes: usize,
    overflow: bool,
}

impl std::fmt::Debug for HeaderLines<'_> {
    // Header values carry cookies and tokens: show only their shape.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderLines")
            .field("lines", &self.len)
            .field("bytes", &self.bytes)
            .field("overflowed", &self.overflow)
            .finish()
    }
}

impl<'a> HeaderLines<'a> {
    /// Append a value. Once the lines would pass [`MAX_HEADER_BYTES`] in
    /// all, this and every later value is ignored (see
    /// [`overflowed`](Self::overflowed)).
    pub fn push(&mut self, value: &'a [u8]) {
        if self.overflow {
            return;
        }
        // Each line costs its bytes plus a header line's framing, so a
        // flood of empty lines is bounded too.
        let bytes = self
            .bytes
            .saturating_add(value.len())
            .saturating_add(LINE_OVERHEAD);
        if bytes > MAX_HEADER_BYTES {
            self.overflow = true;
            return;
        }
        self.bytes = bytes;
        if self.len < INLINE_LINES {
            self.inline[self.len] = value;
        } else {
            self.spill.push(value);
        }
        self.len += 1;
    }
    /// The values, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'a [u8]> + '_ {
        self.inline[..self.len.min(INLINE_LINES)]
            .iter()
            .chain(self.spill.iter())
            .copied()
    }
    /// How many values were kept.
    #[must_use]
    #[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when no value was seen.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True when the values passed [`MAX_HEADER_BYTES`] and the rest were
    /// ignored.
    #[must_use]
    pub fn overflowed(&self) -> bool {
        self.overflow
    }
}

/// A header that must appear at most once. `Debug` never shows the value
/// (it may be a CSRF token).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum Single<'a> {
    /// Not sent.
    #[default]
    Absent,
    /// Sent once.
    One(&'a [u8]),
    /// Sent more than once: treated as untrustworthy by every check.
    Many,
}

impl std::fmt::Debug for Single<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Single::Absent => "Absent",
            Single::One(_) => "One(REDACTED)",
            Single::Many => "Many",
        })
    }
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
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct RequestView<'a> {
    /// The method, e.g. `"GET"`.
    pub(crate) method: &'a str,
    /// Every `Cookie` header line (HTTP/2 may split them).
    pub(crate) cookie_headers: HeaderLines<'a>,
    /// Every `Authorization` header line.
    pub(crate) authorization: HeaderLines<'a>,
    /// `Origin`.
    pub(crate) origin: Single<'a>,
    /// `Sec-Fetch-Site`.
    pub(crate) sec_fetch_site: Single<'a>,
    /// `X-CSRF-Token`.
    pub(crate) csrf_token: Single<'a>,
    /// `Host`.
    pub(crate) host: Single<'a>,
    /// The request target's authority (HTTP/2 `:authority`, an
    /// absolute-form URI), which stands in for a missing `Host`.
    pub(crate) authority: Option<&'a [u8]>,
    /// `User-Agent`.
    pub(crate) user_agent: Option<&'a [u8]>,
    /// `X-Request-Id`, for audit events.
    pub(crate) request_id: Single<'a>,
    /// Every `X-Forwarded-For` line (believed only from a trusted proxy,
    /// see [`TrustedProxies`](crate::proxy::TrustedProxies)).
    pub(crate) forwarded_for: HeaderLines<'a>,
    /// `X-Forwarded-Proto` (believed only from a trusted proxy).
    pub(crate) forwarded_proto: Single<'a>,
    /// Every `Forwarded` line (RFC 7239; believed only from a trusted proxy
    /// when the authenticator is told to read it).
    pub(crate) forwarded: HeaderLines<'a>,
    /// Whether the connection itself is known to be HTTPS (`None`:
    /// unknown). Adapters fill this from the connection, never from a
    /// client header; behind a proxy the core reads `X-Forwarded-Proto`.
    pub(crate) https: Option<bool>,
    /// The peer's IP address, if known.
    pub(crate) peer_ip: Option<IpAddr>,
}

impl std::fmt::Debug for RequestView<'_> {
    // Cookies, tokens and the CSRF token never print; only their presence.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestView")
            .field("method", &self.method)
            .field("cookie_headers", &self.cookie_headers)
            .field("authorization", &self.authorization)
            .field("origin", &self.origin)
            .field("sec_fetch_site", &self.sec_fetch_site)
            .field("csrf_token", &self.csrf_token)
            .field("host", &self.host)
            .field("authority", &self.authority.map(|_| "REDACTED"))
            .field("forwarded_for", &self.forwarded_for)
            .field("forwarded_proto", &self.forwarded_proto)
            .field("https", &self.https)
            .finish_non_exhaustive()
    }
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
            9 if n.eq_ignore_ascii_case(b"forwarded") => self.forwarded.push(value),
            10 if n.eq_ignore_ascii_case(b"user-agent") && self.user_agent.is_none() => {
                self.user_agent = Some(value);
            }
            12 if n.eq_ignore_ascii_case(b"x-csrf-token") => self.csrf_token.push(value),
            12 if n.eq_ignore_ascii_case(b"x-request-id") => self.request_id.push(value),
            13 if n.eq_ignore_ascii_case(b"authorization") => self.authorization.push(value),
            14 if n.eq_ignore_ascii_case(b"sec-fetch-site") => self.sec_fetch_site.push(value),
            15 if n.eq_ignore_ascii_case(b"x-forwarded-for") => self.forwarded_for.push(value),
            17 if n.eq_ignore_ascii_case(b"x-forwarded-proto") => {
                self.forwarded_proto.push(value);
            }
            _ => {}
        }
    }

    /// The authority (`host[:port]`) of the request target: HTTP/2's
    /// `:authority`, or the authority of an absolute-form URI. It stands in
    /// for `Host` only when no `Host` header was added, whatever the order
    /// of the calls (one rule, here, for every adapter).
    pub fn set_authority(&mut self, authority: &'a [u8]) {
        self.authority = Some(authority);
    }

    /// `Host`, or the authority when no `Host` header was sent.
    pub(crate) fn host(&self) -> Single<'a> {
        match (self.host, self.authority) {
            (Single::Absent, Some(authority)) => Single::One(authority),
            (host, _) => host,
        }
    }

    /// The peer's IP address (from the connection, never from a header;
    /// `X-Forwarded-For` counts only from a
    /// [trusted proxy](crate::AuthenticatorBuilder::trusted_proxies)).
    pub fn set_peer_ip(&mut self, ip: IpAddr) {
        self.peer_ip = Some(ip);
    }

    /// Whether the connection itself is HTTPS (from the connection, never
    /// from a client header; unknown by default). Behind a trusted proxy
    /// the core reads `X-Forwarded-Proto`.
    pub fn set_https(&mut self, https: bool) {
        self.https = Some(https);
    }

    /// GET, HEAD, OPTIONS and TRACE are safe (RFC 9110 §9.2.1) and never
    /// need a CSRF token.
    #[must_use]
    pub fn is_safe_method(&self) -> bool {
        matches!(self.method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
    }
}

#[cfg(test)]
mod tests {
    use super::{RequestView, Single};

    #[test]
    fn the_authority_stands_in_for_a_missing_host_only() {
        let mut view = RequestView::new("POST");
        view.set_authority(b"app.example:8443");
        assert_eq!(view.host(), Single::One(b"app.example:8443"));

        // A Host header wins, whichever the adapter records first.
        let mut before = RequestView::new("POST");
        before.set_authority(b"authority.example");
        before.add_header("host", b"host.example");
        let mut after = RequestView::new("POST");
        after.add_header("Host", b"host.example");
        after.set_authority(b"authority.example");
        for view in [before, after] {
            assert_eq!(view.host(), Single::One(b"host.example"));
        }

        // Two Host headers stay untrustworthy, authority or not.
        let mut twice = RequestView::new("POST");
        twice.add_header("host", b"a.example");
        twice.add_header("host", b"b.example");
        twice.set_authority(b"a.example");
        assert_eq!(twice.host(), Single::Many);

        // `:authority` is not a header name the core reads.
        let mut pseudo = RequestView::new("POST");
        pseudo.add_header(":authority", b"app.example");
        assert_eq!(pseudo.host(), Single::Absent);
    }
}
