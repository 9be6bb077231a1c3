//! The opt-in per-request user loader: demotions and deletions in the
//! application's database take effect on the next request, without any
//! revocation call; failures fail closed; one lookup per request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis::jwt::{KeyRegistry, TokenConfig};
use portcullis::{
    Authenticator, RequestView, Requirement, SessionHandle, StoreError, TokenHandle, UserLoader,
};

/// The application's user table, with a switch to make it fail.
#[derive(Default)]
struct Users {
    roles: Mutex<HashMap<String, Vec<String>>>,
    down: std::sync::atomic::AtomicBool,
    calls: AtomicUsize,
}

impl Users {
    fn set(&self, user: &str, roles: Option<&[&str]>) {
        let mut t = self.roles.lock().unwrap();
        match roles {
            Some(r) => t.insert(user.into(), r.iter().map(|s| (*s).to_owned()).collect()),
            None => t.remove(user),
        };
    }
}

#[async_trait::async_trait]
impl UserLoader for Users {
    async fn roles(&self, user: &str) -> Result<Option<Vec<String>>, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("users database down".into()));
        }
        Ok(self.roles.lock().unwrap().get(user).cloned())
    }
}

fn setup() -> (Authenticator, Arc<Users>) {
    let users = Arc::new(Users::default());
    users.set("alice", Some(&["user", "admin"]));
    let auth = Authenticator::builder()
        .tokens(TokenConfig::new(
            KeyRegistry::hs256("k", &[9u8; 32]).unwrap(),
        ))
        .user_loader(users.clone())
        .build()
        .unwrap();
    (auth, users)
}

async fn session_cookie(auth: &Authenticator, roles: &[&str]) -> String {
    let o = auth.authenticate(&RequestView::new("POST")).await;
    SessionHandle::new(o.clone())
        .login("alice", roles.iter().map(|r| (*r).to_owned()).collect())
        .await
        .unwrap();
    let c = o
        .take_response_headers()
        .find(|(n, _)| *n == "set-cookie")
        .unwrap()
        .1;
    c.split(';').next().unwrap().to_owned()
}

async fn with(
    auth: &Authenticator,
    name: &'static str,
    value: &str,
) -> Arc<portcullis::AuthOutcome> {
    let mut v = RequestView::new("GET");
    v.add_header(name, value.as_bytes());
    auth.authenticate(&v).await
}

#[tokio::test]
async fn demotion_and_deletion_apply_on_the_next_request() {
    let (auth, users) = setup();
    // Logged in with stale roles: the loader's answer wins.
    let cookie = session_cookie(&auth, &["user"]).await;
    let pair = TokenHandle::new(auth.authenticate(&RequestView::new("POST")).await)
        .issue("alice", &["user".into()])
        .await
        .unwrap();
    let bearer = format!("Bearer {}", pair.access_token);
    let admin = Requirement::any_role(["admin"]);
    for o in [
        with(&auth, "cookie", &cookie).await,
        with(&auth, "authorization", &bearer).await,
    ] {
        assert!(o.state.require(&admin).is_ok());
    }
    // Demoted in the database: refused at once, no revocation call.
    users.set("alice", Some(&["user"]));
    let o = with(&auth, "cookie", &cookie).await;
    assert_eq!(o.state.require(&admin).unwrap_err().status(), 403);
    // A session identity keeps its step-up information.
    assert!(o
        .state
        .require(&Requirement::AuthenticatedWithin(Duration::from_secs(300)))
        .is_ok());
    let o = with(&auth, "authorization", &bearer).await;
    let e = o.state.require(&admin).unwrap_err();
    assert_eq!(
        (e.status(), e.www_authenticate()),
        (403, Some(r#"Bearer error="insufficient_scope""#))
    );
    // Deleted (or locked): anonymous, 401.
    users.set("alice", None);
    let o = with(&auth, "cookie", &cookie).await;
    assert_eq!(
        o.state
            .require(&Requirement::Authenticated)
            .unwrap_err()
            .status(),
        401
    );
    let o = with(&auth, "authorization", &bearer).await;
    let e = o.state.require(&Requirement::Authenticated).unwrap_err();
    assert_eq!(
        (e.status(), e.www_authenticate()),
        (401, Some(r#"Bearer error="invalid_token""#))
    );
}

#[tokio::test]
async fn a_failing_loader_fails_closed_and_runs_once_per_request() {
    let (auth, users) = setup();
    let cookie = session_cookie(&auth, &["user"]).await;
    let before = users.calls.load(Ordering::SeqCst);
    let o = with(&auth, "cookie", &cookie).await;
    // Every check of the request reads the one answer.
    for _ in 0..3 {
        assert!(o.state.require(&Requirement::Authenticated).is_ok());
    }
    let _ = SessionHandle::new(o.clone()).list().await.unwrap();
    assert_eq!(users.calls.load(Ordering::SeqCst), before + 1);
    // Anonymous requests never ask.
    let _ = auth.authenticate(&RequestView::new("GET")).await;
    assert_eq!(users.calls.load(Ordering::SeqCst), before + 1);
    users.down.store(true, Ordering::SeqCst);
    let o = with(&auth, "cookie", &cookie).await;
    let e = o.state.require(&Requirement::Authenticated).unwrap_err();
    assert_eq!((e.status(), e.message()), (503, "service unavailable"));
    assert!(
        o.state.optional().is_err(),
        "optional routes fail closed too"
    );
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn through_axum_a_demoted_admin_gets_403() {
    use axum::{body::Body, http::Request, routing::get, Router};
    use portcullis::{tower::AuthLayer, RequireRole};
    use tower::ServiceExt as _;
    portcullis::role!(Admin = "admin");
    async fn admin(who: RequireRole<Admin>) -> String {
        who.subject().to_owned()
    }
    let (auth, users) = setup();
    let cookie = session_cookie(&auth, &["user", "admin"]).await;
    let app = Router::new()
        .route("/admin", get(admin))
        .layer(AuthLayer::new(auth));
    let status = |app: Router, cookie: String| async move {
        let req = Request::get("/admin")
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap();
        app.oneshot(req).await.unwrap().status().as_u16()
    };
    assert_eq!(status(app.clone(), cookie.clone()).await, 200);
    users.set("alice", Some(&["user"]));
    assert_eq!(status(app.clone(), cookie.clone()).await, 403);
    users.down.store(true, Ordering::SeqCst);
    assert_eq!(status(app, cookie).await, 503);
}
