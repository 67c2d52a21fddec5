//! One MLP training step on the tape against the time of the same matrix
//! products called directly (issue 3: at most 1.3x; issue 6: at most 1.5x
//! for the small net and 1.15x for the medium one), for f32 and f64 and for
//! 1 and 2 kernel threads, with the heap allocations of a step counted.
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
//! Run: `cargo bench --bench mlp_step`; arguments filter the cases by
//! their label, e.g. `-- 784 f32 t1`.

mod timing;

use autodiff::{Float, Grads, Reduction, Shape, Tape};
use nn::{Activation, BatchTargets, Init, Loss, Mlp};
use std::hint::black_box;
use timing::{fmt_secs, product, Interleaved};

#[path = "../tests/common/counting.rs"]
mod counting;

use counting::{allocations, Counting};

/// Counts heap allocations, to report a step's (the goal is none).
#[global_allocator]
static GLOBAL: Counting = Counting;

const SAMPLES: usize = 11;
const TARGET_SECS: f64 = 0.25;

/// Rounds and seconds per sample: fewer and shorter with `--quick` (for
/// `side_by_side.sh`, which alternates many short runs with PyTorch's).
fn sampling() -> (usize, f64) {
    if std::env::args().any(|a| a == "--quick") {
        (5, 0.1)
    } else {
        (SAMPLES, TARGET_SECS)
    }
}

/// Deterministic values in [-1, 1].
fn fill<T: Float>(n: usize, salt: f64) -> Vec<T> {
    (0..n)
        .map(|i| T::from_f64(((i as f64) * 0.618 + salt).sin()))
        .collect()
}

/// A measured piece of work.
type Job = Box<dyn FnMut()>;

/// The matrix products of one step, called directly: (forward only,
/// forward and backward), each owning its buffers.
fn floor<T: Float>(widths: &[usize], n: usize) -> (Job, Job) {
    let widths = widths.to_vec();
    let layers = widths.len() - 1;
    let w: Vec<Vec<T>> = (0..layers)
        .map(|r| fill(widths[r + 1] * widths[r], r as f64))
        .collect();
    // x[r]: the input of layer r, n x a_r; x[r + 1] also receives Z_r.
    let x: Vec<Vec<T>> = (0..=layers)
        .map(|r| fill(n * widths[r], 0.5 + r as f64))
        .collect();
    let dz: Vec<Vec<T>> = (0..layers)
        .map(|r| fill(n * widths[r + 1], 1.5 + r as f64))
        .collect();
    let dw: Vec<Vec<T>> = (0..layers)
        .map(|r| vec![T::zero(); widths[r + 1] * widths[r]])
        .collect();
    let dx: Vec<Vec<T>> = (0..layers)
        .map(|r| vec![T::zero(); n * widths[r]])
        .collect();

    let forward = move |widths: &[usize], w: &[Vec<T>], x: &mut Vec<Vec<T>>| {
        for r in 0..layers {
            let (i, o) = (widths[r], widths[r + 1]);
            let (lo, hi) = x.split_at_mut(r + 1);
            // Z_r = X_r W_r^T: W_r is (o, i) row-major, so W_r^T has strides (1, i).
            product(n, i, o, &lo[r], i, 1, &w[r], 1, i, &mut hi[0]);
        }
    };
    let backward = move |widths: &[usize],
                         w: &[Vec<T>],
                         x: &[Vec<T>],
                         dz: &[Vec<T>],
                         dw: &mut [Vec<T>],
                         dx: &mut [Vec<T>]| {
        for r in (0..layers).rev() {
            let (i, o) = (widths[r], widths[r + 1]);
            // dW_r = dZ_r^T X_r: dZ_r is (n, o) row-major, dZ_r^T has strides (1, o).
            product(o, n, i, &dz[r], 1, o, &x[r], i, 1, &mut dw[r]);
            if r > 0 {
                // dX_r = dZ_r W_r.
                product(n, o, i, &dz[r], o, 1, &w[r], i, 1, &mut dx[r]);
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
fn step<T: Float + nn::Scalar>(widths: &[usize], n: usize) -> (Job, Job) {
    let mut mlp = Mlp::<T>::builder(widths)
        .hidden(Activation::RELU)
        .init(Init::HeUniform)
        .seed(1)
        .build()
        .expect("valid network");
    let (a0, classes) = (widths[0], *widths.last().unwrap());
    let x = fill(n * a0, 0.25);
    let labels: Vec<usize> = (0..n).map(|i| (i * 7) % classes).collect();
    let loss = Loss::CrossEntropy(Reduction::Mean);
    let lr = <T as autodiff::Real>::from_f64(1e-3);

    let (mlp_f, x_f, labels_f) = (mlp.clone(), x.clone(), labels.clone());
    let mut tape_f = Tape::<T>::new();
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
    let mut tape = Tape::<T>::new();
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
            // The gradient read in place, as the Trainer does (the handles
            // borrow the parameters: done with them before the update).
            let (value, g) = (l.value(), out.gradient(&grads));
            for (p, &gi) in mlp.params_mut().iter_mut().zip(g) {
                *p -= lr * gi;
            }
            value
        };
        black_box(value);
    });
    (forward, total)
}

/// The heap allocations of one call of `f`, after two warm-up calls.
fn allocations_per_call(f: &mut dyn FnMut()) -> usize {
    f();
    f();
    let before = allocations();
    f();
    allocations() - before
}

/// Measures one case and prints its row.
fn run<T: Float + nn::Scalar>(label: &str, widths: &[usize], n: usize) {
    let (mut step_fwd, mut step_all) = step::<T>(widths, n);
    let (mut floor_fwd, mut floor_all) = floor::<T>(widths, n);
    let allocs = allocations_per_call(&mut *step_all);
    let (samples, target) = sampling();
    let t = Interleaved::measure(
        samples,
        target,
        &mut [
            &mut *step_all,
            &mut *floor_all,
            &mut *step_fwd,
            &mut *floor_fwd,
        ],
    );
    println!(
        "{:<28} {:>12} {:>12} {:>10.2}x {:>12} {:>12} {:>9.2}x {:>7}",
        label,
        fmt_secs(t.median(0)),
        fmt_secs(t.median(1)),
        t.ratio(0, 1),
        fmt_secs(t.median(2)),
        fmt_secs(t.median(3)),
        t.ratio(2, 3),
        allocs
    );
}

fn main() {
    let nets: [(&[usize], usize); 2] = [(&[64, 128, 64, 10], 32), (&[784, 512, 512, 10], 256)];
    println!("MLP training step on the tape vs the same matrix products called directly");
    println!(
        "ReLU hidden layers, softmax cross-entropy (mean); {SAMPLES} interleaved rounds of ~{TARGET_SECS} s \
         per function; times are medians, ratios medians of the per-round ratios"
    );
    println!();
    println!("  step   = tape.clear + forward + loss + backward_into + SGD update p -= lr g (gradient read in place)");
    println!("  floor  = Float::gemm only: X W^T per layer; dZ^T X per layer; dZ W per layer but the first");
    println!(
        "  fwd    = tape.clear + forward + loss (no backward)    fwd floor = X W^T per layer only"
    );
    println!("  allocs = heap allocations in one step after warm-up");
    println!("  targets: step / floor <= 1.3x (issue 3); small <= 1.5x, medium <= 1.15x (issue 6)");
    println!();
    println!(
        "{:<28} {:>12} {:>12} {:>11} {:>12} {:>12} {:>10} {:>7}",
        "net @ batch, type, threads",
        "step",
        "floor",
        "step/floor",
        "fwd",
        "fwd floor",
        "fwd/floor",
        "allocs"
    );
    // `cargo bench --bench mlp_step -- 784 t1` runs only the cases whose
    // label contains every filter.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for (widths, n) in nets {
        let net = widths
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join("-");
        for ty in ["f32", "f64"] {
            for threads in [1, 2] {
                let label = format!("{net} @{n} {ty} t{threads}");
                if !filter.iter().all(|f| label.contains(f.as_str())) {
                    continue;
                }
                autodiff::set_num_threads(threads);
                match ty {
                    "f32" => run::<f32>(&label, widths, n),
                    _ => run::<f64>(&label, widths, n),
                }
            }
        }
    }
}
