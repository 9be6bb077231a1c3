use std::net::IpAddr;

use super::{client_text, key};

#[test]
fn keys_hold_no_username_or_ip() {
    let k = key("p", &["alice@example.com", "198.51.100.7"]);
    assert!(k.starts_with("p:") && k.len() == 66, "{k}");
    assert!(!k.contains("alice") && !k.contains("198.51"));
    // Length-prefixed parts: ("ab", "c") and ("a", "bc") differ.
    assert_ne!(key("p", &["ab", "c"]), key("p", &["a", "bc"]));
}

#[test]
fn clients_are_ipv4_addresses_or_ipv6_64s() {
    let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
    assert_eq!(client_text(ip("198.51.100.7")), "198.51.100.7");
    assert_eq!(client_text(ip("::ffff:198.51.100.7")), "198.51.100.7");
    assert_eq!(
        client_text(ip("2001:db8:1:2:aaaa::1")),
        client_text(ip("2001:db8:1:2:bbbb::2"))
    );
    assert_ne!(
        client_text(ip("2001:db8:1:2::1")),
        client_text(ip("2001:db8:1:3::1"))
    );
    assert_eq!(client_text(None), "unknown");
}
