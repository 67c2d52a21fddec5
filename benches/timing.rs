//! Shared timing helpers of the benches: medians of repeated runs, so that
//! ratios measured in one process are stable on a noisy machine.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::Instant;

/// The median time of one call of `f`, in seconds: `samples` samples of
/// enough calls each to last about `target` seconds.
pub fn median_secs<R>(samples: usize, target: f64, mut f: impl FnMut() -> R) -> f64 {
    // Calibrate the calls per sample.
    let mut reps = 1usize;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            black_box(f());
        }
        let e = t.elapsed().as_secs_f64();
        if e > target / 4.0 || reps > 1 << 30 {
            reps = ((reps as f64) * target / e.max(1e-9)).ceil().max(1.0) as usize;
            break;
        }
        reps *= 4;
    }
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                black_box(f());
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[samples / 2]
}

/// Formats seconds with a unit.
pub fn fmt_secs(s: f64) -> String {
    if s < 1e-6 {
        format!("{:.1} ns", s * 1e9)
    } else if s < 1e-3 {
        format!("{:.2} us", s * 1e6)
    } else {
        format!("{:.3} ms", s * 1e3)
    }
}
