//! Why a token was refused (for logs and tests; clients only ever see
//! `401 invalid_token`).

use std::fmt;

use crate::rejection::RejectionKind;

/// The internal reason a token failed verification or could not be made.
///
/// Meant for logs, metrics and tests. It never contains the token or any
/// part of it; clients are answered with
/// [`RejectionKind::InvalidToken`] whatever the variant
/// ([`JwtError::rejection`]), so the reason does not help an attacker.
///
/// ```
/// use portcullis::jwt::JwtError;
/// use portcullis::RejectionKind;
/// assert_eq!(JwtError::Expired.rejection(), RejectionKind::InvalidToken);
/// assert_eq!(JwtError::Expired.to_string(), "token expired");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtError {
    /// The raw token is longer than 8 KiB.
    TooLarge,
    /// Not exactly three segments of canonical unpadded base64url.
    Malformed,
    /// The header is not a JSON object with a string `alg`, or a member has
    /// the wrong type or appears twice.
    MalformedHeader,
    /// `alg` is `none` (in any case).
    AlgNone,
    /// The header uses a feature we refuse (names the header parameter:
    /// `crit`, `typ`, `cty` or `b64`).
    UnsupportedHeader(&'static str),
    /// The `kid` is longer than 256 bytes.
    KidTooLong,
    /// No key with that `kid`, or no `kid` while several keys are registered.
    UnknownKey,
    /// The header's `alg` is not the algorithm the key is bound to.
    AlgorithmMismatch,
    /// The signature does not verify.
    BadSignature,
    /// The payload is not a JSON object, or a registered claim has the wrong
    /// type or appears twice.
    MalformedClaims,
    /// A required claim is absent (names the claim).
    MissingClaim(&'static str),
    /// `exp` (plus leeway) has passed.
    Expired,
    /// `nbf` (minus leeway) is still in the future.
    NotYetValid,
    /// `iat` (minus leeway) is in the future.
    IssuedInFuture,
    /// `iss` differs from the configured issuer.
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    WrongAudience,
    /// `exp` − `iat` is longer than the verifier's maximum token lifetime
    /// (plus leeway): a correctly signed but overlong token.
    LifetimeTooLong,
    /// Application claims use a reserved (registered) claim name; signing
    /// refused (names the claim).
    ReservedClaim(String),
    /// The registry holds no key that can sign (verification-only registry).
    NoSigningKey,
    /// The crypto backend failed to sign.
    Signing,
    /// The OS random number generator failed.
    Rng,
}

impl JwtError {
    /// The rejection a client gets for this error: always
    /// [`RejectionKind::InvalidToken`] (RFC 6750 `invalid_token`), except
    /// for server-side failures ([`JwtError::Signing`], [`JwtError::Rng`],
    /// [`JwtError::NoSigningKey`]), which are
    /// [`RejectionKind::StoreUnavailable`] (503, fail closed).
    #[must_use]
    pub fn rejection(&self) -> RejectionKind {
        match self {
            JwtError::Signing | JwtError::Rng | JwtError::NoSigningKey => {
                RejectionKind::StoreUnavailable
            }
            _ => RejectionKind::InvalidToken,
        }
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtError::TooLarge => f.write_str("token too large"),
            JwtError::Malformed => f.write_str("token is not three canonical base64url segments"),
            JwtError::MalformedHeader => f.write_str("malformed token header"),
            JwtError::AlgNone => f.write_str("unsigned token (alg none)"),
            JwtError::UnsupportedHeader(h) => write!(f, "unsupported header parameter `{h}`"),
            JwtError::KidTooLong => f.write_str("kid too long"),
            JwtError::UnknownKey => f.write_str("no matching key"),
            JwtError::AlgorithmMismatch => f.write_str("alg does not match the key's algorithm"),
            JwtError::BadSignature => f.write_str("bad signature"),
            JwtError::MalformedClaims => f.write_str("malformed claims"),
            JwtError::MissingClaim(c) => write!(f, "missing claim `{c}`"),
            JwtError::Expired => f.write_str("token expired"),
            JwtError::NotYetValid => f.write_str("token not yet valid"),
            JwtError::IssuedInFuture => f.write_str("token issued in the future"),
            JwtError::WrongIssuer => f.write_str("wrong issuer"),
            JwtError::WrongAudience => f.write_str("wrong audience"),
            JwtError::LifetimeTooLong => f.write_str("token lifetime longer than allowed"),
            JwtError::ReservedClaim(c) => write!(f, "application claim `{c}` is reserved"),
            JwtError::NoSigningKey => f.write_str("no signing key configured"),
            JwtError::Signing => f.write_str("signing failed"),
            JwtError::Rng => f.write_str("the OS random number generator failed"),
        }
    }
}

impl std::error::Error for JwtError {}
