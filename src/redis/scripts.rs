//! The Lua scripts that keep records and the per-user index consistent.
//!
//! Each script runs atomically on the Redis server, so a record and its
//! index entry change together and a compare-and-set cannot be interleaved.
//! Records are JSON strings; the scripts read them with Redis' built-in
//! `cjson` only where they must (the version check, the owner of a record
//! being deleted, the expiry of a record being counted).
//!
//! Each user has two indexes, one of cookie sessions and one of refresh
//! families, so the session cap never reads families and the other way
//! round. Scripts that walk an index take a bounded chunk per call (the
//! client loops), so one user with many records cannot stall Redis for
//! every instance.
//!
//! The scripts name the user index of a record they delete from inside the
//! script (the owner is only known from the record), so they need every key
//! on one server: a single Redis or a primary with replicas, not Redis
//! Cluster.

use redis::Script;

/// `create`: fail if the key exists; else store the record with its TTL, add
/// it to the user index and make the index live at least as long.
///
/// KEYS: record, index. ARGV: json, ttl ms, index member.
/// Returns 1 when created, 0 on a collision.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
";

/// `update`: compare-and-set on the stored version (and owner, and liveness),
/// then store the new record and TTL and stretch the index TTL if needed.
///
/// KEYS: record, index. ARGV: json (carrying the new version), ttl ms,
/// expected version, user id, now (unix seconds).
/// Returns 1 when stored, 0 on a conflict.
const UPDATE: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, r = pcall(cjson.decode, cur)
if not ok or type(r) ~= 'table' then return 0 end
if (tonumber(r.version) or 0) ~= tonumber(ARGV[3]) then return 0 end
if r.user_id ~= ARGV[4] then return 0 end
local exp = math.min(tonumber(r.idle_expires_at) or 0, tonumber(r.absolute_expires_at) or 0)
if exp <= tonumber(ARGV[5]) then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
";

/// `delete`: remove the record and its index entry (the session or the
/// family index, by the record's kind).
///
/// KEYS: record. ARGV: session index key prefix, index member, now (unix
/// seconds), family index key prefix.
/// Returns 1 if a live record was removed, else 0.
const DELETE: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
redis.call('DEL', KEYS[1])
local ok, r = pcall(cjson.decode, cur)
if not ok or type(r) ~= 'table' or type(r.user_id) ~= 'string' then return 1 end
local index = ARGV[1]
if r.kind == 'refresh_family' then index = ARGV[4] end
redis.call('SREM', index .. r.user_id, ARGV[2])
local exp = math.min(tonumber(r.idle_expires_at) or 0, tonumber(r.absolute_expires_at) or 0)
if exp <= tonumber(ARGV[3]) then return 0 end
return 1
";

/// `delete_user`, one chunk: pop up to `limit` members of the index and
/// remove their records; the client calls again while members remain.
///
/// KEYS: index. ARGV: record key prefix, user id, now (unix seconds), limit.
/// Returns {live records removed, members left}.
const DELETE_USER: &str = r"
local n = 0
local now = tonumber(ARGV[3])
for _, m in ipairs(redis.call('SPOP', KEYS[1], tonumber(ARGV[4]))) do
  local k = ARGV[1] .. m
  local cur = redis.call('GET', k)
  if cur then
    local ok, r = pcall(cjson.decode, cur)
    if ok and type(r) == 'table' and r.user_id == ARGV[2] then
      redis.call('DEL', k)
      local exp = math.min(tonumber(r.idle_expires_at) or 0, tonumber(r.absolute_expires_at) or 0)
      if exp > now then n = n + 1 end
    end
  end
end
return {n, redis.call('SCARD', KEYS[1])}
";

/// `list_user`, one chunk: `SSCAN` the index from `cursor` and return the
/// members found with their records, pruning members whose record has
/// vanished (expired by TTL); the client calls again until the cursor is 0.
///
/// KEYS: index. ARGV: record key prefix, cursor, count.
/// Returns a flat array: next cursor, member, json, member, json, ...
const LIST_USER: &str = r"
local scan = redis.call('SSCAN', KEYS[1], ARGV[2], 'COUNT', tonumber(ARGV[3]))
local members = scan[2]
local out = {scan[1]}
if #members == 0 then return out end
local keys = {}
for i = 1, #members do keys[i] = ARGV[1] .. members[i] end
local vals = redis.call('MGET', unpack(keys))
for i = 1, #members do
  local v = vals[i]
  if v then
    out[#out + 1] = members[i]
    out[#out + 1] = v
  else
    redis.call('SREM', KEYS[1], members[i])
  end
end
return out
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
    pub(crate) delete_user: Script,
    pub(crate) list_user: Script,
    pub(crate) keep_max: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            create: Script::new(CREATE),
            update: Script::new(UPDATE),
            delete: Script::new(DELETE),
            delete_user: Script::new(DELETE_USER),
            list_user: Script::new(LIST_USER),
            keep_max: Script::new(KEEP_MAX),
        }
    }
}
