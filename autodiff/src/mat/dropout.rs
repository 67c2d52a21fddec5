//! Inverted dropout: each entry is kept with probability `1 - p` and then
//! scaled by `1 / (1 - p)`, or zeroed (PyTorch's `nn.Dropout` in training
//! mode, so the expected value of every entry is unchanged).
//!
//! The mask is not stored: whether entry `k` is kept is a counter-based
//! draw from `(seed, k)` (a hash of the pair, as JAX draws from a key),
//! which the backward rule draws again. The same seed gives the same mask,
//! on any thread count.

use super::{Mat, MatStore, Op, Sink};
use crate::{Error, Float, Result};

/// The 32-bit golden-ratio increment (Weyl sequence over the entries).
const GOLDEN: u32 = 0x9E37_79B9;

/// The murmur3 32-bit finalizer: a bijection of `u32` whose output bits
/// each depend on every input bit.
#[inline(always)]
fn fmix32(mut z: u32) -> u32 {
    z = (z ^ (z >> 16)).wrapping_mul(0x85EB_CA6B);
    z = (z ^ (z >> 13)).wrapping_mul(0xC2B2_AE35);
    z ^ (z >> 16)
}

/// The key of the stream `seed`: splitmix64's output function, once per
/// mask. Keyed with the raw seed, the first round's input `k GOLDEN + seed`
/// makes the draws of two seeds with the same high half one sequence
/// shifted by `(t - s) / GOLDEN` entries mod 2^32: seeds 0 and 287,291
/// gave the same mask 6,765 entries apart, seeds `s` and `s + GOLDEN` one
/// entry apart. Mixed, nearby seeds get unrelated halves.
fn key(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Draw `k` of the stream keyed `key` (see [`key`]): the entry's Weyl
/// sequence value, keyed by the key's low half and mixed, then keyed by
/// its high half and mixed again. 32-bit multiplies, so the loops over a
/// matrix vectorise (AVX2 has no 64-bit multiply). Entries `k` and
/// `k + 2^32` share a draw.
#[inline(always)]
fn draw(key: u64, k: usize) -> u32 {
    let z = fmix32((k as u32).wrapping_mul(GOLDEN).wrapping_add(key as u32));
    fmix32(z ^ (key >> 32) as u32)
}

/// A dropout's keep test and scale: entry `k` is kept when its draw is at
/// least `threshold` (`p 2^32`), and then scaled by `1 / (1 - p)`.
#[derive(Clone, Copy)]
struct Mask<T> {
    key: u64,
    threshold: u32,
    scale: T,
}

impl<T: Float> Mask<T> {
    fn new(p: f64, seed: u64) -> Self {
        Mask {
            key: key(seed),
            // The product is exact (a power of two) and below 2^32 for
            // `p < 1`; `as` rounds it down, to `u32::MAX` for `p` within
            // 2^-32 of 1.
            threshold: (p * 2f64.powi(32)) as u32,
            scale: T::from_f64(1.0 / (1.0 - p)),
        }
    }

    /// The factor of entry `k`: `1 / (1 - p)` or 0.
    ///
    /// Without a branch: at the drop rates of training (0.1-0.5) a branch
    /// on the draw is mispredicted often, and would keep the loops from
    /// vectorising.
    #[inline(always)]
    fn factor(&self, k: usize) -> T {
        let kept = (draw(self.key, k) >= self.threshold) as u8;
        self.scale * T::from_f64(f64::from(kept))
    }
}

/// Checks a dropout's drop probability `p`: in `[0, 1)` (`p = 1` would
/// scale by `1 / 0`). [`Mat::try_dropout`] runs it; callers that take `p`
/// from a configuration can run it before recording anything.
///
/// ```
/// assert!(autodiff::mat::check_drop_probability(0.5).is_ok());
/// assert!(autodiff::mat::check_drop_probability(1.0).is_err());
/// assert!(autodiff::mat::check_drop_probability(f64::NAN).is_err());
/// ```
///
/// # Errors
/// [`Error::OutOfRange`] unless `0 <= p < 1`.
pub fn check_drop_probability(p: f64) -> Result<()> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::OutOfRange {
            what: "dropout: the drop probability p",
            value: p,
            range: "[0, 1)",
        })
    }
}

impl<'t, T: Float> Mat<'t, T> {
    /// Inverted dropout with drop probability `p` and mask seed `seed`:
    /// each entry is zeroed with probability `p`, the others are scaled by
    /// `1 / (1 - p)` (PyTorch's `nn.Dropout` in training mode). The mask
    /// is a function of `seed` and the entry's row-major index only:
    /// record it with a new seed for every step (and layer) of a training
    /// run, and leave dropout out at evaluation. `p = 0` is the identity.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::new();
    /// let x = tape.mat(Shape::new(1, 1000), &vec![1.0; 1000])?;
    /// let y = x.try_dropout(0.25, 7)?;
    /// let v = y.to_vec();
    /// // Kept entries are scaled by 1 / (1 - p); about a quarter are zero.
    /// assert!(v.iter().all(|&e| e == 0.0 || e == 1.0 / 0.75));
    /// let dropped = v.iter().filter(|&&e| e == 0.0).count();
    /// assert!((200..300).contains(&dropped));
    /// // The gradient goes through the kept entries, with the same scale.
    /// let g = tape.backward(y.sum());
    /// assert_eq!(&g[x], v.as_slice());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfRange`] unless `0 <= p < 1`.
    pub fn try_dropout(self, p: f64, seed: u64) -> Result<Mat<'t, T>> {
        check_drop_probability(p)?;
        let mask = Mask::<T>::new(p, seed);
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(self.shape().len());
        let (below, out) = st.split(off, self.shape().len());
        let xs = below.of(self);
        let len = xs.len();
        crate::par::chunks_mut(out, 16, len, |start, out| {
            let xs = &xs[start..start + out.len()];
            crate::simd::vectorized(|| {
                for (k, (y, &x)) in out.iter_mut().zip(xs).enumerate() {
                    *y = x * mask.factor(start + k);
                }
            })
        });
        let grad = self.requires_grad_in(&st);
        Ok(tape.record(
            &mut st,
            Op::Dropout {
                x: self.node(),
                p,
                seed,
            },
            off,
            self.shape(),
            grad,
        ))
    }

    /// [`try_dropout`](Self::try_dropout).
    ///
    /// # Panics
    /// Unless `0 <= p < 1`, with the error's message.
    #[track_caller]
    pub fn dropout(self, p: f64, seed: u64) -> Mat<'t, T> {
        super::or_panic(self.try_dropout(p, seed))
    }
}

/// `y = m x` for the mask `m`: `dx += m dy`.
pub(super) fn dropout_backward<T: Float>(
    st: &MatStore<T>,
    x: u32,
    (p, seed): (f64, u64),
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let mask = Mask::<T>::new(p, seed);
    if let Some(mut gx) = st.grad_of(x, out) {
        gx.update_from(gy, move |k, d| d * mask.factor(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_fraction_is_one_minus_p_and_draws_differ_by_seed() {
        let n = 100_000;
        for p in [0.1, 0.5, 0.9] {
            let m = Mask::<f64>::new(p, 3);
            let kept = (0..n).filter(|&k| m.factor(k) != 0.0).count() as f64 / n as f64;
            // Binomial standard deviation at most 0.0016: 5 sigma.
            assert!((kept - (1.0 - p)).abs() < 0.008, "p = {p}: kept {kept}");
        }
        // Seeds differing in either half, by one bit or by the increment.
        for (s, t) in [
            (1, 2),
            (1 << 32, 2 << 32),
            (7, 7 + GOLDEN as u64),
            (0, u64::MAX),
        ] {
            let (a, b) = (Mask::<f64>::new(0.5, s), Mask::<f64>::new(0.5, t));
            let same = (0..n).filter(|&k| a.factor(k) == b.factor(k)).count() as f64 / n as f64;
            assert!((same - 0.5).abs() < 0.008, "seeds {s}, {t} agree on {same}");
        }
        // Neighbouring entries, and entries a row apart for several row
        // lengths, independent: both kept (1 - p)^2 of the time.
        for (p, apart) in [(0.2, 1), (0.5, 1), (0.5, 16), (0.5, 100), (0.5, 1024)] {
            let m = Mask::<f64>::new(p, 11);
            let both = (0..n)
                .filter(|&k| m.factor(k) != 0.0 && m.factor(k + apart) != 0.0)
                .count() as f64
                / n as f64;
            let want = (1.0 - p) * (1.0 - p);
            assert!(
                (both - want).abs() < 0.008,
                "p = {p}, {apart} apart: both kept {both}, want {want}"
            );
        }
    }

    #[test]
    fn the_mixers_are_murmur3s_finalizer_and_splitmix64s_output() {
        // Reference values of murmur3's fmix32 and of splitmix64's first
        // output from state 0.
        let known = [
            (0, 0),
            (1, 0x514E_28B7),
            (0xDEAD_BEEF, 0x0DE5_C6A9),
            (u32::MAX, 0x81F1_6F39),
        ];
        for (z, want) in known {
            assert_eq!(fmix32(z), want, "fmix32({z:#x})");
        }
        assert_eq!(key(0), 0xE220_A839_7B1D_CDAF);
    }

    /// The fraction of `0..n` on which `a(k)` and `b(k + shift)` agree.
    fn agreement(a: &Mask<f64>, b: &Mask<f64>, shift: usize, n: usize) -> f64 {
        let same = (0..n).filter(|&k| a.factor(k) == b.factor(k + shift));
        same.count() as f64 / n as f64
    }

    #[test]
    fn seeds_one_bit_or_a_weyl_step_apart_give_unrelated_masks_at_any_shift() {
        let n = 20_000;
        // Binomial standard deviation 0.0035 at p = 1/2: 5 sigma.
        let unrelated = |s: u64, t: u64, shift: usize| {
            let (a, b) = (Mask::<f64>::new(0.5, s), Mask::<f64>::new(0.5, t));
            let same = agreement(&b, &a, shift, n);
            assert!(
                (same - 0.5).abs() < 0.018,
                "seeds {s:#x}, {t:#x} agree on {same} at shift {shift}"
            );
        };
        let s = 0x1234_5678_9ABC_DEF0;
        for bit in 0..64 {
            unrelated(s, s ^ (1 << bit), 0);
        }
        // Seeds whose difference is a multiple of the Weyl increment mod
        // 2^32 (t = s + c GOLDEN): keyed with the raw seed, mask t was
        // mask s shifted by c entries.
        unrelated(7, 7 + GOLDEN as u64, 1);
        unrelated(0, 287_291, 6_765);
        unrelated(0, 11_703, 75_025);
    }

    #[test]
    fn the_threshold_rounds_p_2_32_down_and_the_keep_test_includes_it() {
        let t = |p: f64| Mask::<f64>::new(p, 0).threshold;
        assert_eq!(t(0.0), 0);
        assert_eq!(t(2f64.powi(-33)), 0);
        assert_eq!(t(0.1), 429_496_729); // 0.1 2^32 = 429,496,729.6
        assert_eq!(t(0.5), 1 << 31);
        assert_eq!(t(1.0 - 2f64.powi(-32)), u32::MAX);
        assert_eq!(t(1.0 - 2f64.powi(-53)), u32::MAX);
        // Draw 0 (key 0, entry 0: fmix32(0) = 0) is kept at p = 0, and
        // draw u32::MAX (high half fmix32^-1(u32::MAX)) at the largest p.
        let mask = |key, threshold| Mask {
            key,
            threshold,
            scale: 2.0,
        };
        assert_eq!(draw(0, 0), 0);
        assert_eq!(mask(0, 0).factor(0), 2.0);
        let top = 0x331D_A083 << 32;
        assert_eq!(draw(top, 0), u32::MAX);
        assert_eq!(mask(top, u32::MAX).factor(0), 2.0);
        assert_eq!(mask(top, u32::MAX).factor(1), 0.0);
    }

    #[test]
    fn p_zero_keeps_everything_and_p_outside_zero_one_is_refused() {
        let m = Mask::<f32>::new(0.0, 9);
        assert!((0..10_000).all(|k| m.factor(k) == 1.0));
        for p in [-0.1, 1.0, f64::NAN] {
            assert!(check_drop_probability(p).is_err(), "{p}");
        }
    }
}
