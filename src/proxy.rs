//! Trusted reverse proxies: the one place that decides a request's client
//! IP and scheme.
//!
//! `X-Forwarded-For` and `X-Forwarded-Proto` are only believed when the
//! request arrives from a configured proxy (the peer address is in the
//! list); then the client is the right-most `X-Forwarded-For` address that
//! is not itself a trusted proxy, and the scheme is the one
//! `X-Forwarded-Proto` names. From any other peer both headers are
//! ignored, so a client cannot choose its own IP (login throttling, the
//! device list) or make a plain-HTTP request look like HTTPS (the origin
//! check). Every adapter gets the same answer because none of them decides.

use std::net::IpAddr;

use crate::error::ConfigError;
use crate::request::{RequestView, Single};

/// Most addresses of `X-Forwarded-For` that are walked (right to left).
const MAX_HOPS: usize = 32;

/// One address or CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    addr: IpAddr,
    prefix: u8,
}

impl Block {
    fn parse(text: &str) -> Option<Block> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Block { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` (or,
/// when told, the standard `Forwarded`) are believed (default: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    blocks: Vec<Block>,
    /// Read RFC 7239 `Forwarded` instead of the `X-Forwarded-*` pair.
    standard: bool,
}

/// Who the client is, after the trusted-proxy rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientAddr {
    /// The client's IP address, if known.
    pub ip: Option<IpAddr>,
    /// Whether the client's connection is HTTPS (`None`: unknown).
    pub https: Option<bool>,
}

impl TrustedProxies {
    /// Parse a comma-separated list of IP addresses and CIDR blocks
    /// (`127.0.0.1, 10.0.0.0/8, fd00::/8`); empty entries are skipped.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the first entry that is not an
    /// address or block.
    pub fn parse(list: &str) -> Result<Self, ConfigError> {
        let mut blocks = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let block = Block::parse(entry).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "trusted proxy `{entry}` is not an IP address or CIDR block"
                ))
            })?;
            blocks.push(block);
        }
        Ok(TrustedProxies {
            blocks,
            standard: false,
        })
    }

    /// Believe the standard `Forwarded` header (RFC 7239) from these
    /// proxies, and never `X-Forwarded-For` / `X-Forwarded-Proto`.
    pub(crate) fn with_forwarded(mut self) -> Self {
        self.standard = true;
        self
    }

    /// True when no proxy is trusted (forwarding headers are always ignored).
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// True if `ip` is a trusted proxy.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.blocks.iter().any(|b| b.contains(ip))
    }

    /// The client's IP and scheme for `view` (see the module docs).
    #[must_use]
    pub(crate) fn resolve(&self, view: &RequestView<'_>) -> ClientAddr {
        let direct = ClientAddr {
            ip: view.peer_ip,
            https: view.https,
        };
        let Some(peer) = view.peer_ip else {
            return direct;
        };
        if !self.contains(peer) {
            return direct;
        }
        if self.standard {
            return self.resolve_forwarded(view, peer);
        }
        let https = match view.forwarded_proto {
            Single::One(p) if p.trim_ascii().eq_ignore_ascii_case(b"https") => Some(true),
            Single::One(p) if p.trim_ascii().eq_ignore_ascii_case(b"http") => Some(false),
            // Absent, repeated or garbage: what the connection itself says.
            _ => view.https,
        };
        ClientAddr {
            ip: Some(self.client_ip(view, peer)),
            https,
        }
    }

    /// Walk `X-Forwarded-For` from the right, past trusted proxies; the
    /// first other address is the client. A hop that does not parse ends
    /// the walk at the last trusted address (nothing left of garbage is
    /// believed).
    fn client_ip(&self, view: &RequestView<'_>, peer: IpAddr) -> IpAddr {
        let mut client = peer;
        let hops = view
            .forwarded_for
            .iter()
            .rev()
            .flat_map(|line| line.rsplit(|&b| b == b','))
            .take(MAX_HOPS);
        for hop in hops {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

impl TrustedProxies {
    /// The client by RFC 7239 `Forwarded` from a trusted `peer`: walk the
    /// elements from the right past trusted proxies' `for=`; the scheme is
    /// the right-most element's `proto=` (set by our nearest proxy). An
    /// element whose `for=` is not an address (`unknown`, an obfuscated
    /// name, garbage) ends the walk at the last trusted address.
    fn resolve_forwarded(&self, view: &RequestView<'_>, peer: IpAddr) -> ClientAddr {
        let mut elements: Vec<&[u8]> = Vec::new();
        for line in view.forwarded.iter() {
            elements.extend(split_unquoted(line, b','));
        }
        let mut https = view.https;
        let mut client = peer;
        for (i, element) in elements.iter().rev().take(MAX_HOPS).enumerate() {
            let (for_, proto) = forwarded_params(element);
            if i == 0 {
                https = match proto {
                    Some(p) if p.eq_ignore_ascii_case(b"https") => Some(true),
                    Some(p) if p.eq_ignore_ascii_case(b"http") => Some(false),
                    _ => view.https,
                };
            }
            let Some(ip) = for_.and_then(parse_forwarded_for) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        ClientAddr {
            ip: Some(client),
            https,
        }
    }
}

/// `bytes` split on `sep` outside double-quoted strings (RFC 7230
/// quoted-string, with `\` escapes), each part trimmed.
fn split_unquoted(bytes: &[u8], sep: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if b == sep && !quoted => {
                parts.push(bytes[start..i].trim_ascii());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(bytes[start..].trim_ascii());
    parts
}

/// The `for=` and `proto=` values of one `Forwarded` element (quotes
/// removed; the first of a repeated parameter counts).
fn forwarded_params(element: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let (mut for_, mut proto) = (None, None);
    for pair in split_unquoted(element, b';') {
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (name, value) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
        let value = value
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(value);
        if name.eq_ignore_ascii_case(b"for") {
            for_ = for_.or(Some(value));
        } else if name.eq_ignore_ascii_case(b"proto") {
            proto = proto.or(Some(value));
        }
    }
    (for_, proto)
}

/// A `for=` node: `a.b.c.d`, `a.b.c.d:port`, `[v6]` or `[v6]:port`.
fn parse_forwarded_for(node: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(node).ok()?;
    if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        if !(after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok()))
        {
            return None;
        }
        return v6.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let host = match text.rsplit_once(':') {
        Some((host, port)) => {
            port.parse::<u16>().ok()?;
            host
        }
        None => text,
    };
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// One `X-Forwarded-For` entry: an address, optionally bracketed (IPv6) or
/// with a port.
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(hop).ok()?.trim();
    if let Ok(ip) = text.parse() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    // `a.b.c.d:port`
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(peer: &str, xff: &[&'a [u8]], proto: Option<&'a [u8]>) -> RequestView<'a> {
        let mut v = RequestView::new("GET");
        v.peer_ip = Some(peer.parse().unwrap());
        for l in xff {
            v.add_header("x-forwarded-for", l);
        }
        if let Some(p) = proto {
            v.add_header("x-forwarded-proto", p);
        }
        v
    }

    #[test]
    fn a_list_parses_or_names_its_bad_entry() {
        assert!(TrustedProxies::parse("127.0.0.1, 10.0.0.0/8, fd00::/8").is_ok());
        let err = TrustedProxies::parse("10.0.0.0/8, 10.0.0.0/33").unwrap_err();
        assert!(err.to_string().contains("10.0.0.0/33"), "{err}");
        assert!(TrustedProxies::default().is_empty());
        assert!(TrustedProxies::parse(" , ").unwrap().is_empty());
    }

    fn forwarded_view<'a>(
        peer: &str,
        lines: &[&'a [u8]],
        xff: Option<&'a [u8]>,
    ) -> RequestView<'a> {
        let mut v = RequestView::new("GET");
        v.peer_ip = Some(peer.parse().unwrap());
        for l in lines {
            v.add_header("forwarded", l);
        }
        if let Some(x) = xff {
            v.add_header("x-forwarded-for", x);
            v.add_header("x-forwarded-proto", b"https");
        }
        v
    }

    #[test]
    fn the_standard_forwarded_header_when_told_and_only_then() {
        let p = TrustedProxies::parse("10.0.0.0/8")
            .unwrap()
            .with_forwarded();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let line: &[u8] = b"for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\", for=10.1.1.1;proto=https";
        let c = p.resolve(&forwarded_view("10.0.0.1", &[line], None));
        assert_eq!(
            c.ip,
            ip("2001:db8:cafe::17"),
            "right-most untrusted, never the left-most"
        );
        assert_eq!(c.https, Some(true), "proto of our nearest proxy's element");
        // Several lines are one list; ports and quotes are fine.
        let c = p.resolve(&forwarded_view(
            "10.0.0.1",
            &[b"for=198.51.100.9", b"For=\"10.2.2.2:8080\""],
            None,
        ));
        assert_eq!(c.ip, ip("198.51.100.9"));
        // `unknown` or an obfuscated node ends the walk at the last proxy.
        let c = p.resolve(&forwarded_view(
            "10.0.0.1",
            &[b"for=198.51.100.9, for=unknown"],
            None,
        ));
        assert_eq!(c.ip, ip("10.0.0.1"));
        let c = p.resolve(&forwarded_view(
            "10.0.0.1",
            &[b"for=_hidden, for=10.3.3.3"],
            None,
        ));
        assert_eq!(c.ip, ip("10.3.3.3"));
        // A client's X-Forwarded-For is ignored when Forwarded is the header.
        let c = p.resolve(&forwarded_view("10.0.0.1", &[], Some(b"203.0.113.1")));
        assert_eq!((c.ip, c.https), (ip("10.0.0.1"), None));
        // And the other way round: by default, Forwarded is ignored.
        let x = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let c = x.resolve(&forwarded_view(
            "10.0.0.1",
            &[b"for=192.0.2.1;proto=https"],
            None,
        ));
        assert_eq!((c.ip, c.https), (ip("10.0.0.1"), None));
        // From an untrusted peer nothing is believed.
        let c = p.resolve(&forwarded_view(
            "203.0.113.9",
            &[b"for=192.0.2.1;proto=https"],
            None,
        ));
        assert_eq!((c.ip, c.https), (ip("203.0.113.9"), None));
        // Garbage never panics.
        for junk in [
            &b"for="[..],
            b"for=\"",
            b";;,,",
            b"for=[::1",
            b"for=[::1]x",
            b"\xff\xfe",
            b"for=1.2.3.4:99999",
        ] {
            let c = p.resolve(&forwarded_view("10.0.0.1", &[junk], None));
            assert_eq!(c.ip, ip("10.0.0.1"), "{junk:?}");
        }
    }

    #[test]
    fn right_most_untrusted_hop_is_the_client() {
        let p = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // A client-sent (spoofed) left part is never believed.
        let c = p.resolve(&view("10.0.0.1", &[b"1.1.1.1, 2.2.2.2, 10.0.0.2"], None));
        assert_eq!(c.ip, ip("2.2.2.2"));
        // Several lines read as one list.
        let c = p.resolve(&view("10.0.0.1", &[b"1.1.1.1", b"2.2.2.2"], None));
        assert_eq!(c.ip, ip("2.2.2.2"));
        // All trusted: the left-most.
        let c = p.resolve(&view("10.0.0.1", &[b"10.0.0.3, 10.0.0.2"], None));
        assert_eq!(c.ip, ip("10.0.0.3"));
        // Garbage stops the walk at the last trusted hop.
        let c = p.resolve(&view("10.0.0.1", &[b"1.1.1.1, junk, 10.0.0.2"], None));
        assert_eq!(c.ip, ip("10.0.0.2"));
        // Ports and brackets.
        let c = p.resolve(&view("10.0.0.1", &[b"[2001:db8::1]:443"], None));
        assert_eq!(c.ip, ip("2001:db8::1"));
        let c = p.resolve(&view("10.0.0.1", &[b"192.0.2.1:5555"], None));
        assert_eq!(c.ip, ip("192.0.2.1"));
        // No header: the proxy itself.
        let c = p.resolve(&view("10.0.0.1", &[], None));
        assert_eq!(c.ip, ip("10.0.0.1"));
        // IPv4-mapped peers count as IPv4.
        let c = p.resolve(&view("::ffff:10.0.0.1", &[b"3.3.3.3"], None));
        assert_eq!(c.ip, ip("3.3.3.3"));
    }

    #[test]
    fn proto_only_from_a_trusted_peer() {
        let p = TrustedProxies::parse("127.0.0.1").unwrap();
        assert_eq!(
            p.resolve(&view("127.0.0.1", &[], Some(b"https"))).https,
            Some(true)
        );
        assert_eq!(
            p.resolve(&view("127.0.0.1", &[], Some(b"HTTP"))).https,
            Some(false)
        );
        assert_eq!(
            p.resolve(&view("127.0.0.1", &[], Some(b"gopher"))).https,
            None
        );
        assert_eq!(
            p.resolve(&view("127.0.0.2", &[], Some(b"https"))).https,
            None
        );
        assert_eq!(
            TrustedProxies::default().resolve(&view("127.0.0.1", &[b"1.1.1.1"], Some(b"https"))),
            ClientAddr {
                ip: Some("127.0.0.1".parse().unwrap()),
                https: None
            }
        );
    }

    #[test]
    fn blocks() {
        let p = TrustedProxies::parse("192.168.0.0/16, 2001:db8::/32, 0.0.0.0/0").unwrap();
        assert!(p.contains("8.8.8.8".parse().unwrap()));
        let p = TrustedProxies::parse("192.168.0.0/16, 2001:db8::/32").unwrap();
        assert!(p.contains("192.168.200.1".parse().unwrap()));
        assert!(!p.contains("192.169.0.1".parse().unwrap()));
        assert!(p.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(!p.contains("2001:db9::1".parse().unwrap()));
        for bad in ["1.2.3", "::1/129", "10.0.0.0/", "x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }
}
