//! The operations a handler runs through an [`AuthOutcome`]: log in,
//! rotate, log out (here and everywhere), role changes, tokens.

use crate::csrf::encode_token;
use crate::events::{Event, EventKind};
use crate::identity::{Identity, Requirement};
use crate::jwt::{TokenPair, TokenService};
use crate::rejection::{Rejection, RejectionKind, Scheme};
use crate::session::{ActiveSession, SessionManager};

use super::{AuthOutcome, Authenticator, LoginInfo};

impl Authenticator {
    pub(super) fn manager(&self) -> Result<&SessionManager, Rejection> {
        self.inner
            .sessions
            .as_ref()
            .ok_or(Rejection::session(RejectionKind::MissingCredentials))
    }

    /// The session the request's operations act on: the one this request
    /// logged in or rotated to, or else the (CSRF-checked) session of its
    /// cookie.
    pub(super) fn current_session(
        &self,
        outcome: &AuthOutcome,
    ) -> Result<ActiveSession, Rejection> {
        match outcome.latest() {
            Some(Some(session)) => return Ok(session),
            Some(None) => return Err(Rejection::session(RejectionKind::InvalidSession)),
            None => {}
        }
        outcome
            .state
            .require_scheme(Scheme::Session, &Requirement::Authenticated)?;
        outcome
            .session
            .clone()
            .ok_or(Rejection::session(RejectionKind::MissingCredentials))
    }

    /// Refuse a cookie-session login (or re-authentication) that fails the
    /// cross-origin rule, with or without a cookie: a cross-site form must
    /// not log the victim into the attacker's account (login CSRF). Call
    /// it first in a login handler, before reading the body or checking a
    /// password, so the answer is the same whatever the credentials;
    /// [`login`](Self::login) checks it again.
    ///
    ///
    /// # Errors
    /// 403 ([`RejectionKind::CrossSiteRequest`]).
    pub(crate) fn check_login_origin(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        match outcome.cross_origin {
            Some(kind) => {
                if let Some(events) = self.events() {
                    let mut e = Event::from_client(
                        EventKind::CsrfRefused,
                        &outcome.client,
                        Scheme::Session,
                    );
                    e.reason = Some(kind.message());
                    events.emit(e);
                }
                Err(Rejection::session(kind))
            }
            None => Ok(()),
        }
    }

    /// Log a user in: ends every session the request's cookies named
    /// (fixation defence), creates a fresh session and CSRF token, and queues
    /// the `Set-Cookie` in `outcome.response`. An unsafe request that fails
    /// the cross-origin rule is refused first (see
    /// [`check_login_origin`](Self::check_login_origin)).
    ///
    /// # Errors
    /// 403 for a cross-origin request or past a refusing session cap; 503
    /// when the store fails.
    pub(crate) async fn login(
        &self,
        outcome: &AuthOutcome,
        user: &str,
        roles: Vec<String>,
        remember: Option<bool>,
    ) -> Result<LoginInfo, Rejection> {
        let m = self.manager()?;
        self.check_login_origin(outcome)?;
        let remember = remember.unwrap_or_else(|| m.config().cookie.persistent_by_default());
        let login = m
            .login(
                user,
                roles.clone(),
                outcome.presented.as_slice(),
                &outcome.client,
                remember,
            )
            .await?;
        outcome.set_latest(Some(SessionManager::active(&login)));
        outcome.response.set_cookie(login.set_cookie);
        self.audit(
            Some(outcome),
            EventKind::LoginSucceeded,
            Scheme::Session,
            user,
            Some(login.key.hint()),
        );
        Ok(LoginInfo {
            user: user.to_owned(),
            roles,
            csrf_token: login.csrf_token,
        })
    }

    /// Give the current session a new ID and CSRF token (call on privilege
    /// change); returns the new CSRF token.
    ///
    /// # Errors
    /// 401/403 without a valid session (or CSRF failure); 503 on store failure.
    pub(crate) async fn rotate(&self, outcome: &AuthOutcome) -> Result<String, Rejection> {
        self.rotate_with(outcome, |_| {}).await
    }

    /// Rotate the current session's ID and CSRF token, applying `change`
    /// to the successor; queues its cookie and returns its CSRF token.
    async fn rotate_with(
        &self,
        outcome: &AuthOutcome,
        change: impl FnMut(&mut crate::store::SessionRecord),
    ) -> Result<String, Rejection> {
        let m = self.manager()?;
        let current = self.current_session(outcome)?;
        let next = m.rotate(&current, change).await?;
        outcome.set_latest(Some(SessionManager::active(&next)));
        outcome.response.set_cookie(next.set_cookie);
        Ok(next.csrf_token)
    }

    /// The login attempt of a re-authentication: the current session's
    /// user, counted like a login, audited as `reauth.failed`.
    ///
    /// # Errors
    /// 401/403 without a valid, CSRF-checked session; 429 while throttled;
    /// 503 when the store fails.
    pub(crate) async fn reauth_attempt(
        &self,
        outcome: &AuthOutcome,
    ) -> Result<crate::LoginAttempt, Rejection> {
        self.check_login_origin(outcome)?;
        let current = self.current_session(outcome)?;
        self.login_attempt(
            outcome,
            &current.record.user_id,
            Scheme::Session,
            EventKind::ReauthFailed,
        )
        .await
    }

    /// The current session's user proved a credential again: it counts as
    /// recent from now, and its ID and CSRF token rotate. Returns the new
    /// CSRF token.
    ///
    /// # Errors
    /// 401/403 without a valid, CSRF-checked session; 503 when the store
    /// fails.
    pub(crate) async fn reauthenticate(&self, outcome: &AuthOutcome) -> Result<String, Rejection> {
        self.check_login_origin(outcome)?;
        let now = self.inner.clock.now();
        let csrf = self
            .rotate_with(outcome, |r| r.authenticated_at = now)
            .await?;
        if let Some(Some(s)) = outcome.latest() {
            let hint = s.record.id_hint(&s.key);
            self.audit(
                Some(outcome),
                EventKind::ReauthSucceeded,
                Scheme::Session,
                &s.record.user_id,
                Some(hint),
            );
        }
        Ok(csrf)
    }

    /// End the current session and queue the removal cookie.
    ///
    /// # Errors
    /// 401/403 without a valid session (or CSRF failure); 503 on store failure.
    pub(crate) async fn logout(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        let m = self.manager()?;
        let current = self.current_session(outcome)?;
        outcome.response.set_cookie(m.logout(&current.key).await?);
        outcome.set_latest(None);
        let user = &current.record.user_id;
        self.audit(
            Some(outcome),
            EventKind::Logout,
            Scheme::Session,
            user,
            Some(current.record.id_hint(&current.key)),
        );
        Ok(())
    }

    /// Log the current session's user out everywhere (see
    /// [`logout_everywhere`](Self::logout_everywhere)) and queue the removal
    /// cookie.
    ///
    /// # Errors
    /// 401/403 without a valid session (or CSRF failure); 503 on store failure.
    pub(crate) async fn logout_all(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        let m = self.manager()?;
        let current = self.current_session(outcome)?;
        self.end_everything(&current.record.user_id, Some((outcome, Scheme::Session)))
            .await?;
        outcome.set_latest(None);
        outcome
            .response
            .set_cookie(m.config().cookie.removal_cookie());
        Ok(())
    }

    /// Log `user` out everywhere (password change, "sign out all
    /// devices", an administrator's lock-out): every access token issued to
    /// the user before now is refused, and every refresh family and cookie
    /// session of the user ends. The token cut-off comes first and each
    /// family is ended by delete-then-revoke, so no refresh in flight can
    /// mint a token that survives this.
    ///
    /// ```
    /// use portcullis::{Authenticator, RequestView, SessionHandle, jwt::{KeyRegistry, TokenConfig}};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder()
    ///     .tokens(TokenConfig::new(KeyRegistry::hs256("k", &[1u8; 32]).unwrap()))
    ///     .build()
    ///     .unwrap();
    /// let tokens = auth.tokens().unwrap();
    /// let anon = auth.authenticate(&RequestView::new("POST")).await;
    /// SessionHandle::new(anon.clone()).login("alice", vec![]).await.unwrap();
    /// let set_cookie = anon.take_response_headers().find(|(n, _)| *n == "set-cookie").unwrap().1;
    /// let cookie = set_cookie.split(';').next().unwrap().to_owned();
    /// let pair = tokens.issue("alice", &[]).await.unwrap();
    /// auth.logout_everywhere("alice").await.unwrap();
    /// assert!(tokens.authenticate(pair.access_token.as_bytes()).await.is_err());
    /// assert!(tokens.refresh(&pair.refresh_token).await.is_err());
    /// let mut view = RequestView::new("GET");
    /// view.add_header("cookie", cookie.as_bytes());
    /// assert!(auth.authenticate(&view).await.state.identity().is_none());
    /// # });
    /// ```
    ///
    /// # Errors
    /// 503 when the store or revocation list fails.
    pub async fn logout_everywhere(&self, user: &str) -> Result<(), Rejection> {
        self.end_everything(user, None).await
    }

    /// [`logout_everywhere`](Self::logout_everywhere), audited with the
    /// request that asked for it, if any (whose caller is the event's
    /// `actor` when not `user`).
    pub(super) async fn end_everything(
        &self,
        user: &str,
        request: Option<(&AuthOutcome, Scheme)>,
    ) -> Result<(), Rejection> {
        if let Some(tokens) = &self.inner.tokens {
            tokens.logout_all(user).await?;
        }
        if let Some(m) = &self.inner.sessions {
            m.logout_all(user).await?;
        }
        let (outcome, scheme) = match request {
            Some((o, s)) => (Some(o), s),
            None => (None, self.default_scheme()),
        };
        self.audit(outcome, EventKind::LogoutEverywhere, scheme, user, None);
        Ok(())
    }

    /// [`set_user_roles`](Self::set_user_roles), audited with the request
    /// that asked for it, if any.
    pub(super) async fn change_roles(
        &self,
        user: &str,
        roles: &[String],
        request: Option<&AuthOutcome>,
    ) -> Result<(), Rejection> {
        if let Some(m) = &self.inner.sessions {
            m.set_user_roles(user, roles).await?;
        }
        if let Some(tokens) = &self.inner.tokens {
            tokens.set_roles(user, roles).await?;
        }
        let scheme = request
            .and_then(|o| o.state.identity())
            .map_or_else(|| self.default_scheme(), Identity::scheme);
        self.audit(request, EventKind::RolesChanged, scheme, user, None);
        Ok(())
    }

    /// Change `user`'s roles everywhere at once (a demotion takes effect
    /// now, not at the next login): every live cookie session answers with
    /// the new roles, every refresh family mints with them from its next
    /// refresh, and every access token issued before now is refused.
    /// Nothing else ends.
    ///
    /// ```
    /// use portcullis::{Authenticator, RequestView, Requirement, SessionHandle};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let auth = Authenticator::builder().build().unwrap();
    /// let anon = auth.authenticate(&RequestView::new("POST")).await;
    /// SessionHandle::new(anon.clone()).login("bob", vec!["admin".into()]).await.unwrap();
    /// let cookie = anon.take_response_headers().find(|(n, _)| *n == "set-cookie").unwrap().1;
    /// auth.set_user_roles("bob", &["user".into()]).await.unwrap();
    /// let mut view = RequestView::new("GET");
    /// view.add_header("cookie", cookie.split(';').next().unwrap().as_bytes());
    /// let who = auth.authenticate(&view).await;
    /// let who = who.state.require(&Requirement::Authenticated).unwrap();
    /// assert!(!who.has_role("admin") && who.has_role("user"));
    /// # });
    /// ```
    ///
    /// # Errors
    /// 503 when the store or revocation list fails.
    pub async fn set_user_roles(&self, user: &str, roles: &[String]) -> Result<(), Rejection> {
        self.change_roles(user, roles, None).await
    }

    fn token_service(&self) -> Result<&TokenService, Rejection> {
        self.inner
            .tokens
            .as_ref()
            .ok_or(Rejection::bearer(RejectionKind::MissingCredentials))
    }

    /// Issue an access + refresh token pair for a user who just proved who
    /// they are (a login handler); marks the response `no-store`.
    ///
    /// # Errors
    /// 503 when the store fails; 401 when token mode is off.
    pub(crate) async fn issue_tokens(
        &self,
        outcome: &AuthOutcome,
        subject: &str,
        roles: &[String],
    ) -> Result<TokenPair, Rejection> {
        let pair = self
            .token_service()?
            .issue_for(subject, roles, &outcome.client)
            .await?;
        outcome.response.no_store();
        let hint = crate::jwt::family_hint(&pair.refresh_token);
        self.audit(
            Some(outcome),
            EventKind::LoginSucceeded,
            Scheme::Bearer,
            subject,
            hint,
        );
        Ok(pair)
    }

    /// Exchange a refresh token for a new pair (the old one is spent; a spent
    /// one presented again revokes its family); marks the response `no-store`.
    ///
    /// # Errors
    /// 401 for an invalid, spent or revoked refresh token; 503 on store failure.
    pub(crate) async fn refresh_tokens(
        &self,
        outcome: &AuthOutcome,
        refresh_token: &str,
    ) -> Result<TokenPair, Rejection> {
        let pair = self
            .token_service()?
            .refresh_from(refresh_token, &outcome.client)
            .await?;
        outcome.response.no_store();
        Ok(pair)
    }

    /// Revoke the request's bearer token and its refresh family.
    ///
    /// # Errors
    /// 401 without a valid bearer token; 503 on store failure.
    pub(crate) async fn token_logout(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        let service = self.token_service()?;
        let id = outcome
            .state
            .require_scheme(Scheme::Bearer, &Requirement::Authenticated)?;
        service.logout(id).await?;
        let hint = match id.method() {
            crate::identity::AuthMethod::Bearer(info) => info
                .sid
                .as_deref()
                .and_then(crate::id::SessionKey::from_hex)
                .map(|k| k.hint()),
            crate::identity::AuthMethod::Session(_) => None,
        };
        self.audit(
            Some(outcome),
            EventKind::Logout,
            Scheme::Bearer,
            id.subject(),
            hint,
        );
        Ok(())
    }

    /// Log the bearer's user out everywhere (see
    /// [`logout_everywhere`](Self::logout_everywhere)): tokens, refresh
    /// families and cookie sessions.
    ///
    /// # Errors
    /// 401 without a valid bearer token; 503 on store failure.
    pub(crate) async fn token_logout_all(&self, outcome: &AuthOutcome) -> Result<(), Rejection> {
        self.token_service()?;
        let id = outcome
            .state
            .require_scheme(Scheme::Bearer, &Requirement::Authenticated)?;
        self.end_everything(id.subject(), Some((outcome, Scheme::Bearer)))
            .await
    }

    /// The current session's CSRF token, if a session is active.
    #[must_use]
    pub(crate) fn csrf_token(&self, outcome: &AuthOutcome) -> Option<String> {
        match outcome.latest() {
            Some(latest) => latest.map(|s| encode_token(&s.record.secret)),
            None => outcome
                .session
                .as_ref()
                .map(|s| encode_token(&s.record.secret)),
        }
    }
}
