//! The blocked loops around the microkernel, and the block sizes.
//!
//! `KC` steps of `k` per packed block keep a `B` panel (`KC x NR`, 32 KiB
//! in f32 at NR = 16 and in f64 at NR = 8) in L1 while the microkernel
//! sweeps the `A` panels; the packed `A` block (`MC x KC`, about 168 KiB)
//! stays in L2; the packed `B` block (`KC x NC`) in L3. They are upper
//! bounds: a dimension is cut into the fewest blocks of equal size
//! ([`even_block`]).
//!
//! `KC = 512` rather than BLIS's 256 for Haswell: half as many passes over
//! `C` (each block of `k` after the first reads and writes it back). On
//! the products of the medium MLP step and on 512^3 and 1024^3, measured
//! interleaved in one process on Zen 3 (AVX2 + FMA, 1 MiB L2), it took
//! 0.90-0.96x the time of `KC = 256` in f32 and 0.88-0.91x in f64, at one
//! and at two threads; with `MC` shrunk to keep the `A` block at 168 KiB,
//! which measured as well as or better than a taller block.

use super::micro::{tile, MulAdd};
use super::pack::pack;
use super::{buffer, Element, Problem};

/// Steps of `k` per block.
const KC: usize = 512;
/// Columns of `C` per packed `B` block.
const NC: usize = 4080;

/// Rows of `C` per packed `A` block: about 168 KiB of `A` (84 rows in f32,
/// 36 in f64), a multiple of 12 (so of both tile heights).
const fn mc<T>() -> usize {
    let rows = 168 * 1024 / (KC * std::mem::size_of::<T>()) / 12 * 12;
    if rows < 12 {
        12
    } else {
        rows
    }
}

/// The block size for `len` elements in blocks of at most about `max`: the
/// fewest blocks, of equal sizes rounded up to a multiple of `unit`.
fn even_block(len: usize, max: usize, unit: usize) -> usize {
    let blocks = len.div_ceil(max).max(1);
    len.div_ceil(blocks).div_ceil(unit) * unit
}

/// `C <- alpha A B + beta C` on the calling thread, with `MR x NR` tiles
/// and the multiply-add `M`; nothing when `m`, `n` or `k` is 0.
///
/// # Safety
/// The operands hold `m x k`, `k x n` and `m x n` elements at the strides
/// given; `C` aliases neither `A` nor `B`; the elements of `C` this call
/// writes are not accessed by another thread meanwhile.
#[inline(always)]
pub(super) unsafe fn gemm_serial<T: Element, M: MulAdd, const MR: usize, const NR: usize>(
    p: &Problem<T>,
) {
    let Problem {
        m,
        k,
        n,
        alpha,
        a,
        rsa,
        csa,
        b,
        rsb,
        csb,
        beta,
        c,
        rsc,
        csc,
    } = *p;
    if m == 0 || n == 0 || k == 0 {
        return; // an empty part of a split (k = 0 is handled by the caller)
    }
    // Blocks of even sizes (784 = 4 x 196 rather than 3 x 256 + 16; 512
    // rows as 4 x 132 rather than 3 x 168 + 8): no thin last block that
    // streams a whole packed operand for a few rows or steps. The blocks of
    // k depend on k alone, so they are the same for every part of a split.
    let kb = even_block(k, KC, 1);
    let mb = even_block(m, mc::<T>(), MR);
    let nb = even_block(n, NC, NR);
    let (mc_max, kc_max, nc_max) = (mb, kb, nb.div_ceil(NR) * NR);
    // SAFETY: the kernel calls `acquire` nowhere else on this thread until
    // this call returns, so the areas stay valid throughout.
    let (pa, pb) = unsafe { buffer::acquire::<T>(mc_max * kc_max, kc_max * nc_max) };
    for jc in (0..n).step_by(nb) {
        let nc = nb.min(n - jc);
        for pc in (0..k).step_by(kb) {
            let kc = kb.min(k - pc);
            let first = pc == 0;
            // SAFETY: the block of B at (pc, jc) of kc x nc lies inside B;
            // the area holds kc x nc rounded up to NR.
            unsafe { pack::<T, NR>(nc, kc, b.add(pc * rsb + jc * csb), csb, rsb, pb) };
            for ic in (0..m).step_by(mb) {
                let mc = mb.min(m - ic);
                // SAFETY: the block of A at (ic, pc) lies inside A; the
                // area holds mc x kc rounded up to MR.
                unsafe { pack::<T, MR>(mc, kc, a.add(ic * rsa + pc * csa), rsa, csa, pa) };
                for jr in (0..nc).step_by(NR) {
                    let nr = NR.min(nc - jr);
                    for ir in (0..mc).step_by(MR) {
                        let mr = MR.min(mc - ir);
                        // SAFETY: panels ir / MR and jr / NR of the packed
                        // blocks; the tile at (ic + ir, jc + jr) of mr x nr
                        // lies inside C.
                        unsafe {
                            let acc = tile::<T, M, MR, NR>(kc, pa.add(ir * kc), pb.add(jr * kc));
                            let cp = c.add((ic + ir) * rsc + (jc + jr) * csc);
                            store(&acc, mr, nr, alpha, beta, first, cp, rsc, csc);
                        }
                    }
                }
            }
        }
    }
}

/// Adds a tile to `C`: on the first block of `k`, `C <- alpha acc + beta C`
/// (`alpha acc` when `beta = 0`, without reading `C`); on later blocks,
/// `C <- alpha acc + C`. Only the `mr x nr` corner is written.
///
/// # Safety
/// `c` is the top left of an `mr x nr` tile of `C` at strides `rsc, csc`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn store<T: Element, const MR: usize, const NR: usize>(
    acc: &[[T; NR]; MR],
    mr: usize,
    nr: usize,
    alpha: T,
    beta: T,
    first: bool,
    c: *mut T,
    rsc: usize,
    csc: usize,
) {
    if mr == MR && nr == NR && csc == 1 {
        // A full tile on contiguous rows: whole rows as arrays, which LLVM
        // turns into vector loads and stores.
        // No closures here: a closure is not guaranteed to be compiled with
        // its caller's target features.
        for (i, acc) in acc.iter().enumerate() {
            // SAFETY: row i < MR of the full tile, NR contiguous elements.
            let row = unsafe { c.add(i * rsc) }.cast::<[T; NR]>();
            let mut out = [T::ZERO; NR];
            for j in 0..NR {
                out[j] = alpha * acc[j];
            }
            if !first {
                // SAFETY: as above.
                let old = unsafe { row.read_unaligned() };
                for j in 0..NR {
                    out[j] = out[j] + old[j];
                }
            } else if beta != T::ZERO {
                // SAFETY: as above.
                let old = unsafe { row.read_unaligned() };
                for j in 0..NR {
                    out[j] = out[j] + beta * old[j];
                }
            }
            // SAFETY: as above.
            unsafe { row.write_unaligned(out) };
        }
    } else {
        for (i, row) in acc.iter().enumerate().take(mr) {
            for (j, &x) in row.iter().enumerate().take(nr) {
                // SAFETY: (i, j) inside the mr x nr tile.
                unsafe { update(x, c.add(i * rsc + j * csc), alpha, beta, first) };
            }
        }
    }
}

/// One element of [`store`] (a function, not a closure: a closure is not
/// guaranteed to be compiled with its caller's target features). The same
/// operations, in the same order, as the full-tile path of [`store`], so an
/// element's value does not depend on whether its tile is full (which
/// changes with the split over threads).
///
/// # Safety
/// `old` points to an element of `C`.
#[inline(always)]
unsafe fn update<T: Element>(x: T, old: *mut T, alpha: T, beta: T, first: bool) {
    // SAFETY: the caller's contract.
    unsafe {
        *old = if !first {
            alpha * x + *old
        } else if beta == T::ZERO {
            alpha * x
        } else {
            alpha * x + beta * *old
        };
    }
}
