//! The device list: a user's cookie sessions and refresh-token families
//! together, ending one by its hint, ending all but the current one, and
//! the same for an administrator acting on another user.

use subtle::ConstantTimeEq;

use crate::events::EventKind;
use crate::id::SessionKey;
use crate::identity::{AuthMethod, Identity, Requirement};
use crate::rejection::{Rejection, RejectionKind, Scheme};
use crate::session::{unavailable, SessionInfo};
use crate::store::{RecordKind, SessionRecord};

use super::{AuthOutcome, Authenticator};

/// Who asks, for the device operations of a request.
struct Caller {
    user: String,
    /// The credential making the request (a session key or a family).
    current: Option<SessionKey>,
    scheme: Scheme,
}

impl Authenticator {
    /// The caller of a device operation in `scheme`: a CSRF-checked cookie
    /// session, or a bearer token (whose family is its current
    /// credential).
    fn caller(&self, outcome: &AuthOutcome, scheme: Scheme) -> Result<Caller, Rejection> {
        if scheme == Scheme::Session {
            let current = self.current_session(outcome)?;
            return Ok(Caller {
                user: current.record.user_id.to_string(),
                current: Some(current.key),
                scheme,
            });
        }
        let id = outcome
            .state
            .require_scheme(Scheme::Bearer, &Requirement::Authenticated)?;
        Ok(Caller {
            user: id.subject().to_owned(),
            current: family_of(id),
            scheme,
        })
    }

    /// Every live credential of `user`, oldest first, with `current`
    /// marked (none for an administrator's list).
    pub(super) async fn devices(
        &self,
        user: &str,
        current: Option<&SessionKey>,
    ) -> Result<Vec<SessionInfo>, Rejection> {
        let mut all = self.credentials(user).await?;
        all.sort_by(|a, b| {
            a.1.created_at_ms
                .cmp(&b.1.created_at_ms)
                .then(a.0.cmp(&b.0))
        });
        Ok(all
            .into_iter()
            .map(|(k, r)| {
                let is_current = current == Some(&k);
                SessionInfo::of(&k, r, is_current)
            })
            .collect())
    }

    /// `user`'s live records (sessions and families), without rotation
    /// tombstones.
    async fn credentials(&self, user: &str) -> Result<Vec<(SessionKey, SessionRecord)>, Rejection> {
        let mut all = self
            .inner
            .store
            .list_user(user)
            .await
            .map_err(|e| unavailable(&e))?;
        all.retain(|(_, r)| !r.is_moved());
        Ok(all)
    }

    /// The request's caller's devices, in `scheme`.
    pub(crate) async fn list_devices(
        &self,
        outcome: &AuthOutcome,
        scheme: Scheme,
    ) -> Result<Vec<SessionInfo>, Rejection> {
        let caller = self.caller(outcome, scheme)?;
        self.devices(&caller.user, caller.current.as_ref()).await
    }

    /// End the caller's credential whose hint is `id_hint`. Another
    /// user's hint is not found, like an unknown one: 404, nothing
    /// changes. Ending the caller's own cookie session also queues the
    /// removal cookie.
    pub(crate) async fn revoke_device(
        &self,
        outcome: &AuthOutcome,
        scheme: Scheme,
        id_hint: &str,
    ) -> Result<(), Rejection> {
        let caller = self.caller(outcome, scheme)?;
        let found = self
            .credentials(&caller.user)
            .await?
            .into_iter()
            .find(|(k, r)| bool::from(r.id_hint(k).as_bytes().ct_eq(id_hint.as_bytes())));
        let Some((key, record)) = found else {
            return Err(Rejection::new(RejectionKind::NotFound, scheme));
        };
        self.end_credential(&key, &record).await?;
        if caller.current == Some(key) && record.kind == RecordKind::Session {
            outcome.set_latest(None);
            if let Some(m) = &self.inner.sessions {
                outcome
                    .response
                    .set_cookie(m.config().cookie.removal_cookie());
            }
        }
        self.audit(
            Some(outcome),
            EventKind::SessionRevoked,
            caller.scheme,
            &caller.user,
            Some(record.id_hint(&key)),
        );
        Ok(())
    }

    /// End every credential of the caller but the one making the request.
    pub(crate) async fn end_other_devices(
        &self,
        outcome: &AuthOutcome,
        scheme: Scheme,
    ) -> Result<(), Rejection> {
        let caller = self.caller(outcome, scheme)?;
        for (key, record) in self.credentials(&caller.user).await? {
            if caller.current == Some(key) {
                continue;
            }
            self.end_credential(&key, &record).await?;
            self.audit(
                Some(outcome),
                EventKind::SessionRevoked,
                caller.scheme,
                &caller.user,
                Some(record.id_hint(&key)),
            );
        }
        Ok(())
    }

    /// End one credential: a session is deleted; a family is deleted and
    /// every access token minted from it refused.
    async fn end_credential(
        &self,
        key: &SessionKey,
        record: &SessionRecord,
    ) -> Result<(), Rejection> {
        match (&self.inner.tokens, record.kind) {
            (Some(tokens), RecordKind::RefreshFamily) => tokens.end_family(key).await,
            _ => self
                .inner
                .store
                .delete(key)
                .await
                .map(|_| ())
                .map_err(|e| unavailable(&e)),
        }
    }

    /// An administrator's view of `user`'s devices (`current` is false
    /// throughout). An unknown user has none.
    pub(crate) async fn admin_devices(&self, user: &str) -> Result<Vec<SessionInfo>, Rejection> {
        self.devices(user, None).await
    }

    /// Log `user` out everywhere on an administrator's request (the
    /// caller is the event's `actor`).
    pub(crate) async fn admin_logout(
        &self,
        outcome: &AuthOutcome,
        user: &str,
    ) -> Result<(), Rejection> {
        let scheme = outcome
            .state
            .identity()
            .map_or_else(|| self.default_scheme(), Identity::scheme);
        self.end_everything(user, Some((outcome, scheme))).await
    }

    /// Change `user`'s roles on an administrator's request.
    pub(crate) async fn admin_set_roles(
        &self,
        outcome: &AuthOutcome,
        user: &str,
        roles: &[String],
    ) -> Result<(), Rejection> {
        self.change_roles(user, roles, Some(outcome)).await
    }
}

/// The refresh family a bearer token was minted from.
fn family_of(id: &Identity) -> Option<SessionKey> {
    match id.method() {
        AuthMethod::Bearer(info) => info.sid.as_deref().and_then(SessionKey::from_hex),
        AuthMethod::Session(_) => None,
    }
}
