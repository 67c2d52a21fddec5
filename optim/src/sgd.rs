//! Stochastic gradient descent as PyTorch's `torch.optim.SGD` computes it.

use crate::decay_mask::{check_fits, for_each_segment};
use crate::optimizer::{
    check_step, decay_rate, export_state, flag, non_negative, positive, step_size, take_buffers,
    Settings,
};
use crate::{DecayMask, Error, Float, Optimizer, OptimizerState, Result};

/// The momentum variant of [`Sgd`]: exclusive options, so that PyTorch's
/// invalid combinations (Nesterov with dampening, Nesterov without momentum)
/// cannot be written.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Momentum {
    /// Plain SGD, `b_t = g_t`.
    #[default]
    None,
    /// Heavy-ball momentum `b_t = mu b_{t-1} + (1 - dampening) g_t`, step
    /// along `b_t`. With `mu = 0` it is plain SGD whatever the dampening
    /// (PyTorch keeps no buffer then).
    Classic {
        /// Momentum factor `mu` in `[0, 1)`.
        mu: f64,
        /// Dampening `tau` in `[0, 1]`.
        dampening: f64,
    },
    /// PyTorch's rewritten Nesterov momentum `b_t = mu b_{t-1} + g_t`, step
    /// along `g_t + mu b_t` (Sutskever et al. 2013 in the form of Bengio et
    /// al.; no lookahead evaluation needed).
    Nesterov {
        /// Momentum factor `mu` in `(0, 1)`.
        mu: f64,
    },
}

/// SGD with momentum, dampening, Nesterov flag and L2 weight decay, exactly
/// as PyTorch's `torch.optim.SGD` (the form users know; the seed's ODE
/// methods are [`crate::HeavyBall`] and [`crate::Nesterov`]).
///
/// ```text
/// g_t = grad J(theta_{t-1}) + lambda theta_{t-1}        (only if lambda != 0)
/// b_t = g_t                                    at t = 1
/// b_t = mu b_{t-1} + (1 - tau) g_t             at t > 1  (tau = 0 for Nesterov)
/// d_t = g_t + mu b_t    (Momentum::Nesterov)
/// d_t = b_t             (Momentum::Classic)
/// d_t = g_t             (Momentum::None; no buffer)
/// theta_t = theta_{t-1} - lr d_t
/// ```
///
/// Defaults (PyTorch 2): `lr = 1e-3`, no momentum, `lambda = 0`.
/// `Sgd` without momentum nor decay is [`crate::GradientDescent`] (5.2) with
/// `dt = lr`.
///
/// ```
/// use optim::{Momentum, Optimizer, Sgd};
/// let mut sgd = Sgd::new(0.1)?.with_momentum(Momentum::Nesterov { mu: 0.9 })?;
/// let mut w = [1.0f64];
/// sgd.step(&mut w, &[1.0])?; // b = 1, d = 1 + 0.9 * 1
/// assert!((w[0] - (1.0 - 0.1 * 1.9)).abs() < 1e-15);
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sgd<T> {
    /// Learning rate `lr > 0`.
    lr: f64,
    momentum: Momentum,
    /// L2 penalty `lambda >= 0`, added to the gradient.
    weight_decay: f64,
    /// The entries `lambda` applies to; all without a mask.
    decay_mask: Option<DecayMask>,
    /// Momentum buffer `b`; empty before the first step (PyTorch's `None`).
    buf: Vec<T>,
    steps: u64,
}

impl<T: Float> Default for Sgd<T> {
    /// PyTorch's defaults: `lr = 1e-3`, no momentum, no weight decay.
    fn default() -> Self {
        Self {
            lr: 1e-3,
            momentum: Momentum::None,
            weight_decay: 0.0,
            decay_mask: None,
            buf: Vec::new(),
            steps: 0,
        }
    }
}

impl<T: Float> Sgd<T> {
    const NAME: &'static str = "sgd";

    /// Plain SGD with learning rate `lr`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `lr` is finite and `> 0`.
    pub fn new(lr: f64) -> Result<Self> {
        Ok(Self {
            lr: positive(Self::NAME, "lr", lr)?,
            ..Self::default()
        })
    }

    /// Sets the momentum variant.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `mu` (named `momentum`, as
    /// in PyTorch, [`crate::Hyperparameter::Momentum`] and the settings) is
    /// in `[0, 1)` (`(0, 1)` for Nesterov) and `dampening` in `[0, 1]`.
    pub fn with_momentum(mut self, momentum: Momentum) -> Result<Self> {
        match momentum {
            Momentum::None => {}
            Momentum::Classic { mu, dampening } => {
                decay_rate(Self::NAME, "momentum", mu)?;
                if !(0.0..=1.0).contains(&dampening) {
                    return Err(Error::InvalidHyperparameter {
                        optimizer: Self::NAME,
                        parameter: "dampening",
                        expected: "in [0, 1]",
                        got: dampening,
                    });
                }
            }
            Momentum::Nesterov { mu } => {
                if !(mu > 0.0 && mu < 1.0) {
                    return Err(Error::InvalidHyperparameter {
                        optimizer: Self::NAME,
                        parameter: "momentum",
                        expected: "in (0, 1) for Nesterov momentum",
                        got: mu,
                    });
                }
            }
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// Sets the L2 weight decay `lambda`, added to the gradient.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `lambda` is finite and `>= 0`.
    pub fn with_weight_decay(mut self, lambda: f64) -> Result<Self> {
        self.weight_decay = non_negative(Self::NAME, "weight_decay", lambda)?;
        Ok(self)
    }

    /// Limits the weight decay to the entries of `mask` (the others step
    /// as with `lambda = 0`): PyTorch's parameter groups with and without
    /// `weight_decay`. Checked against the parameters' length at each step.
    pub fn with_decay_mask(mut self, mask: DecayMask) -> Self {
        self.decay_mask = Some(mask);
        self
    }

    /// PyTorch's names: `momentum`, `dampening`, `nesterov` (a flag) and
    /// `weight_decay`, then the decay mask's, if any (see
    /// [`DecayMask`]). Classic momentum 0 is recorded as no momentum,
    /// whatever its dampening: both step alike and keep no buffer.
    fn settings(&self) -> Settings {
        let (mu, dampening, nesterov) = match self.momentum {
            Momentum::None | Momentum::Classic { mu: 0.0, .. } => (0.0, 0.0, false),
            Momentum::Classic { mu, dampening } => (mu, dampening, false),
            Momentum::Nesterov { mu } => (mu, 0.0, true),
        };
        let mut s = vec![
            ("momentum", mu),
            ("dampening", dampening),
            ("nesterov", flag(nesterov)),
            ("weight_decay", self.weight_decay),
        ];
        s.extend(self.decay_mask.iter().flat_map(DecayMask::settings));
        s
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        self.check(params, grads)?;
        let lr = T::from_f64(self.lr);
        let wd = T::from_f64(self.weight_decay);
        let decay = self.weight_decay != 0.0;
        let momentum = match self.momentum {
            // PyTorch skips the momentum buffer when mu = 0, whatever the
            // dampening.
            Momentum::None | Momentum::Classic { mu: 0.0, .. } => None,
            Momentum::Classic { mu, dampening } => Some((mu, dampening, false)),
            Momentum::Nesterov { mu } => Some((mu, 0.0, true)),
        };
        let first = self.buf.is_empty();
        if first && momentum.is_some() {
            self.buf.resize(params.len(), T::ZERO);
        }
        let buf = &mut self.buf;
        for_each_segment(self.decay_mask.as_ref(), params.len(), |r, masked_in| {
            // PyTorch skips the decay term when lambda = 0 (keeps -0.0
            // gradients); so does a parameter outside the mask.
            let decayed = move |g: T, w: T| if decay && masked_in { g + wd * w } else { g };
            let (ws, gs) = (&mut params[r.clone()], &grads[r.clone()]);
            let Some((mu, damp, nesterov)) = momentum else {
                for (w, &g) in ws.iter_mut().zip(gs) {
                    *w -= lr * decayed(g, *w);
                }
                return;
            };
            let (mu, one_minus_damp) = (T::from_f64(mu), T::from_f64(1.0 - damp));
            for ((w, b), &g) in ws.iter_mut().zip(&mut buf[r]).zip(gs) {
                let g = decayed(g, *w);
                *b = if first {
                    g
                } else {
                    mu * *b + one_minus_damp * g
                };
                let d = if nesterov { g + mu * *b } else { *b };
                *w -= lr * d;
            }
        });
        self.steps += 1;
        Ok(())
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        check_step(Self::NAME, self.steps, params, grads, Some(self.buf.len()))?;
        check_fits(Self::NAME, self.decay_mask.as_ref(), params.len())
    }

    fn reset(&mut self) {
        self.buf.clear();
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
            &[("momentum_buffer", &self.buf)],
        )
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<()> {
        let [buf] = take_buffers(Self::NAME, &self.settings(), state, ["momentum_buffer"])?;
        self.set_learning_rate(state.learning_rate)?;
        self.buf = buf;
        self.steps = state.steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_momentum_with_dampening_follows_pytorch_recurrence() {
        let mut sgd = Sgd::new(0.1)
            .unwrap()
            .with_momentum(Momentum::Classic {
                mu: 0.5,
                dampening: 0.5,
            })
            .unwrap();
        let mut w = [0.0f64];
        // t = 1: b = g = 2 (no dampening on the first step), w = -0.2.
        sgd.step(&mut w, &[2.0]).unwrap();
        assert!((w[0] + 0.2).abs() < 1e-15);
        // t = 2: b = 0.5 * 2 + 0.5 * 2 = 2, w = -0.2 - 0.2.
        sgd.step(&mut w, &[2.0]).unwrap();
        assert!((w[0] + 0.4).abs() < 1e-15);
    }

    #[test]
    fn zero_momentum_with_dampening_is_plain_sgd_as_in_pytorch() {
        let mut sgd = Sgd::new(0.1)
            .unwrap()
            .with_momentum(Momentum::Classic {
                mu: 0.0,
                dampening: 0.5,
            })
            .unwrap();
        let mut w = [0.0f64];
        // PyTorch skips the buffer at momentum 0: two steps of -0.1 * 2.
        sgd.step(&mut w, &[2.0]).unwrap();
        sgd.step(&mut w, &[2.0]).unwrap();
        assert!((w[0] + 0.4).abs() < 1e-15, "{}", w[0]);
    }

    #[test]
    fn nesterov_steps_along_gradient_plus_mu_times_buffer() {
        let mut sgd = Sgd::new(0.1)
            .unwrap()
            .with_momentum(Momentum::Nesterov { mu: 0.5 })
            .unwrap();
        let mut w = [0.0f64];
        // t = 1: b = g = 2, d = 2 + 0.5 * 2 = 3, w = -0.3.
        sgd.step(&mut w, &[2.0]).unwrap();
        assert!((w[0] + 0.3).abs() < 1e-15);
        // t = 2: b = 0.5 * 2 + 4 = 5, d = 4 + 0.5 * 5 = 6.5, w = -0.3 - 0.65.
        sgd.step(&mut w, &[4.0]).unwrap();
        assert!((w[0] + 0.95).abs() < 1e-15);
    }

    /// PyTorch's SGD adds `lambda w` to the gradient before the momentum
    /// buffer, so with momentum the decay is carried by the buffer too:
    /// the same run as without decay on the gradients `g + lambda w`.
    #[test]
    fn weight_decay_enters_the_momentum_buffer_as_in_pytorch() {
        let grads = [[0.5, -1.0, 0.25], [0.0, 1.5, -0.75], [-1.0, 0.5, 2.0]];
        // torch.optim.SGD([w], lr=0.1, momentum=0.9, ..., weight_decay=0.3)
        // in float64 (PyTorch 2.15.0, /work/torchenv), w = (1, -2, 0.5), the
        // three gradients above: dampening=0.25, then nesterov=True.
        let torch = [
            [0.80025575, -1.69923025, 0.31823725],
            [0.804050352, -1.713355704, 0.12215267599999988],
        ];
        let momenta = [
            Momentum::Classic {
                mu: 0.9,
                dampening: 0.25,
            },
            Momentum::Nesterov { mu: 0.9 },
        ];
        for (momentum, torch) in momenta.into_iter().zip(torch) {
            let sgd = || Sgd::<f64>::new(0.1).unwrap().with_momentum(momentum);
            let mut decayed = sgd().unwrap().with_weight_decay(0.3).unwrap();
            let mut plain = sgd().unwrap();
            let (mut wa, mut wb) = ([1.0, -2.0, 0.5], [1.0, -2.0, 0.5]);
            for g in grads {
                decayed.step(&mut wa, &g).unwrap();
                let g_l2: Vec<f64> = g.iter().zip(&wb).map(|(g, w)| g + 0.3 * w).collect();
                plain.step(&mut wb, &g_l2).unwrap();
            }
            assert_eq!(wa, wb, "{momentum:?}");
            for (w, t) in wa.iter().zip(torch) {
                assert!((w - t).abs() <= 1e-15, "{momentum:?}: {w} vs {t}");
            }
        }
    }

    #[test]
    fn weight_decay_is_added_to_the_gradient() {
        let mut sgd = Sgd::new(0.1).unwrap().with_weight_decay(0.5).unwrap();
        let mut w = [2.0f64];
        // g = 0 + 0.5 * 2 = 1, w = 2 - 0.1.
        sgd.step(&mut w, &[0.0]).unwrap();
        assert!((w[0] - 1.9).abs() < 1e-15);
    }

    #[test]
    fn an_out_of_range_momentum_is_an_error_naming_it_momentum_as_builder_and_settings_do() {
        for m in [
            Momentum::Classic {
                mu: 1.0,
                dampening: 0.0,
            },
            Momentum::Nesterov { mu: 0.0 },
            Momentum::Nesterov { mu: -0.5 },
        ] {
            let e = Sgd::<f32>::new(0.1).unwrap().with_momentum(m).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidHyperparameter {
                        parameter: "momentum",
                        ..
                    }
                ),
                "{m:?}: {e}"
            );
        }
        let e = Sgd::<f32>::new(0.1)
            .unwrap()
            .with_momentum(Momentum::Nesterov { mu: 0.0 })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "sgd: momentum must be in (0, 1) for Nesterov momentum, got 0"
        );
    }

    #[test]
    fn nesterov_without_momentum_and_bad_dampening_are_rejected() {
        let nesterov = Sgd::<f32>::new(0.1)
            .unwrap()
            .with_momentum(Momentum::Nesterov { mu: 0.0 });
        assert!(nesterov.is_err());
        let damp = Sgd::<f32>::new(0.1)
            .unwrap()
            .with_momentum(Momentum::Classic {
                mu: 0.9,
                dampening: 1.5,
            });
        assert!(damp.is_err());
    }
}
