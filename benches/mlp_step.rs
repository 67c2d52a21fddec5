//! One MLP training step on the tape against the time of the same matrix
//! products called directly (issue 3: at most 1.3x), f32, one process.
//!
//! The step: `tape.clear()`, forward of the batch on a reused `Tape` (one
//! affine and one ReLU node per layer), softmax cross-entropy (mean),
//! `backward_into` a reused `Grads`, and a plain SGD update `p -= lr g` on
//! the flat parameters with the gradient read in place (`Forward::gradient`).
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
use timing::{fmt_secs, Interleaved};

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

/// A measured piece of work.
type Job = Box<dyn FnMut()>;

/// The matrix products of one step, called directly: (forward only,
/// forward and backward), each owning its buffers.
fn floor(widths: &[usize], n: usize) -> (Job, Job) {
    let widths = widths.to_vec();
    let layers = widths.len() - 1;
    let w: Vec<Vec<f32>> = (0..layers)
        .map(|r| fill(widths[r + 1] * widths[r], r as f32))
        .collect();
    // x[r]: the input of layer r, n x a_r; x[r + 1] also receives Z_r.
    let x: Vec<Vec<f32>> = (0..=layers)
        .map(|r| fill(n * widths[r], 0.5 + r as f32))
        .collect();
    let dz: Vec<Vec<f32>> = (0..layers)
        .map(|r| fill(n * widths[r + 1], 1.5 + r as f32))
        .collect();
    let dw: Vec<Vec<f32>> = (0..layers)
        .map(|r| vec![0.0; widths[r + 1] * widths[r]])
        .collect();
    let dx: Vec<Vec<f32>> = (0..layers).map(|r| vec![0.0; n * widths[r]]).collect();

    let forward = move |widths: &[usize], w: &[Vec<f32>], x: &mut Vec<Vec<f32>>| {
        for r in 0..layers {
            let (i, o) = (widths[r], widths[r + 1]);
            let (lo, hi) = x.split_at_mut(r + 1);
            // Z_r = X_r W_r^T: W_r is (o, i) row-major, so W_r^T has strides (1, i).
            gemm(n, i, o, &lo[r], i, 1, &w[r], 1, i, &mut hi[0]);
        }
    };
    let backward = move |widths: &[usize],
                         w: &[Vec<f32>],
                         x: &[Vec<f32>],
                         dz: &[Vec<f32>],
                         dw: &mut [Vec<f32>],
                         dx: &mut [Vec<f32>]| {
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
    let (wf, mut xf, widths_f) = (w.clone(), x.clone(), widths.clone());
    let fwd = Box::new(move || {
        forward(&widths_f, &wf, &mut xf);
        black_box(xf[layers][0]);
    });
    let (mut x, mut dw, mut dx) = (x, dw, dx);
    let total = Box::new(move || {
        forward(&widths, &w, &mut x);
        backward(&widths, &w, &x, &dz, &mut dw, &mut dx);
        black_box(dw[0][0]);
    });
    (fwd, total)
}

/// One training step on the tape, everything reused between steps: (forward
/// and loss only, the whole step).
fn step(widths: &[usize], n: usize) -> (Job, Job) {
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
    let lr = 1e-3_f32;

    let (mlp_f, x_f, labels_f) = (mlp.clone(), x.clone(), labels.clone());
    let mut tape_f = Tape::<f32>::new();
    let forward = Box::new(move || {
        tape_f.clear();
        let xm = tape_f.mat_const(Shape::new(n, a0), &x_f).unwrap();
        let out = mlp_f.forward(&tape_f, xm).unwrap();
        black_box(
            loss.apply(out.output, BatchTargets::Classes(&labels_f))
                .unwrap()
                .value(),
        );
    });
    let mut tape = Tape::<f32>::new();
    let mut grads = Grads::empty();
    let total = Box::new(move || {
        tape.clear();
        let value = {
            let xm = tape.mat_const(Shape::new(n, a0), black_box(&x)).unwrap();
            let out = mlp.forward(&tape, xm).unwrap();
            let l = loss
                .apply(out.output, BatchTargets::Classes(&labels))
                .unwrap();
            tape.backward_into(l, &mut grads);
            // The gradient read in place, as the Trainer does.
            for (p, &gi) in mlp.params_mut().iter_mut().zip(out.gradient(&grads)) {
                *p -= lr * gi;
            }
            l.value()
        };
        black_box(value);
    });
    (forward, total)
}

fn main() {
    let cases: [(&[usize], usize); 2] = [(&[64, 128, 64, 10], 32), (&[784, 512, 512, 10], 256)];
    println!("MLP training step on the tape vs the same matrix products called directly");
    println!(
        "f32, ReLU hidden layers, softmax cross-entropy (mean), one thread; {SAMPLES} interleaved rounds of ~{TARGET_SECS} s \
         per function; times are medians, ratios medians of the per-round ratios"
    );
    println!();
    println!("  step   = tape.clear + forward + loss + backward_into + SGD update p -= lr g (gradient read in place)");
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
        let (mut step_fwd, mut step_all) = step(widths, n);
        let (mut floor_fwd, mut floor_all) = floor(widths, n);
        let t = Interleaved::measure(
            SAMPLES,
            TARGET_SECS,
            &mut [
                &mut *step_all,
                &mut *floor_all,
                &mut *step_fwd,
                &mut *floor_fwd,
            ],
        );
        println!(
            "{:<20} {:>6} {:>12} {:>12} {:>10.2}x {:>12} {:>12} {:>9.2}x",
            label,
            n,
            fmt_secs(t.median(0)),
            fmt_secs(t.median(1)),
            t.ratio(0, 1),
            fmt_secs(t.median(2)),
            fmt_secs(t.median(3)),
            t.ratio(2, 3)
        );
    }
}
