//! # Migrating from tower-sessions, axum-login, actix-session and actix-identity
//!
//! Short maps from those crates' concepts to portcullis's. The names on the
//! left are those crates' public APIs (tower-sessions 0.14, axum-login
//! 0.18, actix-session 0.11, actix-identity 0.9); check the version you
//! run.
//!
//! # What changes whichever crate you leave
//!
//! - **One place of configuration.** Everything (store, timeouts, cookie,
//!   tokens, CSRF, proxies) is given once to `Authenticator::builder()`,
//!   and `AuthenticatorBuilder::build` refuses contradictory or weak
//!   settings at start-up. Each framework then gets one middleware built
//!   from the `Authenticator`, named `AuthLayer` in every adapter module
//!   (`tower`, `actix`, and `rocket`, where it is the fairing), and the handler
//!   arguments are the same core types everywhere: `Identity`,
//!   `SessionIdentity`, `BearerIdentity`, `OptionalIdentity`,
//!   `RequireRole`, `SessionHandle`, `TokenHandle`.
//! - **A session exists only while a user is logged in.** There are no
//!   anonymous sessions and no general key-value bag on the handle: the
//!   session record carries the user, roles, timestamps, client IP and
//!   User-Agent, the CSRF secret and a small data map. Keep application
//!   state (carts, preferences, flash messages) in your own storage keyed
//!   by the user, or in a separate session crate for anonymous visitors.
//! - **Unsafe requests carrying the cookie need a CSRF token.** POST, PUT,
//!   PATCH and DELETE with the session cookie must send `X-CSRF-Token`
//!   (returned by `SessionHandle::login`, and by `SessionHandle::csrf_token`
//!   later) and pass the cross-origin rule; otherwise 403. This is the
//!   change your front end has to make. Bearer requests are exempt.
//! - **The cookie is `__Host-id`, `Secure`, `SameSite=Lax`** by default:
//!   it needs HTTPS, or loopback during development (see
//!   `manual::deployment`). Existing sessions are not carried over: the
//!   cookie name differs and stores are keyed by the SHA-256 of the ID, so
//!   users log in once more after the switch.
//! - **Roles are strings given at login** and carried by the session;
//!   nothing is looked up per request. To change a user's roles at once,
//!   call `Authenticator::set_user_roles`; on a password change, call
//!   `Authenticator::logout_everywhere`.
//! - **Your store** implements `SessionStore` (create, load, update by
//!   compare-and-set, delete, delete and list a user's records) and can be
//!   checked with the conformance kit (feature `conformance`;
//!   `examples/sqlite_store.rs` is a complete implementation). The shipped
//!   stores are `MemoryStore`, `RedisStore` (feature `redis`) and
//!   `sql::SqlStore` (features `postgres`, `sqlite`).
//! - **Failures fail closed**: a store outage is a 503 for protected and
//!   optional routes alike.
//!
//! # From tower-sessions
//!
//! | tower-sessions | portcullis |
//! |----------------|------------|
//! | `SessionManagerLayer::new(store)` | `AuthLayer::new(auth)`, with the store given to `Authenticator::builder().store(..)` |
//! | `MemoryStore`, a Redis store crate, the sqlx store crate, `SessionStore` trait | `MemoryStore`, `RedisStore`, `sql::SqlStore` (PostgreSQL, SQLite), `SessionStore` trait (plus the conformance kits) |
//! | `with_name`, `with_secure`, `with_http_only`, `with_same_site`, `with_path`, `with_domain` | `CookiePolicy::default()` with `name`, `insecure_no_secure`, `insecure_script_readable`, `same_site`, `path`, `domain`, given to `SessionConfig::cookie` |
//! | `with_expiry(Expiry::OnInactivity(d))` | `SessionConfig::idle_timeout(d)` (30 min by default), written at most once per `SessionConfig::rolling_interval` |
//! | `Expiry::AtDateTime(t)` | `SessionConfig::absolute_timeout(d)` (12 h by default), a lifetime counted from login |
//! | `Expiry::OnSessionEnd` | `CookiePolicy::default().browser_session_cookie()`; the server-side timeouts still apply |
//! | the `Session` extractor | `SessionHandle` (log in, rotate, log out, list, CSRF token) for operations, and the adapter's identity extractors for "who is this" |
//! | `session.insert(KEY, user_id)` at login | `SessionHandle::login(user, roles)`: a fresh ID and CSRF token every time |
//! | `session.get(KEY)` to find the user | the identity extractor (its `subject()` and `roles()`) |
//! | `session.insert` / `get` for other data | not on the handle; see "What changes" above |
//! | `session.cycle_id()` | `SessionHandle::rotate` (also rotates the CSRF token) |
//! | `session.flush()` | `SessionHandle::logout` (deletes the record, sends a removal cookie) |
//! | none | `SessionHandle::logout_all` / `Authenticator::logout_everywhere`, `SessionHandle::list`, a per-user session cap |
//!
//! # From axum-login
//!
//! | axum-login | portcullis |
//! |------------|------------|
//! | `AuthManagerLayerBuilder::new(backend, session_layer).build()` | `AuthLayer::new(auth)`; there is no backend to register |
//! | `AuthUser` (`id`, `session_auth_hash`) | nothing to implement: a session carries a subject string and roles |
//! | `AuthnBackend::authenticate(creds)` | your own credential check in the login handler, then `SessionHandle::login(user, roles)`; answer a failure with `RejectionKind::InvalidCredentials` |
//! | `AuthnBackend::get_user(id)` on every request | optional: the identity carries subject and roles; to have every request ask your database (a deleted or demoted user is out at once), implement `UserLoader` and set `AuthenticatorBuilder::user_loader` |
//! | the `AuthSession` extractor | `SessionHandle` for operations, `Identity` for the current user |
//! | `auth_session.user` | `Identity`, or `OptionalIdentity` for routes open to anonymous callers |
//! | `auth_session.login(&user)` | `SessionHandle::login(user, roles)`; call `SessionHandle::check_login_origin` first if the handler reads the body |
//! | `auth_session.logout()` | `SessionHandle::logout` |
//! | `login_required!(Backend)` | `RequireLayer::authenticated()` on a router, or `Identity` in the handler |
//! | `login_required!(Backend, login_url = "/login")` | `RequireLayer::authenticated().login_redirect(..)`, which adds a same-origin `next` parameter (absolute and `//` targets are dropped) |
//! | `permission_required!(Backend, "perm")` | `RequireLayer::any_role(["perm"])` (or `all_roles`), or `RequireRole` in the handler |
//! | `AuthzBackend` (`get_user_permissions`, `get_group_permissions`, `has_perm`) | roles given at login; `RequireRole` or `RequireLayer` check them |
//! | a changed `session_auth_hash` ending old sessions (password change) | `Authenticator::logout_everywhere(user)`: sessions, refresh families and access tokens end at once |
//!
//! `RequireRole` names its role as a type (`impl RoleName for Admin`), so
//! a route's requirement is visible in its signature, and can be limited
//! to one scheme (cookie session or bearer token).
//!
//! # From actix-session
//!
//! | actix-session | portcullis |
//! |---------------|------------|
//! | `SessionMiddleware::new(store, key)` / `SessionMiddleware::builder(store, key)` | `App::wrap(portcullis::actix::AuthLayer::new(auth))`; no cookie key is needed, the cookie holds only a random 256-bit ID |
//! | `CookieSessionStore` (state in the cookie) | none: state is always server-side; `MemoryStore` for one process |
//! | `RedisSessionStore::new(url)` | `RedisStore::connect(url)` (feature `redis`), given to `Authenticator::builder().store(..)` |
//! | `cookie_name`, `cookie_secure`, `cookie_http_only`, `cookie_same_site`, `cookie_path`, `cookie_domain` | `CookiePolicy::default()` with `name`, `insecure_no_secure`, `insecure_script_readable`, `same_site`, `path`, `domain` |
//! | `cookie_content_security(CookieContentSecurity::Signed)` | `SessionConfig::signing_key` (HMAC-SHA256, key rotation); there is nothing to encrypt, so no `Private` mode |
//! | `session_lifecycle(PersistentSession::default().session_ttl(d))` | `SessionConfig::absolute_timeout(d)`; the cookie's `Max-Age` follows the session's remaining life |
//! | `BrowserSession` | `CookiePolicy::default().browser_session_cookie()` |
//! | `TtlExtensionPolicy::OnEveryRequest` | `SessionConfig::idle_timeout`: the idle deadline moves with use, written at most once per `SessionConfig::rolling_interval` (60 s) |
//! | the `Session` extractor | `SessionHandle` for operations, `Identity` / `SessionIdentity` for the current user |
//! | `session.insert("user_id", id)` at login | `SessionHandle::login(user, roles)` |
//! | `session.insert` / `get` / `remove` for other data | not on the handle; see "What changes" above |
//! | `session.renew()` | `SessionHandle::rotate`; a login always issues a fresh ID by itself |
//! | `session.purge()` | `SessionHandle::logout` |
//! | `session.clear()` | `SessionHandle::logout` (there is no anonymous session to keep) |
//!
//! # From actix-identity
//!
//! | actix-identity | portcullis |
//! |----------------|------------|
//! | `IdentityMiddleware::default()` plus `SessionMiddleware` | one middleware, `portcullis::actix::AuthLayer` |
//! | `Identity::login(&req.extensions(), id)` | `SessionHandle::login(user, roles)`, taken as a handler argument; returns the CSRF token |
//! | `identity.logout()` (with `LogoutBehavior::PurgeSession`) | `SessionHandle::logout`: the record is always deleted |
//! | the `Identity` extractor, `identity.id()` | `portcullis::Identity` (any scheme), `SessionIdentity`, `BearerIdentity`; their `subject()` |
//! | `Option<Identity>` | `OptionalIdentity` (fails closed), never `Option` of an extractor: actix-web turns every error, a store outage included, into `None` |
//! | `visit_deadline(Some(d))` | `SessionConfig::idle_timeout(d)`, on by default (30 min) |
//! | `login_deadline(Some(d))` | `SessionConfig::absolute_timeout(d)`, on by default (12 h) |
//! | none | `RequireRole` (roles), `SessionHandle::logout_all`, `SessionHandle::list`, token mode with `TokenHandle` |
//!
//! # A login handler, before and after
//!
//! ```rust,ignore
//! // actix-identity
//! async fn login(req: HttpRequest, form: web::Json<Creds>) -> HttpResponse {
//!     let Some(user) = check_password(&form) else {   // yours: Option<User>
//!         return HttpResponse::Unauthorized().finish();
//!     };
//!     Identity::login(&req.extensions(), user.id.clone()).unwrap();
//!     HttpResponse::Ok().finish()
//! }
//!
//! // portcullis, actix-web (axum and Rocket handlers take the same SessionHandle)
//! async fn login(
//!     session: SessionHandle,
//!     form: web::Json<Creds>,
//! ) -> Result<HttpResponse, Rejection> {
//!     session.check_login_origin()?;                  // login CSRF: 403 first
//!     let user = check_password(&form)
//!         .ok_or(Rejection::session(RejectionKind::InvalidCredentials))?;
//!     let info = session.login(&user.id, user.roles.clone()).await?;
//!     Ok(HttpResponse::Ok().json(info))               // user, roles, csrf_token
//! }
//! ```
//!
//! Note that `SessionHandle::login` itself refuses a cross-origin login, so
//! `check_login_origin` only moves that refusal before the password check;
//! the order matters when the body is read and checked first.
