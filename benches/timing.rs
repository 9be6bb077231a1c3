//! Timing evidence that secret comparisons do not short-circuit.
//!
//! **The guarantee is by construction**: `portcullis::csrf::check_token` and
//! `IdSigner::verify` compare secrets with `subtle::ConstantTimeEq`, which
//! touches every byte whatever the first difference, and `verify` checks the
//! tag under every accepted key before deciding. This bench is *evidence*,
//! not proof: it times comparisons where the presented value differs from
//! the right one in its **first** byte against comparisons where it differs
//! in its **last** byte, and reports both means and Welch's t-statistic
//! (the dudect method: |t| above ~4.5 would suggest the time depends on where
//! the difference is).
//!
//! Method: for each measured case, many samples are taken, each the time of
//! a batch of calls, with the two classes interleaved in random order pair
//! by pair (so drift in CPU frequency or load hits both alike); the slowest
//! 1 % of the pooled samples (pre-emption by other processes on a shared
//! machine) is cropped before the statistics. A **control** runs the same
//! harness on a naive early-exit byte loop, to show the harness does detect
//! a comparison that stops at the first differing byte.
//!
//! Run: `cargo bench --bench timing` (about 10-20 s). Environment:
//! `PORTCULLIS_TIMING_SAMPLES` (samples per class, default 20000);
//! `PORTCULLIS_TIMING_STRICT=1` exits non-zero if a constant-time case shows
//! |t| >= 4.5 (off by default: a busy shared machine can produce outliers).

use std::hint::black_box;
use std::time::Instant;

use portcullis::csrf::{check_token, encode_token};
use portcullis::id::{IdSigner, SessionId};
use portcullis::request::Single;

/// |t| at or above this suggests a timing difference (dudect's threshold).
const T_THRESHOLD: f64 = 4.5;

/// A small deterministic PRNG (xorshift64*) for the interleaving order.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

struct Stats {
    n: usize,
    mean: f64,
    var: f64,
}

fn stats(xs: &[f64]) -> Stats {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    Stats { n, mean, var }
}

fn welch_t(a: &Stats, b: &Stats) -> f64 {
    (a.mean - b.mean) / (a.var / a.n as f64 + b.var / b.n as f64).sqrt()
}

/// Time `samples` batches of `batch` calls per class, interleaved randomly;
/// returns the per-call times (ns) of class "first byte differs" and
/// "last byte differs", cropped of the slowest 1 % of pooled samples.
fn measure(
    samples: usize,
    batch: usize,
    mut first: impl FnMut() -> bool,
    mut last: impl FnMut() -> bool,
) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut a = Vec::with_capacity(samples);
    let mut b = Vec::with_capacity(samples);
    let time = |f: &mut dyn FnMut() -> bool| {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        t.elapsed().as_nanos() as f64 / batch as f64
    };
    // Warm-up.
    for _ in 0..samples / 10 {
        time(&mut first);
        time(&mut last);
    }
    for _ in 0..samples {
        if rng.next() & 1 == 0 {
            a.push(time(&mut first));
            b.push(time(&mut last));
        } else {
            b.push(time(&mut last));
            a.push(time(&mut first));
        }
    }
    let mut pooled: Vec<f64> = a.iter().chain(&b).copied().collect();
    pooled.sort_by(f64::total_cmp);
    let cut = pooled[pooled.len() * 99 / 100];
    a.retain(|&x| x < cut);
    b.retain(|&x| x < cut);
    (a, b)
}

/// Measure, print one report line, and return |t|.
fn report(
    name: &str,
    samples: usize,
    batch: usize,
    first: impl FnMut() -> bool,
    last: impl FnMut() -> bool,
) -> f64 {
    let (a, b) = measure(samples, batch, first, last);
    let (sa, sb) = (stats(&a), stats(&b));
    let t = welch_t(&sa, &sb);
    println!(
        "{name:<44} first-byte differs {:>9.2} ns  last-byte differs {:>9.2} ns  (n = {}/{})  Welch t = {:>7.2}",
        sa.mean, sb.mean, sa.n, sb.n, t
    );
    t.abs()
}

/// The leak the control must expose: stop at the first differing byte.
fn naive_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for i in 0..32 {
        if black_box(a[i]) != black_box(b[i]) {
            return false;
        }
    }
    true
}

fn flipped(mut bytes: [u8; 32], i: usize) -> [u8; 32] {
    bytes[i] ^= 0x01;
    bytes
}

fn main() {
    let samples: usize = std::env::var("PORTCULLIS_TIMING_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
        .max(100);
    let strict = std::env::var("PORTCULLIS_TIMING_STRICT").is_ok_and(|v| v == "1");
    println!("timing: {samples} samples per class, slowest 1% cropped; |t| >= {T_THRESHOLD} would suggest a leak");

    // CSRF token: the presented token differs from the session secret in
    // its first or its last byte (same length, same decoding work).
    let secret: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let tok_first = encode_token(&flipped(secret, 0));
    let tok_last = encode_token(&flipped(secret, 31));
    assert!(check_token(Single::One(encode_token(&secret).as_bytes()), &secret).is_ok());
    let csrf_t = report(
        "csrf::check_token",
        samples,
        256,
        || {
            check_token(
                Single::One(black_box(tok_first.as_bytes())),
                black_box(&secret),
            )
            .is_ok()
        },
        || {
            check_token(
                Single::One(black_box(tok_last.as_bytes())),
                black_box(&secret),
            )
            .is_ok()
        },
    );

    // Signed session ID: the tag differs from the right one in its first or
    // its last byte. Two accepted keys, as during a key rotation.
    let signer = IdSigner::new(&[0x42; 32])
        .and_then(|s| s.also_accept(&[0x24; 32]))
        .expect("keys");
    let id = SessionId::from_bytes([7; 32]);
    let good = signer.sign(&id);
    let (id_part, tag_part) = good.split_at(44);
    let tag = SessionId::decode(tag_part).expect("a tag is 43 base64url characters");
    let forge = |i: usize| {
        format!(
            "{id_part}{}",
            SessionId::from_bytes(flipped(*tag.as_bytes(), i)).encode()
        )
    };
    let (v_first, v_last) = (forge(0), forge(31));
    assert!(signer.verify(&good).is_some());
    assert!(signer.verify(&v_first).is_none() && signer.verify(&v_last).is_none());
    let verify_t = report(
        "id::IdSigner::verify (2 keys)",
        samples,
        32,
        || signer.verify(black_box(&v_first)).is_some(),
        || signer.verify(black_box(&v_last)).is_some(),
    );

    // Control: the harness must see a naive early-exit comparison.
    let (c_first, c_last) = (flipped(secret, 0), flipped(secret, 31));
    let control_t = report(
        "control: naive early-exit byte loop",
        samples,
        256,
        || naive_eq(black_box(&c_first), black_box(&secret)),
        || naive_eq(black_box(&c_last), black_box(&secret)),
    );

    let verdict = |t: f64| {
        if t < T_THRESHOLD {
            "no evidence of a leak"
        } else {
            "SUSPECT"
        }
    };
    println!(
        "check_token: {}; verify: {}",
        verdict(csrf_t),
        verdict(verify_t)
    );
    if control_t < T_THRESHOLD {
        println!("note: the control was not detected this run (|t| = {control_t:.2}); the machine may be too noisy");
    } else {
        println!("control detected (|t| = {control_t:.2}): the harness can see a short-circuit");
    }
    if strict && (csrf_t >= T_THRESHOLD || verify_t >= T_THRESHOLD) {
        std::process::exit(1);
    }
}
