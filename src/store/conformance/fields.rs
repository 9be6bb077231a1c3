//! Every field of every record kind survives every write, and the paths
//! that read them work over the store: a store that keeps only the fields
//! it looks at passes the rule checks and still breaks its users (a
//! refresh family that loads back as a cookie session refuses every
//! refresh).

use std::sync::Arc;
use std::time::Duration;

use super::{key, user};
use crate::clock::{Clock, SystemClock};
use crate::jwt::{KeyRegistry, MemoryRevocationList, RevocationList, TokenConfig};
use crate::store::{FamilyState, RecordKind, Rotation, SessionKey, SessionRecord, SessionStore};
use crate::{Authenticator, LoginThrottle, RequestView, Requirement, SessionHandle};

/// A record with every field away from its default.
fn full(user: &str, kind: RecordKind, salt: u8) -> SessionRecord {
    let now = SystemClock.now();
    let mut r = SessionRecord::new(user, now - 5, 600 + u64::from(salt), 3_600);
    r.kind = kind;
    r.roles = vec!["user".into(), format!("role-{salt}")].into();
    r.created_at_ms = (now - 5) * 1000 + 123 + u64::from(salt);
    r.last_seen = now - 1;
    r.ip = Some(std::net::IpAddr::from([192, 0, 2, salt]));
    r.user_agent = Some(format!("conformance agent/{salt}").into());
    r.secret = [salt; 32];
    r.authenticated_at = now - 2;
    r.persistent = salt.is_multiple_of(2);
    r.set_hint((kind == RecordKind::Session).then(|| format!("hint{salt}")));
    r.set_family((kind == RecordKind::RefreshFamily).then(|| FamilyState {
        current: [salt.wrapping_add(1); 32],
        rotation: Some(Rotation {
            spent: [salt.wrapping_add(2); 32],
            nonce: [salt.wrapping_add(3); 32],
            at_ms: 1_000 + u64::from(salt),
        }),
    }));
    r.data.insert(
        "nested".into(),
        serde_json::json!({"n": salt, "list": [1, "two", null, 2.5]}),
    );
    r.data
        .insert("text".into(), format!("ünïcødé \"{salt}\" \\ ' ;").into());
    r
}

/// The names of the fields in which `got` differs from `want`.
fn differing(got: &SessionRecord, want: &SessionRecord) -> Vec<&'static str> {
    let checks: [(&str, bool); 18] = [
        ("kind", got.kind == want.kind),
        ("user_id", got.user_id == want.user_id),
        ("roles", got.roles == want.roles),
        ("created_at", got.created_at == want.created_at),
        ("created_at_ms", got.created_at_ms == want.created_at_ms),
        ("last_seen", got.last_seen == want.last_seen),
        (
            "idle_expires_at",
            got.idle_expires_at == want.idle_expires_at,
        ),
        (
            "absolute_expires_at",
            got.absolute_expires_at == want.absolute_expires_at,
        ),
        ("ip", got.ip == want.ip),
        ("user_agent", got.user_agent == want.user_agent),
        ("secret", got.secret == want.secret),
        ("family (refresh state)", got.family() == want.family()),
        (
            "authenticated_at",
            got.authenticated_at == want.authenticated_at,
        ),
        ("persistent", got.persistent == want.persistent),
        ("hint", got.hint() == want.hint()),
        ("moved_to", got.moved_to() == want.moved_to()),
        ("data", got.data == want.data),
        ("version", got.version == want.version),
    ];
    checks
        .iter()
        .filter(|(_, same)| !same)
        .map(|(n, _)| *n)
        .collect()
}

fn assert_whole(got: &SessionRecord, want: &SessionRecord, after: &str) {
    let bad = differing(got, want);
    assert!(
        bad.is_empty(),
        "after {after}, these fields did not round-trip: {bad:?} (store the record whole, \
         e.g. its serde JSON in one column)"
    );
}

/// Every field, of a session and of a refresh family, after `create`,
/// after an `update` that changes every field, and as `list_user` and
/// `list_user_kind` return them.
pub(super) async fn every_field_round_trips<S: SessionStore>(s: &S) {
    let u = user("fields");
    for (kind, salt) in [(RecordKind::Session, 10), (RecordKind::RefreshFamily, 20)] {
        let k = key();
        let mut want = full(&u, kind, salt);
        s.create(&k, &want).await.expect("create");
        let got = s.load(&k).await.expect("load").expect("just created");
        want.version = got.version;
        assert_whole(&got, &want, &format!("create + load of a {kind:?}"));

        let mut changed = full(&u, kind, salt + 1);
        changed.version = got.version;
        changed.set_moved_to(Some(SessionKey::from_bytes([salt; 32]).to_hex()));
        let v = s.update(&k, &changed).await.expect("update");
        changed.version = v;
        let got = s.load(&k).await.expect("load").expect("just updated");
        assert_whole(&got, &changed, &format!("update + load of a {kind:?}"));

        let listed = s.list_user_kind(&u, kind).await.expect("list_user_kind");
        let (_, got) = listed
            .iter()
            .find(|(lk, _)| *lk == k)
            .expect("list_user_kind must return the record");
        assert_whole(
            got,
            &changed,
            &format!("update + list_user_kind of a {kind:?}"),
        );
        let listed = s.list_user(&u).await.expect("list_user");
        let (_, got) = listed
            .iter()
            .find(|(lk, _)| *lk == k)
            .expect("list_user must return the record");
        assert_whole(got, &changed, &format!("update + list_user of a {kind:?}"));
    }
    s.delete_user(&u).await.expect("delete_user");
}

/// An authenticator over the store, as an application would build it.
fn authenticator(store: Arc<dyn SessionStore>) -> Authenticator {
    let revocations: Arc<dyn RevocationList> = store
        .revocation_list(Duration::from_secs(86_400))
        .unwrap_or_else(|| Arc::new(MemoryRevocationList::default()));
    let secret = crate::id::random_32().expect("OS RNG");
    Authenticator::builder()
        .store(store)
        .revocations(revocations)
        .login_throttle(LoginThrottle::disabled())
        .tokens(TokenConfig::new(
            KeyRegistry::hs256("conformance", &secret).expect("key"),
        ))
        .build()
        .expect("an authenticator over the store")
}

/// A session login, requests with its cookie, the device list and logout;
/// a refresh-token chain, reuse detection and the access tokens it mints.
pub(super) async fn paths_that_read_the_fields<S: SessionStore>(store: Arc<S>) {
    let auth = authenticator(store);
    let u = user("paths");
    let ua = b"conformance-browser/1.0";
    let ip: std::net::IpAddr = [198, 51, 100, 7].into();

    let mut view = RequestView::new("POST");
    view.add_header("user-agent", ua);
    view.set_peer_ip(ip);
    let outcome = auth.authenticate(&view).await;
    SessionHandle::new(outcome.clone())
        .login(&u, vec!["user".into()])
        .await
        .expect("a session login must succeed over the store");
    let set_cookie = outcome
        .take_response_headers()
        .find(|(n, _)| *n == "set-cookie")
        .map(|(_, v)| v)
        .expect("a login sets its cookie");
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();

    let mut view = RequestView::new("GET");
    view.add_header("cookie", cookie.as_bytes());
    view.add_header("user-agent", ua);
    view.set_peer_ip(ip);
    let outcome = auth.authenticate(&view).await;
    let who = outcome
        .state
        .require(&Requirement::Authenticated)
        .map(|id| id.subject().to_owned());
    assert_eq!(
        who.as_deref().ok(),
        Some(u.as_str()),
        "a request with the login's cookie must be the user's"
    );
    let handle = SessionHandle::new(outcome.clone());
    let devices = handle.list().await.expect("the device list");
    let this = devices
        .iter()
        .find(|d| d.current)
        .expect("the device list must show the current session");
    assert_eq!(
        this.kind,
        RecordKind::Session,
        "the session lists as a session"
    );
    assert_eq!(this.ip, Some(ip), "the login's IP must be kept");
    assert_eq!(
        this.user_agent.as_deref(),
        Some("conformance-browser/1.0"),
        "the login's User-Agent must be kept"
    );
    handle.logout().await.expect("logout");
    let outcome = auth.authenticate(&view).await;
    assert!(
        outcome.state.require(&Requirement::Authenticated).is_err(),
        "after logout the cookie must be refused"
    );

    let tokens = auth.tokens().expect("token mode");
    let first = tokens
        .issue(&u, &["user".into()])
        .await
        .expect("issuing a token pair must succeed over the store");
    let second = tokens.refresh(&first.refresh_token).await.expect(
        "refreshing a new family must succeed (kind and refresh state must survive create)",
    );
    let third = tokens
        .refresh(&second.refresh_token)
        .await
        .expect("refreshing again must succeed (kind and refresh state must survive update)");
    tokens
        .authenticate(third.access_token.as_bytes())
        .await
        .expect("the refreshed access token must be accepted");
    assert!(
        tokens.refresh(&first.refresh_token).await.is_err(),
        "a spent refresh token must be refused"
    );
    assert!(
        tokens.refresh(&third.refresh_token).await.is_err(),
        "reusing a spent refresh token must end its family"
    );
    auth.logout_everywhere(&u).await.expect("logout everywhere");
}
