//! The Lua scripts of the Redis stores. Each touches exactly the keys it is
//! given in `KEYS`, all in one hash slot (one record, one index or one
//! revocation entry), so the same scripts run on one node and on a Redis
//! Cluster. Records are JSON strings; the scripts read them with Redis'
//! built-in `cjson` only where they must (the version check, the owner and
//! expiry of a record being deleted).
//!
//! Why per-record slots and not one slot per user: a request knows only the
//! hash of its session ID, so its record must be found from that alone (one
//! round trip, nothing to carry in the cookie); the per-user index is a
//! separate key, kept consistent by the order of the writes rather than by
//! one script (see `store.rs`).

use redis::Script;

/// `create`: fail if the record exists; else store it with its TTL.
///
/// KEYS: record. ARGV: json, ttl ms.
/// Returns 1 when created, 0 on a collision.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
";

/// `update`: compare-and-set on the stored version (and owner, and
/// liveness), then store the new record and TTL.
///
/// KEYS: record. ARGV: json (carrying the new version), ttl ms, expected
/// version, user id, now (unix seconds), new expiry (unix seconds).
/// Returns 0 on a conflict, 1 when stored, 2 when stored with an expiry
/// past the record's old absolute expiry (its index must then live longer
/// too).
const UPDATE: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, r = pcall(cjson.decode, cur)
if not ok or type(r) ~= 'table' then return 0 end
if (tonumber(r.version) or 0) ~= tonumber(ARGV[3]) then return 0 end
if r.user_id ~= ARGV[4] then return 0 end
local exp = math.min(tonumber(r.idle_expires_at) or 0, tonumber(r.absolute_expires_at) or 0)
if exp <= tonumber(ARGV[5]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
if tonumber(ARGV[6]) > (tonumber(r.absolute_expires_at) or 0) then return 2 end
return 1
";

/// `delete`: remove a record (of `owner` only, when one is given) and say
/// whose it was.
///
/// KEYS: record. ARGV: now (unix seconds), owner (empty: anyone's).
/// Returns {status, user id, kind}: status 0 when there was no record (or
/// it belongs to someone else: left alone), 1 when a live (or unreadable)
/// record was removed, 2 when an expired one was.
const DELETE: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return {0, '', ''} end
local ok, r = pcall(cjson.decode, cur)
if not ok or type(r) ~= 'table' or type(r.user_id) ~= 'string' then
  if ARGV[2] ~= '' then return {0, '', ''} end
  redis.call('DEL', KEYS[1])
  return {1, '', ''}
end
if ARGV[2] ~= '' and r.user_id ~= ARGV[2] then return {0, '', ''} end
redis.call('DEL', KEYS[1])
local exp = math.min(tonumber(r.idle_expires_at) or 0, tonumber(r.absolute_expires_at) or 0)
local kind = r.kind
if type(kind) ~= 'string' then kind = '' end
if exp <= tonumber(ARGV[1]) then return {2, r.user_id, kind} end
return {1, r.user_id, kind}
";

/// Add a member to a user index (a sorted set scored by the record's
/// expiry, unix ms) and make the index live at least `ttl`.
///
/// KEYS: index. ARGV: member, score, ttl ms.
const INDEX_ADD: &str = r"
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
";

/// Make an index live at least `ttl` (after an update moved a record's
/// expiry later).
///
/// KEYS: index. ARGV: ttl ms.
const INDEX_STRETCH: &str = r"
local ttl = tonumber(ARGV[1])
local cur = redis.call('PTTL', KEYS[1])
if cur ~= -2 and cur < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
";

/// Revocations: keep the larger of the stored and the given number (a
/// token's expiry, or a subject's "revoked up to" instant). A larger value
/// replaces the entry with its own TTL (the caller computes it from that
/// value); a smaller or equal one changes nothing.
///
/// KEYS: entry. ARGV: value (decimal), ttl ms.
/// Returns 1 when stored, 0 when the entry already held a value as large.
const KEEP_MAX: &str = r"
local cur = tonumber(redis.call('GET', KEYS[1]))
if cur and cur >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// Every script, hashed once per process.
pub(crate) struct Scripts {
    pub(crate) create: Script,
    pub(crate) update: Script,
    pub(crate) delete: Script,
    pub(crate) index_add: Script,
    pub(crate) index_stretch: Script,
    pub(crate) keep_max: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            create: Script::new(CREATE),
            update: Script::new(UPDATE),
            delete: Script::new(DELETE),
            index_add: Script::new(INDEX_ADD),
            index_stretch: Script::new(INDEX_STRETCH),
            keep_max: Script::new(KEEP_MAX),
        }
    }

    /// Load every script (on every node of a cluster), so the first write
    /// that asks replicas to confirm it is not first refused for an unknown
    /// script: that attempt's `WAIT` would already have used up its time.
    pub(crate) async fn load_all(
        &self,
        conn: &mut super::conn::RedisConn,
    ) -> redis::RedisResult<()> {
        for script in [
            &self.create,
            &self.update,
            &self.delete,
            &self.index_add,
            &self.index_stretch,
            &self.keep_max,
        ] {
            script.load_async(conn).await?;
        }
        Ok(())
    }
}
