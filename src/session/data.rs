//! A session's application data: compare-and-set writes with retry, under
//! a size cap.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{unavailable, ActiveSession, SessionManager};
use crate::rejection::{Rejection, RejectionKind};
use crate::store::{update_record, SessionRecord, UpdateError};

/// Counts the bytes of a serialisation without keeping them.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size of `data` as compact JSON.
pub(crate) fn json_len(data: &Map<String, Value>) -> usize {
    let mut n = Counter(0);
    // Writing to a counter cannot fail; a map of JSON values always
    // serialises.
    let _ = serde_json::to_writer(&mut n, data);
    n.0
}

/// Top-level merge of `patch` into `data`: each member is set, a `null`
/// member removed (RFC 7396 at the top level only).
pub(crate) fn merge(data: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        if v.is_null() {
            data.remove(k);
        } else {
            data.insert(k.clone(), v.clone());
        }
    }
}

impl SessionManager {
    /// Change `current`'s data with `change` as a compare-and-set with
    /// retry: a concurrent write to another member is reloaded and kept,
    /// and `change` is applied to the newest data, never to a stale copy.
    /// Data past the cap is refused whole. Returns the session as written.
    ///
    /// # Errors
    /// 401 when the session ended (or its ID was rotated) meanwhile; 413
    /// past [`SessionConfig::max_data_bytes`](crate::SessionConfig::max_data_bytes);
    /// 503 when the store fails.
    pub(crate) async fn update_data(
        &self,
        current: &ActiveSession,
        mut change: impl FnMut(&mut Map<String, Value>),
    ) -> Result<ActiveSession, Rejection> {
        let max = self.config.max_data_bytes;
        let apply = |r: &mut SessionRecord| {
            change(&mut r.data);
            if json_len(&r.data) > max {
                return Err(RejectionKind::PayloadTooLarge);
            }
            Ok(())
        };
        match update_record(&*self.store, &current.key, false, apply).await {
            Ok(Some(record)) => Ok(ActiveSession {
                key: current.key,
                record: Arc::new(record),
            }),
            Ok(None) => Err(Rejection::session(RejectionKind::InvalidSession)),
            Err(UpdateError::Refused(kind)) => Err(Rejection::session(kind)),
            Err(UpdateError::Store(e)) => Err(unavailable(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sets_and_removes_top_level_members_only() {
        let mut data: Map<String, Value> =
            serde_json::from_str(r#"{"a":1,"b":{"x":1},"c":true}"#).unwrap();
        let patch: Map<String, Value> =
            serde_json::from_str(r#"{"a":null,"b":{"y":2},"d":"new"}"#).unwrap();
        merge(&mut data, &patch);
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"b":{"y":2},"c":true,"d":"new"}"#
        );
    }

    #[test]
    fn json_len_is_the_compact_serialisation() {
        let data: Map<String, Value> = serde_json::from_str(r#"{ "a" : [1, 2] }"#).unwrap();
        assert_eq!(json_len(&data), r#"{"a":[1,2]}"#.len());
        assert_eq!(json_len(&Map::new()), 2);
    }
}
