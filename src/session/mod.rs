//! The session manager: login with a fresh ID, authenticate with idle and
//! absolute timeouts, rolling refresh, rotation, logout, logout everywhere,
//! listing, and a cap on sessions per user.
//!
//! ```ignore
//! use std::time::Duration;
//! use portcullis::{ClientInfo, SessionConfig, __private::SessionManager};
//! use portcullis::store::MemoryStore;
//! use portcullis::clock::ManualClock;
//! use std::sync::Arc;
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let clock = ManualClock::new(1_000);
//! let store = Arc::new(MemoryStore::with_clock(clock.clone()));
//! let sessions = SessionManager::new(store, SessionConfig::default(), Arc::new(clock.clone())).unwrap();
//! let login = sessions.login("alice", vec!["user".into()], &[], &ClientInfo::default(), true).await.unwrap();
//! let found = sessions.find(&login.cookie_value).await.unwrap().unwrap();
//! assert_eq!(found.record.user_id, "alice");
//! clock.advance(Duration::from_secs(1_800)); // idle timeout
//! assert!(sessions.find(&login.cookie_value).await.unwrap().is_none());
//! # });
//! ```

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::csrf::encode_token;
use crate::error::{ConfigError, StoreError};
use crate::id::{random_32_pair, SessionId, SessionKey};
use crate::rejection::{Rejection, RejectionKind};
use crate::store::{
    past_cap, update_record, MemoryStore, RecordKind, SessionRecord, SessionStore, UpdateError,
};

mod config;
mod data;
mod info;
mod rotate;

pub use config::{SessionConfig, SessionLimitPolicy};
pub(crate) use data::merge;
pub(crate) use info::RequestId;
pub use info::{ActiveSession, ClientInfo, LoginOutcome, SessionInfo};

/// Attempts at drawing an unused ID before giving up (a collision of 256-bit
/// random IDs means a broken RNG or store).
const CREATE_ATTEMPTS: usize = 3;

/// Session operations over a [`SessionStore`].
#[derive(Clone)]
pub struct SessionManager {
    store: Arc<dyn SessionStore>,
    /// The same store when it is the memory store the authenticator built
    /// itself: looked up without a boxed future.
    memory: Option<Arc<MemoryStore>>,
    config: Arc<SessionConfig>,
    clock: SharedClock,
    /// The rolling interval in effect (see [`SessionConfig::rolling_interval`]).
    rolling: u64,
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

pub(crate) fn unavailable(e: &StoreError) -> Rejection {
    tracing::warn!(error = %e, "session store failure");
    Rejection::session(RejectionKind::StoreUnavailable)
}

impl SessionManager {
    /// A manager over `store`.
    ///
    /// # Errors
    /// [`ConfigError`] for zero timeouts or a zero cap.
    pub fn new(
        store: Arc<dyn SessionStore>,
        config: SessionConfig,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let rolling = config
            .rolling_interval
            .min(config.idle_timeout / 4)
            .as_secs();
        Ok(SessionManager {
            store,
            memory: None,
            config: Arc::new(config),
            clock,
            rolling,
        })
    }

    /// Use `memory`, which must be the manager's own store, for lookups.
    pub(crate) fn with_own_memory_store(mut self, memory: Arc<MemoryStore>) -> Self {
        self.memory = Some(memory);
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// The clock.
    #[must_use]
    #[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Decode a cookie value into a session ID (verifying the signature when
    /// signing is on). Malformed values are `None`, before any store lookup.
    #[must_use]
    pub fn decode_cookie(&self, value: &[u8]) -> Option<SessionId> {
        match self.config.signer() {
            Some(s) => s.verify(value),
            None => SessionId::decode_bytes(value),
        }
    }

    fn encode_cookie(&self, id: &SessionId) -> String {
        match self.config.signer() {
            Some(s) => s.sign(id),
            None => id.encode(),
        }
    }

    /// The live session a cookie value names, applying the rolling refresh
    /// (a store write at most once per `rolling_interval`).
    ///
    /// # Errors
    /// 503 when the store fails.
    #[cfg_attr(not(feature = "__internal"), allow(dead_code))] // reached through `__private`
    pub async fn find(&self, cookie_value: &str) -> Result<Option<ActiveSession>, Rejection> {
        match self.decode_cookie(cookie_value.as_bytes()) {
            Some(id) => self.find_key(id.key()).await,
            None => Ok(None),
        }
    }

    /// [`find`](Self::find) by store key.
    ///
    /// # Errors
    /// 503 when the store fails.
    pub async fn find_key(&self, key: SessionKey) -> Result<Option<ActiveSession>, Rejection> {
        self.find_key_at(key, self.clock.now()).await
    }

    /// [`find_key`](Self::find_key) at `now`, the time the caller read
    /// once for the whole request (each clock read is a `clock_gettime`).
    pub(crate) async fn find_key_at(
        &self,
        key: SessionKey,
        now: u64,
    ) -> Result<Option<ActiveSession>, Rejection> {
        let loaded = match &self.memory {
            Some(memory) => memory.load_now(&key, now),
            None => self
                .store
                .load_shared(&key)
                .await
                .map_err(|e| unavailable(&e))?,
        };
        let Some(mut record) = loaded else {
            return Ok(None);
        };
        if record.kind != RecordKind::Session || record.is_moved() {
            return Ok(None);
        }
        if record.is_expired(now) {
            // The store should not return it; be strict anyway.
            return Ok(None);
        }
        if now.saturating_sub(record.last_seen) >= self.rolling {
            // Boxed: the rare write path keeps a whole record across its
            // await, which would otherwise enlarge every request's future.
            record = Box::pin(self.touch(&key, record, now)).await?;
        }
        Ok(Some(ActiveSession { key, record }))
    }

    /// The rolling refresh: extend the idle deadline and write it once.
    async fn touch(
        &self,
        key: &SessionKey,
        record: Arc<SessionRecord>,
        now: u64,
    ) -> Result<Arc<SessionRecord>, Rejection> {
        let mut touched = SessionRecord::clone(&record);
        touched.last_seen = now;
        touched.idle_expires_at = now
            .saturating_add(self.config.idle_timeout.as_secs())
            .min(touched.absolute_expires_at);
        match self.store.update(key, &touched).await {
            Ok(v) => {
                touched.version = v;
                Ok(Arc::new(touched))
            }
            // Someone else wrote it meanwhile: their write is as good.
            Err(StoreError::Conflict) => Ok(record),
            Err(e) => Err(unavailable(&e)),
        }
    }

    /// Log `user_id` in: end every session named in `presented` (fixation
    /// defence: an incoming ID is never reused), create a session with a
    /// fresh ID and CSRF token, and enforce the per-user cap. A `remember`ed
    /// session gets a persistent cookie and the remember absolute timeout;
    /// otherwise a browser-session cookie.
    ///
    /// # Errors
    /// 503 when the store fails; 403 when the cap is reached under
    /// [`SessionLimitPolicy::Refuse`].
    pub async fn login(
        &self,
        user_id: &str,
        roles: Vec<String>,
        presented: &[SessionKey],
        client: &ClientInfo,
        remember: bool,
    ) -> Result<LoginOutcome, Rejection> {
        for key in presented {
            self.store.delete(key).await.map_err(|e| unavailable(&e))?;
        }
        let now = self.clock.now();
        // The secret is drawn by `create`, with the ID.
        let mut record = SessionRecord::with_secret(
            user_id.into(),
            now,
            self.config.idle_timeout.as_secs(),
            self.config.absolute_for(remember).as_secs(),
            [0; 32],
        );
        record.persistent = remember;
        record.created_at_ms = self.clock.now_millis();
        record.roles = roles.into();
        record.ip = client.ip;
        record.user_agent.clone_from(&client.user_agent);
        let outcome = self.create(record).await?;
        self.enforce_cap(user_id, &outcome.key).await?;
        Ok(outcome)
    }

    /// Store `record` under a fresh ID with a fresh CSRF secret. A new
    /// session's hint is its key's, derived when asked (nothing stored); a
    /// rotated one arrives with its first key's.
    async fn create(&self, mut record: SessionRecord) -> Result<LoginOutcome, Rejection> {
        let rng = |_| Rejection::session(RejectionKind::StoreUnavailable);
        let (first_id, secret) = random_32_pair().map_err(rng)?;
        record.secret = secret;
        record.version = 0;
        record.set_moved_to(None);
        let mut first_id = Some(SessionId::from_bytes(first_id));
        for _ in 0..CREATE_ATTEMPTS {
            let id = match first_id.take() {
                Some(id) => id,
                None => SessionId::generate().map_err(rng)?,
            };
            let key = id.key();
            match self.store.create(&key, &record).await {
                Ok(()) => {
                    let cookie_value = self.encode_cookie(&id);
                    return Ok(LoginOutcome {
                        key,
                        set_cookie: self.set_cookie(&cookie_value, &record),
                        cookie_value,
                        csrf_token: encode_token(&record.secret),
                        record,
                    });
                }
                Err(StoreError::Collision) => continue,
                Err(e) => return Err(unavailable(&e)),
            }
        }
        Err(unavailable(&StoreError::Backend(
            "repeated ID collisions".into(),
        )))
    }

    /// The `Set-Cookie` of `record`'s cookie: persistent for the session's
    /// remaining life when its login was remembered, else a browser-session
    /// cookie.
    fn set_cookie(&self, cookie_value: &str, record: &SessionRecord) -> String {
        let max_age = record
            .persistent
            .then(|| record.absolute_expires_at.saturating_sub(self.clock.now()));
        self.config.cookie.set_cookie(cookie_value, max_age)
    }

    async fn enforce_cap(&self, user_id: &str, own: &SessionKey) -> Result<(), Rejection> {
        let Some(max) = self.config.max_sessions_per_user else {
            return Ok(());
        };
        let mut sessions = self.sessions_of(user_id).await?;
        if sessions.len() <= max {
            return Ok(());
        }
        match self.config.limit_policy {
            SessionLimitPolicy::Refuse => {
                self.store.delete(own).await.map_err(|e| unavailable(&e))?;
                Err(Rejection::session(RejectionKind::TooManySessions))
            }
            SessionLimitPolicy::EvictOldest => {
                let ended = past_cap(&mut sessions, max);
                for key in &ended {
                    self.store.delete(key).await.map_err(|e| unavailable(&e))?;
                }
                // `max` newer logins of the user won the race (or a clock
                // runs ahead): never answer with a session already ended.
                if ended.contains(own) {
                    return Err(Rejection::session(RejectionKind::TooManySessions));
                }
                Ok(())
            }
        }
    }

    async fn sessions_of(
        &self,
        user_id: &str,
    ) -> Result<Vec<(SessionKey, SessionRecord)>, Rejection> {
        let mut all = self
            .store
            .list_user_kind(user_id, RecordKind::Session)
            .await
            .map_err(|e| unavailable(&e))?;
        all.retain(|(_, r)| !r.is_moved());
        Ok(all)
    }

    /// End one session; returns the removal `Set-Cookie` value.
    ///
    /// # Errors
    /// 503 when the store fails.
    pub async fn logout(&self, key: &SessionKey) -> Result<String, Rejection> {
        self.store.delete(key).await.map_err(|e| unavailable(&e))?;
        Ok(self.config.cookie.removal_cookie())
    }

    /// Replace the roles of every live cookie session of `user_id` at once
    /// (compare-and-set with retry, so a concurrent rolling write is not
    /// lost and does not bring the old roles back). Sessions keep their IDs.
    ///
    /// # Errors
    /// 503 when the store fails.
    pub async fn set_user_roles(&self, user_id: &str, roles: &[String]) -> Result<(), Rejection> {
        for (key, _) in self.sessions_of(user_id).await? {
            // Follow a rotation in flight: the roles must reach the
            // session under its new ID.
            let set = |r: &mut SessionRecord| {
                r.roles = roles.into();
                Ok::<(), ()>(())
            };
            match update_record(&*self.store, &key, true, set).await {
                Ok(_) => {}
                Err(UpdateError::Store(e)) => return Err(unavailable(&e)),
                Err(UpdateError::Refused(())) => {}
            }
        }
        Ok(())
    }

    /// End every record of `user_id` in the store (cookie sessions and any
    /// refresh families); returns the removal `Set-Cookie` value. Access
    /// tokens are not refused by this: log out everywhere with
    /// [`Authenticator::logout_everywhere`](crate::Authenticator::logout_everywhere).
    ///
    /// # Errors
    /// 503 when the store fails.
    pub async fn logout_all(&self, user_id: &str) -> Result<String, Rejection> {
        self.store
            .delete_user(user_id)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(self.config.cookie.removal_cookie())
    }
}
