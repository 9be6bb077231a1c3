//! The bearer-token path of [`Authenticator::authenticate`]: this
//! service's own tokens, and those of trusted issuers.

use super::Authenticator;
use crate::identity::Identity;
use crate::rejection::{Rejection, RejectionKind};

impl Authenticator {
    /// Whether an `Authorization: Bearer` header is ours to check. With
    /// neither token mode nor a trusted issuer it is not (a gateway may
    /// inject its own identity token), so it is ignored.
    pub(super) fn accepts_bearer(&self) -> bool {
        #[cfg(feature = "jwks")]
        if !self.inner.issuers.is_empty() {
            return true;
        }
        self.inner.tokens.is_some()
    }

    /// Verify a bearer token: a trusted issuer's when its `iss` names one
    /// (with that issuer's keys and settings only), else as one of ours.
    /// Bytes that are not one RFC 6750 `b64token` are
    /// [`RejectionKind::MalformedRequest`], checked after the verified-token
    /// caches (which hold checked tokens only).
    pub(super) async fn bearer(&self, token: &[u8]) -> Result<Identity, RejectionKind> {
        #[cfg(feature = "jwks")]
        if !self.inner.issuers.is_empty() {
            let now = self.inner.clock.now();
            // A token seen before is found in its issuer's cache without
            // decoding it; otherwise its claimed `iss` picks the issuer.
            let hit = self.inner.issuers.iter().find_map(|i| i.cached(token, now));
            let verified = match hit {
                Some(v) => Some(v),
                // Checked only now: a cached token passed this before.
                None if !crate::jwt::is_b64token(token) => {
                    return Err(RejectionKind::MalformedRequest)
                }
                None => match crate::jwt::foreign::claimed_issuer(token)
                    .and_then(|iss| self.inner.issuers.iter().find(|i| i.names(&iss)))
                {
                    Some(issuer) => Some(issuer.verify(token, now).await),
                    None => None,
                },
            };
            if let Some(verified) = verified {
                let (identity, issued_ms) = verified.map_err(|e| {
                    tracing::debug!(reason = %e, "trusted issuer's bearer token refused");
                    RejectionKind::InvalidToken
                })?;
                if let Some(tokens) = &self.inner.tokens {
                    tokens.check_revoked(&identity, issued_ms).await?;
                }
                return Ok(identity);
            }
        }
        match &self.inner.tokens {
            Some(tokens) => tokens.authenticate_bearer(token).await,
            None => Err(RejectionKind::InvalidToken),
        }
    }

    /// 503 until every trusted issuer has had its keys loaded once.
    pub(super) fn issuers_ready(&self) -> Result<(), Rejection> {
        #[cfg(feature = "jwks")]
        for issuer in &self.inner.issuers {
            if !issuer.is_ready() {
                tracing::debug!(?issuer, "readiness probe: no keys loaded yet");
                return Err(Rejection::new(
                    RejectionKind::StoreUnavailable,
                    self.default_scheme(),
                ));
            }
        }
        Ok(())
    }
}
