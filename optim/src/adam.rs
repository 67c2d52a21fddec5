//! Adam (Kingma and Ba 2015) and AdamW (Loshchilov and Hutter 2019), as
//! PyTorch and optax compute them.

use crate::adam_ode::RelaxationTimes;
use crate::decay_mask::{check_fits, for_each_segment};
use crate::optimizer::{
    check_state_values, check_step, decay_rate, ensure_len, export_state, first_where, l2_term,
    non_negative, positive, positive_in, step_size, take_buffers, with_l2, Settings,
};
use crate::{DecayMask, Error, Float, Optimizer, OptimizerState, Result};

/// Hyperparameters and moments shared by [`Adam`] and [`AdamW`].
#[derive(Debug, Clone, PartialEq)]
struct AdamCore<T> {
    alpha: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// The entries the wrapper's weight decay applies to; all without a
    /// mask.
    decay_mask: Option<DecayMask>,
    m: Vec<T>,
    v: Vec<T>,
    steps: u64,
}

impl<T: Float> AdamCore<T> {
    fn new(name: &'static str, alpha: f64, beta1: f64, beta2: f64, eps: f64) -> Result<Self> {
        Ok(Self {
            alpha: positive(name, "alpha", alpha)?,
            beta1: decay_rate(name, "beta1", beta1)?,
            beta2: decay_rate(name, "beta2", beta2)?,
            eps: positive_in::<T>(name, "eps", eps)?,
            decay_mask: None,
            m: Vec::new(),
            v: Vec::new(),
            steps: 0,
        })
    }

    /// The checks of [`Self::step`] with the same `l2`: the shared ones, the
    /// decay mask, and the second moment's overflow.
    fn check(&self, name: &'static str, params: &[T], grads: &[T], l2: Option<T>) -> Result<()> {
        check_step(name, self.steps, params, grads, Some(self.m.len()))?;
        check_fits(name, self.decay_mask.as_ref(), params.len())?;
        let (b2, c2) = (T::from_f64(self.beta2), T::from_f64(1.0 - self.beta2));
        // A finite gradient can still overflow v (|g| past about 1.8e19 in
        // f32): refused before anything changes, as the update computes it.
        let mut overflow = None;
        for_each_segment(self.decay_mask.as_ref(), params.len(), |r, masked_in| {
            let l2 = if masked_in { l2 } else { None };
            let (g, w) = (&grads[r.clone()], &params[r.clone()]);
            let g_at = |k: usize| with_l2(g[k], w[k], l2);
            // `v` is empty before the first step.
            let found = match self.v.get(r.clone()) {
                Some(v) => first_where(g.len(), |k| {
                    !second_moment(b2, c2, Some(v[k]), g_at(k)).is_finite()
                }),
                None => first_where(g.len(), |k| {
                    !second_moment(b2, c2, None, g_at(k)).is_finite()
                }),
            };
            overflow = overflow.or(found.map(|k| (r.start + k, g_at(k))));
        });
        match overflow {
            Some((index, g)) => Err(Error::MomentOverflow {
                optimizer: name,
                index,
                value: g.to_f64(),
            }),
            None => Ok(()),
        }
    }

    /// One Adam step; `decay` multiplies the parameters first (AdamW's
    /// decoupled decay), `l2` times the parameters is added to the gradient
    /// (Adam's L2 weight decay, which enters the moments). Either applies
    /// only to the entries of the decay mask, if there is one.
    fn step(
        &mut self,
        name: &'static str,
        params: &mut [T],
        grads: &[T],
        decay: Option<T>,
        l2: Option<T>,
    ) -> Result<()> {
        self.check(name, params, grads, l2)?;
        let t = (self.steps + 1) as f64;
        // Scalar factors in f64, as PyTorch computes them in Python floats.
        let step_size = T::from_f64(self.alpha / (1.0 - self.beta1.powf(t)));
        let bc2_sqrt = T::from_f64((1.0 - self.beta2.powf(t)).sqrt());
        let (b1, c1) = (T::from_f64(self.beta1), T::from_f64(1.0 - self.beta1));
        let (b2, c2) = (T::from_f64(self.beta2), T::from_f64(1.0 - self.beta2));
        let eps = T::from_f64(self.eps);
        ensure_len(&mut self.m, params.len(), T::ZERO);
        ensure_len(&mut self.v, params.len(), T::ZERO);
        let (m, v) = (&mut self.m, &mut self.v);
        for_each_segment(self.decay_mask.as_ref(), params.len(), |r, masked_in| {
            let (decay, l2) = if masked_in { (decay, l2) } else { (None, None) };
            let moments = m[r.clone()].iter_mut().zip(&mut v[r.clone()]);
            for ((w, (m, v)), &g) in params[r.clone()].iter_mut().zip(moments).zip(&grads[r]) {
                if let Some(decay) = decay {
                    *w *= decay;
                }
                let g = with_l2(g, *w, l2);
                *m = b1 * *m + c1 * g;
                *v = second_moment(b2, c2, Some(*v), g);
                *w -= step_size * *m / (v.sqrt() / bc2_sqrt + eps);
            }
        });
        self.steps += 1;
        Ok(())
    }

    fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.steps = 0;
    }

    /// `beta1`, `beta2`, `eps`, then the wrapper's `extra` setting, then
    /// the decay mask's, if any (see [`DecayMask`]).
    fn settings(&self, extra: Option<(&'static str, f64)>) -> Settings {
        let mut s = vec![
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("eps", self.eps),
        ];
        s.extend(extra);
        s.extend(self.decay_mask.iter().flat_map(DecayMask::settings));
        s
    }

    fn state(&self, name: &'static str, settings: &Settings) -> OptimizerState<T> {
        export_state(
            name,
            self.steps,
            self.alpha,
            settings,
            &[("m", &self.m), ("v", &self.v)],
        )
    }

    fn load_state(
        &mut self,
        name: &'static str,
        settings: &Settings,
        state: &OptimizerState<T>,
    ) -> Result<()> {
        let [m, v] = take_buffers(name, settings, state, ["m", "v"])?;
        // A second moment is a mean of squares.
        check_state_values(name, "v", &v, "finite and >= 0", |v| v >= 0.0)?;
        self.alpha = step_size(name, "alpha", state.learning_rate)?;
        (self.m, self.v) = (m, v);
        self.steps = state.steps;
        Ok(())
    }

    fn relaxation_times(&self) -> RelaxationTimes {
        RelaxationTimes::from_betas(self.alpha, self.beta1, self.beta2)
    }
}

/// Adam (Kingma and Ba 2015, arXiv:1412.6980, Algorithm 1) as PyTorch's
/// `torch.optim.Adam` and optax's `adam` compute it: raw moments, bias
/// correction on the estimates only.
///
/// ```text
/// t       = t + 1
/// m_t     = beta1 m_{t-1} + (1 - beta1) g_t
/// v_t     = beta2 v_{t-1} + (1 - beta2) g_t^2
/// m_hat   = m_t / (1 - beta1^t),   v_hat = v_t / (1 - beta2^t)
/// theta_t = theta_{t-1} - alpha m_hat / (sqrt(v_hat) + eps)
/// ```
///
/// `m_0 = v_0 = 0`. Evaluated as PyTorch does: `alpha / (1 - beta1^t)` and
/// `sqrt(1 - beta2^t)` in `f64`, then per element
/// `theta -= step_size m / (sqrt(v) / sqrt(1 - beta2^t) + eps)`.
/// Defaults (the paper's): `alpha = 1e-3`, `beta1 = 0.9`, `beta2 = 0.999`,
/// `eps = 1e-8`.
///
/// With an L2 weight decay `lambda` ([`Adam::with_weight_decay`], PyTorch's
/// `Adam(weight_decay=lambda)`), `g_t = grad + lambda theta_{t-1}` enters
/// the moments, so the decay is divided by `sqrt(v_hat)` like the
/// gradient. That is what PyTorch's `Adam` does, and not what [`AdamW`]
/// does (decoupled decay, usually the better regulariser for Adam); the
/// default `lambda = 0` adds nothing.
///
/// This is neither the seed's (5.26), which has typos, nor (5.27), which
/// applies the bias correction inside the recursion. The seed's model of
/// Adam is (5.25), [`crate::AdamOde`]; the link is
/// `beta = 1 - dt / eps` ([`Adam::from_relaxation_times`],
/// [`Adam::relaxation_times`]). No Lyapunov function is known for the
/// discrete method: [`Optimizer::energy`] is `None`.
///
/// ```
/// use optim::{Adam, Optimizer};
/// let mut adam = Adam::default();
/// let mut w = [1.0f32, -1.0];
/// adam.step(&mut w, &[0.5, -2.0])?;
/// // The first step moves every coordinate by alpha against its sign.
/// assert!((w[0] - 0.999).abs() < 1e-6 && (w[1] + 0.999).abs() < 1e-6);
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Adam<T> {
    core: AdamCore<T>,
    /// L2 weight decay `lambda >= 0`, added to the gradient.
    weight_decay: f64,
}

impl<T: Float> Default for Adam<T> {
    /// `alpha = 1e-3`, `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8`.
    fn default() -> Self {
        Self::new(1e-3, 0.9, 0.999, 1e-8).expect("the paper's defaults are valid")
    }
}

impl<T: Float> Adam<T> {
    const NAME: &'static str = "adam";

    /// Adam with step `alpha`, decay rates `beta1`, `beta2` and `eps`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `alpha > 0`, `eps > 0`
    /// (finite; `eps` also as a `T`, not below about `1.4e-45` in `f32`)
    /// and `beta1`, `beta2` in `[0, 1)`.
    pub fn new(alpha: f64, beta1: f64, beta2: f64, eps: f64) -> Result<Self> {
        Ok(Self {
            core: AdamCore::new(Self::NAME, alpha, beta1, beta2, eps)?,
            weight_decay: 0.0,
        })
    }

    /// Sets the L2 weight decay `lambda`: `lambda theta` is added to the
    /// gradient before the moments (PyTorch's `Adam(weight_decay=lambda)`;
    /// for decoupled decay use [`AdamW`]).
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `lambda` is finite
    /// and `>= 0`.
    ///
    /// ```
    /// use optim::{Adam, Optimizer};
    /// let mut adam = Adam::default().with_weight_decay(0.5)?;
    /// let mut w = [2.0f64];
    /// // Zero gradient: the decay alone, 0.5 * 2, moves w by alpha
    /// // against its sign on the first step.
    /// adam.step(&mut w, &[0.0])?;
    /// assert!((w[0] - (2.0 - 1e-3)).abs() < 1e-9);
    /// # Ok::<(), optim::Error>(())
    /// ```
    pub fn with_weight_decay(mut self, lambda: f64) -> Result<Self> {
        self.weight_decay = non_negative(Self::NAME, "weight_decay", lambda)?;
        Ok(self)
    }

    /// Limits the L2 weight decay to the entries of `mask` (the others step
    /// as with `lambda = 0`): PyTorch's parameter groups with and without
    /// `weight_decay`. Checked against the parameters' length at each step.
    pub fn with_decay_mask(mut self, mask: DecayMask) -> Self {
        self.core.decay_mask = Some(mask);
        self
    }

    /// Adam from the seed's parameters (Remark 5.2.7): `alpha = dt`,
    /// `beta1 = 1 - dt / eps1`, `beta2 = 1 - dt / eps2`, `eps = 1e-8`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `dt, eps1, eps2 > 0`
    /// with `dt <= eps1` and `dt <= eps2` (betas in `[0, 1)`).
    pub fn from_relaxation_times(dt: f64, eps1: f64, eps2: f64) -> Result<Self> {
        let eps1 = positive(Self::NAME, "eps1", eps1)?;
        let eps2 = positive(Self::NAME, "eps2", eps2)?;
        Self::new(dt, 1.0 - dt / eps1, 1.0 - dt / eps2, 1e-8)
    }

    /// `eps1 = alpha / (1 - beta1)`, `eps2 = alpha / (1 - beta2)`, taking
    /// `dt = alpha`, and whether `eps1 <= 4 eps2` (Remark 5.2.7). The
    /// condition itself does not depend on `alpha`. Algorithm 8's
    /// `beta1 = 0.9, beta2 = 0.6` lies exactly on the boundary.
    pub fn relaxation_times(&self) -> RelaxationTimes {
        self.core.relaxation_times()
    }

    /// The first moment `m` (empty before the first step).
    pub fn first_moment(&self) -> &[T] {
        &self.core.m
    }

    /// The second moment `v` (empty before the first step).
    pub fn second_moment(&self) -> &[T] {
        &self.core.v
    }

    /// The L2 term's coefficient: none when it is 0, as PyTorch skips the
    /// term then (which keeps -0.0 gradients).
    fn l2(&self) -> Option<T> {
        l2_term(self.weight_decay)
    }

    /// `beta1`, `beta2`, `eps`, `weight_decay`.
    fn settings(&self) -> Settings {
        self.core
            .settings(Some(("weight_decay", self.weight_decay)))
    }
}

/// Implements the [`Optimizer`] methods shared by Adam and AdamW; the
/// wrapper has a `settings(&self) -> Settings`.
macro_rules! forward_adam_core {
    () => {
        fn reset(&mut self) {
            self.core.reset();
        }
        fn steps(&self) -> u64 {
            self.core.steps
        }
        fn learning_rate(&self) -> f64 {
            self.core.alpha
        }
        fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
            self.core.alpha = step_size(Self::NAME, "alpha", lr)?;
            Ok(())
        }
        fn state(&self) -> OptimizerState<T> {
            self.core.state(Self::NAME, &self.settings())
        }
        fn load_state(&mut self, state: &OptimizerState<T>) -> Result<()> {
            self.core.load_state(Self::NAME, &self.settings(), state)
        }
    };
}

impl<T: Float> Optimizer<T> for Adam<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        self.core.step(Self::NAME, params, grads, None, self.l2())
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        self.core.check(Self::NAME, params, grads, self.l2())
    }

    forward_adam_core!();
}

/// AdamW: Adam with decoupled weight decay (Loshchilov and Hutter 2019),
/// as PyTorch's `torch.optim.AdamW`: the decay shrinks the parameters before
/// the Adam step and never enters the moments.
///
/// ```text
/// theta_{t-1} <- theta_{t-1} - alpha lambda theta_{t-1}   (i.e. *= 1 - alpha lambda)
/// then the Adam step (see Adam) on theta_{t-1} with g_t
/// ```
///
/// Defaults (PyTorch's): `alpha = 1e-3`, `beta1 = 0.9`, `beta2 = 0.999`,
/// `eps = 1e-8`, `lambda = 1e-2`. The decay uses the current learning rate,
/// so it follows a schedule.
///
/// ```
/// use optim::{AdamW, Optimizer};
/// let mut opt = AdamW::new(0.1, 0.9, 0.999, 1e-8, 0.5)?;
/// let mut w = [2.0f64];
/// opt.step(&mut w, &[0.0])?; // zero gradient: only the decay acts
/// assert!((w[0] - 2.0 * (1.0 - 0.1 * 0.5)).abs() < 1e-15);
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AdamW<T> {
    core: AdamCore<T>,
    /// Decoupled weight decay `lambda >= 0`.
    weight_decay: f64,
}

impl<T: Float> Default for AdamW<T> {
    /// `alpha = 1e-3`, `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8`,
    /// `lambda = 1e-2`.
    fn default() -> Self {
        Self::new(1e-3, 0.9, 0.999, 1e-8, 1e-2).expect("PyTorch's defaults are valid")
    }
}

impl<T: Float> AdamW<T> {
    const NAME: &'static str = "adamw";

    /// AdamW with Adam's parameters and decoupled weight decay `lambda`.
    ///
    /// # Errors
    /// As [`Adam::new`], and unless `lambda` is finite and `>= 0`.
    pub fn new(alpha: f64, beta1: f64, beta2: f64, eps: f64, lambda: f64) -> Result<Self> {
        Ok(Self {
            core: AdamCore::new(Self::NAME, alpha, beta1, beta2, eps)?,
            weight_decay: non_negative(Self::NAME, "weight_decay", lambda)?,
        })
    }

    /// As [`Adam::relaxation_times`].
    pub fn relaxation_times(&self) -> RelaxationTimes {
        self.core.relaxation_times()
    }

    /// Limits the decoupled weight decay to the entries of `mask` (the
    /// others step as Adam's, `lambda = 0`): PyTorch's parameter groups
    /// with and without `weight_decay`, optax's `adamw(mask=...)`. Checked
    /// against the parameters' length at each step.
    pub fn with_decay_mask(mut self, mask: DecayMask) -> Self {
        self.core.decay_mask = Some(mask);
        self
    }

    /// `beta1`, `beta2`, `eps`, `weight_decay`.
    fn settings(&self) -> Settings {
        self.core
            .settings(Some(("weight_decay", self.weight_decay)))
    }
}

impl<T: Float> Optimizer<T> for AdamW<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        let decay = T::from_f64(1.0 - self.core.alpha * self.weight_decay);
        self.core.step(Self::NAME, params, grads, Some(decay), None)
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        self.core.check(Self::NAME, params, grads, None)
    }

    forward_adam_core!();
}

/// `v` updated by `g`: `b2 v + c2 g^2` (`v` is 0 before the first step).
#[inline(always)]
fn second_moment<T: Float>(b2: T, c2: T, v: Option<T>, g: T) -> T {
    b2 * v.unwrap_or(T::ZERO) + c2 * g * g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_relaxation_times_inverts_relaxation_times() {
        let adam = Adam::<f64>::from_relaxation_times(1e-3, 0.01, 1.0).unwrap();
        let t = adam.relaxation_times();
        assert!((t.eps1 - 0.01).abs() < 1e-15 && (t.eps2 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn betas_outside_the_unit_interval_are_rejected() {
        assert!(Adam::<f32>::new(1e-3, 1.0, 0.999, 1e-8).is_err());
        assert!(Adam::<f32>::new(1e-3, 0.9, -0.1, 1e-8).is_err());
        assert!(Adam::<f32>::new(1e-3, 0.9, 0.999, 0.0).is_err());
        assert!(Adam::<f32>::from_relaxation_times(1e-3, 1e-4, 1.0).is_err());
        assert!(AdamW::<f32>::new(1e-3, 0.9, 0.999, 1e-8, -1.0).is_err());
    }

    #[test]
    fn adamw_without_decay_is_adam() {
        let mut a = Adam::<f64>::default();
        let mut b = AdamW::<f64>::new(1e-3, 0.9, 0.999, 1e-8, 0.0).unwrap();
        let (mut wa, mut wb) = ([1.0, 2.0], [1.0, 2.0]);
        for k in 0..5 {
            let g = [0.3 * k as f64, -1.0];
            a.step(&mut wa, &g).unwrap();
            b.step(&mut wb, &g).unwrap();
        }
        assert_eq!(wa, wb);
    }

    #[test]
    fn adam_weight_decay_is_adam_on_the_gradient_plus_lambda_theta() {
        let mut decayed = Adam::<f64>::new(0.1, 0.9, 0.999, 1e-8)
            .unwrap()
            .with_weight_decay(0.3)
            .unwrap();
        let mut plain = Adam::<f64>::new(0.1, 0.9, 0.999, 1e-8).unwrap();
        let (mut wa, mut wb) = ([1.0, -2.0, 0.5], [1.0, -2.0, 0.5]);
        for k in 0..3 {
            let g = [0.5 * k as f64, -1.0, 0.25];
            decayed.step(&mut wa, &g).unwrap();
            let g_l2: Vec<f64> = g.iter().zip(&wb).map(|(g, w)| g + 0.3 * w).collect();
            plain.step(&mut wb, &g_l2).unwrap();
        }
        assert_eq!(wa, wb);
        // torch.optim.Adam([w], lr=0.1, weight_decay=0.3) in float64 (PyTorch
        // 2.x), the same three gradients: the same values to the last bits.
        let torch = [0.7130611302212942, -1.7001986194658905, 0.2010576076773379];
        for (w, t) in wa.iter().zip(torch) {
            assert!((w - t).abs() <= 4.0 * f64::EPSILON * t.abs(), "{w} vs {t}");
        }
    }

    #[test]
    fn adam_states_from_before_weight_decay_load_as_without_it() {
        let mut adam = Adam::<f64>::default();
        let mut w = [1.0, 2.0];
        adam.step(&mut w, &[0.5, -0.5]).unwrap();
        let mut old = adam.state();
        old.settings.retain(|(name, _)| name != "weight_decay");
        assert_eq!(old.settings.len(), 3);
        Adam::<f64>::default().load_state(&old).unwrap();
        let mut decayed = Adam::<f64>::default().with_weight_decay(0.1).unwrap();
        match decayed.load_state(&old) {
            Err(crate::Error::SettingMismatch {
                setting,
                expected,
                got,
                ..
            }) => assert_eq!(
                (setting.as_str(), expected, got),
                ("weight_decay", 0.1, 0.0)
            ),
            other => panic!("{other:?}"),
        }
        // Only Adam's weight_decay was added later: AdamW's and Sgd's were
        // always recorded, and a state without one is refused, also where
        // the optimizer's value is the 0 Adam's missing one stands for.
        let mut adamw = AdamW::<f64>::new(1e-3, 0.9, 0.999, 1e-8, 0.0).unwrap();
        adamw.step(&mut w, &[0.5, -0.5]).unwrap();
        let mut sgd = crate::Sgd::<f64>::new(0.1).unwrap();
        sgd.step(&mut w, &[0.5, -0.5]).unwrap();
        let (adamw_state, sgd_state) = (adamw.state(), sgd.state());
        for (opt, mut state) in [
            (&mut adamw as &mut dyn Optimizer<f64>, adamw_state),
            (&mut sgd, sgd_state),
        ] {
            assert_eq!(state.setting("weight_decay"), Some(0.0));
            state.settings.retain(|(name, _)| name != "weight_decay");
            match opt.load_state(&state) {
                Err(crate::Error::MissingSetting {
                    setting: "weight_decay",
                    ..
                }) => {}
                other => panic!("{}: {other:?}", state.optimizer),
            }
        }
        // A setting that was always recorded is still required.
        let mut broken = adam.state();
        broken.settings.retain(|(name, _)| name != "beta2");
        assert!(matches!(
            Adam::<f64>::default().load_state(&broken),
            Err(crate::Error::MissingSetting {
                setting: "beta2",
                ..
            })
        ));
    }
}
