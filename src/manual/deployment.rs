//! # Deployment
//!
//! HTTPS and the one case that needs the insecure-cookie opt-out, reverse
//! proxies, key rotation, several instances, and readiness probes.
//!
//! # HTTPS, and when the insecure opt-out is needed
//!
//! The default session cookie is `__Host-id` with `Secure`. A browser
//! stores and sends a `Secure` cookie only over a secure context, and
//! browsers treat `http://localhost` and `http://127.0.0.1` (loopback) as
//! one; curl does the same for loopback. So:
//!
//! | where the service is reached | default cookie works? | what to do |
//! |------------------------------|-----------------------|------------|
//! | `https://` on any host, including behind a TLS-terminating proxy | yes | nothing: this is the production set-up |
//! | `http://127.0.0.1:PORT` or `http://localhost:PORT` | yes | nothing: local development needs no opt-out |
//! | `http://` on any other host (a LAN address, a container name, a staging box without TLS) | no: the browser silently drops the `Set-Cookie`, login answers 200 and the next request is a 401 | use the opt-out below, or better, put TLS in front |
//!
//! The opt-out drops `Secure`, which a `__Host-` (or `__Secure-`) name
//! forbids, so the name changes too; `Authenticator::builder().build()`
//! refuses `insecure_no_secure` with a prefixed name, and `SameSite=None`
//! without `Secure`:
//!
//! ```
//! use portcullis::{Authenticator, CookiePolicy, SessionConfig};
//!
//! let cookie = CookiePolicy::default()
//!     .name("id")                 // not __Host-: that prefix requires Secure
//!     .insecure_no_secure();      // plain HTTP on a non-loopback host only
//! let auth = Authenticator::builder()
//!     .sessions(SessionConfig::default().cookie(cookie))
//!     .build()?;
//! # let _ = auth;
//! # Ok::<(), portcullis::ConfigError>(())
//! ```
//!
//! The demo servers do exactly this when started with `INSECURE_COOKIES=1`
//! (cookie `id`, no `Secure`); unset, empty or `0` keeps the default, and
//! any other value stops them at start-up. Never ship it: without
//! `Secure` the ID crosses the network in clear, and without the prefix a
//! sibling subdomain can toss a cookie of the same name. Token mode is
//! not affected (bearer tokens are not cookies), but tokens are
//! credentials all the same: serve them over HTTPS too.
//!
//! Do not use a `Domain` attribute to share a session between subdomains:
//! it is incompatible with `__Host-` and exposes the cookie to every
//! subdomain. Serve the front end and the API from one origin. A front end
//! on a sibling origin (`app.example.com` calling `api.example.com` with
//! credentials) needs its origin listed with `CsrfConfig::trust_origin`,
//! since its browser requests say `Sec-Fetch-Site: same-site`; CORS
//! headers remain your framework's job. Or let that front end use token
//! mode.
//!
//! # Reverse proxies
//!
//! The client IP (kept with each session, used for the refresh retry
//! grace and shown in the session list) and the scheme (used by the
//! `Origin` check) come from the connection, unless the connection comes
//! from a trusted proxy:
//!
//! ```
//! use portcullis::Authenticator;
//! let auth = Authenticator::builder()
//!     .trusted_proxies("10.0.0.0/8, fd00::/8")
//!     .build()?;
//! # let _ = auth;
//! # Ok::<(), portcullis::ConfigError>(())
//! ```
//!
//! - `AuthenticatorBuilder::trusted_proxies` takes comma-separated IP addresses and CIDR
//!   blocks; an invalid entry is a start-up error. IPv4-mapped IPv6 peers
//!   match their IPv4 form.
//! - Proxies that send the standard `Forwarded` header (RFC 7239) instead
//!   of the `X-Forwarded-*` pair: add `AuthenticatorBuilder::forwarded_header`.
//!   Exactly one of the two is believed, never both: a proxy that sets one
//!   passes a client's copy of the other through untouched.
//! - Only when the peer address is in the list are `X-Forwarded-For` and
//!   `X-Forwarded-Proto` read. The client is the right-most
//!   `X-Forwarded-For` address that is not itself a trusted proxy (at most
//!   32 addresses are walked); list every hop you operate (load balancer,
//!   ingress, CDN ranges) so the walk stops at the real client. The scheme
//!   is the one `X-Forwarded-Proto` names (`http` or `https`; a repeated or
//!   unknown value is ignored). The RFC 7239 `Forwarded` header is read
//!   instead only with `AuthenticatorBuilder::forwarded_header` (above).
//! - From any other peer both headers are ignored: a client cannot choose
//!   its own IP or make a plain-HTTP request look like HTTPS.
//! - Without a trusted proxy, the scheme is the connection's: actix-web's
//!   and Rocket's adapters report plain HTTP unless the server itself
//!   terminates TLS. Behind a TLS-terminating proxy that is not listed, an
//!   unsafe cookie request whose `Origin` is `https://...` is therefore
//!   refused (403): list the proxy. (The tower adapter reports the URI's
//!   scheme, or `AuthLayer::https`, else unknown.)
//! - The proxy must pass `Host` (or HTTP/2 `:authority`) through unchanged,
//!   or set it to the public host name: the `Origin` check compares the
//!   browser's `Origin` with it when `Sec-Fetch-Site` is absent.
//!
//! The peer address each adapter reports:
//!
//! | adapter | peer address | scheme of the connection |
//! |---------|--------------|--------------------------|
//! | tower / axum | a `SocketAddr` or `IpAddr` request extension by default; with axum, serve with `into_make_service_with_connect_info::<SocketAddr>()` and read `ConnectInfo` with `AuthLayer::peer_ip`. Without a peer address no proxy can be trusted | the request URI's scheme when present, else what `AuthLayer::https` declares, else unknown (then the `Origin` check compares host and port only) |
//! | actix-web | the socket's peer address | whether the server was bound with TLS (`secure()` of the app config). Behind a TLS-terminating proxy this says HTTP, so trust the proxy and have it send `X-Forwarded-Proto: https`, or browsers that send `Origin` without `Sec-Fetch-Site` are refused |
//! | Rocket | Rocket's `client_ip`, which honours `X-Real-IP` by default: set `ip_header = false` in Rocket's configuration unless a proxy you trust sets that header | unknown (host and port are compared) |
//!
//! # Key rotation
//!
//! A `KeyRegistry` maps `kid` to a key bound to one algorithm. **One key
//! signs; every key verifies.** Tokens we sign always carry a `kid`, and
//! with two or more keys a token without `kid` is refused. Refresh tokens
//! are opaque and not signed, so they survive any key rotation.
//!
//! To rotate without logging anyone out, on a fleet of instances:
//!
//! 1. Add the new key to every instance's registry while the old key stays
//!    active, and deploy: every instance now verifies both.
//! 2. Make the new key active, and deploy: new tokens carry the new `kid`
//!    and every instance already accepts them.
//! 3. After the access-token lifetime plus the leeway (15 min plus 30 s by
//!    default), remove the old key: no token signed with it is still
//!    valid.
//!
//! Doing steps 1 and 2 at once lets an updated instance issue tokens that
//! an instance not yet updated refuses.
//!
//! ```rust,ignore
//! use portcullis::jwt::{Algorithm, KeyRegistry, TokenConfig};
//!
//! // Step 1: "2025-06" verifies everywhere, "2025-01" still signs.
//! let keys = KeyRegistry::builder()
//!     .private_pem("2025-01", Algorithm::ES256, old_pem)
//!     .private_pem("2025-06", Algorithm::ES256, new_pem)
//!     .active("2025-01")          // step 2: .active("2025-06")
//!     .build()?;                  // step 3: drop the "2025-01" line
//! let tokens = TokenConfig::new(keys);
//! ```
//!
//! Without `active`, the first key added that can sign is the signing key.
//! The same three steps apply to HMAC secrets (`KeyRegistry::builder().hmac(..)`);
//! a registry cannot mix HMAC secrets and public keys.
//!
//! **Publishing keys.** With asymmetric keys, serve `KeyRegistry::jwks()`
//! (a `{"keys":[...]}` document of the public keys, for example at
//! `/.well-known/jwks.json`) so that other services can verify your
//! tokens; a verifying service builds its own registry from that document
//! (`KeyRegistry::builder().jwks(..)`) and cannot sign. HMAC secrets never
//! appear in the JWKS. Publish the new key in step 1, before it signs. The
//! demo servers use one HS256 secret (`JWT_SECRET`) and do not serve a
//! JWKS yet.
//!
//! **ID-signing keys** (`SessionConfig::signing_key`, optional) rotate the same
//! way (`also_accept_signing_key` for the old one): the new secret signs and the old one is still accepted until the
//! absolute session timeout (12 h by default) has passed.
//!
//! # Several instances
//!
//! Every instance behind the load balancer must share:
//!
//! - **one store.** A `MemoryStore` lives in one process: a login on
//!   instance A would be unknown on instance B. Use `RedisStore` (feature
//!   `redis`), `sql::SqlStore` (features `postgres`, `sqlite`) or your own
//!   `SessionStore` over a shared database, checked with the conformance
//!   kit (feature `conformance`);
//! - **the same JWT keys** (`KeyRegistry`), issuer and audience;
//! - **the same cookie policy** and, if used, the same ID-signing keys;
//! - **the same Redis key prefix** (`RedisStore::builder().prefix(..)`);
//!   different applications on one Redis use different prefixes.
//!
//! A shared store also provides the revocation list, so giving the store
//! once is enough; do not call `AuthenticatorBuilder::revocations` unless
//! revocations must live elsewhere:
//!
//! ```rust,ignore
//! use std::sync::Arc;
//! use portcullis::redis::RedisStore;
//!
//! let store = Arc::new(RedisStore::connect("redis://redis.internal:6379/").await?);
//! let auth = Authenticator::builder()
//!     .store(store)                   // sessions, refresh families and revocations
//!     .tokens(TokenConfig::new(keys))
//!     .trusted_proxies("10.0.0.0/8")
//!     .build()?;
//! ```
//!
//! Then a login on one instance is valid on every other, and a logout,
//! log-out-everywhere or refresh-token reuse on one instance is refused on
//! every other at its next request (the revocation list has no in-process
//! cache; the verified-token cache on each instance never skips it). A
//! store that reports itself shared (`SessionStore::is_shared`) but offers
//! no revocation list makes `AuthenticatorBuilder::build` fail, so
//! revocations cannot silently stay in one process.
//!
//! Redis notes: a single server or a primary with replicas; Redis Cluster
//! is not supported (a user's index and records are updated together by
//! one script). `rediss://` needs the `redis` crate's TLS feature. Every
//! call is bounded by the store's timeout (1 s by default), after which the
//! request is a 503. Record expiries are sent to Redis as TTLs computed
//! from the application's clock, so the Redis host's clock does not
//! matter; the application hosts' clocks should agree to well within the
//! JWT leeway (30 s), so keep them on NTP.
//!
//! SQL notes: run `SqlStore::migrate()` once per deployment (or turn on
//! `auto_migrate`); the user needs `CREATE` on the schema for that, and only
//! `SELECT`, `INSERT`, `UPDATE` and `DELETE` on the three tables
//! afterwards. Expiries are compared with the application's clock, as for
//! Redis. SQLite suits one host (several processes may share the file);
//! across hosts use PostgreSQL.
//!
//! # Readiness
//!
//! `Authenticator::ready()` asks the session store and, in token mode, the
//! refresh-family store and the revocation list, once each. It returns
//! `Ok(())`, or a 503 `Rejection` (`RejectionKind::StoreUnavailable`) when
//! one does not answer, logging which failure at `warn`.
//!
//! The demo servers expose two probes, and so should you:
//!
//! | route | answers | use it for |
//! |-------|---------|------------|
//! | `GET /health` | 200 `ok`, without touching any store | liveness: restart the process only if this fails |
//! | `GET /ready` | 200 `ok` while the stores answer, 503 when they do not | readiness: the load balancer sends traffic only while this passes |
//!
//! Do not wire the store into the liveness probe: a Redis outage would
//! restart every instance without fixing anything. A store that is down at
//! start-up does not stop the server either: requests that need it answer
//! 503, nobody is let in, and service resumes when the store comes back
//! (`RedisStore` reconnects by itself). An invalid setting, by contrast, is
//! an error from `AuthenticatorBuilder::build` and should stop start-up.
