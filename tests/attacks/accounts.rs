//! **(v2)** The account and Administration routes under attack: every
//! unsafe cookie route needs its CSRF token and the cross-origin rule, an
//! `id_hint` is never a credential, another user's credentials are out of
//! reach, and hostile paths and bodies get a 4xx JSON answer.

use serde_json::{json, Value};

use super::{session_401, token_401, want, Attack, Req, BEARER};
use crate::contract::Harness;

/// Every unsafe cookie route of the account and Administration sections.
fn unsafe_routes() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "POST",
            "/session/revoke",
            json!({"id_hint": "0123456789ab"}),
        ),
        ("POST", "/session/logout-others", Value::Null),
        ("PATCH", "/session/data", json!({"k": 1})),
        (
            "POST",
            "/session/reauth",
            json!({"password": "alice-password"}),
        ),
        ("PUT", "/admin/users/bob/roles", json!({"roles": []})),
        ("POST", "/admin/users/bob/logout-all", Value::Null),
    ]
}

fn with_body(req: Req, body: &Value) -> Req {
    if body.is_null() {
        req
    } else {
        req.json(body)
    }
}

pub async fn accounts<H: Harness>(a: &mut Attack<'_, H>) {
    let alice = a.login("alice", &[]).await;
    let admin = a.login("admin", &[]).await;
    let bob = a.login("bob", &[]).await;
    let bob_t = a.tokens("bob").await;
    // CSRF and the cross-origin rule on every unsafe cookie route (the
    // admin's session, so the admin routes would otherwise pass).
    for (method, path, body) in unsafe_routes() {
        let s = if path.starts_with("/admin") {
            &admin
        } else {
            &alice
        };
        let base = || with_body(Req::new(method, path).cookie(&s.cookie).host(), &body);
        a.case(&format!("{method} {path} without CSRF"), base(), want(403))
            .await;
        a.case(
            &format!("{method} {path} wrong CSRF"),
            base().csrf("A".repeat(43)),
            want(403),
        )
        .await;
        a.case(
            &format!("{method} {path} cross-site"),
            base().csrf(&s.csrf).h("sec-fetch-site", "cross-site"),
            want(403),
        )
        .await;
        a.case(
            &format!("{method} {path} foreign Origin"),
            base().csrf(&s.csrf).h("origin", "https://evil.example"),
            want(403),
        )
        .await;
    }
    a.me(
        "nothing ended by the refused requests",
        &bob,
        want(200).user("bob"),
    )
    .await;
    a.me(
        "nothing ended by the refused requests",
        &alice,
        want(200).user("alice"),
    )
    .await;
    // An id_hint is no credential.
    let r = a
        .case(
            "GET /session/list",
            Req::get("/session/list").cookie(&bob.cookie),
            want(200),
        )
        .await;
    let list: Value = serde_json::from_slice(&r.body).unwrap_or_default();
    let hints: Vec<String> = list["sessions"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["id_hint"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    a.ensure(hints.len() == 2, "bob's devices", || format!("{list}"));
    for hint in &hints {
        let as_cookie = format!("{}={hint}", bob.name);
        a.case(
            "id_hint as the session cookie",
            Req::get("/session/me").cookie(&as_cookie),
            session_401(),
        )
        .await;
        a.case(
            "id_hint as a bearer token",
            Req::get("/jwt/me").bearer(hint),
            token_401(),
        )
        .await;
        a.case(
            "id_hint as a refresh token",
            Req::post("/jwt/refresh").json(&json!({ "refresh_token": hint })),
            token_401(),
        )
        .await;
        // Another user's credential is out of reach, by cookie or token.
        a.case(
            "revoke another user's hint",
            Req::post("/session/revoke")
                .session(&alice)
                .json(&json!({ "id_hint": hint })),
            want(404),
        )
        .await;
    }
    for hint in [
        "",
        &"f".repeat(12_000),
        "../../etc",
        "\u{202e}abc",
        "0123456789AB",
    ] {
        a.case(
            "revoke a hostile hint",
            Req::post("/session/revoke")
                .session(&alice)
                .json(&json!({ "id_hint": hint })),
            want(404).or_refused(),
        )
        .await;
    }
    a.me("bob's session survives", &bob, want(200).user("bob"))
        .await;
    a.case(
        "bob's token survives",
        Req::get("/jwt/me").bearer(&bob_t.access),
        want(200).user("bob"),
    )
    .await;
    // Hostile bodies.
    let deep = format!("{}1{}", "{\"a\":".repeat(300), "}".repeat(300));
    for (name, body) in [
        ("deeply nested", deep.into_bytes()),
        ("not JSON", b"{\"k\":".to_vec()),
        ("an array", b"[1,2]".to_vec()),
        ("non-UTF-8", b"{\"k\":\"\xff\"}".to_vec()),
    ] {
        a.case(
            &format!("PATCH /session/data {name}"),
            Req::new("PATCH", "/session/data")
                .session(&alice)
                .raw_json(body),
            want(400),
        )
        .await;
    }
    a.case(
        "PATCH /session/data past the cap",
        Req::new("PATCH", "/session/data")
            .session(&alice)
            .json(&json!({ "x": "y".repeat(5_000) })),
        want(413),
    )
    .await;
    for roles in [
        json!({"roles": ["admin", "admin"]}),
        json!({"roles": [null]}),
        json!({"roles": {}}),
    ] {
        a.case(
            "PUT roles, hostile body",
            Req::new("PUT", "/admin/users/bob/roles")
                .session(&admin)
                .json(&roles),
            want(400),
        )
        .await;
    }
    // Hostile user names in admin paths: 200 with nothing, or a 4xx.
    for user in ["%00", "..%2F..%2Fx", "%E2%80%AE", "a%20b"] {
        a.case(
            "admin list of a hostile user name",
            Req::get(&format!("/admin/users/{user}/sessions")).cookie(&admin.cookie),
            want(200),
        )
        .await;
    }
    a.case(
        "admin list of a non-UTF-8 user name",
        Req::get("/admin/users/%FF/sessions").cookie(&admin.cookie),
        want(200),
    )
    .await;
    // Schemes stay apart.
    a.case(
        "reauth with a bearer token",
        Req::post("/session/reauth")
            .bearer(&bob_t.access)
            .json(&json!({"password": "bob-password"})),
        session_401(),
    )
    .await;
    a.case(
        "jwt revoke with a cookie",
        Req::post("/jwt/revoke")
            .session(&bob)
            .json(&json!({"id_hint": "x"})),
        want(401).challenge(BEARER),
    )
    .await;
    a.case(
        "admin routes with alice's token",
        Req::post("/admin/users/bob/logout-all").bearer(&a.tokens("alice").await.access),
        want(403),
    )
    .await;
    a.me(
        "bob is still in after all of it",
        &bob,
        want(200).user("bob"),
    )
    .await;
}
