//! [`AuthLayer`] and [`RequireLayer`]: the configuration halves of the two
//! middlewares.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tower_layer::Layer;

use super::response::JsonResponder;
use super::service::{Auth, Require};
use crate::redirect::LoginRedirect;
use crate::{Authenticator, Requirement, Scheme};

/// How the peer's IP address is read from the request extensions.
pub(crate) type PeerIpFn = fn(&http::Extensions) -> Option<IpAddr>;

/// The default peer-IP reader: a [`SocketAddr`] or an [`IpAddr`] extension
/// (hyper-util's and most tower servers' convention). axum's
/// `ConnectInfo<SocketAddr>` is a different type: pass
/// `|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())` to
/// [`AuthLayer::peer_ip`].
#[must_use]
pub(crate) fn default_peer_ip(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<SocketAddr>()
        .map(SocketAddr::ip)
        .or_else(|| extensions.get::<IpAddr>().copied())
}

/// Authenticates every request once and shares the outcome.
///
/// For each request it builds a [`RequestView`](crate::request::RequestView)
/// (method, every header, the `:authority` as `Host` when no `Host` header
/// was sent, the peer IP and whether the connection is HTTPS), runs
/// [`Authenticator::authenticate`], and puts an
/// `Arc<`[`AuthOutcome`](crate::AuthOutcome)`>` into the request extensions
/// (its [`authenticator`](crate::AuthOutcome::authenticator) is the
/// [`Authenticator`]). It never rejects: [`RequireLayer`] or the
/// axum extractors do. On the way out it appends the `Set-Cookie` the core
/// queued (login, logout, a removal cookie for a dead session) and sets
/// `Cache-Control: no-store` when asked to.
///
/// ```
/// use portcullis::{AuthOutcome, Authenticator};
/// use portcullis::tower::AuthLayer;
/// use std::sync::Arc;
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let auth = Authenticator::builder().build().unwrap();
/// let svc = ServiceBuilder::new().layer(AuthLayer::new(auth)).service_fn(
///     |req: http::Request<String>| async move {
///         let outcome = req.extensions().get::<Arc<AuthOutcome>>().unwrap();
///         let who = if outcome.state.identity().is_some() { "someone" } else { "nobody" };
///         Ok::<_, std::convert::Infallible>(http::Response::new(who.to_owned()))
///     },
/// );
/// let res = svc.oneshot(http::Request::new(String::new())).await.unwrap();
/// assert_eq!(res.body(), "nobody");
/// # });
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthLayer {
    pub(crate) auth: Authenticator,
    pub(crate) peer_ip: PeerIpFn,
    pub(crate) https: Option<bool>,
}

impl AuthLayer {
    /// A layer authenticating with `auth`; the peer IP comes from
    /// the default (a `SocketAddr` or `IpAddr` extension), HTTPS is taken from the request URI's scheme
    /// when it has one and is otherwise unknown.
    pub fn new(auth: Authenticator) -> Self {
        AuthLayer {
            auth,
            peer_ip: default_peer_ip,
            https: None,
        }
    }

    /// Read the peer IP with `f` instead of the default (a `SocketAddr` or `IpAddr` extension). With axum
    /// (serve with `into_make_service_with_connect_info::<SocketAddr>()`):
    ///
    /// ```
    /// use axum::extract::ConnectInfo;
    /// use portcullis::tower::AuthLayer;
    /// use std::net::SocketAddr;
    /// # let auth = portcullis::Authenticator::builder().build().unwrap();
    /// let layer = AuthLayer::new(auth)
    ///     .peer_ip(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()));
    /// # let _ = layer;
    /// ```
    ///
    /// Behind a reverse proxy, read the address the proxy reports only if
    /// your stack has validated it (a client can send any
    /// `X-Forwarded-For`).
    pub fn peer_ip(mut self, f: fn(&http::Extensions) -> Option<IpAddr>) -> Self {
        self.peer_ip = f;
        self
    }

    /// Declare whether clients reach this service over HTTPS (used by the
    /// `Origin` check when the request URI carries no scheme, as in
    /// HTTP/1.1). Default: unknown, and the check compares host and port.
    pub fn https(mut self, https: bool) -> Self {
        self.https = Some(https);
        self
    }

    /// The authenticator.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth::new(inner, self.clone())
    }
}

/// What a [`Require`] service checks.
#[derive(Debug)]
pub(crate) struct RequireConfig {
    pub(crate) requirement: Requirement,
    pub(crate) scheme: Option<Scheme>,
}

/// Refuses requests that do not meet a [`Requirement`], answering 401, 403,
/// 400 or 503 from the core's [`Rejection`](crate::Rejection) (the same
/// bytes as every other adapter), with the rejection attached to the
/// response extensions. Place it inside an [`AuthLayer`]; without one it
/// answers 500 and logs the misconfiguration.
///
/// ```
/// use portcullis::{Authenticator, Rejection, RejectionKind, Scheme};
/// use portcullis::tower::{AuthLayer, RequireLayer};
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let auth = Authenticator::builder().build().unwrap();
/// let svc = ServiceBuilder::new()
///     .layer(AuthLayer::new(auth))
///     .layer(RequireLayer::any_role(["admin"]).scheme(Scheme::Session))
///     .service_fn(|_req: http::Request<String>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(String::from("secret")))
///     });
/// let res = svc.oneshot(http::Request::new(String::new())).await.unwrap();
/// assert_eq!(res.status(), 401);
/// assert_eq!(res.body(), r#"{"error":"authentication required"}"#);
/// assert_eq!(
///     res.extensions().get::<Rejection>().map(|r| r.kind()),
///     Some(RejectionKind::MissingCredentials)
/// );
/// # });
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireLayer<R = JsonResponder> {
    pub(crate) config: Arc<RequireConfig>,
    pub(crate) responder: R,
}

impl RequireLayer {
    /// Require `requirement` of the caller, whatever the scheme.
    pub fn new(requirement: Requirement) -> Self {
        RequireLayer {
            config: Arc::new(RequireConfig {
                requirement,
                scheme: None,
            }),
            responder: JsonResponder,
        }
    }

    /// Require any authenticated caller.
    pub fn authenticated() -> Self {
        Self::new(Requirement::Authenticated)
    }

    /// Require at least one of `roles`.
    pub fn any_role<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Requirement::any_role(roles))
    }

    /// Require every one of `roles`.
    pub fn all_roles<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(Requirement::all_roles(roles))
    }
}

impl<R> RequireLayer<R> {
    /// Count only credentials of `scheme` (see
    /// [`AuthState::require_scheme`](crate::AuthState::require_scheme)):
    /// a bearer-only API answers `401` with `WWW-Authenticate: Bearer` even
    /// when a session cookie was sent.
    pub fn scheme(self, scheme: Scheme) -> Self {
        let requirement = self.config.requirement.clone();
        RequireLayer {
            config: Arc::new(RequireConfig {
                requirement,
                scheme: Some(scheme),
            }),
            responder: self.responder,
        }
    }

    /// Answer rejections with `responder` instead of the JSON default: a
    /// `Fn(&Rejection, &http::request::Parts) -> http::Response<B> + Clone`.
    /// Whatever it returns, the [`Rejection`](crate::Rejection) is put into
    /// the response extensions afterwards.
    ///
    /// ```
    /// use portcullis::tower::RequireLayer;
    /// use portcullis::Rejection;
    /// // A plain-text page for a legacy client, with the core's status.
    /// let text = |r: &Rejection, _req: &http::request::Parts| {
    ///     let mut res = http::Response::new(String::from(r.message()));
    ///     *res.status_mut() = http::StatusCode::from_u16(r.status()).unwrap();
    ///     for (name, value) in r.headers() {
    ///         res.headers_mut().insert(name, http::HeaderValue::from_str(&value).unwrap());
    ///     }
    ///     res
    /// };
    /// let layer = RequireLayer::authenticated().responder(text);
    /// # let _ = layer;
    /// ```
    pub fn responder<R2, B2>(self, responder: R2) -> RequireLayer<R2>
    where
        R2: Fn(&crate::Rejection, &http::request::Parts) -> http::Response<B2> + Clone,
    {
        RequireLayer {
            config: self.config,
            responder,
        }
    }

    /// For HTML routes: a 401 becomes a redirect to `login_path` (`302
    /// Found` for `GET`/`HEAD`, with the original path and query as a
    /// same-origin `next`; `303 See Other` without `next` for other
    /// methods), with `Cache-Control: no-store`. Every other rejection (403,
    /// 400, 503) keeps the JSON answer: a user who is logged in but not
    /// allowed must not be bounced to the login page, and a store outage
    /// must stay visible. `next` only ever names a path on this origin
    /// (`//evil.example`, absolute URLs and backslash tricks are dropped), so
    /// the login page is no open redirect.
    ///
    /// ```
    /// use portcullis::tower::RequireLayer;
    /// let layer = RequireLayer::authenticated().login_redirect("/login").unwrap();
    /// # let _ = layer;
    /// assert!(RequireLayer::authenticated().login_redirect("https://evil.example/").is_err());
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::Invalid`](crate::ConfigError::Invalid) when
    /// `login_path` is not a local path like `/login`.
    pub fn login_redirect(
        self,
        login_path: &str,
    ) -> Result<RequireLayer<LoginRedirect>, crate::ConfigError> {
        Ok(RequireLayer {
            config: self.config,
            responder: LoginRedirect::new(login_path)?,
        })
    }
}

impl<S, R: Clone> Layer<S> for RequireLayer<R> {
    type Service = Require<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Require::new(inner, self.clone())
    }
}
