//! The two matrix-multiply kernels considered, on the products of an MLP
//! step: `matrixmultiply` (what `autodiff::Float::gemm` calls) against the
//! `gemm` crate (runtime CPU dispatch), f32 and f64, one thread.
//!
//! Run: `cargo bench --bench kernels`.

mod timing;

use std::hint::black_box;
use timing::{fmt_secs, Interleaved};

/// `C = A B` (`A` m x k, `B` k x n given by strides) through matrixmultiply.
#[allow(clippy::too_many_arguments)]
fn mm<T: autodiff::Float>(
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

/// The same through the gemm crate (`dst := alpha dst + beta lhs rhs`).
#[allow(clippy::too_many_arguments)]
fn gm<T: 'static + autodiff::Float>(
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
    // SAFETY: the buffers hold the strided operands (checked by the
    // matrixmultiply call on the same arguments in this bench).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            csa as isize,
            rsa as isize,
            b.as_ptr(),
            csb as isize,
            rsb as isize,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

fn run<T: 'static + autodiff::Float>(
    label: &str,
    (m, k, n): (usize, usize, usize),
    trans: (bool, bool),
) {
    let a: Vec<T> = (0..m * k)
        .map(|i| T::from_f64(((i % 13) as f64 - 6.0) / 7.0))
        .collect();
    let b: Vec<T> = (0..k * n)
        .map(|i| T::from_f64(((i % 11) as f64 - 5.0) / 9.0))
        .collect();
    let (rsa, csa) = if trans.0 { (1, m) } else { (k, 1) };
    let (rsb, csb) = if trans.1 { (1, k) } else { (n, 1) };
    let (mut c1, mut c2) = (vec![T::zero(); m * n], vec![T::zero(); m * n]);
    mm(m, k, n, &a, rsa, csa, &b, rsb, csb, &mut c1);
    gm(m, k, n, &a, rsa, csa, &b, rsb, csb, &mut c2);
    let err = c1
        .iter()
        .zip(&c2)
        .map(|(x, y)| (x.to_f64() - y.to_f64()).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-3, "{label}: kernels disagree by {err}");
    let t = Interleaved::measure(
        11,
        0.1,
        &mut [
            &mut || {
                mm(m, k, n, &a, rsa, csa, &b, rsb, csb, &mut c1);
                black_box(&c1);
            },
            &mut || {
                gm(m, k, n, &a, rsa, csa, &b, rsb, csb, &mut c2);
                black_box(&c2);
            },
        ],
    );
    let flops = 2.0 * (m * k * n) as f64;
    println!(
        "{:<5} {label:<34} matrixmultiply {:>10} ({:>5.1} GFLOP/s)   gemm {:>10} ({:>5.1} GFLOP/s)   gemm/mm {:.2}",
        std::any::type_name::<T>(),
        fmt_secs(t.median(0)),
        flops / t.median(0) / 1e9,
        fmt_secs(t.median(1)),
        flops / t.median(1) / 1e9,
        t.ratio(1, 0)
    );
}

/// A product: label, (m, k, n), (A transposed, B transposed).
type Case = (&'static str, (usize, usize, usize), (bool, bool));

fn main() {
    println!("one product, one thread, 11 interleaved rounds; gemm/mm < 1 means the gemm crate is faster");
    let shapes: [Case; 8] = [
        (
            "small fwd X W^T 32x64 * 64x128",
            (32, 64, 128),
            (false, true),
        ),
        (
            "small bwd dW = dZ^T X 128x32 * 32x64",
            (128, 32, 64),
            (true, false),
        ),
        (
            "small bwd dX = dZ W 32x128 * 128x64",
            (32, 128, 64),
            (false, false),
        ),
        (
            "medium fwd 256x784 * 784x512",
            (256, 784, 512),
            (false, true),
        ),
        (
            "medium bwd dW 512x256 * 256x784",
            (512, 256, 784),
            (true, false),
        ),
        (
            "medium fwd 256x512 * 512x512",
            (256, 512, 512),
            (false, true),
        ),
        (
            "medium bwd dX 256x512 * 512x512",
            (256, 512, 512),
            (false, false),
        ),
        ("square 512^3", (512, 512, 512), (false, false)),
    ];
    for (label, shape, trans) in shapes {
        run::<f32>(label, shape, trans);
    }
    for (label, shape, trans) in shapes {
        run::<f64>(label, shape, trans);
    }
}
