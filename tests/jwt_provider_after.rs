//! No process-wide side effects (one-shape issue, item 5): an application
//! that installs its own `jsonwebtoken` crypto provider after building
//! portcullis keeps it, and both portcullis and the application's own
//! `jsonwebtoken` calls work. One test per binary: a provider is installed
//! once per process.
#![cfg(feature = "aws_lc_rs")]

#[path = "support/provider.rs"]
mod provider;

#[tokio::test]
async fn application_installs_its_own_provider_after_building_portcullis() {
    provider::check(provider::Order::After).await;
}
