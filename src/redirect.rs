//! Redirect to a login page instead of answering 401, for HTML routes.
//!
//! The `next` parameter only ever names a path on the same origin: an
//! absolute URL, a scheme-relative `//evil.example` or a backslash trick
//! is dropped, so the login page cannot be turned into an open redirect.

use crate::error::ConfigError;

/// Where unauthenticated HTML requests are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRedirect {
    login_path: String,
}

impl LoginRedirect {
    /// Redirect to `login_path`, which must itself be a same-origin path.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when `login_path` is not a safe local path.
    pub(crate) fn new(login_path: impl Into<String>) -> Result<Self, ConfigError> {
        let login_path = login_path.into();
        if Self::safe_next(&login_path).is_none() || login_path.contains('?') {
            return Err(ConfigError::Invalid(
                "the login path must be a local path like /login".into(),
            ));
        }
        Ok(LoginRedirect { login_path })
    }

    /// `target` if it is a safe same-origin path (starts with one `/`, no
    /// `//` or `/\` prefix, no control characters), else `None`.
    #[must_use]
    pub(crate) fn safe_next(target: &str) -> Option<&str> {
        let b = target.as_bytes();
        let ok = b.first() == Some(&b'/')
            && !matches!(b.get(1), Some(b'/' | b'\\'))
            && b.iter().all(|c| c.is_ascii_graphic())
            && b.len() <= 2048;
        ok.then_some(target)
    }

    /// How an adapter answers `rejection` for a request with `method` to
    /// `original` (path and query): `Some((status, location))` for a 401
    /// (302 with a safe `next` for GET/HEAD; 303 to the bare login page for
    /// other methods, whose body cannot be replayed), `None` to answer the
    /// rejection itself (403, 503, ... stay as they are).
    ///
    #[must_use]
    pub(crate) fn for_rejection(
        &self,
        rejection: &crate::Rejection,
        method: &str,
        original: Option<&str>,
    ) -> Option<(u16, String)> {
        if rejection.status() != 401 {
            return None;
        }
        if matches!(method, "GET" | "HEAD") {
            Some((302, self.location(original)))
        } else {
            Some((303, self.login_path.clone()))
        }
    }

    /// The `Location` for a request to `original` (path and query).
    #[must_use]
    pub(crate) fn location(&self, original: Option<&str>) -> String {
        match original.and_then(Self::safe_next) {
            Some(next) => {
                let mut s = String::with_capacity(self.login_path.len() + 6 + next.len() * 3);
                s.push_str(&self.login_path);
                s.push_str("?next=");
                for b in next.bytes() {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        s.push(char::from(b));
                    } else {
                        s.push_str(&format!("%{b:02X}"));
                    }
                }
                s
            }
            None => self.login_path.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LoginRedirect;
    use crate::{Rejection, RejectionKind};

    #[test]
    fn next_is_only_ever_a_local_path() {
        let r = LoginRedirect::new("/login").unwrap();
        assert_eq!(
            r.location(Some("/account?tab=keys")),
            "/login?next=%2Faccount%3Ftab%3Dkeys"
        );
        assert_eq!(r.location(Some("//evil.example/")), "/login");
        assert_eq!(r.location(Some("https://evil.example/")), "/login");
        assert_eq!(LoginRedirect::safe_next("/\\evil.example"), None);
    }

    #[test]
    fn only_a_401_redirects() {
        let r = LoginRedirect::new("/login").unwrap();
        let unauth = Rejection::session(RejectionKind::MissingCredentials);
        assert_eq!(
            r.for_rejection(&unauth, "GET", Some("/a")),
            Some((302, "/login?next=%2Fa".into()))
        );
        assert_eq!(
            r.for_rejection(&unauth, "POST", Some("/a")),
            Some((303, "/login".into()))
        );
        let forbidden = Rejection::session(RejectionKind::InsufficientRole);
        assert_eq!(r.for_rejection(&forbidden, "GET", Some("/a")), None);
    }
}
