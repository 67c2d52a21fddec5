//! The kernel against a naive triple loop, and its results across thread
//! counts.

use super::{split, Element, Problem};
use crate::Float;
use proptest::prelude::*;

/// `C <- alpha A B + beta C` by the definition, in f64.
#[allow(clippy::too_many_arguments)]
fn naive<T: Float>(
    (m, k, n): (usize, usize, usize),
    alpha: T,
    a: &[T],
    (rsa, csa): (usize, usize),
    b: &[T],
    (rsb, csb): (usize, usize),
    beta: T,
    c: &mut [T],
    (rsc, csc): (usize, usize),
) {
    for i in 0..m {
        for j in 0..n {
            let s: f64 = (0..k)
                .map(|p| a[i * rsa + p * csa].to_f64() * b[p * rsb + j * csb].to_f64())
                .sum();
            let old = &mut c[i * rsc + j * csc];
            let base = if beta == T::zero() {
                0.0
            } else {
                beta.to_f64() * old.to_f64()
            };
            *old = T::from_f64(alpha.to_f64() * s + base);
        }
    }
}

/// Strides of an `rows x cols` operand: row-major, transposed (column
/// major), or general with padding.
fn strides(rows: usize, cols: usize, layout: u8) -> (usize, usize) {
    match layout {
        0 => (cols, 1),
        1 => (1, rows),
        2 => (cols + 3, 1),
        _ => (2, 2 * rows + 1),
    }
}

fn extent(rows: usize, cols: usize, (rs, cs): (usize, usize)) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs + 1
    }
}

fn values<T: Float>(len: usize, seed: u64) -> Vec<T> {
    (0..len)
        .map(|i| T::from_f64(((i as u64 * 2654435761 + seed) % 1000) as f64 / 500.0 - 1.0))
        .collect()
}

/// Runs one case through `Float::gemm` and the naive loop; returns the
/// largest difference over `C` and the tolerance scaled by `k`.
#[allow(clippy::too_many_arguments)]
fn check<T: Float>(
    (m, k, n): (usize, usize, usize),
    layouts: (u8, u8, u8),
    alpha: f64,
    beta: f64,
    seed: u64,
    eps: f64,
) -> (f64, f64) {
    let (sa, sb, sc) = (
        strides(m, k, layouts.0),
        strides(k, n, layouts.1),
        strides(m, n, layouts.2),
    );
    let a = values::<T>(extent(m, k, sa), seed);
    let b = values::<T>(extent(k, n, sb), seed + 7);
    let mut c = if beta == 0.0 {
        vec![T::from_f64(f64::NAN); extent(m, n, sc)]
    } else {
        values::<T>(extent(m, n, sc), seed + 13)
    };
    let mut want = c.clone();
    let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
    T::gemm(
        m, k, n, alpha, &a, sa.0, sa.1, &b, sb.0, sb.1, beta, &mut c, sc.0, sc.1,
    );
    naive((m, k, n), alpha, &a, sa, &b, sb, beta, &mut want, sc);
    let mut err = 0.0_f64;
    for i in 0..m {
        for j in 0..n {
            let (x, y) = (c[i * sc.0 + j * sc.1], want[i * sc.0 + j * sc.1]);
            assert!(x.is_finite(), "{m}x{k}x{n}: C[{i}, {j}] = {x}");
            err = err.max((x.to_f64() - y.to_f64()).abs());
        }
    }
    // |alpha sum_p a b| <= |alpha| k here (|a|, |b| <= 1), summed with k
    // roundings, plus the roundings of alpha s + beta c.
    (
        err,
        4.0 * eps * (k as f64 + 2.0) * (alpha.to_f64().abs() + beta.to_f64().abs() + 1.0),
    )
}

fn dims() -> impl Strategy<Value = usize> {
    prop_oneof![
        0usize..20,
        // tails around the tiles, MC (36 in f64, 84 in f32), KC (512)
        Just(31),
        Just(36),
        Just(37),
        Just(48),
        Just(49),
        Just(84),
        Just(85),
        Just(95),
        Just(168),
        Just(169),
        Just(511),
        Just(512),
        Just(513),
        1usize..300,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn f64_gemm_matches_the_naive_product(
        m in dims(), k in dims(), n in dims(),
        la in 0u8..4, lb in 0u8..4, lc in 0u8..4,
        alpha in prop_oneof![Just(1.0), -2.0..2.0f64],
        beta in prop_oneof![Just(0.0), Just(1.0), -2.0..2.0f64],
        seed in 0u64..1000,
    ) {
        let (err, tol) = check::<f64>((m, k, n), (la, lb, lc), alpha, beta, seed, f64::EPSILON);
        prop_assert!(err <= tol, "{m}x{k}x{n}: error {err} > {tol}");
    }

    #[test]
    fn f32_gemm_matches_the_naive_product(
        m in dims(), k in dims(), n in dims(),
        la in 0u8..4, lb in 0u8..4, lc in 0u8..4,
        alpha in prop_oneof![Just(1.0), -2.0..2.0f64],
        beta in prop_oneof![Just(0.0), Just(1.0), -2.0..2.0f64],
        seed in 0u64..1000,
    ) {
        let (err, tol) = check::<f32>((m, k, n), (la, lb, lc), alpha, beta, seed, f32::EPSILON as f64);
        prop_assert!(err <= tol, "{m}x{k}x{n}: error {err} > {tol}");
    }
}

/// Small products through the kernel the CPU dispatches to, over the
/// tails of its tiles and every layout: what `.ci/miri` runs (with AVX2 and
/// FMA enabled, the AVX2 instantiation), where the random shapes above
/// would take hours.
#[test]
fn small_products_through_the_dispatched_kernel_match_the_naive_one() {
    for (m, k, n) in [(1, 1, 1), (5, 3, 9), (9, 17, 13), (13, 2, 17)] {
        for layouts in [(0, 0, 0), (1, 2, 3), (3, 1, 0)] {
            for (alpha, beta) in [(1.0, 0.0), (-1.5, 0.5)] {
                let (err, tol) = check::<f64>((m, k, n), layouts, alpha, beta, 7, f64::EPSILON);
                assert!(
                    err <= tol,
                    "f64 {m}x{k}x{n} {layouts:?}: error {err} > {tol}"
                );
                let (err, tol) =
                    check::<f32>((m, k, n), layouts, alpha, beta, 7, f32::EPSILON as f64);
                assert!(
                    err <= tol,
                    "f32 {m}x{k}x{n} {layouts:?}: error {err} > {tol}"
                );
            }
        }
    }
}

#[test]
fn beta_zero_does_not_read_nan_in_c_and_k_zero_scales_c() {
    let a = [1.0_f32; 6];
    let mut c = [f32::NAN; 4];
    f32::gemm(2, 0, 2, 1.0, &a, 1, 1, &a, 1, 1, 0.0, &mut c, 2, 1);
    assert_eq!(c, [0.0; 4]);
    let mut c = [1.0, 2.0, 3.0, 4.0];
    f32::gemm(2, 0, 2, 1.0, &a, 1, 1, &a, 1, 1, 2.0, &mut c, 2, 1);
    assert_eq!(c, [2.0, 4.0, 6.0, 8.0]);
    let mut c = [f32::NAN; 4];
    f32::gemm(2, 3, 2, 1.0, &a, 3, 1, &a, 2, 1, 0.0, &mut c, 2, 1);
    assert_eq!(c, [3.0; 4]);
}

#[test]
fn split_covers_every_row_and_column_once() {
    for (m, n) in [(1, 1), (7, 300), (300, 7), (256, 512), (512, 256), (13, 13)] {
        for parts in 1..6 {
            let mut seen = vec![0u8; m * n];
            for i in 0..parts {
                let ((r0, r1), (c0, c1)) = split(m, n, parts, i);
                for r in r0..r1 {
                    for c in c0..c1 {
                        seen[r * n + c] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "{m}x{n} in {parts}");
        }
    }
}

/// The product split over `parts` parts run one after the other (what the
/// pool runs concurrently), through the kernel's own entry.
fn product_in_parts<T: Element + Float>(
    (m, k, n): (usize, usize, usize),
    parts: usize,
    transposed: bool,
) -> Vec<T> {
    let a = values::<T>(m * k, 1);
    let b = values::<T>(k * n, 2);
    let mut c = vec![T::zero(); m * n];
    let (rsb, csb) = if transposed { (1, k) } else { (n, 1) };
    let p = Problem {
        m,
        k,
        n,
        alpha: T::one(),
        a: a.as_ptr(),
        rsa: k,
        csa: 1,
        b: b.as_ptr(),
        rsb,
        csb,
        beta: T::zero(),
        c: c.as_mut_ptr(),
        rsc: n,
        csc: 1,
    };
    for i in 0..parts {
        let (rows, cols) = split(m, n, parts, i);
        // SAFETY: the operands hold the strided matrices; the parts lie
        // inside C.
        unsafe { T::gemm_serial(&p.part(rows, cols)) };
    }
    c
}

#[test]
fn every_split_gives_bitwise_the_same_product() {
    for shape in [(37, 600, 301), (301, 300, 37), (64, 513, 130)] {
        let one = product_in_parts::<f32>(shape, 1, true);
        let one64 = product_in_parts::<f64>(shape, 1, false);
        for parts in 2..=9 {
            assert_eq!(
                one,
                product_in_parts::<f32>(shape, parts, true),
                "{shape:?} {parts}"
            );
            assert_eq!(
                one64,
                product_in_parts::<f64>(shape, parts, false),
                "{shape:?} {parts}"
            );
        }
    }
}

#[test]
fn the_pool_runs_every_part_exactly_once_on_at_most_the_threads_asked() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    // 7 threads first, so that later jobs find idle workers beyond their
    // thread count.
    for threads in [7, 2, 1, 3] {
        let hits: Vec<AtomicUsize> = (0..7).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..50 {
            let ran_on = Mutex::new(Vec::new());
            super::pool::run(7, threads, &|i: usize| {
                hits[i].fetch_add(1, Ordering::Relaxed);
                // Slow enough that idle workers would join if allowed.
                std::thread::sleep(std::time::Duration::from_micros(200));
                let mut ran_on = ran_on.lock().unwrap();
                let me = std::thread::current().id();
                if !ran_on.contains(&me) {
                    ran_on.push(me);
                }
            });
            let used = ran_on.into_inner().unwrap().len();
            assert!(used <= threads, "{used} threads ran parts, {threads} asked");
        }
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 50));
    }
}

/// The baseline instantiation (the one CPUs without AVX2 + FMA run; this
/// machine dispatches to AVX2) against the naive product, and bitwise
/// against itself across splits.
#[test]
fn baseline_instantiation_matches_the_naive_product() {
    use super::block::gemm_serial;
    use super::micro::Separate;
    for (m, k, n) in [(1, 1, 1), (5, 3, 9), (37, 300, 29), (64, 513, 130)] {
        for (rsb, csb) in [(n, 1), (1, k)] {
            let a = values::<f64>(m * k, 3);
            let b = values::<f64>(k * n, 4);
            let mut want = vec![0.0; m * n];
            naive(
                (m, k, n),
                1.5,
                &a,
                (k, 1),
                &b,
                (rsb, csb),
                0.0,
                &mut want,
                (n, 1),
            );
            let run = |parts: usize| {
                let mut c = vec![f64::NAN; m * n];
                let p = Problem {
                    m,
                    k,
                    n,
                    alpha: 1.5,
                    a: a.as_ptr(),
                    rsa: k,
                    csa: 1,
                    b: b.as_ptr(),
                    rsb,
                    csb,
                    beta: 0.0,
                    c: c.as_mut_ptr(),
                    rsc: n,
                    csc: 1,
                };
                for i in 0..parts {
                    let (rows, cols) = split(m, n, parts, i);
                    // SAFETY: the operands hold the strided matrices; the
                    // parts lie inside C.
                    unsafe { gemm_serial::<f64, Separate, 4, 4>(&p.part(rows, cols)) };
                }
                c
            };
            let one = run(1);
            for (x, y) in one.iter().zip(&want) {
                assert!((x - y).abs() <= 1e-12 * k as f64, "{m}x{k}x{n}: {x} vs {y}");
            }
            assert_eq!(one, run(3), "{m}x{k}x{n}: split changed the result");
        }
    }
}
