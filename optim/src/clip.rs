//! Gradient norm clipping (PyTorch's `clip_grad_norm_`), applied to the
//! gradient before an optimizer's step.

use crate::{Error, Float, Result};

/// The Euclidean norm of `grads`, accumulated in `f64` (and rescaled where
/// the squares of `f64` entries would overflow or underflow, so any finite
/// gradient has a finite norm unless the norm itself exceeds `f64::MAX`,
/// and a nonzero one a nonzero norm).
///
/// ```
/// assert_eq!(optim::grad_norm(&[3.0f32, 4.0]).unwrap(), 5.0);
/// let huge = optim::grad_norm(&[3e200, 4e200]).unwrap();
/// assert!((huge / 5e200 - 1.0).abs() < 1e-15);
/// ```
///
/// # Errors
/// [`Error::NonFiniteGradient`] (naming the first NaN or infinite entry).
pub fn grad_norm<T: Float>(grads: &[T]) -> Result<f64> {
    norm(grads, "grad_norm")
}

/// [`grad_norm`], its error naming `caller`.
fn norm<T: Float>(grads: &[T], caller: &'static str) -> Result<f64> {
    let mut sum = 0.0;
    for (index, &g) in grads.iter().enumerate() {
        let g = g.to_f64();
        if !g.is_finite() {
            return Err(Error::NonFiniteGradient {
                optimizer: caller,
                index,
                value: g,
            });
        }
        sum += g * g;
    }
    // Squares of entries below about 1e-154 underflow (to 0 or to
    // subnormals that lost digits), above about 1e154 overflow: in either
    // case scale by the largest entry (BLAS nrm2's fix).
    if sum.is_finite() && sum >= f64::MIN_POSITIVE {
        return Ok(sum.sqrt());
    }
    let big = grads.iter().map(|g| g.to_f64().abs()).fold(0.0, f64::max);
    if big == 0.0 {
        return Ok(0.0); // all zero
    }
    let scaled: f64 = grads.iter().map(|g| (g.to_f64() / big).powi(2)).sum();
    Ok(big * scaled.sqrt())
}

/// Scales `grads` in place so that their Euclidean norm is at most
/// `max_norm`, and returns their norm before clipping (as PyTorch's
/// `torch.nn.utils.clip_grad_norm_` does). A gradient within the bound is
/// left bitwise unchanged; a longer one is multiplied by `max_norm / norm`,
/// so its direction is kept and its norm becomes `max_norm` up to the
/// rounding of `T` (PyTorch divides by `norm + 1e-6` instead, which leaves
/// the norm slightly below `max_norm`).
///
/// Clipping bounds the length of a step whatever the curvature, which
/// keeps the first steps of a badly scaled problem, or a rare batch with a
/// huge gradient, from throwing the parameters far away.
///
/// ```
/// let mut g = [6.0f64, 8.0];
/// let norm = optim::clip_grad_norm(&mut g, 5.0).unwrap();
/// assert_eq!(norm, 10.0);
/// assert_eq!(g, [3.0, 4.0]);
/// // Within the bound: untouched.
/// assert_eq!(optim::clip_grad_norm(&mut g, 7.0).unwrap(), 5.0);
/// assert_eq!(g, [3.0, 4.0]);
/// ```
///
/// # Errors
/// Checked before anything is modified:
/// [`Error::InvalidHyperparameter`] unless `max_norm` is finite and `> 0`;
/// [`Error::NonFiniteGradient`] if an entry is NaN or infinite (its norm
/// has no meaning, and scaling would spread the NaN to every entry).
pub fn clip_grad_norm<T: Float>(grads: &mut [T], max_norm: f64) -> Result<f64> {
    if !(max_norm.is_finite() && max_norm > 0.0) {
        return Err(Error::InvalidHyperparameter {
            optimizer: "clip_grad_norm",
            parameter: "max_norm",
            expected: "finite and > 0",
            got: max_norm,
        });
    }
    let norm = norm(grads, "clip_grad_norm")?;
    if norm > max_norm {
        let c = T::from_f64(max_norm / norm);
        grads.iter_mut().for_each(|g| *g *= c);
    }
    Ok(norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_gradient_has_the_bound_as_norm_and_keeps_its_direction() {
        let g0 = [1.0f64, -2.0, 2.0, 0.5];
        let mut g = g0;
        let norm = clip_grad_norm(&mut g, 0.3).unwrap();
        assert_eq!(norm, (1.0f64 + 4.0 + 4.0 + 0.25).sqrt());
        assert!((grad_norm(&g).unwrap() - 0.3).abs() < 1e-15);
        for (a, b) in g.iter().zip(&g0) {
            assert!((a / b - 0.3 / norm).abs() < 1e-15);
        }
    }

    #[test]
    fn gradient_within_the_bound_is_bitwise_unchanged() {
        let g0 = [0.1f32, -0.2, 0.3];
        let mut g = g0;
        let norm = clip_grad_norm(&mut g, 1.0).unwrap();
        assert!((norm - 0.14f64.sqrt()).abs() < 1e-7);
        assert_eq!(g, g0);
        // Exactly at the bound: unchanged too.
        let mut h = [3.0f32, 4.0];
        assert_eq!(clip_grad_norm(&mut h, 5.0).unwrap(), 5.0);
        assert_eq!(h, [3.0, 4.0]);
    }

    #[test]
    fn f32_clipping_lands_on_the_bound_to_f32_rounding() {
        let mut g: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin() * 50.0).collect();
        clip_grad_norm(&mut g, 2.5).unwrap();
        assert!((grad_norm(&g).unwrap() - 2.5).abs() < 2.5 * 1e-6);
    }

    #[test]
    fn norm_of_huge_f64_entries_does_not_overflow() {
        let mut g = [3e200f64, -4e200];
        let norm = grad_norm(&g).unwrap();
        assert!((norm / 5e200 - 1.0).abs() < 1e-15, "{norm}");
        assert_eq!(clip_grad_norm(&mut g, 10.0).unwrap(), norm);
        assert!(
            (g[0] - 6.0).abs() < 1e-14 && (g[1] + 8.0).abs() < 1e-14,
            "{g:?}"
        );
    }

    #[test]
    fn norm_of_tiny_f64_entries_does_not_underflow_to_zero() {
        // Their squares (1e-400) are below f64's range: the norm is still
        // 5e-200, and a bound below it still clips.
        let mut g = [3e-200f64, -4e-200];
        let norm = grad_norm(&g).unwrap();
        assert!((norm / 5e-200 - 1.0).abs() < 1e-15, "{norm}");
        assert_eq!(clip_grad_norm(&mut g, 1e-250).unwrap(), norm);
        let clipped = grad_norm(&g).unwrap();
        assert!((clipped / 1e-250 - 1.0).abs() < 1e-14, "{clipped}");
    }

    #[test]
    fn norm_is_accurate_where_the_squares_are_subnormal() {
        // 9e-320 and 1.6e-319 are subnormal: their sum keeps about 5
        // digits, and its root would be off by about 1e-5 relative.
        let g = [3e-160f64, -4e-160];
        let norm = grad_norm(&g).unwrap();
        assert!((norm / 5e-160 - 1.0).abs() < 1e-15, "{norm}");
    }

    #[test]
    fn norm_is_homogeneous_under_powers_of_two_across_the_range() {
        // Scaling by 2^k is exact on the entries, so it is on the norm too,
        // to rounding, from the subnormal squares to the overflowing ones.
        let g = [0.3f64, -1.7, 2.9, 0.05];
        let base = grad_norm(&g).unwrap();
        for k in (-1000..=1000).step_by(25) {
            let s = 2f64.powi(k);
            let scaled: Vec<f64> = g.iter().map(|x| x * s).collect();
            let norm = grad_norm(&scaled).unwrap();
            assert!(
                (norm / (base * s) - 1.0).abs() < 4.0 * f64::EPSILON,
                "2^{k}: {norm:e}"
            );
        }
    }

    #[test]
    fn non_finite_entry_is_an_error_naming_it_and_nothing_is_modified() {
        let g0 = [1.0f64, f64::NAN, f64::INFINITY];
        let mut g = g0;
        let e = clip_grad_norm(&mut g, 1.0).unwrap_err();
        assert!(
            matches!(e, Error::NonFiniteGradient { index: 1, .. }),
            "{e}"
        );
        assert_eq!(g[0], 1.0);
        assert!(g[1].is_nan() && g[2] == f64::INFINITY);
        assert_eq!(
            e.to_string(),
            "clip_grad_norm: gradient entry 1 is not finite (NaN)"
        );
        let e = grad_norm(&[0.0f32, f32::NEG_INFINITY]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "grad_norm: gradient entry 1 is not finite (-inf)"
        );
    }

    #[test]
    fn max_norm_must_be_finite_and_positive() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut g = [1.0f64];
            let e = clip_grad_norm(&mut g, bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidHyperparameter {
                        parameter: "max_norm",
                        ..
                    }
                ),
                "{bad}: {e}"
            );
            assert_eq!(g, [1.0]);
        }
    }

    #[test]
    fn empty_gradient_has_norm_zero() {
        let mut g: [f64; 0] = [];
        assert_eq!(clip_grad_norm(&mut g, 1.0).unwrap(), 0.0);
    }
}
