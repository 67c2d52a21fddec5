//! One MLP training step on the tape against the time of the same matrix
//! products called directly (issue 3: at most 1.3x), f32, one process.
//!
//! The step: `tape.clear()`, forward of the batch on a reused `Tape` (one
//! affine and one ReLU node per layer), softmax cross-entropy (mean),
//! `backward_into` a reused `Grads`, `gradient_into` a reused flat buffer,
//! and a plain SGD update `p -= lr g` on the flat parameters.
//!
//! The floor: the products alone through `autodiff::Float::gemm`, on
//! preallocated buffers: forward `Z_r = X_r W_r^T` for every layer;
//! backward `dW_r = dZ_r^T X_r` for every layer and `dX_r = dZ_r W_r` for
//! every layer but the first (the input batch needs no gradient).
//!
//! Run: `cargo bench --bench mlp_step`.

mod timing;

use autodiff::{Float, Grads, Reduction, Shape, Tape};
use nn::{Activation, BatchTargets, Init, Loss, Mlp};
use std::hint::black_box;
use timing::{fmt_secs, median_secs};

const SAMPLES: usize = 11;
const TARGET_SECS: f64 = 0.25;

/// Deterministic values in [-1, 1].
fn fill(n: usize, salt: f32) -> Vec<f32> {
    (0..n).map(|i| ((i as f32) * 0.618 + salt).sin()).collect()
}

/// `C = A B` with `A` `m x k` and `B` `k x n` given by their strides.
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    c: &mut [f32],
) {
    f32::gemm(m, k, n, 1.0, a, rsa, csa, b, rsb, csb, 0.0, c, n, 1);
}

struct Floor {
    forward: f64,
    total: f64,
}

/// The matrix products of one step, called directly.
fn floor(widths: &[usize], n: usize) -> Floor {
    let layers = widths.len() - 1;
    let w: Vec<Vec<f32>> = (0..layers)
        .map(|r| fill(widths[r + 1] * widths[r], r as f32))
        .collect();
    // x[r]: the input of layer r, n x a_r; x[r + 1] also receives Z_r.
    let mut x: Vec<Vec<f32>> = (0..=layers)
        .map(|r| fill(n * widths[r], 0.5 + r as f32))
        .collect();
    let dz: Vec<Vec<f32>> = (0..layers)
        .map(|r| fill(n * widths[r + 1], 1.5 + r as f32))
        .collect();
    let mut dw: Vec<Vec<f32>> = (0..layers)
        .map(|r| vec![0.0; widths[r + 1] * widths[r]])
        .collect();
    let mut dx: Vec<Vec<f32>> = (0..layers).map(|r| vec![0.0; n * widths[r]]).collect();

    let forward = |x: &mut Vec<Vec<f32>>| {
        for r in 0..layers {
            let (i, o) = (widths[r], widths[r + 1]);
            let (lo, hi) = x.split_at_mut(r + 1);
            // Z_r = X_r W_r^T: W_r is (o, i) row-major, so W_r^T has strides (1, i).
            gemm(n, i, o, &lo[r], i, 1, &w[r], 1, i, &mut hi[0]);
        }
    };
    let backward = |x: &Vec<Vec<f32>>, dw: &mut Vec<Vec<f32>>, dx: &mut Vec<Vec<f32>>| {
        for r in (0..layers).rev() {
            let (i, o) = (widths[r], widths[r + 1]);
            // dW_r = dZ_r^T X_r: dZ_r is (n, o) row-major, dZ_r^T has strides (1, o).
            gemm(o, n, i, &dz[r], 1, o, &x[r], i, 1, &mut dw[r]);
            if r > 0 {
                // dX_r = dZ_r W_r.
                gemm(n, o, i, &dz[r], o, 1, &w[r], i, 1, &mut dx[r]);
            }
        }
    };
    let fwd = median_secs(SAMPLES, TARGET_SECS, || {
        forward(&mut x);
        x[layers][0]
    });
    let total = median_secs(SAMPLES, TARGET_SECS, || {
        forward(&mut x);
        backward(&x, &mut dw, &mut dx);
        dw[0][0]
    });
    Floor {
        forward: fwd,
        total,
    }
}

struct Step {
    forward: f64,
    total: f64,
}

/// One training step on the tape, everything reused between steps.
fn step(widths: &[usize], n: usize) -> Step {
    let mut mlp = Mlp::<f32>::builder(widths)
        .hidden(Activation::RELU)
        .init(Init::HeUniform)
        .seed(1)
        .build()
        .expect("valid network");
    let (a0, classes) = (widths[0], *widths.last().unwrap());
    let x = fill(n * a0, 0.25);
    let labels: Vec<usize> = (0..n).map(|i| (i * 7) % classes).collect();
    let loss = Loss::CrossEntropy(Reduction::Mean);
    let mut tape = Tape::<f32>::new();
    let mut grads = Grads::empty();
    let mut g = vec![0.0_f32; mlp.num_params()];
    let lr = 1e-3_f32;

    let forward = median_secs(SAMPLES, TARGET_SECS, || {
        tape.clear();
        let xm = tape.mat_const(Shape::new(n, a0), &x).unwrap();
        let out = mlp.forward(&tape, xm).unwrap();
        loss.apply(out.output, BatchTargets::Classes(&labels))
            .unwrap()
            .value()
    });
    let total = median_secs(SAMPLES, TARGET_SECS, || {
        tape.clear();
        let value = {
            let xm = tape.mat_const(Shape::new(n, a0), black_box(&x)).unwrap();
            let out = mlp.forward(&tape, xm).unwrap();
            let l = loss
                .apply(out.output, BatchTargets::Classes(&labels))
                .unwrap();
            tape.backward_into(l, &mut grads);
            out.gradient_into(&grads, &mut g).unwrap();
            l.value()
        };
        for (p, &gi) in mlp.params_mut().iter_mut().zip(&g) {
            *p -= lr * gi;
        }
        value
    });
    Step { forward, total }
}

fn main() {
    let cases: [(&[usize], usize); 2] = [(&[64, 128, 64, 10], 32), (&[784, 512, 512, 10], 256)];
    println!("MLP training step on the tape vs the same matrix products called directly");
    println!("f32, ReLU hidden layers, softmax cross-entropy (mean), medians of {SAMPLES} samples of ~{TARGET_SECS} s");
    println!();
    println!("  step   = tape.clear + forward + loss + backward_into + gradient_into + SGD update p -= lr g");
    println!("  floor  = Float::gemm only: X W^T per layer; dZ^T X per layer; dZ W per layer but the first");
    println!(
        "  fwd    = tape.clear + forward + loss (no backward)    fwd floor = X W^T per layer only"
    );
    println!("  target (issue 3): step / floor <= 1.3x");
    println!();
    println!(
        "{:<20} {:>6} {:>12} {:>12} {:>11} {:>12} {:>12} {:>10}",
        "widths", "batch", "step", "floor", "step/floor", "fwd", "fwd floor", "fwd/floor"
    );
    // `cargo bench --bench mlp_step -- 784` runs only the nets whose widths
    // contain the filter.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for (widths, n) in cases {
        let label = widths
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join("-");
        if !filter.iter().all(|f| label.contains(f.as_str())) {
            continue;
        }
        let s = step(widths, n);
        let f = floor(widths, n);
        let name = widths
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join("-");
        println!(
            "{:<20} {:>6} {:>12} {:>12} {:>10.2}x {:>12} {:>12} {:>9.2}x",
            name,
            n,
            fmt_secs(s.total),
            fmt_secs(f.total),
            s.total / f.total,
            fmt_secs(s.forward),
            fmt_secs(f.forward),
            s.forward / f.forward
        );
    }
}
