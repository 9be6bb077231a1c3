//! The current session's application data, read and written through a
//! request's outcome.

use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};

use crate::rejection::{Rejection, RejectionKind};

use super::{AuthOutcome, Authenticator};

fn invalid(what: &str, e: &serde_json::Error) -> Rejection {
    // The error names a type or position, never the data itself.
    tracing::error!(error = %e, "session data: {what}");
    Rejection::session(RejectionKind::SessionDataInvalid)
}

impl Authenticator {
    /// The current session's data, as this request now sees it.
    pub(crate) fn session_data(
        &self,
        outcome: &AuthOutcome,
    ) -> Result<Map<String, Value>, Rejection> {
        Ok(Map::clone(&self.current_session(outcome)?.record.data))
    }

    /// One member of the current session's data, decoded as `T`.
    pub(crate) fn session_get<T: DeserializeOwned>(
        &self,
        outcome: &AuthOutcome,
        key: &str,
    ) -> Result<Option<T>, Rejection> {
        let current = self.current_session(outcome)?;
        match current.record.data.get(key) {
            Some(v) => T::deserialize(v)
                .map(Some)
                .map_err(|e| invalid("a member does not decode as the type asked for", &e)),
            None => Ok(None),
        }
    }

    /// Change the current session's data with `change` (compare-and-set
    /// with retry, under the cap); returns the data as written.
    pub(crate) async fn session_update(
        &self,
        outcome: &AuthOutcome,
        change: impl FnMut(&mut Map<String, Value>),
    ) -> Result<Map<String, Value>, Rejection> {
        let m = self.manager()?;
        let current = self.current_session(outcome)?;
        let written = m.update_data(&current, change).await?;
        let data = Map::clone(&written.record.data);
        outcome.set_latest(Some(written));
        Ok(data)
    }

    /// Set `key` to `value`, serialised.
    pub(crate) async fn session_insert<T: Serialize + ?Sized>(
        &self,
        outcome: &AuthOutcome,
        key: &str,
        value: &T,
    ) -> Result<(), Rejection> {
        let value =
            serde_json::to_value(value).map_err(|e| invalid("a value does not serialise", &e))?;
        self.session_update(outcome, |d| {
            d.insert(key.to_owned(), value.clone());
        })
        .await
        .map(drop)
    }
}
