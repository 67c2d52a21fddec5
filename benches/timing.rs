//! Shared helpers of the benches: medians of repeated runs, so that ratios
//! measured in one process are stable on a noisy machine, and the bare
//! matrix product the tape is measured against.
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

/// Times of several functions sampled *interleaved*: round `k` takes one
/// sample of every function before round `k + 1` starts, so a drift in the
/// machine's speed (shared cores, frequency changes) touches all of them
/// alike, and the per-round ratios stay meaningful.
pub struct Interleaved {
    /// `rounds[k][i]`: seconds per call of function `i` in round `k`.
    rounds: Vec<Vec<f64>>,
}

impl Interleaved {
    /// Calibrates each function to about `target` seconds per sample, then
    /// takes `rounds` rounds.
    pub fn measure(rounds: usize, target: f64, fs: &mut [&mut dyn FnMut()]) -> Self {
        let reps: Vec<usize> = fs
            .iter_mut()
            .map(|f| {
                let mut reps = 1usize;
                loop {
                    let t = Instant::now();
                    for _ in 0..reps {
                        f();
                    }
                    let e = t.elapsed().as_secs_f64();
                    if e > target / 4.0 || reps > 1 << 30 {
                        break ((reps as f64) * target / e.max(1e-9)).ceil().max(1.0) as usize;
                    }
                    reps *= 4;
                }
            })
            .collect();
        let rounds = (0..rounds)
            .map(|_| {
                fs.iter_mut()
                    .zip(&reps)
                    .map(|(f, &r)| {
                        let t = Instant::now();
                        for _ in 0..r {
                            f();
                        }
                        t.elapsed().as_secs_f64() / r as f64
                    })
                    .collect()
            })
            .collect();
        Interleaved { rounds }
    }

    /// The median time of function `i`.
    pub fn median(&self, i: usize) -> f64 {
        median(self.rounds.iter().map(|r| r[i]).collect())
    }

    /// The median over rounds of `time(i) / time(j)`.
    pub fn ratio(&self, i: usize, j: usize) -> f64 {
        median(self.rounds.iter().map(|r| r[i] / r[j]).collect())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
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

/// `C = A B` through our kernel (`Float::gemm`), `A` `m x k` and `B`
/// `k x n` given by their row and column strides, `C` row-major.
#[allow(clippy::too_many_arguments)]
pub fn product<T: autodiff::Float>(
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    rsa: usize,
    csa: usize,
    b: &[T],
    rsb: usize,
    csb: usize,
    c: &mut [T],
) {
    T::gemm(
        m,
        k,
        n,
        T::one(),
        a,
        rsa,
        csa,
        b,
        rsb,
        csb,
        T::zero(),
        c,
        n,
        1,
    );
}
