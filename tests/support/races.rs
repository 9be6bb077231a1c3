//! Review finding M1 (and L4, L5, L9): ending a refresh family races a
//! concurrent refresh. Each scenario pauses the operation inside the store
//! (a [`GateStore`] holds `list_user` or `delete` until released), lets a
//! refresh land in the window, then checks that no access token of the
//! ended family survives. Generic over the store, so the same scenarios
//! run on `MemoryStore` (tests/review_races.rs) and Redis (tests/redis.rs).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portcullis::jwt::{KeyRegistry, RevocationList, TokenPair, TokenService};
use portcullis::store::{SessionKey, SessionRecord, SessionStore};
use portcullis::RequestView;
use portcullis::SessionHandle;
use portcullis::TokenHandle;
use portcullis::{Authenticator, StoreError};
use tokio::sync::Notify;

/// Which store call a gate holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ListUser,
    Delete,
}

/// One pause: the store signals `reached` when the call arrives, then waits
/// for `release`.
#[derive(Default)]
pub struct Gate {
    pub reached: Notify,
    pub release: Notify,
}

/// A store that can hold one call of one kind until the test releases it.
pub struct GateStore {
    inner: Arc<dyn SessionStore>,
    armed: Mutex<Option<(Op, Arc<Gate>)>>,
}

impl GateStore {
    pub fn new(inner: Arc<dyn SessionStore>) -> Self {
        GateStore {
            inner,
            armed: Mutex::new(None),
        }
    }

    /// Hold the next call of `op` (before it reaches the inner store).
    pub fn arm(&self, op: Op) -> Arc<Gate> {
        let gate = Arc::new(Gate::default());
        *self.armed.lock().unwrap_or_else(|e| e.into_inner()) = Some((op, gate.clone()));
        gate
    }

    async fn pause(&self, op: Op) {
        let gate = {
            let mut armed = self.armed.lock().unwrap_or_else(|e| e.into_inner());
            match &*armed {
                Some((o, _)) if *o == op => armed.take().map(|(_, g)| g),
                _ => None,
            }
        };
        if let Some(g) = gate {
            g.reached.notify_one();
            g.release.notified().await;
        }
    }
}

#[async_trait]
impl SessionStore for GateStore {
    async fn create(&self, k: &SessionKey, r: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create(k, r).await
    }
    async fn load(&self, k: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load(k).await
    }
    async fn update(&self, k: &SessionKey, r: &SessionRecord) -> Result<u64, StoreError> {
        self.inner.update(k, r).await
    }
    async fn delete(&self, k: &SessionKey) -> Result<bool, StoreError> {
        self.pause(Op::Delete).await;
        self.inner.delete(k).await
    }
    async fn delete_user(&self, u: &str) -> Result<usize, StoreError> {
        self.inner.delete_user(u).await
    }
    async fn list_user(&self, u: &str) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        self.pause(Op::ListUser).await;
        self.inner.list_user(u).await
    }
    fn is_shared(&self) -> bool {
        self.inner.is_shared()
    }
    // Not `revocation_list`: tests/redis.rs checks a shared store without
    // one is refused. The throttle's counters follow the inner store.
    fn attempt_store(&self) -> Option<Arc<dyn portcullis::store::AttemptStore>> {
        self.inner.attempt_store()
    }
}

/// The token settings of these tests.
pub fn config() -> portcullis::jwt::TokenConfig {
    portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", &[5u8; 32]).expect("key"))
}

/// A token service over `store` and `revocations`.
pub fn service(store: Arc<dyn SessionStore>, revocations: Arc<dyn RevocationList>) -> TokenService {
    portcullis::Authenticator::builder()
        .without_sessions()
        .store(store)
        .revocations(revocations)
        .tokens(config())
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .expect("token service")
}

async fn alive(svc: &TokenService, access: &str) -> bool {
    svc.authenticate(access.as_bytes()).await.is_ok()
}

/// Run `op` until it reaches `gate`, do `meanwhile`, release, finish `op`.
async fn interleave<T>(
    gate: Arc<Gate>,
    op: impl std::future::Future<Output = T> + Send + 'static,
    meanwhile: impl std::future::Future<Output = TokenPair>,
) -> (T, TokenPair)
where
    T: Send + 'static,
{
    let task = tokio::spawn(op);
    gate.reached.notified().await;
    let got = meanwhile.await;
    gate.release.notify_one();
    (task.await.expect("operation task"), got)
}

/// M1: a refresh whose compare-and-set lands after `logout_all`'s subject
/// cut-off but before it lists the user's families.
pub async fn m1_refresh_between_cutoff_and_list(
    inner: Arc<dyn SessionStore>,
    rl: Arc<dyn RevocationList>,
) {
    let store = Arc::new(GateStore::new(inner));
    let svc = service(store.clone(), rl);
    let pair = svc.issue("m1-alice", &[]).await.expect("issue");
    let gate = store.arm(Op::ListUser);
    let s = svc.clone();
    let (done, refreshed) =
        interleave(gate, async move { s.logout_all("m1-alice").await }, async {
            svc.refresh(&pair.refresh_token)
                .await
                .expect("refresh inside the window")
        })
        .await;
    done.expect("logout_all");
    assert!(!alive(&svc, &pair.access_token).await);
    assert!(
        !alive(&svc, &refreshed.access_token).await,
        "a token minted inside log-out-everywhere survived it"
    );
    assert!(svc.refresh(&refreshed.refresh_token).await.is_err());
}

/// M1: the same, with the refresh landing between the list and the delete.
pub async fn m1_refresh_between_list_and_delete(
    inner: Arc<dyn SessionStore>,
    rl: Arc<dyn RevocationList>,
) {
    let store = Arc::new(GateStore::new(inner));
    let svc = service(store.clone(), rl);
    let pair = svc.issue("m1-bob", &[]).await.expect("issue");
    let gate = store.arm(Op::Delete);
    let s = svc.clone();
    let (done, refreshed) = interleave(gate, async move { s.logout_all("m1-bob").await }, async {
        svc.refresh(&pair.refresh_token)
            .await
            .expect("refresh inside the window")
    })
    .await;
    done.expect("logout_all");
    assert!(
        !alive(&svc, &refreshed.access_token).await,
        "a token minted inside log-out-everywhere survived it"
    );
}

/// M1 / L4: token logout revokes the presented token, then ends the family;
/// a refresh between the two mints a token that must die with the family.
pub async fn m1_refresh_racing_logout(inner: Arc<dyn SessionStore>, rl: Arc<dyn RevocationList>) {
    let store = Arc::new(GateStore::new(inner));
    let svc = service(store.clone(), rl);
    let pair = svc.issue("m1-carol", &[]).await.expect("issue");
    let who = svc
        .authenticate(pair.access_token.as_bytes())
        .await
        .expect("identity");
    let gate = store.arm(Op::Delete);
    let s = svc.clone();
    let (done, refreshed) = interleave(gate, async move { s.logout(&who).await }, async {
        svc.refresh(&pair.refresh_token)
            .await
            .expect("refresh inside the window")
    })
    .await;
    done.expect("logout");
    assert!(!alive(&svc, &pair.access_token).await);
    assert!(
        !alive(&svc, &refreshed.access_token).await,
        "a token minted during logout survived it"
    );
}

/// M1: reuse detection ends the family it loaded; the legitimate client's
/// rotation landing before the delete must die too.
pub async fn m1_refresh_racing_reuse_detection(
    inner: Arc<dyn SessionStore>,
    rl: Arc<dyn RevocationList>,
) {
    let store = Arc::new(GateStore::new(inner));
    let svc = service(store.clone(), rl);
    let first = svc.issue("m1-dave", &[]).await.expect("issue");
    let second = svc.refresh(&first.refresh_token).await.expect("rotation");
    let gate = store.arm(Op::Delete);
    let s = svc.clone();
    let spent = first.refresh_token.clone();
    let (reuse, third) = interleave(gate, async move { s.refresh(&spent).await }, async {
        svc.refresh(&second.refresh_token)
            .await
            .expect("legit rotation inside the window")
    })
    .await;
    assert_eq!(reuse.expect_err("reuse is refused").status(), 401);
    for t in [&first, &second, &third] {
        assert!(
            !alive(&svc, &t.access_token).await,
            "a token of the reused family survived"
        );
    }
    assert!(svc.refresh(&third.refresh_token).await.is_err());
}

/// L4: the victim logs out; the thief's token, refreshed earlier from the
/// same family, is refused too.
pub async fn l4_logout_refuses_the_thiefs_refreshed_token(
    inner: Arc<dyn SessionStore>,
    rl: Arc<dyn RevocationList>,
) {
    let svc = service(inner, rl);
    let victim = svc.issue("l4-erin", &[]).await.expect("issue");
    let thief = svc
        .refresh(&victim.refresh_token)
        .await
        .expect("thief refreshes");
    let who = svc
        .authenticate(victim.access_token.as_bytes())
        .await
        .expect("victim's identity");
    svc.logout(&who).await.expect("logout");
    assert!(!alive(&svc, &victim.access_token).await);
    assert!(
        !alive(&svc, &thief.access_token).await,
        "the thief's token survived the logout"
    );
    assert!(svc.refresh(&thief.refresh_token).await.is_err());
}

/// L5: one "log out everywhere" ends sessions, families and access tokens,
/// from the session route and from the token route.
pub async fn l5_logout_everywhere_ends_everything(
    inner: Arc<dyn SessionStore>,
    rl: Arc<dyn RevocationList>,
) {
    let auth = Authenticator::builder()
        .store(inner)
        .revocations(rl)
        .tokens(config())
        .build()
        .expect("authenticator");
    let svc = auth.tokens().expect("token mode").clone();
    for from_tokens in [false, true] {
        let user = if from_tokens { "l5-gus" } else { "l5-fay" };
        let anon = auth.authenticate(&RequestView::new("POST")).await;
        SessionHandle::new(anon.clone())
            .login(user, vec![])
            .await
            .expect("login");
        let cookie = portcullis::__private::set_cookie(&anon).expect("cookie");
        let cookie = cookie.split(';').next().expect("pair").to_owned();
        let pair = svc.issue(user, &[]).await.expect("issue");
        let mut view = RequestView::new("POST");
        let bearer = format!("Bearer {}", pair.access_token);
        if from_tokens {
            view.add_header("authorization", bearer.as_bytes());
        } else {
            view.add_header("cookie", cookie.as_bytes());
            let csrf_outcome = {
                let mut v = RequestView::new("GET");
                v.add_header("cookie", cookie.as_bytes());
                auth.authenticate(&v).await
            };
            let csrf = SessionHandle::new(csrf_outcome.clone())
                .csrf_token()
                .expect("csrf");
            let outcome = {
                let mut v = RequestView::new("POST");
                v.add_header("cookie", cookie.as_bytes());
                v.add_header("x-csrf-token", csrf.as_bytes());
                auth.authenticate(&v).await
            };
            SessionHandle::new(outcome.clone())
                .logout_all()
                .await
                .expect("session logout-all");
        }
        if from_tokens {
            let outcome = auth.authenticate(&view).await;
            TokenHandle::new(outcome.clone())
                .logout_all()
                .await
                .expect("token logout-all");
        }
        assert!(
            !alive(&svc, &pair.access_token).await,
            "{user}: access token survived"
        );
        assert!(
            svc.refresh(&pair.refresh_token).await.is_err(),
            "{user}: family survived"
        );
        let mut v = RequestView::new("GET");
        v.add_header("cookie", cookie.as_bytes());
        let o = auth.authenticate(&v).await;
        assert!(o.state.identity().is_none(), "{user}: session survived");
    }
}
