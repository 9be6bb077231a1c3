//! The life of a refresh family: issue, refresh (rotation, the retry grace
//! and reuse detection), logout, log out everywhere, role changes.
//!
//! Ending a family — logout, reuse, eviction past the per-user cap, log
//! out everywhere — is always the same two steps in the same order: delete
//! the record, then revoke the family (`sid`) in the revocation list until
//! the latest expiry any of its access tokens can have. A refresh that
//! raced the end either lost its compare-and-set on the deleted record (its
//! token is never handed out) or landed before the delete, so its token
//! carries the family and is refused by the revocation. No interleaving
//! leaves an access token of an ended family alive.

use subtle::ConstantTimeEq;

use super::error::JwtError;
use super::refresh::RefreshToken;
use super::service::{server_failure, store_failure, TokenPair, TokenService, INVALID};
use crate::error::StoreError;
use crate::events::{Event, EventKind};
use crate::id::{random_32, SessionKey};
use crate::rejection::{Rejection, RejectionKind};
use crate::session::ClientInfo;
use crate::store::{
    past_cap, update_record, FamilyState, RecordKind, Rotation, SessionRecord, UpdateError,
};

/// Attempts at a fresh family ID when the store reports a collision.
const CREATE_ATTEMPTS: usize = 3;
/// Attempts at a refresh that lost a concurrent compare-and-set.
const REFRESH_ATTEMPTS: usize = 3;
/// How long after a rotation the same client may present the spent token
/// again and get the same successor (a lost response, two tabs).
const REFRESH_RETRY_GRACE_MS: u64 = 10_000;

fn remember_client(rec: &mut SessionRecord, client: &ClientInfo) {
    rec.ip = client.ip;
    rec.user_agent.clone_from(&client.user_agent);
}

impl TokenService {
    /// Log `subject` in: create a refresh family in the store and return an
    /// access token (carrying `sid` = the family's key) and its refresh
    /// token. Past the per-user cap the oldest families end.
    ///
    /// # Errors
    /// 503 ([`RejectionKind::StoreUnavailable`](crate::RejectionKind::StoreUnavailable))
    /// if the store, the OS RNG or signing fails, or the registry cannot
    /// sign; 401 for an empty subject.
    pub async fn issue(&self, subject: &str, roles: &[String]) -> Result<TokenPair, Rejection> {
        self.issue_for(subject, roles, &ClientInfo::default()).await
    }

    /// [`issue`](Self::issue), recording the client's IP and User-Agent in
    /// the family (for the device list and the refresh retry grace).
    ///
    /// # Errors
    /// As [`issue`](Self::issue).
    pub(crate) async fn issue_for(
        &self,
        subject: &str,
        roles: &[String],
        client: &ClientInfo,
    ) -> Result<TokenPair, Rejection> {
        if subject.is_empty() {
            tracing::error!("refusing to issue a token for an empty subject");
            return Err(INVALID);
        }
        let inner = &*self.inner;
        for _ in 0..CREATE_ATTEMPTS {
            let rt = RefreshToken::generate().map_err(|_| server_failure(&JwtError::Rng))?;
            let key = rt.key();
            let access = self
                .mint_access(subject, roles, &key.to_hex())
                .map_err(|e| server_failure(&e))?;
            let now = inner.clock.now();
            let mut rec =
                SessionRecord::new(subject, now, inner.refresh_idle_ttl, inner.refresh_ttl);
            rec.kind = RecordKind::RefreshFamily;
            rec.created_at_ms = inner.clock.now_millis();
            rec.roles = roles.into();
            rec.set_family(Some(FamilyState {
                current: rt.secret_hash(),
                rotation: None,
            }));
            remember_client(&mut rec, client);
            match inner.store.create(&key, &rec).await {
                Ok(()) => {
                    self.enforce_family_cap(subject, &key).await?;
                    return Ok(TokenPair {
                        access_token: access,
                        refresh_token: rt.encode(),
                        token_type: "Bearer",
                        expires_in: inner.access_ttl,
                    });
                }
                Err(StoreError::Collision) => continue,
                Err(e) => return Err(store_failure(&e)),
            }
        }
        Err(store_failure(&StoreError::Collision))
    }

    /// End the user's oldest families past the cap (newest first; ties by
    /// key, so concurrent logins agree on which survive). When `own` is
    /// among them, `max` newer logins won: 403, never a dead token pair.
    async fn enforce_family_cap(&self, subject: &str, own: &SessionKey) -> Result<(), Rejection> {
        let Some(max) = self.inner.max_families else {
            return Ok(());
        };
        let mut families = self.families_of(subject).await?;
        let ended = past_cap(&mut families, max);
        for key in &ended {
            self.end_family(key).await?;
        }
        if ended.contains(own) {
            return Err(Rejection::bearer(RejectionKind::TooManySessions));
        }
        Ok(())
    }

    async fn families_of(
        &self,
        subject: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, Rejection> {
        self.inner
            .store
            .list_user_kind(subject, RecordKind::RefreshFamily)
            .await
            .map_err(|e| store_failure(&e))
    }

    /// End a family: delete it, then refuse every access token minted from
    /// it (see the module docs for why in this order).
    pub(crate) async fn end_family(&self, key: &SessionKey) -> Result<(), Rejection> {
        let inner = &*self.inner;
        inner
            .store
            .delete(key)
            .await
            .map_err(|e| store_failure(&e))?;
        // No token of the family can expire later than one minted now.
        let until = inner
            .clock
            .now()
            .saturating_add(inner.access_ttl)
            .saturating_add(inner.validation.leeway)
            .saturating_add(1);
        inner
            .revocations
            .revoke_family(&key.to_hex(), until)
            .await
            .map_err(|e| store_failure(&e))
    }

    /// Exchange a refresh token for a new pair, rotating it, for a client
    /// whose IP and User-Agent are unknown, so the retry grace never
    /// applies ([`TokenHandle::refresh`](crate::TokenHandle::refresh) knows
    /// the client and grants it).
    ///
    /// # Errors
    /// 401 for an unknown, spent or expired refresh token (a spent one also
    /// ends its family); 503 when the store fails.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, Rejection> {
        self.refresh_from(refresh_token, &ClientInfo::default())
            .await
    }

    /// Exchange a refresh token for a new pair, rotating it: the presented
    /// secret is compared in constant time with the stored hash, and the
    /// family is updated with the store's compare-and-set. A family has
    /// exactly one live refresh token at any time.
    ///
    /// - Unknown, expired or malformed: 401.
    /// - The token spent by the family's latest rotation, presented again
    ///   within 10 seconds by the same client (same IP and
    ///   byte-equal, non-empty User-Agent) while the family lives: the
    ///   *same* successor refresh token as that rotation returned, with a
    ///   new access token (a lost response, or two tabs refreshing at once).
    /// - Any other spent token (reuse): the family ends — its record and
    ///   every access token minted from it — and 401.
    /// - Lost a concurrent rotation from another client: 401, the family
    ///   stays.
    ///
    /// # Errors
    /// 401 ([`RejectionKind::InvalidToken`](crate::RejectionKind::InvalidToken))
    /// as above; 503 when the store fails.
    pub(crate) async fn refresh_from(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, Rejection> {
        let Some(rt) = RefreshToken::parse(refresh_token) else {
            return Err(INVALID);
        };
        let key = rt.key();
        for attempt in 0..REFRESH_ATTEMPTS {
            let inner = &*self.inner;
            let mut rec = match inner.store.load(&key).await {
                Ok(Some(r)) => r,
                Ok(None) => return Err(INVALID),
                Err(e) => return Err(store_failure(&e)),
            };
            let now = inner.clock.now();
            let now_ms = inner.clock.now_millis();
            if rec.kind != RecordKind::RefreshFamily || rec.is_expired(now) {
                return Err(INVALID);
            }
            let Some(state) = rec.family() else {
                return Err(INVALID);
            };
            let next = if rt.matches(&state.current) {
                let nonce = random_32().map_err(|_| server_failure(&JwtError::Rng))?;
                let next = rt.successor(&nonce);
                rec.set_family(Some(FamilyState {
                    current: next.secret_hash(),
                    rotation: Some(Rotation {
                        spent: rt.secret_hash(),
                        nonce,
                        at_ms: now_ms,
                    }),
                }));
                remember_client(&mut rec, client);
                next
            } else if let Some(next) = retry_successor(&rt, &rec, client, now_ms) {
                // The same successor again, and a fresh access token of the
                // family; nothing to write (if the family ends meanwhile,
                // its revocation covers this token too).
                tracing::debug!(family = %key.hint(), "refresh retried within the grace window");
                let access = self
                    .mint_access(&rec.user_id, &rec.roles, &key.to_hex())
                    .map_err(|e| server_failure(&e))?;
                return Ok(TokenPair {
                    access_token: access,
                    refresh_token: next.encode(),
                    token_type: "Bearer",
                    expires_in: inner.access_ttl,
                });
            } else if attempt == 0 {
                tracing::warn!(
                    family = %key.hint(),
                    "refresh token reuse detected: ending the family"
                );
                self.end_family(&key).await?;
                self.audit(EventKind::RefreshReuseDetected, &rec.user_id, &key, client);
                return Err(INVALID);
            } else {
                // We lost a rotation to another client: not proof of reuse.
                tracing::debug!(family = %key.hint(), "refresh lost a concurrent rotation");
                return Err(INVALID);
            };
            let access = self
                .mint_access(&rec.user_id, &rec.roles, &key.to_hex())
                .map_err(|e| server_failure(&e))?;
            rec.last_seen = now;
            rec.idle_expires_at = now
                .saturating_add(inner.refresh_idle_ttl)
                .min(rec.absolute_expires_at);
            match inner.store.update(&key, &rec).await {
                Ok(_) => {
                    self.audit(EventKind::RefreshRotated, &rec.user_id, &key, client);
                    return Ok(TokenPair {
                        access_token: access,
                        refresh_token: next.encode(),
                        token_type: "Bearer",
                        expires_in: inner.access_ttl,
                    });
                }
                // Another refresh (or an end) landed first: look again.
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(store_failure(&e)),
            }
        }
        tracing::debug!(family = %key.hint(), "refresh lost repeated concurrent rotations");
        Err(INVALID)
    }

    /// Log out the caller of a bearer request: refuse the access token
    /// (until its expiry) and end its refresh family, with every access
    /// token minted from it.
    ///
    /// # Errors
    /// 401 if the identity did not come from a bearer token; 503 when the
    /// store or revocation list fails.
    pub async fn logout(&self, identity: &crate::Identity) -> Result<(), Rejection> {
        let crate::identity::AuthMethod::Bearer(info) = identity.method() else {
            return Err(INVALID);
        };
        let inner = &*self.inner;
        // A trusted issuer's token may have no `jti`: revoking "" would
        // refuse every such token (the family and cut-offs still apply).
        if !info.jti.is_empty() {
            inner
                .revocations
                .revoke_token(&info.jti, info.exp.saturating_add(inner.validation.leeway))
                .await
                .map_err(|e| store_failure(&e))?;
        }
        if let Some(key) = info.sid.as_deref().and_then(SessionKey::from_hex) {
            self.end_family(&key).await?;
        }
        Ok(())
    }

    /// Log `subject`'s tokens out everywhere (password change, "sign out
    /// all devices"): refuse every token issued up to now (millisecond
    /// precision: a login right after, even in the same second, works) and
    /// end every refresh family of the subject. The cut-off is written
    /// first, so a refresh racing this either minted before it or carries a
    /// family that is ended after. Cookie sessions are not touched here:
    /// [`Authenticator::logout_everywhere`](crate::Authenticator::logout_everywhere)
    /// ends both.
    ///
    /// # Errors
    /// 503 when the store or revocation list fails.
    pub async fn logout_all(&self, subject: &str) -> Result<(), Rejection> {
        self.cut_off(subject).await?;
        for (key, _) in self.families_of(subject).await? {
            self.end_family(&key).await?;
        }
        Ok(())
    }

    /// Refuse every access token of `subject` issued up to now.
    async fn cut_off(&self, subject: &str) -> Result<(), Rejection> {
        let inner = &*self.inner;
        let now_ms = inner.clock.now_millis();
        inner
            .last_cutoff_ms
            .fetch_max(now_ms, std::sync::atomic::Ordering::SeqCst);
        inner
            .revocations
            .revoke_subject_before(subject, now_ms)
            .await
            .map_err(|e| store_failure(&e))
    }

    /// Change `subject`'s roles in every live refresh family (the next
    /// refresh mints with them), then refuse every access token issued
    /// before now. In this order a refresh racing the change either loses
    /// its compare-and-set or minted before the cut-off.
    ///
    /// # Errors
    /// 503 when the store or revocation list fails.
    pub async fn set_roles(&self, subject: &str, roles: &[String]) -> Result<(), Rejection> {
        let store = &self.inner.store;
        for (key, _) in self.families_of(subject).await? {
            let set = |r: &mut SessionRecord| {
                r.roles = roles.into();
                Ok::<(), ()>(())
            };
            match update_record(&**store, &key, false, set).await {
                Ok(_) | Err(UpdateError::Refused(())) => {}
                Err(UpdateError::Store(e)) => return Err(store_failure(&e)),
            }
        }
        self.cut_off(subject).await
    }
}

/// The successor to hand out again when `rt` is the secret the family's
/// latest rotation spent, the rotation is recent, and `client` is the
/// client that made it (same IP, byte-equal non-empty User-Agent).
fn retry_successor(
    rt: &RefreshToken,
    rec: &SessionRecord,
    client: &ClientInfo,
    now_ms: u64,
) -> Option<RefreshToken> {
    let state = rec.family()?;
    let rotation = state.rotation.as_ref()?;
    if !bool::from(rt.secret_hash().ct_eq(&rotation.spent)) {
        return None;
    }
    if now_ms.saturating_sub(rotation.at_ms) > REFRESH_RETRY_GRACE_MS {
        return None;
    }
    let ua = client.user_agent.as_deref().filter(|ua| !ua.is_empty())?;
    let ip = client.ip?;
    if rec.user_agent.as_deref() != Some(ua) || rec.ip != Some(ip) {
        return None;
    }
    let next = rt.successor(&rotation.nonce);
    next.matches(&state.current).then_some(next)
}

impl TokenService {
    /// Emit `kind` for `user`'s family `key`, refreshed by `client`.
    fn audit(&self, kind: EventKind, user: &str, key: &SessionKey, client: &ClientInfo) {
        if let Some(events) = &self.inner.events {
            let mut e = Event::from_client(kind, client, crate::rejection::Scheme::Bearer);
            e.user = Some(user.to_owned());
            e.id_hint = Some(key.hint());
            events.emit(e);
        }
    }
}
