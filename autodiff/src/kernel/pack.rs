//! Packing: a block of `A` into panels of `MR` rows, a block of `B` into
//! panels of `NR` columns, each panel stored `k`-major so that the
//! microkernel reads it with unit stride.
//!
//! Both are the same operation: `len` lanes (rows of `A`, columns of `B`)
//! of `kc` elements each, lane `l`, step `p` at `src[l ls + p ks]`, copied to
//! panels of `R` lanes where element `(p, l)` of panel `q` lands at
//! `dst[q R kc + p R + l]`. A last panel of fewer than `R` lanes is padded
//! with zeros, so the microkernel never needs a special case.

use super::Element;

/// Packs `len` lanes of `kc` steps into panels of `R` lanes (see the
/// module doc); writes `len.div_ceil(R) * R * kc` elements of `dst`.
///
/// # Safety
/// `src` holds the elements `l ls + p ks` for `l < len`, `p < kc`; `dst`
/// has room for the packed panels and does not overlap `src`.
#[inline(always)]
pub(super) unsafe fn pack<T: Element, const R: usize>(
    len: usize,
    kc: usize,
    src: *const T,
    ls: usize,
    ks: usize,
    dst: *mut T,
) {
    let mut dst = dst;
    for q0 in (0..len).step_by(R) {
        let width = R.min(len - q0);
        // SAFETY (whole block): every read is `l ls + p ks` with `l < len`
        // (counting the offset `q0 ls`) and `p < kc`; every write is below
        // `R kc` from this panel's start, inside the room of the contract.
        unsafe {
            let s = src.add(q0 * ls);
            if width == R && ls == 1 {
                // Lanes contiguous (a transposed A, a row-major B): copy R
                // elements per step.
                for p in 0..kc {
                    let row = s.add(p * ks).cast::<[T; R]>().read_unaligned();
                    dst.add(p * R).cast::<[T; R]>().write_unaligned(row);
                }
            } else if width == R && ks == 1 {
                // Steps contiguous (a row-major A, a transposed B): read
                // each lane along k, write with stride R (inside L1).
                // 4 x 4 blocks (4 steps of 4 lanes in, 4 packed rows of 4
                // lanes out, `Element::transpose4`); the lanes past a
                // multiple of 4 and the last steps one by one.
                let mut p = 0;
                while p + 4 <= kc {
                    for g in (0..R / 4 * 4).step_by(4) {
                        T::transpose4(s.add(g * ls + p), ls, dst.add(p * R + g), R);
                    }
                    for q in p..p + 4 {
                        for l in R / 4 * 4..R {
                            *dst.add(q * R + l) = *s.add(l * ls + q);
                        }
                    }
                    p += 4;
                }
                for p in p..kc {
                    for l in 0..R {
                        *dst.add(p * R + l) = *s.add(l * ls + p);
                    }
                }
            } else {
                for p in 0..kc {
                    for l in 0..R {
                        *dst.add(p * R + l) = if l < width {
                            *s.add(l * ls + p * ks)
                        } else {
                            T::ZERO
                        };
                    }
                }
            }
            dst = dst.add(R * kc);
        }
    }
}
