//! [`TokenService`]: issue, verify, refresh and revoke tokens.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::backend;
use super::cache::{Verified, VerifiedCache};
pub use super::cache::{DEFAULT_VERIFIED_CACHE_SLOTS, MAX_VERIFIED_CACHE_SLOTS};
use super::claims::{issued_at_millis, Claims, RawClaims, RESERVED_CLAIMS};
use super::error::JwtError;
use super::jws::MAX_TOKEN_LEN;
use super::keys::KeyRegistry;
use super::refresh::RefreshToken;
use super::revocation::{MemoryRevocationList, RevocationList};
use super::validation::{Required, Validation, DEFAULT_LEEWAY, MAX_LEEWAY};
use crate::clock::{SharedClock, SystemClock, UnixTime};
use crate::error::{fill_random, ConfigError, StoreError};
use crate::id::SessionKey;
use crate::identity::{AuthMethod, Identity, TokenInfo};
use crate::rejection::{Rejection, RejectionKind};
use crate::store::{MemoryStore, RecordKind, SessionRecord, SessionStore};

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
/// Attempts at a fresh family ID when the store reports a collision.
const CREATE_ATTEMPTS: usize = 3;
/// Record data members remembering the family's latest access token, so
/// reuse detection can revoke it too.
const DATA_ACCESS_JTI: &str = "access_jti";
const DATA_ACCESS_EXP: &str = "access_exp";

/// An access token and its refresh token, shaped like an OAuth 2.0 token
/// response (RFC 6749 §5.1) when serialized.
///
/// `Debug` never shows the tokens.
///
/// ```
/// use portcullis::jwt::{KeyRegistry, TokenService};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let svc = TokenService::builder(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()).build().unwrap();
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
///   [`verified_cache`](TokenServiceBuilder::verified_cache)); its time
///   claims and the revocation list are still checked every time.
/// - [`issue`](Self::issue) starts a refresh family (a
///   [`SessionRecord`] of kind [`RecordKind::RefreshFamily`] in the
///   [`SessionStore`]) and returns a [`TokenPair`].
/// - [`refresh`](Self::refresh) rotates the refresh token with the store's
///   compare-and-set: exactly one of two concurrent uses wins; presenting a
///   spent refresh token again deletes the whole family (reuse detection).
///   Clients must therefore serialise their refreshes.
/// - [`logout`](Self::logout) revokes the access token and deletes its
///   family; [`logout_all`](Self::logout_all) revokes every token of a
///   subject issued up to now (millisecond precision) and deletes all of
///   their refresh families.
///
/// `Clone` is cheap (shared state).
///
/// ```
/// use std::sync::Arc;
/// use portcullis::clock::ManualClock;
/// use portcullis::jwt::{KeyRegistry, TokenService};
/// use portcullis::RejectionKind;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let clock = ManualClock::new(1_700_000_000);
/// let svc = TokenService::builder(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap())
///     .issuer("https://auth.example")
///     .audience("api")
///     .clock(Arc::new(clock.clone()))
///     .build()
///     .unwrap();
///
/// let pair = svc.issue("alice", &["admin".into()]).await.unwrap();
/// let who = svc.authenticate(pair.access_token.as_bytes()).await.unwrap();
/// assert_eq!(who.subject(), "alice");
/// assert!(who.has_role("admin"));
///
/// clock.advance(16 * 60); // past the 15-minute lifetime
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
    inner: Arc<Inner>,
}

struct Inner {
    keys: KeyRegistry,
    validation: Validation,
    store: Arc<dyn SessionStore>,
    revocations: Arc<dyn RevocationList>,
    clock: SharedClock,
    access_ttl: u64,
    refresh_ttl: u64,
    refresh_idle_ttl: u64,
    /// The latest subject cutoff (ms) this instance wrote: a token issued
    /// right after `logout_all`, within the same millisecond, gets a later
    /// issue time so the cutoff does not catch it.
    last_cutoff_ms: AtomicU64,
    cache: Option<VerifiedCache>,
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

/// The verified content of an access token, owned.
struct Access {
    sub: String,
    roles: Vec<String>,
    jti: String,
    sid: Option<String>,
    iat: UnixTime,
    exp: UnixTime,
    nbf: Option<UnixTime>,
    issued_ms: u64,
}

impl Access {
    fn identity(self) -> Identity {
        Identity::new(
            self.sub,
            self.roles,
            AuthMethod::Bearer(TokenInfo::new(self.jti, self.iat, self.exp, self.sid)),
        )
    }
}

fn store_failure(e: &StoreError) -> Rejection {
    tracing::warn!(error = %e, "token store or revocation list failed; refusing (503)");
    Rejection::bearer(RejectionKind::StoreUnavailable)
}

fn server_failure(e: &JwtError) -> Rejection {
    tracing::error!(error = %e, "cannot issue a token; refusing (503)");
    Rejection::bearer(e.rejection())
}

const INVALID: Rejection = Rejection::bearer(RejectionKind::InvalidToken);

fn new_jti() -> Result<String, JwtError> {
    let mut b = [0u8; JTI_BYTES];
    fill_random(&mut b).map_err(|_| JwtError::Rng)?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

impl TokenService {
    /// Start configuring a service around `keys`.
    pub fn builder(keys: KeyRegistry) -> TokenServiceBuilder {
        TokenServiceBuilder {
            keys,
            issuer: None,
            audience: None,
            access_ttl: DEFAULT_ACCESS_TTL,
            refresh_ttl: DEFAULT_REFRESH_TTL,
            refresh_idle_ttl: None,
            leeway: DEFAULT_LEEWAY,
            store: None,
            revocations: None,
            clock: None,
            allowed_crit: Vec::new(),
            verified_cache: DEFAULT_VERIFIED_CACHE_SLOTS,
            max_lifetime: None,
        }
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

    /// The key registry.
    #[must_use]
    pub fn keys(&self) -> &KeyRegistry {
        &self.inner.keys
    }

    /// The public keys as a JWKS document (HMAC keys never appear).
    #[must_use]
    pub fn jwks(&self) -> Value {
        self.inner.keys.jwks()
    }

    // ----- verification -------------------------------------------------

    /// A verified access token's identity and issue time (ms), from the
    /// verified-token cache when these exact bytes passed before (the
    /// time checks are repeated), else by full verification.
    fn verified(&self, token: &[u8]) -> Result<(Identity, u64), JwtError> {
        let inner = &*self.inner;
        let Some(cache) = &inner.cache else {
            let a = self.verify_access(token)?;
            let issued_ms = a.issued_ms;
            return Ok((a.identity(), issued_ms));
        };
        if let Some(v) = cache.get(token) {
            inner
                .validation
                .check_times(v.exp, v.nbf, Some(v.iat), inner.clock.now())?;
            return Ok((v.identity.clone(), v.issued_ms));
        }
        let a = self.verify_access(token)?;
        let times = (a.exp, a.nbf, a.iat);
        let issued_ms = a.issued_ms;
        let identity = a.identity();
        cache.insert(Arc::new(Verified::new(
            token,
            identity.clone(),
            times,
            issued_ms,
        )));
        Ok((identity, issued_ms))
    }

    fn verify_access(&self, token: &[u8]) -> Result<Access, JwtError> {
        let inner = &*self.inner;
        inner
            .keys
            .verify_then(token, &inner.validation.allowed_crit, |_, payload| {
                self.access_claims(payload)
            })
    }

    fn access_claims(&self, payload: &[u8]) -> Result<Access, JwtError> {
        let inner = &*self.inner;
        let c = RawClaims::parse(payload)?;
        inner
            .validation
            .check(&c, inner.clock.now(), Required::Access)?;
        let (Some(sub), Some(jti), Some(iat), Some(exp)) = (c.sub, c.jti, c.iat, c.exp) else {
            return Err(JwtError::MalformedClaims); // unreachable after `check`
        };
        Ok(Access {
            sub: sub.into_owned(),
            roles: c
                .roles
                .unwrap_or_default()
                .into_iter()
                .map(super::json::Str::into_owned)
                .collect(),
            jti: jti.into_owned(),
            sid: c.sid.map(super::json::Str::into_owned),
            iat,
            exp,
            nbf: c.nbf,
            issued_ms: issued_at_millis(iat, c.iat_ms),
        })
    }

    /// Authenticate a bearer token: verify it and check the revocation list
    /// (one call). The identity carries the token's `jti`, `iat`, `exp` and
    /// refresh family (`sid`).
    ///
    /// # Errors
    /// [`RejectionKind::InvalidToken`] for any invalid, expired or revoked
    /// token (the reason is logged at `debug`);
    /// [`RejectionKind::StoreUnavailable`] if the revocation list cannot
    /// answer (fail closed).
    pub async fn authenticate(&self, token: &[u8]) -> Result<Identity, RejectionKind> {
        let (identity, issued_ms) = match self.verified(token) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(reason = %e, "bearer token refused");
                return Err(RejectionKind::InvalidToken);
            }
        };
        let AuthMethod::Bearer(info) = identity.method() else {
            return Err(RejectionKind::InvalidToken); // built as Bearer above
        };
        match self
            .inner
            .revocations
            .is_revoked(&info.jti, identity.subject(), issued_ms)
            .await
        {
            Ok(false) => Ok(identity),
            Ok(true) => {
                tracing::debug!("bearer token refused: revoked");
                Err(RejectionKind::InvalidToken)
            }
            Err(e) => Err(store_failure(&e).kind()),
        }
    }

    /// Verify an access token — everything [`authenticate`](Self::authenticate)
    /// checks except the revocation list — and return all of its claims.
    /// Synchronous, for inspection and tests.
    ///
    /// ```
    /// use portcullis::jwt::{KeyRegistry, TokenService};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let svc = TokenService::builder(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()).build().unwrap();
    /// let pair = svc.issue("alice", &[]).await.unwrap();
    /// let claims = svc.verify(pair.access_token.as_bytes()).unwrap();
    /// assert_eq!(claims.sub, "alice");
    /// assert_eq!(claims.exp - claims.iat, 900);
    /// assert!(claims.extra.is_empty());
    /// # });
    /// ```
    ///
    /// # Errors
    /// Why the token is invalid.
    pub fn verify(&self, token: &[u8]) -> Result<Claims<Map<String, Value>>, JwtError> {
        self.verify_claims(token)
    }

    /// Like [`verify`](Self::verify), with the application claims decoded
    /// into `T`.
    ///
    /// # Errors
    /// Why the token is invalid; [`JwtError::MalformedClaims`] if the
    /// claims do not fit `T`.
    pub fn verify_claims<T: DeserializeOwned>(&self, token: &[u8]) -> Result<Claims<T>, JwtError> {
        self.verify_with(token, Required::Access)
    }

    /// Verify any JWT signed by a registered key — format, header, key,
    /// signature, `exp` (required), `nbf`, `iat`, and `iss`/`aud` when
    /// configured — without requiring our own claims (`sub`, `jti`), and
    /// decode the whole payload into `T`. No revocation check.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use portcullis::clock::ManualClock;
    /// use portcullis::jwt::{KeyRegistry, TokenService};
    /// // RFC 7515 Appendix A.1 (HS256, no kid, no sub/jti).
    /// let key = base64::Engine::decode(
    ///     &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ///     "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    /// ).unwrap();
    /// let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
    ///     eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
    ///     dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    /// let svc = TokenService::builder(KeyRegistry::hs256("rfc", &key).unwrap())
    ///     .clock(Arc::new(ManualClock::new(1_300_819_000)))
    ///     .build()
    ///     .unwrap();
    /// let claims: serde_json::Value = svc.verify_payload(token.as_bytes()).unwrap();
    /// assert_eq!(claims["http://example.com/is_root"], true);
    /// ```
    ///
    /// # Errors
    /// Why the token is invalid.
    pub fn verify_payload<T: DeserializeOwned>(&self, token: &[u8]) -> Result<T, JwtError> {
        self.verify_with(token, Required::Jwt)
    }

    /// Verify, check the registered claims, then decode the payload as `T`.
    fn verify_with<T: DeserializeOwned>(
        &self,
        token: &[u8],
        required: Required,
    ) -> Result<T, JwtError> {
        let inner = &*self.inner;
        inner
            .keys
            .verify_then(token, &inner.validation.allowed_crit, |_, payload| {
                let c = RawClaims::parse(payload)?;
                inner.validation.check(&c, inner.clock.now(), required)?;
                serde_json::from_slice(payload).map_err(|_| JwtError::MalformedClaims)
            })
    }

    // ----- signing ------------------------------------------------------

    /// Issue time in ms: now, but after any cutoff this instance wrote.
    fn issue_millis(&self) -> u64 {
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
    /// use portcullis::jwt::{JwtError, KeyRegistry, TokenService};
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Tenant { tenant: String }
    /// let svc = TokenService::builder(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()).build().unwrap();
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

    /// A new access token for `subject` in refresh family `sid`; returns
    /// (token, jti, exp).
    fn mint_access(
        &self,
        subject: &str,
        roles: &[String],
        sid: &str,
    ) -> Result<(String, String, UnixTime), JwtError> {
        #[derive(Serialize)]
        struct Out<'a> {
            sub: &'a str,
            iat: UnixTime,
            exp: UnixTime,
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
        let token = self.sign_json(&json)?;
        Ok((token, jti, exp))
    }

    // ----- token lifecycle ---------------------------------------------

    /// Log `subject` in: create a refresh family in the store and return an
    /// access token (carrying `sid` = the family's key) and its refresh
    /// token.
    ///
    /// # Errors
    /// 503 ([`RejectionKind::StoreUnavailable`]) if the store, the OS RNG or
    /// signing fails, or the registry cannot sign; 401 for an empty subject.
    pub async fn issue(&self, subject: &str, roles: &[String]) -> Result<TokenPair, Rejection> {
        if subject.is_empty() {
            tracing::error!("refusing to issue a token for an empty subject");
            return Err(INVALID);
        }
        let inner = &*self.inner;
        for _ in 0..CREATE_ATTEMPTS {
            let rt = RefreshToken::generate().map_err(|_| server_failure(&JwtError::Rng))?;
            let key = rt.key();
            let (access, jti, exp) = self
                .mint_access(subject, roles, &key.to_hex())
                .map_err(|e| server_failure(&e))?;
            let now = inner.clock.now();
            let mut rec =
                SessionRecord::new(subject, now, inner.refresh_idle_ttl, inner.refresh_ttl);
            rec.kind = RecordKind::RefreshFamily;
            rec.roles = roles.to_vec();
            rec.secret = rt.secret_hash();
            remember_access(&mut rec, jti, exp);
            match inner.store.create(&key, &rec).await {
                Ok(()) => {
                    return Ok(TokenPair {
                        access_token: access,
                        refresh_token: rt.encode(),
                        token_type: "Bearer",
                        expires_in: inner.access_ttl,
                    })
                }
                Err(StoreError::Collision) => continue,
                Err(e) => return Err(store_failure(&e)),
            }
        }
        Err(store_failure(&StoreError::Collision))
    }

    /// Exchange a refresh token for a new pair, rotating it: the presented
    /// secret is compared in constant time with the stored hash, and the
    /// family is updated with the store's compare-and-set.
    ///
    /// - Unknown, expired or malformed: 401.
    /// - A spent token presented again (secret mismatch): the whole family
    ///   is deleted and its latest access token revoked (reuse detection),
    ///   401. Access tokens from earlier rotations of the family are not
    ///   tracked; they lapse within the access lifetime (15 minutes by
    ///   default).
    /// - Lost a concurrent rotation (compare-and-set conflict): 401, the
    ///   family stays.
    ///
    /// # Errors
    /// 401 ([`RejectionKind::InvalidToken`]) as above; 503 when the store
    /// fails.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, Rejection> {
        let inner = &*self.inner;
        let Some(rt) = RefreshToken::parse(refresh_token) else {
            return Err(INVALID);
        };
        let key = rt.key();
        let mut rec = match inner.store.load(&key).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(INVALID),
            Err(e) => return Err(store_failure(&e)),
        };
        let now = inner.clock.now();
        if rec.kind != RecordKind::RefreshFamily || rec.is_expired(now) {
            return Err(INVALID);
        }
        if !rt.matches(&rec.secret) {
            tracing::warn!(
                family = %key.hint(),
                "refresh token reuse detected: revoking the family"
            );
            self.revoke_family(&key, &rec).await?;
            return Err(INVALID);
        }
        let next = rt.rotate().map_err(|_| server_failure(&JwtError::Rng))?;
        let (access, jti, exp) = self
            .mint_access(&rec.user_id, &rec.roles, &key.to_hex())
            .map_err(|e| server_failure(&e))?;
        rec.secret = next.secret_hash();
        rec.last_seen = now;
        rec.idle_expires_at = now
            .saturating_add(inner.refresh_idle_ttl)
            .min(rec.absolute_expires_at);
        remember_access(&mut rec, jti, exp);
        match inner.store.update(&key, &rec).await {
            Ok(_) => Ok(TokenPair {
                access_token: access,
                refresh_token: next.encode(),
                token_type: "Bearer",
                expires_in: inner.access_ttl,
            }),
            Err(StoreError::Conflict) => {
                tracing::debug!(family = %key.hint(), "refresh lost a concurrent rotation");
                Err(INVALID)
            }
            Err(e) => Err(store_failure(&e)),
        }
    }

    /// Delete a family and revoke its latest access token.
    async fn revoke_family(&self, key: &SessionKey, rec: &SessionRecord) -> Result<(), Rejection> {
        let inner = &*self.inner;
        inner
            .store
            .delete(key)
            .await
            .map_err(|e| store_failure(&e))?;
        let jti = rec.data.get(DATA_ACCESS_JTI).and_then(Value::as_str);
        let exp = rec.data.get(DATA_ACCESS_EXP).and_then(Value::as_u64);
        if let (Some(jti), Some(exp)) = (jti, exp) {
            inner
                .revocations
                .revoke_token(jti, exp.saturating_add(inner.validation.leeway))
                .await
                .map_err(|e| store_failure(&e))?;
        }
        Ok(())
    }

    /// Log out the caller of a bearer request: revoke the access token
    /// (until its expiry) and delete its refresh family.
    ///
    /// # Errors
    /// 401 if the identity did not come from a bearer token; 503 when the
    /// store or revocation list fails.
    pub async fn logout(&self, identity: &Identity) -> Result<(), Rejection> {
        let AuthMethod::Bearer(info) = identity.method() else {
            return Err(INVALID);
        };
        let inner = &*self.inner;
        inner
            .revocations
            .revoke_token(&info.jti, info.exp.saturating_add(inner.validation.leeway))
            .await
            .map_err(|e| store_failure(&e))?;
        if let Some(key) = info.sid.as_deref().and_then(SessionKey::from_hex) {
            inner
                .store
                .delete(&key)
                .await
                .map_err(|e| store_failure(&e))?;
        }
        Ok(())
    }

    /// Log `subject` out everywhere (password change, "sign out all
    /// devices"): refuse every token issued up to now (millisecond
    /// precision: a login right after, even in the same second, works) and
    /// delete every refresh family of the subject. Cookie sessions are left
    /// alone.
    ///
    /// # Errors
    /// 503 when the store or revocation list fails.
    pub async fn logout_all(&self, subject: &str) -> Result<(), Rejection> {
        let inner = &*self.inner;
        let now_ms = inner.clock.now_millis();
        inner.last_cutoff_ms.fetch_max(now_ms, Ordering::SeqCst);
        inner
            .revocations
            .revoke_subject_before(subject, now_ms)
            .await
            .map_err(|e| store_failure(&e))?;
        let records = inner
            .store
            .list_user(subject)
            .await
            .map_err(|e| store_failure(&e))?;
        for (key, rec) in records {
            if rec.kind == RecordKind::RefreshFamily {
                inner
                    .store
                    .delete(&key)
                    .await
                    .map_err(|e| store_failure(&e))?;
            }
        }
        Ok(())
    }
}

fn remember_access(rec: &mut SessionRecord, jti: String, exp: UnixTime) {
    rec.data.insert(DATA_ACCESS_JTI.into(), Value::String(jti));
    rec.data.insert(DATA_ACCESS_EXP.into(), Value::from(exp));
}

/// Configures a [`TokenService`]. Contradictory or weak settings are
/// refused by [`build`](Self::build).
///
/// ```
/// use portcullis::jwt::{KeyRegistry, TokenService};
/// let keys = KeyRegistry::hs256("k1", &[9u8; 32]).unwrap();
/// let err = TokenService::builder(keys).leeway(3_600).build().unwrap_err();
/// assert!(err.to_string().contains("leeway"));
/// ```
#[must_use]
pub struct TokenServiceBuilder {
    keys: KeyRegistry,
    issuer: Option<String>,
    audience: Option<String>,
    access_ttl: u64,
    refresh_ttl: u64,
    refresh_idle_ttl: Option<u64>,
    leeway: u64,
    store: Option<Arc<dyn SessionStore>>,
    revocations: Option<Arc<dyn RevocationList>>,
    clock: Option<SharedClock>,
    allowed_crit: Vec<String>,
    verified_cache: usize,
    max_lifetime: Option<Option<u64>>,
}

impl fmt::Debug for TokenServiceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenServiceBuilder")
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("leeway", &self.leeway)
            .field("verified_cache", &self.verified_cache)
            .finish_non_exhaustive()
    }
}

impl TokenServiceBuilder {
    /// The `iss` we write, and require (exactly) on every token.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `aud` we write, and require (exactly, or as an element of an
    /// array) on every token.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Access-token lifetime in seconds (default 900, at most 86 400).
    pub fn access_ttl(mut self, secs: u64) -> Self {
        self.access_ttl = secs;
        self
    }

    /// Refresh-family absolute lifetime in seconds (default 14 days, at most
    /// one year, at least the access lifetime).
    pub fn refresh_ttl(mut self, secs: u64) -> Self {
        self.refresh_ttl = secs;
        self
    }

    /// Refresh-family idle timeout in seconds: a family unused this long
    /// expires (default: the absolute lifetime, i.e. no idle timeout).
    pub fn refresh_idle_ttl(mut self, secs: u64) -> Self {
        self.refresh_idle_ttl = Some(secs);
        self
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat`, in seconds (default
    /// 30, at most 300).
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }

    /// Where refresh families live (default: a new [`MemoryStore`] on the
    /// service's clock). Share the store of your cookie sessions to keep
    /// both in one place.
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The revocation list (default: a new [`MemoryRevocationList`] on the
    /// service's clock, keeping subject cutoffs for the access lifetime plus
    /// leeway).
    pub fn revocations(mut self, revocations: Arc<dyn RevocationList>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// The clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The longest lifetime (`exp` − `iat`, seconds) an access token may
    /// have to be accepted, plus the leeway (default: the access-token
    /// lifetime). A correctly signed token that claims to live longer is
    /// refused, so a token minted with a far-future `exp` (a leaked key, a
    /// bug elsewhere) cannot outlive log-out-everywhere. `None` removes the
    /// cap: only for tokens of another issuer whose lifetimes you do not
    /// control.
    ///
    /// ```
    /// use portcullis::jwt::{KeyRegistry, TokenService, JwtError};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let svc = TokenService::builder(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()).build().unwrap();
    /// let mut claims = svc.claims_for("alice", &[]).unwrap();
    /// claims.exp = claims.iat + 365 * 86_400; // signed, but a year long
    /// let token = svc.sign(&claims).unwrap();
    /// assert_eq!(svc.verify(token.as_bytes()).unwrap_err(), JwtError::LifetimeTooLong);
    /// # });
    /// ```
    pub fn max_token_lifetime(mut self, secs: Option<u64>) -> Self {
        self.max_lifetime = Some(secs);
        self
    }

    /// Accept tokens whose `crit` header lists `name` (an extension your
    /// application checks itself). Without this every `crit` is refused.
    pub fn allow_crit(mut self, name: impl Into<String>) -> Self {
        self.allowed_crit.push(name.into());
        self
    }

    /// Slots of the verified-token cache (default
    /// [`DEFAULT_VERIFIED_CACHE_SLOTS`], rounded up to a power of two, at
    /// most [`MAX_VERIFIED_CACHE_SLOTS`]; `0` turns it off).
    ///
    /// A client presenting the same access token again (the normal case
    /// for an API client between refreshes) is then recognised by an exact,
    /// constant-time byte comparison instead of a signature check and JSON
    /// parse: about 1 µs saved per request with HS256, tens of µs with
    /// ES256/EdDSA/RS256. `exp`, `nbf` and `iat` are still checked against
    /// the clock on every request, and the revocation list is still asked
    /// on every request, so logout and revocation take effect at once. Only
    /// tokens that verified are cached; a full cache replaces entries, so
    /// memory stays bounded (about 400 bytes per slot in use).
    ///
    /// ```
    /// use portcullis::jwt::{KeyRegistry, TokenService};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let keys = KeyRegistry::hs256("k1", &[9u8; 32]).unwrap();
    /// let svc = TokenService::builder(keys).verified_cache(0).build().unwrap();
    /// let pair = svc.issue("alice", &[]).await.unwrap();
    /// assert!(svc.authenticate(pair.access_token.as_bytes()).await.is_ok());
    /// # });
    /// ```
    pub fn verified_cache(mut self, slots: usize) -> Self {
        self.verified_cache = slots;
        self
    }

    /// Check the configuration and build the service.
    ///
    /// # Errors
    /// [`ConfigError::Jwt`] when a lifetime or the leeway is out of range,
    /// the refresh lifetime is shorter than the access lifetime, the issuer
    /// or audience is empty, or a `crit` name is a registered header.
    pub fn build(self) -> Result<TokenService, ConfigError> {
        backend::install_default();
        let bad = |m: String| Err(ConfigError::Jwt(m));
        if !(1..=MAX_ACCESS_TTL).contains(&self.access_ttl) {
            return bad(format!("access_ttl must be 1..={MAX_ACCESS_TTL} seconds"));
        }
        if !(self.access_ttl..=MAX_REFRESH_TTL).contains(&self.refresh_ttl) {
            return bad(format!(
                "refresh_ttl must be between access_ttl and {MAX_REFRESH_TTL} seconds"
            ));
        }
        let idle = self.refresh_idle_ttl.unwrap_or(self.refresh_ttl);
        if !(1..=self.refresh_ttl).contains(&idle) {
            return bad("refresh_idle_ttl must be 1..=refresh_ttl seconds".into());
        }
        if self.max_lifetime == Some(Some(0)) {
            return bad("max_token_lifetime must be at least 1 second".into());
        }
        if self.leeway > MAX_LEEWAY {
            return bad(format!("leeway must be at most {MAX_LEEWAY} seconds"));
        }
        if self.issuer.as_deref() == Some("") || self.audience.as_deref() == Some("") {
            return bad("issuer and audience must not be empty".into());
        }
        for name in &self.allowed_crit {
            if name.is_empty()
                || [
                    "alg", "kid", "typ", "cty", "crit", "jwk", "jku", "x5u", "x5c", "b64",
                ]
                .contains(&name.as_str())
            {
                return bad(format!("`{name}` cannot be an allowed crit extension"));
            }
        }
        let clock: SharedClock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::with_clock(clock.clone())));
        let revocations = self.revocations.unwrap_or_else(|| {
            Arc::new(
                MemoryRevocationList::new(clock.clone())
                    .with_subject_retention(self.access_ttl + self.leeway + 1),
            )
        });
        let cache = VerifiedCache::new(self.verified_cache)
            .map_err(|e| ConfigError::Invalid(format!("verified-token cache: {e}")))?;
        Ok(TokenService {
            inner: Arc::new(Inner {
                keys: self.keys,
                validation: Validation {
                    leeway: self.leeway,
                    issuer: self.issuer,
                    audience: self.audience,
                    allowed_crit: self.allowed_crit,
                    max_lifetime: self.max_lifetime.unwrap_or(Some(self.access_ttl)),
                },
                store,
                revocations,
                clock,
                access_ttl: self.access_ttl,
                refresh_ttl: self.refresh_ttl,
                refresh_idle_ttl: idle,
                last_cutoff_ms: AtomicU64::new(0),
                cache,
            }),
        })
    }
}
