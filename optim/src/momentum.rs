//! The seed's second-order systems `W' = Z, Z' = F(W, Z)`: the shared
//! integrator, heavy ball (5.16)/(5.17) and Nesterov (5.19).
//!
//! Friction and relaxation, which share the integrator, live in `damped`.

use crate::float::norm_squared;
use crate::optimizer::{
    check_state_len, check_step, ensure_len, export_state, flag, non_negative, positive, step_size,
    take_buffers, Settings,
};
use crate::{Error, Float, Optimizer, OptimizerState, Result};

/// How the system `W' = Z, Z' = F(W, Z)` is advanced by one step `dt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// Explicit Euler, as printed in the seed (5.17):
    ///
    /// ```text
    /// W^{n+1} = W^n + dt Z^n
    /// Z^{n+1} = Z^n + dt F(W^n, Z^n)
    /// ```
    ///
    /// For the heavy ball its energy `J + |Z|^2/2` is not conserved: it
    /// drifts by O(dt^2) per step, O(dt) over a fixed time, and grows without
    /// bound over long times (on a quadratic it is multiplied by
    /// `1 + dt^2 lambda` per step).
    #[default]
    ExplicitEuler,
    /// Semi-implicit (symplectic) Euler: the position uses the new moment.
    ///
    /// ```text
    /// Z^{n+1} = Z^n + dt F(W^n, Z^n)
    /// W^{n+1} = W^n + dt Z^{n+1}
    /// ```
    ///
    /// Same cost and same gradient point as [`Scheme::ExplicitEuler`]. For
    /// the heavy ball it is symplectic: the energy error stays O(dt) for all
    /// times instead of growing.
    SemiImplicitEuler,
}

/// State shared by the methods with one moment `Z`: time step, scheme,
/// `Z` (allocated on the first step, `Z^0 = 0`) and the step counter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SecondOrder<T> {
    pub(crate) dt: f64,
    pub(crate) scheme: Scheme,
    pub(crate) z: Vec<T>,
    pub(crate) steps: u64,
}

impl<T: Float> SecondOrder<T> {
    pub(crate) fn new(name: &'static str, dt: f64) -> Result<Self> {
        Ok(Self {
            dt: positive(name, "dt", dt)?,
            scheme: Scheme::default(),
            z: Vec::new(),
            steps: 0,
        })
    }

    /// The checks of [`Self::step`].
    pub(crate) fn check(&self, name: &'static str, params: &[T], grads: &[T]) -> Result<()> {
        check_step(name, self.steps, params, grads, Some(self.z.len()))
    }

    /// Checks, then advances `(W, Z)` with `Z' = accel(Z, g)`, where `g` is
    /// the gradient the caller passes.
    #[inline]
    pub(crate) fn step(
        &mut self,
        name: &'static str,
        params: &mut [T],
        grads: &[T],
        accel: impl Fn(T, T) -> T,
    ) -> Result<()> {
        self.check(name, params, grads)?;
        ensure_len(&mut self.z, params.len(), T::ZERO);
        let dt = T::from_f64(self.dt);
        let triples = params.iter_mut().zip(self.z.iter_mut()).zip(grads);
        match self.scheme {
            Scheme::ExplicitEuler => {
                for ((w, z), &g) in triples {
                    let z_old = *z;
                    *z = z_old + dt * accel(z_old, g);
                    *w += dt * z_old;
                }
            }
            Scheme::SemiImplicitEuler => {
                for ((w, z), &g) in triples {
                    *z += dt * accel(*z, g);
                    *w += dt * *z;
                }
            }
        }
        self.steps += 1;
        Ok(())
    }

    pub(crate) fn reset(&mut self) {
        self.z.clear();
        self.steps = 0;
    }

    pub(crate) fn set_dt(&mut self, name: &'static str, dt: f64) -> Result<()> {
        self.dt = step_size(name, "dt", dt)?;
        Ok(())
    }

    /// The scheme as a setting: `semi_implicit`, 1 for
    /// [`Scheme::SemiImplicitEuler`], 0 for [`Scheme::ExplicitEuler`].
    pub(crate) fn scheme_setting(&self) -> (&'static str, f64) {
        (
            "semi_implicit",
            flag(self.scheme == Scheme::SemiImplicitEuler),
        )
    }

    /// `|Z|^2`, 0 before the first step.
    pub(crate) fn z_norm_squared(&self) -> f64 {
        norm_squared(&self.z)
    }

    /// `settings`: the wrapper's, the scheme's included.
    pub(crate) fn state(&self, name: &'static str, settings: &Settings) -> OptimizerState<T> {
        export_state(name, self.steps, self.dt, settings, &[("z", &self.z)])
    }

    pub(crate) fn load_state(
        &mut self,
        name: &'static str,
        settings: &Settings,
        state: &OptimizerState<T>,
    ) -> Result<()> {
        let [z] = take_buffers(name, settings, state, ["z"])?;
        self.set_dt(name, state.learning_rate)?;
        self.z = z;
        self.steps = state.steps;
        Ok(())
    }
}

/// Implements the [`Optimizer`] methods every [`SecondOrder`] wrapper
/// forwards unchanged; the wrapper has a `settings(&self) -> Settings`.
macro_rules! forward_second_order {
    () => {
        fn reset(&mut self) {
            self.inner.reset();
        }
        fn steps(&self) -> u64 {
            self.inner.steps
        }
        fn learning_rate(&self) -> f64 {
            self.inner.dt
        }
        fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
            self.inner.set_dt(Self::NAME, lr)
        }
        fn state(&self) -> OptimizerState<T> {
            self.inner.state(Self::NAME, &self.settings())
        }
        fn load_state(&mut self, state: &OptimizerState<T>) -> Result<()> {
            self.inner.load_state(Self::NAME, &self.settings(), state)
        }
    };
}
pub(crate) use forward_second_order;

/// The heavy-ball method: a unit mass in the potential `J` (Remark 5.2.2).
///
/// ```text
/// W' = Z,  Z' = -grad J(W)                                        (5.16)
/// W^{n+1} = W^n + dt Z^n,  Z^{n+1} = Z^n - dt grad J(W^n)         (5.17)
/// ```
///
/// (5.17) is [`Scheme::ExplicitEuler`], the default;
/// [`Scheme::SemiImplicitEuler`] updates `W` with `Z^{n+1}` instead.
/// `Z^0 = 0`. Energy (Lemma 5.2.1, conserved by the ODE, not by (5.17)):
/// `J(W) + |Z|^2 / 2`.
///
/// ```
/// use optim::{HeavyBall, Optimizer, Scheme};
/// let mut hb = HeavyBall::new(0.1)?.with_scheme(Scheme::SemiImplicitEuler);
/// let mut w = [1.0f64];
/// hb.step(&mut w, &[1.0])?; // Z = -0.1, then W = 1 + 0.1 * (-0.1)
/// assert!((w[0] - 0.99).abs() < 1e-15);
/// assert_eq!(hb.energy(0.5), Some(0.5 + 0.5 * 0.01));
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HeavyBall<T> {
    inner: SecondOrder<T>,
}

impl<T: Float> HeavyBall<T> {
    const NAME: &'static str = "heavy_ball";

    /// Heavy ball with time step `dt`, explicit Euler (5.17).
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `dt` is finite and `> 0`.
    pub fn new(dt: f64) -> Result<Self> {
        Ok(Self {
            inner: SecondOrder::new(Self::NAME, dt)?,
        })
    }

    /// Chooses the time-stepping scheme.
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.inner.scheme = scheme;
        self
    }

    /// The moment `Z` (empty before the first step).
    pub fn moment(&self) -> &[T] {
        &self.inner.z
    }

    /// `semi_implicit`.
    fn settings(&self) -> Settings {
        vec![self.inner.scheme_setting()]
    }
}

impl<T: Float> Optimizer<T> for HeavyBall<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        self.inner.check(Self::NAME, params, grads)
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        self.inner.step(Self::NAME, params, grads, |_, g| -g)
    }

    /// `J(W) + |Z|^2 / 2` (Lemma 5.2.1).
    fn energy(&self, j: f64) -> Option<f64> {
        Some(j + 0.5 * self.inner.z_norm_squared())
    }

    forward_second_order!();
}

/// Nesterov's method as the seed's ODE: the force is taken at the
/// lookahead point `W + nu Z`.
///
/// ```text
/// W' = Z,  Z' = -grad J(W + nu Z)                                 (5.19)
/// W^{n+1} = W^n + dt Z^n
/// Z^{n+1} = Z^n - dt grad J(W^n + nu Z^n)         (explicit Euler, default)
/// ```
///
/// With [`Scheme::SemiImplicitEuler`] the position update uses `Z^{n+1}`.
/// `Z^0 = 0`. The gradient passed to [`Optimizer::step`] must be taken at
/// the point [`Optimizer::gradient_point`] writes, `W^n + nu Z^n`; with
/// `nu = 0` this is the heavy ball. Energy (5.20), decreasing at rate
/// `nu |grad J(W + nu Z)|^2` along the ODE: `J(W + nu Z) + |Z|^2 / 2`, so
/// [`Optimizer::energy`] expects `J` at the lookahead point.
///
/// This is not PyTorch's `SGD(nesterov=True)`: that one is [`crate::Sgd`]
/// with [`crate::Momentum::Nesterov`].
///
/// ```
/// use optim::{Nesterov, Optimizer};
/// let mut nag = Nesterov::new(0.1, 0.5)?;
/// let mut w = [1.0f64];
/// let mut at = [0.0];
/// assert!(nag.gradient_point(&w, &mut at)?); // Z = 0: at = w
/// nag.step(&mut w, &at)?;                     // grad of |w|^2/2 is w
/// assert!(nag.gradient_point(&w, &mut at)?);
/// assert!((at[0] - (1.0 + 0.5 * -0.1)).abs() < 1e-15); // W + nu Z
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Nesterov<T> {
    inner: SecondOrder<T>,
    /// Acceleration parameter `nu >= 0`.
    nu: f64,
}

impl<T: Float> Nesterov<T> {
    const NAME: &'static str = "nesterov";

    /// Nesterov ODE method with time step `dt` and acceleration `nu`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `dt > 0` and `nu >= 0`, both
    /// finite.
    pub fn new(dt: f64, nu: f64) -> Result<Self> {
        Ok(Self {
            inner: SecondOrder::new(Self::NAME, dt)?,
            nu: non_negative(Self::NAME, "nu", nu)?,
        })
    }

    /// Chooses the time-stepping scheme.
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.inner.scheme = scheme;
        self
    }

    /// The moment `Z` (empty before the first step).
    pub fn moment(&self) -> &[T] {
        &self.inner.z
    }

    /// `nu`, `semi_implicit`.
    fn settings(&self) -> Settings {
        vec![("nu", self.nu), self.inner.scheme_setting()]
    }
}

impl<T: Float> Optimizer<T> for Nesterov<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        self.inner.check(Self::NAME, params, grads)
    }

    /// `grads` must be `grad J(W^n + nu Z^n)`, see
    /// [`Optimizer::gradient_point`].
    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        self.inner.step(Self::NAME, params, grads, |_, g| -g)
    }

    /// Writes `W + nu Z` into `out` (`W` itself before the first step) and
    /// returns `true`.
    fn gradient_point(&self, params: &[T], out: &mut [T]) -> Result<bool> {
        if out.len() != params.len() {
            return Err(Error::LengthMismatch {
                optimizer: Self::NAME,
                what: "gradient point buffer".into(),
                expected: params.len(),
                got: out.len(),
            });
        }
        check_state_len(Self::NAME, params.len(), Some(self.inner.z.len()))?;
        if self.inner.z.is_empty() {
            out.copy_from_slice(params);
        } else {
            let nu = T::from_f64(self.nu);
            for ((o, &w), &z) in out.iter_mut().zip(params).zip(&self.inner.z) {
                *o = w + nu * z;
            }
        }
        Ok(true)
    }

    /// `J(W + nu Z) + |Z|^2 / 2` (5.20); `j` is `J` at the lookahead point.
    fn energy(&self, j: f64) -> Option<f64> {
        Some(j + 0.5 * self.inner.z_norm_squared())
    }

    forward_second_order!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_euler_moves_with_the_old_moment() {
        let mut hb = HeavyBall::new(0.5).unwrap();
        let mut w = [1.0f64];
        // Z^0 = 0: W stays, Z^1 = -0.5 * 2.
        hb.step(&mut w, &[2.0]).unwrap();
        assert_eq!((w[0], hb.moment()[0]), (1.0, -1.0));
        // W^2 = 1 + 0.5 * (-1), Z^2 = -1 - 0.5 * 2.
        hb.step(&mut w, &[2.0]).unwrap();
        assert_eq!((w[0], hb.moment()[0]), (0.5, -2.0));
    }

    #[test]
    fn semi_implicit_euler_moves_with_the_new_moment() {
        let mut hb = HeavyBall::new(0.5)
            .unwrap()
            .with_scheme(Scheme::SemiImplicitEuler);
        let mut w = [1.0f64];
        // Z^1 = -0.5 * 2 = -1, W^1 = 1 + 0.5 * (-1).
        hb.step(&mut w, &[2.0]).unwrap();
        assert_eq!((w[0], hb.moment()[0]), (0.5, -1.0));
    }

    #[test]
    fn nesterov_with_zero_nu_is_the_heavy_ball() {
        let mut hb = HeavyBall::new(0.1).unwrap();
        let mut nag = Nesterov::new(0.1, 0.0).unwrap();
        let (mut a, mut b) = ([1.0f64, -0.5], [1.0f64, -0.5]);
        let mut at = [0.0; 2];
        for _ in 0..20 {
            let ga = a; // grad of |w|^2/2
            hb.step(&mut a, &ga).unwrap();
            assert!(nag.gradient_point(&b, &mut at).unwrap());
            nag.step(&mut b, &at).unwrap();
        }
        assert_eq!(a, b);
    }

    #[test]
    fn nesterov_gradient_point_rejects_a_short_buffer() {
        let nag = Nesterov::<f32>::new(0.1, 0.5).unwrap();
        let mut out = [0.0f32; 1];
        assert!(matches!(
            nag.gradient_point(&[1.0, 2.0], &mut out),
            Err(Error::LengthMismatch {
                expected: 2,
                got: 1,
                ..
            })
        ));
    }

    #[test]
    fn negative_nu_is_rejected() {
        assert!(Nesterov::<f64>::new(0.1, -1.0).is_err());
    }
}
