//! Verifying access tokens: the per-request path ([`TokenService::authenticate`])
//! and the inspection calls (`verify*`).

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::cache::Verified;
use super::claims::{issued_at_millis, Claims, RawClaims};
use super::error::JwtError;
use super::json::Str;
use super::service::{store_failure, TokenService};
use super::validation::Required;
use crate::identity::{AuthMethod, Identity, TokenInfo};
use crate::last_seen;
use crate::rejection::RejectionKind;
use crate::store::UserId;

thread_local! {
    /// The role set of the token this thread verified last: a service's
    /// tokens carry a few role sets, so one is shared, not copied.
    static LAST_ROLES: last_seen::Slot<[String]> = const { std::cell::RefCell::new(None) };
}

/// `roles` as stored in an [`Identity`]: the thread's last role set when
/// equal, else a new one (then remembered).
fn shared_roles(roles: Vec<Str<'_>>) -> Arc<[String]> {
    let same = |last: &[String]| {
        last.len() == roles.len() && last.iter().zip(&roles).all(|(a, b)| a.as_str() == &**b)
    };
    if let Some(seen) = last_seen::get(&LAST_ROLES, same) {
        return seen;
    }
    let roles: Arc<[String]> = roles.into_iter().map(Str::into_owned).collect();
    last_seen::set(&LAST_ROLES, &roles);
    roles
}

/// Why a request's bearer token was refused before the revocation list.
enum Refused {
    /// Not one RFC 6750 `b64token`: a malformed request (400).
    NotAToken,
    /// Not a valid token of ours (401; the reason is only logged).
    Invalid(JwtError),
}

impl From<JwtError> for Refused {
    fn from(e: JwtError) -> Self {
        Refused::Invalid(e)
    }
}

/// The verified content of an access token, owned.
struct Access {
    sub: UserId,
    roles: Arc<[String]>,
    jti: String,
    sid: Option<String>,
    iat: u64,
    exp: u64,
    nbf: Option<u64>,
    issued_ms: u64,
}

impl Access {
    fn identity(self) -> Identity {
        Identity::shared(
            self.sub,
            self.roles,
            AuthMethod::Bearer(TokenInfo::new(self.jti, self.iat, self.exp, self.sid)),
        )
    }
}

impl TokenService {
    // ----- verification -------------------------------------------------

    /// A verified access token's identity and issue time (ms), from the
    /// verified-token cache when these exact bytes passed before (the
    /// time checks are repeated), else by full verification.
    fn verified(&self, token: &[u8]) -> Result<(Identity, u64), Refused> {
        let inner = &*self.inner;
        let Some(cache) = &inner.cache else {
            let a = self.verify_new(token)?;
            let issued_ms = a.issued_ms;
            return Ok((a.identity(), issued_ms));
        };
        if let Some(v) = cache.get(token) {
            inner
                .validation
                .check_times(v.exp, v.nbf, Some(v.iat), inner.clock.now())?;
            return Ok((v.identity.clone(), v.issued_ms));
        }
        let a = self.verify_new(token)?;
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

    /// A token not in the cache: a request's bytes must be one `b64token`
    /// (checked here rather than when the header is read: a cached token
    /// passed this check when it was first seen), then verified.
    fn verify_new(&self, token: &[u8]) -> Result<Access, Refused> {
        if !super::is_b64token(token) {
            return Err(Refused::NotAToken);
        }
        Ok(self.verify_access(token)?)
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
            sub: UserId::from(&*sub),
            roles: shared_roles(c.roles.unwrap_or_default()),
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
        match self.authenticate_bearer(token).await {
            Err(RejectionKind::MalformedRequest) => Err(RejectionKind::InvalidToken),
            other => other,
        }
    }

    /// [`authenticate`](Self::authenticate) for the token of an
    /// `Authorization: Bearer` header: bytes that are not one RFC 6750
    /// `b64token` are [`RejectionKind::MalformedRequest`] (400).
    pub(crate) async fn authenticate_bearer(
        &self,
        token: &[u8],
    ) -> Result<Identity, RejectionKind> {
        let (identity, issued_ms) = match self.verified(token) {
            Ok(v) => v,
            Err(Refused::NotAToken) => return Err(RejectionKind::MalformedRequest),
            Err(Refused::Invalid(e)) => {
                tracing::debug!(reason = %e, "bearer token refused");
                return Err(RejectionKind::InvalidToken);
            }
        };
        self.check_revoked(&identity, issued_ms).await?;
        Ok(identity)
    }

    /// Ask the revocation list about a verified bearer token (ours, or a
    /// trusted issuer's: an empty `jti` is never revoked, subject cut-offs
    /// apply to both), once.
    pub(crate) async fn check_revoked(
        &self,
        identity: &Identity,
        issued_ms: u64,
    ) -> Result<(), RejectionKind> {
        let AuthMethod::Bearer(info) = identity.method() else {
            return Err(RejectionKind::InvalidToken);
        };
        let (jti, family, subject) = (&info.jti, info.sid.as_deref(), identity.subject());
        let revoked = match &self.inner.own_memory_list {
            Some(list) => Ok(list.is_revoked_now(jti, family, subject, issued_ms)),
            None => {
                let list = &self.inner.revocations;
                list.is_revoked(jti, family, subject, issued_ms).await
            }
        };
        match revoked {
            Ok(false) => Ok(()),
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
    /// use portcullis::jwt::{KeyRegistry, TokenConfig};
    /// use portcullis::Authenticator;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder()
    ///     .tokens(TokenConfig::new(KeyRegistry::hs256("k1", &[9u8; 32]).unwrap()))
    ///     .build()
    ///     .unwrap();
    /// let svc = auth.tokens().unwrap();
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
    /// use portcullis::jwt::{KeyRegistry, TokenConfig};
    /// use portcullis::Authenticator;
    /// // RFC 7515 Appendix A.1 (HS256, no kid, no sub/jti).
    /// let key = base64::Engine::decode(
    ///     &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ///     "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    /// ).unwrap();
    /// let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
    ///     eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
    ///     dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    /// let auth = Authenticator::builder()
    ///     .without_sessions()
    ///     .clock(Arc::new(ManualClock::new(1_300_819_000)))
    ///     .tokens(TokenConfig::new(KeyRegistry::hs256("rfc", &key).unwrap()))
    ///     .build()
    ///     .unwrap();
    /// let svc = auth.tokens().unwrap();
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
}
