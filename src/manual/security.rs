//! # The security model
//!
//! What portcullis defends against, how, and what stays your job. Every
//! decision below is taken once, in the framework-neutral core
//! (`Authenticator::authenticate` and the operations behind
//! `SessionHandle` and `TokenHandle`); adapters only translate, so the
//! rules are the same under tower/axum, actix-web and Rocket.
//!
//! # Session IDs
//!
//! - 32 bytes (256 bits) drawn from the operating system's CSPRNG
//!   (`getrandom`) at every login and every rotation, encoded as 43
//!   characters of unpadded base64url. A failing RNG is a 503, never a
//!   weak ID.
//! - Stores never see the ID. Every record is keyed by the SHA-256 of the
//!   ID, so a leaked store, replica or backup names no live session: the
//!   key cannot be turned back into a cookie. The session list shows a
//!   12-hex-character `id_hint` taken from a second hash, which reveals
//!   neither the ID nor the key.
//! - IDs are compared in constant time (`subtle`). A value that is not
//!   exactly 43 canonical base64url characters is rejected before any
//!   store lookup.
//! - Optional HMAC-SHA256 signing (`SessionConfig::signing_key`, secrets of at
//!   least 32 bytes): the cookie becomes `id.tag` (87 characters) and a
//!   forged or truncated value is refused without touching the store. One
//!   key signs and every configured key verifies, so signing keys rotate
//!   without logging anyone out. Off by default: a 256-bit random ID is
//!   already unguessable; signing only saves store lookups for forged
//!   cookies.
//!
//! # Session fixation and rotation
//!
//! - `SessionHandle::login` never adopts an ID the client presented. It
//!   ends every session that a cookie of the request named, creates a new
//!   record with a fresh ID and a fresh CSRF secret, and queues the new
//!   `Set-Cookie`. Sessions are only created at login: there are no
//!   anonymous sessions to fixate.
//! - `SessionHandle::rotate` gives the current session a new ID and a new
//!   CSRF token, keeping its data and its expiry; call it when privileges
//!   change. The successor is written before the old record is deleted; if
//!   that delete finds the old record already gone (a concurrent logout or
//!   eviction) the successor is deleted too and the rotation refused, so a
//!   rotation never revives an ended session.
//! - Changing one session's roles rotates its ID.
//!   `Authenticator::set_user_roles` changes the roles of every live
//!   session and refresh family of a user at once (sessions keep their
//!   IDs) and refuses every access token issued before the change.
//! - Idle timeout (30 min) and absolute timeout (12 h) are enforced by the
//!   core on every lookup, not by the cookie's `Max-Age`; nothing extends
//!   the absolute deadline.
//! - At most 5 sessions per user by default; the oldest end past the cap
//!   (or the login is refused with 403: see
//!   `SessionConfig::max_sessions_per_user`).
//!
//! # Cookies
//!
//! The default `Set-Cookie` value, where `N` is the session's remaining
//! absolute life:
//!
//! ```text
//! __Host-id=<43 characters>; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=N
//! ```
//!
//! - `HttpOnly`: scripts cannot read the ID, so an XSS bug cannot copy it
//!   (it can still act as the user while the page is open).
//! - `Secure`: the cookie is only sent over HTTPS (and to loopback, see
//!   `manual::deployment`).
//! - `SameSite=Lax`: browsers do not attach the cookie to cross-site
//!   subrequests or cross-site POSTs; it is a first layer, not the CSRF
//!   defence (see below).
//! - `__Host-` prefix: a browser accepts the cookie only with `Secure`,
//!   `Path=/` and no `Domain`, so a sibling subdomain cannot set (toss) a
//!   cookie of the same name for this host.
//! - Contradictions are configuration errors, returned by
//!   `Authenticator::builder().build()`: `SameSite=None` without `Secure`, a
//!   `__Host-` name without `Secure`, with a `Domain` or with a `Path` other
//!   than `/`, a `__Secure-` name without `Secure`, a name that is not an
//!   RFC 9110 token. Weakening is spelled `insecure_no_secure` and
//!   `insecure_script_readable` so a reviewer can grep for it.
//!
//! Reading the `Cookie` header: our cookie is matched by its exact ASCII
//! name in the raw bytes of every `Cookie` line (over HTTP/2 and HTTP/3
//! browsers may send one line per cookie). Nothing is percent-decoded and only SP and HTAB are
//! trimmed, so `%5F%5FHost-id` or a name with Unicode spaces cannot pose as
//! the prefixed cookie. Malformed, empty, non-base64url or oversized
//! values (over 256 bytes) are skipped, never fatal, and never hide a
//! later valid pair. The work is bounded by bytes (64 KiB per header, each
//! line counted with 16 bytes of framing), not by a count of lines.
//!
//! Duplicates: up to 4 values of our name are tried, and every one is
//! looked up. If two name live sessions, the request is anonymous (401):
//! a tossed cookie can never choose the session. A cookie that names no
//! live session gets a removal cookie in the response.
//!
//! # CSRF
//!
//! Applies to unsafe methods (anything but GET, HEAD, OPTIONS, TRACE)
//! authenticated by the session cookie. Two checks, both required:
//!
//! 1. **Cross-origin rule.** One `Sec-Fetch-Site` header decides:
//!    `same-origin` and `none` pass; `same-site` and `cross-site` pass only
//!    with exactly one `Origin` listed by `CsrfConfig::trust_origin`; any
//!    other value falls back to `Origin`. Without `Sec-Fetch-Site`, an
//!    `Origin` must equal the request's own origin (host and port from
//!    `Host`, or `:authority`; the scheme from the connection, or from
//!    `X-Forwarded-Proto` of a trusted proxy) or be a trusted origin;
//!    `Origin: null` never matches. Two or more of either header: refused.
//!    With neither header the token alone decides.
//! 2. **Token.** `X-CSRF-Token` must equal the session's 32-byte CSRF
//!    secret (43 base64url characters), compared in constant time. The
//!    token is returned by `SessionHandle::login`, available from
//!    `SessionHandle::csrf_token`, and changes with every rotation. An
//!    all-zero secret (a record created without a drawn secret) never
//!    matches.
//!
//! A refusal is a 403 (`RejectionKind::CrossSiteRequest` or
//! `RejectionKind::CsrfTokenInvalid`) and nothing changes.
//!
//! **Login CSRF.** A cross-site form that logs the victim into the
//! attacker's account needs no session cookie, so the cookie-session login
//! applies the cross-origin rule with or without a cookie:
//! `SessionHandle::login` refuses a cross-origin POST with 403 and sets no
//! cookie. The origin decision is taken once per request, before the
//! handler runs; call `SessionHandle::check_login_origin` first in a login
//! handler that reads the body or checks a password, so a cross-site
//! request is refused the same way whatever its credentials.
//!
//! **Bearer requests need no CSRF token**: a browser never attaches an
//! `Authorization` header on its own. When a request carries both a bearer
//! token and a session cookie, the `Authorization` header wins and the
//! cookie is ignored for that request, so a cookie can never rescue a bad
//! token. With token mode off, `Authorization` is not read at all (a
//! gateway may use it for its own token).
//!
//! # JWT verification policy
//!
//! Every access token goes through the same steps, cheapest first. Any
//! failure is a 401 with the challenge
//! `WWW-Authenticate: Bearer error="invalid_token"`; the precise reason is
//! logged at `debug` only.
//!
//! 1. At most 8 KiB, checked before anything is decoded.
//! 2. Exactly three segments of canonical unpadded base64url: one token
//!    has exactly one accepted spelling.
//! 3. Header: a JSON object, each member once. `alg: none` refused. `typ`
//!    absent, `JWT` or `at+jwt`. `crit` refused unless every listed
//!    extension is allowed by `TokenConfig::allow_crit` and present. `cty`
//!    (nested tokens) and `b64: false` refused. Keys carried in the header
//!    (`jwk`, `jku`, `x5u`, `x5c`) are never used.
//! 4. **Explicit algorithms, one key per `kid`.** Each key in the
//!    `KeyRegistry` is bound to one algorithm; the key is found by `kid` in
//!    the registry only (a `kid` over 256 bytes is refused), and a token
//!    whose `alg` differs from its key's is refused. Neither `none` nor
//!    algorithm confusion (an HS256 token "signed" with an RSA public key)
//!    can pass. A registry holds HMAC secrets or public keys, never both. A
//!    token without `kid` is accepted only while the registry holds exactly
//!    one key. Weak keys are refused when the registry is built: HMAC
//!    secrets shorter than the hash (32, 48 or 64 bytes), RSA moduli under
//!    2048 bits, EC keys off the algorithm's curve.
//! 5. Signature. HMAC verification uses a pre-keyed state and a
//!    constant-time comparison; asymmetric verification goes through the
//!    configured crypto backend (`aws_lc_rs` or `rust_crypto`).
//! 6. **Strict claims.** Registered claims strictly typed (an `exp` that
//!    is a string, a float or `null` is refused) and never duplicated.
//!    `exp` required; `nbf` and `iat` (not in the future) checked with a
//!    leeway (30 s by default); `iss` and `aud` required and matched exactly when
//!    configured (`TokenConfig::issuer`, `TokenConfig::audience`); access
//!    tokens also need `sub`, `iat` and `jti`. A correctly signed token
//!    whose lifetime `exp - iat` exceeds the access lifetime plus the
//!    leeway (the default cap, `TokenConfig::max_token_lifetime`) is
//!    refused, so a token minted with a far-future `exp` (a
//!    leaked key, a bug elsewhere) cannot outlive log-out-everywhere.
//! 7. **The revocation list, on every request**, in one call.
//!
//! The verified-token cache (4096 slots by default) skips steps 1 to 6
//! for the exact bytes of a token that already verified, compared in
//! constant time; the slot is picked by a keyed hash, and only tokens that
//! verified are inserted, so forged tokens cannot fill it. `exp`, `nbf` and
//! `iat` are still checked against the clock on every hit, and step 7
//! runs on every request, hit or miss.
//!
//! # Revocation
//!
//! A `RevocationList` answers one question per request, in one call (one
//! round trip for Redis, with no in-process cache). It refuses:
//!
//! - a token by `jti`, until its `exp` plus the leeway (logout);
//! - every token of a refresh family (the `sid` claim), of any generation
//!   (logout, reuse detection, eviction past the family cap);
//! - every token of a subject issued at or before an instant, to the
//!   millisecond (log out everywhere, role changes).
//!
//! Entries expire by themselves once the tokens they refuse have expired,
//! so memory stays bounded. With a shared store (Redis) the list lives in
//! the same backend, so a revocation on one instance is refused on every
//! other instance at its next request.
//!
//! # Refresh tokens
//!
//! - Opaque, not JWTs: 86 base64url characters carrying a 32-byte family
//!   ID and a 32-byte secret. The store keeps the family under the SHA-256
//!   of its ID and only the SHA-256 of the current secret; the next secret
//!   is derived from the current one and a stored nonce, so the store alone
//!   cannot produce a usable token.
//! - **Rotation on every use.** A family has exactly one live refresh
//!   token. Refreshing compares the presented secret in constant time and
//!   updates the family with the store's compare-and-set, so two instances
//!   rotating the same token at once cannot both win.
//! - **Reuse detection.** A spent token presented again ends the family:
//!   its record is deleted, then every access token minted from it is
//!   revoked, in that order, so no interleaving leaves one alive. Answer:
//!   401.
//! - **Same-client grace.** The token spent by the family's latest
//!   rotation, presented again within 10 s by the same client (same IP and
//!   a byte-equal, non-empty `User-Agent`), gets the same successor refresh
//!   token that rotation returned, with a new access token: a lost
//!   response or two tabs refreshing at once do not log the user out. Any
//!   other reuse is treated as theft. A client that sends no `User-Agent`
//!   never gets the grace and should serialise its refreshes.
//! - A refresh that lost a concurrent rotation to another client is a 401
//!   and the family stays: that is not proof of reuse.
//! - At most 5 families per user by default; the oldest end, with their
//!   access tokens.
//!
//! # Log out everywhere
//!
//! `Authenticator::logout_everywhere` first refuses every access token of
//! the user issued up to now, then ends every refresh family (delete, then
//! revoke) and every cookie session. In that order a refresh racing it
//! either minted before the cut-off or belongs to a family ended after it:
//! no token minted by a concurrent refresh survives.
//!
//! # Failing closed
//!
//! - A session store, refresh-family store or revocation list that errors
//!   or times out answers 503 (`RejectionKind::StoreUnavailable`) and lets
//!   nobody in: protected routes, optional-identity routes and both login
//!   routes alike. `RedisStore` bounds every call by a timeout (1 s by
//!   default).
//! - An RNG or signing failure when issuing is a 503, never a weaker
//!   credential.
//! - A route that needs the authentication outcome when the middleware,
//!   layer or fairing is missing answers 500 with
//!   `{"error":"internal server error"}` and logs an error; it never
//!   passes the request through and never panics.
//! - Optional identity fails closed too: only a genuinely anonymous
//!   request (no credential, a dead cookie, an invalid or expired token)
//!   becomes "nobody"; a CSRF failure, malformed credentials or a store
//!   outage is still refused. In actix-web, do not wrap an extractor in
//!   `Option`: its blanket implementation turns every error, including a
//!   store outage, into `None` (see `portcullis::actix` for the
//!   fail-closed extractor).
//! - Malformed input of any kind is a 4xx or is ignored; every parser
//!   (cookies, bearer header, JWS, claims, IDs) returns "absent" or an
//!   error and never panics; the cookie, bearer-header, session-ID, claims
//!   and JWS parsers have fuzz targets.
//!
//! # What never appears in logs, `Debug` output or error bodies
//!
//! - **Error bodies** are fixed JSON strings chosen by `RejectionKind`
//!   (`{"error":"invalid token"}`, `{"error":"service unavailable"}`, ...).
//!   They never echo a token, an ID, a claim or an internal detail. Login
//!   handlers answer a wrong password and an unknown user alike, with
//!   `RejectionKind::InvalidCredentials` (the demos do).
//! - **`Debug`** prints `REDACTED` for session IDs, cookie values, the
//!   pending `Set-Cookie`, access and refresh tokens, CSRF tokens, the
//!   record's secret, IP address, User-Agent and data map, HMAC and
//!   ID-signing secrets and private keys (a `KeyRegistry` shows only
//!   `kid`s and algorithms). A store key prints as its `id_hint`; the
//!   framework-neutral request view shows only whether a cookie, a token
//!   or a CSRF token is present.
//! - **Logs** (`tracing`) carry the reason a token was refused (at
//!   `debug`, e.g. "token expired", never the token), store errors (at
//!   `warn`; implementations must keep connection strings and passwords
//!   out of their messages, as `RedisStore` does), and a family's
//!   `id_hint` when reuse is detected (at `warn`). No ID, token, secret or
//!   password is ever logged.
//! - **Caches**: every response to a request that carried a session
//!   cookie or a bearer token, and every response that sets or clears a
//!   cookie or carries tokens, gets `Cache-Control: no-store`; with cookie
//!   sessions enabled, every response of a route behind the middleware gets
//!   `Vary: Cookie`.
//!
//! # What stays your job
//!
//! - Serve over HTTPS (see `manual::deployment`).
//! - Prevent XSS: `HttpOnly` stops theft of the ID, not actions taken by an
//!   injected script while the page is open.
//! - Hash passwords with a slow hash (the demos use argon2id) and rate
//!   limit login routes: portcullis does not throttle logins yet.
//! - Keep HMAC secrets, private keys and ID-signing keys out of source
//!   control, and rotate them (see `manual::deployment`).
//! - Send `X-CSRF-Token` from your front end, and list a separate
//!   front-end origin with `CsrfConfig::trust_origin`.
//! - Call `SessionHandle::rotate` when privileges change, and
//!   `Authenticator::logout_everywhere` when a password changes.
//! - List your reverse proxies with `AuthenticatorBuilder::trusted_proxies`
//!   and set body-size limits in your framework.
