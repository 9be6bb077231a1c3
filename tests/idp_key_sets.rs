//! The key sets identity providers publish (Keycloak, Entra, Auth0,
//! Google, Cognito, and a mixed set; shapes from their documentation, keys
//! generated locally: `tests/vectors/idp/`) import tolerantly: the usable
//! keys with the algorithm they carry or imply, the others skipped.

use portcullis::jwt::KeyRegistry;
use serde_json::Value;

fn read(name: &str) -> Value {
    let path = format!("{}/tests/vectors/idp/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_provider_shape_loads_with_the_unusable_keys_skipped() {
    let expected = read("expected.json");
    let files = expected.as_object().expect("an object");
    assert_eq!(files.len(), 6);
    for (file, want) in files {
        let registry = KeyRegistry::builder()
            .jwks(&read(file))
            .build()
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let got: Vec<(String, String)> = registry
            .kids()
            .map(|(kid, alg)| (kid.to_owned(), alg.as_str().to_owned()))
            .collect();
        let usable: Vec<(String, String)> = want["usable"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
            .collect();
        assert_eq!(got, usable, "{file}");
        assert_eq!(
            registry.skipped_keys().len() as u64,
            want["skipped"].as_u64().unwrap(),
            "{file}: {:#?}",
            registry.skipped_keys()
        );
        // Skipped keys are reported, never with key material.
        for reason in registry.skipped_keys() {
            assert!(reason.len() < 200, "{file}: {reason}");
        }
    }
}

#[test]
fn the_mixed_set_says_why_each_key_was_skipped() {
    let registry = KeyRegistry::builder()
        .jwks(&read("mixed.json"))
        .build()
        .unwrap();
    let skipped = registry.skipped_keys().join("\n");
    for why in ["shared secret", "secp256k1", "no `kid`", "enc"] {
        assert!(skipped.contains(why), "{why}: {skipped}");
    }
}
