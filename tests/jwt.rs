//! Token mode through the public API: RFC 7515 vectors, the attack corpus,
//! revocation, refresh rotation and reuse detection.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use portcullis::clock::{Clock, ManualClock};
use portcullis::store::SessionKey;
use portcullis::store::{MemoryStore, RecordKind, SessionRecord, SessionStore};
use portcullis::AuthMethod;
use portcullis::{
    __private::MAX_TOKEN_LEN,
    jwt::{
        Algorithm, Claims, JwtError, KeyRegistry, MemoryRevocationList, RevocationList,
        TokenConfig, TokenPair, TokenService,
    },
};
use portcullis::{Authenticator, ConfigError, RejectionKind, StoreError};
use serde_json::{json, Value};
use sha2::Sha256;

#[path = "support/cache_twins.rs"]
mod cache_twins;
use cache_twins::cache_twins;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: u64 = 1_700_000_000;
const ISS: &str = "https://auth.test";
const AUD: &str = "api";

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("test key")
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An HS256 token over raw header and payload JSON, signed with `secret`.
fn hs256(header: &str, payload: &str, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#;

/// Valid access-token claims at `now`.
fn claims(now: u64) -> Value {
    json!({
        "sub": "alice", "iat": now, "exp": now + 900, "jti": "jti-1",
        "iss": ISS, "aud": AUD, "roles": ["user"], "iat_ms": now * 1000,
    })
}

fn with(mut v: Value, key: &str, val: Value) -> String {
    v[key] = val;
    v.to_string()
}

fn without(mut v: Value, key: &str) -> String {
    v.as_object_mut().unwrap().remove(key);
    v.to_string()
}

struct Fx {
    svc: TokenService,
    clock: ManualClock,
    store: Arc<MemoryStore>,
    revocations: Arc<MemoryRevocationList>,
}

fn fx_with(keys: KeyRegistry) -> Fx {
    let clock = ManualClock::new(NOW);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let store = Arc::new(MemoryStore::with_clock(shared.clone()));
    let revocations = Arc::new(MemoryRevocationList::new(shared.clone()));
    let svc = portcullis::Authenticator::builder()
        .without_sessions()
        .clock(shared)
        .store(store.clone())
        .revocations(revocations.clone())
        .tokens(
            portcullis::jwt::TokenConfig::new(keys)
                .issuer(ISS)
                .audience(AUD),
        )
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap();
    Fx {
        svc,
        clock,
        store,
        revocations,
    }
}

fn fx() -> Fx {
    fx_with(KeyRegistry::hs256("k1", SECRET).unwrap())
}

fn roles() -> Vec<String> {
    vec!["user".into(), "admin".into()]
}

// ----- RFC 7515 appendix vectors ------------------------------------------

const A1_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const A_PAYLOAD: &str =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const A1_TOKEN_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
const A1_SIG: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const A_EXP: u64 = 1_300_819_380;

fn rfc_service(keys: KeyRegistry, now: u64) -> TokenService {
    portcullis::Authenticator::builder()
        .without_sessions()
        .clock(Arc::new(ManualClock::new(now)))
        .tokens(portcullis::jwt::TokenConfig::new(keys))
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap()
}

#[test]
fn rfc7515_a1_hs256() {
    let token = format!("{A1_TOKEN_HEADER}.{A_PAYLOAD}.{A1_SIG}");
    let key = URL_SAFE_NO_PAD.decode(A1_KEY).unwrap();
    let keys = KeyRegistry::hs256("a1", &key).unwrap();

    // Signature and format, no claims: the JWS layer.
    let jws = portcullis::__private::verify_jws(&keys, token.as_bytes()).unwrap();
    assert_eq!(jws.alg, Algorithm::HS256);
    assert_eq!(jws.kid, "a1"); // no kid in the token: the single key
    assert!(jws.payload.starts_with(b"{\"iss\":\"joe\""));

    // As a JWT, at the right time: before exp it verifies ...
    let svc = rfc_service(keys.clone(), A_EXP - 60);
    let v: Value = svc.verify_payload(token.as_bytes()).unwrap();
    assert_eq!(v["iss"], "joe");
    assert_eq!(v["http://example.com/is_root"], true);
    // ... it is not one of our access tokens (no sub, iat, jti) ...
    assert_eq!(
        svc.verify(token.as_bytes()).unwrap_err(),
        JwtError::MissingClaim("sub")
    );
    // ... and after exp + leeway it has expired.
    let late = rfc_service(keys.clone(), A_EXP + 30);
    assert_eq!(
        late.verify_payload::<Value>(token.as_bytes()).unwrap_err(),
        JwtError::Expired
    );
    let within = rfc_service(keys.clone(), A_EXP + 29);
    assert!(within.verify_payload::<Value>(token.as_bytes()).is_ok());

    // One flipped signature bit.
    let bad = format!("{A1_TOKEN_HEADER}.{A_PAYLOAD}.eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    assert_eq!(
        portcullis::__private::verify_jws(&keys, bad.as_bytes()).unwrap_err(),
        JwtError::BadSignature
    );
    // Issuer configured: "joe" matches, anything else does not.
    let joe = portcullis::Authenticator::builder()
        .without_sessions()
        .clock(Arc::new(ManualClock::new(A_EXP - 60)))
        .tokens(portcullis::jwt::TokenConfig::new(keys.clone()).issuer("joe"))
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap();
    assert!(joe.verify_payload::<Value>(token.as_bytes()).is_ok());
    let other = portcullis::Authenticator::builder()
        .without_sessions()
        .clock(Arc::new(ManualClock::new(A_EXP - 60)))
        .tokens(portcullis::jwt::TokenConfig::new(keys).issuer("Joe"))
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap();
    assert_eq!(
        other.verify_payload::<Value>(token.as_bytes()).unwrap_err(),
        JwtError::WrongIssuer
    );
}

fn a3_jwk() -> Value {
    json!({
        "kty": "EC", "crv": "P-256", "kid": "a3", "alg": "ES256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    })
}

#[test]
fn rfc7515_a3_es256() {
    let keys = KeyRegistry::builder().jwk(&a3_jwk()).build().unwrap();
    assert!(!keys.can_sign());
    let jws = portcullis::__private::verify_jws(&keys, A3_TOKEN.as_bytes()).unwrap();
    assert_eq!(jws.alg, Algorithm::ES256);
    let svc = rfc_service(keys.clone(), A_EXP - 60);
    let v: Value = svc.verify_payload(A3_TOKEN.as_bytes()).unwrap();
    assert_eq!(v["iss"], "joe");
    // Last signature byte changed.
    let bad = format!("{}A", &A3_TOKEN[..A3_TOKEN.len() - 1]);
    assert_eq!(
        portcullis::__private::verify_jws(&keys, bad.as_bytes()).unwrap_err(),
        JwtError::BadSignature
    );
    // The published JWKS of a verify-only registry is the key itself.
    let jwks = keys.jwks();
    assert_eq!(jwks["keys"][0]["x"], a3_jwk()["x"]);
    assert_eq!(jwks["keys"][0]["use"], "sig");
}

#[test]
fn rfc7515_a5_unsecured_refused() {
    // {"alg":"none"} . A.1 payload . (empty signature)
    let token = format!("eyJhbGciOiJub25lIn0.{A_PAYLOAD}.");
    let keys = KeyRegistry::hs256("k", &[1u8; 32]).unwrap();
    assert!(portcullis::__private::verify_jws(&keys, token.as_bytes()).is_err());
    let svc = rfc_service(keys.clone(), A_EXP - 60);
    assert!(svc.verify_payload::<Value>(token.as_bytes()).is_err());
    // With some signature bytes attached, the header is what refuses it.
    let token = format!("eyJhbGciOiJub25lIn0.{A_PAYLOAD}.AAAA");
    assert_eq!(
        portcullis::__private::verify_jws(&keys, token.as_bytes()).unwrap_err(),
        JwtError::AlgNone
    );
}

#[test]
fn rfc8037_a4_eddsa() {
    let jwk = json!({
        "kty": "OKP", "crv": "Ed25519", "kid": "rfc8037", "alg": "EdDSA",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    });
    let keys = KeyRegistry::builder().jwk(&jwk).build().unwrap();
    let token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    assert_eq!(
        portcullis::__private::verify_jws(&keys, token.as_bytes())
            .unwrap()
            .payload,
        b"Example of Ed25519 signing"
    );
}

// ----- happy paths per algorithm -------------------------------------------

async fn roundtrip(keys: KeyRegistry) {
    let f = fx_with(keys);
    let pair = f.svc.issue("alice", &roles()).await.unwrap();
    let who = f
        .svc
        .authenticate(pair.access_token.as_bytes())
        .await
        .unwrap();
    assert_eq!(who.subject(), "alice");
    assert_eq!(who.roles(), roles().as_slice());
    let AuthMethod::Bearer(info) = who.method() else {
        panic!("not a bearer identity")
    };
    assert_eq!(info.exp - info.iat, 900);
    assert_eq!(info.jti.len(), 22); // 128 bits
    let next = f.svc.refresh(&pair.refresh_token).await.unwrap();
    assert!(f
        .svc
        .authenticate(next.access_token.as_bytes())
        .await
        .is_ok());
}

#[tokio::test]
async fn every_algorithm_roundtrips() {
    roundtrip(KeyRegistry::hs256("k1", SECRET).unwrap()).await;
    roundtrip(
        KeyRegistry::builder()
            .hmac("k1", Algorithm::HS384, &[3u8; 48])
            .build()
            .unwrap(),
    )
    .await;
    roundtrip(
        KeyRegistry::builder()
            .hmac("k1", Algorithm::HS512, &[3u8; 64])
            .build()
            .unwrap(),
    )
    .await;
    for (alg, file) in [
        (Algorithm::RS256, "rsa2048_private.pem"),
        (Algorithm::PS256, "rsa2048_private.pem"),
        (Algorithm::RS512, "rsa2048_private_pkcs1.pem"),
        (Algorithm::ES256, "es256_private.pem"),
        (Algorithm::ES384, "es384_private.pem"),
        (Algorithm::EdDSA, "ed25519_private.pem"),
    ] {
        let keys = KeyRegistry::builder()
            .private_pem("k1", alg, &pem(file))
            .build()
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        roundtrip(keys).await;
    }
}

/// An identity provider's JWKS as they come: keys without `alg`, an
/// encryption key, a curve we do not verify, private material, a key
/// without `kid`, an unknown type. The usable keys are imported with the
/// algorithm their type implies; the rest are skipped, each with a reason.
#[tokio::test]
async fn a_foreign_jwks_is_imported_tolerantly() {
    let signers: Vec<Fx> = [
        ("rsa-1", Algorithm::RS256, "rsa2048_private.pem"),
        ("ec-1", Algorithm::ES256, "es256_private.pem"),
        ("ed-1", Algorithm::EdDSA, "ed25519_private.pem"),
    ]
    .iter()
    .map(|(kid, alg, file)| {
        fx_with(
            KeyRegistry::builder()
                .private_pem(*kid, *alg, &pem(file))
                .build()
                .unwrap(),
        )
    })
    .collect();
    let mut keys: Vec<serde_json::Value> = signers
        .iter()
        .map(|f| {
            let mut k = f.svc.jwks()["keys"][0].clone();
            k.as_object_mut().unwrap().remove("alg");
            k
        })
        .collect();
    let ec = keys[1].clone();
    let mut enc = keys[0].clone();
    enc["kid"] = "rsa-enc".into();
    enc["use"] = "enc".into();
    let mut p521 = ec.clone();
    p521["kid"] = "p521".into();
    p521["crv"] = "P-521".into();
    let mut private = ec.clone();
    private["kid"] = "leaked".into();
    private["d"] = "AAAA".into();
    let mut no_kid = ec.clone();
    no_kid.as_object_mut().unwrap().remove("kid");
    keys.extend([
        enc,
        p521,
        private,
        no_kid,
        serde_json::json!({ "kty": "oct", "kid": "shared", "k": "c2VjcmV0" }),
        serde_json::json!({ "kty": "XYZ", "kid": "weird" }),
        serde_json::json!("not a key"),
        // Two keys under one kid: neither is trusted.
        serde_json::json!({ "kty": "XYZ", "kid": "twice" }),
        serde_json::json!({ "kty": "XYZ", "kid": "twice" }),
    ]);
    let registry = KeyRegistry::builder()
        .jwks(&serde_json::json!({ "keys": keys }))
        .build()
        .unwrap();
    let imported: Vec<(String, Algorithm)> =
        registry.kids().map(|(k, a)| (k.to_owned(), a)).collect();
    assert_eq!(
        imported,
        [
            ("rsa-1".to_owned(), Algorithm::RS256),
            ("ec-1".to_owned(), Algorithm::ES256),
            ("ed-1".to_owned(), Algorithm::EdDSA)
        ]
    );
    let skipped = registry.skipped_keys();
    assert_eq!(skipped.len(), 9, "{skipped:#?}");
    assert_eq!(
        skipped
            .iter()
            .filter(|s| s.contains("names several keys"))
            .count(),
        2,
        "{skipped:#?}"
    );
    for (kid, why) in [
        ("rsa-enc", "enc"),
        ("p521", "P-521"),
        ("leaked", "private"),
        ("shared", "shared secret"),
        ("weird", "no `alg`"),
    ] {
        assert!(
            skipped.iter().any(|s| s.contains(kid) && s.contains(why)),
            "{kid}: {skipped:#?}"
        );
    }
    assert!(
        skipped.iter().any(|s| s.contains("no `kid`")),
        "{skipped:#?}"
    );
    assert!(
        skipped.iter().all(|s| !s.contains("AAAA")),
        "no key material in reasons"
    );

    // Tokens of each provider key verify; the token's alg must still match.
    let verifier = fx_with(registry);
    for f in &signers {
        let pair = f.svc.issue("alice", &roles()).await.unwrap();
        let who = verifier
            .svc
            .authenticate(pair.access_token.as_bytes())
            .await;
        assert_eq!(who.map(|w| w.subject().to_owned()).as_deref(), Ok("alice"));
    }

    // A set with nothing usable says why.
    let err = KeyRegistry::builder()
        .jwks(&serde_json::json!({ "keys": [{ "kty": "RSA", "use": "enc", "kid": "x" }] }))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("no usable key") && err.to_string().contains("enc"),
        "{err}"
    );
    // The set's only key may lack a kid: tokens without one select it.
    let mut lone = signers[1].svc.jwks()["keys"][0].clone();
    lone.as_object_mut().unwrap().remove("kid");
    let lone = KeyRegistry::builder()
        .jwks(&serde_json::json!({ "keys": [lone] }))
        .build();
    assert!(lone.is_ok_and(|r| r.kids().count() == 1));
}

#[tokio::test]
async fn verify_only_service_from_public_pem_and_jwks() {
    let signer = fx_with(
        KeyRegistry::builder()
            .private_pem("ec-1", Algorithm::ES256, &pem("es256_private.pem"))
            .build()
            .unwrap(),
    );
    let pair = signer.svc.issue("alice", &roles()).await.unwrap();

    // From the published JWKS.
    let jwks = signer.svc.jwks();
    assert!(jwks["keys"][0].get("d").is_none());
    let from_jwks = fx_with(KeyRegistry::builder().jwks(&jwks).build().unwrap());
    assert!(!from_jwks.svc.keys().can_sign());
    let who = from_jwks
        .svc
        .authenticate(pair.access_token.as_bytes())
        .await
        .unwrap();
    assert_eq!(who.subject(), "alice");
    // A verify-only service cannot issue: 503, not a panic.
    assert_eq!(
        from_jwks.svc.issue("bob", &[]).await.unwrap_err().status(),
        503
    );

    // From the public PEM.
    let from_pem = fx_with(
        KeyRegistry::builder()
            .public_pem("ec-1", Algorithm::ES256, &pem("es256_public.pem"))
            .build()
            .unwrap(),
    );
    assert!(from_pem
        .svc
        .authenticate(pair.access_token.as_bytes())
        .await
        .is_ok());
    // The other P-256 key under the same kid: bad signature.
    let wrong = fx_with(
        KeyRegistry::builder()
            .public_pem("ec-1", Algorithm::ES256, &pem("es256b_public.pem"))
            .build()
            .unwrap(),
    );
    assert_eq!(
        wrong.svc.verify(pair.access_token.as_bytes()).unwrap_err(),
        JwtError::BadSignature
    );
}

#[test]
fn jwks_publishes_public_keys_only() {
    let keys = KeyRegistry::builder()
        .private_pem("rsa", Algorithm::RS256, &pem("rsa2048_private.pem"))
        .private_pem("ec", Algorithm::ES256, &pem("es256_private.pem"))
        .private_pem("ed", Algorithm::EdDSA, &pem("ed25519_private.pem"))
        .public_pem("old-ec", Algorithm::ES256, &pem("es256b_public.pem"))
        .active("ec")
        .build()
        .unwrap();
    let jwks = keys.jwks();
    let list = jwks["keys"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    for k in list {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "{private} published");
        }
        assert_eq!(k["use"], "sig");
    }
    assert_eq!(list[0]["kty"], "RSA");
    assert_eq!(list[0]["e"], "AQAB");
    assert_eq!(list[1]["crv"], "P-256");
    assert_eq!(list[2]["kty"], "OKP");
    assert_eq!(list[3]["kid"], "old-ec");
    // HMAC secrets never appear.
    let h = KeyRegistry::hs256("k", SECRET).unwrap();
    assert_eq!(h.jwks(), json!({ "keys": [] }));
}

#[tokio::test]
async fn key_rotation_without_downtime() {
    let old = fx_with(KeyRegistry::hs256("2024", SECRET).unwrap());
    let old_token = old.svc.issue("alice", &[]).await.unwrap().access_token;

    let rotated = fx_with(
        KeyRegistry::builder()
            .hmac(
                "2025",
                Algorithm::HS256,
                b"the new secret, also 32+ bytes long",
            )
            .hmac("2024", Algorithm::HS256, SECRET)
            .active("2025")
            .build()
            .unwrap(),
    );
    // Old tokens still verify ...
    assert!(rotated.svc.authenticate(old_token.as_bytes()).await.is_ok());
    // ... new ones are signed with the new key.
    let new_token = rotated.svc.issue("alice", &[]).await.unwrap().access_token;
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(new_token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], "2025");
    assert_eq!(header["typ"], "JWT");
    // The old service does not know the new key.
    assert_eq!(
        old.svc.verify(new_token.as_bytes()).unwrap_err(),
        JwtError::UnknownKey
    );
}

// ----- key configuration ---------------------------------------------------

#[test]
fn weak_or_contradictory_keys_are_refused_at_build() {
    let key_err = |r: Result<KeyRegistry, ConfigError>| match r {
        Err(ConfigError::Key(m)) => m,
        other => panic!("expected a key error, got {other:?}"),
    };
    assert!(key_err(KeyRegistry::hs256("k", &[1u8; 31])).contains("at least 32"));
    let b = || KeyRegistry::builder();
    key_err(b().hmac("k", Algorithm::HS384, &[1u8; 47]).build());
    key_err(b().hmac("k", Algorithm::HS512, &[1u8; 63]).build());
    key_err(b().hmac("k", Algorithm::ES256, &[1u8; 64]).build());
    key_err(b().build()); // empty
    key_err(b().hmac("", Algorithm::HS256, SECRET).build());
    key_err(b().hmac("x".repeat(257), Algorithm::HS256, SECRET).build());
    assert!(key_err(
        b().hmac("k", Algorithm::HS256, SECRET)
            .hmac("k", Algorithm::HS256, SECRET)
            .build()
    )
    .contains("duplicate"));
    assert!(key_err(
        b().hmac("h", Algorithm::HS256, SECRET)
            .private_pem("e", Algorithm::ES256, &pem("es256_private.pem"))
            .build()
    )
    .contains("not both"));
    // 1024-bit RSA, private or public.
    // (AWS-LC already refuses to parse it; RustCrypto parses it and our
    // size check refuses it.)
    key_err(
        b().private_pem("r", Algorithm::RS256, &pem("rsa1024_private.pem"))
            .build(),
    );
    assert!(key_err(
        b().public_pem("r", Algorithm::RS256, &pem("rsa1024_public.pem"))
            .build()
    )
    .contains("2048"));
    // Key of the wrong kind or curve for the algorithm.
    key_err(
        b().private_pem("e", Algorithm::ES256, &pem("es384_private.pem"))
            .build(),
    );
    key_err(
        b().public_pem("e", Algorithm::ES256, &pem("es384_public.pem"))
            .build(),
    );
    key_err(
        b().private_pem("e", Algorithm::EdDSA, &pem("es256_private.pem"))
            .build(),
    );
    key_err(
        b().private_pem("e", Algorithm::RS256, &pem("es256_private.pem"))
            .build(),
    );
    key_err(b().private_pem("e", Algorithm::ES256, b"not a pem").build());
    // Active key must exist and be able to sign.
    key_err(
        b().hmac("k", Algorithm::HS256, SECRET)
            .active("nope")
            .build(),
    );
    key_err(
        b().public_pem("e", Algorithm::ES256, &pem("es256_public.pem"))
            .active("e")
            .build(),
    );
    // Private JWK members are refused (load private keys from PEM).
    let mut jwk = a3_jwk();
    jwk["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
    key_err(b().jwk(&jwk).build());
    // A JWK whose alg does not fit its curve.
    let mut jwk = a3_jwk();
    jwk["alg"] = json!("ES384");
    key_err(b().jwk(&jwk).build());
}

#[test]
fn roca_keys_are_refused() {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/vectors/wycheproof/json_web_key_test.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let group = doc["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["comment"] == "jws_rsa_roca_key")
        .unwrap();
    let err = KeyRegistry::builder()
        .jwks(&group["public"])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("ROCA"), "{err}");
}

#[test]
fn service_configuration_is_checked() {
    let keys = || KeyRegistry::hs256("k", SECRET).unwrap();
    let build = |c: TokenConfig| {
        Authenticator::builder()
            .without_sessions()
            .tokens(c)
            .build()
            .map(|a| a.tokens().expect("token mode").clone())
    };
    let jwt_err = |r: Result<TokenService, ConfigError>| matches!(r, Err(ConfigError::Jwt(_)));
    assert!(jwt_err(build(
        TokenConfig::new(keys()).access_ttl(Duration::from_secs(0))
    )));
    assert!(jwt_err(build(
        TokenConfig::new(keys()).access_ttl(Duration::from_secs(86_401))
    )));
    assert!(jwt_err(build(
        TokenConfig::new(keys())
            .access_ttl(Duration::from_secs(600))
            .refresh_ttl(Duration::from_secs(60))
    )));
    assert!(jwt_err(build(
        TokenConfig::new(keys()).refresh_idle_ttl(Duration::from_secs(0))
    )));
    assert!(jwt_err(build(
        TokenConfig::new(keys()).leeway(Duration::from_secs(301))
    )));
    assert!(jwt_err(build(TokenConfig::new(keys()).issuer(""))));
    assert!(jwt_err(build(TokenConfig::new(keys()).allow_crit("alg"))));
    // Every span is whole seconds: a fraction is refused, not rounded.
    assert!(jwt_err(build(
        TokenConfig::new(keys()).access_ttl(Duration::from_millis(1_500))
    )));
    assert!(jwt_err(build(
        TokenConfig::new(keys()).leeway(Duration::from_millis(10))
    )));
    let svc = build(TokenConfig::new(keys())).unwrap();
    assert_eq!(svc.access_ttl(), 900);
    assert_eq!(svc.refresh_ttl(), 14 * 86_400);
}

// ----- attack corpus -------------------------------------------------------

#[tokio::test]
async fn alg_none_in_every_case() {
    let f = fx();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"k1"}}"#);
        let unsigned = format!("{}.{}.", b64(&header), b64(claims(NOW).to_string()));
        assert!(f.svc.verify(unsigned.as_bytes()).is_err(), "{alg}");
        // Even with an HMAC attached the `none` header is refused.
        let signed = hs256(&header, &claims(NOW).to_string(), SECRET);
        assert_eq!(
            f.svc.verify(signed.as_bytes()).unwrap_err(),
            JwtError::AlgNone,
            "{alg}"
        );
        assert_eq!(
            f.svc.authenticate(signed.as_bytes()).await.unwrap_err(),
            RejectionKind::InvalidToken
        );
    }
}

#[tokio::test]
async fn algorithm_confusion_hs256_with_public_key_as_secret() {
    for (alg, public) in [
        (Algorithm::RS256, "rsa2048_public.pem"),
        (Algorithm::ES256, "es256_public.pem"),
        (Algorithm::EdDSA, "ed25519_public.pem"),
    ] {
        let f = fx_with(
            KeyRegistry::builder()
                .public_pem("pub", alg, &pem(public))
                .build()
                .unwrap(),
        );
        let secret = pem(public);
        let payload = claims(NOW).to_string();
        // The classic attack: alg HS256, "secret" = the PEM bytes of the public key.
        for header in [
            r#"{"alg":"HS256","typ":"JWT","kid":"pub"}"#,
            r#"{"alg":"HS256","typ":"JWT"}"#,
        ] {
            let forged = hs256(header, &payload, &secret);
            assert_eq!(
                f.svc.verify(forged.as_bytes()).unwrap_err(),
                JwtError::AlgorithmMismatch,
                "{alg}"
            );
        }
        // The JWKS form of the key as the secret.
        let jwk = f.svc.jwks()["keys"][0].to_string();
        let forged = hs256(r#"{"alg":"HS256","kid":"pub"}"#, &payload, jwk.as_bytes());
        assert!(f.svc.authenticate(forged.as_bytes()).await.is_err());
    }
}

#[tokio::test]
async fn tampering_and_wrong_keys() {
    let f = fx();
    let pair = f.svc.issue("alice", &roles()).await.unwrap();
    let t = pair.access_token.clone();
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(parts.len(), 3);

    // Payload swapped for another subject, original signature kept.
    let mut evil: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    evil["sub"] = json!("mallory");
    evil["roles"] = json!(["admin", "root"]);
    let forged = format!("{}.{}.{}", parts[0], b64(evil.to_string()), parts[2]);
    assert_eq!(
        f.svc.verify(forged.as_bytes()).unwrap_err(),
        JwtError::BadSignature
    );

    // Header changed (same meaning, different bytes), signature kept.
    let header2 = b64(r#"{"kid":"k1","alg":"HS256","typ":"JWT"}"#);
    let forged = format!("{header2}.{}.{}", parts[1], parts[2]);
    assert_eq!(
        f.svc.verify(forged.as_bytes()).unwrap_err(),
        JwtError::BadSignature
    );

    // Signed with another secret under our kid.
    let other = hs256(
        HEADER,
        &claims(NOW).to_string(),
        b"another secret of thirty-two bytes!!",
    );
    assert_eq!(
        f.svc.verify(other.as_bytes()).unwrap_err(),
        JwtError::BadSignature
    );

    // Truncated / extended signature.
    let short = format!("{}.{}.{}", parts[0], parts[1], &parts[2][..40]);
    assert!(f.svc.verify(short.as_bytes()).is_err());
    let long = format!("{t}AAAA");
    assert!(f.svc.verify(long.as_bytes()).is_err());

    // A crafted token with our secret passes: the corpus below is meaningful.
    let good = hs256(HEADER, &claims(NOW).to_string(), SECRET);
    assert!(f.svc.authenticate(good.as_bytes()).await.is_ok());
}

#[tokio::test]
async fn kid_handling() {
    let f = fx();
    let payload = claims(NOW).to_string();
    for kid in [
        "k2",
        "K1",
        "k1 ",
        "../../../../etc/passwd",
        "/dev/null",
        "' OR '1'='1",
        "k1'; DROP TABLE keys; --",
        "http://attacker.example/key.pem",
        "k1\u{0000}",
        "",
    ] {
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid}).to_string();
        let token = hs256(&header, &payload, SECRET);
        assert_eq!(
            f.svc.verify(token.as_bytes()).unwrap_err(),
            JwtError::UnknownKey,
            "{kid:?}"
        );
    }
    let huge = json!({"alg": "HS256", "kid": "k".repeat(257)}).to_string();
    assert_eq!(
        f.svc
            .verify(hs256(&huge, &payload, SECRET).as_bytes())
            .unwrap_err(),
        JwtError::KidTooLong
    );
    // kid of the wrong JSON type.
    let num = r#"{"alg":"HS256","kid":1}"#;
    assert_eq!(
        f.svc
            .verify(hs256(num, &payload, SECRET).as_bytes())
            .unwrap_err(),
        JwtError::MalformedHeader
    );
    // No kid: fine with a single key ...
    let no_kid = hs256(r#"{"alg":"HS256"}"#, &payload, SECRET);
    assert!(f.svc.verify(no_kid.as_bytes()).is_ok());
    // ... refused once two keys are registered.
    let two = fx_with(
        KeyRegistry::builder()
            .hmac("k1", Algorithm::HS256, SECRET)
            .hmac("k2", Algorithm::HS256, b"the second secret, 32 bytes long!")
            .build()
            .unwrap(),
    );
    assert_eq!(
        two.svc.verify(no_kid.as_bytes()).unwrap_err(),
        JwtError::UnknownKey
    );
    // The header's alg must be the key's.
    let hs384 = hs256(r#"{"alg":"HS384","kid":"k1"}"#, &payload, SECRET);
    assert_eq!(
        f.svc.verify(hs384.as_bytes()).unwrap_err(),
        JwtError::AlgorithmMismatch
    );
}

#[tokio::test]
async fn header_policy_typ_crit_cty() {
    let f = fx();
    let payload = claims(NOW).to_string();
    let check =
        |svc: &TokenService, header: &str| svc.verify(hs256(header, &payload, SECRET).as_bytes());
    for typ in [
        "JWT",
        "jwt",
        "at+jwt",
        "AT+JWT",
        "application/jwt",
        "application/at+jwt",
    ] {
        let h = json!({"alg": "HS256", "kid": "k1", "typ": typ}).to_string();
        assert!(check(&f.svc, &h).is_ok(), "{typ}");
    }
    for typ in [
        "JWS",
        "JOSE",
        "id+jwt",
        "dpop+jwt",
        "application/json",
        "",
        "JWT ",
    ] {
        let h = json!({"alg": "HS256", "kid": "k1", "typ": typ}).to_string();
        assert_eq!(
            check(&f.svc, &h).unwrap_err(),
            JwtError::UnsupportedHeader("typ"),
            "{typ}"
        );
    }
    assert_eq!(
        check(&f.svc, r#"{"alg":"HS256","kid":"k1","typ":null}"#).unwrap_err(),
        JwtError::MalformedHeader
    );
    // crit: refused unless allow-listed and present.
    let crit = r#"{"alg":"HS256","kid":"k1","crit":["tenant"],"tenant":"acme"}"#;
    assert_eq!(
        check(&f.svc, crit).unwrap_err(),
        JwtError::UnsupportedHeader("crit")
    );
    assert_eq!(
        check(
            &f.svc,
            r#"{"alg":"HS256","kid":"k1","crit":["exp"],"exp":1}"#
        )
        .unwrap_err(),
        JwtError::UnsupportedHeader("crit")
    );
    let allowing = portcullis::Authenticator::builder()
        .without_sessions()
        .clock(f.clock.clone())
        .tokens(
            portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", SECRET).unwrap())
                .issuer(ISS)
                .audience(AUD)
                .allow_crit("tenant"),
        )
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap();
    assert!(check(&allowing, crit).is_ok());
    assert!(check(&allowing, r#"{"alg":"HS256","kid":"k1","crit":["tenant"]}"#).is_err());
    assert!(check(
        &allowing,
        r#"{"alg":"HS256","kid":"k1","crit":["tenant","x"],"tenant":1,"x":1}"#
    )
    .is_err());
    // Nested tokens and unencoded payloads.
    assert_eq!(
        check(&f.svc, r#"{"alg":"HS256","kid":"k1","cty":"JWT"}"#).unwrap_err(),
        JwtError::UnsupportedHeader("cty")
    );
    assert_eq!(
        check(&f.svc, r#"{"alg":"HS256","kid":"k1","b64":false}"#).unwrap_err(),
        JwtError::UnsupportedHeader("b64")
    );
    // Duplicate header member; header not an object.
    assert_eq!(
        check(&f.svc, r#"{"alg":"HS256","kid":"k1","kid":"k1"}"#).unwrap_err(),
        JwtError::MalformedHeader
    );
    assert_eq!(
        check(&f.svc, r#"["HS256"]"#).unwrap_err(),
        JwtError::MalformedHeader
    );
    // An embedded attacker key is never used (the signature is ours here,
    // so the token verifies: the jwk member is simply ignored).
    let h = r#"{"alg":"HS256","kid":"k1","jwk":{"kty":"oct","k":"AAAA"},"jku":"https://evil"}"#;
    assert!(check(&f.svc, h).is_ok());
    let evil = hs256(h, &payload, b"attacker secret of thirty-two bytes");
    assert_eq!(
        f.svc.verify(evil.as_bytes()).unwrap_err(),
        JwtError::BadSignature
    );
}

#[tokio::test]
async fn size_and_encoding() {
    let f = fx();
    let good = hs256(HEADER, &claims(NOW).to_string(), SECRET);
    assert!(f.svc.verify(good.as_bytes()).is_ok());

    // Oversized: refused before decoding, even if otherwise valid.
    let mut big = claims(NOW);
    big["pad"] = json!("x".repeat(MAX_TOKEN_LEN));
    let big = hs256(HEADER, &big.to_string(), SECRET);
    assert_eq!(
        f.svc.verify(big.as_bytes()).unwrap_err(),
        JwtError::TooLarge
    );
    assert_eq!(
        f.svc.authenticate(big.as_bytes()).await.unwrap_err(),
        RejectionKind::InvalidToken
    );
    assert_eq!(
        f.svc.verify(&vec![b'A'; 100_000]).unwrap_err(),
        JwtError::TooLarge
    );

    let parts: Vec<&str> = good.split('.').collect();
    let join = |h: &str, p: &str, s: &str| format!("{h}.{p}.{s}");
    // Padding.
    for t in [
        join(&format!("{}=", parts[0]), parts[1], parts[2]),
        join(parts[0], parts[1], &format!("{}=", parts[2])),
        format!("{good}="),
    ] {
        assert_eq!(f.svc.verify(t.as_bytes()).unwrap_err(), JwtError::Malformed);
    }
    // Non-canonical trailing bits in the signature (32 bytes = 43 chars,
    // the last one carries 2 unused bits).
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sig = parts[2].as_bytes();
    let last = ALPHABET.iter().position(|c| *c == sig[42]).unwrap();
    let mut sig2 = sig.to_vec();
    sig2[42] = ALPHABET[last ^ 1];
    let t = join(parts[0], parts[1], std::str::from_utf8(&sig2).unwrap());
    assert_eq!(f.svc.verify(t.as_bytes()).unwrap_err(), JwtError::Malformed);
    // Standard-alphabet characters, whitespace, extra or missing segments.
    for t in [
        good.replace('-', "+").replace('_', "/"),
        format!(" {good}"),
        format!("{good}\n"),
        format!("{good}.{}", parts[2]),
        join(parts[0], parts[1], ""),
        format!("{}.{}", parts[0], parts[1]),
        join("", parts[1], parts[2]),
        String::new(),
        "..".into(),
    ] {
        if t.contains('+') || t.contains('/') || !t.contains('-') && !t.contains('_') {
            // (the replace above may be a no-op if the token has neither)
        }
        assert!(f.svc.verify(t.as_bytes()).is_err(), "{t:?}");
    }
    // Non-UTF-8 bytes.
    let mut raw = good.clone().into_bytes();
    raw[5] = 0xff;
    assert_eq!(f.svc.verify(&raw).unwrap_err(), JwtError::Malformed);
    // Empty payload, non-object payloads.
    let empty = join(parts[0], "", parts[2]);
    assert!(f.svc.verify(empty.as_bytes()).is_err());
    for payload in ["[]", "\"alice\"", "null", "1"] {
        let t = hs256(HEADER, payload, SECRET);
        assert_eq!(
            f.svc.verify(t.as_bytes()).unwrap_err(),
            JwtError::MalformedClaims,
            "{payload}"
        );
    }
}

#[tokio::test]
async fn time_claims() {
    let f = fx();
    let c = claims(NOW);
    let verify = |payload: String| f.svc.verify(hs256(HEADER, &payload, SECRET).as_bytes());
    assert!(verify(c.to_string()).is_ok());
    // exp required.
    assert_eq!(
        verify(without(c.clone(), "exp")).unwrap_err(),
        JwtError::MissingClaim("exp")
    );
    // Expired (leeway 30 s).
    assert!(verify(with(c.clone(), "exp", json!(NOW - 29))).is_ok());
    assert_eq!(
        verify(with(c.clone(), "exp", json!(NOW - 30))).unwrap_err(),
        JwtError::Expired
    );
    // nbf in the future.
    assert!(verify(with(c.clone(), "nbf", json!(NOW + 30))).is_ok());
    assert_eq!(
        verify(with(c.clone(), "nbf", json!(NOW + 31))).unwrap_err(),
        JwtError::NotYetValid
    );
    // iat in the future.
    assert!(verify(with(c.clone(), "iat", json!(NOW + 30))).is_ok());
    assert_eq!(
        verify(with(c.clone(), "iat", json!(NOW + 31))).unwrap_err(),
        JwtError::IssuedInFuture
    );
    // The clock moves: an issued token expires after 15 min + leeway.
    let pair = f.svc.issue("alice", &[]).await.unwrap();
    f.clock.advance(Duration::from_secs(900 + 29));
    assert!(f
        .svc
        .authenticate(pair.access_token.as_bytes())
        .await
        .is_ok());
    f.clock.advance(Duration::from_secs(1));
    assert_eq!(
        f.svc
            .authenticate(pair.access_token.as_bytes())
            .await
            .unwrap_err(),
        RejectionKind::InvalidToken
    );
}

#[test]
fn issuer_audience_and_claim_types() {
    let f = fx();
    let c = claims(NOW);
    let verify = |payload: String| f.svc.verify(hs256(HEADER, &payload, SECRET).as_bytes());
    assert_eq!(
        verify(without(c.clone(), "iss")).unwrap_err(),
        JwtError::MissingClaim("iss")
    );
    assert_eq!(
        verify(with(c.clone(), "iss", json!("https://evil.test"))).unwrap_err(),
        JwtError::WrongIssuer
    );
    assert_eq!(
        verify(with(c.clone(), "iss", json!("https://auth.test/"))).unwrap_err(),
        JwtError::WrongIssuer
    );
    assert_eq!(
        verify(without(c.clone(), "aud")).unwrap_err(),
        JwtError::MissingClaim("aud")
    );
    assert_eq!(
        verify(with(c.clone(), "aud", json!("API"))).unwrap_err(),
        JwtError::WrongAudience
    );
    assert_eq!(
        verify(with(c.clone(), "aud", json!(["web", "admin"]))).unwrap_err(),
        JwtError::WrongAudience
    );
    assert!(verify(with(c.clone(), "aud", json!(["web", "api"]))).is_ok());
    for (claim, bad) in [
        ("exp", json!((NOW + 900).to_string())),
        ("exp", json!(1.5e9)),
        ("exp", json!(null)),
        ("exp", json!(-1)),
        ("iat", json!("now")),
        ("nbf", json!(true)),
        ("nbf", json!(null)),
        ("sub", json!(42)),
        ("jti", json!({"a": 1})),
        ("iss", json!([ISS])),
        ("aud", json!([1])),
        ("roles", json!("admin")),
        ("roles", json!([1, 2])),
        ("sid", json!(false)),
        ("iat_ms", json!("1")),
    ] {
        assert_eq!(
            verify(with(c.clone(), claim, bad.clone())).unwrap_err(),
            JwtError::MalformedClaims,
            "{claim}: {bad}"
        );
    }
    // Duplicate registered claim (the first one would be a valid exp).
    let dup = format!("{{\"exp\":{},{}", NOW + 900, &c.to_string()[1..]);
    assert_eq!(verify(dup).unwrap_err(), JwtError::MalformedClaims);
    // Our access tokens need sub, iat and jti.
    for claim in ["sub", "iat", "jti"] {
        assert_eq!(
            verify(without(c.clone(), claim)).unwrap_err(),
            JwtError::MissingClaim(claim)
        );
    }
    assert_eq!(
        verify(with(c.clone(), "sub", json!(""))).unwrap_err(),
        JwtError::MissingClaim("sub")
    );
}

// ----- revocation ----------------------------------------------------------

#[tokio::test]
async fn logout_revokes_the_jti_and_the_family() {
    let f = fx();
    let pair = f.svc.issue("alice", &roles()).await.unwrap();
    let other = f.svc.issue("alice", &roles()).await.unwrap();
    let who = f
        .svc
        .authenticate(pair.access_token.as_bytes())
        .await
        .unwrap();
    f.svc.logout(&who).await.unwrap();
    assert_eq!(
        f.svc
            .authenticate(pair.access_token.as_bytes())
            .await
            .unwrap_err(),
        RejectionKind::InvalidToken
    );
    // verify() does not consult the revocation list.
    assert!(f.svc.verify(pair.access_token.as_bytes()).is_ok());
    // The family is gone: its refresh token is dead.
    assert_eq!(
        f.svc
            .refresh(&pair.refresh_token)
            .await
            .unwrap_err()
            .status(),
        401
    );
    // Another session of the same user is untouched.
    assert!(f
        .svc
        .authenticate(other.access_token.as_bytes())
        .await
        .is_ok());
    assert!(f.svc.refresh(&other.refresh_token).await.is_ok());
    // Two revocation entries: the token, until its exp + leeway, and its
    // family (every access token minted from it, review finding L4), until
    // the latest expiry one of them can have; both expire by themselves.
    assert_eq!(f.revocations.len(), 2);
    f.clock.advance(Duration::from_secs(900 + 30));
    f.revocations.purge_expired();
    assert_eq!(f.revocations.len(), 1);
    f.clock.advance(Duration::from_secs(1));
    f.revocations.purge_expired();
    assert_eq!(f.revocations.len(), 0);
    // A non-bearer identity cannot be logged out here.
    let cookie = portcullis::Identity::new(
        "alice",
        vec![],
        AuthMethod::Session(portcullis::store::SessionKey::from_bytes([1; 32])),
    );
    assert_eq!(f.svc.logout(&cookie).await.unwrap_err().status(), 401);
}

#[tokio::test]
async fn logout_all_then_login_in_the_same_second() {
    let f = fx();
    f.clock.advance(Duration::from_millis(250));
    let before = f.svc.issue("alice", &[]).await.unwrap();
    let bob = f.svc.issue("bob", &[]).await.unwrap();
    // A cookie session of alice in the same store.
    let cookie_key = SessionKey::from_bytes([7; 32]);
    f.store
        .create(&cookie_key, &SessionRecord::new("alice", NOW, 600, 3_600))
        .await
        .unwrap();

    f.clock.advance(Duration::from_millis(100)); // NOW + 0.350 s
    f.svc.logout_all("alice").await.unwrap();
    assert_eq!(
        f.svc
            .authenticate(before.access_token.as_bytes())
            .await
            .unwrap_err(),
        RejectionKind::InvalidToken
    );
    assert_eq!(
        f.svc
            .refresh(&before.refresh_token)
            .await
            .unwrap_err()
            .status(),
        401
    );
    // Bob and alice's cookie session are untouched.
    assert!(f
        .svc
        .authenticate(bob.access_token.as_bytes())
        .await
        .is_ok());
    assert!(f.store.load(&cookie_key).await.unwrap().is_some());
    assert!(f
        .store
        .list_user("alice")
        .await
        .unwrap()
        .iter()
        .all(|(_, r)| r.kind == RecordKind::Session));

    // Logging in again one millisecond later, same second: works.
    f.clock.advance(Duration::from_millis(1));
    assert_eq!(f.clock.now(), NOW);
    let after = f.svc.issue("alice", &[]).await.unwrap();
    assert!(f
        .svc
        .authenticate(after.access_token.as_bytes())
        .await
        .is_ok());
    assert!(f.svc.refresh(&after.refresh_token).await.is_ok());

    // Even within the very same millisecond as the cutoff: tokens issued
    // before it are refused, the one issued after it works.
    let same_ms_before = f.svc.issue("alice", &[]).await.unwrap();
    f.svc.logout_all("alice").await.unwrap();
    let same_ms_after = f.svc.issue("alice", &[]).await.unwrap();
    assert!(f
        .svc
        .authenticate(same_ms_before.access_token.as_bytes())
        .await
        .is_err());
    assert!(f
        .svc
        .authenticate(same_ms_after.access_token.as_bytes())
        .await
        .is_ok());
}

#[tokio::test]
async fn subject_revocation_uses_iat_ms_only_when_consistent() {
    let f = fx();
    f.clock.advance(Duration::from_millis(500));
    f.svc.logout_all("alice").await.unwrap(); // cutoff NOW*1000 + 500
    let mk = |iat_ms: Value| {
        let mut c = claims(NOW);
        c["iat_ms"] = iat_ms;
        hs256(HEADER, &c.to_string(), SECRET)
    };
    // Consistent iat_ms after the cutoff: accepted.
    assert!(f
        .svc
        .authenticate(mk(json!(NOW * 1000 + 501)).as_bytes())
        .await
        .is_ok());
    // At the cutoff: refused.
    assert!(f
        .svc
        .authenticate(mk(json!(NOW * 1000 + 500)).as_bytes())
        .await
        .is_err());
    // Inconsistent iat_ms (claims a later second): falls back to iat * 1000,
    // which is before the cutoff: refused.
    assert!(f
        .svc
        .authenticate(mk(json!(NOW * 1000 + 5_000)).as_bytes())
        .await
        .is_err());
    // No iat_ms at all: iat * 1000: refused.
    let t = hs256(HEADER, &without(claims(NOW), "iat_ms"), SECRET);
    assert!(f.svc.authenticate(t.as_bytes()).await.is_err());
    // Tokens of the next second are fine without iat_ms.
    let t = hs256(HEADER, &without(claims(NOW + 1), "iat_ms"), SECRET);
    f.clock.advance(Duration::from_secs(1));
    assert!(f.svc.authenticate(t.as_bytes()).await.is_ok());
}

// ----- refresh -------------------------------------------------------------

#[tokio::test]
async fn refresh_rotation_and_reuse_detection() {
    let f = fx();
    let first = f.svc.issue("alice", &roles()).await.unwrap();
    let family = {
        let c = f.svc.verify(first.access_token.as_bytes()).unwrap();
        SessionKey::from_hex(c.sid.as_deref().unwrap()).unwrap()
    };
    let rec = f.store.load(&family).await.unwrap().unwrap();
    assert_eq!(rec.kind, RecordKind::RefreshFamily);
    assert_eq!(rec.user_id, "alice");
    assert_eq!(*rec.roles, roles());
    assert_eq!(rec.absolute_expires_at, NOW + 14 * 86_400);
    // The store holds a hash, not the refresh secret.
    let raw = URL_SAFE_NO_PAD.decode(&first.refresh_token).unwrap();
    assert_ne!(&rec.secret[..], &raw[32..]);
    assert!(!serde_json::to_string(&rec)
        .unwrap()
        .contains(&first.refresh_token));

    f.clock.advance(Duration::from_secs(60));
    let second = f.svc.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let who = f
        .svc
        .authenticate(second.access_token.as_bytes())
        .await
        .unwrap();
    assert_eq!(who.roles(), roles().as_slice());
    let AuthMethod::Bearer(info) = who.method() else {
        panic!()
    };
    assert_eq!(info.sid.as_deref(), Some(family.to_hex().as_str()));

    // The spent token comes back (stolen copy): family deleted, 401, and
    // the latest access token is revoked too.
    let reuse = f.svc.refresh(&first.refresh_token).await.unwrap_err();
    assert_eq!(reuse.kind(), RejectionKind::InvalidToken);
    assert_eq!(
        reuse.www_authenticate(),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert!(f.store.load(&family).await.unwrap().is_none());
    assert_eq!(
        f.svc
            .refresh(&second.refresh_token)
            .await
            .unwrap_err()
            .status(),
        401
    );
    assert!(f
        .svc
        .authenticate(second.access_token.as_bytes())
        .await
        .is_err());

    // Garbage refresh tokens.
    for bad in [
        "",
        "x",
        &first.refresh_token[..85],
        &format!("{}=", first.refresh_token),
    ] {
        assert_eq!(f.svc.refresh(bad).await.unwrap_err().status(), 401);
    }
    // A family ID of a cookie session is not a refresh family.
    let fake = URL_SAFE_NO_PAD.encode([[7u8; 32], [0u8; 32]].concat());
    f.store
        .create(
            &SessionId32::key([7; 32]),
            &SessionRecord::new("alice", NOW, 600, 3_600),
        )
        .await
        .unwrap();
    assert_eq!(f.svc.refresh(&fake).await.unwrap_err().status(), 401);
}

/// `SessionId::from_bytes(b).key()` spelled once.
struct SessionId32;
impl SessionId32 {
    fn key(b: [u8; 32]) -> SessionKey {
        portcullis::__private::SessionId::from_bytes(b).key()
    }
}

#[tokio::test]
async fn refresh_family_expires() {
    let clock = ManualClock::new(NOW);
    let svc = portcullis::Authenticator::builder()
        .without_sessions()
        .clock(clock.clone())
        .tokens(
            portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", SECRET).unwrap())
                .access_ttl(std::time::Duration::from_secs(60))
                .refresh_ttl(std::time::Duration::from_secs(3_600))
                .refresh_idle_ttl(std::time::Duration::from_secs(600)),
        )
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap();
    let p = svc.issue("alice", &[]).await.unwrap();
    clock.advance(Duration::from_secs(500));
    let p = svc.refresh(&p.refresh_token).await.unwrap(); // idle window moves
    clock.advance(Duration::from_secs(500));
    let p = svc.refresh(&p.refresh_token).await.unwrap();
    clock.advance(Duration::from_secs(601)); // idle too long
    assert_eq!(
        svc.refresh(&p.refresh_token).await.unwrap_err().status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refresh_exactly_one_wins() {
    for round in 0..20 {
        let f = fx();
        let pair = f.svc.issue("alice", &[]).await.unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(32));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let svc = f.svc.clone();
            let token = pair.refresh_token.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                svc.refresh(&token).await
            }));
        }
        let mut wins: Vec<TokenPair> = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(p) => wins.push(p),
                Err(r) => assert_eq!(r.kind(), RejectionKind::InvalidToken),
            }
        }
        assert_eq!(wins.len(), 1, "round {round}: {} winners", wins.len());
        // A loser that loaded the family after the winner's rotation saw a
        // spent secret: reuse detection then deleted the family and revoked
        // the winner's access token. Either way the state is consistent.
        let family_alive = f.svc.refresh(&wins[0].refresh_token).await.is_ok();
        let access_ok = f
            .svc
            .authenticate(wins[0].access_token.as_bytes())
            .await
            .is_ok();
        assert_eq!(family_alive, access_ok, "round {round}");
    }
}

// ----- failures fail closed ------------------------------------------------

#[derive(Debug)]
struct Down;

#[async_trait]
impl RevocationList for Down {
    async fn revoke_token(&self, _: &str, _: u64) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn revoke_subject_before(&self, _: &str, _: u64) -> Result<(), StoreError> {
        Err(StoreError::Timeout)
    }
    async fn revoke_family(&self, _: &str, _: u64) -> Result<(), StoreError> {
        Err(StoreError::Timeout)
    }
    async fn is_revoked(
        &self,
        _: &str,
        _: Option<&str>,
        _: &str,
        _: u64,
    ) -> Result<bool, StoreError> {
        Err(StoreError::Timeout)
    }
}

#[async_trait]
impl SessionStore for Down {
    async fn create(&self, _: &SessionKey, _: &SessionRecord) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn load(&self, _: &SessionKey) -> Result<Option<SessionRecord>, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn update(&self, _: &SessionKey, _: &SessionRecord) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn delete(&self, _: &SessionKey) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn delete_user(&self, _: &str) -> Result<usize, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
    async fn list_user(&self, _: &str) -> Result<Vec<(SessionKey, SessionRecord)>, StoreError> {
        Err(StoreError::Unavailable("down".into()))
    }
}

#[tokio::test]
async fn store_failures_fail_closed() {
    let good = fx();
    let pair = good.svc.issue("alice", &[]).await.unwrap();
    let svc = portcullis::Authenticator::builder()
        .without_sessions()
        .clock(good.clock.clone())
        .store(Arc::new(Down))
        .revocations(Arc::new(Down))
        .tokens(
            portcullis::jwt::TokenConfig::new(KeyRegistry::hs256("k1", SECRET).unwrap())
                .issuer(ISS)
                .audience(AUD),
        )
        .build()
        .map(|a| a.tokens().expect("token mode").clone())
        .unwrap();
    assert_eq!(
        svc.authenticate(pair.access_token.as_bytes())
            .await
            .unwrap_err(),
        RejectionKind::StoreUnavailable
    );
    // An invalid token is still 401 (no store call needed).
    assert_eq!(
        svc.authenticate(b"a.b.c").await.unwrap_err(),
        RejectionKind::InvalidToken
    );
    assert_eq!(svc.issue("alice", &[]).await.unwrap_err().status(), 503);
    assert_eq!(
        svc.refresh(&pair.refresh_token).await.unwrap_err().status(),
        503
    );
    assert_eq!(svc.logout_all("alice").await.unwrap_err().status(), 503);
    let who = good
        .svc
        .authenticate(pair.access_token.as_bytes())
        .await
        .unwrap();
    assert_eq!(svc.logout(&who).await.unwrap_err().status(), 503);
}

// ----- secrets never print -------------------------------------------------

#[tokio::test]
async fn nothing_secret_in_debug_or_errors() {
    let f = fx();
    let pair = f.svc.issue("alice", &[]).await.unwrap();
    let dbg = format!(
        "{:?} {:?} {:?} {:?}",
        pair,
        f.svc,
        f.svc.keys(),
        KeyRegistry::builder().hmac("k1", Algorithm::HS256, SECRET)
    );
    assert!(!dbg.contains(&pair.access_token));
    assert!(!dbg.contains(&pair.refresh_token));
    assert!(!dbg.contains("0123456789abcdef"));
    assert!(dbg.contains("REDACTED"));
    let sig = pair.access_token.rsplit('.').next().unwrap();
    let mut tampered = pair.access_token.clone();
    tampered.push('x');
    for t in [
        tampered.as_str(),
        &pair.access_token[..pair.access_token.len() - 3],
    ] {
        let e = f.svc.verify(t.as_bytes()).unwrap_err();
        assert!(!format!("{e} {e:?}").contains(&sig[..10]));
    }
}

// ----- application claims ---------------------------------------------------

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tenant {
    tenant: String,
    level: u8,
}

#[tokio::test]
async fn custom_claims_roundtrip() {
    let f = fx();
    let claims = f
        .svc
        .claims_for("alice", &roles())
        .unwrap()
        .with_extra(Tenant {
            tenant: "acme".into(),
            level: 3,
        });
    let token = f.svc.sign(&claims).unwrap();
    let back: Claims<Tenant> = f.svc.verify_claims(token.as_bytes()).unwrap();
    assert_eq!(
        back.extra,
        Tenant {
            tenant: "acme".into(),
            level: 3
        }
    );
    assert_eq!(back.iss.as_deref(), Some(ISS));
    assert_eq!(back.issued_at_millis(), NOW * 1000);
    let dynamic = f.svc.verify(token.as_bytes()).unwrap();
    assert_eq!(dynamic.extra["tenant"], "acme");
    // authenticate() works on it too (it has sub, iat, jti).
    assert!(f.svc.authenticate(token.as_bytes()).await.is_ok());
    // Reserved names are refused, not silently duplicated.
    for name in ["sub", "roles", "iat_ms", "aud"] {
        let bad = f
            .svc
            .claims_for("alice", &[])
            .unwrap()
            .with_extra(json!({ name: "x" }));
        assert_eq!(f.svc.sign(&bad), Err(JwtError::ReservedClaim(name.into())));
    }
    // Claims that do not fit T.
    assert_eq!(
        f.svc
            .verify_claims::<Tenant>(f.svc.issue("a", &[]).await.unwrap().access_token.as_bytes()),
        Err(JwtError::MalformedClaims)
    );
}

#[test]
fn futures_are_send_and_service_is_shareable() {
    fn send<T: Send>(_: &T) {}
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<TokenService>();
    shared::<KeyRegistry>();
    let f = fx();
    let who = portcullis::Identity::new(
        "a",
        vec![],
        AuthMethod::Session(portcullis::store::SessionKey::from_bytes([1; 32])),
    );
    send(&f.svc.authenticate(b"x"));
    send(&f.svc.issue("a", &[]));
    send(&f.svc.refresh("x"));
    send(&f.svc.logout(&who));
    send(&f.svc.logout_all("a"));
    let _: Arc<dyn RevocationList> = f.revocations;
}

// ----- verified-token cache -----------------------------------------------

/// Tokens presented again are served from the verified-token cache; the
/// answers must be exactly those of a full verification.
#[tokio::test]
async fn verified_cache_repeats_time_and_revocation_checks() {
    let f = fx();
    let pair = f.svc.issue("alice", &roles()).await.unwrap();
    let t = pair.access_token.as_bytes();
    let first = f.svc.authenticate(t).await.unwrap();
    let again = f.svc.authenticate(t).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(again.roles(), roles());
    let AuthMethod::Bearer(info) = again.method() else {
        panic!("not a bearer identity")
    };
    assert_eq!(info.exp, NOW + 900);

    // A token of the same length and signature whose payload differs in one
    // character lands in the same slot: it must not match.
    let dot = pair.access_token.find('.').unwrap();
    let mut forged = pair.access_token.clone().into_bytes();
    forged[dot + 3] = if forged[dot + 3] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        f.svc.authenticate(&forged).await.unwrap_err(),
        RejectionKind::InvalidToken
    );
    assert!(f.svc.authenticate(t).await.is_ok());

    // The clock is consulted on every hit: back before iat - leeway...
    f.clock.set(NOW - 31);
    assert_eq!(
        f.svc.authenticate(t).await.unwrap_err(),
        RejectionKind::InvalidToken
    );
    f.clock.set(NOW);
    assert!(f.svc.authenticate(t).await.is_ok());
    // ...and past exp + leeway.
    f.clock.set(NOW + 900 + 30);
    assert_eq!(
        f.svc.authenticate(t).await.unwrap_err(),
        RejectionKind::InvalidToken
    );
    f.clock.set(NOW);

    // nbf: accepted within the leeway, refused when the clock goes back.
    let nbf = hs256(HEADER, &with(claims(NOW), "nbf", json!(NOW + 20)), SECRET);
    assert!(f.svc.authenticate(nbf.as_bytes()).await.is_ok());
    f.clock.set(NOW - 11);
    assert_eq!(
        f.svc.authenticate(nbf.as_bytes()).await.unwrap_err(),
        RejectionKind::InvalidToken
    );
    f.clock.set(NOW);

    // Revocation is asked on every request: logout of the cached token...
    f.svc.logout(&again).await.unwrap();
    assert_eq!(
        f.svc.authenticate(t).await.unwrap_err(),
        RejectionKind::InvalidToken
    );
    // ...and logout-all for a token cached a moment before.
    let other = f.svc.issue("alice", &roles()).await.unwrap();
    assert!(f
        .svc
        .authenticate(other.access_token.as_bytes())
        .await
        .is_ok());
    f.clock.advance(Duration::from_millis(1));
    f.svc.logout_all("alice").await.unwrap();
    assert_eq!(
        f.svc
            .authenticate(other.access_token.as_bytes())
            .await
            .unwrap_err(),
        RejectionKind::InvalidToken
    );
}

#[tokio::test]
async fn verified_cache_size_one_and_off_give_the_same_answers() {
    let (one, off, _clock) = cache_twins(SECRET, NOW, 1);
    assert!(format!("{one:?}").contains("VerifiedCache"));
    let a = one.issue("alice", &[]).await.unwrap().access_token;
    let b = one.issue("bob", &[]).await.unwrap().access_token;
    // Alternating tokens keep replacing the single slot.
    for _ in 0..3 {
        for t in [&a, &b] {
            let x = one.authenticate(t.as_bytes()).await.unwrap();
            let y = off.authenticate(t.as_bytes()).await.unwrap();
            assert_eq!(x, y);
        }
    }
    let who = off.authenticate(b.as_bytes()).await.unwrap();
    off.logout(&who).await.unwrap();
    assert!(one.authenticate(a.as_bytes()).await.is_ok());
    assert!(one.authenticate(b.as_bytes()).await.is_err());
}

/// Review of the one-builder change: the subject cutoff written by
/// log-out-everywhere must outlive every token it refuses. With
/// `max_token_lifetime` above the access lifetime (tokens minted elsewhere,
/// or by `sign`), a cutoff kept only for the access lifetime would expire
/// while such a token is still valid and let it back in.
#[tokio::test]
async fn a_cutoff_outlives_tokens_longer_than_the_access_lifetime() {
    for max in [Some(Duration::from_secs(2 * 3_600)), None] {
        let clock = ManualClock::new(NOW);
        let auth = Authenticator::builder()
            .without_sessions()
            .clock(clock.clone())
            .tokens(
                TokenConfig::new(KeyRegistry::hs256("k1", SECRET).unwrap())
                    .access_ttl(Duration::from_secs(900))
                    .max_token_lifetime(max),
            )
            .build()
            .unwrap();
        let svc = auth.tokens().unwrap();
        let mut claims = svc.claims_for("alice", &[]).unwrap();
        claims.exp = claims.iat + 2 * 3_600;
        let token = svc.sign(&claims).unwrap();
        assert!(svc.authenticate(token.as_bytes()).await.is_ok(), "{max:?}");
        clock.advance(Duration::from_secs(1));
        auth.logout_everywhere("alice").await.unwrap();
        for minutes in [1, 20, 100] {
            clock.set(NOW + 1 + minutes * 60);
            assert!(
                svc.authenticate(token.as_bytes()).await.is_err(),
                "{max:?}: the token came back {minutes} min after log-out-everywhere"
            );
        }
    }
}
