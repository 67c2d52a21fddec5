//! The microkernel, written once as generic Rust, and the instantiations
//! chosen at run time.
//!
//! [`tile`] keeps an `MR x NR` tile of `C` in an array of accumulators and
//! adds one outer product of a column of the packed `A` panel and a row of
//! the packed `B` panel per step of `k`. With the loops over `MR` and `NR`
//! unrolled, LLVM keeps the array in vector registers. The instantiations:
//!
//! | CPU | f32 tile | f64 tile | multiply-add |
//! | --- | --- | --- | --- |
//! | x86-64 with AVX2 and FMA | 6 x 16 (12 ymm) | 6 x 8 (12 ymm) | fused |
//! | other x86-64 (SSE2) | 4 x 8 | 4 x 4 | multiply, then add |
//! | aarch64 (NEON) | 4 x 8 | 4 x 4 | fused (FMA is baseline) |
//! | others | 4 x 8 | 4 x 4 | multiply, then add |
//!
//! The AVX2 instantiation is compiled with `#[target_feature(enable =
//! "avx2,fma")]` and chosen once per process by `is_x86_feature_detected!`,
//! so the crate needs no `-C target-cpu`.

use super::{block, Element, Problem};

/// How a step of the microkernel combines `a b + c`.
pub(super) trait MulAdd {
    /// `a b + c`.
    fn mul_add<T: Element>(a: T, b: T, c: T) -> T;
}

/// One rounding (`mul_add`): used only where FMA instructions are enabled.
#[allow(dead_code)] // unused on targets without an FMA instantiation
pub(super) struct Fused;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add<T: Element>(a: T, b: T, c: T) -> T {
        a.fused_mul_add(b, c)
    }
}

/// Two roundings: a multiplication, then an addition.
#[allow(dead_code)] // unused on aarch64, where FMA is baseline
pub(super) struct Separate;

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add<T: Element>(a: T, b: T, c: T) -> T {
        a * b + c
    }
}

/// `sum_p A[.., p] B[p, ..]` over `kc` steps of a packed `A` panel (`MR`
/// per step) and a packed `B` panel (`NR` per step), from zero, in the
/// order of `p`: each element of the tile is one chain of `kc`
/// multiply-adds.
///
/// # Safety
/// `a` holds `kc MR` and `b` holds `kc NR` elements.
#[inline(always)]
pub(super) unsafe fn tile<T: Element, M: MulAdd, const MR: usize, const NR: usize>(
    kc: usize,
    a: *const T,
    b: *const T,
) -> [[T; NR]; MR] {
    let mut acc = [[T::ZERO; NR]; MR];
    for p in 0..kc {
        // SAFETY: step p < kc of panels of kc MR and kc NR elements.
        let (av, bv) = unsafe {
            (
                a.add(p * MR).cast::<[T; MR]>().read(),
                b.add(p * NR).cast::<[T; NR]>().read(),
            )
        };
        for i in 0..MR {
            for j in 0..NR {
                acc[i][j] = M::mul_add(av[i], bv[j], acc[i][j]);
            }
        }
    }
    acc
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0: not probed yet, 1: no, 2: yes.
    static CHOICE: AtomicU8 = AtomicU8::new(0);
    match CHOICE.load(Ordering::Relaxed) {
        0 => {
            let yes = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            CHOICE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
        c => c == 2,
    }
}

/// The serial product on the best instantiation for this CPU: the `MR x
/// NR` tile with AVX2 and FMA, the `BMR x BNR` tile otherwise.
///
/// # Safety
/// As [`block::gemm_serial`].
#[inline]
pub(super) unsafe fn dispatch<
    T: Element,
    const MR: usize,
    const NR: usize,
    const BMR: usize,
    const BNR: usize,
>(
    p: &Problem<T>,
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked above); the rest is
        // the caller's contract.
        return unsafe { avx2_fma::<T, MR, NR>(p) };
    }
    #[cfg(target_arch = "aarch64")]
    type Baseline = Fused;
    #[cfg(not(target_arch = "aarch64"))]
    type Baseline = Separate;
    // SAFETY: the caller's contract.
    unsafe { block::gemm_serial::<T, Baseline, BMR, BNR>(p) }
}

/// The product compiled for AVX2 and FMA.
///
/// # Safety
/// The CPU has AVX2 and FMA; otherwise as [`block::gemm_serial`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_fma<T: Element, const MR: usize, const NR: usize>(p: &Problem<T>) {
    // SAFETY: the caller's contract.
    unsafe { block::gemm_serial::<T, Fused, MR, NR>(p) }
}
