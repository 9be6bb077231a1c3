//! Start the axum demo (`examples/demo_axum.rs`, which the including test
//! crate mounts as `demo_axum`) on a free loopback port, as `main` does.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Client;
use tokio::net::TcpListener;

use crate::demo_axum::{self, common};

/// The demo configured by `vars` (everything else from its defaults),
/// served on `127.0.0.1:0` until the test's runtime ends, and a client
/// for it.
pub async fn start(vars: &dyn Fn(&str) -> Option<String>) -> (SocketAddr, Client) {
    let settings = common::Settings::from_vars(vars).unwrap_or_else(|e| panic!("settings: {e}"));
    let auth = common::authenticator(&settings)
        .await
        .unwrap_or_else(|e| panic!("authenticator: {e}"));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local_addr: {e}"));
    let app = demo_axum::app(auth).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    (addr, client)
}
