//! Our matrix-multiply kernel: `C <- alpha A B + beta C` on strided
//! row-major storage, what [`Float::gemm`](crate::Float::gemm) calls.
//!
//! # Why our own
//! Issue 6 wants no heap allocation per training step and a thread count
//! settable at run time. `matrixmultiply` 0.3 allocates its packing buffer
//! on every call and reads its thread count once from `MATMUL_NUM_THREADS`;
//! the `gemm` crate 0.19 also allocates per call (`MemBuffer::new` for
//! packing and a `vec![false; mc / MR]` in `gemm-common/src/gemm.rs`).
//!
//! # Layout (BLIS)
//! ```text
//! for jc in 0..n step NC            (columns of C; a thread's part)
//!   for pc in 0..k step KC          pack B[pc.., jc..] into NR-column panels
//!     for ic in 0..m step MC        pack A[ic.., pc..] into MR-row panels
//!       for jr, ir over the panels  MR x NR microkernel, accumulators in registers
//! ```
//! Packing reads any strides, so transposes cost nothing extra, and pads
//! edge panels with zeros; the microkernel's tile is written back only
//! where it lies inside `C`.
//!
//! - [`block`]: the loops above and the block sizes; [`micro`]: the one
//!   generic microkernel and its instantiations (AVX2 + FMA chosen at run
//!   time on x86-64, plain code elsewhere); [`pack`]: packing; [`buffer`]:
//!   the per-thread, 64-byte aligned packing buffers; [`pool`]: the
//!   threads.
//!
//! # Threads and determinism
//! A product of at least [`PARALLEL_FLOPS`] flops (`2 m n k`), with `C`'s
//! elements at distinct addresses, is split over up to
//! [`PARTS_PER_THREAD`] times [`num_threads`] parts (at least
//! `PARALLEL_FLOPS / 2` flops each), claimed one at a time by the calling
//! thread and the workers of [`pool`]. A part is a block of whole columns
//! of `C` when `m <= n`, else a block of whole rows ([`split`]); the sum
//! over `k` is never split. Every element of `C` is computed by the same
//! sequence of floating-point operations whatever the part it falls in
//! and whatever the tile shape: the `KC` blocks of `k` are the same for
//! every part, each block's sum is a chain of multiply-adds from zero in
//! the order of `k`, and the blocks are added to `C` in order
//! (`alpha s + beta c` for the first, `alpha s + c` after). **Results are
//! therefore bitwise identical for any thread count**, and also when the
//! pool is busy with another thread's product and a call runs all its
//! parts itself. (Tested: `tests/kernel_threads.rs`, and per split in
//! this module's tests.)
//!
//! They are not identical across CPUs: on x86-64 with AVX2 and FMA, and on
//! aarch64, the multiply-adds are fused (one rounding); on other CPUs
//! they are a multiplication and an addition (two roundings). The choice
//! is made once per process, so it never differs between two calls.
//!
//! # Allocation
//! None per call in steady state: the packing buffers are per thread and
//! kept (grown the first time a thread packs a larger block), the pool's
//! job is two pointers under a `Mutex`. A thread's first product and the
//! first product that needs a new worker allocate.

#![deny(unsafe_op_in_unsafe_fn)]

mod block;
mod buffer;
mod micro;
mod pack;
mod pool;
#[cfg(test)]
mod tests;

use std::ops::{Add, Mul};

pub(crate) use pool::run as run_parts;
pub use pool::{num_threads, set_num_threads};

/// Products of fewer flops (`2 m n k`) run on the calling thread: waking a
/// worker costs some microseconds.
pub const PARALLEL_FLOPS: usize = 1 << 22;

/// Parts per thread of a split product. More parts than threads would let
/// a thread whose core is busy with other work (another process, a
/// virtual machine's neighbour) take fewer of them, at the price of
/// packing the shared operand once per part. Measured on the medium MLP
/// step's products at two threads, interleaved in one process: while the
/// second core was contended (two threads barely faster than one), 2, 3
/// and 4 parts per thread took 0.98-1.00, 0.95-0.99 and 0.94-0.98 of the
/// time of one; with the second core free (two threads 1.8x faster than
/// one), 2 and 3 took 1.00-1.03 and 1.04-1.11. One part per thread, for
/// the machine that is not shared.
pub const PARTS_PER_THREAD: usize = 1;

/// The element types of the kernel: `f32` and `f64`.
pub(crate) trait Element:
    Copy + PartialEq + Add<Output = Self> + Mul<Output = Self> + Send + Sync + 'static
{
    /// `0`.
    const ZERO: Self;
    /// `self * a + b` with one rounding; called only where the `fma` target
    /// feature is enabled (elsewhere it would be a slow library call).
    fn fused_mul_add(self, a: Self, b: Self) -> Self;
    /// Copies a 4 x 4 block transposed: `dst[q rd + i] = src[i rs + q]`
    /// for `i, q < 4` (packing with `k` contiguous). Plain copies by
    /// default; SSE shuffles for `f32` on x86-64, which LLVM does not find
    /// by itself.
    ///
    /// # Safety
    /// `src` holds the four rows of four at stride `rs`, `dst` the four at
    /// stride `rd`; they do not overlap.
    #[inline(always)]
    unsafe fn transpose4(src: *const Self, rs: usize, dst: *mut Self, rd: usize) {
        for q in 0..4 {
            for i in 0..4 {
                // SAFETY: the caller's contract.
                unsafe { *dst.add(q * rd + i) = *src.add(i * rs + q) };
            }
        }
    }
    /// The serial product on the CPU's best instantiation (see [`micro`]).
    ///
    /// # Safety
    /// As [`block::gemm_serial`].
    unsafe fn gemm_serial(p: &Problem<Self>);
}

impl Element for f32 {
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn fused_mul_add(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn transpose4(src: *const Self, rs: usize, dst: *mut Self, rd: usize) {
        // SSE is baseline on x86-64, so these need no runtime check.
        use std::arch::x86_64::{
            _mm_loadu_ps, _mm_movehl_ps, _mm_movelh_ps, _mm_storeu_ps, _mm_unpackhi_ps,
            _mm_unpacklo_ps,
        };
        // SAFETY: the caller's contract: four rows of four to read and to
        // write; unaligned loads and stores.
        unsafe {
            let r0 = _mm_loadu_ps(src);
            let r1 = _mm_loadu_ps(src.add(rs));
            let r2 = _mm_loadu_ps(src.add(2 * rs));
            let r3 = _mm_loadu_ps(src.add(3 * rs));
            // (r0[0] r1[0] r0[1] r1[1]), (r2[0] r3[0] r2[1] r3[1]), ...
            let t0 = _mm_unpacklo_ps(r0, r1);
            let t1 = _mm_unpacklo_ps(r2, r3);
            let t2 = _mm_unpackhi_ps(r0, r1);
            let t3 = _mm_unpackhi_ps(r2, r3);
            _mm_storeu_ps(dst, _mm_movelh_ps(t0, t1));
            _mm_storeu_ps(dst.add(rd), _mm_movehl_ps(t1, t0));
            _mm_storeu_ps(dst.add(2 * rd), _mm_movelh_ps(t2, t3));
            _mm_storeu_ps(dst.add(3 * rd), _mm_movehl_ps(t3, t2));
        }
    }
    #[inline]
    unsafe fn gemm_serial(p: &Problem<Self>) {
        // SAFETY: forwarded from the caller.
        unsafe { micro::dispatch::<f32, 6, 16, 4, 8>(p) }
    }
}

impl Element for f64 {
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn fused_mul_add(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn transpose4(src: *const Self, rs: usize, dst: *mut Self, rd: usize) {
        // SSE2 is baseline on x86-64. Four 2 x 2 blocks.
        use std::arch::x86_64::{_mm_loadu_pd, _mm_storeu_pd, _mm_unpackhi_pd, _mm_unpacklo_pd};
        for i in [0, 2] {
            for q in [0, 2] {
                // SAFETY: the caller's contract: rows i, i + 1 and steps
                // q, q + 1 of the four rows of four.
                unsafe {
                    let a = _mm_loadu_pd(src.add(i * rs + q));
                    let b = _mm_loadu_pd(src.add((i + 1) * rs + q));
                    _mm_storeu_pd(dst.add(q * rd + i), _mm_unpacklo_pd(a, b));
                    _mm_storeu_pd(dst.add((q + 1) * rd + i), _mm_unpackhi_pd(a, b));
                }
            }
        }
    }
    #[inline]
    unsafe fn gemm_serial(p: &Problem<Self>) {
        // SAFETY: forwarded from the caller.
        unsafe { micro::dispatch::<f64, 6, 8, 4, 4>(p) }
    }
}

/// One product, with raw pointers so that parts of it can be sent to other
/// threads: `C <- alpha A B + beta C`, `A` `m x k`, `B` `k x n`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Problem<T> {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub alpha: T,
    pub a: *const T,
    pub rsa: usize,
    pub csa: usize,
    pub b: *const T,
    pub rsb: usize,
    pub csb: usize,
    pub beta: T,
    pub c: *mut T,
    pub rsc: usize,
    pub csc: usize,
}

// SAFETY: a `Problem` is only shared between the threads of one `gemm`
// call, which blocks until all of them are done with it; they read `A` and
// `B` and write disjoint parts of `C` (see `split`).
unsafe impl<T: Sync> Sync for Problem<T> {}

impl<T: Element> Problem<T> {
    /// The sub-product on rows `r0..r1` and columns `c0..c1` of `C`.
    ///
    /// # Safety
    /// The ranges lie inside `m` and `n` and are not empty (so their starts
    /// are inside the operands).
    unsafe fn part(&self, (r0, r1): (usize, usize), (c0, c1): (usize, usize)) -> Self {
        // SAFETY: the offsets stay inside the operands (ranges inside m, n).
        unsafe {
            Problem {
                m: r1 - r0,
                n: c1 - c0,
                a: self.a.add(r0 * self.rsa),
                b: self.b.add(c0 * self.csb),
                c: self.c.add(r0 * self.rsc + c0 * self.csc),
                ..*self
            }
        }
    }
}

/// `C <- alpha A B + beta C`; with `beta = 0`, `C` is not read. The extents
/// of the slices were checked by the caller.
///
/// # Safety
/// The operands hold `m x k`, `k x n` and `m x n` elements at the strides
/// given; `C` aliases neither `A` nor `B`.
pub(crate) unsafe fn gemm<T: Element>(p: Problem<T>) {
    if p.m == 0 || p.n == 0 {
        return;
    }
    if p.k == 0 || p.alpha == T::ZERO {
        // SAFETY: as this function's contract.
        unsafe { scale(&p) };
        return;
    }
    let threads = num_threads();
    // Saturating: with zero strides the dimensions are not bounded by the
    // slices' lengths.
    let flops =
        p.m.saturating_mul(p.n)
            .saturating_mul(p.k)
            .saturating_mul(2);
    if threads < 2 || flops < PARALLEL_FLOPS || !disjoint_rows_and_columns(&p) {
        // SAFETY: as this function's contract.
        unsafe { T::gemm_serial(&p) };
        return;
    }
    let parts = (threads * PARTS_PER_THREAD)
        .min(flops / (PARALLEL_FLOPS / 2))
        .max(1);
    let run = |i: usize| {
        let (rows, cols) = split(p.m, p.n, parts, i);
        if rows.0 == rows.1 || cols.0 == cols.1 {
            // Nothing to do; and its offsets may lie past the operands.
            return;
        }
        // SAFETY: `split` gives ranges inside m and n, disjoint across
        // parts, and the rows and columns of C do not overlap in memory
        // (checked above), so the parts write disjoint elements.
        unsafe { T::gemm_serial(&p.part(rows, cols)) }
    };
    pool::run(parts, threads, &run);
}

/// The rows and columns of part `i` of `parts`: blocks of whole columns in
/// multiples of 16 (each part then repacks all of `A`, the smaller operand
/// when `m <= n`), else blocks of whole rows in multiples of 6 (each part
/// repacks all of `B`). The multiples keep the microkernel's tiles full.
pub(crate) fn split(
    m: usize,
    n: usize,
    parts: usize,
    i: usize,
) -> ((usize, usize), (usize, usize)) {
    let range = |len: usize, unit: usize| {
        let units = len.div_ceil(unit);
        let per = units.div_ceil(parts);
        let lo = (i * per * unit).min(len);
        let hi = ((i + 1) * per * unit).min(len);
        (lo, hi)
    };
    if m <= n {
        ((0, m), range(n, 16))
    } else {
        (range(m, 6), (0, n))
    }
}

/// Whether distinct elements of `C` are distinct memory (strides that do
/// not fold rows or columns onto each other), the condition for writing
/// parts of `C` from several threads.
fn disjoint_rows_and_columns<T>(p: &Problem<T>) -> bool {
    let (rs, cs) = (p.rsc, p.csc);
    (cs >= 1 && rs >= p.n.saturating_mul(cs)) || (rs >= 1 && cs >= p.m.saturating_mul(rs))
}

/// `C <- beta C` (`C <- 0` when `beta = 0`, without reading `C`).
///
/// # Safety
/// As [`gemm`].
unsafe fn scale<T: Element>(p: &Problem<T>) {
    for i in 0..p.m {
        for j in 0..p.n {
            // SAFETY: (i, j) is inside C.
            unsafe {
                let c = p.c.add(i * p.rsc + j * p.csc);
                *c = if p.beta == T::ZERO {
                    T::ZERO
                } else {
                    p.beta * *c
                };
            }
        }
    }
}
