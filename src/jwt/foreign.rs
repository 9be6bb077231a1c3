//! Tokens of another issuer: [`TrustedIssuer`] (the settings of one
//! issuer: its key source, names, audiences, roles claim, lifetime cap)
//! and the verifier built from it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::cache::{Verified, VerifiedCache, DEFAULT_VERIFIED_CACHE_SLOTS};
use super::claims::RawClaims;
use super::error::JwtError;
use super::json::Str;
use super::jws;
use super::remote::{KeySource, Refresh, RemoteKeys, Snapshot};
use super::validation::{Validation, DEFAULT_LEEWAY, MAX_LEEWAY};
use crate::error::ConfigError;
use crate::identity::{AuthMethod, Identity, TokenInfo};

/// Default least time between two key refetches asked for by unknown
/// `kid`s.
const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(30);
/// Longest a request with an unknown `kid` waits for the refetch.
const MISS_WAIT: Duration = Duration::from_secs(1);

/// Another service whose access tokens this one accepts (resource-server
/// mode): an identity provider (Keycloak, Auth0, Entra, Cognito, Google)
/// or another portcullis service, with its keys from a [`KeySource`]
/// (usually an [`HttpKeySource`](super::HttpKeySource)).
///
/// Give it to [`AuthenticatorBuilder::trust`](crate::AuthenticatorBuilder::trust);
/// a bearer token whose `iss` is one of [`issuer`](Self::issuer)'s names is
/// verified with this issuer's keys and settings only, so one issuer's keys
/// can never vouch for another's tokens. Its checks, besides the signature
/// (the token's `alg` must be its key's, see
/// [`KeyRegistry`](super::KeyRegistry)):
///
/// - `exp` required; `nbf` and `iat`, when present, checked with the leeway
///   (default 30 s);
/// - `iss` one of the configured names, exactly; `aud` (a string or an
///   array) naming at least one configured audience; both required;
/// - `sub` required and non-empty; `jti` optional (a token without one
///   cannot be revoked by `jti`, but log-out-everywhere cut-offs of the
///   [`Authenticator`](crate::Authenticator)'s revocation list, when it has
///   one, still refuse it);
/// - the lifetime (`exp` − `iat`) capped only when
///   [`max_token_lifetime`](Self::max_token_lifetime) says so (you do not
///   control another issuer's lifetimes), and then `iat` is required.
///
/// Keys: fetched when the `Authenticator` is built (which must happen
/// inside a Tokio runtime), then refreshed in the background when the set's
/// `max_age` runs out (1 minute … 24 hours; 5 minutes without one). A
/// request whose `kid` is known never waits on the key source; an unknown
/// `kid` asks for one refetch at most every
/// [`min_key_refetch`](Self::min_key_refetch) and waits up to 1 s for it,
/// otherwise it is refused at once. A failed or unusable fetch keeps the
/// last good keys; before the first good fetch, tokens are refused with 401
/// and [`Authenticator::ready`](crate::Authenticator::ready) answers 503.
///
/// ```
/// use std::time::Duration;
/// use portcullis::jwt::{FetchedKeys, KeySource, TrustedIssuer};
/// use portcullis::Authenticator;
///
/// struct Fixed(serde_json::Value);
/// #[async_trait::async_trait]
/// impl KeySource for Fixed {
///     async fn fetch(&self) -> Result<FetchedKeys, Box<dyn std::error::Error + Send + Sync>> {
///         Ok(FetchedKeys::new(self.0.clone(), None))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let keycloak = TrustedIssuer::new(Fixed(serde_json::json!({ "keys": [{
///     "kty": "EC", "crv": "P-256", "kid": "k1",
///     "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///     "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
/// }]})))
/// .issuer("https://sso.example.com/realms/shop")
/// .audience("orders")
/// .roles_claim("realm_access.roles")
/// .max_token_lifetime(Some(Duration::from_secs(3_600)));
///
/// let auth = Authenticator::builder().without_sessions().trust(keycloak).build().unwrap();
/// # });
/// ```
#[must_use]
#[derive(Clone)]
pub struct TrustedIssuer {
    source: Arc<dyn KeySource>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    roles_claim: String,
    leeway: Duration,
    max_lifetime: Option<Duration>,
    min_refetch: Duration,
    verified_cache: usize,
}

impl fmt::Debug for TrustedIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedIssuer")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("roles_claim", &self.roles_claim)
            .field("leeway", &self.leeway)
            .field("max_token_lifetime", &self.max_lifetime)
            .field("min_key_refetch", &self.min_refetch)
            .finish_non_exhaustive()
    }
}

impl TrustedIssuer {
    /// An issuer whose keys come from `keys`; name it with
    /// [`issuer`](Self::issuer) and [`audience`](Self::audience) (both
    /// required).
    pub fn new(keys: impl KeySource) -> Self {
        TrustedIssuer {
            source: Arc::new(keys),
            issuers: Vec::new(),
            audiences: Vec::new(),
            roles_claim: "roles".into(),
            leeway: Duration::from_secs(DEFAULT_LEEWAY),
            max_lifetime: None,
            min_refetch: DEFAULT_MIN_REFETCH,
            verified_cache: DEFAULT_VERIFIED_CACHE_SLOTS,
        }
    }

    /// An `iss` value of this issuer, matched exactly; call again for each
    /// name it uses (Entra's v1 and v2 endpoints, for instance).
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.issuers.push(iss.into());
        self
    }

    /// An audience this service accepts (the token's `aud` must name at
    /// least one); call again for each.
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.audiences.push(aud.into());
        self
    }

    /// Where the roles are (default `roles`): a claim holding an array of
    /// strings or a space-separated string (`scope`, `scp`, `groups`,
    /// `roles`), or a dotted path into nested objects
    /// (`realm_access.roles`, Keycloak's realm roles). A claim whose name
    /// itself contains dots (`https://example.com/roles`, Auth0's
    /// namespaced claims) is found by its whole name first. A token
    /// without it has no roles; one where it is neither shape is refused.
    pub fn roles_claim(mut self, path: impl Into<String>) -> Self {
        self.roles_claim = path.into();
        self
    }

    /// Clock-skew allowance (default 30 s, at most 5 minutes).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The longest lifetime (`exp` − `iat`) a token may have (plus the
    /// leeway); default `None`, no cap.
    pub fn max_token_lifetime(mut self, max: Option<Duration>) -> Self {
        self.max_lifetime = max;
        self
    }

    /// Least time between two refetches asked for by tokens with an unknown
    /// `kid` (default 30 s): a flood of random `kid`s costs at most one
    /// fetch per interval.
    pub fn min_key_refetch(mut self, interval: Duration) -> Self {
        self.min_refetch = interval;
        self
    }

    /// Slots of this issuer's verified-token cache (default 4096, `0`
    /// turns it off); see
    /// [`TokenConfig::verified_cache`](super::TokenConfig::verified_cache).
    pub fn verified_cache(mut self, slots: usize) -> Self {
        self.verified_cache = slots;
        self
    }

    /// The `iss` names (checked for clashes by the builder).
    pub(crate) fn names(&self) -> &[String] {
        &self.issuers
    }

    /// Check the settings and start fetching keys.
    pub(crate) fn build(self) -> Result<ForeignVerifier, ConfigError> {
        let bad = |m: &str| Err(ConfigError::Jwt(format!("trusted issuer: {m}")));
        if self.issuers.is_empty() || self.audiences.is_empty() {
            return bad("name at least one issuer and one audience");
        }
        if self
            .issuers
            .iter()
            .chain(&self.audiences)
            .any(String::is_empty)
        {
            return bad("issuers and audiences must not be empty");
        }
        if self.roles_claim.is_empty() || self.roles_claim.split('.').any(str::is_empty) {
            return bad("the roles claim must be a name or a dotted path");
        }
        if self.leeway.subsec_nanos() != 0 || self.leeway.as_secs() > MAX_LEEWAY {
            return bad("leeway must be whole seconds, at most 300");
        }
        let max_lifetime = match self.max_lifetime {
            None => None,
            Some(d) if d.subsec_nanos() != 0 || d.is_zero() => {
                return bad("max_token_lifetime must be a whole number of seconds, at least 1")
            }
            Some(d) => Some(d.as_secs()),
        };
        let cache = VerifiedCache::new(self.verified_cache)
            .map_err(|e| ConfigError::Invalid(format!("verified-token cache: {e}")))?;
        let keys = RemoteKeys::start(
            self.source,
            Refresh {
                min_refetch: self.min_refetch,
                miss_wait: MISS_WAIT,
            },
            self.issuers[0].clone(),
        )?;
        Ok(ForeignVerifier {
            keys,
            issuers: self.issuers,
            audiences: self.audiences,
            roles_claim: self.roles_claim,
            validation: Validation {
                leeway: self.leeway.as_secs(),
                max_lifetime,
                ..Validation::default()
            },
            cache,
        })
    }
}

/// A built [`TrustedIssuer`].
pub(crate) struct ForeignVerifier {
    keys: Arc<RemoteKeys>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    roles_claim: String,
    /// Leeway and lifetime cap (issuer and audience are lists, checked here).
    validation: Validation,
    cache: Option<VerifiedCache>,
}

impl fmt::Debug for ForeignVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedIssuer")
            .field("issuers", &self.issuers)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// What a verified foreign token yields.
struct Verdict {
    identity: Identity,
    times: (u64, Option<u64>, u64),
    issued_ms: u64,
}

impl ForeignVerifier {
    /// Whether `iss` names this issuer.
    pub(crate) fn names(&self, iss: &str) -> bool {
        self.issuers.iter().any(|n| n == iss)
    }

    /// Whether a key set has been loaded.
    pub(crate) fn is_ready(&self) -> bool {
        self.keys.is_loaded()
    }

    /// These exact bytes, verified before by this issuer's current keys:
    /// the time checks again, and the identity (no decoding, no lookup of
    /// the claimed issuer).
    pub(crate) fn cached(
        &self,
        token: &[u8],
        now: u64,
    ) -> Option<Result<(Identity, u64), JwtError>> {
        let cache = self.cache.as_ref()?;
        let v = cache.get(token)?;
        let s = self.keys.current()?;
        if v.generation != s.generation {
            return None;
        }
        Some(
            self.validation
                .check_times(v.exp, v.nbf, Some(v.iat), now)
                .map(|()| (v.identity.clone(), v.issued_ms)),
        )
    }

    /// Verify a token of this issuer at `now`: its identity and issue time
    /// (ms, for subject cut-offs).
    pub(crate) async fn verify(&self, token: &[u8], now: u64) -> Result<(Identity, u64), JwtError> {
        if let Some(hit) = self.cached(token, now) {
            return hit;
        }
        let snapshot = self.keys.current();
        let first = match &snapshot {
            Some(s) => self.verify_with(s, token, now),
            None => Err(JwtError::UnknownKey),
        };
        let (generation, verdict) = match first {
            Ok(v) => (snapshot.map_or(0, |s| s.generation), v),
            Err(JwtError::UnknownKey) => {
                let before = snapshot.as_ref().map(|s| s.generation);
                match self.keys.refetch_for_miss().await {
                    Some(s) if Some(s.generation) != before => {
                        (s.generation, self.verify_with(&s, token, now)?)
                    }
                    _ => return Err(JwtError::UnknownKey),
                }
            }
            Err(e) => return Err(e),
        };
        let Verdict {
            identity,
            times,
            issued_ms,
        } = verdict;
        if let Some(cache) = &self.cache {
            let mut entry = Verified::new(token, identity.clone(), times, issued_ms);
            entry.generation = generation;
            cache.insert(Arc::new(entry));
        }
        Ok((identity, issued_ms))
    }

    fn verify_with(&self, s: &Snapshot, token: &[u8], now: u64) -> Result<Verdict, JwtError> {
        s.registry
            .verify_then(token, &[], |_, payload| self.claims(payload, now))
    }

    fn claims(&self, payload: &[u8], now: u64) -> Result<Verdict, JwtError> {
        let c = RawClaims::parse(payload)?;
        let exp = c.exp.ok_or(JwtError::MissingClaim("exp"))?;
        self.validation.check_times(exp, c.nbf, c.iat, now)?;
        match c.iss.as_deref() {
            None => return Err(JwtError::MissingClaim("iss")),
            Some(iss) if !self.names(iss) => return Err(JwtError::WrongIssuer),
            Some(_) => {}
        }
        match &c.aud {
            None => return Err(JwtError::MissingClaim("aud")),
            Some(aud) if !self.audiences.iter().any(|a| aud.contains(a)) => {
                return Err(JwtError::WrongAudience)
            }
            Some(_) => {}
        }
        let sub = match c.sub {
            Some(s) if !s.is_empty() => s.into_owned(),
            _ => return Err(JwtError::MissingClaim("sub")),
        };
        if let Some(max) = self.validation.max_lifetime {
            let iat = c.iat.ok_or(JwtError::MissingClaim("iat"))?;
            if exp.saturating_sub(iat) > max.saturating_add(self.validation.leeway) {
                return Err(JwtError::LifetimeTooLong);
            }
        }
        let roles = if self.roles_claim == "roles" {
            c.roles
                .unwrap_or_default()
                .into_iter()
                .map(Str::into_owned)
                .collect()
        } else {
            let all: Value =
                serde_json::from_slice(payload).map_err(|_| JwtError::MalformedClaims)?;
            roles_at(&all, &self.roles_claim)?
        };
        let iat = c.iat.unwrap_or(0);
        let jti = c.jti.map(Str::into_owned).unwrap_or_default();
        let mut info = TokenInfo::new(jti, iat, exp, None);
        info.iss = c.iss.map(Str::into_owned);
        Ok(Verdict {
            identity: Identity::new(sub, roles, AuthMethod::Bearer(info)),
            times: (exp, c.nbf, iat),
            issued_ms: iat.saturating_mul(1000),
        })
    }
}

/// The roles at `path` of a claims object (see
/// [`TrustedIssuer::roles_claim`]).
fn roles_at(claims: &Value, path: &str) -> Result<Vec<String>, JwtError> {
    let node = match claims.get(path) {
        Some(v) => Some(v),
        None => path
            .split('.')
            .try_fold(claims, |node, step| node.get(step)),
    };
    match node {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s.split_whitespace().map(str::to_owned).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| {
                r.as_str()
                    .map(str::to_owned)
                    .ok_or(JwtError::MalformedClaims)
            })
            .collect(),
        Some(_) => Err(JwtError::MalformedClaims),
    }
}

/// The `iss` a token claims, before anything is verified: only to choose
/// whose keys verify it (each issuer's own), never trusted by itself.
pub(crate) fn claimed_issuer(token: &[u8]) -> Option<String> {
    let seg = jws::split(token).ok()?;
    let mut buf = vec![0u8; seg.payload.len() / 4 * 3 + 3];
    let payload = jws::decode(seg.payload, &mut buf).ok()?;
    RawClaims::parse(payload).ok()?.iss.map(Str::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_from_every_shape() {
        let c = json!({
            "scope": "read:orders  write:orders",
            "groups": ["a", "b"],
            "realm_access": { "roles": ["admin"] },
            "https://example.com/roles": ["editor"],
            "bad": [1],
        });
        let r = |p: &str| roles_at(&c, p);
        assert_eq!(r("scope").unwrap(), ["read:orders", "write:orders"]);
        assert_eq!(r("groups").unwrap(), ["a", "b"]);
        assert_eq!(r("realm_access.roles").unwrap(), ["admin"]);
        assert_eq!(r("https://example.com/roles").unwrap(), ["editor"]);
        assert!(r("missing.path").unwrap().is_empty());
        assert_eq!(r("bad"), Err(JwtError::MalformedClaims));
        assert_eq!(r("realm_access"), Err(JwtError::MalformedClaims));
    }

    #[test]
    fn the_claimed_issuer_is_read_without_trusting_it() {
        // {"iss":"https://a"} as a payload; header and signature are junk.
        let token = b"e30.eyJpc3MiOiJodHRwczovL2EifQ.c2ln";
        assert_eq!(claimed_issuer(token).as_deref(), Some("https://a"));
        assert_eq!(claimed_issuer(b"not a token"), None);
    }
}
