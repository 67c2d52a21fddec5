//! Matrix products through the tape against the kernel called directly
//! (issue: a 512x512x512 f32 product on the tape within 1.2x of the
//! kernel).
//!
//! Run: `cargo bench --bench matrix_ops`.

mod timing;

use autodiff::{Float, Grads, Shape, Tape};
use std::hint::black_box;
use timing::{fmt_secs, product, Interleaved};

fn run<T: Float>(n: usize) {
    let a: Vec<T> = (0..n * n)
        .map(|k| T::from_f64(((k % 97) as f64 - 48.0) / 97.0))
        .collect();
    let b: Vec<T> = (0..n * n)
        .map(|k| T::from_f64(((k % 89) as f64 - 44.0) / 89.0))
        .collect();
    let mut c = vec![T::zero(); n * n];
    let ga = vec![T::zero(); n * n];
    let gb = vec![T::zero(); n * n];
    let s = Shape::new(n, n);
    let mut tape = Tape::<T>::new();
    let mut tape2 = Tape::<T>::new();
    let mut grads = Grads::empty();
    let (mut c2, mut ga, mut gb) = (c.clone(), ga, gb);
    let t = Interleaved::measure(
        11,
        0.2,
        &mut [
            &mut || product(n, n, n, &a, n, 1, &b, n, 1, &mut c),
            &mut || {
                tape.clear();
                let (x, y) = (tape.mat(s, &a).unwrap(), tape.mat(s, &b).unwrap());
                black_box(x.matmul(y).rows());
            },
            // Forward and backward: the floor is three products (C = A B,
            // dA = dC B^T, dB = A^T dC).
            &mut || {
                product(n, n, n, &a, n, 1, &b, n, 1, &mut c2);
                product(n, n, n, &c2, n, 1, &b, 1, n, &mut ga);
                product(n, n, n, &a, 1, n, &c2, n, 1, &mut gb);
            },
            &mut || {
                tape2.clear();
                let (x, y) = (tape2.mat(s, &a).unwrap(), tape2.mat(s, &b).unwrap());
                let l = x.matmul(y).sum();
                tape2.backward_into(l, &mut grads);
                black_box(grads[x][0]);
            },
        ],
    );
    let (kernel, forward, floor3, both) = (t.median(0), t.median(1), t.median(2), t.median(3));
    let gflops = 2.0 * (n as f64).powi(3) / kernel / 1e9;
    println!(
        "{:<4} {n}^3  kernel {:>10} ({gflops:.0} GFLOP/s)  tape forward {:>10}  ratio {:.3}x   | fwd+bwd floor {:>10}  tape {:>10}  ratio {:.3}x",
        std::any::type_name::<T>(),
        fmt_secs(kernel),
        fmt_secs(forward),
        t.ratio(1, 0),
        fmt_secs(floor3),
        fmt_secs(both),
        t.ratio(3, 2)
    );
}

fn main() {
    // One thread unless CHAINRULE_NUM_THREADS says otherwise.
    if std::env::var_os("CHAINRULE_NUM_THREADS").is_none() {
        autodiff::set_num_threads(1);
    }
    println!(
        "matrix products on the tape against the kernel (Float::gemm) called directly, {} thread(s) (11 interleaved rounds)",
        autodiff::num_threads()
    );
    run::<f32>(512);
    run::<f64>(512);
    run::<f32>(128);
}
