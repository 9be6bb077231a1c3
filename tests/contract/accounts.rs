//! **(v2)** The account rows: devices (`/session/list`, `/session/revoke`,
//! `/session/logout-others` and their `/jwt/` twins), session data,
//! remember-me, step-up (`/session/sensitive`, `/session/reauth`) and the
//! Administration section. The suite runs with `FRESH_AUTH_SECS=2`.

use serde_json::{json, Value};

use super::{
    cookie_pair, expect_error_body, expect_status, get, is_removal, login_session, login_tokens,
    password, post, post_json, refresh, session_status, token_status, Harness, Resp, Session,
    Tokens, HOST, JSON_CT,
};

fn hdr<'a>(name: &'a str, value: &'a str) -> (&'a str, &'a [u8]) {
    (name, value.as_bytes())
}

/// `GET path` with the session's cookie.
async fn get_as<H: Harness>(h: &H, path: &str, s: &Session) -> Resp {
    get(h, path, &[hdr("cookie", &s.cookie)]).await
}

/// `GET path` with the bearer token.
async fn get_bearer<H: Harness>(h: &H, path: &str, t: &Tokens) -> Resp {
    get(h, path, &[hdr("authorization", &t.bearer())]).await
}

/// `method path` with the session's cookie, CSRF token and a JSON body.
async fn send_as<H: Harness>(
    h: &H,
    method: &str,
    path: &str,
    s: &Session,
    csrf: Option<&str>,
    body: &Value,
) -> Resp {
    let mut headers = vec![JSON_CT, hdr("cookie", &s.cookie)];
    if let Some(t) = csrf {
        headers.push(hdr("x-csrf-token", t));
    }
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    h.send(method, path, &headers, &bytes).await
}

/// The caller's device list from `path` with `headers`.
async fn devices<H: Harness>(h: &H, path: &str, headers: &[(&str, &[u8])]) -> Vec<Value> {
    let r = get(h, path, headers).await;
    expect_status(&r, 200, path);
    r.json()["sessions"].as_array().cloned().unwrap_or_default()
}

fn hint_where(list: &[Value], pred: impl Fn(&Value) -> bool) -> String {
    list.iter()
        .find(|e| pred(e))
        .and_then(|e| e["id_hint"].as_str())
        .unwrap_or_else(|| panic!("no matching entry in {list:?}"))
        .to_owned()
}

fn current_hint(list: &[Value]) -> String {
    hint_where(list, |e| e["current"] == true)
}

#[track_caller]
fn expect_not_found(r: &Resp, row: &str) {
    expect_status(r, 404, row);
    assert_eq!(r.json(), json!({"error": "not found"}), "[{row}] body");
}

/// `GET /session/list` (v2): sessions and token families together, oldest
/// first, in the documented format; hints stable across ID rotation.
pub async fn session_list_v2<H: Harness>(h: &H) {
    let row = "GET /session/list (v2)";
    let s = login_session(h, "alice", &[]).await;
    let _t = login_tokens(h, "alice").await;
    let list = devices(h, "/session/list", &[hdr("cookie", &s.cookie)]).await;
    assert_eq!(list.len(), 2, "[{row}] a session and a family: {list:?}");
    assert_eq!(list[0]["kind"], "session", "[{row}] oldest first");
    assert_eq!(list[1]["kind"], "token", "[{row}] the family");
    assert_eq!(list[1]["current"], false, "[{row}]");
    for e in &list {
        let keys: Vec<&str> = e
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "created_at",
                "current",
                "id_hint",
                "ip",
                "kind",
                "last_seen",
                "user_agent"
            ],
            "[{row}] members"
        );
        assert!(
            e["created_at"].is_u64() && e["last_seen"].is_u64(),
            "[{row}] integer seconds"
        );
        assert!(e["ip"].is_null() || e["ip"].is_string(), "[{row}] ip");
        assert!(
            e["user_agent"].is_null() || e["user_agent"].is_string(),
            "[{row}] ua"
        );
    }
    let before = current_hint(&list);
    // Re-authentication rotates the ID; the hint stays.
    let r = send_as(
        h,
        "POST",
        "/session/reauth",
        &s,
        Some(&s.csrf),
        &json!({"password": password("alice")}),
    )
    .await;
    expect_status(&r, 200, "POST /session/reauth");
    let (name, value) = cookie_pair(&r.header("set-cookie").unwrap_or_default());
    let rotated = Session {
        cookie: format!("{name}={value}"),
        ..s.clone()
    };
    let list = devices(h, "/session/list", &[hdr("cookie", &rotated.cookie)]).await;
    assert_eq!(
        current_hint(&list),
        before,
        "[{row}] id_hint stable across rotation"
    );
    // A hint is no credential.
    let as_cookie = format!("{}={before}", s.name);
    let r = get(h, "/session/me", &[hdr("cookie", &as_cookie)]).await;
    expect_status(&r, 401, "id_hint as a cookie");
    let family = hint_where(&list, |e| e["kind"] == "token");
    expect_status(
        &refresh(h, &family).await,
        401,
        "id_hint as a refresh token",
    );
}

/// `POST /session/revoke`: one of the caller's sessions or families ends;
/// another user's hint or an unknown one is 404 and changes nothing.
pub async fn session_revoke<H: Harness>(h: &H) {
    let row = "POST /session/revoke";
    let a = login_session(h, "alice", &[]).await;
    let b = login_session(h, "alice", &[]).await;
    let t = login_tokens(h, "alice").await;
    let bob = login_session(h, "bob", &[]).await;
    let list = devices(h, "/session/list", &[hdr("cookie", &a.cookie)]).await;
    let b_hint = hint_where(&list, |e| e["kind"] == "session" && e["current"] == false);
    let t_hint = hint_where(&list, |e| e["kind"] == "token");
    let bob_hint = current_hint(&devices(h, "/session/list", &[hdr("cookie", &bob.cookie)]).await);
    let revoke = |s: &Session, csrf: Option<&str>, hint: &str| {
        let body = json!({ "id_hint": hint });
        let (s, csrf) = (s.clone(), csrf.map(str::to_owned));
        async move { send_as(h, "POST", "/session/revoke", &s, csrf.as_deref(), &body).await }
    };
    // CSRF and cross-origin first.
    expect_status(&revoke(&a, None, &b_hint).await, 403, "revoke without CSRF");
    let cross = {
        let body = serde_json::to_vec(&json!({ "id_hint": b_hint })).unwrap_or_default();
        let headers = [
            JSON_CT,
            hdr("cookie", &a.cookie),
            hdr("x-csrf-token", &a.csrf),
            hdr("sec-fetch-site", "cross-site"),
            hdr("host", HOST),
        ];
        h.send("POST", "/session/revoke", &headers, &body).await
    };
    expect_status(&cross, 403, "cross-site revoke");
    assert_eq!(
        session_status(h, &b).await,
        200,
        "[{row}] a refused revoke changes nothing"
    );
    // Another user's hint and an unknown hint: the same 404.
    let other = revoke(&a, Some(&a.csrf), &bob_hint).await;
    expect_not_found(&other, "revoke another user's hint");
    let unknown = revoke(&a, Some(&a.csrf), "0123456789ab").await;
    expect_not_found(&unknown, "revoke an unknown hint");
    assert_eq!(other.body, unknown.body, "[{row}] indistinguishable");
    assert_eq!(
        session_status(h, &bob).await,
        200,
        "[{row}] bob's session stays"
    );
    // One session.
    let r = revoke(&a, Some(&a.csrf), &b_hint).await;
    expect_status(&r, 204, row);
    assert_eq!(
        session_status(h, &b).await,
        401,
        "[{row}] the revoked session ends"
    );
    assert_eq!(
        session_status(h, &a).await,
        200,
        "[{row}] the caller's stays"
    );
    // A family: its refresh token and its latest access token end at once.
    expect_status(
        &revoke(&a, Some(&a.csrf), &t_hint).await,
        204,
        "revoke a family",
    );
    assert_eq!(
        token_status(h, &t.access).await,
        401,
        "[{row}] the family's access token"
    );
    expect_status(
        &refresh(h, &t.refresh).await,
        401,
        "the family's refresh token",
    );
    // The caller's own session: ends, with a removal cookie.
    let own = current_hint(&devices(h, "/session/list", &[hdr("cookie", &a.cookie)]).await);
    let r = revoke(&a, Some(&a.csrf), &own).await;
    expect_status(&r, 204, "revoke the current session");
    assert!(
        r.header("set-cookie").is_some_and(|c| is_removal(&c)),
        "[{row}] removal cookie"
    );
    assert_eq!(
        session_status(h, &a).await,
        401,
        "[{row}] the current session ends"
    );
    let r = revoke(&a, Some(&a.csrf), &own).await;
    expect_status(&r, 401, "revoke without a session");
    let bad = {
        let headers = [
            JSON_CT,
            hdr("cookie", &bob.cookie),
            hdr("x-csrf-token", &bob.csrf),
        ];
        h.send("POST", "/session/revoke", &headers, b"[1]").await
    };
    expect_status(&bad, 400, "revoke with a body that is not {\"id_hint\"}");
}

/// `POST /session/logout-others`: everything of the caller but the current
/// session ends (sessions and families).
pub async fn session_logout_others<H: Harness>(h: &H) {
    let row = "POST /session/logout-others";
    let a = login_session(h, "alice", &[]).await;
    let b = login_session(h, "alice", &[]).await;
    let t = login_tokens(h, "alice").await;
    let bob = login_session(h, "bob", &[]).await;
    let r = post(h, "/session/logout-others", &[hdr("cookie", &a.cookie)]).await;
    expect_status(&r, 403, "logout-others without CSRF");
    assert_eq!(
        session_status(h, &b).await,
        200,
        "[{row}] refused: nothing ends"
    );
    let r = post(
        h,
        "/session/logout-others",
        &[hdr("cookie", &a.cookie), hdr("x-csrf-token", &a.csrf)],
    )
    .await;
    expect_status(&r, 204, row);
    assert!(
        r.headers_all("set-cookie").iter().all(|c| !is_removal(c)),
        "[{row}] no removal cookie"
    );
    assert_eq!(
        session_status(h, &a).await,
        200,
        "[{row}] the current session stays"
    );
    assert_eq!(
        session_status(h, &b).await,
        401,
        "[{row}] the other session ends"
    );
    assert_eq!(
        token_status(h, &t.access).await,
        401,
        "[{row}] the family's access token"
    );
    expect_status(
        &refresh(h, &t.refresh).await,
        401,
        "the family's refresh token",
    );
    assert_eq!(
        session_status(h, &bob).await,
        200,
        "[{row}] other users keep theirs"
    );
    let list = devices(h, "/session/list", &[hdr("cookie", &a.cookie)]).await;
    assert_eq!(list.len(), 1, "[{row}] exactly the current one is left");
    expect_status(
        &post(h, "/session/logout-others", &[]).await,
        401,
        "logout-others without a session",
    );
}

/// `GET`/`PATCH /session/data`: top-level merge, `null` removes, 400 for a
/// non-object, 413 past 4096 bytes with nothing changed, no lost update,
/// data kept across rotation.
pub async fn session_data<H: Harness>(h: &H) {
    let row = "PATCH /session/data";
    let s = login_session(h, "alice", &[]).await;
    let r = get_as(h, "/session/data", &s).await;
    expect_status(&r, 200, "GET /session/data");
    assert_eq!(
        r.json(),
        json!({"data": {}}),
        "[GET /session/data] empty after login"
    );
    let patch = |body: Value, csrf: Option<String>| {
        let s = s.clone();
        async move { send_as(h, "PATCH", "/session/data", &s, csrf.as_deref(), &body).await }
    };
    let csrf = || Some(s.csrf.clone());
    let r = patch(json!({"theme": "dark", "cart": [1, 2], "n": 1}), csrf()).await;
    expect_status(&r, 200, row);
    assert_eq!(
        r.json(),
        json!({"data": {"theme": "dark", "cart": [1, 2], "n": 1}}),
        "[{row}]"
    );
    let r = patch(json!({"n": null, "cart": {"x": 1}}), csrf()).await;
    assert_eq!(
        r.json(),
        json!({"data": {"theme": "dark", "cart": {"x": 1}}}),
        "[{row}] merge"
    );
    expect_status(
        &patch(json!({"a": 1}), None).await,
        403,
        "PATCH without CSRF",
    );
    for bad in [json!([1]), json!("text"), json!(null)] {
        expect_status(&patch(bad, csrf()).await, 400, "PATCH with a non-object");
    }
    let big = patch(json!({"blob": "x".repeat(4100)}), csrf()).await;
    expect_status(&big, 413, "PATCH past 4096 bytes");
    assert_eq!(
        big.json(),
        json!({"error": "payload too large"}),
        "[{row}] 413 body"
    );
    let r = get_as(h, "/session/data", &s).await;
    assert_eq!(
        r.json(),
        json!({"data": {"theme": "dark", "cart": {"x": 1}}}),
        "[{row}] unchanged"
    );
    // Exactly at the cap passes: {"theme":"dark","cart":{"x":1},"pad":"..."}.
    let used = r#"{"cart":{"x":1},"pad":"","theme":"dark"}"#.len();
    let r = patch(json!({"pad": "p".repeat(4096 - used)}), csrf()).await;
    expect_status(&r, 200, "PATCH to exactly 4096 bytes");
    let r = patch(json!({"pad": null}), csrf()).await;
    expect_status(&r, 200, row);
    // Concurrent PATCHes of different members all survive.
    let writes = (0..12).map(|i| patch(json!({ format!("k{i}"): i }), csrf()));
    for r in futures_util::future::join_all(writes).await {
        expect_status(&r, 200, "concurrent PATCH");
    }
    let data = get_as(h, "/session/data", &s).await.json();
    for i in 0..12 {
        assert_eq!(
            data["data"][format!("k{i}")],
            json!(i),
            "[{row}] lost update of k{i}: {data}"
        );
    }
    // Data survives ID rotation.
    let r = send_as(
        h,
        "POST",
        "/session/reauth",
        &s,
        Some(&s.csrf),
        &json!({"password": password("alice")}),
    )
    .await;
    expect_status(&r, 200, "POST /session/reauth");
    let (name, value) = cookie_pair(&r.header("set-cookie").unwrap_or_default());
    let r = get(
        h,
        "/session/data",
        &[hdr("cookie", &format!("{name}={value}"))],
    )
    .await;
    assert_eq!(
        r.json()["data"]["theme"],
        "dark",
        "[{row}] data after rotation"
    );
    expect_status(
        &get(h, "/session/data", &[]).await,
        401,
        "GET /session/data without a session",
    );
}

/// `"remember"`: without it a browser-session cookie, with `true` a
/// persistent one for `REMEMBER_ABSOLUTE_SECS`, kept by later cookies of
/// the session; a non-boolean is 400.
pub async fn session_remember<H: Harness>(h: &H) {
    let row = "POST /session/login remember";
    let login = |remember: Value| async move {
        let mut body = json!({"username": "alice", "password": password("alice")});
        if !remember.is_null() {
            body["remember"] = remember;
        }
        post_json(h, "/session/login", &[], &body).await
    };
    let max_age = |r: &Resp| {
        let c = r
            .header("set-cookie")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(!c.contains("expires="), "[{row}] no Expires: {c}");
        c.split(';').find_map(|a| {
            a.trim()
                .strip_prefix("max-age=")
                .map(|v| v.parse::<u64>().unwrap_or(0))
        })
    };
    for r in [login(Value::Null).await, login(json!(false)).await] {
        expect_status(&r, 200, row);
        assert_eq!(max_age(&r), None, "[{row}] browser-session cookie");
    }
    let r = login(json!(true)).await;
    expect_status(&r, 200, row);
    let age = max_age(&r).unwrap_or(0);
    assert!(
        (2_591_990..=2_592_000).contains(&age),
        "[{row}] Max-Age {age}"
    );
    for bad in [json!("yes"), json!(1), json!(null)] {
        let body = json!({"username": "alice", "password": password("alice"), "remember": bad});
        let r = post_json(h, "/session/login", &[], &body).await;
        expect_status(&r, 400, "remember that is not a boolean");
        assert!(
            r.headers_all("set-cookie").is_empty(),
            "[{row}] no cookie on 400"
        );
    }
    // Later cookies of the session keep the login's choice.
    for remember in [true, false] {
        let r = login(json!(remember)).await;
        let (name, value) = cookie_pair(&r.header("set-cookie").unwrap_or_default());
        let csrf = r.json()["csrf_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let s = Session {
            cookie: format!("{name}={value}"),
            name,
            value,
            set_cookie: String::new(),
            csrf,
        };
        let r = send_as(
            h,
            "POST",
            "/session/reauth",
            &s,
            Some(&s.csrf),
            &json!({"password": password("alice")}),
        )
        .await;
        expect_status(&r, 200, "reauth");
        assert_eq!(
            max_age(&r).is_some(),
            remember,
            "[{row}] rotation keeps remember={remember}"
        );
    }
}

/// `GET /session/sensitive` and `POST /session/reauth` (the suite runs with
/// `FRESH_AUTH_SECS=2`).
pub async fn session_step_up<H: Harness>(h: &H) {
    let row = "GET /session/sensitive";
    let s = login_session(h, "alice", &[]).await;
    let r = get_as(h, "/session/sensitive", &s).await;
    expect_status(&r, 200, row);
    assert_eq!(
        r.json(),
        json!({"user": "alice", "recent": true}),
        "[{row}]"
    );
    expect_status(
        &get(h, "/session/sensitive", &[]).await,
        401,
        "sensitive without a session",
    );
    let t = login_tokens(h, "alice").await;
    expect_status(
        &get_bearer(h, "/session/sensitive", &t).await,
        401,
        "sensitive with a bearer token",
    );
    tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
    let r = get_as(h, "/session/sensitive", &s).await;
    expect_status(&r, 403, "sensitive when stale");
    assert_eq!(
        r.json(),
        json!({"error": "reauthentication required"}),
        "[{row}] 403 body"
    );
    // Wrong password: 401, the session as it was.
    let reauth = |s: &Session, csrf: Option<&str>, pass: &str| {
        let (s, csrf, body) = (
            s.clone(),
            csrf.map(str::to_owned),
            json!({"password": pass}),
        );
        async move { send_as(h, "POST", "/session/reauth", &s, csrf.as_deref(), &body).await }
    };
    let r = reauth(&s, Some(&s.csrf), "wrong-password").await;
    expect_status(&r, 401, "reauth with a wrong password");
    expect_error_body(&r, "reauth 401", &[&s.value, &s.csrf]);
    assert!(
        r.headers_all("set-cookie").is_empty(),
        "[reauth 401] no cookie"
    );
    expect_status(
        &get_as(h, "/session/sensitive", &s).await,
        403,
        "still stale after a failed reauth",
    );
    expect_status(
        &reauth(&s, None, &password("alice")).await,
        403,
        "reauth without CSRF",
    );
    let cross = {
        let body = serde_json::to_vec(&json!({"password": password("alice")})).unwrap_or_default();
        let headers = [
            JSON_CT,
            hdr("cookie", &s.cookie),
            hdr("x-csrf-token", &s.csrf),
            hdr("sec-fetch-site", "cross-site"),
            hdr("host", HOST),
        ];
        h.send("POST", "/session/reauth", &headers, &body).await
    };
    expect_status(&cross, 403, "cross-site reauth");
    expect_status(
        &reauth(&s, None, "x").await,
        403,
        "reauth without CSRF, wrong password",
    );
    // Right password: recent again, new ID and CSRF token.
    let r = reauth(&s, Some(&s.csrf), &password("alice")).await;
    expect_status(&r, 200, "POST /session/reauth");
    let v = r.json();
    let csrf = v["csrf_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        v.as_object().map(|o| o.len()),
        Some(1),
        "[reauth] body is {{\"csrf_token\"}}: {v}"
    );
    assert!(
        !csrf.is_empty() && csrf != s.csrf,
        "[reauth] a new CSRF token"
    );
    assert!(
        r.header("cache-control")
            .is_some_and(|c| c.contains("no-store")),
        "[reauth] no-store"
    );
    let (name, value) = cookie_pair(&r.header("set-cookie").unwrap_or_default());
    assert!(
        !value.is_empty() && value != s.value,
        "[reauth] a new session ID"
    );
    let new = Session {
        cookie: format!("{name}={value}"),
        name,
        value,
        set_cookie: String::new(),
        csrf,
    };
    assert_eq!(
        session_status(h, &s).await,
        401,
        "[reauth] the old cookie is refused"
    );
    expect_status(
        &get_as(h, "/session/sensitive", &new).await,
        200,
        "sensitive after reauth",
    );
    let old_token = post(
        h,
        "/session/logout",
        &[hdr("cookie", &new.cookie), hdr("x-csrf-token", &s.csrf)],
    )
    .await;
    expect_status(&old_token, 403, "the old CSRF token after reauth");
    expect_status(
        &reauth(&new, Some(&new.csrf), &password("alice")).await,
        200,
        "reauth again",
    );
    expect_status(
        &post_json(h, "/session/reauth", &[], &json!({"password": "x"})).await,
        401,
        "reauth without a session",
    );
}

/// `GET /jwt/sessions`, `POST /jwt/revoke`, `POST /jwt/logout-others`: the
/// device routes for a bearer caller.
pub async fn token_devices<H: Harness>(h: &H) {
    let row = "GET /jwt/sessions";
    let s = login_session(h, "alice", &[]).await;
    let t1 = login_tokens(h, "alice").await;
    let t2 = login_tokens(h, "alice").await;
    let list = devices(h, "/jwt/sessions", &[hdr("authorization", &t1.bearer())]).await;
    assert_eq!(list.len(), 3, "[{row}] {list:?}");
    let t1_hint = current_hint(&list);
    assert_eq!(
        list.iter().filter(|e| e["current"] == true).count(),
        1,
        "[{row}] one current"
    );
    assert_eq!(
        list[1]["id_hint"], t1_hint,
        "[{row}] current is the presented token's family"
    );
    let r = get(h, "/jwt/sessions", &[]).await;
    expect_status(&r, 401, "GET /jwt/sessions without a token");
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer"),
        "[{row}] challenge"
    );
    // A refresh keeps the family's hint.
    let r = refresh(h, &t1.refresh).await;
    expect_status(&r, 200, "refresh");
    let t1 = Tokens {
        access: r.json()["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        refresh: r.json()["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    let list = devices(h, "/jwt/sessions", &[hdr("authorization", &t1.bearer())]).await;
    assert_eq!(
        current_hint(&list),
        t1_hint,
        "[{row}] id_hint stable across refresh"
    );
    let t2_hint = list[2]["id_hint"].as_str().unwrap_or_default().to_owned();
    let revoke = |hint: &str| {
        let body = json!({ "id_hint": hint });
        let auth = t1.bearer();
        async move { post_json(h, "/jwt/revoke", &[hdr("authorization", &auth)], &body).await }
    };
    expect_not_found(&revoke("0123456789ab").await, "POST /jwt/revoke unknown");
    expect_status(&revoke(&t2_hint).await, 204, "POST /jwt/revoke");
    assert_eq!(
        token_status(h, &t2.access).await,
        401,
        "[POST /jwt/revoke] access token refused"
    );
    expect_status(
        &refresh(h, &t2.refresh).await,
        401,
        "revoked family's refresh",
    );
    assert_eq!(
        token_status(h, &t1.access).await,
        200,
        "[POST /jwt/revoke] the caller's stays"
    );
    let r = post(
        h,
        "/jwt/logout-others",
        &[hdr("authorization", &t1.bearer())],
    )
    .await;
    expect_status(&r, 204, "POST /jwt/logout-others");
    assert_eq!(
        session_status(h, &s).await,
        401,
        "[POST /jwt/logout-others] the session ends"
    );
    assert_eq!(
        token_status(h, &t1.access).await,
        200,
        "[POST /jwt/logout-others] the caller's family stays"
    );
    let list = devices(h, "/jwt/sessions", &[hdr("authorization", &t1.bearer())]).await;
    assert_eq!(
        list.len(),
        1,
        "[POST /jwt/logout-others] only the current family: {list:?}"
    );
    // The session routes do not take a bearer token, nor the token routes a cookie.
    expect_status(
        &get(h, "/jwt/sessions", &[hdr("cookie", &s.cookie)]).await,
        401,
        "/jwt/sessions with a cookie",
    );
}

/// The Administration section.
pub async fn admin_routes<H: Harness>(h: &H) {
    let admin_t = login_tokens(h, "admin").await;
    let admin_s = login_session(h, "admin", &[]).await;
    let alice_t = login_tokens(h, "alice").await;
    let alice_s = login_session(h, "alice", &[]).await;
    let ab = admin_t.bearer();
    let as_admin: [(&str, &[u8]); 1] = [hdr("authorization", &ab)];
    // Who may call.
    let r = get(h, "/admin/users/alice/sessions", &[]).await;
    expect_status(&r, 401, "admin route without credentials");
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer"),
        "[admin 401] challenge"
    );
    let r = get_bearer(h, "/admin/users/alice/sessions", &alice_t).await;
    expect_status(&r, 403, "admin route as alice (bearer)");
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some(r#"Bearer error="insufficient_scope""#),
        "[admin 403]"
    );
    expect_status(
        &get_as(h, "/admin/users/alice/sessions", &alice_s).await,
        403,
        "admin route as alice (cookie)",
    );
    // With both credentials the bearer token decides.
    let both = get(
        h,
        "/admin/users/alice/sessions",
        &[
            hdr("authorization", &alice_t.bearer()),
            hdr("cookie", &admin_s.cookie),
        ],
    )
    .await;
    expect_status(&both, 403, "alice's token with admin's cookie");
    let r = h
        .send("DELETE", "/admin/users/alice/sessions", &as_admin, b"")
        .await;
    expect_status(&r, 405, "DELETE on an admin route");
    assert_eq!(
        r.json(),
        json!({"error": "method not allowed"}),
        "[admin 405] body"
    );
    // The list.
    let list = devices(h, "/admin/users/alice/sessions", &as_admin).await;
    assert_eq!(
        list.len(),
        2,
        "[admin list] alice's session and family: {list:?}"
    );
    assert!(
        list.iter().all(|e| e["current"] == false),
        "[admin list] current is false"
    );
    let cookie_list = devices(
        h,
        "/admin/users/alice/sessions",
        &[hdr("cookie", &admin_s.cookie)],
    )
    .await;
    assert_eq!(cookie_list.len(), 2, "[admin list] by cookie");
    let r = get(h, "/admin/users/nobody/sessions", &as_admin).await;
    expect_status(&r, 200, "admin list of an unknown user");
    assert_eq!(
        r.json(),
        json!({"sessions": []}),
        "[admin list] unknown user"
    );
    // Roles.
    let bob_s = login_session(h, "bob", &[]).await;
    let bob_t = login_tokens(h, "bob").await;
    let put_roles = |body: Value, headers: Vec<(&'static str, String)>| async move {
        let mut all: Vec<(&str, &[u8])> = vec![JSON_CT];
        all.extend(headers.iter().map(|(n, v)| (*n, v.as_bytes())));
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        h.send("PUT", "/admin/users/bob/roles", &all, &bytes).await
    };
    let bearer = || vec![("authorization", ab.clone())];
    let seventeen: Vec<String> = (0..17).map(|i| format!("r{i}")).collect();
    for bad in [
        json!({ "roles": seventeen }),
        json!({"roles": ["user", "user"]}),
        json!({"roles": [""]}),
        json!({"roles": ["r".repeat(65)]}),
        json!({"roles": "admin"}),
        json!({"roles": [1]}),
        json!({}),
    ] {
        expect_status(&put_roles(bad, bearer()).await, 400, "PUT roles, invalid");
    }
    let cookie_no_csrf = vec![("cookie", admin_s.cookie.clone())];
    expect_status(
        &put_roles(json!({"roles": ["user", "editor"]}), cookie_no_csrf).await,
        403,
        "PUT roles by cookie without CSRF",
    );
    let r = put_roles(
        json!({"roles": ["user", "editor"]}),
        vec![
            ("cookie", admin_s.cookie.clone()),
            ("x-csrf-token", admin_s.csrf.clone()),
        ],
    )
    .await;
    expect_status(&r, 204, "PUT /admin/users/bob/roles");
    let me = get_as(h, "/session/me", &bob_s).await;
    assert_eq!(
        me.json()["roles"],
        json!(["user", "editor"]),
        "[PUT roles] live session, at once"
    );
    assert_eq!(
        token_status(h, &bob_t.access).await,
        401,
        "[PUT roles] earlier access token refused"
    );
    let r = refresh(h, &bob_t.refresh).await;
    expect_status(&r, 200, "[PUT roles] refresh still works");
    let access = r.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let me = get(
        h,
        "/jwt/me",
        &[hdr("authorization", &format!("Bearer {access}"))],
    )
    .await;
    assert_eq!(
        me.json()["roles"],
        json!(["user", "editor"]),
        "[PUT roles] next refresh carries them"
    );
    let later = login_session(h, "bob", &[]).await;
    assert_eq!(
        get_as(h, "/session/me", &later).await.json()["roles"],
        json!(["user", "editor"]),
        "[PUT roles] later login"
    );
    expect_status(
        &put_roles(json!({"roles": []}), bearer()).await,
        204,
        "PUT roles to none",
    );
    assert_eq!(
        get_as(h, "/session/me", &bob_s).await.json()["roles"],
        json!([]),
        "[PUT roles] none"
    );
    let unknown = {
        let bytes = serde_json::to_vec(&json!({"roles": ["user"]})).unwrap_or_default();
        h.send(
            "PUT",
            "/admin/users/nobody/roles",
            &[JSON_CT, as_admin[0]],
            &bytes,
        )
        .await
    };
    expect_status(&unknown, 204, "PUT roles of an unknown user");
    // Log a user out everywhere.
    expect_status(
        &post(
            h,
            "/admin/users/bob/logout-all",
            &[hdr("authorization", &alice_t.bearer())],
        )
        .await,
        403,
        "logout-all as alice",
    );
    expect_status(
        &post(
            h,
            "/admin/users/bob/logout-all",
            &[hdr("cookie", &admin_s.cookie)],
        )
        .await,
        403,
        "logout-all by cookie without CSRF",
    );
    assert_eq!(
        session_status(h, &bob_s).await,
        200,
        "[admin logout-all] refused: nothing ends"
    );
    let r = post(h, "/admin/users/bob/logout-all", &as_admin).await;
    expect_status(&r, 204, "POST /admin/users/bob/logout-all");
    assert_eq!(
        session_status(h, &bob_s).await,
        401,
        "[admin logout-all] bob's session"
    );
    assert_eq!(
        session_status(h, &later).await,
        401,
        "[admin logout-all] bob's later session"
    );
    assert_eq!(
        token_status(h, &access).await,
        401,
        "[admin logout-all] bob's token"
    );
    assert_eq!(
        session_status(h, &alice_s).await,
        200,
        "[admin logout-all] alice keeps hers"
    );
    expect_status(
        &post(h, "/admin/users/nobody/logout-all", &as_admin).await,
        204,
        "logout-all of an unknown user",
    );
    assert_eq!(
        session_status(h, &admin_s).await,
        200,
        "[admin] the admin's own session stays"
    );
}

/// `POST /session/reauth`: a wrong password counts towards login
/// throttling, as a login of the session's user from this client would.
pub async fn reauth_is_throttled<H: Harness>(h: &H) {
    let row = "POST /session/reauth throttled";
    let s = login_session(h, "alice", &[]).await;
    for _ in 0..5 {
        let r = send_as(
            h,
            "POST",
            "/session/reauth",
            &s,
            Some(&s.csrf),
            &json!({"password": "guess"}),
        )
        .await;
        expect_status(&r, 401, row);
    }
    let r = send_as(
        h,
        "POST",
        "/session/reauth",
        &s,
        Some(&s.csrf),
        &json!({"password": password("alice")}),
    )
    .await;
    expect_status(&r, 429, row);
    assert!(r.header("retry-after").is_some(), "[{row}] Retry-After");
    assert_eq!(
        session_status(h, &s).await,
        200,
        "[{row}] the session stays"
    );
    let body = json!({"username": "alice", "password": password("alice")});
    expect_status(
        &post_json(h, "/session/login", &[], &body).await,
        429,
        "the login of the same user and client",
    );
}
