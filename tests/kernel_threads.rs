//! The matrix kernel gives bitwise the same products whatever the number
//! of threads (`autodiff::set_num_threads`), on products large enough to
//! be split, in all four transpose combinations.

use autodiff::Float;

fn values<T: Float>(len: usize, salt: f64) -> Vec<T> {
    (0..len)
        .map(|i| T::from_f64((i as f64 * 0.618 + salt).sin()))
        .collect()
}

/// `alpha A B + beta C` with `A`, `B` transposed as asked, at `threads`.
fn product<T: Float>(
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    threads: usize,
) -> Vec<T> {
    let a = values::<T>(m * k, 0.1);
    let b = values::<T>(k * n, 0.2);
    let mut c = values::<T>(m * n, 0.3);
    let (rsa, csa) = if ta { (1, m) } else { (k, 1) };
    let (rsb, csb) = if tb { (1, k) } else { (n, 1) };
    autodiff::set_num_threads(threads);
    let (alpha, beta) = (T::from_f64(0.75), T::from_f64(-0.5));
    T::gemm(
        m, k, n, alpha, &a, rsa, csa, &b, rsb, csb, beta, &mut c, n, 1,
    );
    c
}

fn same_for_every_thread_count<T: Float>() {
    // Split over columns (m <= n) and over rows (m > n); k over several
    // KC blocks; tails everywhere.
    for shape in [(97, 531, 203), (301, 257, 45), (256, 784, 512)] {
        for trans in [(false, false), (false, true), (true, false), (true, true)] {
            let one = product::<T>(shape, trans, 1);
            for threads in 2..=4 {
                let many = product::<T>(shape, trans, threads);
                let same = one
                    .iter()
                    .zip(&many)
                    .all(|(x, y)| x.to_f64().to_bits() == y.to_f64().to_bits());
                assert!(same, "{shape:?} {trans:?}: {threads} threads differ from 1");
            }
        }
    }
}

// One test function: the thread count is a process-wide setting.
#[test]
fn products_are_bitwise_identical_for_1_to_4_threads() {
    same_for_every_thread_count::<f32>();
    same_for_every_thread_count::<f64>();
    assert_eq!(autodiff::num_threads(), 4);
}
