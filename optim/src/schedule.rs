//! Learning-rate schedules, usable with every optimizer through
//! [`Optimizer::set_learning_rate`].

use crate::optimizer::positive;
use crate::{Error, Float, Optimizer, Result};

/// How the learning rate decays after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decay {
    /// `lr_t = lr`.
    Constant,
    /// `lr_t = lr gamma^floor(t / every)` (PyTorch's `StepLR`).
    Step {
        /// Steps between two decays, `>= 1`.
        every: u64,
        /// Factor in `(0, 1]`.
        gamma: f64,
    },
    /// `lr_t = lr gamma^t` (PyTorch's `ExponentialLR`).
    Exponential {
        /// Factor per step in `(0, 1]`.
        gamma: f64,
    },
    /// `lr_t = min_lr + (lr - min_lr) (1 + cos(pi min(t, total) / total)) / 2`
    /// (PyTorch's `CosineAnnealingLR` closed form, held at `min_lr` after
    /// `total` steps).
    Cosine {
        /// Length of the half period, `>= 1`.
        total: u64,
        /// Final learning rate, in `[0, lr]`.
        min_lr: f64,
    },
}

/// A learning rate as a function of the step index `t = 0, 1, ...` (the
/// number of steps already taken, [`Optimizer::steps`]).
///
/// ```text
/// lr(t) = lr (t + 1) / warmup          for t < warmup (linear warm-up)
/// lr(t) = decay(t - warmup)            otherwise (see Decay)
/// ```
///
/// ```
/// use optim::{Adam, Optimizer, Schedule};
/// let schedule = Schedule::cosine(1e-2, 100, 0.0)?.with_warmup(10);
/// let mut adam = Adam::<f32>::default();
/// let mut w = [1.0f32];
/// for _ in 0..110 {
///     schedule.apply(&mut adam)?;
///     let g = [w[0]];
///     adam.step(&mut w, &g)?;
/// }
/// assert_eq!(adam.learning_rate(), schedule.learning_rate(109));
/// assert!((schedule.learning_rate(0) - 1e-3).abs() < 1e-18);
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Peak learning rate.
    lr: f64,
    decay: Decay,
    /// Number of linear warm-up steps (0: none).
    warmup: u64,
}

impl Schedule {
    const NAME: &'static str = "schedule";

    /// A schedule from a peak rate and a decay law, without warm-up.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `lr > 0` and the decay's
    /// parameters are in the ranges [`Decay`] states.
    pub fn new(lr: f64, decay: Decay) -> Result<Self> {
        positive(Self::NAME, "lr", lr)?;
        let bad = |parameter, expected, got| Error::InvalidHyperparameter {
            optimizer: Self::NAME,
            parameter,
            expected,
            got,
        };
        let unit_factor = |gamma: f64| gamma > 0.0 && gamma <= 1.0;
        match decay {
            Decay::Constant => {}
            Decay::Step { every, gamma } => {
                if every == 0 {
                    return Err(bad("every", ">= 1", 0.0));
                }
                if !unit_factor(gamma) {
                    return Err(bad("gamma", "in (0, 1]", gamma));
                }
            }
            Decay::Exponential { gamma } => {
                if !unit_factor(gamma) {
                    return Err(bad("gamma", "in (0, 1]", gamma));
                }
            }
            Decay::Cosine { total, min_lr } => {
                if total == 0 {
                    return Err(bad("total", ">= 1", 0.0));
                }
                if !(0.0..=lr).contains(&min_lr) {
                    return Err(bad("min_lr", "in [0, lr]", min_lr));
                }
            }
        }
        Ok(Self {
            lr,
            decay,
            warmup: 0,
        })
    }

    /// `lr` at every step.
    ///
    /// # Errors
    /// As [`Schedule::new`].
    pub fn constant(lr: f64) -> Result<Self> {
        Self::new(lr, Decay::Constant)
    }

    /// `lr gamma^floor(t / every)`.
    ///
    /// # Errors
    /// As [`Schedule::new`].
    pub fn step(lr: f64, every: u64, gamma: f64) -> Result<Self> {
        Self::new(lr, Decay::Step { every, gamma })
    }

    /// `lr gamma^t`.
    ///
    /// # Errors
    /// As [`Schedule::new`].
    pub fn exponential(lr: f64, gamma: f64) -> Result<Self> {
        Self::new(lr, Decay::Exponential { gamma })
    }

    /// Cosine annealing from `lr` to `min_lr` over `total` steps.
    ///
    /// # Errors
    /// As [`Schedule::new`].
    pub fn cosine(lr: f64, total: u64, min_lr: f64) -> Result<Self> {
        Self::new(lr, Decay::Cosine { total, min_lr })
    }

    /// Adds a linear warm-up of `steps` steps from `lr / steps` to `lr`; the
    /// decay starts after it.
    pub fn with_warmup(mut self, steps: u64) -> Self {
        self.warmup = steps;
        self
    }

    /// The peak learning rate (reached at the end of the warm-up).
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// How the rate decays after the warm-up.
    pub fn decay(&self) -> Decay {
        self.decay
    }

    /// The number of linear warm-up steps (0: none).
    pub fn warmup(&self) -> u64 {
        self.warmup
    }

    /// The learning rate of step `t` (0 for the first step). Always `> 0`
    /// except for a cosine decay to `min_lr = 0`, which reaches 0 at its end,
    /// and an exponential or step decay once it underflows; every optimizer
    /// accepts 0 (see [`Optimizer::set_learning_rate`]).
    pub fn learning_rate(&self, t: u64) -> f64 {
        if t < self.warmup {
            return self.lr * (t + 1) as f64 / self.warmup as f64;
        }
        let t = t - self.warmup;
        match self.decay {
            Decay::Constant => self.lr,
            Decay::Step { every, gamma } => self.lr * gamma.powf((t / every) as f64),
            Decay::Exponential { gamma } => self.lr * gamma.powf(t as f64),
            Decay::Cosine { total, min_lr } => {
                let phase = std::f64::consts::PI * t.min(total) as f64 / total as f64;
                min_lr + (self.lr - min_lr) * (1.0 + phase.cos()) / 2.0
            }
        }
    }

    /// Sets the optimizer's learning rate for its next step,
    /// `learning_rate(opt.steps())`. Call before each step. Because it only
    /// depends on the step counter, it resumes exactly from a checkpoint.
    ///
    /// # Errors
    /// The optimizer's [`Optimizer::set_learning_rate`] error, when the rate
    /// breaks a constraint such as [`crate::AdamOde`]'s `dt <= eps1`.
    pub fn apply<T: Float, O: Optimizer<T> + ?Sized>(&self, opt: &mut O) -> Result<()> {
        opt.set_learning_rate(self.learning_rate(opt.steps()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_takes_a_schedule_annealed_to_zero_and_then_stands_still() {
        // Cosine to 0 over 3 steps (PyTorch's CosineAnnealingLR default
        // eta_min), and an exponential decay that underflows.
        let schedules = [
            Schedule::cosine(1e-2, 3, 0.0).unwrap(),
            Schedule::exponential(1e-2, 1e-200).unwrap(),
        ];
        for s in schedules {
            for name in crate::METHODS {
                let mut opt = crate::by_name::<f64>(name, 1e-2).unwrap();
                let mut w = [1.0, -2.0];
                for _ in 0..3 {
                    s.apply(opt.as_mut()).unwrap();
                    let g = [w[0], 2.0 * w[1]];
                    opt.step(&mut w, &g).unwrap();
                }
                s.apply(opt.as_mut()).unwrap();
                assert_eq!(opt.learning_rate(), 0.0, "{name}");
                let before = w;
                let g = [w[0], 2.0 * w[1]];
                opt.step(&mut w, &g).unwrap();
                assert_eq!(w, before, "{name}: a step of size 0 moved the parameters");
                // A checkpoint taken there loads.
                let state = opt.state();
                let mut fresh = crate::by_name::<f64>(name, 1e-2).unwrap();
                fresh.load_state(&state).unwrap();
                assert_eq!(fresh.learning_rate(), 0.0, "{name}");
            }
        }
    }

    #[test]
    fn step_decay_drops_by_gamma_every_period() {
        let s = Schedule::step(1.0, 3, 0.5).unwrap();
        let rates: Vec<f64> = (0..7).map(|t| s.learning_rate(t)).collect();
        assert_eq!(rates, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);
    }

    #[test]
    fn exponential_decay_multiplies_by_gamma_each_step() {
        let s = Schedule::exponential(2.0, 0.5).unwrap();
        assert_eq!(s.learning_rate(3), 0.25);
    }

    #[test]
    fn cosine_starts_at_lr_passes_the_midpoint_and_holds_min_lr() {
        let s = Schedule::cosine(1.0, 10, 0.1).unwrap();
        assert_eq!(s.learning_rate(0), 1.0);
        assert!((s.learning_rate(5) - 0.55).abs() < 1e-15);
        assert!((s.learning_rate(10) - 0.1).abs() < 1e-15);
        assert_eq!(s.learning_rate(50), s.learning_rate(10));
    }

    #[test]
    fn warmup_rises_linearly_then_hands_over_to_the_decay() {
        let s = Schedule::exponential(1.0, 0.5).unwrap().with_warmup(4);
        let rates: Vec<f64> = (0..6).map(|t| s.learning_rate(t)).collect();
        assert_eq!(rates, [0.25, 0.5, 0.75, 1.0, 1.0, 0.5]);
    }

    #[test]
    fn a_schedule_gives_back_the_peak_rate_decay_and_warmup_it_was_built_with() {
        let s = Schedule::cosine(0.1 + 0.2, 50, 1e-3)
            .unwrap()
            .with_warmup(7);
        assert_eq!(s.lr().to_bits(), (0.1_f64 + 0.2).to_bits());
        assert_eq!(
            s.decay(),
            Decay::Cosine {
                total: 50,
                min_lr: 1e-3
            }
        );
        assert_eq!(s.warmup(), 7);
        let rebuilt = Schedule::new(s.lr(), s.decay())
            .unwrap()
            .with_warmup(s.warmup());
        assert_eq!(rebuilt, s);
        assert_eq!(Schedule::constant(1.0).unwrap().warmup(), 0);
    }

    #[test]
    fn a_factor_of_one_is_accepted_and_keeps_the_rate_constant() {
        let step = Schedule::step(0.5, 2, 1.0).unwrap();
        let exponential = Schedule::exponential(0.5, 1.0).unwrap();
        for t in [0, 1, 2, 7, 1000] {
            assert_eq!(step.learning_rate(t), 0.5);
            assert_eq!(exponential.learning_rate(t), 0.5);
        }
    }

    #[test]
    fn invalid_schedules_are_rejected() {
        assert!(Schedule::constant(0.0).is_err());
        assert!(Schedule::step(1.0, 0, 0.5).is_err());
        assert!(Schedule::exponential(1.0, 1.5).is_err());
        assert!(Schedule::cosine(1.0, 10, 2.0).is_err());
    }
}
