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

/// The reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are
/// believed (default: none).
///
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    blocks: Vec<Block>,
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
        Ok(TrustedProxies { blocks })
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
