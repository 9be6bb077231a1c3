//! # Every default, and why
//!
//! What `Authenticator::builder().build()` gives you without a single
//! setting, and the reason for each value. The values below are those in
//! the code (`SessionConfig::default`, `CookiePolicy::default`,
//! `TokenConfig::new`, `CsrfConfig::default`, no trusted proxies
//! and the crate's constants); the tables name the setter that changes
//! each one.
//!
//! All spans of time are `std::time::Duration`s of whole seconds; a
//! fraction of a second is refused by `AuthenticatorBuilder::build` rather
//! than rounded, as are zero timeouts, zero caps and out-of-range values.
//!
//! # The builder
//!
//! | part | default | why |
//! |------|---------|-----|
//! | cookie sessions | on, with `SessionConfig::default()` (`AuthenticatorBuilder::without_sessions` turns them off) | the common case; building with neither sessions nor tokens is an error |
//! | token mode | off (`AuthenticatorBuilder::tokens` with a `TokenConfig`) | needs keys, which only you can provide |
//! | store | a new `MemoryStore` on the builder's clock (`AuthenticatorBuilder::store`) | works out of the box for one process; use a shared store for several |
//! | revocation list | the store's own when it offers one (`RedisStore` does), else in process memory beside a store that is not shared; a shared store without one is a build error (`AuthenticatorBuilder::revocations` overrides) | revocations must reach every instance that shares the sessions |
//! | clock | the system clock (`AuthenticatorBuilder::clock`) | a manual clock is for tests |
//! | CSRF | `CsrfConfig::default()`: no trusted origins (`AuthenticatorBuilder::csrf`) | only the site's own origin may send unsafe cookie requests until you list another |
//! | trusted proxies | none (`AuthenticatorBuilder::trusted_proxies`) | a client must not choose its own IP or scheme with `X-Forwarded-*` |
//! | crypto backend | feature `aws_lc_rs` (`rust_crypto` is the pure-Rust alternative) | asymmetric verification 5-10x faster than RustCrypto; HMAC verification never goes through the backend |
//!
//! # The session cookie (`CookiePolicy`)
//!
//! | attribute | default | setter | why |
//! |-----------|---------|--------|-----|
//! | name | `__Host-id` | `CookiePolicy::default().name(..)` | the prefix makes browsers demand `Secure`, `Path=/` and no `Domain`, so a subdomain cannot toss a cookie of that name; `id` does not reveal the framework |
//! | `HttpOnly` | set | `insecure_script_readable()` drops it | scripts cannot read the ID |
//! | `Secure` | set | `insecure_no_secure()` drops it (needs a name without `__Host-`/`__Secure-`) | the ID never crosses plain HTTP; see `manual::deployment` for when the opt-out is needed |
//! | `SameSite` | `Lax` | `same_site(..)` | no cross-site POSTs or subrequests carry the cookie, while links from other sites still arrive logged in; `None` requires `Secure` |
//! | `Path` | `/` | `path(..)` | required by `__Host-` |
//! | `Domain` | none (host-only) | `domain(..)` (not with `__Host-`) | no sibling subdomain receives the cookie |
//! | `Max-Age` | the session's remaining absolute life | `browser_session_cookie()` omits it | the cookie never outlives the session; the server's timeouts apply either way |
//!
//! # Cookie parsing limits
//!
//! | limit | value | why |
//! |-------|-------|-----|
//! | bytes of one repeatable header looked at (all `Cookie` lines together, 16 bytes of framing counted per line) | 64 KiB | bounds work by bytes, as servers do, not by a count of lines that HTTP/2 makes large |
//! | longest cookie value considered | 256 bytes | a signed ID is 87 characters; anything longer is not ours |
//! | duplicates of our name tried | 4 | enough for an old cookie beside the new one; each is looked up, and two live ones make the request anonymous |
//!
//! # Sessions (`SessionConfig`)
//!
//! | setting | default | setter | why |
//! |---------|---------|--------|-----|
//! | idle timeout | 30 min | `SessionConfig::idle_timeout` | OWASP session management guidance: a forgotten session ends soon |
//! | absolute timeout | 12 h | `SessionConfig::absolute_timeout` | a stolen cookie stops working within a working day, whatever the activity |
//! | rolling interval | 60 s, and never more than a quarter of the idle timeout | `SessionConfig::rolling_interval` | `last_seen` and the idle deadline are written at most once a minute, not on every request; the quarter keeps an active session from reaching its idle deadline between two writes |
//! | sessions per user | 5, oldest evicted | `SessionConfig::max_sessions_per_user` (`None`: no cap; or refuse the login with 403) | one account cannot pile up sessions without bound |
//! | ID signing | off | `SessionConfig::signing_key` (secrets of at least 32 bytes) | 256-bit random IDs are unguessable already; signing only refuses forgeries before the store lookup |
//! | cookie | `CookiePolicy::default()` | `SessionConfig::cookie` | see above |
//!
//! Fixed values:
//!
//! | what | value | why |
//! |------|-------|-----|
//! | session ID | 32 bytes from the OS CSPRNG, 43 base64url characters (87 when signed) | OWASP asks for IDs of at least 128 bits; 256 random bits leave a wide margin |
//! | store key | SHA-256 of the ID | a leaked store names no live session |
//! | CSRF secret | 32 random bytes per session, token of 43 characters, new at every rotation | unguessable, bound to the session |
//! | User-Agent kept with a session | first 256 bytes | bounded records |
//! | `MemoryStore` | 64 shards, each swept for expired records at most every 30 s | no global lock and no stop-the-world purge |
//!
//! # Tokens (`TokenConfig`)
//!
//! `TokenConfig::new(keys)` starts from these values:
//!
//! | setting | default | setter and range | why |
//! |---------|---------|------------------|-----|
//! | access-token lifetime | 15 min | `TokenConfig::access_ttl`, 1 s to 1 day | bearer tokens are not revocable without a lookup, so keep them short; revocation then bridges minutes |
//! | refresh-family lifetime | 14 days | `TokenConfig::refresh_ttl`, from the access lifetime to 1 year | the user logs in again after two weeks, whatever the activity |
//! | refresh-family idle timeout | none (equal to the lifetime) | `TokenConfig::refresh_idle_ttl` | opt-in for clients that should end when unused |
//! | leeway for `exp`, `nbf`, `iat` | 30 s | `TokenConfig::leeway`, at most 5 min | tolerates clock skew between hosts without stretching token life |
//! | longest accepted lifetime (`exp` - `iat`) | the access lifetime, plus the leeway | `TokenConfig::max_token_lifetime` (`None` removes the cap) | a signed token with a far-future `exp` cannot outlive log-out-everywhere |
//! | refresh families per user | 5, oldest ended | `TokenConfig::max_families_per_user` (`None`: no cap) | the same bound as cookie sessions |
//! | verified-token cache | 4096 slots (rounded up to a power of two, at most 2^20, about 400 bytes per slot in use) | `TokenConfig::verified_cache`, `0` turns it off | a repeated token skips signature check and JSON parse; time claims and revocation are still checked every request |
//! | `iss` / `aud` | none | `TokenConfig::issuer`, `TokenConfig::audience` | when set, written and required exactly |
//! | `crit` extensions | none allowed | `TokenConfig::allow_crit` | an unknown critical extension must be refused |
//!
//! Fixed values:
//!
//! | what | value | why |
//! |------|-------|-----|
//! | largest token | 8 KiB | refused before any decoding |
//! | longest `kid` | 256 bytes | `kid` is compared with the registry only |
//! | `jti` | 128 random bits | unique per token, for revocation by `jti` |
//! | refresh token | 86 base64url characters: 32-byte family ID and 32-byte secret, stored hashed | opaque, unguessable, useless from a store dump |
//! | same-client refresh retry grace | 10 s, same IP and byte-equal non-empty `User-Agent` | a lost response or two tabs do not end the family; anything else is reuse |
//! | HMAC secret | at least 32, 48 or 64 bytes for HS256, HS384, HS512 | the hash size |
//! | RSA modulus | 2048 to 8192 bits | below 2048 is weak; above bounds verification cost |
//! | signing key | the one named by `KeyRegistry::builder().active(..)`, else the first key added that can sign | one key signs, all verify |
//!
//! # Revocation list retention
//!
//! | entry | kept until | why |
//! |-------|------------|-----|
//! | revoked `jti` | the token's `exp` plus the leeway | after that the token is refused as expired anyway |
//! | revoked refresh family | now plus the access lifetime plus the leeway plus 1 s | no access token of the family can live longer |
//! | subject cut-off (log out everywhere) | the instant plus the access lifetime plus the leeway plus 1 s | it must outlive every token it refuses |
//!
//! The subject retention above applies to a list the `Authenticator` makes
//! itself or obtains from its store. A list made by hand and given to
//! `AuthenticatorBuilder::revocations` keeps its own retention: one day by
//! default for the in-memory list, 30 days for the Redis list; both take
//! `with_subject_retention`, which must be at least the access lifetime
//! plus the leeway.
//!
//! # CSRF (`CsrfConfig`) and trusted proxies
//!
//! | setting | default | setter | why |
//! |---------|---------|--------|-----|
//! | trusted origins | none | `CsrfConfig::trust_origin` (exact `scheme://host[:port]`, lower-cased) | a separate front-end origin must be named, never guessed |
//! | trusted proxies | none: `X-Forwarded-For` and `X-Forwarded-Proto` ignored | `AuthenticatorBuilder::trusted_proxies("10.0.0.0/8, ::1")` | without a list, any client could claim any IP or HTTPS |
//! | `X-Forwarded-For` addresses walked, right to left | 32 | fixed | bounded work on a hostile header |
//!
//! # Login throttling (`LoginThrottle`)
//!
//! | setting | default | setter | why |
//! |---------|---------|--------|-----|
//! | on | yes | `AuthenticatorBuilder::login_throttle(LoginThrottle::disabled())` turns it off | unthrottled logins let a password be guessed at the server's speed |
//! | failures per username and client | 5 in 15 min | `max_failures` | OWASP and django-axes; keyed on the client too, so a guesser elsewhere cannot lock the real user out |
//! | lockout | 60 s, doubling per further failure of the pair, at most 1 h | `lockout`, `max_lockout` | slows a guesser to a few tries an hour, costs a mistyping user a minute |
//! | failures per username, all clients | 100 in 15 min | `max_failures_per_user` | a distributed guess at one account |
//! | failures per client, all usernames | 50 in 15 min | `max_failures_per_client` | password spraying from one address (IPv6 counted per /64) |
//! | window | 15 min, sliding | `window` | failures older than this no longer count |
//! | pair's doubling forgotten after | 24 h without a failure | fixed | a user who mistypes once a week never pays an old lock |
//!
//! # Redis (`RedisStore`, feature `redis`)
//!
//! | setting | default | setter | why |
//! |---------|---------|--------|-----|
//! | key prefix | `portcullis:` | `RedisStore::builder().prefix(..)` | several applications can share one Redis |
//! | per-call timeout | 1 s | `RedisStore::builder().timeout(..)` | a slow Redis becomes a prompt 503, not a hung request |
//! | connection | one multiplexed connection that reconnects by itself; a read is retried once on a dead connection | fixed | no pool checkout on the request path; the first request after a Redis restart succeeds |
//!
//! # SQL (`sql::SqlStore`, features `postgres`, `sqlite`)
//!
//! | setting | default | setter | why |
//! |---------|---------|--------|-----|
//! | table prefix | `portcullis_` | `SqlStoreBuilder::table_prefix` | several applications can share one database |
//! | schema (PostgreSQL) | the connection's `search_path` | `SqlStoreBuilder::schema` | PostgreSQL 15+ users often may not create objects in `public` |
//! | timeout | 1 s on acquiring a connection and on every statement (and PostgreSQL's `statement_timeout`) | `SqlStoreBuilder::timeout` | a slow or locked database becomes a prompt 503 |
//! | pool | 10 connections (SQLite 4), no ping before use; a statement on a dead connection is retried once | `SqlStoreBuilder::max_connections` | one round trip per call; the first request after a database restart succeeds |
//! | migrations | by `migrate()` only | `SqlStoreBuilder::auto_migrate` | schema changes are the operator's decision unless asked for |
//! | purge of expired rows | every 60 s, batches of 1,000 rows | `purge_interval`, `purge_batch` | no statement holds locks on a large part of a table; expired rows are invisible before they are purged |
//! | SQLite journal | WAL, `synchronous=FULL` | fixed | readers never wait for the writer; a logout or revocation is durable once acknowledged |
//!
//! # Responses
//!
//! | header | when | why |
//! |--------|------|-----|
//! | `Cache-Control: no-store` | the request carried a session cookie or a bearer token, or the response sets or clears a cookie or carries tokens | a shared cache must never keep a personal answer or a credential |
//! | `Vary: Cookie` | every response of a route behind the middleware, with cookie sessions enabled | the answer depends on the cookie |
//! | `WWW-Authenticate: Bearer error="invalid_token"` / `error="insufficient_scope"` | 401 / 403 to a bearer request | RFC 6750 |
//! | status of a store outage | 503 | fail closed |
