//! Our matrix-multiply kernel (`autodiff::Float::gemm`) against the two
//! crates considered, `matrixmultiply` and the `gemm` crate (runtime CPU
//! dispatch), on the products of an MLP step, f32 and f64: all three at
//! one thread, ours and the gemm crate (`Parallelism::Rayon(2)`) also at
//! two.
//!
//! Run: `cargo bench --bench kernels`.

mod timing;

use std::hint::black_box;
use timing::{fmt_secs, product as ours, Interleaved};

/// `C = A B` as `timing::product` (our kernel, here `ours`), through
/// matrixmultiply (one thread: built without its `threading` feature).
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
    use std::any::TypeId;
    let (rsa, csa, rsb, csb) = (rsa as isize, csa as isize, rsb as isize, csb as isize);
    // SAFETY: the buffers hold the strided operands (checked by our
    // kernel's call on the same arguments in this bench); T is f32 or f64,
    // checked by the TypeId before each cast.
    unsafe {
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr().cast(),
                rsa,
                csa,
                b.as_ptr().cast(),
                rsb,
                csb,
                0.0,
                c.as_mut_ptr().cast(),
                n as isize,
                1,
            )
        } else {
            assert_eq!(TypeId::of::<T>(), TypeId::of::<f64>());
            matrixmultiply::dgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr().cast(),
                rsa,
                csa,
                b.as_ptr().cast(),
                rsb,
                csb,
                0.0,
                c.as_mut_ptr().cast(),
                n as isize,
                1,
            )
        }
    }
}

/// The same through the gemm crate (`dst := alpha dst + beta lhs rhs`).
#[allow(clippy::too_many_arguments)]
fn gm<T: 'static + autodiff::Float>(
    threads: usize,
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
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the buffers hold the strided operands (checked by our
    // kernel's call on the same arguments in this bench).
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
            par,
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
    let mut c = [(); 5].map(|_| vec![T::zero(); m * n]);
    autodiff::set_num_threads(1);
    ours(m, k, n, &a, rsa, csa, &b, rsb, csb, &mut c[0]);
    mm(m, k, n, &a, rsa, csa, &b, rsb, csb, &mut c[1]);
    gm(1, m, k, n, &a, rsa, csa, &b, rsb, csb, &mut c[2]);
    autodiff::set_num_threads(2);
    ours(m, k, n, &a, rsa, csa, &b, rsb, csb, &mut c[3]);
    gm(2, m, k, n, &a, rsa, csa, &b, rsb, csb, &mut c[4]);
    for (i, other) in c.iter().enumerate().skip(1) {
        let err = c[0]
            .iter()
            .zip(other)
            .map(|(x, y)| (x.to_f64() - y.to_f64()).abs())
            .fold(0.0, f64::max);
        assert!(
            err < 1e-3,
            "{label}: kernel {i} disagrees with ours by {err}"
        );
    }
    assert!(
        c[0] == c[3],
        "{label}: ours differs between 1 and 2 threads"
    );
    let [c0, c1, c2, c3, c4] = &mut c;
    // Two groups, so that the gemm crate's rayon threads, which spin a
    // while after a call, do not slow the one-thread runs.
    let one = Interleaved::measure(
        11,
        0.1,
        &mut [
            &mut || {
                autodiff::set_num_threads(1);
                ours(m, k, n, &a, rsa, csa, &b, rsb, csb, c0);
                black_box(&c0);
            },
            &mut || {
                mm(m, k, n, &a, rsa, csa, &b, rsb, csb, c1);
                black_box(&c1);
            },
            &mut || {
                gm(1, m, k, n, &a, rsa, csa, &b, rsb, csb, c2);
                black_box(&c2);
            },
        ],
    );
    let gflops = |t: &Interleaved, i: usize| 2.0 * (m * k * n) as f64 / t.median(i) / 1e9;
    println!(
        "{:<4} {label:<36} 1 thread: ours {:>9} ({:>5.1})  mm {:>9} ({:>5.1})  gemm {:>9} ({:>5.1})  ours/mm {:.2}  ours/gemm {:.2}",
        std::any::type_name::<T>(),
        fmt_secs(one.median(0)),
        gflops(&one, 0),
        fmt_secs(one.median(1)),
        gflops(&one, 1),
        fmt_secs(one.median(2)),
        gflops(&one, 2),
        one.ratio(0, 1),
        one.ratio(0, 2),
    );
    if std::env::args().any(|a| a == "single") {
        return;
    }
    let two = Interleaved::measure(
        11,
        0.1,
        &mut [
            &mut || {
                autodiff::set_num_threads(1);
                ours(m, k, n, &a, rsa, csa, &b, rsb, csb, c0);
                black_box(&c0);
            },
            &mut || {
                autodiff::set_num_threads(2);
                ours(m, k, n, &a, rsa, csa, &b, rsb, csb, c3);
                black_box(&c3);
            },
            &mut || {
                gm(2, m, k, n, &a, rsa, csa, &b, rsb, csb, c4);
                black_box(&c4);
            },
        ],
    );
    println!(
        "{:<4} {:<36} 2 threads: ours {:>9} ({:>5.1})  gemm {:>9} ({:>5.1})  ours2/ours1 {:.2}  ours2/gemm2 {:.2}",
        "",
        "",
        fmt_secs(two.median(1)),
        gflops(&two, 1),
        fmt_secs(two.median(2)),
        gflops(&two, 2),
        two.ratio(1, 0),
        two.ratio(1, 2),
    );
}

/// A product: label, (m, k, n), (A transposed, B transposed).
type Case = (&'static str, (usize, usize, usize), (bool, bool));

fn main() {
    println!("one product, 11 interleaved rounds, time (GFLOP/s); ratios are medians of per-round ratios, < 1 means ours is faster");
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
    // `cargo bench --bench kernels -- f64` (or `medium`, ...) filters.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--") && a != "single")
        .collect();
    let wanted = |ty: &str, label: &str| {
        filter.is_empty()
            || filter
                .iter()
                .any(|f| ty.contains(f.as_str()) || label.contains(f.as_str()))
    };
    for (label, shape, trans) in shapes {
        if wanted("f32", label) {
            run::<f32>(label, shape, trans);
        }
    }
    for (label, shape, trans) in shapes {
        if wanted("f64", label) {
            run::<f64>(label, shape, trans);
        }
    }
}
