//! ID rotation (privilege change, re-authentication) without losing or
//! resurrecting anything.
//!
//! Rotating touches two records: the successor is created, then the old
//! record becomes a tombstone naming the successor (a compare-and-set on
//! the version the rotation copied), then it is deleted. Between those
//! writes a concurrent request sees:
//!
//! - a write to the old record (session data, a rolling refresh, a role
//!   change) that lands before the tombstone: the tombstone's
//!   compare-and-set fails, the rotation reloads the old record and copies
//!   it into the successor again, so the write is carried over;
//! - a write after the tombstone: it finds the record moved. A request of
//!   the old cookie is refused (the old ID stops working at once); a role
//!   change follows the tombstone to the successor;
//! - a logout or log-out-everywhere that ends the old record first: the
//!   rotation deletes its successor and is refused, so it never
//!   resurrects a session another request just ended.

use std::sync::Arc;

use super::{unavailable, ActiveSession, LoginOutcome, SessionManager};
use crate::error::StoreError;
use crate::rejection::{Rejection, RejectionKind};
use crate::store::SessionRecord;

/// Attempts at moving a record that keeps changing under the rotation.
const MOVE_ATTEMPTS: usize = 8;

impl SessionManager {
    /// Give the session a new ID and CSRF token (privilege change), keeping
    /// its data, expiry, hint and remember choice, and applying `change` to
    /// the successor (e.g. new roles, a fresh `authenticated_at`). The old
    /// ID stops working at once. See the module docs for the interleavings.
    ///
    /// # Errors
    /// 401 when the session ended meanwhile; 503 when the store fails.
    pub async fn rotate(
        &self,
        current: &ActiveSession,
        mut change: impl FnMut(&mut SessionRecord),
    ) -> Result<LoginOutcome, Rejection> {
        let mut copied = SessionRecord::clone(&current.record);
        let mut successor = copied.clone();
        change(&mut successor);
        // The hint stays the first key's, which is no longer derivable.
        successor.set_hint(Some(current.record.id_hint(&current.key)));
        let mut outcome = self.create(successor).await?;
        for _ in 0..MOVE_ATTEMPTS {
            let mut tombstone = copied.clone();
            tombstone.set_moved_to(Some(outcome.key.to_hex()));
            match self.store.update(&current.key, &tombstone).await {
                Ok(_) => {
                    if let Err(e) = self.store.delete(&current.key).await {
                        // A tombstone is absent for everyone; it expires
                        // with the session.
                        tracing::warn!(error = %e, "rotation left a tombstone behind");
                    }
                    return Ok(outcome);
                }
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(self.abandon(&outcome, &e).await),
            }
            // Someone wrote the old record since it was copied: copy again.
            let fresh = match self.store.load(&current.key).await {
                Ok(Some(r)) if !r.is_moved() => r,
                Ok(_) => {
                    self.store
                        .delete(&outcome.key)
                        .await
                        .map_err(|e| unavailable(&e))?;
                    return Err(Rejection::session(RejectionKind::InvalidSession));
                }
                Err(e) => return Err(self.abandon(&outcome, &e).await),
            };
            let mut successor = fresh.clone();
            change(&mut successor);
            successor.secret = outcome.record.secret;
            successor.set_hint(outcome.record.hint().map(str::to_owned));
            successor.set_moved_to(None);
            successor.version = outcome.record.version;
            match self.store.update(&outcome.key, &successor).await {
                Ok(v) => successor.version = v,
                // A role change reached the successor too: take its
                // version and copy again (the change also reaches the old
                // record, or follows the tombstone, so overwriting loses
                // nothing).
                Err(StoreError::Conflict) => match self.store.load(&outcome.key).await {
                    Ok(Some(current)) => {
                        outcome.record.version = current.version;
                        continue;
                    }
                    Ok(None) => return Err(Rejection::session(RejectionKind::InvalidSession)),
                    Err(e) => return Err(self.abandon(&outcome, &e).await),
                },
                Err(e) => return Err(self.abandon(&outcome, &e).await),
            }
            outcome.record = successor;
            copied = fresh;
        }
        Err(self.abandon(&outcome, &StoreError::Conflict).await)
    }

    /// Undo a rotation's successor after `e` (best effort) and answer 503.
    async fn abandon(&self, outcome: &LoginOutcome, e: &StoreError) -> Rejection {
        let _ = self.store.delete(&outcome.key).await;
        unavailable(e)
    }

    /// Replace a session's roles and rotate its ID (privileges changed).
    ///
    /// # Errors
    /// 401 when the session ended meanwhile; 503 when the store fails.
    #[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
    pub async fn set_roles(
        &self,
        current: &ActiveSession,
        roles: Vec<String>,
    ) -> Result<LoginOutcome, Rejection> {
        self.rotate(current, |r| r.roles = Arc::from(roles.as_slice()))
            .await
    }

    /// The session `outcome` created, as the request that made it sees it.
    pub(crate) fn active(outcome: &LoginOutcome) -> ActiveSession {
        ActiveSession {
            key: outcome.key,
            record: Arc::new(outcome.record.clone()),
        }
    }
}
