//! **(v2)** "Login throttling": the rows every demo serves alike. The
//! suite's requests all come from one client (the harness's peer address).

use super::{expect_status, password, post, post_json, Harness, Resp, HOST};

fn creds(user: &str, pass: &str) -> serde_json::Value {
    serde_json::json!({ "username": user, "password": pass })
}

/// A 429 of the contract: `{"error":"too many attempts"}`, a `Retry-After`
/// of whole seconds between 1 and the 60 s lockout, no cookie, no-store.
fn expect_throttled(r: &Resp, row: &str) {
    expect_status(r, 429, row);
    assert_eq!(
        r.json(),
        serde_json::json!({"error": "too many attempts"}),
        "[{row}] body"
    );
    let retry = r.header("retry-after").unwrap_or_default();
    let secs: u64 = retry.parse().unwrap_or(0);
    assert!((1..=60).contains(&secs), "[{row}] Retry-After {retry:?}");
    assert!(r.headers_all("set-cookie").is_empty(), "[{row}] no cookie");
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("no-store"),
        "[{row}] no-store"
    );
}

/// After `LOGIN_MAX_FAILURES` (5) failures of one username from one
/// client, its logins answer 429 even with the right password, on both
/// login routes (one count); attempts refused so are not counted; another
/// username is not affected.
pub async fn login_throttling<H: Harness>(h: &H) {
    for i in 0..5 {
        let r = post_json(h, "/session/login", &[], &creds("bob", "wrong")).await;
        expect_status(&r, 401, &format!("POST /session/login (failure {})", i + 1));
    }
    let row = "POST /session/login (right password, throttled)";
    let r = post_json(h, "/session/login", &[], &creds("bob", &password("bob"))).await;
    expect_throttled(&r, row);
    let r = post_json(h, "/jwt/login", &[], &creds("bob", &password("bob"))).await;
    expect_throttled(&r, "POST /jwt/login (the same count)");
    assert!(
        r.header("www-authenticate").is_none(),
        "no challenge on a 429"
    );
    let r = post_json(
        h,
        "/session/login",
        &[],
        &creds("alice", &password("alice")),
    )
    .await;
    expect_status(&r, 200, "POST /session/login (another username)");
}

/// An unknown username is throttled exactly like a known one, with the
/// same bytes.
pub async fn login_throttling_unknown_user<H: Harness>(h: &H) {
    let mut answers = Vec::new();
    for user in ["bob", "nobody-at-all"] {
        for _ in 0..5 {
            let r = post_json(h, "/jwt/login", &[], &creds(user, "wrong")).await;
            expect_status(&r, 401, "POST /jwt/login (failure)");
            answers.push((r.body.clone(), r.header("content-type")));
        }
        let r = post_json(h, "/jwt/login", &[], &creds(user, "wrong")).await;
        expect_throttled(&r, &format!("POST /jwt/login ({user}, throttled)"));
        answers.push((r.body.clone(), r.header("content-type")));
    }
    assert_eq!(
        answers[..6],
        answers[6..],
        "known and unknown usernames answer alike"
    );
}

/// The order of answers: 403 (cross-origin) and 400 (body) come before
/// 429; 429 before 401.
pub async fn login_throttling_answer_order<H: Harness>(h: &H) {
    for _ in 0..5 {
        post_json(h, "/session/login", &[], &creds("bob", "wrong")).await;
    }
    let host: (&str, &[u8]) = ("host", HOST.as_bytes());
    let cross = [host, ("sec-fetch-site", b"cross-site".as_slice())];
    let r = post_json(h, "/session/login", &cross, &creds("bob", "wrong")).await;
    expect_status(&r, 403, "POST /session/login (cross-origin, throttled)");
    let json = [("content-type", b"application/json".as_slice())];
    let r = h.send("POST", "/session/login", &json, b"{not json").await;
    expect_status(&r, 400, "POST /session/login (malformed, throttled)");
    let r = post(h, "/jwt/login", &json).await;
    expect_status(&r, 400, "POST /jwt/login (no body, throttled)");
    let r = post_json(h, "/session/login", &[], &creds("bob", "wrong")).await;
    expect_throttled(&r, "POST /session/login (wrong password, throttled)");
}
