//! The `/.well-known/` rows: the JWKS and the discovery document, public
//! and cacheable, from the configuration (never the request's `Host`).

use super::{get, Harness, Resp, HOST, PUBLIC_URL};

fn expect_public(r: &Resp, what: &str) {
    assert_eq!(r.status, 200, "[{what}] status; body {}", r.text());
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("public, max-age=300"),
        "[{what}] Cache-Control"
    );
    assert_eq!(
        r.headers_all("cache-control").len(),
        1,
        "[{what}] one Cache-Control"
    );
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "[{what}] Content-Type {:?}",
        r.header("content-type")
    );
    assert!(r.header("set-cookie").is_none(), "[{what}] sets no cookie");
    assert!(
        !r.headers_all("vary").iter().any(|v| v.contains("Cookie")),
        "[{what}] no Vary: Cookie"
    );
}

/// `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`
/// under the default HS256: an empty key list (a shared secret is never
/// published) and `{"issuer","jwks_uri","id_token_signing_alg_values_supported"}`
/// with `jwks_uri` from `PUBLIC_URL`; both `public, max-age=300`, also for a
/// request that carries credentials (exempt from `no-store`).
pub async fn well_known<H: Harness>(h: &H) {
    let host = format!("evil.{HOST}");
    for headers in [
        vec![],
        vec![
            ("cookie", b"id=whatever".as_slice()),
            ("authorization", b"Bearer abc".as_slice()),
            ("host", host.as_bytes()),
        ],
    ] {
        let r = get(h, "/.well-known/jwks.json", &headers).await;
        expect_public(&r, "GET /.well-known/jwks.json");
        assert_eq!(
            r.json(),
            serde_json::json!({ "keys": [] }),
            "HS256 publishes nothing"
        );

        let r = get(h, "/.well-known/openid-configuration", &headers).await;
        expect_public(&r, "GET /.well-known/openid-configuration");
        let doc = r.json();
        assert_eq!(doc["issuer"], "portcullis-demo", "{doc}");
        assert_eq!(
            doc["jwks_uri"],
            format!("{PUBLIC_URL}/.well-known/jwks.json"),
            "{doc}"
        );
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            serde_json::json!(["HS256"]),
            "{doc}"
        );
    }
}
