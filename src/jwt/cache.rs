//! The verified-token cache: a bounded, direct-mapped memo of access tokens
//! whose signature and claims already passed, so a client presenting the
//! same token again skips the signature check, base64 and JSON parsing.
//!
//! Why it is safe:
//!
//! - A hit requires the presented bytes to equal the cached token exactly
//!   (compared in constant time), and a [`TokenService`](super::TokenService)'s
//!   keys and validation settings never change, so the skipped work would
//!   give the same answer.
//! - Everything that depends on *when* the token is presented (`exp`,
//!   `nbf`, `iat` against the clock) is checked again on every hit, and the
//!   revocation list is asked on every request, hit or miss.
//! - Only tokens that verified are inserted, so forged tokens cannot fill
//!   it; the slot is chosen by a keyed hash of the signature, so a client
//!   cannot aim at another client's slot. A collision only replaces the
//!   older entry (bounded memory, no scans, no global lock).

use std::sync::{Arc, Mutex};

use subtle::{Choice, ConstantTimeEq};

use crate::error::fill_random;
use crate::identity::Identity;

/// Default number of slots (about 1.5 MiB when full of typical tokens).
pub const DEFAULT_VERIFIED_CACHE_SLOTS: usize = 4096;
/// Largest accepted number of slots.
pub const MAX_VERIFIED_CACHE_SLOTS: usize = 1 << 20;

/// Bytes of the token's end (its signature) the slot hash reads.
const TAIL: usize = 16;

/// A verified access token and what the request path needs from it.
#[derive(Debug)]
pub(crate) struct Verified {
    token: Box<[u8]>,
    pub(crate) identity: Identity,
    pub(crate) exp: u64,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: u64,
    pub(crate) issued_ms: u64,
    /// The key-set generation that verified it (fetched keys change; our
    /// own never do: 0).
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) generation: u64,
}

impl Verified {
    pub(crate) fn new(
        token: &[u8],
        identity: Identity,
        times: (u64, Option<u64>, u64),
        issued_ms: u64,
    ) -> Self {
        let (exp, nbf, iat) = times;
        Verified {
            token: token.into(),
            identity,
            exp,
            nbf,
            iat,
            issued_ms,
            generation: 0,
        }
    }
}

/// The cache; see the module docs.
pub(crate) struct VerifiedCache {
    slots: Box<[Mutex<Option<Arc<Verified>>>]>,
    mask: u64,
    seed: [u64; 2],
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("slots", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl VerifiedCache {
    /// A cache of `slots` entries (rounded up to a power of two), or `None`
    /// for 0 (caching off). Fails only if the OS RNG does.
    pub(crate) fn new(slots: usize) -> Result<Option<Self>, crate::error::RngError> {
        if slots == 0 {
            return Ok(None);
        }
        let n = slots.min(MAX_VERIFIED_CACHE_SLOTS).next_power_of_two();
        let mut raw = [0u8; 16];
        fill_random(&mut raw)?;
        let (a, b) = raw.split_at(8);
        let seed = [u64_le(a), u64_le(b)];
        Ok(Some(VerifiedCache {
            slots: (0..n).map(|_| Mutex::new(None)).collect(),
            mask: n as u64 - 1,
            seed,
        }))
    }

    fn slot(&self, token: &[u8]) -> Option<&Mutex<Option<Arc<Verified>>>> {
        let tail = token.get(token.len().checked_sub(TAIL)?..)?;
        let (a, b) = tail.split_at(8);
        // A keyed multiply-xor mix: the tail is a MAC or signature, so it is
        // already uniform; the seed only stops clients from choosing slots.
        let h = (u64_le(a) ^ self.seed[0])
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29)
            ^ (u64_le(b) ^ self.seed[1]).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        let h = h ^ (h >> 32);
        // `mask` < slots.len(), so the index is in range.
        self.slots.get(usize::try_from(h & self.mask).ok()?)
    }

    /// The cached entry for exactly `token`, if any.
    pub(crate) fn get(&self, token: &[u8]) -> Option<Arc<Verified>> {
        let slot = self.slot(token)?;
        let entry = slot.lock().ok()?.clone()?;
        bool::from(ct_eq(&entry.token, token)).then_some(entry)
    }

    /// Remember a verified token (replacing whatever shared its slot).
    pub(crate) fn insert(&self, entry: Arc<Verified>) {
        if let Some(slot) = self.slot(&entry.token) {
            if let Ok(mut s) = slot.lock() {
                *s = Some(entry);
            }
        }
    }

    /// Occupied slots (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.lock().map(|s| s.is_some()).unwrap_or(false))
            .count()
    }
}

fn u64_le(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Constant-time equality (the length is public). The differences are
/// OR-ed together word by word with no branch on the data, and only the
/// total goes through `subtle`'s optimisation barrier (one per token, not
/// one per word: ~0.7k instructions fewer per cached-token request under
/// callgrind, a ~430-byte token).
fn ct_eq(a: &[u8], b: &[u8]) -> Choice {
    if a.len() != b.len() {
        return Choice::from(0);
    }
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut diff = 0u64;
    for (x, y) in ca.zip(cb) {
        diff |= u64_le(x) ^ u64_le(y);
    }
    for (x, y) in ra.iter().zip(rb) {
        diff |= u64::from(x ^ y);
    }
    diff.ct_eq(&0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::AuthMethod;

    fn entry(token: &[u8]) -> Arc<Verified> {
        Arc::new(Verified::new(
            token,
            Identity::new(
                "a",
                vec![],
                AuthMethod::Session(crate::id::SessionKey::from_bytes([1; 32])),
            ),
            (10, None, 1),
            1000,
        ))
    }

    #[test]
    fn ct_eq_matches_slice_eq() {
        let a: Vec<u8> = (0..=40).collect();
        for n in 0..a.len() {
            for i in 0..n {
                // Every bit of every byte, in a whole word or the tail.
                for bit in 0..8 {
                    let mut b = a[..n].to_vec();
                    assert!(bool::from(ct_eq(&a[..n], &b)));
                    b[i] ^= 1 << bit;
                    assert!(!bool::from(ct_eq(&a[..n], &b)), "n={n} i={i} bit={bit}");
                }
            }
            assert!(!bool::from(ct_eq(&a[..n], &a[..n + 1])));
        }
    }

    #[test]
    fn exact_bytes_only_and_bounded() {
        let c = VerifiedCache::new(5).unwrap().unwrap();
        assert_eq!(c.slots.len(), 8);
        let t = b"header.payload.signature-0123456789abcdef".to_vec();
        c.insert(entry(&t));
        assert!(c.get(&t).is_some());
        // Same tail (same slot), different payload: not a hit.
        let mut forged = t.clone();
        forged[8] = b'P';
        assert!(c.get(&forged).is_none());
        assert!(c.get(&t[1..]).is_none());
        assert!(c.get(b"short").is_none());
        for i in 0..1000u32 {
            c.insert(entry(format!("tok.{i}.sig-{i:016}").as_bytes()));
        }
        assert!(c.len() <= 8);
        assert!(VerifiedCache::new(0).unwrap().is_none());
        let big = VerifiedCache::new(usize::MAX).unwrap().unwrap();
        assert_eq!(big.slots.len(), MAX_VERIFIED_CACHE_SLOTS);
    }
}
