//! [`SqlStore`] as a [`SessionStore`]: one statement per call.

use std::sync::Arc;

use async_trait::async_trait;

use super::call::Retry;
use super::driver::{Arg, Col, Val};
use super::{int, uint, SqlStore};
use crate::error::StoreError;
use crate::store::{RecordKind, SessionKey, SessionRecord, SessionStore};

fn kind_code(kind: RecordKind) -> i64 {
    match kind {
        RecordKind::Session => 0,
        RecordKind::RefreshFamily => 1,
    }
}

fn encode(record: &SessionRecord) -> Result<String, StoreError> {
    serde_json::to_string(record)
        .map_err(|_| StoreError::Backend("sql: a record does not encode".into()))
}

/// A stored record; its `version` is the column's (the JSON's copy may lag).
fn decode(version: &Val, json: Val) -> Result<SessionRecord, StoreError> {
    let mut record: SessionRecord = serde_json::from_str(&json.into_text())
        .map_err(|_| StoreError::Backend("sql: a stored record does not decode".into()))?;
    record.version = uint(version.int());
    Ok(record)
}

fn key_of(bytes: Val) -> Result<SessionKey, StoreError> {
    let bytes: [u8; 32] = bytes
        .into_bytes()
        .try_into()
        .map_err(|_| StoreError::Backend("sql: a stored key is not 32 bytes".into()))?;
    Ok(SessionKey::from_bytes(bytes))
}

/// `(key, version, record)` rows as listed records.
fn listed(rows: Vec<Vec<Val>>) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
    rows.into_iter()
        .map(|row| {
            let mut row = row.into_iter();
            match (row.next(), row.next(), row.next()) {
                (Some(key), Some(version), Some(json)) => {
                    Ok((key_of(key)?, decode(&version, json)?))
                }
                _ => Err(StoreError::Backend("sql: short row".into())),
            }
        })
        .collect()
}

const RECORD_COLS: [Col; 3] = [Col::Bytes, Col::Int, Col::Text];

/// The arguments of `create` and `update`: key, user, kind, version,
/// expiry, JSON, now.
fn record_args<'a>(
    key: &'a SessionKey,
    record: &'a SessionRecord,
    json: &'a str,
    now: i64,
) -> [Arg<'a>; 7] {
    [
        Arg::Bytes(key.as_bytes()),
        Arg::Text(&record.user_id),
        Arg::Int(kind_code(record.kind)),
        Arg::Int(int(record.version)),
        Arg::Int(int(record.expires_at())),
        Arg::Text(json),
        Arg::Int(now),
    ]
}

impl SqlStore {
    pub(crate) async fn ping_db(&self) -> Result<(), StoreError> {
        let s = &self.shared;
        s.fetch(&s.sql.ping, &[], &[Col::Int], Retry::Safe)
            .await
            .map(|_| ())
    }

    /// Delete expired rows now, in batches of the builder's
    /// [`purge_batch`](super::SqlStoreBuilder::purge_batch), until none is
    /// left; returns how many rows went. The background task does the same
    /// every [`purge_interval`](super::SqlStoreBuilder::purge_interval).
    /// Expired rows are invisible either way: this only frees the space.
    ///
    /// # Errors
    /// As any statement: [`StoreError::Unavailable`] /
    /// [`StoreError::Timeout`] when the database cannot be reached.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        super::purge::run(&self.shared, None).await
    }
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        let s = &self.shared;
        let json = encode(record)?;
        match s
            .execute(
                &s.sql.create,
                &record_args(key, record, &json, s.now()),
                Retry::Once,
            )
            .await?
        {
            0 => Err(StoreError::Collision),
            _ => Ok(()),
        }
    }

    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        let s = &self.shared;
        let args = [Arg::Bytes(key.as_bytes()), Arg::Int(s.now())];
        let rows = s
            .fetch(&s.sql.load, &args, &[Col::Int, Col::Text], Retry::Safe)
            .await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let mut row = row.into_iter();
        match (row.next(), row.next()) {
            (Some(version), Some(json)) => decode(&version, json).map(Some),
            _ => Err(StoreError::Backend("sql: short row".into())),
        }
    }

    async fn update(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        let s = &self.shared;
        let json = encode(record)?;
        let args = record_args(key, record, &json, s.now());
        let rows = s
            .fetch(&s.sql.update, &args, &[Col::Int], Retry::Once)
            .await?;
        match rows.first().and_then(|r| r.first()) {
            Some(v) => Ok(uint(v.int())),
            // Another writer came first, or the record is gone or expired.
            None => Err(StoreError::Conflict),
        }
    }

    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        let s = &self.shared;
        let now = s.now();
        let rows = s
            .fetch(
                &s.sql.delete,
                &[Arg::Bytes(key.as_bytes())],
                &[Col::Int],
                Retry::Once,
            )
            .await?;
        // An expired row goes too, but it was not there for the caller.
        Ok(rows
            .iter()
            .any(|r| r.first().is_some_and(|e| e.int() > now)))
    }

    async fn delete_user(&self, user_id: &str) -> Result<usize, StoreError> {
        let s = &self.shared;
        let now = s.now();
        let rows = s
            .fetch(
                &s.sql.delete_user,
                &[Arg::Text(user_id)],
                &[Col::Int],
                Retry::Once,
            )
            .await?;
        Ok(rows
            .iter()
            .filter(|r| r.first().is_some_and(|e| e.int() > now))
            .count())
    }

    async fn list_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        let s = &self.shared;
        let args = [Arg::Text(user_id), Arg::Int(s.now())];
        listed(
            s.fetch(&s.sql.list_user, &args, &RECORD_COLS, Retry::Safe)
                .await?,
        )
    }

    async fn list_user_kind(
        &self,
        user_id: &str,
        kind: RecordKind,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        let s = &self.shared;
        let args = [
            Arg::Text(user_id),
            Arg::Int(s.now()),
            Arg::Int(kind_code(kind)),
        ];
        listed(
            s.fetch(&s.sql.list_user_kind, &args, &RECORD_COLS, Retry::Safe)
                .await?,
        )
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.ping_db().await
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn revocation_list(
        &self,
        subject_retention: std::time::Duration,
    ) -> Option<Arc<dyn crate::jwt::RevocationList>> {
        Some(Arc::new(super::revocation::SqlRevocationList::new(
            self.shared.clone(),
            subject_retention,
        )))
    }

    fn attempt_store(&self) -> Option<Arc<dyn crate::throttle::AttemptStore>> {
        Some(Arc::new(super::attempts::SqlAttempts(self.shared.clone())))
    }
}
