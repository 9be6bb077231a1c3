//! Cookie policy: the attributes of the session cookie, validated when the
//! [`Authenticator`](crate::Authenticator) is built, and a robust reader for
//! the `Cookie` request header.
//!
//! Secure defaults: name `__Host-id` (a neutral name; the `__Host-` prefix
//! makes browsers refuse it unless `Secure`, `Path=/` and no `Domain`, which
//! stops subdomains from tossing a cookie of the same name), `HttpOnly`,
//! `Secure`, `SameSite=Lax`, `Path=/`, `Max-Age` = the session's remaining
//! absolute life.
//!
//! ```
//! use portcullis::{Authenticator, CookiePolicy, SameSite, SessionConfig};
//! let build = |cookie: CookiePolicy| {
//!     Authenticator::builder().sessions(SessionConfig::default().cookie(cookie)).build()
//! };
//! assert!(build(CookiePolicy::default().same_site(SameSite::Strict)).is_ok());
//! // Contradictions are refused when building:
//! assert!(build(CookiePolicy::default().domain("example.com")).is_err()); // __Host- has no Domain
//! assert!(build(CookiePolicy::default().name("x").same_site(SameSite::None).insecure_no_secure()).is_err());
//! ```
//!
//! ## Reading the `Cookie` header
//!
//! [`CookiePolicy::values`] looks for our cookie by its exact ASCII name in
//! the raw bytes of every `Cookie` header line. It does not use the `cookie`
//! crate's parser, because that trims Unicode whitespace and percent-decodes
//! names (so `\u{2000}__Host-id` or `%5F%5FHost-id` would pose as our
//! prefixed cookie), and some frameworks drop a whole header on one
//! malformed pair (a tossed junk cookie would log the user out).
//!
//! Rules: pairs are split on `;`; only SP and HTAB are trimmed; a pair
//! without `=`, with another name, or whose value is empty, longer than
//! [`MAX_COOKIE_VALUE_LEN`] or outside the base64url/`.` alphabet is skipped
//! (never an error, never a panic, never hides a later valid pair).
//!
//! **Duplicates**: if our name appears several times, every well-formed
//! value is a candidate in header order (at most [`MAX_CANDIDATES`]); the
//! authenticator uses the one that names a live session, and makes the
//! request anonymous (401) when two do, since it cannot tell which is the
//! user's. With the default `__Host-` prefix a duplicate can only come from
//! the same origin (e.g. an old cookie with another path), so this policy
//! never lets a sibling domain force a session on the user, and a junk
//! duplicate cannot log the user out.

use std::fmt::Write as _;

/// The cookie's `SameSite` attribute (RFC 6265bis §4.1.2.7), for
/// [`CookiePolicy::same_site`]. `None` needs `Secure` (refused without it
/// when the [`Authenticator`](crate::Authenticator) is built).
///
/// ```
/// use portcullis::{CookiePolicy, SameSite};
/// let strict = CookiePolicy::default().same_site(SameSite::Strict);
/// # let _ = strict;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SameSite {
    /// Sent only with same-site requests.
    Strict,
    /// Also sent with top-level cross-site navigations (GET); the default.
    Lax,
    /// Sent with every request; requires `Secure`.
    None,
}

use crate::error::ConfigError;
use crate::request::HeaderLines;

mod reader;

/// Longest cookie value considered (a signed ID is 87 characters).
pub const MAX_COOKIE_VALUE_LEN: usize = 256;
/// Most duplicate cookies of our name that are tried.
pub const MAX_CANDIDATES: usize = 4;

/// The session cookie's attributes: start from the secure
/// [`default`](CookiePolicy::default) and change what you must; the
/// combination is checked when the [`Authenticator`](crate::Authenticator)
/// is built ([`ConfigError::Cookie`] for an empty or non-token name, a path
/// or domain with forbidden characters, `SameSite=None` without `Secure`,
/// `__Secure-` without `Secure`, or `__Host-` without `Secure`, with a
/// `Domain`, or with a `Path` other than `/`).
///
/// ```
/// use portcullis::{Authenticator, CookiePolicy, SameSite, SessionConfig};
/// let cookie = CookiePolicy::default().name("__Secure-sid").path("/app").domain("example.com");
/// let auth = Authenticator::builder()
///     .sessions(SessionConfig::default().cookie(cookie))
///     .build()
///     .unwrap();
/// # let _ = auth;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookiePolicy {
    name: String,
    http_only: bool,
    secure: bool,
    same_site: SameSite,
    path: String,
    domain: Option<String>,
    persistent: bool,
}

impl Default for CookiePolicy {
    /// OWASP Session Management Cheat Sheet defaults: `__Host-id`,
    /// `HttpOnly` (no script access), `Secure` (HTTPS only),
    /// `SameSite=Lax` (no cross-site POSTs), `Path=/`, no `Domain`,
    /// persistent for the session's remaining absolute life.
    fn default() -> Self {
        CookiePolicy {
            name: "__Host-id".into(),
            http_only: true,
            secure: true,
            same_site: SameSite::Lax,
            path: "/".into(),
            domain: None,
            persistent: true,
        }
    }
}

impl CookiePolicy {
    fn attributes(&self, out: &mut String) {
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        out.push_str(match self.same_site {
            SameSite::Strict => "; SameSite=Strict",
            SameSite::Lax => "; SameSite=Lax",
            SameSite::None => "; SameSite=None",
        });
        if self.secure {
            out.push_str("; Secure");
        }
        out.push_str("; Path=");
        out.push_str(&self.path);
        if let Some(d) = &self.domain {
            out.push_str("; Domain=");
            out.push_str(d);
        }
    }

    /// The `Set-Cookie` value carrying `value`, valid for at most
    /// `max_age_secs` (callers pass the session's remaining life, so the
    /// cookie never outlives the session), or a browser-session cookie
    /// (no `Max-Age`) for `None`.
    #[must_use]
    pub(crate) fn set_cookie(&self, value: &str, max_age_secs: Option<u64>) -> String {
        let mut s = String::with_capacity(self.name.len() + value.len() + 80);
        s.push_str(&self.name);
        s.push('=');
        s.push_str(value);
        self.attributes(&mut s);
        if let Some(max_age) = max_age_secs {
            let _ = write!(s, "; Max-Age={max_age}");
        }
        s
    }

    /// Whether a login that does not say is remembered (a persistent
    /// cookie); see [`browser_session_cookie`](Self::browser_session_cookie).
    pub(crate) fn persistent_by_default(&self) -> bool {
        self.persistent
    }

    /// The `Set-Cookie` value that makes the browser drop the cookie.
    #[must_use]
    pub(crate) fn removal_cookie(&self) -> String {
        let mut s = String::with_capacity(self.name.len() + 120);
        s.push_str(&self.name);
        s.push('=');
        self.attributes(&mut s);
        s.push_str("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        s
    }

    /// Every well-formed value of our cookie across the `Cookie` header
    /// lines, in order, at most [`MAX_CANDIDATES`] (see the module docs),
    /// as bytes: all in the base64url/`.` alphabet, so ASCII.
    pub(crate) fn value_bytes<'s, 'h: 's>(
        &'s self,
        headers: &'s HeaderLines<'h>,
    ) -> impl Iterator<Item = &'h [u8]> + 's {
        let name = self.name.as_bytes();
        headers
            .iter()
            .flat_map(move |rest| reader::LineValues { name, rest })
            .take(MAX_CANDIDATES)
    }

    /// [`value_bytes`](Self::value_bytes) as strings (tests and fuzz
    /// targets).
    #[cfg(any(test, feature = "__internal"))]
    pub(crate) fn values<'s, 'h: 's>(
        &'s self,
        headers: &'s HeaderLines<'h>,
    ) -> impl Iterator<Item = &'h str> + 's {
        self.value_bytes(headers)
            .filter_map(|v| std::str::from_utf8(v).ok())
    }
}

fn is_token_char(b: u8) -> bool {
    // RFC 9110 tchar.
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl CookiePolicy {
    /// The cookie name (an RFC 9110 token; default `__Host-id`). Keep it
    /// neutral: a name like `actix-session` tells attackers what to probe.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// `SameSite` (default `Lax`). `None` requires `Secure`.
    #[must_use]
    pub fn same_site(mut self, s: SameSite) -> Self {
        self.same_site = s;
        self
    }
    /// `Path` (default `/`). A `__Host-` cookie must keep `/`.
    #[must_use]
    pub fn path(mut self, p: impl Into<String>) -> Self {
        self.path = p.into();
        self
    }
    /// `Domain` (default none: host-only). A `__Host-` cookie cannot have one.
    #[must_use]
    pub fn domain(mut self, d: impl Into<String>) -> Self {
        self.domain = Some(d.into());
        self
    }
    /// Omit `Max-Age`: the browser drops the cookie when it closes. The
    /// session's own timeouts still apply server-side. This is the default
    /// of a login that does not say;
    /// [`SessionHandle::login_remember`](crate::SessionHandle::login_remember)
    /// chooses per login.
    #[must_use]
    pub fn browser_session_cookie(mut self) -> Self {
        self.persistent = false;
        self
    }
    /// **Insecure**: drop the `Secure` attribute, so the cookie travels over
    /// plain HTTP. For local development only; incompatible with the
    /// `__Host-`/`__Secure-` prefixes and with `SameSite=None`.
    #[must_use]
    pub fn insecure_no_secure(mut self) -> Self {
        self.secure = false;
        self
    }
    /// **Insecure**: drop `HttpOnly`, so scripts can read the session ID.
    #[must_use]
    pub fn insecure_script_readable(mut self) -> Self {
        self.http_only = false;
        self
    }

    /// Refuse contradictions (see the type docs); run by
    /// `SessionConfig`'s validation when the authenticator is built.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let p = self;
        let err = |m: &str| Err(ConfigError::Cookie(m.to_owned()));
        if p.name.is_empty() || !p.name.bytes().all(is_token_char) {
            return err("the cookie name must be a non-empty RFC 9110 token");
        }
        let attr_ok = |s: &str| s.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b';');
        if !p.path.starts_with('/') || !attr_ok(&p.path) {
            return err("Path must start with '/' and contain no ';', space or control characters");
        }
        if let Some(d) = &p.domain {
            if d.is_empty() || !attr_ok(d) {
                return err("Domain must be a non-empty host name");
            }
        }
        if p.same_site == SameSite::None && !p.secure {
            return err("SameSite=None requires Secure (browsers reject it otherwise)");
        }
        let lower = p.name.to_ascii_lowercase();
        if lower.starts_with("__secure-") && !p.secure {
            return err("a __Secure- cookie requires Secure");
        }
        if lower.starts_with("__host-") {
            if !p.secure {
                return err(
                    "a __Host- cookie requires Secure (use another name with insecure_no_secure)",
                );
            }
            if p.domain.is_some() {
                return err("a __Host- cookie cannot have a Domain");
            }
            if p.path != "/" {
                return err("a __Host- cookie must have Path=/");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
