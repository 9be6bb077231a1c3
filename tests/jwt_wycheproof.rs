//! Wycheproof JSON Web Signature and JSON Web Key vectors, run through our
//! verifier (`KeyRegistry::verify_jws`) with each group's key.
//!
//! A `valid` test must be accepted, an `invalid` one refused (a key the
//! registry refuses to load counts as refusing every token of its group),
//! an `acceptable` one may go either way. Every disagreement must be listed
//! below with its reason, or the test fails.

use portcullis::jwt::KeyRegistry;
use serde_json::Value;

/// Disagreements with `json_web_signature_test.json`, each deliberate or
/// outside what we support.
const JWS_SKIP: &[(u64, &str)] = &[
    (
        346,
        "RFC 7520 Figure 20 is signed with PS384 while the group's JWK says alg PS256; \
         we bind the algorithm to the key and refuse an `alg` header that differs",
    ),
    (
        350,
        "same as 346 (key_ops variant): PS384 token, PS256 key; refused by design",
    ),
    (
        347,
        "ES512 over P-521 is not supported by jsonwebtoken (the JWK's alg is even the \
         unregistered `ES521`), so the key is refused when loading",
    ),
    (
        351,
        "same as 347 (key_ops variant): ES512 / P-521 unsupported",
    ),
    (
        367,
        "'invalidBase64Padding': the vector in this copy is byte-identical to tcId 357 \
         (valid); the padding the name refers to is not in the file",
    ),
    (
        370,
        "'invalidBase64PaddingInPayload': byte-identical to tcId 357 (valid), as for 367",
    ),
    (
        372,
        "marked valid although a '?' is inserted in the header segment (expects a lenient \
         decoder that skips it); we refuse any character outside base64url by design",
    ),
    (
        373,
        "marked valid although a '?' is inserted in the payload segment; refused by design, \
         as for 372",
    ),
];

/// Disagreements with `json_web_key_test.json`.
const JWK_SKIP: &[(u64, &str)] = &[];

#[derive(Default, Debug)]
struct Tally {
    total: usize,
    agree: usize,
    acceptable: usize,
    skipped: usize,
    undocumented: Vec<String>,
    stale_skips: Vec<u64>,
}

fn load(name: &str) -> Value {
    let path = format!(
        "{}/tests/vectors/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("vector file")).expect("json")
}

/// The group's key as our verifier would load it: the public key when there
/// is one (HMAC groups only have the secret, under `private`).
fn registry(group: &Value) -> Result<KeyRegistry, String> {
    let key = group
        .get("public")
        .or_else(|| group.get("private"))
        .ok_or("group without key")?;
    let b = KeyRegistry::builder();
    let b = if key.get("keys").is_some() {
        b.jwks(key)
    } else {
        b.jwk(key)
    };
    b.build().map_err(|e| e.to_string())
}

fn run(file: &str, skip: &[(u64, &str)]) -> Tally {
    let doc = load(file);
    let mut t = Tally::default();
    for group in doc["testGroups"].as_array().expect("groups") {
        let reg = registry(group);
        for test in group["tests"].as_array().expect("tests") {
            let id = test["tcId"].as_u64().expect("tcId");
            let jws = test["jws"].as_str().expect("jws");
            let result = test["result"].as_str().expect("result");
            let accepted = match &reg {
                Ok(r) => portcullis::__private::verify_jws(r, jws.as_bytes()).is_ok(),
                Err(_) => false,
            };
            t.total += 1;
            let agrees = match result {
                "valid" => accepted,
                "invalid" => !accepted,
                "acceptable" => {
                    t.acceptable += 1;
                    true
                }
                other => panic!("tcId {id}: unknown result {other}"),
            };
            let skipped = skip.iter().any(|(s, _)| *s == id);
            match (agrees, skipped) {
                (true, false) => t.agree += 1,
                (true, true) => {
                    t.agree += 1;
                    t.stale_skips.push(id);
                }
                (false, true) => t.skipped += 1,
                (false, false) => t.undocumented.push(format!(
                    "tcId {id} ({}): expected {result}, we {} (key: {})",
                    test["comment"],
                    if accepted { "accepted" } else { "refused" },
                    match &reg {
                        Ok(_) => "loaded".to_string(),
                        Err(e) => format!("refused: {e}"),
                    }
                )),
            }
        }
    }
    t
}

fn report(file: &str, skip: &[(u64, &str)], t: &Tally) {
    println!(
        "{file}: {} tests, {} agree ({} of them `acceptable`), {} documented disagreements, \
         {} undocumented",
        t.total,
        t.agree,
        t.acceptable,
        t.skipped,
        t.undocumented.len()
    );
    for (id, why) in skip {
        println!("  skip {id}: {why}");
    }
    for id in &t.stale_skips {
        // Backend-dependent entries may agree on one backend only; not fatal.
        println!(
            "  note: skip-listed tcId {id} agrees on this backend ({})",
            portcullis::__private::BACKEND
        );
    }
}

#[test]
fn wycheproof_json_web_signature() {
    let t = run("json_web_signature_test.json", JWS_SKIP);
    report("json_web_signature_test.json", JWS_SKIP, &t);
    assert_eq!(t.total, 401);
    assert!(
        t.undocumented.is_empty(),
        "undocumented disagreements:\n{}",
        t.undocumented.join("\n")
    );
}

#[test]
fn wycheproof_json_web_key() {
    let t = run("json_web_key_test.json", JWK_SKIP);
    report("json_web_key_test.json", JWK_SKIP, &t);
    assert_eq!(t.total, 26);
    assert!(
        t.undocumented.is_empty(),
        "undocumented disagreements:\n{}",
        t.undocumented.join("\n")
    );
}
