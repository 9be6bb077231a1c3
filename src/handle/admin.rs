//! An administrator's operations on another user, on either handle: the
//! caller (by whatever credential) is recorded as the audit event's
//! `actor`. Guard the route yourself (e.g. with a role); these do not
//! check who may call them.

use super::{SessionHandle, TokenHandle};
use crate::rejection::Rejection;
use crate::session::SessionInfo;

macro_rules! admin_operations {
    ($($handle:ident),+) => {$(
        impl $handle {
            /// `user`'s devices (sessions and token families, oldest first,
            /// `current` always false). An unknown user has none, so the
            /// answer does not reveal which users exist.
            ///
            /// ```
            #[doc = concat!("use portcullis::{Authenticator, RequestView, ", stringify!($handle), "};")]
            /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
            /// let auth = Authenticator::builder().build().unwrap();
            /// let outcome = auth.authenticate(&RequestView::new("GET")).await;
            #[doc = concat!("let admin = ", stringify!($handle), "::new(outcome);")]
            /// assert!(admin.admin_list("nobody").await.unwrap().is_empty());
            /// # });
            /// ```
            ///
            /// # Errors
            /// 503 when the store fails.
            pub async fn admin_list(&self, user: &str) -> Result<Vec<SessionInfo>, Rejection> {
                self.outcome.authenticator().admin_devices(user).await
            }

            /// Change `user`'s roles everywhere at once, as
            /// [`Authenticator::set_user_roles`](crate::Authenticator::set_user_roles):
            /// live sessions answer with the new roles from their next
            /// request, access tokens issued before now are refused, and the
            /// next refresh mints with the new roles.
            ///
            /// # Errors
            /// 503 when the store or revocation list fails.
            pub async fn admin_set_roles(&self, user: &str, roles: &[String]) -> Result<(), Rejection> {
                self.outcome
                    .authenticator()
                    .admin_set_roles(&self.outcome, user, roles)
                    .await
            }

            /// Log `user` out everywhere, as
            /// [`Authenticator::logout_everywhere`](crate::Authenticator::logout_everywhere).
            ///
            /// # Errors
            /// 503 when the store or revocation list fails.
            pub async fn admin_logout(&self, user: &str) -> Result<(), Rejection> {
                self.outcome
                    .authenticator()
                    .admin_logout(&self.outcome, user)
                    .await
            }
        }
    )+};
}

admin_operations!(SessionHandle, TokenHandle);
