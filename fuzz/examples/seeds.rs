//! Writes the seed corpora under fuzz/seeds/<target>/ (committed; rerun after
//! changing the fixtures in fuzz_targets/common/mod.rs):
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`.
//!
//! Seeds are real tokens and cookies for the fixed clock and keys of the
//! targets, plus the near-misses that reach each branch of the header,
//! `kid`, `crit` and claims policies.

#[path = "../fuzz_targets/common/mod.rs"]
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{sign_raw, AUDIENCE, CRIT, ISSUER, K1, K2, NOW};
use portcullis::id::{IdSigner, SessionId};
use serde_json::{json, Value};

fn claims() -> Value {
    json!({
        "sub": "alice", "iat": NOW - 10, "exp": NOW + 900, "iss": ISSUER, "aud": AUDIENCE,
        "jti": "seed-jti-0001", "roles": ["user", "admin"], "iat_ms": (NOW - 10) * 1000
    })
}

fn with(mut v: Value, k: &str, x: Value) -> Value {
    v[k] = x;
    v
}

fn without(mut v: Value, k: &str) -> Value {
    v.as_object_mut().expect("object").remove(k);
    v
}

struct Out(PathBuf);
impl Out {
    fn put(&self, target: &str, name: &str, bytes: impl AsRef<[u8]>) {
        let dir = self.0.join(target);
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join(name), bytes).expect("write seed");
    }
}

fn main() {
    let out = Out(Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds"));
    let w = common::world();
    let h_k1 = json!({"alg": "HS256", "typ": "JWT", "kid": K1.0}).to_string();
    let h_k2 = json!({"alg": "HS256", "typ": "JWT", "kid": K2.0}).to_string();
    let s = |header: &str, payload: &Value| {
        sign_raw(K1.1, header.as_bytes(), payload.to_string().as_bytes())
    };

    // ---- headers (jwt_verify) ----
    let issued =
        w.rt.block_on(w.tokens.issue("alice", &["admin".into()]))
            .expect("issue")
            .access_token;
    let signed = w
        .tokens
        .sign(
            &w.tokens
                .claims_for("bob", &["user".into()])
                .expect("claims"),
        )
        .expect("sign");
    let mut tokens: Vec<(&str, String)> = vec![
        ("issued", issued.clone()),
        ("signed", signed.clone()),
        ("k1_explicit", s(&h_k1, &claims())),
        ("k2_rotated", sign_raw(K2.1, h_k2.as_bytes(), claims().to_string().as_bytes())),
        ("no_kid", s(r#"{"alg":"HS256"}"#, &claims())),
        ("unknown_kid", s(r#"{"alg":"HS256","kid":"k3"}"#, &claims())),
        ("long_kid", s(&json!({"alg": "HS256", "kid": "k".repeat(300)}).to_string(), &claims())),
        ("kid_not_string", s(r#"{"alg":"HS256","kid":1}"#, &claims())),
        ("crit_allowed", s(&json!({"alg": "HS256", "kid": "k1", "crit": [CRIT], CRIT: true}).to_string(), &claims())),
        ("crit_missing_member", s(&json!({"alg": "HS256", "kid": "k1", "crit": [CRIT]}).to_string(), &claims())),
        ("crit_unknown", s(r#"{"alg":"HS256","kid":"k1","crit":["urn:other"],"urn:other":1}"#, &claims())),
        ("crit_registered", s(r#"{"alg":"HS256","kid":"k1","crit":["exp"],"exp":1}"#, &claims())),
        ("crit_empty", s(r#"{"alg":"HS256","kid":"k1","crit":[]}"#, &claims())),
        ("typ_at_jwt", s(r#"{"alg":"HS256","kid":"k1","typ":"application/at+JWT"}"#, &claims())),
        ("typ_jws", s(r#"{"alg":"HS256","kid":"k1","typ":"JWS"}"#, &claims())),
        ("cty", s(r#"{"alg":"HS256","kid":"k1","cty":"JWT"}"#, &claims())),
        ("b64_false", s(r#"{"alg":"HS256","kid":"k1","b64":false}"#, &claims())),
        ("dup_alg", s(r#"{"alg":"HS256","alg":"HS256","kid":"k1"}"#, &claims())),
        ("alg_hs384", s(r#"{"alg":"HS384","kid":"k1"}"#, &claims())),
        ("alg_rs256", s(r#"{"alg":"RS256","kid":"k1"}"#, &claims())),
        ("header_array", s(r#"["HS256"]"#, &claims())),
        ("header_ws", s(" {\"alg\" : \"HS256\" ,\n \"kid\":\"k1\"} ", &claims())),
        ("header_escapes", s(r#"{"\u0061lg":"HS\u0032\u00356","kid":"k\u0031"}"#, &claims())),
        // RFC 7515 Appendix A.1 (another key and issuer: refused here, but
        // it exercises CRLF inside the header JSON).
        ("rfc7515_a1", "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()),
        ("none", format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims().to_string().as_bytes()))),
        ("two_dots", "a.b.c.d".into()),
    ];
    // ---- claims (jwt_verify and claims_decode) ----
    let payloads: Vec<(&str, Value)> = vec![
        ("valid", claims()),
        ("expired", with(claims(), "exp", json!(NOW - 100))),
        ("exp_in_leeway", with(claims(), "exp", json!(NOW - 5))),
        ("exp_string", with(claims(), "exp", json!("1700000900"))),
        ("exp_float", with(claims(), "exp", json!(1_700_000_900.5))),
        ("exp_null", with(claims(), "exp", Value::Null)),
        ("exp_huge", with(claims(), "exp", json!(u64::MAX))),
        ("exp_negative", with(claims(), "exp", json!(-1))),
        ("no_exp", without(claims(), "exp")),
        ("nbf_future", with(claims(), "nbf", json!(NOW + 100))),
        ("iat_future", with(claims(), "iat", json!(NOW + 100))),
        ("no_iat", without(claims(), "iat")),
        ("wrong_iss", with(claims(), "iss", json!("https://evil"))),
        ("no_iss", without(claims(), "iss")),
        (
            "aud_array",
            with(claims(), "aud", json!(["other", AUDIENCE])),
        ),
        ("aud_wrong", with(claims(), "aud", json!(["other"]))),
        ("aud_number", with(claims(), "aud", json!(5))),
        ("empty_sub", with(claims(), "sub", json!(""))),
        ("no_jti", without(claims(), "jti")),
        ("roles_string", with(claims(), "roles", json!("admin"))),
        ("roles_nested", with(claims(), "roles", json!([["admin"]]))),
        ("sid", with(claims(), "sid", json!("0".repeat(64)))),
        ("iat_ms_mismatch", with(claims(), "iat_ms", json!(1))),
        (
            "extra_claims",
            with(
                claims(),
                "tenant",
                json!({"id": 1, "n": [true, null, 1.5e3]}),
            ),
        ),
        (
            "unicode_sub",
            with(claims(), "sub", json!("\u{e9}l\u{e8}ve \u{1F600}")),
        ),
    ];
    for (name, p) in &payloads {
        tokens.push((name, s(&h_k1, p)));
    }
    // Raw payload texts serde_json's Value would not produce.
    let raw: Vec<(&str, String)> = vec![
        (
            "dup_exp",
            format!(
                r#"{{"sub":"alice","iat":{},"exp":{},"exp":{},"iss":"{ISSUER}","aud":"{AUDIENCE}","jti":"j"}}"#,
                NOW,
                NOW + 900,
                NOW - 900
            ),
        ),
        (
            "escaped_sub",
            format!(
                r#"{{"s\u0075b":"al\u0069ce","iat":{},"exp":{},"iss":"{ISSUER}","aud":"{AUDIENCE}","jti":"j"}}"#,
                NOW,
                NOW + 900
            ),
        ),
        (
            "exp_exponent",
            format!(
                r#"{{"sub":"a","iat":{},"exp":1.7e9,"iss":"{ISSUER}","aud":"{AUDIENCE}","jti":"j"}}"#,
                NOW
            ),
        ),
        (
            "trailing_garbage",
            format!(
                r#"{{"sub":"a","iat":{},"exp":{},"iss":"{ISSUER}","aud":"{AUDIENCE}","jti":"j"}} x"#,
                NOW,
                NOW + 900
            ),
        ),
        ("array", "[1,2,3]".into()),
        (
            "lone_surrogate",
            format!(
                r#"{{"sub":"\ud800","iat":{},"exp":{},"iss":"{ISSUER}","aud":"{AUDIENCE}","jti":"j"}}"#,
                NOW,
                NOW + 900
            ),
        ),
    ];
    for (name, p) in &raw {
        tokens.push((name, sign_raw(K1.1, h_k1.as_bytes(), p.as_bytes())));
    }
    // The size limit: the largest token accepted (exactly MAX_TOKEN_LEN
    // bytes) and one byte over, so libFuzzer's max_len covers the boundary.
    let mut n = 5_000;
    loop {
        let t = s(&h_k1, &with(claims(), "pad", json!("x".repeat(n))));
        if t.len() >= portcullis::jwt::MAX_TOKEN_LEN {
            let under = s(&h_k1, &with(claims(), "pad", json!("x".repeat(n - 1))));
            let over = format!(
                "{under}{}",
                "A".repeat(portcullis::jwt::MAX_TOKEN_LEN + 1 - under.len())
            );
            assert!(under.len() <= portcullis::jwt::MAX_TOKEN_LEN);
            tokens.push(("max_len", under));
            tokens.push(("max_len_plus_one", over));
            break;
        }
        n += 1;
    }
    let mut accepted = Vec::new();
    for (name, t) in &tokens {
        out.put("jwt_verify", name, t);
        if w.tokens.verify(t.as_bytes()).is_ok() {
            accepted.push(*name);
        }
    }
    println!("jwt_verify seeds accepted by TokenService::verify: {accepted:?}");

    // claims_decode: flags 0 = the service's header + payload; flags 1 =
    // header 0x00 payload; flags 3 = the same signed with k2.
    for (name, p) in &payloads {
        out.put(
            "claims_decode",
            name,
            [&[0u8][..], p.to_string().as_bytes()].concat(),
        );
    }
    for (name, p) in &raw {
        out.put("claims_decode", name, [&[0u8][..], p.as_bytes()].concat());
    }
    let hp = |flags: u8, h: &str, p: &Value| {
        [&[flags][..], h.as_bytes(), &[0], p.to_string().as_bytes()].concat()
    };
    out.put("claims_decode", "hdr_k2", hp(3, &h_k2, &claims()));
    out.put(
        "claims_decode",
        "hdr_crit",
        hp(
            1,
            &json!({"alg": "HS256", "kid": "k1", "crit": [CRIT], CRIT: 1}).to_string(),
            &claims(),
        ),
    );
    out.put(
        "claims_decode",
        "hdr_no_kid",
        hp(1, r#"{"alg":"HS256"}"#, &claims()),
    );
    out.put(
        "claims_decode",
        "hdr_typ",
        hp(1, r#"{"alg":"HS256","kid":"k1","typ":"at+jwt"}"#, &claims()),
    );

    // ---- bearer_header ----
    let bearer: Vec<(&str, Vec<u8>)> = vec![
        ("valid", format!("Bearer {issued}").into_bytes()),
        ("valid_signed", format!("bearer\t{signed}  ").into_bytes()),
        ("padded", b"Bearer abc==".to_vec()),
        ("basic", b"Basic dXNlcjpwYXNz".to_vec()),
        (
            "two_lines",
            format!("Bearer {signed}\nBearer {signed}").into_bytes(),
        ),
        ("two_tokens", b"Bearer a b".to_vec()),
        ("empty", b"Bearer ".to_vec()),
        ("nine_lines", b"a\nb\nc\nd\ne\nf\ng\nh\ni".to_vec()),
    ];
    for (name, b) in &bearer {
        out.put("bearer_header", name, b);
    }

    // ---- cookie_header (byte 0: bit 0 signed, bit 1 POST, bit 2 CSRF token) ----
    let live = SessionId::from_bytes([7; 32]);
    let signer = IdSigner::new(&[0x42; 32]).expect("key");
    let old = IdSigner::new(&[0x24; 32]).expect("key");
    let cookies: Vec<(&str, u8, String)> = vec![
        ("live", 0, format!("__Host-id={}", live.encode())),
        (
            "live_post_csrf",
            6,
            format!("a=1; __Host-id={}", live.encode()),
        ),
        (
            "live_post_no_csrf",
            2,
            format!("__Host-id={}", live.encode()),
        ),
        ("signed", 1, format!("__Host-id={}", signer.sign(&live))),
        (
            "signed_old_key",
            1,
            format!("__Host-id={}", old.sign(&live)),
        ),
        (
            "quoted_lines",
            0,
            format!("x=y\n __Host-id=\"{}\" ;z", live.encode()),
        ),
        (
            "junk_duplicates",
            0,
            format!("__Host-id=junk; __Host-id=; __Host-id={}", live.encode()),
        ),
        (
            "lookalikes",
            0,
            format!(
                "%5F%5FHost-id={0}; __host-id={0}; \u{2000}__Host-id={0}",
                live.encode()
            ),
        ),
        ("nine_lines", 0, "a=1\n".repeat(9)),
    ];
    for (name, flags, c) in &cookies {
        out.put(
            "cookie_header",
            name,
            [&[*flags][..], c.as_bytes()].concat(),
        );
    }

    // ---- session_id ----
    out.put("session_id", "id", live.encode());
    out.put("session_id", "signed", signer.sign(&live));
    out.put("session_id", "signed_old", old.sign(&live));
    out.put("session_id", "key_hex", live.key().to_hex());
    out.put(
        "session_id",
        "non_canonical",
        format!("{}B", &live.encode()[..42]),
    );
    println!("seeds written to {}", out.0.display());
}

fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
