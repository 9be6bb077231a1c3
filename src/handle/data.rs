//! The current session's application data on [`SessionHandle`].
//!
//! Data is a JSON object stored in the session record: it survives ID
//! rotation and is seen by every instance sharing the store. Every write
//! is a compare-and-set with retry, applied to the newest stored data, so
//! concurrent requests writing different members never lose each other's
//! writes and a request that read stale data never overwrites newer data.
//! The whole object is capped at
//! [`SessionConfig::max_data_bytes`](crate::SessionConfig::max_data_bytes)
//! (413 past it, nothing written). Reads see the session as the request
//! found it, or as this request's own writes left it.

use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};

use super::SessionHandle;
use crate::rejection::Rejection;

impl SessionHandle {
    /// The whole data object of the current session (`{}` after login).
    ///
    /// # Errors
    /// 401/403 without a valid session.
    pub fn data(&self) -> Result<Map<String, Value>, Rejection> {
        self.outcome.authenticator().session_data(&self.outcome)
    }

    /// The member `key`, decoded as `T`; `None` when absent.
    ///
    /// ```
    /// use portcullis::{Authenticator, RequestView, SessionHandle};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let outcome = auth.authenticate(&RequestView::new("POST")).await;
    /// let session = SessionHandle::new(outcome);
    /// session.login("alice", vec![]).await.unwrap();
    /// session.insert("cart", &vec![3_u32, 7]).await.unwrap();
    /// assert_eq!(session.get::<Vec<u32>>("cart").unwrap(), Some(vec![3, 7]));
    /// // A type mismatch is an error, not `None`.
    /// assert_eq!(session.get::<String>("cart").unwrap_err().status(), 500);
    /// assert_eq!(session.remove("cart").await.unwrap(), true);
    /// assert_eq!(session.get::<Vec<u32>>("cart").unwrap(), None);
    /// # });
    /// ```
    ///
    /// # Errors
    /// 401/403 without a valid session; 500
    /// [`RejectionKind::SessionDataInvalid`](crate::RejectionKind::SessionDataInvalid)
    /// (logged) when the stored member does not decode as `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Rejection> {
        self.outcome.authenticator().session_get(&self.outcome, key)
    }

    /// Set the member `key` to `value` (serialised with serde).
    ///
    /// # Errors
    /// 413 past the cap; 401/403 without a valid, CSRF-checked session (or
    /// when it ended meanwhile); 500 when `value` does not serialise; 503
    /// when the store fails.
    pub async fn insert<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), Rejection> {
        self.outcome
            .authenticator()
            .session_insert(&self.outcome, key, value)
            .await
    }

    /// Remove the member `key`; `true` if it was there.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub async fn remove(&self, key: &str) -> Result<bool, Rejection> {
        let mut removed = false;
        self.outcome
            .authenticator()
            .session_update(&self.outcome, |d| removed = d.remove(key).is_some())
            .await?;
        Ok(removed)
    }

    /// Merge `patch` into the data at the top level (each member is set; a
    /// member whose value is `null` is removed; no recursive merge) and
    /// return the data as written.
    ///
    /// ```
    /// use portcullis::{Authenticator, RequestView, SessionHandle};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let session = SessionHandle::new(auth.authenticate(&RequestView::new("POST")).await);
    /// session.login("alice", vec![]).await.unwrap();
    /// let patch = |json: &str| serde_json::from_str(json).unwrap();
    /// session.patch(patch(r#"{"theme":"dark","lang":"en"}"#)).await.unwrap();
    /// let data = session.patch(patch(r#"{"lang":null}"#)).await.unwrap();
    /// assert_eq!(serde_json::to_string(&data).unwrap(), r#"{"theme":"dark"}"#);
    /// // Past the cap (4096 bytes of JSON by default): 413, nothing written.
    /// let big = serde_json::json!({ "blob": "x".repeat(5000) });
    /// let refused = session.patch(big.as_object().unwrap().clone()).await.unwrap_err();
    /// assert_eq!(refused.status(), 413);
    /// assert_eq!(session.data().unwrap().len(), 1);
    /// # });
    /// ```
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub async fn patch(&self, patch: Map<String, Value>) -> Result<Map<String, Value>, Rejection> {
        self.outcome
            .authenticator()
            .session_update(&self.outcome, |d| crate::session::merge(d, &patch))
            .await
    }
}
