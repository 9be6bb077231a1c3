//! Load-test servers for `run.py`: one process serves one variant on
//! `127.0.0.1:<port>` with one worker thread.
//!
//! Every variant answers `GET /session/me` and/or `GET /jwt/me` with the
//! same JSON body (`{"user":"alice","roles":["user"]}`), built the same way;
//! the bare variants build it from constants, the others from the
//! credential. `POST /login` (cookie variants) sets the credential cookie,
//! `POST /token` (bearer variants) answers an access token as the body.
//! The `login-*` variants open a session for a new user on every
//! `POST /login` (for the memory and login-rate figures) and answer the
//! number opened so far at `GET /count`.
//!
//! ```text
//! portcullis-load <variant> <port>
//! portcullis-load list
//! ```

mod actix_srv;
mod axum_srv;
mod rocket_srv;

use std::time::Duration;

use portcullis::jwt::{KeyRegistry, TokenConfig};
use portcullis::Authenticator;
use serde_json::{json, Value};

/// The HS256 secret every bearer variant signs and verifies with.
pub const SECRET: &[u8; 32] = b"load-harness-hs256-secret-32byte";
/// Every variant, as `run.py` names them.
pub const VARIANTS: &[&str] = &[
    "axum-bare",
    "axum-bare-headers",
    "axum-portcullis",
    "axum-portcullis-nocache",
    "axum-tower-sessions",
    "axum-jsonwebtoken",
    "actix-bare",
    "actix-bare-headers",
    "actix-portcullis",
    "actix-portcullis-nocache",
    "actix-session",
    "rocket-bare",
    "rocket-bare-headers",
    "rocket-portcullis",
    "rocket-portcullis-nocache",
    "rocket-private-cookie",
    "login-portcullis",
    "login-tower-sessions",
];

/// The response body of every `/…/me` route.
pub fn me_body(user: &str, roles: &[String]) -> Value {
    json!({ "user": user, "roles": roles })
}

/// The bare variants' body: the same JSON from constants.
pub fn bare_body() -> Value {
    me_body("alice", &["user".to_owned()])
}

/// portcullis with its defaults (in-memory stores) plus HS256 token mode;
/// `cache = false` turns the verified-token cache off (first-sight cost on
/// every request).
pub fn authenticator(cache: bool) -> Authenticator {
    let keys = KeyRegistry::hs256("k1", SECRET).unwrap_or_else(|e| fail(&e.to_string()));
    let tokens = TokenConfig::new(keys)
        .access_ttl(Duration::from_secs(24 * 3600))
        .verified_cache(if cache { 4096 } else { 0 });
    Authenticator::builder()
        .tokens(tokens)
        .build()
        .unwrap_or_else(|e| fail(&e.to_string()))
}

pub fn fail(msg: &str) -> ! {
    eprintln!("portcullis-load: {msg}");
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_default();
    if variant == "list" {
        for v in VARIANTS {
            println!("{v}");
        }
        return;
    }
    let port: u16 = args
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| fail("usage: portcullis-load <variant> <port> (or `list`)"));
    match variant.split_once('-') {
        Some(("axum" | "login", _)) => axum_srv::serve(&variant, port),
        Some(("actix", _)) => actix_srv::serve(&variant, port),
        Some(("rocket", _)) => rocket_srv::serve(&variant, port),
        _ => fail(&format!("unknown variant {variant:?}; `list` names them")),
    }
}
