//! Decoding base64url: fixed-size secrets (session IDs, CSRF tokens,
//! refresh secrets), decoded on every authenticated request, and the
//! segments of a JWS.
//!
//! A table lookup per character and no branch per quad: the general
//! engine of the `base64` crate spends ~1k instructions on a 43-character
//! ID, mostly in setup and suffix handling meant for arbitrary lengths.

/// `ALPHABET[c]`: the 6-bit value of base64url character `c`, or `0xFF`.
const ALPHABET: [u8; 256] = {
    let mut t = [0xFF_u8; 256];
    let chars = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        t[chars[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Exactly `N` bytes from canonical unpadded base64url, or `None`: a wrong
/// length, a character outside the alphabet (padding included) or
/// non-zero trailing bits (so each value has one encoding).
pub(crate) fn decode_fixed<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != (N * 4).div_ceil(3) {
        return None;
    }
    let mut out = [0u8; N];
    decode_exact(text, &mut out).then_some(out)
}

/// [`decode_fixed`] of any length into the front of `out`: the decoded
/// bytes, or `None` when the text is invalid (as above, or of a length no
/// encoding has) or `out` is too short.
pub(crate) fn decode_into<'b>(text: &[u8], out: &'b mut [u8]) -> Option<&'b [u8]> {
    if text.len() % 4 == 1 {
        return None;
    }
    let out = out.get_mut(..text.len() / 4 * 3 + (text.len() % 4).saturating_sub(1))?;
    decode_exact(text, out).then_some(out)
}

/// Decode `text` into all of `out`, whose length the caller matched to it;
/// whether the text was canonical base64url.
#[inline(always)]
fn decode_exact(text: &[u8], out: &mut [u8]) -> bool {
    let v = |c: u8| ALPHABET[usize::from(c)];
    let (quads, tail) = text.as_chunks::<4>();
    let (triples, rest) = out.as_chunks_mut::<3>();
    // Any invalid character sets the high bit (valid values are < 64).
    let mut bad = 0u8;
    for (&[a, b, c, d], o) in quads.iter().zip(triples) {
        let (a, b, c, d) = (v(a), v(b), v(c), v(d));
        bad |= a | b | c | d;
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        *o = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
    }
    let trailing = match (tail, rest) {
        ([], []) => 0,
        (&[a, b], [x]) => {
            let (a, b) = (v(a), v(b));
            bad |= a | b;
            *x = a << 2 | b >> 4;
            b & 0x0F
        }
        (&[a, b, c], [x, y]) => {
            let (a, b, c) = (v(a), v(b), v(c));
            bad |= a | b | c;
            *x = a << 2 | b >> 4;
            *y = b << 4 | c >> 2;
            c & 0x03
        }
        _ => return false, // unreachable: the callers match the lengths
    };
    bad & 0x80 == 0 && trailing == 0
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    use super::decode_fixed;

    fn reference<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
        let mut out = [0u8; N];
        if text.len() != (N * 4).div_ceil(3) {
            return None;
        }
        match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
            Ok(n) if n == N => Some(out),
            _ => None,
        }
    }

    /// A deterministic pseudo-random sequence (xorshift64) from `state`.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn agrees_with_the_base64_crate_on_valid_invalid_and_non_canonical_text() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let odd = b"=+/ .\0\xFF\x80";
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15_u64);
        for round in 0..20_000 {
            let mut text = [0u8; 86];
            for c in &mut text {
                *c = alphabet[(next() % 64) as usize];
            }
            // A third of the inputs get one character outside the alphabet.
            if round % 3 == 0 {
                let at = (next() % 86) as usize;
                text[at] = odd[(next() % odd.len() as u64) as usize];
            }
            assert_eq!(
                decode_fixed::<32>(&text[..43]),
                reference::<32>(&text[..43])
            );
            assert_eq!(
                decode_fixed::<64>(&text[..86]),
                reference::<64>(&text[..86])
            );
            assert_eq!(
                decode_fixed::<31>(&text[..42]),
                reference::<31>(&text[..42])
            );
            assert_eq!(
                decode_fixed::<30>(&text[..40]),
                reference::<30>(&text[..40])
            );
        }
    }

    #[test]
    fn any_length_agrees_with_the_base64_crate() {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=";
        let mut next = xorshift(0x2545_F491_4F6C_DD1D_u64);
        for round in 0..20_000 {
            let len = (next() % 40) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % if round % 4 == 0 { 65 } else { 64 }) as usize])
                .collect();
            let room = (next() % 32) as usize;
            let (mut ours, mut theirs) = (vec![0u8; room], vec![0u8; room]);
            let want = URL_SAFE_NO_PAD
                .decode_slice(&text, &mut theirs)
                .ok()
                .map(|n| theirs[..n].to_vec());
            let got = super::decode_into(&text, &mut ours).map(<[u8]>::to_vec);
            assert_eq!(
                got,
                want,
                "{:?} into {room}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn round_trips_and_refuses_wrong_lengths_and_trailing_bits() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37 + 11) as u8);
        let text = URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(decode_fixed::<32>(text.as_bytes()), Some(bytes));
        assert_eq!(decode_fixed::<32>(&text.as_bytes()[..42]), None);
        assert_eq!(decode_fixed::<32>(format!("{text}A").as_bytes()), None);
        assert_eq!(
            decode_fixed::<32>(format!("{}=", &text[..42]).as_bytes()),
            None
        );
        // 43 characters carry 258 bits: the last two must be zero.
        let mut loose = text.into_bytes();
        for last in *b"ABCDEFGH" {
            loose[42] = last;
            assert_eq!(
                decode_fixed::<32>(&loose).is_some(),
                (last - b'A').is_multiple_of(4)
            );
        }
    }
}
