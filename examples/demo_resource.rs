//! A resource server (axum): verifies the access tokens of another issuer
//! (a portcullis demo, Keycloak, Auth0, Entra, Cognito, Google) with keys
//! fetched from its JWKS, and issues none. Serves the "Resource server"
//! section of the demo contract (examples/README.md).
//!
//! ```text
//! JWKS_URL=http://127.0.0.1:3000/.well-known/jwks.json \
//! TOKEN_ISSUER=portcullis-demo TOKEN_AUDIENCE=portcullis-demo \
//!   cargo run --example demo_resource --features axum,jwks
//! ```
//!
//! It sees no revocation list: a token stays valid here until it expires
//! even after its user logs out at the issuer (revocation needs the
//! issuer's store; keep access tokens short-lived).

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use portcullis::jwt::{HttpKeySource, TrustedIssuer};
use portcullis::tower::AuthLayer;
use portcullis::{Authenticator, BearerIdentity, RequireRole};

// The resource server uses a few shared helpers only.
#[path = "common/mod.rs"]
pub mod common;

portcullis::role! {
    /// The `admin` role.
    pub Admin = "admin";
}

/// `demo_resource`'s settings (see the module docs and the contract).
#[derive(Debug, Clone)]
pub struct ResourceSettings {
    pub port: u16,
    /// `JWKS_URL`, or the `OIDC_ISSUER` to discover it from.
    pub keys: KeysFrom,
    pub issuers: Vec<String>,
    pub audiences: Vec<String>,
    pub roles_claim: String,
    pub min_refresh: Duration,
    pub max_lifetime: Option<Duration>,
}

/// Where the issuer's keys are.
#[derive(Debug, Clone)]
pub enum KeysFrom {
    Jwks(String),
    Discovery(String),
}

fn list(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Vec<String>, String> {
    let items: Vec<String> = get(name)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if items.is_empty() {
        return Err(format!("{name} is required"));
    }
    Ok(items)
}

fn secs(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<u64>, String> {
    match get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(format!(
                "{name} must be a whole number of seconds, at least 1"
            )),
        },
    }
}

impl ResourceSettings {
    /// Read the settings through `get` (tests pass a map).
    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let jwks = get("JWKS_URL").filter(|v| !v.is_empty());
        let oidc = get("OIDC_ISSUER").filter(|v| !v.is_empty());
        let keys = match (jwks, oidc) {
            (Some(url), None) => KeysFrom::Jwks(url),
            (None, Some(issuer)) => KeysFrom::Discovery(issuer),
            _ => return Err("set exactly one of JWKS_URL and OIDC_ISSUER".into()),
        };
        let port = match get("PORT") {
            None => 3001,
            Some(p) => p
                .trim()
                .parse()
                .map_err(|_| format!("PORT must be a port number, got {p:?}"))?,
        };
        Ok(ResourceSettings {
            port,
            keys,
            issuers: list(get, "TOKEN_ISSUER")?,
            audiences: list(get, "TOKEN_AUDIENCE")?,
            roles_claim: get("ROLES_CLAIM")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "roles".into()),
            min_refresh: Duration::from_secs(secs(get, "JWKS_MIN_REFRESH_SECS")?.unwrap_or(30)),
            max_lifetime: secs(get, "MAX_TOKEN_LIFETIME_SECS")?.map(Duration::from_secs),
        })
    }

    /// The `Authenticator`: token verification for one trusted issuer, no
    /// sessions (must run inside a Tokio runtime: the keys are fetched in
    /// the background).
    pub fn authenticator(&self) -> Result<Authenticator, String> {
        let source = match &self.keys {
            KeysFrom::Jwks(url) => HttpKeySource::jwks(url),
            KeysFrom::Discovery(issuer) => HttpKeySource::discovery(issuer),
        }
        .map_err(|e| e.to_string())?;
        let mut issuer = TrustedIssuer::new(source)
            .roles_claim(self.roles_claim.clone())
            .min_key_refetch(self.min_refresh)
            .max_token_lifetime(self.max_lifetime);
        for iss in &self.issuers {
            issuer = issuer.issuer(iss.clone());
        }
        for aud in &self.audiences {
            issuer = issuer.audience(aud.clone());
        }
        Authenticator::builder()
            .without_sessions()
            .trust(issuer)
            .build()
            .map_err(|e| e.to_string())
    }
}

fn json_error(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

async fn me(BearerIdentity(who): BearerIdentity) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

async fn admin(who: RequireRole<Admin, BearerIdentity>) -> Json<serde_json::Value> {
    Json(common::me_body(&who))
}

/// 200 `ok` once the issuer's keys are loaded, 503 before.
async fn ready(auth: Authenticator) -> Response {
    match auth.ready().await {
        Ok(()) => "ok".into_response(),
        Err(rejection) => rejection.into_response(),
    }
}

/// The resource server's routes.
pub fn app(auth: Authenticator) -> Router {
    let probe = auth.clone();
    Router::new()
        .route("/me", get(me))
        .route("/admin", get(admin))
        .fallback(|| async { json_error(StatusCode::NOT_FOUND, common::NOT_FOUND) })
        .method_not_allowed_fallback(|| async {
            json_error(StatusCode::METHOD_NOT_ALLOWED, common::METHOD_NOT_ALLOWED)
        })
        .layer(AuthLayer::new(auth))
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(move || ready(probe.clone())))
}

#[allow(dead_code)] // unused when a test includes this file as a module
#[tokio::main]
async fn main() {
    let settings = ResourceSettings::from_vars(&|k| std::env::var(k).ok())
        .unwrap_or_else(|e| common::exit_with(&e));
    let auth = settings
        .authenticator()
        .unwrap_or_else(|e| common::exit_with(&e));
    let addr = SocketAddr::from(([127, 0, 0, 1], settings.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| common::exit_with(&format!("cannot listen on {addr}: {e}")));
    let local = listener.local_addr().unwrap_or(addr);
    println!("demo_resource listening on http://{local}");
    let server = axum::serve(listener, app(auth)).with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    if let Err(e) = server.await {
        common::exit_with(&format!("server error: {e}"));
    }
}
