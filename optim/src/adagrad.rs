//! Adagrad as PyTorch's `torch.optim.Adagrad` computes it.

use crate::decay_mask::{check_fits, for_each_segment};
use crate::optimizer::{
    check_squares, check_state_values, check_step, ensure_len, export_state, l2_term, non_negative,
    positive, positive_in, step_size, take_buffers, with_l2, Settings,
};
use crate::{DecayMask, Float, Optimizer, OptimizerState, Result};

/// Adagrad (Duchi, Hazan and Singer 2011, JMLR 12), exactly as PyTorch's
/// `torch.optim.Adagrad`: each coordinate's step is divided by the root of
/// the sum of its squared gradients so far.
///
/// ```text
/// g_t     = grad J(theta_{t-1}) + lambda theta_{t-1}      (only if lambda != 0)
/// lr_t    = lr / (1 + (t - 1) lr_decay)
/// s_t     = s_{t-1} + g_t^2,          s_0 = initial_accumulator_value
/// theta_t = theta_{t-1} - lr_t g_t / (sqrt(s_t) + eps)
/// ```
///
/// Evaluated as PyTorch does (`lr_t` in `f64`, then per element in `T`);
/// the state exports under PyTorch's name `sum`. The sum only grows, so the
/// steps shrink like `1 / sqrt(t)` for a gradient of constant size:
/// Adagrad suits sparse gradients and convex problems more than long
/// non-convex training, where RMSprop's or Adam's running means forget.
///
/// Defaults (PyTorch's): `lr = 1e-2`, `lr_decay = 0`, `lambda = 0`
/// (`weight_decay`), `initial_accumulator_value = 0`, `eps = 1e-10`. Not a
/// method of the seed's chapter: no energy ([`Optimizer::energy`] is
/// `None`).
///
/// ```
/// use optim::{Adagrad, Optimizer};
/// let mut opt = Adagrad::new(0.5)?;
/// let mut w = [1.0f64];
/// opt.step(&mut w, &[2.0])?; // s = 4: a step of lr
/// opt.step(&mut w, &[2.0])?; // s = 8: lr / sqrt(2)
/// assert!((w[0] - (1.0 - 0.5 - 0.5 / 2f64.sqrt())).abs() < 1e-9);
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Adagrad<T> {
    /// Learning rate `lr > 0`.
    lr: f64,
    /// `lr_decay >= 0`.
    lr_decay: f64,
    /// L2 penalty `lambda >= 0`, added to the gradient.
    weight_decay: f64,
    /// The value the sums start at, `>= 0`.
    initial_accumulator_value: f64,
    /// `eps > 0`, added to the root.
    eps: f64,
    /// The entries `lambda` applies to; all without a mask.
    decay_mask: Option<DecayMask>,
    /// The sums of squares `s`; empty before the first step.
    sum: Vec<T>,
    steps: u64,
}

impl<T: Float> Default for Adagrad<T> {
    /// PyTorch's defaults: `lr = 1e-2`, `lr_decay = 0`, no weight decay,
    /// `initial_accumulator_value = 0`, `eps = 1e-10`.
    fn default() -> Self {
        Self {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            decay_mask: None,
            sum: Vec::new(),
            steps: 0,
        }
    }
}

impl<T: Float> Adagrad<T> {
    const NAME: &'static str = "adagrad";

    /// Adagrad with learning rate `lr` and PyTorch's other defaults.
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

    /// Sets `lr_decay`: step `t` uses `lr / (1 + (t - 1) lr_decay)`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless it is finite and
    /// `>= 0`.
    pub fn with_lr_decay(mut self, lr_decay: f64) -> Result<Self> {
        self.lr_decay = non_negative(Self::NAME, "lr_decay", lr_decay)?;
        Ok(self)
    }

    /// Sets the value every sum of squares starts at (PyTorch's
    /// `initial_accumulator_value`; optax's `adagrad` starts at 0.1).
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless it is finite and
    /// `>= 0`, also as a `T`.
    pub fn with_initial_accumulator_value(mut self, value: f64) -> Result<Self> {
        let v = non_negative(Self::NAME, "initial_accumulator_value", value)?;
        if v > 0.0 {
            positive_in::<T>(Self::NAME, "initial_accumulator_value", v)?;
        }
        self.initial_accumulator_value = v;
        Ok(self)
    }

    /// Sets `eps`, added to the root of the sum.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `eps` is finite and
    /// `> 0`, also as a `T` (PyTorch admits 0, where a zero gradient on a
    /// zero sum gives a NaN parameter).
    pub fn with_eps(mut self, eps: f64) -> Result<Self> {
        self.eps = positive_in::<T>(Self::NAME, "eps", eps)?;
        Ok(self)
    }

    /// Sets the L2 weight decay `lambda`, added to the gradient before it
    /// is squared (PyTorch's `weight_decay`).
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

    /// The sums of squared gradients `s` (empty before the first step).
    pub fn sum(&self) -> &[T] {
        &self.sum
    }

    fn l2(&self) -> Option<T> {
        l2_term(self.weight_decay)
    }

    /// PyTorch's names: `lr_decay`, `weight_decay`,
    /// `initial_accumulator_value`, `eps`, then the decay mask's, if any.
    fn settings(&self) -> Settings {
        let mut s = vec![
            ("lr_decay", self.lr_decay),
            ("weight_decay", self.weight_decay),
            ("initial_accumulator_value", self.initial_accumulator_value),
            ("eps", self.eps),
        ];
        s.extend(self.decay_mask.iter().flat_map(DecayMask::settings));
        s
    }
}

impl<T: Float> Optimizer<T> for Adagrad<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        self.check(params, grads)?;
        // In f64, as PyTorch computes it in Python floats.
        let clr = T::from_f64(self.lr / (1.0 + self.steps as f64 * self.lr_decay));
        let eps = T::from_f64(self.eps);
        let l2 = self.l2();
        let init = T::from_f64(self.initial_accumulator_value);
        ensure_len(&mut self.sum, params.len(), init);
        let sum = &mut self.sum;
        for_each_segment(self.decay_mask.as_ref(), params.len(), |r, masked_in| {
            let l2 = if masked_in { l2 } else { None };
            let (ws, ss) = (&mut params[r.clone()], &mut sum[r.clone()]);
            for ((w, s), &g) in ws.iter_mut().zip(ss).zip(&grads[r]) {
                let g = with_l2(g, *w, l2);
                *s += g * g;
                *w -= clr * g / (s.sqrt() + eps);
            }
        });
        self.steps += 1;
        Ok(())
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        check_step(Self::NAME, self.steps, params, grads, Some(self.sum.len()))?;
        check_fits(Self::NAME, self.decay_mask.as_ref(), params.len())?;
        // Before the first step the sums are the initial value.
        let init = T::from_f64(self.initial_accumulator_value);
        let first = self.sum.is_empty();
        check_squares(
            Self::NAME,
            self.decay_mask.as_ref(),
            params,
            grads,
            self.l2(),
            &self.sum,
            |s, g| if first { init } else { s } + g * g,
        )
    }

    fn reset(&mut self) {
        self.sum.clear();
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
        export_state(
            Self::NAME,
            self.steps,
            self.lr,
            &self.settings(),
            &[("sum", &self.sum)],
        )
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<()> {
        let [sum] = take_buffers(Self::NAME, &self.settings(), state, ["sum"])?;
        check_state_values(Self::NAME, "sum", &sum, "finite and >= 0", |v| v >= 0.0)?;
        self.set_learning_rate(state.learning_rate)?;
        self.sum = sum;
        self.steps = state.steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn lr_decay_divides_step_t_by_one_plus_t_minus_one_times_it() {
        let mut opt = Adagrad::<f64>::new(1.0)
            .unwrap()
            .with_lr_decay(0.5)
            .unwrap()
            .with_eps(1e-300)
            .unwrap();
        let mut w = [0.0];
        // t = 1: s = 1, step 1 / 1; t = 2: s = 2, step (1 / 1.5) / sqrt(2).
        opt.step(&mut w, &[1.0]).unwrap();
        opt.step(&mut w, &[1.0]).unwrap();
        let expected = -1.0 - (1.0 / 1.5) / 2f64.sqrt();
        assert!((w[0] - expected).abs() < 1e-15, "{} vs {expected}", w[0]);
    }

    #[test]
    fn the_sums_start_at_the_initial_accumulator_value() {
        let mut opt = Adagrad::<f64>::new(1.0)
            .unwrap()
            .with_initial_accumulator_value(3.0)
            .unwrap();
        let mut w = [0.0];
        opt.step(&mut w, &[1.0]).unwrap();
        assert_eq!(opt.sum(), [4.0]);
        assert!((w[0] + 1.0 / (2.0 + 1e-10)).abs() < 1e-15);
    }

    #[test]
    fn a_sum_that_would_overflow_is_refused_before_anything_changes() {
        let mut opt = Adagrad::<f32>::new(0.1).unwrap();
        let mut w = [1.0f32, 2.0];
        opt.step(&mut w, &[1e19, 1.0]).unwrap();
        let before = (w, opt.sum().to_vec());
        // 1e38 + 1.6e19^2 overflows f32; 1.6e19^2 alone does not.
        let e = opt.step(&mut w, &[1.6e19, 1.0]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::MomentOverflow {
                    optimizer: "adagrad",
                    index: 0,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!((w, opt.sum().to_vec()), before);
        assert_eq!(opt.steps(), 1);
    }

    #[test]
    fn the_first_steps_overflow_check_counts_the_initial_accumulator_value() {
        let mut opt = Adagrad::<f32>::new(0.1)
            .unwrap()
            .with_initial_accumulator_value(3e38)
            .unwrap();
        let mut w = [1.0f32];
        // 3e38 + (1e19)^2 overflows f32; (1e19)^2 alone does not.
        let e = opt.step(&mut w, &[1e19]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::MomentOverflow {
                    optimizer: "adagrad",
                    index: 0,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!((w, opt.steps(), opt.sum().len()), ([1.0], 0, 0));
    }

    #[test]
    fn out_of_range_hyperparameters_are_errors_naming_them() {
        let e = Adagrad::<f64>::new(0.1)
            .unwrap()
            .with_lr_decay(-1.0)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "adagrad: lr_decay must be finite and >= 0, got -1"
        );
        assert!(Adagrad::<f32>::new(0.1).unwrap().with_eps(1e-50).is_err());
        assert!(Adagrad::<f32>::new(0.1)
            .unwrap()
            .with_initial_accumulator_value(1e-50)
            .is_err());
        assert!(Adagrad::<f64>::new(0.1)
            .unwrap()
            .with_initial_accumulator_value(f64::INFINITY)
            .is_err());
    }
}
