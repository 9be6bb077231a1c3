//! The account and Administration routes over real HTTP, the same scenario
//! for every demo: `account_routes(base_url)` (plain-HTTP cookies).

use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

struct Http {
    base: String,
    client: Client,
}

impl Http {
    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// `(cookie, csrf)` of a fresh session login.
    async fn login(&self, user: &str, remember: bool) -> (String, String, Response) {
        let body = json!({ "username": user, "password": format!("{user}-password"), "remember": remember });
        let r = self
            .send(Method::POST, "/session/login", &[], Some(body))
            .await;
        assert_eq!(r.status(), 200, "login {user}");
        let cookie = cookie_of(&r);
        let v: Value = r.json().await.unwrap_or_default();
        let csrf = v["csrf_token"].as_str().unwrap_or_default().to_owned();
        let again = self
            .send(Method::GET, "/session/me", &[("cookie", &cookie)], None)
            .await;
        (cookie, csrf, again)
    }

    async fn token(&self, user: &str) -> String {
        let body = json!({ "username": user, "password": format!("{user}-password") });
        let r = self.send(Method::POST, "/jwt/login", &[], Some(body)).await;
        let v: Value = r.json().await.unwrap_or_default();
        format!("Bearer {}", v["access_token"].as_str().unwrap_or_default())
    }

    async fn status(&self, path: &str, headers: &[(&str, &str)]) -> u16 {
        self.send(Method::GET, path, headers, None)
            .await
            .status()
            .as_u16()
    }
}

fn cookie_of(r: &Response) -> String {
    r.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

pub async fn account_routes(base: &str) {
    let h = Http {
        base: base.to_owned(),
        client: Client::new(),
    };
    // Remember-me: a persistent cookie only when asked.
    let body = json!({ "username": "alice", "password": "alice-password", "remember": true });
    let r = h
        .send(Method::POST, "/session/login", &[], Some(body))
        .await;
    let set_cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(set_cookie.contains("Max-Age=2592000"), "{set_cookie}");
    let (a, a_csrf, me) = h.login("alice", false).await;
    assert_eq!(me.status(), 200);
    let (b, _, _) = h.login("alice", false).await;
    let alice_t = h.token("alice").await;
    // Devices: sessions and the family, with the client's User-Agent.
    let r = h
        .send(
            Method::GET,
            "/session/list",
            &[("cookie", &a), ("user-agent", "e2e/1")],
            None,
        )
        .await;
    let list: Value = r.json().await.unwrap_or_default();
    let list = list["sessions"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 4, "{list:?}");
    assert!(list.iter().any(|e| e["kind"] == "token"));
    assert!(
        list.iter().all(|e| e["ip"] == "127.0.0.1"),
        "peer IP recorded: {list:?}"
    );
    let b_hint = list
        .iter()
        .rfind(|e| e["kind"] == "session" && e["current"] == false)
        .map(|e| e["id_hint"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let unsafe_hdrs = [("cookie", a.as_str()), ("x-csrf-token", a_csrf.as_str())];
    let r = h
        .send(
            Method::POST,
            "/session/revoke",
            &unsafe_hdrs,
            Some(json!({ "id_hint": b_hint })),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(h.status("/session/me", &[("cookie", &b)]).await, 401);
    let r = h
        .send(
            Method::POST,
            "/session/revoke",
            &unsafe_hdrs,
            Some(json!({ "id_hint": b_hint })),
        )
        .await;
    assert_eq!(r.status(), 404);
    // Session data.
    let r = h
        .send(
            Method::PATCH,
            "/session/data",
            &unsafe_hdrs,
            Some(json!({"theme": "dark"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v, json!({"data": {"theme": "dark"}}));
    let r = h
        .send(
            Method::PATCH,
            "/session/data",
            &[("cookie", &a)],
            Some(json!({"x": 1})),
        )
        .await;
    assert_eq!(r.status(), 403, "PATCH without CSRF");
    // Step-up.
    assert_eq!(h.status("/session/sensitive", &[("cookie", &a)]).await, 200);
    let r = h
        .send(
            Method::POST,
            "/session/reauth",
            &unsafe_hdrs,
            Some(json!({"password": "nope"})),
        )
        .await;
    assert_eq!(r.status(), 401);
    let r = h
        .send(
            Method::POST,
            "/session/reauth",
            &unsafe_hdrs,
            Some(json!({"password": "alice-password"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let a2 = cookie_of(&r);
    let v: Value = r.json().await.unwrap_or_default();
    let a2_csrf = v["csrf_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        h.status("/session/me", &[("cookie", &a)]).await,
        401,
        "old cookie refused"
    );
    let r = h
        .send(Method::GET, "/session/data", &[("cookie", &a2)], None)
        .await;
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["data"]["theme"], "dark", "data kept across rotation");
    // Sign out the other devices: the family's token ends.
    let r = h
        .send(
            Method::POST,
            "/session/logout-others",
            &[("cookie", &a2), ("x-csrf-token", &a2_csrf)],
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        h.status("/jwt/me", &[("authorization", &alice_t)]).await,
        401
    );
    assert_eq!(h.status("/session/me", &[("cookie", &a2)]).await, 200);
    // Token devices.
    let t2 = h.token("alice").await;
    let r = h
        .send(
            Method::GET,
            "/jwt/sessions",
            &[("authorization", &t2)],
            None,
        )
        .await;
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["sessions"].as_array().map(Vec::len), Some(2), "{v}");
    // Administration.
    let admin_t = h.token("admin").await;
    let (bob, _, _) = h.login("bob", false).await;
    assert_eq!(h.status("/admin/users/bob/sessions", &[]).await, 401);
    assert_eq!(
        h.status("/admin/users/bob/sessions", &[("authorization", &t2)])
            .await,
        403
    );
    let r = h
        .send(
            Method::GET,
            "/admin/users/bob/sessions",
            &[("authorization", &admin_t)],
            None,
        )
        .await;
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["sessions"].as_array().map(Vec::len), Some(1), "{v}");
    let r = h
        .send(
            Method::PUT,
            "/admin/users/bob/roles",
            &[("authorization", &admin_t)],
            Some(json!({"roles": ["user", "editor"]})),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = h
        .send(Method::GET, "/session/me", &[("cookie", &bob)], None)
        .await;
    let v: Value = r.json().await.unwrap_or_default();
    assert_eq!(v["roles"], json!(["user", "editor"]));
    let (_, _, later) = h.login("bob", false).await;
    let v: Value = later.json().await.unwrap_or_default();
    assert_eq!(
        v["roles"],
        json!(["user", "editor"]),
        "later logins on this instance"
    );
    let r = h
        .send(
            Method::POST,
            "/admin/users/bob/logout-all",
            &[("authorization", &admin_t)],
            None,
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(h.status("/session/me", &[("cookie", &bob)]).await, 401);
}
