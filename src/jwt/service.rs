//! [`TokenService`]: issue, verify, refresh and revoke tokens.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use super::cache::VerifiedCache;
use super::claims::{Claims, RESERVED_CLAIMS};
use super::error::JwtError;
use super::jws::MAX_TOKEN_LEN;
use super::keys::KeyRegistry;
use super::revocation::{MemoryRevocationList, RevocationList};
use super::validation::Validation;
use crate::clock::SharedClock;
use crate::error::{fill_random, StoreError};
use crate::rejection::{Rejection, RejectionKind};
use crate::store::SessionStore;

/// Default access-token lifetime: 15 minutes (OWASP: keep bearer tokens
/// short-lived; revocation then only has to bridge minutes).
pub const DEFAULT_ACCESS_TTL: u64 = 15 * 60;
/// Default refresh-family lifetime: 14 days, after which the user logs in
/// again whatever the activity.
pub const DEFAULT_REFRESH_TTL: u64 = 14 * 86_400;
/// Longest access-token lifetime a builder accepts: one day.
pub const MAX_ACCESS_TTL: u64 = 86_400;
/// Longest refresh-family lifetime a builder accepts: one year.
pub const MAX_REFRESH_TTL: u64 = 365 * 86_400;

/// `jti` size: 128 random bits.
const JTI_BYTES: usize = 16;

/// An access token and its refresh token, shaped like an OAuth 2.0 token
/// response (RFC 6749 §5.1) when serialized.
///
/// `Debug` never shows the tokens.
///
/// ```
/// use portcullis::jwt::{KeyRegistry, TokenConfig};
/// use portcullis::Authenticator;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let auth = Authenticator::builder()
///     .tokens(TokenConfig::new(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()))
///     .build()
///     .unwrap();
/// let svc = auth.tokens().unwrap();
/// let pair = svc.issue("alice", &["user".into()]).await.unwrap();
/// assert_eq!(pair.token_type, "Bearer");
/// assert_eq!(pair.expires_in, 900);
/// assert!(!format!("{pair:?}").contains(&pair.access_token));
/// let json = serde_json::to_value(&pair).unwrap();
/// assert_eq!(json["token_type"], "Bearer");
/// # });
/// ```
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TokenPair {
    /// The signed JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// The opaque, single-use refresh token.
    pub refresh_token: String,
    /// Always `"Bearer"`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"REDACTED")
            .field("refresh_token", &"REDACTED")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Token mode: short-lived signed access tokens (JWT), opaque rotating
/// refresh tokens kept server-side, and a revocation list.
///
/// - [`authenticate`](Self::authenticate) is the per-request path: verify
///   the JWT (format, header, key, signature, claims) and ask the
///   [`RevocationList`] once. A token presented again is recognised by the
///   verified-token cache (see
///   [`verified_cache`](crate::jwt::TokenConfig::verified_cache)); its time
///   claims and the revocation list are still checked every time.
/// - [`issue`](Self::issue) starts a refresh family (a
///   [`SessionRecord`](crate::store::SessionRecord) of kind
///   [`RecordKind::RefreshFamily`](crate::store::RecordKind::RefreshFamily) in the
///   [`SessionStore`]) and returns a [`TokenPair`].
/// - [`refresh`](Self::refresh) rotates the refresh token with the store's
///   compare-and-set, so a family has exactly one live refresh token;
///   presenting a spent one again ends the whole family and every access
///   token minted from it (reuse detection), except the same client
///   retrying within seconds through
///   [`TokenHandle::refresh`](crate::TokenHandle::refresh).
/// - [`logout`](Self::logout) revokes the access token and ends its
///   family; [`logout_all`](Self::logout_all) revokes every token of a
///   subject issued up to now (millisecond precision) and ends all of
///   their refresh families. Ending a family refuses every access token
///   minted from it at once (the `sid` is in the revocation list).
///
/// `Clone` is cheap (shared state).
///
/// ```
/// use std::time::Duration;
/// use std::sync::Arc;
/// use portcullis::clock::ManualClock;
/// use portcullis::jwt::{KeyRegistry, TokenConfig};
/// use portcullis::Authenticator;
/// use portcullis::RejectionKind;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = ManualClock::new(1_700_000_000);
/// let auth = Authenticator::builder()
///     .without_sessions()
///     .clock(clock.clone())
///     .tokens(
///         TokenConfig::new(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap())
///             .issuer("https://auth.example")
///             .audience("api"),
///     )
///     .build()
///     .unwrap();
/// let svc = auth.tokens().unwrap();
///
/// let pair = svc.issue("alice", &["admin".into()]).await.unwrap();
/// let who = svc.authenticate(pair.access_token.as_bytes()).await.unwrap();
/// assert_eq!(who.subject(), "alice");
/// assert!(who.has_role("admin"));
///
/// clock.advance(Duration::from_secs(16 * 60)); // past the 15-minute lifetime
/// assert_eq!(
///     svc.authenticate(pair.access_token.as_bytes()).await.unwrap_err(),
///     RejectionKind::InvalidToken
/// );
/// let next = svc.refresh(&pair.refresh_token).await.unwrap();
/// assert!(svc.authenticate(next.access_token.as_bytes()).await.is_ok());
/// // The spent refresh token is refused, and its reuse revokes the family:
/// assert_eq!(svc.refresh(&pair.refresh_token).await.unwrap_err().status(), 401);
/// assert_eq!(svc.refresh(&next.refresh_token).await.unwrap_err().status(), 401);
/// # });
/// ```
#[derive(Clone)]
pub struct TokenService {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) keys: KeyRegistry,
    pub(super) validation: Validation,
    pub(super) store: Arc<dyn SessionStore>,
    pub(super) revocations: Arc<dyn RevocationList>,
    /// `revocations` itself when it is a memory list the authenticator
    /// built (see [`Shared`](super::config::Shared)).
    pub(super) own_memory_list: Option<Arc<MemoryRevocationList>>,
    pub(super) clock: SharedClock,
    pub(super) events: Option<crate::events::Events>,
    pub(super) access_ttl: u64,
    pub(super) refresh_ttl: u64,
    pub(super) refresh_idle_ttl: u64,
    /// Most refresh families per user (`None`: no cap).
    pub(super) max_families: Option<usize>,
    /// The latest subject cutoff (ms) this instance wrote: a token issued
    /// right after `logout_all`, within the same millisecond, gets a later
    /// issue time so the cutoff does not catch it.
    pub(super) last_cutoff_ms: AtomicU64,
    pub(super) cache: Option<VerifiedCache>,
}

impl fmt::Debug for TokenService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("TokenService")
            .field("keys", &i.keys)
            .field("issuer", &i.validation.issuer)
            .field("audience", &i.validation.audience)
            .field("leeway", &i.validation.leeway)
            .field("access_ttl", &i.access_ttl)
            .field("refresh_ttl", &i.refresh_ttl)
            .field("refresh_idle_ttl", &i.refresh_idle_ttl)
            .field("verified_cache", &i.cache)
            .finish_non_exhaustive()
    }
}

pub(super) fn store_failure(e: &StoreError) -> Rejection {
    tracing::warn!(error = %e, "token store or revocation list failed; refusing (503)");
    Rejection::bearer(RejectionKind::StoreUnavailable)
}

pub(super) fn server_failure(e: &JwtError) -> Rejection {
    tracing::error!(error = %e, "cannot issue a token; refusing (503)");
    Rejection::bearer(e.rejection())
}

pub(super) const INVALID: Rejection = Rejection::bearer(RejectionKind::InvalidToken);

fn new_jti() -> Result<String, JwtError> {
    let mut b = [0u8; JTI_BYTES];
    fill_random(&mut b).map_err(|_| JwtError::Rng)?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

impl TokenService {
    /// Whether revocations are asked of the memory list the builder made
    /// (in this process, never waiting).
    pub(crate) fn has_own_memory_list(&self) -> bool {
        self.inner.own_memory_list.is_some()
    }

    /// The access-token lifetime in seconds.
    #[must_use]
    pub fn access_ttl(&self) -> u64 {
        self.inner.access_ttl
    }

    /// The refresh-family lifetime in seconds.
    #[must_use]
    pub fn refresh_ttl(&self) -> u64 {
        self.inner.refresh_ttl
    }

    /// Whether the refresh-family store and the revocation list answer.
    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.inner.store.ping().await?;
        self.inner
            .revocations
            .is_revoked("", None, "", 0)
            .await
            .map(|_| ())
    }

    /// The key registry.
    #[must_use]
    pub fn keys(&self) -> &KeyRegistry {
        &self.inner.keys
    }

    /// The public keys as a JWKS document (HMAC keys never appear): what
    /// `GET /.well-known/jwks.json` serves, so that resource servers
    /// ([`TrustedIssuer`](super::TrustedIssuer)) can verify this service's
    /// tokens. Every registered key is in it, the previous ones of a
    /// rotation too, as long as they stay in the registry (keep them until
    /// the last token they signed has expired: the access-token lifetime
    /// after the switch). Serve it with `Cache-Control: public,
    /// max-age=300`, well under that lifetime, so a new key reaches
    /// verifiers before its tokens are common (they also refetch on an
    /// unknown `kid`).
    #[must_use]
    pub fn jwks(&self) -> Value {
        self.inner.keys.jwks()
    }

    /// The OpenID Connect discovery document of this issuer, as much of it
    /// as a resource server needs (`issuer`, `jwks_uri`,
    /// `id_token_signing_alg_values_supported`), for
    /// `GET /.well-known/openid-configuration`; `None` without an
    /// [`issuer`](super::TokenConfig::issuer). `jwks_uri` is where you
    /// serve [`jwks`](Self::jwks), from your configured public URL, never
    /// from a request's `Host` (the document is public and cached).
    ///
    /// ```
    /// use portcullis::jwt::{KeyRegistry, TokenConfig};
    /// use portcullis::Authenticator;
    /// let auth = Authenticator::builder()
    ///     .tokens(TokenConfig::new(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()).issuer("https://auth.example"))
    ///     .build()
    ///     .unwrap();
    /// let doc = auth.tokens().unwrap().openid_configuration("https://auth.example/.well-known/jwks.json").unwrap();
    /// assert_eq!(doc["issuer"], "https://auth.example");
    /// assert_eq!(doc["id_token_signing_alg_values_supported"][0], "HS256");
    /// ```
    #[must_use]
    pub fn openid_configuration(&self, jwks_uri: &str) -> Option<Value> {
        let issuer = self.inner.validation.issuer.as_deref()?;
        let mut algs: Vec<&str> = Vec::new();
        for (_, alg) in self.inner.keys.kids() {
            if !algs.contains(&alg.as_str()) {
                algs.push(alg.as_str());
            }
        }
        Some(serde_json::json!({
            "issuer": issuer,
            "jwks_uri": jwks_uri,
            "id_token_signing_alg_values_supported": algs,
        }))
    }

    // ----- signing ------------------------------------------------------

    /// Issue time in ms: now, but after any cutoff this instance wrote.
    pub(super) fn issue_millis(&self) -> u64 {
        let now = self.inner.clock.now_millis();
        let last = self.inner.last_cutoff_ms.load(Ordering::SeqCst);
        if now <= last {
            last + 1
        } else {
            now
        }
    }

    fn sign_json(&self, json: &[u8]) -> Result<String, JwtError> {
        let key = self.inner.keys.active().ok_or(JwtError::NoSigningKey)?;
        let mut token = String::with_capacity(key.header_b64.len() + json.len() * 4 / 3 + 96);
        token.push_str(&key.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(json, &mut token);
        let sig = key.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut token);
        if token.len() > MAX_TOKEN_LEN {
            // We would mint a token no verifier accepts.
            return Err(JwtError::TooLarge);
        }
        Ok(token)
    }

    /// Claims for a new access token of `subject`: `iat`/`iat_ms` now, `exp`
    /// after the access lifetime, a fresh 128-bit `jti`, and the configured
    /// `iss`/`aud`. Add application claims with
    /// [`Claims::with_extra`] and sign with [`sign`](Self::sign).
    ///
    /// # Errors
    /// [`JwtError::Rng`] if the OS generator fails.
    pub fn claims_for(&self, subject: &str, roles: &[String]) -> Result<Claims, JwtError> {
        let ms = self.issue_millis();
        let iat = ms / 1000;
        let mut c = Claims::new(subject, iat, iat + self.inner.access_ttl, new_jti()?)
            .with_roles(roles.to_vec())
            .with_iat_ms(ms);
        c.iss.clone_from(&self.inner.validation.issuer);
        c.aud = self
            .inner
            .validation
            .audience
            .clone()
            .map(super::claims::Audience::One);
        Ok(c)
    }

    /// Sign `claims` with the active key. Application claims (`T`) must
    /// serialize to an object (or nothing) without any name from
    /// [`RESERVED_CLAIMS`].
    ///
    /// ```
    /// use portcullis::jwt::{JwtError, KeyRegistry, TokenConfig};
    /// use portcullis::Authenticator;
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Tenant { tenant: String }
    /// let auth = Authenticator::builder()
    ///     .tokens(TokenConfig::new(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()))
    ///     .build()
    ///     .unwrap();
    /// let svc = auth.tokens().unwrap();
    /// let claims = svc.claims_for("alice", &[]).unwrap().with_extra(Tenant { tenant: "acme".into() });
    /// let token = svc.sign(&claims).unwrap();
    /// assert_eq!(svc.verify_claims::<Tenant>(token.as_bytes()).unwrap().extra.tenant, "acme");
    ///
    /// let bad = svc.claims_for("alice", &[]).unwrap().with_extra(serde_json::json!({"exp": 1}));
    /// assert_eq!(svc.sign(&bad), Err(JwtError::ReservedClaim("exp".into())));
    /// ```
    ///
    /// # Errors
    /// [`JwtError::ReservedClaim`], [`JwtError::MalformedClaims`] if `T`
    /// does not serialize to an object, [`JwtError::NoSigningKey`],
    /// [`JwtError::Signing`], or [`JwtError::TooLarge`] if the token would
    /// exceed [`MAX_TOKEN_LEN`].
    pub fn sign<T: Serialize>(&self, claims: &Claims<T>) -> Result<String, JwtError> {
        match serde_json::to_value(&claims.extra).map_err(|_| JwtError::MalformedClaims)? {
            Value::Null => {}
            Value::Object(m) => {
                if let Some(name) = m.keys().find(|k| RESERVED_CLAIMS.contains(&k.as_str())) {
                    return Err(JwtError::ReservedClaim(name.clone()));
                }
            }
            _ => return Err(JwtError::MalformedClaims),
        }
        let json = serde_json::to_vec(claims).map_err(|_| JwtError::MalformedClaims)?;
        self.sign_json(&json)
    }

    /// A new access token for `subject` in refresh family `sid`.
    pub(super) fn mint_access(
        &self,
        subject: &str,
        roles: &[String],
        sid: &str,
    ) -> Result<String, JwtError> {
        #[derive(Serialize)]
        struct Out<'a> {
            sub: &'a str,
            iat: u64,
            exp: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            iss: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            aud: Option<&'a str>,
            jti: &'a str,
            sid: &'a str,
            roles: &'a [String],
            iat_ms: u64,
        }
        let inner = &*self.inner;
        let ms = self.issue_millis();
        let iat = ms / 1000;
        let exp = iat + inner.access_ttl;
        let jti = new_jti()?;
        let json = serde_json::to_vec(&Out {
            sub: subject,
            iat,
            exp,
            iss: inner.validation.issuer.as_deref(),
            aud: inner.validation.audience.as_deref(),
            jti: &jti,
            sid,
            roles,
            iat_ms: ms,
        })
        .map_err(|_| JwtError::MalformedClaims)?;
        self.sign_json(&json)
    }
}
