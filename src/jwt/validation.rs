//! Claim checks, stricter than `jsonwebtoken`'s defaults.

use super::claims::RawClaims;
use super::error::JwtError;

/// The default clock-skew allowance: 30 seconds (enough for NTP-synced
/// hosts; the token lifetime is 15 minutes, so the window stays small).
pub const DEFAULT_LEEWAY: u64 = 30;
/// The largest leeway a builder accepts (5 minutes).
pub const MAX_LEEWAY: u64 = 300;

/// What a verifier requires of the claims.
#[derive(Debug, Clone, Default)]
pub(crate) struct Validation {
    pub(crate) leeway: u64,
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) allowed_crit: Vec<String>,
    /// Longest `exp` − `iat` accepted for access tokens (plus leeway);
    /// `None`: no cap.
    pub(crate) max_lifetime: Option<u64>,
}

/// Which claims must be present besides `exp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Required {
    /// Any JWT: only `exp` (and `iss`/`aud` when configured).
    Jwt,
    /// Our access tokens: also `sub`, `iat` and `jti`.
    Access,
}

impl Validation {
    /// The time-dependent checks of [`check`](Self::check), which the
    /// verified-token cache repeats on every hit.
    pub(crate) fn check_times(
        &self,
        exp: u64,
        nbf: Option<u64>,
        iat: Option<u64>,
        now: u64,
    ) -> Result<(), JwtError> {
        if now >= exp.saturating_add(self.leeway) {
            return Err(JwtError::Expired);
        }
        if let Some(nbf) = nbf {
            if now.saturating_add(self.leeway) < nbf {
                return Err(JwtError::NotYetValid);
            }
        }
        if let Some(iat) = iat {
            if iat > now.saturating_add(self.leeway) {
                return Err(JwtError::IssuedInFuture);
            }
        }
        Ok(())
    }

    /// Check the registered claims at `now` (seconds):
    ///
    /// - `exp` required; refused once `now >= exp + leeway`;
    /// - `nbf` refused while `now + leeway < nbf`;
    /// - `iat` refused when `iat > now + leeway` (issued in the future);
    /// - `iss` / `aud`: when configured, required and matched exactly
    ///   (`aud` may be an array containing the audience);
    /// - for access tokens, `sub`, `iat` and `jti` required and non-empty.
    pub(crate) fn check(
        &self,
        c: &RawClaims<'_>,
        now: u64,
        required: Required,
    ) -> Result<(), JwtError> {
        let exp = c.exp.ok_or(JwtError::MissingClaim("exp"))?;
        self.check_times(exp, c.nbf, c.iat, now)?;
        if let Some(want) = &self.issuer {
            match c.iss.as_deref() {
                None => return Err(JwtError::MissingClaim("iss")),
                Some(iss) if iss != want => return Err(JwtError::WrongIssuer),
                Some(_) => {}
            }
        }
        if let Some(want) = &self.audience {
            match &c.aud {
                None => return Err(JwtError::MissingClaim("aud")),
                Some(aud) if !aud.contains(want) => return Err(JwtError::WrongAudience),
                Some(_) => {}
            }
        }
        if required == Required::Access {
            if c.sub.as_deref().is_none_or(str::is_empty) {
                return Err(JwtError::MissingClaim("sub"));
            }
            let Some(iat) = c.iat else {
                return Err(JwtError::MissingClaim("iat"));
            };
            if let Some(max) = self.max_lifetime {
                if exp.saturating_sub(iat) > max.saturating_add(self.leeway) {
                    return Err(JwtError::LifetimeTooLong);
                }
            }
            if c.jti.as_deref().is_none_or(str::is_empty) {
                return Err(JwtError::MissingClaim("jti"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Validation {
        Validation {
            leeway: 30,
            issuer: Some("iss".into()),
            audience: Some("api".into()),
            allowed_crit: vec![],
            max_lifetime: Some(100),
        }
    }

    fn check(json: &str, now: u64) -> Result<(), JwtError> {
        v().check(
            &RawClaims::parse(json.as_bytes()).unwrap(),
            now,
            Required::Access,
        )
    }

    #[test]
    fn times() {
        let base = r#""sub":"a","iat":100,"jti":"j","iss":"iss","aud":"api""#;
        assert!(check(&format!("{{{base},\"exp\":200}}"), 150).is_ok());
        assert!(check(&format!("{{{base},\"exp\":200}}"), 229).is_ok());
        assert_eq!(
            check(&format!("{{{base},\"exp\":200}}"), 230),
            Err(JwtError::Expired)
        );
        assert_eq!(
            check(&format!("{{{base},\"exp\":200,\"nbf\":181}}"), 150),
            Err(JwtError::NotYetValid)
        );
        assert_eq!(
            check(&format!("{{{base},\"exp\":200}}"), 69),
            Err(JwtError::IssuedInFuture)
        );
        assert_eq!(
            check(
                r#"{"sub":"a","iat":100,"jti":"j","iss":"iss","aud":"api"}"#,
                150
            ),
            Err(JwtError::MissingClaim("exp"))
        );
    }

    #[test]
    fn lifetime_cap() {
        let base = r#""sub":"a","jti":"j","iss":"iss","aud":"api""#;
        // 100 s + 30 s leeway is the longest accepted.
        assert!(check(&format!("{{{base},\"iat\":100,\"exp\":230}}"), 150).is_ok());
        assert_eq!(
            check(&format!("{{{base},\"iat\":100,\"exp\":231}}"), 150),
            Err(JwtError::LifetimeTooLong)
        );
    }

    #[test]
    fn iss_aud() {
        let t = |iss: &str, aud: &str| {
            check(
                &format!(r#"{{"sub":"a","iat":100,"exp":200,"jti":"j"{iss}{aud}}}"#),
                150,
            )
        };
        assert!(t(r#","iss":"iss""#, r#","aud":["x","api"]"#).is_ok());
        assert_eq!(t("", r#","aud":"api""#), Err(JwtError::MissingClaim("iss")));
        assert_eq!(
            t(r#","iss":"ISS""#, r#","aud":"api""#),
            Err(JwtError::WrongIssuer)
        );
        assert_eq!(t(r#","iss":"iss""#, ""), Err(JwtError::MissingClaim("aud")));
        assert_eq!(
            t(r#","iss":"iss""#, r#","aud":"api2""#),
            Err(JwtError::WrongAudience)
        );
    }
}
