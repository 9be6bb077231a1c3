//! The JWT revocation list on the SQL store's database: one row per
//! revoked `jti`, refresh family or subject cut-off, read on every check.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::call::Retry;
use super::driver::{Arg, Col};
use super::{int, uint, Shared};
use crate::error::StoreError;
use crate::jwt::RevocationList;

const JTI: i64 = 0;
const FAMILY: i64 = 1;
const SUBJECT: i64 = 2;

/// A [`RevocationList`] in the tables of a [`SqlStore`](super::SqlStore),
/// made by its [`SessionStore::revocation_list`](crate::store::SessionStore::revocation_list).
pub(crate) struct SqlRevocationList {
    shared: Arc<Shared>,
    /// Seconds a subject cut-off is kept (rounded up).
    subject_retention: u64,
}

impl fmt::Debug for SqlRevocationList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlRevocationList")
            .field("sql", &self.shared)
            .field("subject_retention", &self.subject_retention)
            .finish()
    }
}

impl SqlRevocationList {
    pub(crate) fn new(shared: Arc<Shared>, retention: Duration) -> Self {
        SqlRevocationList {
            shared,
            subject_retention: crate::clock::retention_secs(retention),
        }
    }

    async fn keep_max(
        &self,
        kind: i64,
        id: &str,
        value: u64,
        until: u64,
    ) -> Result<(), StoreError> {
        let s = &self.shared;
        let args = [
            Arg::Int(kind),
            Arg::Text(id),
            Arg::Int(int(value)),
            Arg::Int(int(until)),
            Arg::Int(s.now()),
        ];
        // Keeping the maximum twice is keeping it once.
        s.execute(&s.sql.keep_max, &args, Retry::Safe)
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl RevocationList for SqlRevocationList {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        if expires_at <= self.shared.clock.now() {
            return Ok(()); // already expired: nothing to remember
        }
        self.keep_max(JTI, jti, expires_at, expires_at).await
    }

    async fn revoke_family(&self, family: &str, expires_at: u64) -> Result<(), StoreError> {
        if expires_at <= self.shared.clock.now() {
            return Ok(());
        }
        self.keep_max(FAMILY, family, expires_at, expires_at).await
    }

    async fn revoke_subject_before(
        &self,
        subject: &str,
        instant_millis: u64,
    ) -> Result<(), StoreError> {
        // Kept at least a second, as the memory list does.
        let until = (instant_millis / 1000)
            .saturating_add(self.subject_retention)
            .max(self.shared.clock.now().saturating_add(1));
        self.keep_max(SUBJECT, subject, instant_millis, until).await
    }

    async fn is_revoked(
        &self,
        jti: &str,
        family: Option<&str>,
        subject: &str,
        issued_at_millis: u64,
    ) -> Result<bool, StoreError> {
        let s = &self.shared;
        let now = s.clock.now();
        // A token without a family asks for the family "" too, so the one
        // round trip has one shape; its answer is ignored below.
        let args = [
            Arg::Text(jti),
            Arg::Text(family.unwrap_or("")),
            Arg::Text(subject),
            Arg::Int(int(now)),
        ];
        let rows = s
            .fetch(&s.sql.is_revoked, &args, &[Col::Int, Col::Int], Retry::Safe)
            .await?;
        Ok(rows.iter().any(|row| {
            let (kind, value) = (row[0].int(), uint(row[1].int()));
            match kind {
                JTI => now < value,
                FAMILY => family.is_some() && now < value,
                SUBJECT => issued_at_millis <= value,
                _ => false,
            }
        }))
    }
}
