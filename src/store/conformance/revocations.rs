//! The revocation-list kit: the [`RevocationList`] contract, checked the
//! same way against every implementation.

use std::future::Future;
use std::sync::Arc;

use super::user;
use crate::clock::{Clock, SystemClock};
use crate::jwt::RevocationList;

/// Run every check against revocation lists made by `make` (an
/// `Arc<dyn RevocationList>`, as [`SessionStore::revocation_list`](crate::store::SessionStore::revocation_list)
/// returns, is fine).
///
/// ```
/// use std::sync::Arc;
/// use portcullis::jwt::MemoryRevocationList;
/// use portcullis::store::conformance;
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// conformance::run_revocation_list(|| async { Arc::new(MemoryRevocationList::default()) }).await;
/// # });
/// ```
///
/// # Panics
/// On the first broken rule, with a message that names it.
pub async fn run_revocation_list<L, F, Fut>(make: F)
where
    L: RevocationList + ?Sized,
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<L>>,
{
    tokens(&*make().await).await;
    families(&*make().await).await;
    subjects(&*make().await).await;
    namespaces_are_apart(&*make().await).await;
    concurrent_cutoffs_keep_the_latest(make().await).await;
}

fn now() -> u64 {
    SystemClock.now()
}

fn now_ms() -> u64 {
    SystemClock.now_millis()
}

async fn revoked<L: RevocationList + ?Sized>(
    l: &L,
    jti: &str,
    family: Option<&str>,
    subject: &str,
    iat_ms: u64,
) -> bool {
    l.is_revoked(jti, family, subject, iat_ms)
        .await
        .expect("is_revoked")
}

/// A revoked `jti` is refused; another is not.
async fn tokens<L: RevocationList + ?Sized>(l: &L) {
    let (jti, other, sub) = (user("jti"), user("jti-other"), user("sub"));
    assert!(
        !revoked(l, &jti, None, &sub, now_ms()).await,
        "nothing revoked yet"
    );
    l.revoke_token(&jti, now() + 600)
        .await
        .expect("revoke_token");
    assert!(
        revoked(l, &jti, None, &sub, now_ms()).await,
        "a revoked jti must be refused"
    );
    assert!(
        revoked(l, &jti, Some(&user("fam")), &sub, now_ms()).await,
        "a revoked jti must be refused whatever its family"
    );
    assert!(
        !revoked(l, &other, None, &sub, now_ms()).await,
        "another jti must pass"
    );
    l.revoke_token(&jti, now() + 600)
        .await
        .expect("revoking twice is fine");
    assert!(
        revoked(l, &jti, None, &sub, now_ms()).await,
        "still refused"
    );
}

/// A revoked family refuses every token that names it, and only those.
async fn families<L: RevocationList + ?Sized>(l: &L) {
    let (fam, other, sub) = (user("fam"), user("fam-other"), user("sub"));
    l.revoke_family(&fam, now() + 600)
        .await
        .expect("revoke_family");
    for jti in [user("a"), user("b")] {
        assert!(
            revoked(l, &jti, Some(&fam), &sub, now_ms()).await,
            "every token of a revoked family must be refused"
        );
        assert!(
            !revoked(l, &jti, Some(&other), &sub, now_ms()).await,
            "a token of another family must pass"
        );
        assert!(
            !revoked(l, &jti, None, &sub, now_ms()).await,
            "a token without a family must pass"
        );
    }
    // The empty family is a name like any other, never "no family".
    l.revoke_family("", now() + 600)
        .await
        .expect("revoke_family");
    assert!(
        !revoked(l, &user("c"), None, &sub, now_ms()).await,
        "a token without a family must pass even when a family \"\" is revoked"
    );
}

/// A subject cut-off refuses tokens issued up to the instant, keeps the
/// later of two instants, and touches no other subject.
async fn subjects<L: RevocationList + ?Sized>(l: &L) {
    let (sub, other, jti) = (user("sub"), user("sub-other"), user("jti"));
    let t = now_ms();
    l.revoke_subject_before(&sub, t)
        .await
        .expect("revoke_subject_before");
    assert!(
        revoked(l, &jti, None, &sub, t - 1).await,
        "issued before the cut-off"
    );
    assert!(
        revoked(l, &jti, None, &sub, t).await,
        "issued at the cut-off"
    );
    assert!(
        !revoked(l, &jti, None, &sub, t + 1).await,
        "issued after the cut-off"
    );
    assert!(
        !revoked(l, &jti, None, &other, t - 1).await,
        "another subject must pass"
    );
    l.revoke_subject_before(&sub, t - 10_000)
        .await
        .expect("revoke_subject_before");
    assert!(
        revoked(l, &jti, None, &sub, t).await,
        "an earlier cut-off must not replace a later one"
    );
    l.revoke_subject_before(&sub, t + 5)
        .await
        .expect("revoke_subject_before");
    assert!(
        revoked(l, &jti, None, &sub, t + 5).await,
        "a later cut-off must win"
    );
    assert!(
        !revoked(l, &jti, None, &sub, t + 6).await,
        "after the later cut-off"
    );
}

/// The same string as a `jti`, a family and a subject: three entries.
async fn namespaces_are_apart<L: RevocationList + ?Sized>(l: &L) {
    let name = user("shared-name");
    let (jti, sub) = (user("jti"), user("sub"));
    l.revoke_token(&name, now() + 600)
        .await
        .expect("revoke_token");
    assert!(
        !revoked(l, &jti, Some(&name), &name, now_ms()).await,
        "a revoked jti must not revoke a family or subject of the same name"
    );
    let fam = user("fam");
    l.revoke_family(&fam, now() + 600)
        .await
        .expect("revoke_family");
    assert!(
        !revoked(l, &fam, None, &fam, now_ms()).await,
        "a revoked family must not revoke a jti or subject of the same name"
    );
    let subject = user("subject");
    l.revoke_subject_before(&subject, now_ms())
        .await
        .expect("cut-off");
    assert!(
        !revoked(l, &subject, Some(&subject), &sub, now_ms() - 1).await,
        "a subject cut-off must not revoke a jti or family of the same name"
    );
}

/// Many cut-offs for one subject at once: the latest instant stands.
async fn concurrent_cutoffs_keep_the_latest<L: RevocationList + ?Sized>(l: Arc<L>) {
    let sub = user("race");
    let base = now_ms();
    let tasks: Vec<_> = (0..16u64)
        .map(|i| {
            let (l, sub) = (l.clone(), sub.clone());
            tokio::spawn(async move { l.revoke_subject_before(&sub, base + i * 10).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("revoke_subject_before");
    }
    let jti = user("jti");
    assert!(
        revoked(&*l, &jti, None, &sub, base + 150).await,
        "the latest of concurrent cut-offs must stand"
    );
    assert!(
        !revoked(&*l, &jti, None, &sub, base + 151).await,
        "nothing later"
    );
}
