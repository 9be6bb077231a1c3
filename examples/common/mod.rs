//! What the three demo servers share: settings from the environment, the
//! demo users (argon2 password hashes), and building the `Authenticator`.
//! Each demo only wires these into its framework.
#![allow(dead_code)] // each demo uses a different subset

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use portcullis::jwt::{MemoryRevocationList, RevocationList, TokenConfig};
use portcullis::store::{MemoryStore, SessionStore};
use portcullis::CookiePolicy;
use portcullis::CsrfConfig;
use portcullis::{Authenticator, LoginAttempt, LoginThrottle};
use portcullis::{SessionConfig, SessionLimitPolicy};

mod accounts;
mod audit;
mod signing;

pub use accounts::*;
pub use audit::JsonLinesSink;
#[allow(unused_imports)] // demo_resource publishes nothing
pub use signing::{JwtSettings, WellKnown, WELL_KNOWN_CACHE_CONTROL};

/// Demo settings, read from the environment (see DEMO_CONTRACT.md).
#[derive(Clone)]
pub struct Settings {
    pub port: u16,
    pub redis_url: Option<String>,
    /// `REDIS_CLUSTER_URLS`: seed nodes of a Redis Cluster.
    pub redis_cluster_urls: Vec<String>,
    /// `DATABASE_URL`: `postgres://...` or `sqlite://PATH`.
    pub database_url: Option<String>,
    /// `JWT_*` and `PUBLIC_URL`: how tokens are signed, and published.
    pub jwt: JwtSettings,
    pub access_ttl: u64,
    pub refresh_ttl: u64,
    pub session_idle: u64,
    pub session_absolute: u64,
    pub max_sessions_per_user: usize,
    pub insecure_cookies: bool,
    /// `TRUSTED_PROXIES`: whose forwarding headers are believed.
    /// `TRUSTED_PROXIES` as given (checked when the authenticator is built).
    pub trusted_proxies: String,
    /// `TRUSTED_ORIGINS`: front-end origins allowed cross-origin.
    pub trusted_origins: Vec<String>,
    /// `LOGIN_MAX_FAILURES`, `LOGIN_MAX_FAILURES_PER_USER`,
    /// `LOGIN_MAX_FAILURES_PER_IP`, `LOGIN_LOCKOUT_SECS`.
    pub login_throttle: LoginThrottle,
    /// `AUDIT_LOG`: where audit events go, one JSON object per line.
    pub audit_log: Option<String>,
    /// `REMEMBER_ABSOLUTE_SECS`: absolute timeout of a remembered login.
    pub remember_absolute: u64,
    /// `FRESH_AUTH_SECS`: how long a login or re-authentication is recent.
    pub fresh_auth: u64,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("port", &self.port)
            .field("redis_url", &self.redis_url.as_ref().map(|_| "REDACTED"))
            .field("redis_cluster_urls", &self.redis_cluster_urls.len())
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "REDACTED"),
            )
            .field("jwt", &self.jwt)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("session_idle", &self.session_idle)
            .field("session_absolute", &self.session_absolute)
            .field("max_sessions_per_user", &self.max_sessions_per_user)
            .field("insecure_cookies", &self.insecure_cookies)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("trusted_origins", &self.trusted_origins)
            .field("login_throttle", &self.login_throttle)
            .field("audit_log", &self.audit_log)
            .field("remember_absolute", &self.remember_absolute)
            .field("fresh_auth", &self.fresh_auth)
            .finish()
    }
}

fn number<T>(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    min: T,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<T>() {
            Ok(n) if n >= min => Ok(n),
            Ok(_) => Err(format!("{name} must be at least {min}")),
            Err(_) => Err(format!("{name} must be a whole number, got {v:?}")),
        },
    }
}

impl Settings {
    /// Read the process environment.
    pub fn from_env() -> Result<Settings, String> {
        Self::from_vars(&|k| std::env::var(k).ok())
    }

    /// Read settings through `get` (tests pass a map).
    pub fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let insecure_cookies = match get("INSECURE_COOKIES").as_deref() {
            None | Some("" | "0") => false,
            Some("1") => true,
            Some(_) => return Err("INSECURE_COOKIES must be 1 or unset".into()),
        };
        let redis_url = get("REDIS_URL").filter(|u| !u.is_empty());
        let database_url = get("DATABASE_URL").filter(|u| !u.is_empty());
        let redis_cluster_urls: Vec<String> = get("REDIS_CLUSTER_URLS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        let chosen = usize::from(redis_url.is_some())
            + usize::from(!redis_cluster_urls.is_empty())
            + usize::from(database_url.is_some());
        if chosen > 1 {
            return Err(
                "at most one of REDIS_URL, REDIS_CLUSTER_URLS and DATABASE_URL may be set".into(),
            );
        }
        if let Some(url) = &database_url {
            let scheme = url.split(':').next().unwrap_or_default();
            if !matches!(scheme, "postgres" | "postgresql" | "sqlite") {
                return Err(
                    "DATABASE_URL must start with postgres://, postgresql:// or sqlite://".into(),
                );
            }
        }
        let trusted_proxies = get("TRUSTED_PROXIES").unwrap_or_default();
        let trusted_origins = origins(&get("TRUSTED_ORIGINS").unwrap_or_default())?;
        let port = number(get, "PORT", 3000u16, 0)?;
        Ok(Settings {
            port,
            redis_url,
            redis_cluster_urls,
            database_url,
            jwt: JwtSettings::from_vars(get, port)?,
            access_ttl: number(get, "ACCESS_TTL_SECS", 900u64, 1)?,
            refresh_ttl: number(get, "REFRESH_TTL_SECS", 1_209_600u64, 1)?,
            session_idle: number(get, "SESSION_IDLE_SECS", 1_800u64, 1)?,
            session_absolute: number(get, "SESSION_ABSOLUTE_SECS", 43_200u64, 1)?,
            max_sessions_per_user: number(get, "MAX_SESSIONS_PER_USER", 5usize, 1)?,
            insecure_cookies,
            trusted_proxies,
            trusted_origins,
            login_throttle: LoginThrottle::default()
                .max_failures(number(get, "LOGIN_MAX_FAILURES", 5u32, 1)?)
                .max_failures_per_user(number(get, "LOGIN_MAX_FAILURES_PER_USER", 100u32, 1)?)
                .max_failures_per_client(number(get, "LOGIN_MAX_FAILURES_PER_IP", 50u32, 1)?)
                .lockout(Duration::from_secs(number(
                    get,
                    "LOGIN_LOCKOUT_SECS",
                    60u64,
                    1,
                )?)),
            audit_log: get("AUDIT_LOG").filter(|p| !p.is_empty()),
            remember_absolute: number(get, "REMEMBER_ABSOLUTE_SECS", 2_592_000u64, 1)?,
            fresh_auth: number(get, "FRESH_AUTH_SECS", 300u64, 1)?,
        })
    }
}

/// `TRUSTED_ORIGINS`: comma-separated `scheme://host[:port]`, nothing else.
fn origins(list: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for o in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let rest = o
            .strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', '@', ' ']) => {
                out.push(o.to_ascii_lowercase());
            }
            _ => {
                return Err(format!(
                    "TRUSTED_ORIGINS: `{o}` is not an origin like https://app.example.com"
                ))
            }
        }
    }
    Ok(out)
}

/// A demo user.
pub struct User {
    pub name: &'static str,
    pub roles: &'static [&'static str],
    /// argon2id PHC string; the plain password is never stored.
    pub password_hash: &'static str,
}

/// alice / alice-password (user); bob / bob-password (user); admin /
/// admin-password (user, admin). Hashes made with `argon2` 0.5 defaults
/// (argon2id, m=19456, t=2, p=1; bob's with m=16384).
pub const USERS: &[User] = &[
    User {
        name: "alice",
        roles: &["user"],
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$nfM/c/dPEA2qp7TQFaYtXA$Ztd5ZgfW0WXUHqBB2KFcWdbvTaPzrk9UqczZi1tzuqs",
    },
    User {
        name: "bob",
        roles: &["user"],
        password_hash: "$argon2id$v=19$m=16384,t=2,p=1$YVJ1WE4yUnU2TTVmNURwQg$VpFvtzqEaypmvKkqxd+Er4FaG08dTi3TQgrxCKhpeDs",
    },
    User {
        name: "admin",
        roles: &["user", "admin"],
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$UFlITG+Wy0AQK+pTDq2b6A$c6GoErr6dyXD32tCWC17h9fxBA6yoUT+izzYgyLGchI",
    },
];

/// Verify a username and password; the same argon2 work is done for unknown
/// users, so response time does not reveal which usernames exist. Returns
/// the user's name (roles come from the instance's [`Users`] table).
pub fn check_credentials(username: &str, password: &str) -> Option<&'static str> {
    let user = USERS.iter().find(|u| u.name == username);
    let hash = user.map_or(USERS[0].password_hash, |u| u.password_hash);
    let parsed = PasswordHash::new(hash).ok()?;
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    match user {
        Some(u) if ok => Some(u.name),
        _ => None,
    }
}

/// [`check_credentials`] on the runtime's blocking pool (argon2 is
/// deliberately slow and must not stall the async workers). Works under
/// every demo's runtime: axum's tokio, actix-rt and Rocket are all tokio.
pub async fn verify_password(username: String, password: String) -> Option<&'static str> {
    tokio::task::spawn_blocking(move || check_credentials(&username, &password))
        .await
        .ok()
        .flatten()
}

/// The password check of a login that passed the throttle (`attempt`),
/// reported to it: the user and its roles in `demo`'s table, or the 401
/// (503 if the failure could not be counted).
pub async fn check_login(
    demo: &Demo,
    attempt: LoginAttempt,
    req: LoginRequest,
) -> Result<(&'static str, Vec<String>), portcullis::Rejection> {
    match verify_password(req.username, req.password).await {
        Some(user) => {
            attempt.succeeded().await?;
            Ok((user, demo.roles_of(user)))
        }
        None => Err(attempt.failed().await),
    }
}

/// Stores chosen by the settings.
pub struct Stores {
    pub sessions: Arc<dyn SessionStore>,
    pub revocations: Arc<dyn RevocationList>,
}

/// In-memory stores, or Redis when `REDIS_URL` is set, or SQL when
/// `DATABASE_URL` is.
pub async fn stores(settings: &Settings) -> Result<Stores, String> {
    match (&settings.redis_url, &settings.database_url) {
        (Some(url), _) => redis_stores(url).await,
        (None, _) if !settings.redis_cluster_urls.is_empty() => {
            redis_cluster_stores(&settings.redis_cluster_urls).await
        }
        (None, Some(url)) => sql_stores(url, settings),
        (None, None) => Ok(Stores {
            sessions: Arc::new(MemoryStore::new()),
            revocations: Arc::new(MemoryRevocationList::default()),
        }),
    }
}

/// The SQL store over `url`, connected lazily: a database that is down at
/// start-up makes requests answer 503 until it is back, and the schema is
/// created or migrated when it is first reached.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub fn sql_stores(url: &str, settings: &Settings) -> Result<Stores, String> {
    sql_stores_with(portcullis::sql::SqlStore::builder(), url, settings)
}

/// [`sql_stores`] from a builder the caller configured (tests give each
/// run its own table prefix).
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub fn sql_stores_with(
    builder: portcullis::sql::SqlStoreBuilder,
    url: &str,
    settings: &Settings,
) -> Result<Stores, String> {
    let store = builder
        .auto_migrate(true)
        .connect_lazy(url)
        .map_err(|e| format!("cannot use DATABASE_URL: {e}"))?;
    // Subject cut-offs outlive every access token they can refuse.
    let retention = Duration::from_secs(settings.access_ttl.saturating_add(60));
    let revocations = store
        .revocation_list(retention)
        .ok_or("the SQL store brings no revocation list")?;
    Ok(Stores {
        sessions: Arc::new(store),
        revocations,
    })
}

#[cfg(not(any(feature = "postgres", feature = "sqlite")))]
fn sql_stores(_url: &str, _settings: &Settings) -> Result<Stores, String> {
    Err("DATABASE_URL is set but this demo was built without the `postgres` or `sqlite` feature (add --features postgres or --features sqlite)".into())
}

/// `rediss://`: the demo, being the application, chooses rustls's crypto
/// provider (the library never installs one for the whole process). The
/// CA comes from the OS trust store, or the PEM file `REDIS_CA_FILE`.
#[cfg(feature = "redis")]
fn redis_builder() -> Result<portcullis::redis::RedisStoreBuilder, String> {
    let builder = portcullis::redis::RedisStore::builder();
    #[cfg(feature = "redis-tls")]
    {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        if let Some(path) = std::env::var_os("REDIS_CA_FILE") {
            let pem = std::fs::read(&path).map_err(|e| format!("REDIS_CA_FILE: {e}"))?;
            return Ok(builder.tls_root_certificates(pem));
        }
    }
    Ok(builder)
}

#[cfg(feature = "redis")]
async fn redis_stores(url: &str) -> Result<Stores, String> {
    let store = redis_builder()?
        .connect(url)
        .await
        .map_err(|e| format!("cannot use REDIS_URL: {e}"))?;
    let revocations = portcullis::redis::RedisRevocationList::from_store(&store);
    Ok(Stores {
        sessions: Arc::new(store),
        revocations: Arc::new(revocations),
    })
}

/// The Redis stores on a cluster; logouts and revocations are acknowledged
/// once a replica has them.
#[cfg(feature = "redis")]
async fn redis_cluster_stores(seeds: &[String]) -> Result<Stores, String> {
    let store = redis_builder()?
        .replicas(1)
        .connect_cluster(seeds)
        .await
        .map_err(|e| format!("cannot use REDIS_CLUSTER_URLS: {e}"))?;
    let revocations = portcullis::redis::RedisRevocationList::from_store(&store);
    Ok(Stores {
        sessions: Arc::new(store),
        revocations: Arc::new(revocations),
    })
}

#[cfg(not(feature = "redis"))]
async fn redis_cluster_stores(_seeds: &[String]) -> Result<Stores, String> {
    Err("REDIS_CLUSTER_URLS is set but this demo was built without the `redis` feature (add --features redis)".into())
}

#[cfg(not(feature = "redis"))]
async fn redis_stores(_url: &str) -> Result<Stores, String> {
    Err("REDIS_URL is set but this demo was built without the `redis` feature (add --features redis)".into())
}

/// Build the demo's `Authenticator` (sessions + tokens over shared stores).
pub async fn authenticator(settings: &Settings) -> Result<Authenticator, String> {
    let stores = stores(settings).await?;
    authenticator_with(settings, stores)
}

/// Build the demo's `Authenticator` over the given stores (tests inject
/// failing stores here).
pub fn authenticator_with(settings: &Settings, stores: Stores) -> Result<Authenticator, String> {
    let keys = settings.jwt.registry()?;
    let tokens = TokenConfig::new(keys)
        .issuer(settings.jwt.issuer.clone())
        .audience(settings.jwt.audience.clone())
        .access_ttl(Duration::from_secs(settings.access_ttl))
        .refresh_ttl(Duration::from_secs(settings.refresh_ttl))
        .max_families_per_user(Some(settings.max_sessions_per_user));
    let cookie = if settings.insecure_cookies {
        CookiePolicy::default().name("id").insecure_no_secure()
    } else {
        CookiePolicy::default()
    };
    // Browser-session cookies unless the login asks to be remembered.
    let cookie = cookie.browser_session_cookie();
    let sessions = SessionConfig::default()
        .idle_timeout(Duration::from_secs(settings.session_idle))
        .absolute_timeout(Duration::from_secs(settings.session_absolute))
        .remember_absolute_timeout(Duration::from_secs(settings.remember_absolute))
        .max_sessions_per_user(
            Some(settings.max_sessions_per_user),
            SessionLimitPolicy::EvictOldest,
        )
        .cookie(cookie);
    let csrf = settings
        .trusted_origins
        .iter()
        .fold(CsrfConfig::default(), |c, o| c.trust_origin(o.clone()));
    let mut builder = Authenticator::builder()
        .store(stores.sessions)
        .revocations(stores.revocations)
        .sessions(sessions)
        .tokens(tokens)
        .csrf(csrf)
        .trusted_proxies(&settings.trusted_proxies)
        .login_throttle(settings.login_throttle.clone());
    if let Some(path) = &settings.audit_log {
        builder = builder.events(Arc::new(JsonLinesSink::open(path)?));
    }
    builder
        .build()
        .map_err(|e| format!("the settings (e.g. TRUSTED_PROXIES) are invalid: {e}"))
}

/// Print a start-up error and exit non-zero (bad settings stop the server).
pub fn exit_with(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// Request body of both login routes (`remember` only matters to the
/// session login; a non-boolean is a 400).
#[derive(serde::Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub remember: bool,
}

/// Request body of `/jwt/refresh`.
#[derive(serde::Deserialize)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// The `{"user","roles"}` body of the `me`/`admin` routes.
pub fn me_body(identity: &portcullis::Identity) -> serde_json::Value {
    serde_json::json!({ "user": identity.subject(), "roles": identity.roles() })
}

/// `{"error":"malformed request"}` for an unreadable body (400).
pub const BAD_REQUEST: &str = r#"{"error":"malformed request"}"#;
/// `{"error":"not found"}`.
pub const NOT_FOUND: &str = r#"{"error":"not found"}"#;
/// Largest accepted request body.
pub const MAX_BODY: usize = 16 * 1024;

/// `{"error":"unsupported media type"}` for a body that is not JSON (415).
pub const UNSUPPORTED_MEDIA_TYPE: &str = r#"{"error":"unsupported media type"}"#;
/// `{"error":"payload too large"}` for a body over [`MAX_BODY`] (413).
pub const PAYLOAD_TOO_LARGE: &str = r#"{"error":"payload too large"}"#;
/// `{"error":"method not allowed"}` (405).
pub const METHOD_NOT_ALLOWED: &str = r#"{"error":"method not allowed"}"#;

/// True if a `Content-Type` value is `application/json` (any parameters,
/// any case), the only type the demos' JSON routes accept. Requiring it also
/// stops plain HTML forms from posting to the login routes cross-site.
pub fn is_json_content_type(value: Option<&[u8]>) -> bool {
    value.is_some_and(|v| {
        let essence = v.split(|b| *b == b';').next().unwrap_or_default();
        essence
            .trim_ascii()
            .eq_ignore_ascii_case(b"application/json")
    })
}

/// Read a JSON request body the same way in every demo, so the three answer
/// identical bytes: a missing or other content type is 415
/// [`UNSUPPORTED_MEDIA_TYPE`], a body over [`MAX_BODY`] is 413
/// [`PAYLOAD_TOO_LARGE`], anything that does not parse as `T` (bad JSON,
/// non-UTF-8, missing fields) is 400 [`BAD_REQUEST`]. The error is
/// `(status, body)`; the body never echoes the input.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    content_type: Option<&[u8]>,
    body: &[u8],
) -> Result<T, (u16, &'static str)> {
    if !is_json_content_type(content_type) {
        return Err((415, UNSUPPORTED_MEDIA_TYPE));
    }
    if body.len() > MAX_BODY {
        return Err((413, PAYLOAD_TOO_LARGE));
    }
    serde_json::from_slice(body).map_err(|_| (400, BAD_REQUEST))
}
