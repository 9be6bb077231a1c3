//! Timing evidence that secret comparisons do not short-circuit.
//!
//! **The guarantee is by construction**: `portcullis::__private::check_token` and
//! `IdSigner::verify` compare secrets with `subtle::ConstantTimeEq`, which
//! touches every byte whatever the first difference, and `verify` checks the
//! tag under every accepted key before deciding. This bench is *evidence*,
//! not proof: it times comparisons where the presented value differs from
//! the right one in its **first** byte against comparisons where it differs
//! in its **last** byte, and reports both means and Welch's t-statistic
//! (the dudect method: |t| above ~4.5 would suggest the time depends on where
//! the difference is).
//!
//! Method: for each function, many samples are taken, each the time of a
//! batch of calls, with the two classes interleaved in random order pair by
//! pair (so drift in CPU frequency or load hits both alike). Both classes
//! read their input from the **same buffer**, rewritten before each sample
//! outside the timed region, so address and alignment cannot tell them
//! apart. The slowest 1 % of the pooled samples (pre-emption by other
//! processes on a shared machine) is cropped before the statistics.
//!
//! Two calibrations run beside each test:
//! - an **A/A** run (the same input in both classes) shows how large |t|
//!   gets by chance on this machine at this sample size;
//! - a **control**, the same base64 decoding as `check_token` followed by a
//!   naive early-exit byte loop, shows the harness does detect a comparison
//!   that stops at the first differing byte, and how large that difference
//!   is (about 14 ns here).
//!
//! A function is flagged `SUSPECT` only when its difference is both
//! significant (|t| >= 4.5) and at least a quarter of the control's: with
//! 10^5 samples a sub-nanosecond drift can be "significant" too.
//!
//! Run: `cargo bench --bench timing --features __internal` (about 15 s once built). Environment:
//! `PORTCULLIS_TIMING_SAMPLES` (samples per class, default 100000);
//! `PORTCULLIS_TIMING_STRICT=1` exits non-zero on `SUSPECT` or when the
//! control goes undetected (off by default: a busy shared machine can
//! drown the control).
//!
//! Typical output on the 2-core development machine:
//!
//! ```text
//! csrf::check_token              first-byte differs 51.57 ns  last-byte differs 51.56 ns  Welch t =    0.43  (A/A t = -0.53)
//! id::IdSigner::verify (2 keys)  first-byte differs 290.06 ns last-byte differs 290.06 ns Welch t =    0.06  (A/A t =  0.17)
//! control: early-exit compare    first-byte differs 19.56 ns  last-byte differs 33.61 ns  Welch t = -8144.07 (A/A t = -0.28)
//! ```

use std::hint::black_box;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use portcullis::__private::Single;
use portcullis::__private::{check_token, encode_token};
use portcullis::__private::{IdSigner, SessionId};

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

/// Time `samples` batches of `batch` calls per class, the classes
/// interleaved in random order pair by pair. Both classes read their input
/// from the **same buffer** (rewritten before each sample, outside the timed
/// region), so the address and alignment of the input cannot differ between
/// them. Returns per-call times (ns) of class 0 and class 1, cropped of the
/// slowest 1 % of pooled samples.
fn measure(
    samples: usize,
    batch: usize,
    inputs: [&str; 2],
    f: &mut dyn FnMut(&str) -> bool,
) -> [Vec<f64>; 2] {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = [Vec::with_capacity(samples), Vec::with_capacity(samples)];
    let mut buf = String::with_capacity(inputs[0].len().max(inputs[1].len()));
    let mut time = |class: usize, f: &mut dyn FnMut(&str) -> bool| {
        buf.clear();
        buf.push_str(inputs[class]);
        let input = buf.as_str();
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f(black_box(input)));
        }
        t.elapsed().as_nanos() as f64 / batch as f64
    };
    // Warm-up.
    for _ in 0..samples / 10 {
        time(0, f);
        time(1, f);
    }
    for _ in 0..samples {
        let order = if rng.next() & 1 == 0 { [0, 1] } else { [1, 0] };
        for class in order {
            let t = time(class, f);
            out[class].push(t);
        }
    }
    let mut pooled: Vec<f64> = out.iter().flatten().copied().collect();
    pooled.sort_by(f64::total_cmp);
    let cut = pooled[pooled.len() * 99 / 100];
    for v in &mut out {
        v.retain(|&x| x < cut);
    }
    out
}

/// The result of one position test.
struct Outcome {
    /// Welch t, "first byte differs" vs "last byte differs".
    t: f64,
    /// Mean difference (ns per call), last minus first.
    delta: f64,
    /// Welch t of an A/A run (the same input in both classes): the noise
    /// floor of this machine at this sample size.
    t_aa: f64,
}

/// Measure the position test and its A/A calibration; print one line.
fn report(
    name: &str,
    samples: usize,
    batch: usize,
    first: &str,
    last: &str,
    f: &mut dyn FnMut(&str) -> bool,
) -> Outcome {
    let [a, b] = measure(samples, batch, [first, last], f);
    let (sa, sb) = (stats(&a), stats(&b));
    let t = welch_t(&sa, &sb);
    let [a2, b2] = measure(samples, batch, [first, first], f);
    let t_aa = welch_t(&stats(&a2), &stats(&b2));
    println!(
        "{name:<36} first-byte differs {:>8.2} ns  last-byte differs {:>8.2} ns  (n = {}/{})  Welch t = {:>8.2}  (A/A t = {:>6.2})",
        sa.mean, sb.mean, sa.n, sb.n, t, t_aa
    );
    Outcome {
        t,
        delta: sb.mean - sa.mean,
        t_aa,
    }
}

/// The leak the control must expose: decode like `check_token` does, then
/// stop at the first differing byte.
fn naive_check(presented: &str, secret: &[u8; 32]) -> bool {
    let mut buf = [0u8; 32];
    if URL_SAFE_NO_PAD.decode_slice(presented, &mut buf) != Ok(32) {
        return false;
    }
    for i in 0..32 {
        if black_box(buf[i]) != black_box(secret[i]) {
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
        .unwrap_or(100_000)
        .max(100);
    let strict = std::env::var("PORTCULLIS_TIMING_STRICT").is_ok_and(|v| v == "1");
    println!("timing: {samples} samples per class, slowest 1% cropped");

    // CSRF token: the presented token differs from the session secret in
    // its first or its last byte (same length, same decoding work).
    let secret: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let tok_first = encode_token(&flipped(secret, 0));
    let tok_last = encode_token(&flipped(secret, 31));
    assert!(check_token(Single::One(encode_token(&secret).as_bytes()), &secret).is_ok());
    let csrf = report(
        "csrf::check_token",
        samples,
        256,
        &tok_first,
        &tok_last,
        &mut |p| check_token(Single::One(p.as_bytes()), black_box(&secret)).is_ok(),
    );

    // Signed session ID: the tag differs from the right one in its first or
    // its last byte. Two accepted keys, as during a key rotation.
    let signer = IdSigner::new(&[0x42; 32])
        .and_then(|s| s.also_accept(&[0x24; 32]))
        .expect("keys");
    let id = SessionId::from_bytes([7; 32]);
    let good = portcullis::__private::sign(&signer, &id);
    let (id_part, tag_part) = good.split_at(44);
    let tag = SessionId::decode(tag_part).expect("a tag is 43 base64url characters");
    let forge = |i: usize| {
        format!(
            "{id_part}{}",
            SessionId::from_bytes(flipped(*tag.as_bytes(), i)).encode()
        )
    };
    let (v_first, v_last) = (forge(0), forge(31));
    assert!(portcullis::__private::verify_id(&signer, &good).is_some());
    assert!(
        portcullis::__private::verify_id(&signer, &v_first).is_none()
            && portcullis::__private::verify_id(&signer, &v_last).is_none()
    );
    let verify = report(
        "id::IdSigner::verify (2 keys)",
        samples,
        32,
        &v_first,
        &v_last,
        &mut |v| portcullis::__private::verify_id(&signer, v).is_some(),
    );

    // Control: the same decoding as check_token, then an early-exit loop.
    // Its difference is what a short-circuit costs to hide.
    let control = report(
        "control: early-exit compare",
        samples,
        256,
        &tok_first,
        &tok_last,
        &mut |p| naive_check(p, black_box(&secret)),
    );

    let detected = control.t.abs() >= T_THRESHOLD;
    println!(
        "control: a short-circuit shows as {:+.2} ns (|t| = {:.0}){}",
        control.delta,
        control.t.abs(),
        if detected {
            ""
        } else {
            " -- NOT detected: the machine is too noisy for this run"
        }
    );
    // A leak is suspected when the difference is both significant and of the
    // size a short-circuit produces (at least a quarter of the control's):
    // with 10^5 samples, sub-nanosecond drifts of the machine are
    // "significant" too, and the A/A line shows how large t gets by chance.
    let mut suspect = false;
    for (name, o) in [("check_token", &csrf), ("IdSigner::verify", &verify)] {
        let significant = o.t.abs() >= T_THRESHOLD;
        let large = o.delta.abs() >= 0.25 * control.delta.abs();
        let verdict = match (significant, large) {
            (true, true) => {
                suspect = true;
                "SUSPECT: a significant difference of a short-circuit's size"
            }
            (true, false) => "no short-circuit: significant but far smaller than the control's difference (machine drift)",
            (false, _) => "no evidence of a leak",
        };
        println!(
            "{name}: {verdict} (delta {:+.2} ns = {:.0}% of the control's; |t| = {:.2}, A/A |t| = {:.2})",
            o.delta,
            100.0 * o.delta.abs() / control.delta.abs(),
            o.t.abs(),
            o.t_aa.abs()
        );
    }
    if strict && (suspect || !detected) {
        std::process::exit(1);
    }
}
