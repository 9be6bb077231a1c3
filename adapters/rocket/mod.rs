//! Rocket 0.5 adapter: request guards, a fairing and catchers.
//!
//! - [`AuthLayer`] installs the [`Authenticator`](crate::Authenticator)
//!   as managed state and, on every response, appends the `Set-Cookie` and
//!   `Cache-Control: no-store` the core queued.
//! - Request guards: the core's [`Identity`](crate::Identity) (any
//!   credential), [`OptionalIdentity`](crate::OptionalIdentity) (fails
//!   closed), [`BearerIdentity`](crate::BearerIdentity) /
//!   [`SessionIdentity`](crate::SessionIdentity) (one scheme only),
//!   [`RequireRole<R, S>`](crate::RequireRole) (a role declared with
//!   [`role!`](crate::role)),
//!   [`SessionHandle`](crate::SessionHandle) (log in with a fresh ID,
//!   rotate, log out, list, CSRF token),
//!   [`TokenHandle`](crate::TokenHandle) (issue, refresh, log out) and
//!   `&AuthOutcome` (everything): the same types, decided the same way, as
//!   in the tower/axum and actix-web adapters.
//! - [`catchers`] render a failed guard's [`Rejection`](crate::Rejection)
//!   exactly as the core defines it, and answer every other
//!   error with short JSON instead of Rocket's HTML.
//!
//! **Authentication runs once per request**, however many guards a handler
//! takes: the first guard builds a [`RequestView`](crate::RequestView)
//! from the method, every raw header line and the client IP, calls
//! [`Authenticator::authenticate`](crate::Authenticator::authenticate), and
//! caches the `Arc<AuthOutcome>` in Rocket's request-local cache. The
//! session cookie is read by the core from the raw `Cookie` lines by its
//! exact name, never through Rocket's `CookieJar` (which percent-decodes
//! names and drops malformed pairs).
//!
//! **Failures** are `Outcome::Error((status, rejection))`: the status is the
//! core's, and the [`Rejection`](crate::Rejection) is also stashed in the
//! request-local cache, because Rocket hands catchers only the status. The
//! [`catchers`] (400, 401, 403, 503) read it back and send the core's status,
//! `WWW-Authenticate` challenge and JSON body, the same bytes the tower and
//! actix adapters send. A handler may also take `Result<Identity, Rejection>`
//! and return the `Rejection`, which is a `Responder`.
//!
//! ```
//! use rocket::http::{Header, Status};
//! use rocket::local::blocking::Client;
//! use rocket::serde::json::Json;
//! use portcullis::{RequireRole, SessionHandle, SessionIdentity, rocket::AuthLayer};
//! use portcullis::{Authenticator, Rejection};
//!
//! portcullis::role!(pub Admin = "admin");
//!
//! #[rocket::post("/login")]
//! async fn login(session: SessionHandle) -> Result<Json<portcullis::LoginInfo>, Rejection> {
//!     // check the password first ...
//!     Ok(Json(session.login("alice", vec!["user".into()]).await?))
//! }
//!
//! #[rocket::get("/me")]
//! fn me(who: SessionIdentity) -> String {
//!     who.subject().to_owned()
//! }
//!
//! #[rocket::get("/admin")]
//! fn admin(who: RequireRole<Admin>) -> String {
//!     who.subject().to_owned()
//! }
//!
//! let auth = Authenticator::builder().build().unwrap();
//! let rocket = rocket::build()
//!     .attach(AuthLayer::new(auth))
//!     .mount("/", rocket::routes![login, me, admin])
//!     .register("/", portcullis::rocket::catchers());
//! let client = Client::untracked(rocket).unwrap();
//!
//! assert_eq!(client.get("/me").dispatch().status(), Status::Unauthorized);
//!
//! let res = client.post("/login").dispatch();
//! assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"));
//! let cookie = res.headers().get_one("Set-Cookie").unwrap().split(';').next().unwrap().to_owned();
//!
//! let res = client.get("/me").header(Header::new("Cookie", cookie.clone())).dispatch();
//! assert_eq!(res.status(), Status::Ok);
//! assert_eq!(res.into_string().unwrap(), "alice");
//!
//! let res = client.get("/admin").header(Header::new("Cookie", cookie)).dispatch();
//! assert_eq!(res.status(), Status::Forbidden);
//! assert_eq!(res.into_string().unwrap(), r#"{"error":"insufficient role"}"#);
//! ```
//!
//! Notes:
//! - The client IP recorded with a session is Rocket's
//!   [`Request::client_ip`](rocket::Request::client_ip), which trusts the
//!   `X-Real-IP` header by default; set `ip_header = false` in Rocket's
//!   config unless a proxy you trust sets it.
//! - Rocket 0.5 drops every header line whose value is not valid UTF-8
//!   before any fairing or guard sees the request; for portcullis such a
//!   line is simply absent. So a `Cookie` line that carries the session
//!   cookie next to a non-UTF-8 pair loses the session cookie too (the
//!   request is anonymous, never let in wrongly): a client that can plant
//!   such a cookie, e.g. from a sibling subdomain, can log a Rocket user
//!   out. The other adapters read the raw bytes and keep the session.
//! - If the fairing is not attached, every guard refuses the request with a
//!   500 (and logs an error) rather than letting it through;
//!   [`catchers`] answer `{"error":"internal server error"}`,
//!   as the other adapters do.
//!
//! # Resource-server mode
//!
//! Tokens of another issuer (feature `jwks`) need nothing Rocket-specific:
//! trust the issuer when building the [`Authenticator`](crate::Authenticator)
//! (inside Rocket's runtime, so its keys can be fetched in the background)
//! and the same guards accept them.
//!
//! ```ignore
//! use portcullis::jwt::{HttpKeySource, TrustedIssuer};
//! use portcullis::{rocket::AuthLayer, Authenticator, BearerIdentity, RequireRole};
//!
//! #[rocket::get("/orders")]
//! fn orders(who: RequireRole<Admin, BearerIdentity>) -> String {
//!     who.subject().to_owned()
//! }
//!
//! #[rocket::launch]
//! async fn launch() -> _ {
//!     let issuer = TrustedIssuer::new(HttpKeySource::discovery("https://sso.example.com/realms/shop").unwrap())
//!         .issuer("https://sso.example.com/realms/shop")
//!         .audience("orders")
//!         .roles_claim("realm_access.roles");
//!     let auth = Authenticator::builder().without_sessions().trust(issuer).build().unwrap();
//!     rocket::build()
//!         .attach(AuthLayer::new(auth))
//!         .mount("/", rocket::routes![orders])
//!         .register("/", portcullis::rocket::catchers())
//! }
//! ```

mod catcher;
mod fairing;
mod guards;
mod outcome;
mod response;

pub use catcher::catchers;
pub use fairing::AuthLayer;
pub use response::stashed_rejection;
