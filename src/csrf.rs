//! CSRF protection for cookie-carried credentials.
//!
//! Two independent checks run on every unsafe method (POST, PUT, PATCH,
//! DELETE, ...) that authenticates with the session cookie; safe methods and
//! bearer-token requests need neither:
//!
//! 1. **Origin** (the demo contract's cross-origin rule): one
//!    `Sec-Fetch-Site` header decides: `same-origin` and `none` pass;
//!    `same-site` and `cross-site` pass only with exactly one `Origin` that
//!    is a configured trusted origin; other values fall back to `Origin`.
//!    Without it, an `Origin` header must match the request's own origin
//!    (its `Host`, and its scheme when known) or a trusted origin;
//!    `Origin: null` never matches. With neither header the token alone
//!    decides. Either header sent twice is refused. The same rule guards
//!    the cookie-session login with or without a cookie (login CSRF).
//! 2. **Token**: `X-CSRF-Token` must equal the session's CSRF token,
//!    compared in constant time. The token is the per-session secret,
//!    returned at login and rotated with the session ID.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use subtle::ConstantTimeEq;

use crate::base64url::decode_fixed;
use crate::rejection::RejectionKind;
use crate::request::{RequestView, Single};

/// CSRF settings: the origins besides the request's own that may make
/// unsafe cookie requests (a separate front-end host). The checks
/// themselves run inside
/// [`Authenticator::authenticate`](crate::Authenticator::authenticate).
///
/// ```
/// use portcullis::{Authenticator, CsrfConfig, RejectionKind, RequestView, SessionHandle};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let auth = Authenticator::builder()
///     .csrf(CsrfConfig::default().trust_origin("https://app.example.com"))
///     .build()
///     .unwrap();
/// // A browser on the trusted front-end sends `Sec-Fetch-Site: same-site`.
/// let mut view = RequestView::new("POST");
/// view.add_header("host", b"api.example.com");
/// view.add_header("sec-fetch-site", b"same-site");
/// view.add_header("origin", b"https://app.example.com");
/// let handle = SessionHandle::new(auth.authenticate(&view).await);
/// assert!(handle.check_login_origin().is_ok());
/// // Any other site is refused.
/// let mut view = RequestView::new("POST");
/// view.add_header("host", b"api.example.com");
/// view.add_header("sec-fetch-site", b"cross-site");
/// view.add_header("origin", b"https://evil.example");
/// let handle = SessionHandle::new(auth.authenticate(&view).await);
/// assert_eq!(handle.check_login_origin().unwrap_err().kind(), RejectionKind::CrossSiteRequest);
/// # });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsrfConfig {
    /// Extra origins (`scheme://host[:port]`, exact, lower-case) allowed to
    /// make unsafe requests besides the request's own origin.
    pub trusted_origins: Vec<String>,
}

impl CsrfConfig {
    /// Allow an extra origin (e.g. a separate front-end host).
    #[must_use]
    pub fn trust_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted_origins
            .push(origin.into().to_ascii_lowercase());
        self
    }

    pub(crate) fn check_origin_with(
        &self,
        view: &RequestView<'_>,
        https: Option<bool>,
    ) -> Result<(), RejectionKind> {
        match view.sec_fetch_site {
            Single::One(v)
                if v.eq_ignore_ascii_case(b"same-origin") || v.eq_ignore_ascii_case(b"none") =>
            {
                return Ok(())
            }
            Single::One(v)
                if v.eq_ignore_ascii_case(b"cross-site")
                    || v.eq_ignore_ascii_case(b"same-site") =>
            {
                // Only a configured front-end origin may send these.
                return match view.origin {
                    Single::One(origin) if self.is_trusted(origin) => Ok(()),
                    _ => Err(RejectionKind::CrossSiteRequest),
                };
            }
            Single::Many => return Err(RejectionKind::CrossSiteRequest),
            // Unknown values: fall back to Origin.
            _ => {}
        }
        match view.origin {
            Single::Absent => Ok(()),
            Single::Many => Err(RejectionKind::CrossSiteRequest),
            Single::One(origin) => {
                if self.is_trusted(origin) || same_origin(origin, view, https) {
                    Ok(())
                } else {
                    Err(RejectionKind::CrossSiteRequest)
                }
            }
        }
    }

    fn is_trusted(&self, origin: &[u8]) -> bool {
        origin != b"null"
            && self
                .trusted_origins
                .iter()
                .any(|t| t.as_bytes().eq_ignore_ascii_case(origin))
    }
}

fn same_origin(origin: &[u8], view: &RequestView<'_>, https: Option<bool>) -> bool {
    let (scheme, authority) = if let Some(a) = origin.strip_prefix(b"https://") {
        ("https", a)
    } else if let Some(a) = origin.strip_prefix(b"http://") {
        ("http", a)
    } else {
        return false; // includes "null"
    };
    if let Some(https) = https {
        if https != (scheme == "https") {
            return false;
        }
    }
    let Some(host) = view.host().one() else {
        return false;
    };
    let default_port: &[u8] = if scheme == "https" { b":443" } else { b":80" };
    let norm = |h: &'_ [u8]| -> Vec<u8> {
        let h = h.strip_suffix(default_port).unwrap_or(h);
        h.to_ascii_lowercase()
    };
    !authority.is_empty() && !authority.contains(&b'/') && norm(authority) == norm(host)
}

/// Compare a presented `X-CSRF-Token` with the session secret in constant
/// time.
///
/// # Errors
/// [`RejectionKind::CsrfTokenInvalid`] when absent, duplicated, malformed or
/// different, and always for an all-zero secret (a record made without a
/// drawn secret: its token would be predictable).
pub fn check_token(presented: Single<'_>, secret: &[u8; 32]) -> Result<(), RejectionKind> {
    let zero = secret.ct_eq(&[0u8; 32]);
    let ok = !bool::from(zero)
        && presented
            .one()
            .and_then(decode_fixed::<32>)
            .is_some_and(|t| bool::from(t.ct_eq(secret)));
    if ok {
        Ok(())
    } else {
        Err(RejectionKind::CsrfTokenInvalid)
    }
}

/// The token form of a session's CSRF secret (base64url, 43 characters).
#[must_use]
pub fn encode_token(secret: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(secret)
}
