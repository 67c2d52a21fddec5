//! RMSprop as PyTorch's `torch.optim.RMSprop` computes it.

use crate::decay_mask::{check_fits, for_each_segment};
use crate::optimizer::{
    check_squares, check_step, decay_rate, ensure_len, export_state, flag, l2_term, non_negative,
    positive, positive_in, step_size, take_buffer_list, with_l2, Settings,
};
use crate::{DecayMask, Float, Optimizer, OptimizerState, Result};

/// RMSprop (Hinton's Coursera lecture 6e; the centered form of Graves 2013,
/// arXiv:1308.0850), exactly as PyTorch's `torch.optim.RMSprop`: a running
/// mean of squared gradients scales each coordinate's step.
///
/// ```text
/// g_t     = grad J(theta_{t-1}) + lambda theta_{t-1}      (only if lambda != 0)
/// v_t     = alpha v_{t-1} + (1 - alpha) g_t^2
/// a_t     = alpha a_{t-1} + (1 - alpha) g_t               (centered only)
/// s_t     = sqrt(v_t) + eps,  or sqrt(v_t - a_t^2) + eps  (centered)
/// b_t     = mu b_{t-1} + g_t / s_t                        (only if mu > 0)
/// theta_t = theta_{t-1} - lr b_t,  or - lr g_t / s_t      (mu = 0)
/// ```
///
/// `v_0 = a_0 = b_0 = 0`: there is no bias correction (unlike Adam), so the
/// first steps are larger than `lr` (the first is `lr / sqrt(1 - alpha)`
/// per coordinate with `eps` aside: 10 lr at `alpha = 0.99`). Evaluated as
/// PyTorch does, in its order of operations (`a_t` as its `lerp`); the
/// states export under PyTorch's names `square_avg`, `grad_avg` and
/// `momentum_buffer`, each present only when used.
///
/// One difference: in the centered form, where rounding makes
/// `v_t - a_t^2` negative (it is a variance, `>= 0` in exact arithmetic),
/// PyTorch's square root is NaN and so become the parameters; here it is
/// taken as 0.
///
/// Defaults (PyTorch's): `lr = 1e-2`, `alpha = 0.99`, `eps = 1e-8`,
/// `mu = 0` (`momentum`), not centered, `lambda = 0` (`weight_decay`).
/// Not a method of the seed's chapter: no energy ([`Optimizer::energy`] is
/// `None`).
///
/// ```
/// use optim::{Optimizer, RmsProp};
/// let mut opt = RmsProp::new(0.01)?.with_momentum(0.9)?;
/// let mut w = [1.0f64];
/// opt.step(&mut w, &[2.0])?;
/// // v = 0.01 * 4, b = 2 / (sqrt(0.04) + 1e-8): 10 times lr.
/// assert!((w[0] - (1.0 - 0.1)).abs() < 1e-8);
/// # Ok::<(), optim::Error>(())
/// ```
#[doc(alias = "RMSprop")]
#[derive(Debug, Clone, PartialEq)]
pub struct RmsProp<T> {
    /// Learning rate `lr > 0`.
    lr: f64,
    /// Smoothing constant `alpha` in `[0, 1)`.
    alpha: f64,
    /// `eps > 0`, added to the root.
    eps: f64,
    /// Momentum factor `mu` in `[0, 1)`.
    momentum: f64,
    centered: bool,
    /// L2 penalty `lambda >= 0`, added to the gradient.
    weight_decay: f64,
    /// The entries `lambda` applies to; all without a mask.
    decay_mask: Option<DecayMask>,
    /// `v`, then (when used) `a` and `b`; each empty before the first step.
    square_avg: Vec<T>,
    grad_avg: Vec<T>,
    momentum_buffer: Vec<T>,
    steps: u64,
}

impl<T: Float> Default for RmsProp<T> {
    /// PyTorch's defaults: `lr = 1e-2`, `alpha = 0.99`, `eps = 1e-8`, no
    /// momentum, not centered, no weight decay.
    fn default() -> Self {
        Self {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            centered: false,
            weight_decay: 0.0,
            decay_mask: None,
            square_avg: Vec::new(),
            grad_avg: Vec::new(),
            momentum_buffer: Vec::new(),
            steps: 0,
        }
    }
}

impl<T: Float> RmsProp<T> {
    const NAME: &'static str = "rmsprop";

    /// RMSprop with learning rate `lr` and PyTorch's other defaults.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `lr` is finite and
    /// `> 0`.
    pub fn new(lr: f64) -> Result<Self> {
        Ok(Self {
            lr: positive(Self::NAME, "lr", lr)?,
            ..Self::default()
        })
    }

    /// Sets the smoothing constant `alpha` of the mean of squares.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `alpha` is in
    /// `[0, 1)` (PyTorch admits any `alpha >= 0`; from 1 on, `v` never
    /// learns the gradient's scale).
    pub fn with_alpha(mut self, alpha: f64) -> Result<Self> {
        self.alpha = decay_rate(Self::NAME, "alpha", alpha)?;
        Ok(self)
    }

    /// Sets `eps`, added to the root of the mean of squares.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `eps` is finite and
    /// `> 0`, also as a `T`.
    pub fn with_eps(mut self, eps: f64) -> Result<Self> {
        self.eps = positive_in::<T>(Self::NAME, "eps", eps)?;
        Ok(self)
    }

    /// Sets the momentum factor `mu` (PyTorch's `momentum`); 0 keeps no
    /// buffer.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `mu` is in `[0, 1)`
    /// (PyTorch admits any `mu >= 0`; from 1 on the steps grow without
    /// bound).
    pub fn with_momentum(mut self, mu: f64) -> Result<Self> {
        self.momentum = decay_rate(Self::NAME, "momentum", mu)?;
        Ok(self)
    }

    /// Whether to divide by the root of the gradient's running *variance*
    /// `v - a^2` instead of its mean square `v` (PyTorch's `centered`).
    pub fn with_centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }

    /// Sets the L2 weight decay `lambda`, added to the gradient before the
    /// means (PyTorch's `weight_decay`).
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `lambda` is finite
    /// and `>= 0`.
    pub fn with_weight_decay(mut self, lambda: f64) -> Result<Self> {
        self.weight_decay = non_negative(Self::NAME, "weight_decay", lambda)?;
        Ok(self)
    }

    /// Limits the L2 weight decay to the entries of `mask` (the others step
    /// as with `lambda = 0`). Checked against the parameters' length at each
    /// step.
    pub fn with_decay_mask(mut self, mask: DecayMask) -> Self {
        self.decay_mask = Some(mask);
        self
    }

    /// The running mean of squared gradients `v` (empty before the first
    /// step).
    pub fn square_avg(&self) -> &[T] {
        &self.square_avg
    }

    /// The L2 term's coefficient: none when it is 0, as PyTorch skips the
    /// term then (which keeps -0.0 gradients).
    fn l2(&self) -> Option<T> {
        l2_term(self.weight_decay)
    }

    /// The state buffers in use, in the order of the state: `square_avg`,
    /// then `grad_avg` if centered, `momentum_buffer` if `mu > 0`.
    fn buffer_names(&self) -> Vec<&'static str> {
        let mut names = vec!["square_avg"];
        if self.centered {
            names.push("grad_avg");
        }
        if self.momentum > 0.0 {
            names.push("momentum_buffer");
        }
        names
    }

    /// PyTorch's names: `alpha`, `eps`, `momentum`, `centered` (a flag),
    /// `weight_decay`, then the decay mask's, if any.
    fn settings(&self) -> Settings {
        let mut s = vec![
            ("alpha", self.alpha),
            ("eps", self.eps),
            ("momentum", self.momentum),
            ("centered", flag(self.centered)),
            ("weight_decay", self.weight_decay),
        ];
        s.extend(self.decay_mask.iter().flat_map(DecayMask::settings));
        s
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        self.check(params, grads)?;
        let n = params.len();
        let lr = T::from_f64(self.lr);
        let (alpha, one_minus_alpha) = (T::from_f64(self.alpha), T::from_f64(1.0 - self.alpha));
        let (eps, mu) = (T::from_f64(self.eps), T::from_f64(self.momentum));
        let l2 = self.l2();
        // PyTorch's `lerp(a, g, w)` with `w = 1 - alpha`, in its two forms.
        // (Compared in `T`, as PyTorch compares the weight in the tensor's
        // type.)
        let small_weight = one_minus_alpha < T::from_f64(0.5);
        let lerp = move |a: T, g: T| {
            if small_weight {
                a + one_minus_alpha * (g - a)
            } else {
                g - (g - a) * (T::ONE - one_minus_alpha)
            }
        };
        let (centered, momentum) = (self.centered, self.momentum > 0.0);
        ensure_len(&mut self.square_avg, n, T::ZERO);
        if centered {
            ensure_len(&mut self.grad_avg, n, T::ZERO);
        }
        if momentum {
            ensure_len(&mut self.momentum_buffer, n, T::ZERO);
        }
        let (sq, ga, buf) = (
            &mut self.square_avg,
            &mut self.grad_avg,
            &mut self.momentum_buffer,
        );
        for_each_segment(self.decay_mask.as_ref(), n, |r, masked_in| {
            let l2 = if masked_in { l2 } else { None };
            for k in r {
                let g = with_l2(grads[k], params[k], l2);
                let v = alpha * sq[k] + one_minus_alpha * g * g;
                sq[k] = v;
                let var = if centered {
                    let a = lerp(ga[k], g);
                    ga[k] = a;
                    // A variance: negative only by rounding (PyTorch: NaN).
                    let d = v - a * a;
                    if d > T::ZERO {
                        d
                    } else {
                        T::ZERO
                    }
                } else {
                    v
                };
                let s = var.sqrt() + eps;
                if momentum {
                    buf[k] = mu * buf[k] + g / s;
                    params[k] -= lr * buf[k];
                } else {
                    params[k] -= lr * g / s;
                }
            }
        });
        self.steps += 1;
        Ok(())
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        check_step(
            Self::NAME,
            self.steps,
            params,
            grads,
            Some(self.square_avg.len()),
        )?;
        check_fits(Self::NAME, self.decay_mask.as_ref(), params.len())?;
        let (alpha, one_minus_alpha) = (T::from_f64(self.alpha), T::from_f64(1.0 - self.alpha));
        check_squares(
            Self::NAME,
            self.decay_mask.as_ref(),
            params,
            grads,
            self.l2(),
            &self.square_avg,
            |v, g| alpha * v + one_minus_alpha * g * g,
        )
    }

    fn reset(&mut self) {
        self.square_avg.clear();
        self.grad_avg.clear();
        self.momentum_buffer.clear();
        self.steps = 0;
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        self.lr = step_size(Self::NAME, "lr", lr)?;
        Ok(())
    }

    fn state(&self) -> OptimizerState<T> {
        let buffers: Vec<(&'static str, &Vec<T>)> = self
            .buffer_names()
            .into_iter()
            .map(|name| {
                let b = match name {
                    "square_avg" => &self.square_avg,
                    "grad_avg" => &self.grad_avg,
                    _ => &self.momentum_buffer,
                };
                (name, b)
            })
            .collect();
        export_state(Self::NAME, self.steps, self.lr, &self.settings(), &buffers)
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<()> {
        let names = self.buffer_names();
        let mut bufs = take_buffer_list(Self::NAME, &self.settings(), state, &names)?;
        crate::optimizer::check_state_values(
            Self::NAME,
            "square_avg",
            &bufs[0],
            "finite and >= 0",
            |v| v >= 0.0,
        )?;
        self.set_learning_rate(state.learning_rate)?;
        // In the order of `buffer_names`; the unused ones stay empty.
        self.momentum_buffer = if self.momentum > 0.0 {
            bufs.pop().expect("listed")
        } else {
            Vec::new()
        };
        self.grad_avg = if self.centered {
            bufs.pop().expect("listed")
        } else {
            Vec::new()
        };
        self.square_avg = bufs.pop().expect("listed");
        self.steps = state.steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn the_first_step_is_lr_over_the_root_of_one_minus_alpha() {
        let mut opt = RmsProp::<f64>::new(0.01).unwrap();
        let mut w = [1.0, -1.0, 0.0];
        opt.step(&mut w, &[3.0, -0.5, 0.0]).unwrap();
        // v = 0.01 g^2, so g / sqrt(v) = sign(g) / 0.1; a zero gradient
        // moves nothing (0 / eps).
        let c = 1.0 - 0.99;
        assert_eq!(w[0], 1.0 - 0.01 * 3.0 / ((c * 3.0 * 3.0f64).sqrt() + 1e-8));
        assert!(
            (w[0] - 0.9).abs() < 1e-7 && (w[1] + 0.9).abs() < 1e-7,
            "{w:?}"
        );
        assert_eq!(w[2], 0.0);
    }

    #[test]
    fn centered_divides_by_the_root_of_the_running_variance() {
        let mut opt = RmsProp::<f64>::new(0.1)
            .unwrap()
            .with_alpha(0.5)
            .unwrap()
            .with_centered(true);
        let mut w = [0.0];
        // t = 1: v = 0.5 * 4 = 2, a = 0.5 * 2 = 1, var = 1, w = -0.1 * 2.
        opt.step(&mut w, &[2.0]).unwrap();
        let first = -0.1 * 2.0 / (1.0 + 1e-8);
        assert_eq!(w[0], first);
        // t = 2, g = 2: v = 1 + 2 = 3, a = 1.5, var = 0.75.
        opt.step(&mut w, &[2.0]).unwrap();
        let expected = first - 0.1 * 2.0 / (0.75f64.sqrt() + 1e-8);
        assert!((w[0] - expected).abs() < 1e-15, "{} vs {expected}", w[0]);
    }

    #[test]
    fn a_constant_gradient_makes_the_centered_variance_zero_not_nan() {
        // g constant: v - a^2 -> 0 and rounding can make it negative;
        // the steps stay finite (g / eps at worst).
        let mut opt = RmsProp::<f32>::new(1e-3).unwrap().with_centered(true);
        let mut w = [0.0f32; 8];
        let g = [0.1f32, 0.3, 1.0 / 3.0, 7.0, 1e-3, 123.456, 0.7, 2.9];
        for _ in 0..3000 {
            opt.step(&mut w, &g).unwrap();
        }
        assert!(w.iter().all(|v| v.is_finite()), "{w:?}");
    }

    #[test]
    fn the_mean_gradient_is_pytorchs_lerp_in_the_form_its_weight_picks() {
        // lerp(a, g, w) with w = 1 - alpha: `a + w (g - a)` for w < 0.5,
        // else `g - (g - a) (1 - w)` (so at w = 0.5). On these gradients the
        // other form, or another grouping, rounds to another value.
        for (alpha, grads, expected) in [
            (0.9, [0.3, 0.3], 0.05699999999999999),
            (0.5, [0.1, 0.7], 0.375),
            (0.3, [0.1, 1.1], 0.791),
        ] {
            let mut opt = RmsProp::<f64>::new(0.01)
                .unwrap()
                .with_alpha(alpha)
                .unwrap()
                .with_centered(true);
            let mut w = [0.0];
            for g in grads {
                opt.step(&mut w, &[g]).unwrap();
            }
            let state = opt.state();
            assert_eq!(state.buffer("grad_avg"), Some(&[expected][..]), "{alpha}");
        }
    }

    #[test]
    fn the_lerp_form_is_picked_by_the_weight_in_the_number_type() {
        // 1 - alpha is below 0.5 in f64 but rounds to 0.5 in f32, where
        // PyTorch (comparing in the tensor's type) takes `g - (g - a) (1 - w)`:
        // 0.16785714 here, against 0.16785716 from `a + w (g - a)`.
        let mut opt = RmsProp::<f32>::new(0.01)
            .unwrap()
            .with_alpha(0.5 + 2f64.powi(-26))
            .unwrap()
            .with_centered(true);
        let mut w = [0.0f32];
        for g in [0.1, 2.0 / 7.0] {
            opt.step(&mut w, &[g]).unwrap();
        }
        assert_eq!(opt.state().buffer("grad_avg"), Some(&[0.16785714f32][..]));
    }

    #[test]
    fn the_running_square_scales_the_gradient_then_squares_it() {
        // PyTorch's addcmul(v, g, g, value=1 - alpha): ((1 - alpha) g) g,
        // which rounds apart from (1 - alpha) (g g) at g = 1.1.
        let mut opt = RmsProp::<f64>::new(0.01).unwrap();
        opt.step(&mut [0.0], &[1.1]).unwrap();
        assert_eq!(opt.square_avg(), [0.012100000000000014]);
    }

    #[test]
    fn a_variance_rounded_below_zero_is_taken_as_zero_not_nan() {
        // A constant gradient at alpha = 0.1: v - a^2 shrinks as 0.1^t and
        // rounds to -1.8e-15 at step 17 (PyTorch's root is NaN there).
        let mut opt = RmsProp::<f64>::new(0.01)
            .unwrap()
            .with_alpha(0.1)
            .unwrap()
            .with_centered(true);
        let mut w = [0.0];
        for _ in 0..16 {
            opt.step(&mut w, &[2.9]).unwrap();
        }
        let before = w[0];
        opt.step(&mut w, &[2.9]).unwrap();
        // The step of a zero variance: lr g / eps.
        assert_eq!(w[0], before - 0.01 * 2.9 / 1e-8);
    }

    #[test]
    fn the_overflow_check_counts_the_running_square_so_far() {
        let mut opt = RmsProp::<f32>::new(0.01).unwrap();
        let mut w = [0.0f32];
        // v = 0.01 (1.7e20)^2 = 2.89e38, below f32::MAX (3.4e38).
        opt.step(&mut w, &[1.7e20]).unwrap();
        let before = (w, opt.state());
        // 0.99 v + 0.01 (8e19)^2 = 2.86e38 + 6.4e37 overflows; the new
        // term alone does not.
        let e = opt.step(&mut w, &[8e19]).unwrap_err();
        assert!(matches!(e, Error::MomentOverflow { index: 0, .. }), "{e}");
        assert_eq!((w, opt.state()), before);
    }

    #[test]
    fn an_overflowing_square_is_refused_before_anything_changes() {
        let mut opt = RmsProp::<f32>::new(0.01).unwrap();
        let mut w = [1.0f32, 2.0];
        // 0.01 * 1e21 * 1e21 overflows f32; 1e21 itself does not.
        let e = opt.step(&mut w, &[1.0, 1e21]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::MomentOverflow {
                    optimizer: "rmsprop",
                    index: 1,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!((w, opt.steps(), opt.square_avg().len()), ([1.0, 2.0], 0, 0));
    }

    #[test]
    fn out_of_range_hyperparameters_are_errors_naming_them() {
        let e = RmsProp::<f64>::new(0.1)
            .unwrap()
            .with_alpha(1.0)
            .unwrap_err();
        assert_eq!(e.to_string(), "rmsprop: alpha must be in [0, 1), got 1");
        assert!(RmsProp::<f64>::new(0.1)
            .unwrap()
            .with_momentum(-0.1)
            .is_err());
        assert!(RmsProp::<f32>::new(0.1).unwrap().with_eps(1e-50).is_err());
        assert!(RmsProp::<f64>::new(0.0).is_err());
        assert!(RmsProp::<f64>::new(0.1)
            .unwrap()
            .with_weight_decay(f64::NAN)
            .is_err());
    }
}
