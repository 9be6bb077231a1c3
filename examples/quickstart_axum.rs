//! The README's quick start: a login handler, a protected handler, a role
//! guard and logout on axum, with in-memory sessions.
//!
//! `cargo run --example quickstart_axum --features axum`, then:
//! `curl -i -X POST localhost:3000/login` and send the cookie back.
use axum::routing::{get, post};
use axum::Router;
use portcullis::tower::AuthLayer;
use portcullis::{Authenticator, Identity, Rejection, RequireRole, SessionHandle};

portcullis::role!(Admin = "admin");

async fn login(session: SessionHandle) -> Result<String, Rejection> {
    // 429 while "alice" is throttled: then her password is not checked.
    let attempt = session.login_attempt("alice").await?;
    // Check the password here; on a failure, `return Err(attempt.failed().await)`
    // (the 401, counted towards throttling).
    attempt.succeeded().await?;
    let info = session.login("alice", vec!["user".into()]).await?;
    Ok(info.csrf_token) // send it back as `X-CSRF-Token` on unsafe requests
}

async fn me(who: Identity) -> String {
    format!("hello {}", who.subject())
}

async fn admin(who: RequireRole<Admin>) -> String {
    format!("admin area for {}", who.subject())
}

async fn logout(session: SessionHandle) -> Result<(), Rejection> {
    session.logout().await
}

pub fn app(auth: Authenticator) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/admin", get(admin))
        .route("/logout", post(logout))
        .layer(AuthLayer::new(auth))
}

#[allow(dead_code)] // the tests include this file for `app` only
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth = Authenticator::builder().build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app(auth)).await?;
    Ok(())
}
