//! The account routes' logic, shared by the three demos: devices, session
//! data, step-up, administration. Each demo only turns these results into
//! its framework's responses.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use portcullis::{Authenticator, Rejection, RejectionKind, Requirement, Scheme, SessionHandle};
use serde_json::{json, Map, Value};

use super::{verify_password, Settings, USERS};

/// One demo instance: the authenticator, the instance's user table (a role
/// change made here applies to later logins on this instance) and the
/// step-up window. Cheap to clone; clones share the table.
#[derive(Clone)]
pub struct Demo {
    pub auth: Authenticator,
    roles: Arc<RwLock<HashMap<&'static str, Vec<String>>>>,
    pub fresh_auth: Duration,
    /// What `/.well-known/` serves.
    pub well_known: Arc<super::WellKnown>,
}

impl From<Authenticator> for Demo {
    /// The demo with the default step-up window (`FRESH_AUTH_SECS` = 300).
    fn from(auth: Authenticator) -> Self {
        let well_known = super::WellKnown::new(&auth, "http://127.0.0.1:3000");
        Demo::with(auth, Duration::from_secs(300), well_known)
    }
}

impl Demo {
    /// The demo for `settings`.
    pub fn new(auth: Authenticator, settings: &Settings) -> Self {
        let well_known = super::WellKnown::new(&auth, &settings.jwt.public_url);
        Demo::with(auth, Duration::from_secs(settings.fresh_auth), well_known)
    }

    fn with(auth: Authenticator, fresh_auth: Duration, well_known: super::WellKnown) -> Self {
        let roles = USERS
            .iter()
            .map(|u| (u.name, u.roles.iter().map(|r| (*r).to_owned()).collect()))
            .collect();
        Demo {
            auth,
            roles: Arc::new(RwLock::new(roles)),
            fresh_auth,
            well_known: Arc::new(well_known),
        }
    }

    /// `user`'s roles in this instance's table.
    pub fn roles_of(&self, user: &str) -> Vec<String> {
        self.roles
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    /// Record `user`'s new roles for later logins here (unknown users stay
    /// unknown).
    fn set_roles(&self, user: &str, roles: &[String]) {
        let mut table = self
            .roles
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = table.get_mut(user) {
            *entry = roles.to_vec();
        }
    }
}

/// `{"id_hint"}` of `/session/revoke` and `/jwt/revoke`.
#[derive(serde::Deserialize)]
pub struct RevokeRequest {
    pub id_hint: String,
}

/// `{"password"}` of `/session/reauth`.
#[derive(serde::Deserialize)]
pub struct ReauthRequest {
    pub password: String,
}

/// `{"roles":[...]}` of `PUT /admin/users/{user}/roles`.
#[derive(serde::Deserialize)]
pub struct RolesRequest {
    pub roles: Vec<String>,
}

/// The body of a device list.
pub fn sessions_body(list: Vec<portcullis::SessionInfo>) -> Value {
    json!({ "sessions": list })
}

/// The body of `/session/data`.
pub fn data_body(data: Map<String, Value>) -> Value {
    json!({ "data": data })
}

/// `GET /session/sensitive`: 200 for a session that logged in or
/// re-authenticated within the window, else 403 (401 without a session).
pub fn sensitive(demo: &Demo, session: &SessionHandle) -> Result<Value, Rejection> {
    let who = session.outcome().state.require_scheme(
        Scheme::Session,
        &Requirement::AuthenticatedWithin(demo.fresh_auth),
    )?;
    Ok(json!({ "user": who.subject(), "recent": true }))
}

/// `POST /session/reauth` once the origin and body were checked: counted
/// like a login; a wrong password leaves the session as it was.
pub async fn reauth(session: &SessionHandle, req: ReauthRequest) -> Result<Value, Rejection> {
    let attempt = session.reauth_attempt().await?;
    let user = session
        .identity()
        .map(|who| who.subject().to_owned())
        .unwrap_or_default();
    match verify_password(user, req.password).await {
        Some(_) => {
            attempt.succeeded().await?;
            let csrf_token = session.reauthenticate().await?;
            Ok(json!({ "csrf_token": csrf_token }))
        }
        None => Err(attempt.failed().await),
    }
}

/// The admin routes' guard: an admin by either credential (the bearer
/// token decides when both are sent). Without credentials the answer is
/// 401 with `WWW-Authenticate: Bearer`.
pub fn require_admin(session: &SessionHandle) -> Result<(), Rejection> {
    match session
        .outcome()
        .state
        .require(&Requirement::any_role(["admin"]))
    {
        Ok(_) => Ok(()),
        Err(r) if r.status() == 401 && r.scheme() == Scheme::Session => {
            Err(Rejection::bearer(RejectionKind::MissingCredentials))
        }
        Err(r) => Err(r),
    }
}

/// 0–16 distinct non-empty roles of at most 64 characters.
pub fn valid_roles(roles: &[String]) -> bool {
    roles.len() <= 16
        && roles
            .iter()
            .all(|r| !r.is_empty() && r.chars().count() <= 64)
        && roles
            .iter()
            .enumerate()
            .all(|(i, r)| !roles[..i].contains(r))
}

/// `PUT /admin/users/{user}/roles` after the guard: the user's live
/// credentials everywhere, then this instance's table.
pub async fn admin_set_roles(
    demo: &Demo,
    session: &SessionHandle,
    user: &str,
    req: RolesRequest,
) -> Result<(), Rejection> {
    if !valid_roles(&req.roles) {
        return Err(Rejection::session(RejectionKind::MalformedRequest));
    }
    session.admin_set_roles(user, &req.roles).await?;
    demo.set_roles(user, &req.roles);
    Ok(())
}
