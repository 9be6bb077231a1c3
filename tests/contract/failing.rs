//! Stores that fail on demand, for the suite's `store_down` row.
//!
//! [`FailingStore`] and [`FailingRevocationList`] wrap the in-memory ones
//! and answer `StoreError::Unavailable` for every call while the shared
//! [`Outage`] is on, like a Redis that stopped answering.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use portcullis::jwt::{MemoryRevocationList, RevocationList};
use portcullis::store::{MemoryStore, SessionKey, SessionRecord, SessionStore};
use portcullis::StoreError;

/// The switch shared by the failing stores (off when created).
#[derive(Debug, Clone, Default)]
pub struct Outage(Arc<AtomicBool>);

impl Outage {
    /// Make every store call fail.
    pub fn down(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Let store calls through again.
    pub fn up(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
    /// True while the stores fail.
    pub fn is_down(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    fn check(&self) -> Result<(), StoreError> {
        if self.is_down() {
            Err(StoreError::Unavailable("test outage".into()))
        } else {
            Ok(())
        }
    }
}

/// A [`MemoryStore`] that fails while the [`Outage`] is on.
#[derive(Debug)]
pub struct FailingStore {
    inner: MemoryStore,
    outage: Outage,
}

impl FailingStore {
    pub fn new(outage: Outage) -> Self {
        FailingStore {
            inner: MemoryStore::new(),
            outage,
        }
    }
}

#[async_trait]
impl SessionStore for FailingStore {
    async fn create(&self, key: &SessionKey, record: &SessionRecord) -> Result<(), StoreError> {
        self.outage.check()?;
        self.inner.create(key, record).await
    }
    async fn load(&self, key: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.outage.check()?;
        self.inner.load(key).await
    }
    async fn update(&self, key: &SessionKey, record: &SessionRecord) -> Result<u64, StoreError> {
        self.outage.check()?;
        self.inner.update(key, record).await
    }
    async fn delete(&self, key: &SessionKey) -> Result<bool, StoreError> {
        self.outage.check()?;
        self.inner.delete(key).await
    }
    async fn delete_user(&self, user_id: &str) -> Result<usize, StoreError> {
        self.outage.check()?;
        self.inner.delete_user(user_id).await
    }
    async fn list_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        self.outage.check()?;
        self.inner.list_user(user_id).await
    }
}

/// A [`MemoryRevocationList`] that fails while the [`Outage`] is on.
#[derive(Debug)]
pub struct FailingRevocationList {
    inner: MemoryRevocationList,
    outage: Outage,
}

impl FailingRevocationList {
    pub fn new(outage: Outage) -> Self {
        FailingRevocationList {
            inner: MemoryRevocationList::default(),
            outage,
        }
    }
}

#[async_trait]
impl RevocationList for FailingRevocationList {
    async fn revoke_token(&self, jti: &str, expires_at: u64) -> Result<(), StoreError> {
        self.outage.check()?;
        self.inner.revoke_token(jti, expires_at).await
    }
    async fn revoke_subject_before(
        &self,
        subject: &str,
        instant_millis: u64,
    ) -> Result<(), StoreError> {
        self.outage.check()?;
        self.inner
            .revoke_subject_before(subject, instant_millis)
            .await
    }
    async fn revoke_family(&self, family: &str, expires_at: u64) -> Result<(), StoreError> {
        self.outage.check()?;
        self.inner.revoke_family(family, expires_at).await
    }
    async fn is_revoked(
        &self,
        jti: &str,
        family: Option<&str>,
        subject: &str,
        issued_at_millis: u64,
    ) -> Result<bool, StoreError> {
        self.outage.check()?;
        self.inner
            .is_revoked(jti, family, subject, issued_at_millis)
            .await
    }
}

/// A session store and a revocation list that both fail while the returned
/// [`Outage`] is down (it starts up). Put them in the demo's `Stores`.
pub fn failing_stores() -> (Arc<dyn SessionStore>, Arc<dyn RevocationList>, Outage) {
    let outage = Outage::default();
    (
        Arc::new(FailingStore::new(outage.clone())),
        Arc::new(FailingRevocationList::new(outage.clone())),
        outage,
    )
}
