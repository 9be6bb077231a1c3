//! Data the session benchmarks share.

use portcullis::store::SessionRecord;

/// A realistic session record of `user`, created at `now` (30-minute idle,
/// 12-hour absolute timeouts, two roles, an IP and a browser User-Agent).
pub fn record(user: &str, now: u64) -> SessionRecord {
    let mut r = SessionRecord::new(user, now, 1_800, 43_200);
    r.roles = vec!["user".into(), "admin".into()].into();
    r.ip = Some(std::net::IpAddr::from([203, 0, 113, 77]));
    r.user_agent =
        Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into());
    r.secret = [1; 32];
    r
}
