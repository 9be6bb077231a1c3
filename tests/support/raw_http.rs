//! Raw HTTP/1.1 requests for the e2e tests (what reqwest would fold or
//! refuse to send).
#![allow(dead_code)]

/// `GET path` with one `Cookie:` header line per entry of `cookie_lines`
/// (as a browser over HTTP/2 sends one cookie per line), then
/// `Connection: close`.
pub fn get_with_cookie_lines(path: &str, cookie_lines: &[String]) -> Vec<u8> {
    let mut r =
        format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n").into_bytes();
    for l in cookie_lines {
        r.extend_from_slice(format!("cookie: {l}\r\n").as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r
}
