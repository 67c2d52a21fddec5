//! Matrix products through the tape against the kernel called directly
//! (issue: a 512x512x512 f32 product on the tape within 1.2x of the
//! kernel).
//!
//! Run: `cargo bench --bench matrix_ops`.

mod timing;

use autodiff::{Float, Grads, Shape, Tape};
use timing::{fmt_secs, median_secs};

fn run<T: Float>(n: usize) {
    let a: Vec<T> = (0..n * n)
        .map(|k| T::from_f64(((k % 97) as f64 - 48.0) / 97.0))
        .collect();
    let b: Vec<T> = (0..n * n)
        .map(|k| T::from_f64(((k % 89) as f64 - 44.0) / 89.0))
        .collect();
    let mut c = vec![T::zero(); n * n];
    let mut ga = vec![T::zero(); n * n];
    let mut gb = vec![T::zero(); n * n];
    let s = Shape::new(n, n);
    let kernel = median_secs(11, 0.2, || {
        T::gemm(
            n,
            n,
            n,
            T::one(),
            &a,
            n,
            1,
            &b,
            n,
            1,
            T::zero(),
            &mut c,
            n,
            1,
        );
        c[0]
    });
    let mut tape = Tape::<T>::new();
    let forward = median_secs(11, 0.2, || {
        tape.clear();
        let (x, y) = (tape.mat(s, &a).unwrap(), tape.mat(s, &b).unwrap());
        x.matmul(y).rows()
    });
    // Forward and backward: the floor is three products (C = A B,
    // dA = dC B^T, dB = A^T dC).
    let floor3 = median_secs(11, 0.2, || {
        T::gemm(
            n,
            n,
            n,
            T::one(),
            &a,
            n,
            1,
            &b,
            n,
            1,
            T::zero(),
            &mut c,
            n,
            1,
        );
        T::gemm(
            n,
            n,
            n,
            T::one(),
            &c,
            n,
            1,
            &b,
            1,
            n,
            T::zero(),
            &mut ga,
            n,
            1,
        );
        T::gemm(
            n,
            n,
            n,
            T::one(),
            &a,
            1,
            n,
            &c,
            n,
            1,
            T::zero(),
            &mut gb,
            n,
            1,
        );
        gb[0]
    });
    let mut grads = Grads::empty();
    let both = median_secs(11, 0.2, || {
        tape.clear();
        let (x, y) = (tape.mat(s, &a).unwrap(), tape.mat(s, &b).unwrap());
        let l = x.matmul(y).sum();
        tape.backward_into(l, &mut grads);
        grads[x][0]
    });
    let gflops = 2.0 * (n as f64).powi(3) / kernel / 1e9;
    println!(
        "{:<4} {n}^3  kernel {:>10} ({gflops:.0} GFLOP/s)  tape forward {:>10}  ratio {:.3}x   | fwd+bwd floor {:>10}  tape {:>10}  ratio {:.3}x",
        std::any::type_name::<T>(),
        fmt_secs(kernel),
        fmt_secs(forward),
        forward / kernel,
        fmt_secs(floor3),
        fmt_secs(both),
        both / floor3
    );
}

fn main() {
    println!("matrix products on the tape against matrixmultiply called directly, one thread (medians of 11)");
    run::<f32>(512);
    run::<f64>(512);
    run::<f32>(128);
}
