//! [`PreHashed`], the hasher of maps whose keys are already uniform
//! 64-bit hashes.

use std::hash::Hasher;

/// Passes a `u64` key through as its own hash: for keys that already are
/// uniform hashes (a keyed SipHash computed once per lookup, or bits of a
/// SHA-256 output), hashing them again would only cost time.
#[derive(Default)]
pub(crate) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; fold anything else anyway.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
