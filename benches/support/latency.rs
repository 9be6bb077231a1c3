//! Per-call latency figures the store benches print: criterion reports
//! means and medians, the tail needs the raw samples.
#![allow(dead_code)] // each bench uses a different subset

use std::time::Duration;

/// The `q`-quantile of sorted `samples`.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let n = sorted.len();
    sorted[((n as f64 * q) as usize).min(n.saturating_sub(1))]
}

/// Microseconds, for printing.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Print one line of percentiles for `samples` taken over `wall`; returns
/// the median.
pub fn percentiles(name: &str, mut samples: Vec<Duration>, wall: Duration) -> Duration {
    samples.sort_unstable();
    let n = samples.len();
    let at = |q: f64| us(quantile(&samples, q));
    println!(
        "{name:<44} n={n:>6}  p50={:>7.1}µs  p90={:>7.1}µs  p99={:>7.1}µs  p99.9={:>7.1}µs  max={:>8.1}µs  {:>8.0} ops/s",
        at(0.50),
        at(0.90),
        at(0.99),
        at(0.999),
        us(samples[n - 1]),
        n as f64 / wall.as_secs_f64(),
    );
    quantile(&samples, 0.5)
}

/// The ratio of two medians against the target (the 1.3x of a
/// bare round trip), as one printed line.
pub fn versus_bare(name: &str, ours: Duration, bare: Duration, target: f64) {
    let ratio = ours.as_secs_f64() / bare.as_secs_f64();
    println!(
        "{name:<44} p50 {:.1}µs / bare {:.1}µs = {ratio:.2}x (target <= {target:.1}x: {})",
        us(ours),
        us(bare),
        if ratio <= target { "met" } else { "NOT met" },
    );
}

/// Time `per_round` calls of each kind in turn, `rounds` times (so a
/// drift of the machine hits every kind alike); print each kind's
/// percentiles and the spread of its per-round medians; return the
/// medians. `op(kind, i)` makes the `i`-th call of `kinds[kind]`.
pub async fn interleaved<F: std::future::Future<Output = ()>>(
    kinds: &[&str],
    rounds: usize,
    per_round: usize,
    mut op: impl FnMut(usize, usize) -> F,
) -> Vec<Duration> {
    let mut all = vec![Vec::with_capacity(rounds * per_round); kinds.len()];
    let mut medians = vec![Vec::with_capacity(rounds); kinds.len()];
    let mut walls = vec![Duration::ZERO; kinds.len()];
    for round in 0..rounds {
        for k in 0..kinds.len() {
            let mut s = Vec::with_capacity(per_round);
            let wall = std::time::Instant::now();
            for j in 0..per_round {
                let t = std::time::Instant::now();
                op(k, round * per_round + j).await;
                s.push(t.elapsed());
            }
            walls[k] += wall.elapsed();
            s.sort_unstable();
            medians[k].push(quantile(&s, 0.5));
            all[k].extend(s);
        }
    }
    println!("({rounds} interleaved rounds; after each line, the spread of the rounds' p50s)");
    let mut p50 = Vec::with_capacity(kinds.len());
    for (k, samples) in all.into_iter().enumerate() {
        p50.push(percentiles(kinds[k], samples, walls[k]));
        let lo = medians[k].iter().min().copied().unwrap_or_default();
        let hi = medians[k].iter().max().copied().unwrap_or_default();
        println!("{:<44} round p50s {:.1}..{:.1}µs", "", us(lo), us(hi));
    }
    p50
}
