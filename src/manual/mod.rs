//! The portcullis manual: the security model, every default and the reason
//! for it, deployment, and migration from other session crates.
//!
//! These pages explain decisions; they define no API. Each one is a module
//! holding only documentation, in the manner of `rustls::manual`.
//!
//! | page | read it when |
//! |------|--------------|
//! | `manual::security` | you need to know what is defended, how, and what is left to you |
//! | `manual::defaults` | you want to change a setting, or check what you get without one |
//! | `manual::deployment` | you put the service behind HTTPS, a reverse proxy or a load balancer, rotate keys, or add a readiness probe |
//! | `manual::migrating` | you come from tower-sessions, axum-login, actix-session or actix-identity |
//!
//! Suggested order for a first read: `security`, then `defaults`, then
//! `deployment`.
//!
//! Everything here describes the core, which makes every security
//! decision; the tower/axum, actix-web and Rocket adapters only translate
//! requests and responses, so the same rules hold in all three frameworks.
//! Where an adapter differs (Rocket's handling of non-UTF-8 header lines,
//! the client IP each framework reports) the page says so.

pub mod defaults;
pub mod deployment;
pub mod migrating;
pub mod security;
