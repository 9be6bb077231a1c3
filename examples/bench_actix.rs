//! Load-test targets for the actix adapter (run them side by side with scripts/bench_actix.sh):
//! one worker on 127.0.0.1:PORT (default 8088) serving `GET /session/me`
//! and `GET /jwt/me` in one of three ways:
//!
//! - `bare`: the same routes and the same JSON body, no authentication;
//! - `portcullis`: the actix demo app (`AuthLayer`, in-memory stores);
//!   prints a session `COOKIE=` and an access `TOKEN=` to use;
//! - `actix-session`: `actix-session`'s encrypted cookie session reading a
//!   user id and roles on each request (`POST /login` sets the cookie);
//! - `inproc`: no server; the same apps driven in-process through
//!   `actix_web::test`, interleaved, printing the best of several rounds in
//!   ns per request (a network-free, lower-noise view of the same ratios).
//!
//! ```text
//! cargo run --release --example bench_actix --features actix-web -- portcullis
//! ```

use std::sync::LazyLock;

use actix_session::storage::CookieSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::{web, App, HttpResponse, HttpServer};
use portcullis::AuthMethod;
use portcullis::Identity;
use portcullis::RequestView;
use portcullis::SessionHandle;

#[path = "demo_actix.rs"]
#[allow(dead_code)]
mod demo_actix;

use demo_actix::common;

static ALICE: LazyLock<Identity> = LazyLock::new(|| {
    Identity::new(
        "alice",
        vec!["user".into()],
        AuthMethod::Session(portcullis::store::SessionKey::from_bytes([1; 32])),
    )
});

/// The unauthenticated baseline: the same body, built the same way.
async fn bare_me() -> HttpResponse {
    HttpResponse::Ok().json(common::me_body(&ALICE))
}

async fn cookie_login(session: Session) -> actix_web::Result<HttpResponse> {
    session.insert("user_id", "alice")?;
    session.insert("roles", vec!["user"])?;
    Ok(HttpResponse::NoContent().finish())
}

async fn cookie_me(session: Session) -> actix_web::Result<HttpResponse> {
    let Some(user) = session.get::<String>("user_id")? else {
        return Ok(HttpResponse::Unauthorized().finish());
    };
    let roles = session.get::<Vec<String>>("roles")?.unwrap_or_default();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "user": user, "roles": roles })))
}

/// Best-of-`rounds` ns per request of `app` for `req()`.
async fn time_app<S, B>(app: &S, req: impl Fn() -> actix_http::Request, n: u32) -> f64
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let start = std::time::Instant::now();
    for _ in 0..n {
        let res = actix_web::test::call_service(app, req()).await;
        assert!(res.status().is_success(), "{}", res.status());
        let _ = actix_web::body::to_bytes(res.into_body()).await;
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

async fn in_process() {
    use actix_web::test::{init_service, TestRequest};
    let (auth, cookie, token) = demo_auth().await;
    let bare = init_service(bare_app()).await;
    let demo = init_service(demo_actix::app(auth)).await;
    let key = Key::generate();
    let cookie_app = init_service(cookie_app(key)).await;
    let res =
        actix_web::test::call_service(&cookie_app, TestRequest::post().uri("/login").to_request())
            .await;
    let as_cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let get = |path: &'static str, header: Option<(&'static str, String)>| {
        move || {
            let mut r = TestRequest::get().uri(path);
            if let Some((n, v)) = &header {
                r = r.insert_header((*n, v.clone()));
            }
            r.to_request()
        }
    };
    // `inproc N` times only case N (0-4), e.g. under a profiler.
    let only: Option<usize> = std::env::args().nth(2).and_then(|a| a.parse().ok());
    let n = 20_000;
    let mut best = [f64::MAX; 5];
    for _ in 0..7 {
        for (i, b) in best.iter_mut().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            let t = match i {
                0 => time_app(&bare, get("/session/me", None), n).await,
                1 => {
                    time_app(
                        &demo,
                        get("/session/me", Some(("cookie", cookie.clone()))),
                        n,
                    )
                    .await
                }
                2 => {
                    time_app(
                        &cookie_app,
                        get("/session/me", Some(("cookie", as_cookie.clone()))),
                        n,
                    )
                    .await
                }
                3 => time_app(&bare, get("/jwt/me", None), n).await,
                _ => {
                    time_app(
                        &demo,
                        get(
                            "/jwt/me",
                            Some(("authorization", format!("Bearer {token}"))),
                        ),
                        n,
                    )
                    .await
                }
            };
            *b = b.min(t);
        }
    }
    let names = [
        "bare /session/me",
        "portcullis /session/me",
        "actix-session /session/me",
        "bare /jwt/me",
        "portcullis /jwt/me",
    ];
    for (name, ns) in names.iter().zip(best).filter(|(_, ns)| *ns < f64::MAX) {
        println!("{name:<28} {ns:>8.0} ns/req");
    }
    if only.is_none() {
        println!(
            "session: portcullis/bare throughput = {:.3}",
            best[0] / best[1]
        );
        println!(
            "session: actix-session/bare throughput = {:.3}",
            best[0] / best[2]
        );
        println!(
            "jwt:     portcullis/bare throughput = {:.3}",
            best[3] / best[4]
        );
    }
}

/// The demo authenticator (long-lived tokens), a session cookie and an
/// access token for alice.
async fn demo_auth() -> (portcullis::Authenticator, String, String) {
    let settings =
        common::Settings::from_vars(&|k| (k == "ACCESS_TTL_SECS").then(|| "86400".to_owned()))
            .unwrap_or_else(|e| common::exit_with(&e));
    let auth = common::authenticator(&settings)
        .await
        .unwrap_or_else(|e| common::exit_with(&e));
    let anonymous = auth.authenticate(&RequestView::new("POST")).await;
    let roles = vec!["user".to_owned()];
    SessionHandle::new(anonymous.clone())
        .login("alice", roles.clone())
        .await
        .unwrap_or_else(|e| common::exit_with(&e.to_string()));
    let set_cookie = portcullis::__private::set_cookie(&anonymous).unwrap_or_default();
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
    let tokens = auth
        .tokens()
        .unwrap_or_else(|| common::exit_with("token mode is off"));
    let pair = tokens
        .issue("alice", &roles)
        .await
        .unwrap_or_else(|e| common::exit_with(&e.to_string()));
    (auth, cookie, pair.access_token)
}

fn bare_app() -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new().service(
        web::scope("")
            .service(web::resource("/session/me").route(web::get().to(bare_me)))
            .service(web::resource("/jwt/me").route(web::get().to(bare_me))),
    )
}

fn cookie_app(
    key: Key,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(
            SessionMiddleware::builder(CookieSessionStore::default(), key)
                .cookie_secure(false)
                .build(),
        )
        .route("/login", web::post().to(cookie_login))
        .route("/session/me", web::get().to(cookie_me))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8088);
    let addr = ("127.0.0.1", port);
    match mode.as_str() {
        "bare" => HttpServer::new(bare_app).workers(1).bind(addr)?.run().await,
        "portcullis" => {
            let (auth, cookie, token) = demo_auth().await;
            println!("COOKIE={cookie}");
            println!("TOKEN={token}");
            HttpServer::new(move || demo_actix::app(auth.clone()))
                .workers(1)
                .bind(addr)?
                .run()
                .await
        }
        "actix-session" => {
            let key = Key::generate();
            HttpServer::new(move || cookie_app(key.clone()))
                .workers(1)
                .bind(addr)?
                .run()
                .await
        }
        "inproc" => {
            in_process().await;
            Ok(())
        }
        _ => common::exit_with("usage: bench_actix bare|portcullis|actix-session"),
    }
}
