//! The README's quick start (examples/quickstart_axum.rs) works as printed:
//! log in, see yourself, be refused the admin area, log out.

#[path = "../examples/quickstart_axum.rs"]
mod quickstart;

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt as _;
use portcullis::Authenticator;
use tower::ServiceExt as _;

async fn send(app: &axum::Router, req: Request<Body>) -> (u16, String, Option<String>) {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned());
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned(), cookie)
}

#[tokio::test]
async fn the_readme_walkthrough_works_as_printed() {
    let app = quickstart::app(Authenticator::builder().build().expect("defaults"));
    let get = |path: &str, cookie: &str| {
        Request::get(path)
            .header("cookie", cookie)
            .body(Body::empty())
            .expect("request")
    };
    assert_eq!(send(&app, get("/me", "")).await.0, 401);

    let login = Request::post("/login")
        .body(Body::empty())
        .expect("request");
    let (status, csrf, cookie) = send(&app, login).await;
    assert_eq!(status, 200);
    let cookie = cookie.expect("a session cookie");
    assert_eq!(
        send(&app, get("/me", &cookie)).await,
        (200, "hello alice".into(), None)
    );
    assert_eq!(send(&app, get("/admin", &cookie)).await.0, 403);

    // Logout is an unsafe request: without the CSRF token it is refused.
    let logout = |token: &str| {
        Request::post("/logout")
            .header("cookie", &cookie)
            .header("x-csrf-token", token)
            .body(Body::empty())
            .expect("request")
    };
    assert_eq!(send(&app, logout("wrong")).await.0, 403);
    assert_eq!(send(&app, logout(&csrf)).await.0, 200);
    assert_eq!(send(&app, get("/me", &cookie)).await.0, 401);
}
