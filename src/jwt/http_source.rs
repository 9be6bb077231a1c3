//! [`HttpKeySource`]: an issuer's JWKS over HTTPS, directly or through
//! OpenID Connect discovery (feature `jwks`).
//!
//! The client is reqwest with rustls: maintained, async on Tokio (which the
//! adapters already run on), HTTP/1.1 and HTTP/2, timeouts and body limits
//! built in, and the OS trust store through rustls-platform-verifier.
//! reqwest hands rustls its crypto provider (AWS-LC) in each client's
//! config and never installs one process-wide, so an application's own
//! rustls set-up is left alone.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL};
use reqwest::Url;
use serde_json::Value;

use super::remote::{FetchedKeys, KeySource, KeySourceError};
use crate::error::ConfigError;

/// Largest key set or discovery document read (a real one is a few KiB).
const MAX_BODY: usize = 256 * 1024;
/// Default time for one HTTP request, connection included.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Fetches an issuer's public keys over HTTPS: from a JWKS URL, or from the
/// `jwks_uri` of its OpenID Connect discovery document
/// (`<issuer>/.well-known/openid-configuration`, whose `issuer` must equal
/// the one configured, exactly). The response's `Cache-Control: max-age`
/// says when to fetch again.
///
/// URLs must be `https://`; `http://` is accepted for loopback hosts only
/// (tests, a sidecar). URLs with credentials are refused; redirects are not
/// followed; bodies over 256 KiB and non-JSON answers are errors. Each
/// request has a 5 s timeout ([`timeout`](Self::timeout)). Requests never
/// wait on it: see [`TrustedIssuer`](super::TrustedIssuer).
///
/// ```
/// use portcullis::jwt::{HttpKeySource, TrustedIssuer};
/// let google = HttpKeySource::jwks("https://www.googleapis.com/oauth2/v3/certs").unwrap();
/// let keycloak = HttpKeySource::discovery("https://sso.example.com/realms/shop").unwrap();
/// let issuer = TrustedIssuer::new(keycloak)
///     .issuer("https://sso.example.com/realms/shop")
///     .audience("orders");
/// // Plain HTTP only on loopback:
/// assert!(HttpKeySource::jwks("http://keys.example.com/jwks.json").is_err());
/// assert!(HttpKeySource::jwks("http://127.0.0.1:8080/jwks.json").is_ok());
/// ```
#[derive(Clone)]
pub struct HttpKeySource {
    target: Target,
    client: reqwest::Client,
}

#[derive(Clone)]
enum Target {
    Jwks(Url),
    Discovery { issuer: String, document: Url },
}

impl fmt::Debug for HttpKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("HttpKeySource");
        match &self.target {
            Target::Jwks(url) => d.field("jwks", &url.as_str()),
            Target::Discovery { issuer, .. } => d.field("discovery", issuer),
        };
        d.finish_non_exhaustive()
    }
}

impl HttpKeySource {
    /// Keys from a JWKS URL.
    ///
    /// # Errors
    /// [`ConfigError::Jwt`] for a URL that is not `https://` (or loopback
    /// `http://`), or carries credentials.
    pub fn jwks(url: &str) -> Result<Self, ConfigError> {
        Self::with(Target::Jwks(checked_url(url)?))
    }

    /// Keys found by OpenID Connect discovery from the issuer's URL.
    ///
    /// # Errors
    /// As for [`jwks`](Self::jwks).
    pub fn discovery(issuer: &str) -> Result<Self, ConfigError> {
        checked_url(issuer)?;
        let document = checked_url(&format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))?;
        Self::with(Target::Discovery {
            issuer: issuer.to_owned(),
            document,
        })
    }

    /// Time for each HTTP request (default 5 s).
    ///
    /// # Errors
    /// [`ConfigError::Jwt`] for a zero timeout.
    pub fn timeout(self, timeout: Duration) -> Result<Self, ConfigError> {
        if timeout.is_zero() {
            return Err(ConfigError::Jwt(
                "the key source timeout must not be 0".into(),
            ));
        }
        Ok(HttpKeySource {
            client: client(timeout)?,
            target: self.target,
        })
    }

    fn with(target: Target) -> Result<Self, ConfigError> {
        Ok(HttpKeySource {
            target,
            client: client(DEFAULT_TIMEOUT)?,
        })
    }

    /// GET `url` as JSON, with the `max-age` of its answer.
    async fn get(&self, url: &Url) -> Result<(Value, Option<Duration>), KeySourceError> {
        let mut resp = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", without_url(&e)))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", resp.status().as_u16()).into());
        }
        let max_age = resp
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(format!("GET {url}: the body is over {MAX_BODY} bytes").into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("GET {url}: {}", without_url(&e)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!("GET {url}: the body is over {MAX_BODY} bytes").into());
            }
            body.extend_from_slice(&chunk);
        }
        let json = serde_json::from_slice(&body)
            .map_err(|_| format!("GET {url}: the body is not JSON"))?;
        Ok((json, max_age))
    }
}

#[async_trait::async_trait]
impl KeySource for HttpKeySource {
    async fn fetch(&self) -> Result<FetchedKeys, KeySourceError> {
        let jwks_url = match &self.target {
            Target::Jwks(url) => url.clone(),
            Target::Discovery { issuer, document } => {
                let (doc, _) = self.get(document).await?;
                if doc.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
                    return Err(format!(
                        "the discovery document at {document} is not for issuer `{issuer}`"
                    )
                    .into());
                }
                let uri = doc.get("jwks_uri").and_then(Value::as_str).ok_or_else(|| {
                    format!("the discovery document at {document} has no jwks_uri")
                })?;
                checked_url(uri).map_err(|e| e.to_string())?
            }
        };
        let (jwks, max_age) = self.get(&jwks_url).await?;
        Ok(FetchedKeys::new(jwks, max_age))
    }
}

fn client(timeout: Duration) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError::Jwt(format!("cannot build the HTTP client: {e}")))
}

/// reqwest's error without the URL (which the caller names once).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "").replace(" ()", "");
    }
    if let Some(source) = std::error::Error::source(e) {
        text = format!("{text}: {source}");
    }
    text
}

/// `https://`, or `http://` to a loopback host; no credentials.
fn checked_url(raw: &str) -> Result<Url, ConfigError> {
    let bad = |why: &str| Err(ConfigError::Jwt(format!("key source URL `{raw}`: {why}")));
    let Ok(url) = Url::parse(raw) else {
        return bad("not a URL");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::Jwt(
            "a key source URL must not carry credentials".into(),
        ));
    }
    let Some(host) = url.host_str() else {
        return bad("no host");
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => bad("plain http is allowed for loopback hosts only"),
        _ => bad("not an https URL"),
    }
}

/// The `max-age` of a `Cache-Control` value; `no-cache` / `no-store` mean
/// "as soon as allowed" (the floor of the refresh bounds).
fn max_age(header: &str) -> Option<Duration> {
    let mut found = None;
    for directive in header.split(',') {
        let d = directive.trim();
        if d.eq_ignore_ascii_case("no-cache") || d.eq_ignore_ascii_case("no-store") {
            return Some(Duration::ZERO);
        }
        if let Some((name, value)) = d.split_once('=') {
            if name.trim().eq_ignore_ascii_case("max-age") {
                found = value
                    .trim()
                    .trim_matches('"')
                    .parse()
                    .ok()
                    .map(Duration::from_secs);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control() {
        let s = |n| Some(Duration::from_secs(n));
        assert_eq!(max_age("public, max-age=300"), s(300));
        assert_eq!(max_age("Max-Age=\"60\", must-revalidate"), s(60));
        assert_eq!(max_age("no-store"), s(0));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=-1"), None);
    }

    #[test]
    fn urls() {
        for ok in [
            "https://idp.example/jwks",
            "http://127.0.0.1:9/jwks",
            "http://[::1]:9/jwks",
            "http://localhost/jwks",
        ] {
            assert!(checked_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example/jwks",
            "https://user:pw@idp.example/jwks",
            "ftp://idp.example/jwks",
            "not a url",
        ] {
            let e = checked_url(bad).unwrap_err().to_string();
            assert!(!e.contains("pw"), "{e}");
        }
    }
}
