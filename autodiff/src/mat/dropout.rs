//! Inverted dropout: each entry is kept with probability `1 - p` and then
//! scaled by `1 / (1 - p)`, or zeroed (PyTorch's `nn.Dropout` in training
//! mode, so the expected value of every entry is unchanged).
//!
//! The mask is not stored: whether entry `k` is kept is a counter-based
//! draw from `(seed, k)` (the splitmix64 output function, as JAX draws from
//! a key), which the backward rule draws again. The same seed gives the
//! same mask, on any thread count.

use super::{Mat, MatStore, Op, Sink};
use crate::{Error, Float, Result};

/// The golden-ratio increment of splitmix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Draw `k` of the stream `seed`: splitmix64's `k + 1`-th output.
fn draw(seed: u64, k: usize) -> u64 {
    let mut z = seed.wrapping_add((k as u64).wrapping_add(1).wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A dropout's keep test and scale: entry `k` is kept when its draw is at
/// least `threshold` (`p 2^64`), and then scaled by `1 / (1 - p)`.
#[derive(Clone, Copy)]
struct Mask<T> {
    seed: u64,
    threshold: u64,
    scale: T,
}

impl<T: Float> Mask<T> {
    fn new(p: f64, seed: u64) -> Self {
        Mask {
            seed,
            // `as` rounds down, and saturates at `u64::MAX` where `p` is
            // so close to 1 that the product rounds up to 2^64.
            threshold: (p * 2f64.powi(64)) as u64,
            scale: T::from_f64(1.0 / (1.0 - p)),
        }
    }

    /// The factor of entry `k`: `1 / (1 - p)` or 0.
    #[inline]
    fn factor(&self, k: usize) -> T {
        if draw(self.seed, k) >= self.threshold {
            self.scale
        } else {
            T::zero()
        }
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
        for (k, (y, &x)) in out.iter_mut().zip(below.of(self)).enumerate() {
            *y = x * mask.factor(k);
        }
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
        gx.update(|k| gy[k] * mask.factor(k));
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
        let (a, b) = (Mask::<f64>::new(0.5, 1), Mask::<f64>::new(0.5, 2));
        let same = (0..n).filter(|&k| a.factor(k) == b.factor(k)).count() as f64 / n as f64;
        assert!((same - 0.5).abs() < 0.008, "two seeds agree on {same}");
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
