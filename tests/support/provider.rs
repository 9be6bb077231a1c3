//! The body of tests/jwt_provider_{before,after}.rs.
#![allow(dead_code)]

use portcullis::jwt::KeyRegistry;
use portcullis::Authenticator;
use portcullis::RequestView;
use portcullis::TokenHandle;

/// When the application installs its provider.
pub enum Order {
    Before,
    After,
}

fn app_installs() {
    // `install_default` fails if anyone (portcullis included) installed a
    // provider before: the application's own call must succeed.
    assert!(
        jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
            .install_default()
            .is_ok(),
        "someone installed a process-wide provider behind the application's back"
    );
}

fn app_uses_jsonwebtoken() {
    let key = [42u8; 32];
    let claims = serde_json::json!({"sub": "app", "exp": 4_000_000_000u64});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&key),
    )
    .expect("the application's own jsonwebtoken encode");
    let v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    let data = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(&key),
        &v,
    )
    .expect("the application's own jsonwebtoken decode");
    assert_eq!(data.claims["sub"], "app");
}

async fn portcullis_works() {
    let auth = Authenticator::builder()
        .tokens(portcullis::jwt::TokenConfig::new(
            KeyRegistry::hs256("k1", &[7u8; 32]).expect("key"),
        ))
        .build()
        .expect("authenticator");
    let tokens = auth.tokens().expect("token mode");
    let anon = auth.authenticate(&RequestView::new("POST")).await;
    let pair = TokenHandle::new(anon.clone())
        .issue("alice", &[])
        .await
        .expect("issue");
    assert!(tokens
        .authenticate(pair.access_token.as_bytes())
        .await
        .is_ok());
}

pub async fn check(order: Order) {
    match order {
        Order::Before => {
            app_installs();
            portcullis_works().await;
        }
        Order::After => {
            portcullis_works().await;
            app_installs();
        }
    }
    app_uses_jsonwebtoken();
    portcullis_works().await;
}
