//! [`AuthLayer`]: installs the [`Authenticator`] and sends what the
//! core queued (Set-Cookie, `Cache-Control: no-store`) on the way out.

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::request::Request;
use rocket::response::Response;
use rocket::{Build, Rocket};

use crate::auth::Authenticator;

use super::outcome::existing_outcome;

/// The fairing that wires an [`Authenticator`] into Rocket.
///
/// - At ignition it installs the `Authenticator` as managed state (so
///   handlers may also take `&State<Authenticator>`); ignition fails if one
///   is already managed.
/// - The [guards](super) authenticate lazily: the first guard of a request
///   runs [`Authenticator::authenticate`] and caches the outcome in the
///   request-local cache; later guards reuse it. Routes without a portcullis
///   guard cost nothing.
/// - On every response (including catcher responses) it appends the
///   `Set-Cookie` the core queued (a login, a rotation, a logout, the
///   removal of a dead cookie) and sets `Cache-Control: no-store` when asked.
///
/// ```
/// use rocket::http::{Header, Status};
/// use rocket::local::blocking::Client;
/// use portcullis::{SessionHandle, rocket::AuthLayer};
/// use portcullis::{Authenticator, Rejection};
///
/// #[rocket::post("/login")]
/// async fn login(session: SessionHandle) -> Result<String, Rejection> {
///     Ok(session.login("alice", vec!["user".into()]).await?.csrf_token)
/// }
///
/// let auth = Authenticator::builder().build().unwrap();
/// let rocket = rocket::build()
///     .attach(AuthLayer::new(auth))
///     .mount("/", rocket::routes![login]);
/// let client = Client::untracked(rocket).unwrap();
/// let res = client.post("/login").dispatch();
/// assert_eq!(res.status(), Status::Ok);
/// assert!(res.headers().get_one("Set-Cookie").unwrap().starts_with("__Host-id="));
/// assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthLayer {
    auth: Authenticator,
}

impl AuthLayer {
    /// A fairing over `auth` (cheap to clone; build one per app).
    pub fn new(auth: Authenticator) -> Self {
        AuthLayer { auth }
    }
}

#[rocket::async_trait]
impl Fairing for AuthLayer {
    fn info(&self) -> Info {
        Info {
            name: "portcullis",
            kind: Kind::Ignite | Kind::Response | Kind::Singleton,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        if rocket.state::<Authenticator>().is_some() {
            tracing::error!("portcullis: an Authenticator is already managed; attach AuthLayer instead of managing it");
            return Err(rocket);
        }
        Ok(rocket.manage(self.auth.clone()))
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let Some(outcome) = existing_outcome(req) else {
            return;
        };
        let pending = outcome.response.take();
        if let Some(cookie) = pending.set_cookie {
            res.adjoin_raw_header("Set-Cookie", cookie);
        }
        if pending.no_store {
            res.set_raw_header("Cache-Control", "no-store");
        }
        if pending.vary_cookie {
            res.adjoin_raw_header("Vary", "Cookie");
        }
    }
}
