//! The axum variants (axum 0.8, tokio with one worker thread).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::{DecodingKey, EncodingKey, Validation};
use portcullis::tower::AuthLayer;
use portcullis::{BearerIdentity, Rejection, SessionHandle, SessionIdentity, TokenHandle};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{authenticator, bare_body, fail, me_body, SECRET};

pub fn serve(variant: &str, port: u16) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&e.to_string()));
    rt.block_on(async move {
        let app = match variant {
            "axum-bare" => bare(),
            "axum-bare-headers" => bare_headers(),
            "axum-portcullis" => portcullis(true),
            "axum-portcullis-nocache" => portcullis(false),
            "axum-tower-sessions" => tower_sessions_app(),
            "axum-jsonwebtoken" => jsonwebtoken_app(),
            "login-portcullis" => login_portcullis(),
            "login-tower-sessions" => login_tower_sessions(),
            _ => fail(&format!("unknown variant {variant:?}")),
        };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap_or_else(|e| fail(&e.to_string()));
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap_or_else(|e| fail(&e.to_string()));
    });
}

async fn bare_me() -> Json<Value> {
    Json(bare_body())
}

fn bare() -> Router {
    Router::new()
        .route("/session/me", get(bare_me))
        .route("/jwt/me", get(bare_me))
}

/// The bare server doing the HTTP work every credentialed answer needs:
/// the client sends a session-shaped `Cookie` (ignored) and the answer
/// carries the contract's `Cache-Control: no-store` and `Vary: Cookie`.
fn bare_headers() -> Router {
    async fn me() -> impl axum::response::IntoResponse {
        (
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::VARY, "Cookie"),
            ],
            Json(bare_body()),
        )
    }
    Router::new().route("/session/me", get(me))
}

// --- portcullis ---------------------------------------------------------

async fn login(session: SessionHandle) -> Result<StatusCode, Rejection> {
    session.login("alice", vec!["user".into()]).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn token(tokens: TokenHandle) -> Result<String, Rejection> {
    Ok(tokens.issue("alice", &["user".into()]).await?.access_token)
}

async fn session_me(who: SessionIdentity) -> Json<Value> {
    Json(me_body(who.subject(), who.roles()))
}

async fn jwt_me(who: BearerIdentity) -> Json<Value> {
    Json(me_body(who.subject(), who.roles()))
}

fn peer(ext: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

fn portcullis(cache: bool) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/token", post(token))
        .route("/session/me", get(session_me))
        .route("/jwt/me", get(jwt_me))
        .layer(AuthLayer::new(authenticator(cache)).peer_ip(peer))
}

// --- tower-sessions -----------------------------------------------------

fn ts_layer() -> tower_sessions::SessionManagerLayer<tower_sessions::MemoryStore> {
    tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
        .with_secure(false)
}

async fn ts_login(session: tower_sessions::Session) -> StatusCode {
    let ok = session.insert("user_id", "alice").await.is_ok()
        && session.insert("roles", ["user"]).await.is_ok();
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

async fn ts_me(session: tower_sessions::Session) -> Result<Json<Value>, StatusCode> {
    let user: String = match session.get("user_id").await {
        Ok(Some(u)) => u,
        _ => return Err(StatusCode::UNAUTHORIZED),
    };
    let roles: Vec<String> = session
        .get("roles")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    Ok(Json(me_body(&user, &roles)))
}

fn tower_sessions_app() -> Router {
    Router::new()
        .route("/login", post(ts_login))
        .route("/session/me", get(ts_me))
        .layer(ts_layer())
}

// --- hand-rolled jsonwebtoken -------------------------------------------

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    roles: Vec<String>,
    exp: u64,
}

static DECODING: LazyLock<DecodingKey> = LazyLock::new(|| DecodingKey::from_secret(SECRET));
static VALIDATION: LazyLock<Validation> =
    LazyLock::new(|| Validation::new(jsonwebtoken::Algorithm::HS256));

async fn jwt_token() -> Result<String, StatusCode> {
    let exp = jsonwebtoken::get_current_timestamp() + 24 * 3600;
    let claims = Claims {
        sub: "alice".into(),
        roles: vec!["user".into()],
        exp,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

async fn jwt_hand_me(headers: HeaderMap) -> Result<Json<Value>, StatusCode> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let data = jsonwebtoken::decode::<Claims>(token, &DECODING, &VALIDATION)
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    Ok(Json(me_body(&data.claims.sub, &data.claims.roles)))
}

fn jsonwebtoken_app() -> Router {
    Router::new()
        .route("/token", post(jwt_token))
        .route("/jwt/me", get(jwt_hand_me))
}

// --- login rate and memory per live session -----------------------------

/// A new user per login: no per-user cap interferes, and every session is a
/// separate live record (nothing expires within a run).
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU64>);

impl Counter {
    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

async fn count(State(c): State<Counter>) -> String {
    c.0.load(Ordering::Relaxed).to_string()
}

async fn login_new(
    State(c): State<Counter>,
    session: SessionHandle,
) -> Result<StatusCode, Rejection> {
    let user = format!("user{}", c.next());
    session
        .login(&user, vec!["user".into(), "reader".into()])
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn login_portcullis() -> Router {
    let c = Counter::default();
    Router::new()
        .route("/login", post(login_new))
        .route("/count", get(count))
        .with_state(c)
        // Records the client's IP (from the connection) and User-Agent.
        .layer(AuthLayer::new(authenticator(true)).peer_ip(peer))
}

/// The same facts in a tower-sessions session: user id, two roles, the
/// client's IP and User-Agent.
async fn ts_login_new(
    State(c): State<Counter>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: tower_sessions::Session,
) -> StatusCode {
    let user = format!("user{}", c.next());
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let ok = session.insert("user_id", user).await.is_ok()
        && session.insert("roles", ["user", "reader"]).await.is_ok()
        && session.insert("ip", addr.ip().to_string()).await.is_ok()
        && session.insert("user_agent", ua).await.is_ok();
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

fn login_tower_sessions() -> Router {
    let c = Counter::default();
    Router::new()
        .route("/login", post(ts_login_new))
        .route("/count", get(count))
        .with_state(c)
        .layer(ts_layer())
}
