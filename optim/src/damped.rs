//! Momentum with damping: the friction (5.21) and relaxation (5.22)
//! systems, advanced by the integrator of `momentum`.

use crate::momentum::{forward_second_order, Scheme, SecondOrder};
use crate::optimizer::{non_negative, positive, Settings};
use crate::{Error, Float, Optimizer, OptimizerState, Result};

/// Heavy ball with a friction of bounded strength `nu` (5.21).
///
/// ```text
/// W' = Z,  Z' = -grad J(W) - nu Z / sqrt(|Z|^2 + eps)             (5.21)
/// W^{n+1} = W^n + dt Z^n
/// Z^{n+1} = Z^n - dt (grad J(W^n) + nu Z^n / sqrt(|Z^n|^2 + eps))
/// ```
///
/// Explicit Euler by default; with [`Scheme::SemiImplicitEuler`] the
/// position update uses `Z^{n+1}`. `|Z|` is the Euclidean norm of the whole
/// moment vector (one reduction per step). `Z^0 = 0`. Energy, decreasing
/// at rate `nu |Z|^2 / sqrt(|Z|^2 + eps)` along the ODE: `J(W) + |Z|^2 / 2`.
///
/// Choosing `eps`: for `|Z|^2 << eps` the friction is linear,
/// `nu Z / sqrt(eps)`; for `|Z|^2 >> eps` it has the constant strength `nu`
/// of dry (Coulomb) friction, which vanishes slowly near the minimum: with a
/// tiny `eps` the scheme chatters around `Z = 0` with amplitude `dt nu` and
/// creeps where `|grad J| < nu`. An `eps` of the order of the final `|Z|^2`
/// converges faster.
///
/// ```
/// use optim::{Friction, Optimizer};
/// let mut fr = Friction::new(0.1, 1.0, 1e-8)?;
/// let mut w = [1.0f32, 2.0];
/// fr.step(&mut w, &[1.0, 2.0])?;
/// assert_eq!(fr.moment(), &[-0.1, -0.2]); // friction is off at Z = 0
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Friction<T> {
    inner: SecondOrder<T>,
    /// Friction strength `nu >= 0`.
    nu: f64,
    /// Regularisation `eps > 0` of the norm at `Z = 0`.
    eps: f64,
}

impl<T: Float> Friction<T> {
    const NAME: &'static str = "friction";

    /// Friction method with time step `dt`, strength `nu`, regularisation
    /// `eps`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `dt > 0`, `nu >= 0` and
    /// `eps > 0`, all finite, with the friction's largest coefficient
    /// `nu / sqrt(eps)` (at `Z = 0`) finite as a `T`.
    pub fn new(dt: f64, nu: f64, eps: f64) -> Result<Self> {
        let (nu, eps) = (
            non_negative(Self::NAME, "nu", nu)?,
            positive(Self::NAME, "eps", eps)?,
        );
        // An infinite coefficient times Z = 0 would be a NaN moment.
        if !T::from_f64(nu / eps.sqrt()).is_finite() {
            return Err(Error::InvalidHyperparameter {
                optimizer: Self::NAME,
                parameter: "eps",
                expected: "large enough that nu / sqrt(eps) is finite in the number type",
                got: eps,
            });
        }
        Ok(Self {
            inner: SecondOrder::new(Self::NAME, dt)?,
            nu,
            eps,
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

    /// `nu`, `eps`, `semi_implicit`.
    fn settings(&self) -> Settings {
        vec![
            ("nu", self.nu),
            ("eps", self.eps),
            self.inner.scheme_setting(),
        ]
    }
}

impl<T: Float> Optimizer<T> for Friction<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        self.inner.check(Self::NAME, params, grads)
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        // The damping coefficient depends on |Z^n| only: computed once.
        let c = T::from_f64(self.nu / (self.inner.z_norm_squared() + self.eps).sqrt());
        self.inner
            .step(Self::NAME, params, grads, |z, g| -g - c * z)
    }

    /// `J(W) + |Z|^2 / 2`.
    fn energy(&self, j: f64) -> Option<f64> {
        Some(j + 0.5 * self.inner.z_norm_squared())
    }

    forward_second_order!();
}

/// Momentum relaxing towards `-grad J` with relaxation time `eps` (5.22).
///
/// ```text
/// W' = Z,  Z' = -(grad J(W) + Z) / eps                            (5.22)
/// W^{n+1} = W^n + dt Z^n
/// Z^{n+1} = Z^n - (dt / eps) (grad J(W^n) + Z^n)
/// ```
///
/// Explicit Euler by default; with [`Scheme::SemiImplicitEuler`] the
/// position update uses `Z^{n+1}`. `Z^0 = 0`. The moment update is stable
/// for `dt < 2 eps` (its damping factor is `1 - dt/eps`). Energy
/// (Lemma 5.2.4), decreasing at rate `|Z|^2` along the ODE:
/// `J(W) + eps |Z|^2 / 2`.
///
/// ```
/// use optim::{Optimizer, Relaxation};
/// let mut rx = Relaxation::new(0.1, 0.5)?;
/// let mut w = [1.0f64];
/// rx.step(&mut w, &[1.0])?;
/// assert!((rx.moment()[0] + 0.2).abs() < 1e-15); // -(0.1/0.5) * 1
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Relaxation<T> {
    inner: SecondOrder<T>,
    /// Relaxation time `eps > 0`.
    eps: f64,
}

impl<T: Float> Relaxation<T> {
    const NAME: &'static str = "relaxation";

    /// Relaxation method with time step `dt` and relaxation time `eps`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `dt > 0` and `eps > 0`,
    /// both finite.
    pub fn new(dt: f64, eps: f64) -> Result<Self> {
        Ok(Self {
            inner: SecondOrder::new(Self::NAME, dt)?,
            eps: positive(Self::NAME, "eps", eps)?,
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

    /// `eps`, `semi_implicit`.
    fn settings(&self) -> Settings {
        vec![("eps", self.eps), self.inner.scheme_setting()]
    }
}

impl<T: Float> Optimizer<T> for Relaxation<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        self.inner.check(Self::NAME, params, grads)
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        let inv_eps = T::from_f64(1.0 / self.eps);
        self.inner
            .step(Self::NAME, params, grads, |z, g| -(g + z) * inv_eps)
    }

    /// `J(W) + eps |Z|^2 / 2` (Lemma 5.2.4).
    fn energy(&self, j: f64) -> Option<f64> {
        Some(j + 0.5 * self.eps * self.inner.z_norm_squared())
    }

    forward_second_order!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friction_damps_the_moment_by_nu_over_its_norm() {
        let mut fr = Friction::new(0.5, 1.0, 1e-300).unwrap();
        let mut w = [0.0f64, 0.0];
        // Step 1: Z^1 = -0.5 * (3, 4) = (-1.5, -2), |Z^1| = 2.5.
        fr.step(&mut w, &[3.0, 4.0]).unwrap();
        // Step 2 with zero gradient: Z^2 = Z^1 (1 - 0.5 / 2.5) = 0.8 Z^1.
        fr.step(&mut w, &[0.0, 0.0]).unwrap();
        let z = fr.moment();
        assert!(
            (z[0] + 1.2).abs() < 1e-12 && (z[1] + 1.6).abs() < 1e-12,
            "{z:?}"
        );
    }

    #[test]
    fn friction_coefficient_is_nu_over_the_root_of_the_squared_norm_plus_eps() {
        // eps = 2.75 is not negligible: c = nu / sqrt(|Z|^2 + eps), not
        // nu / (|Z| + eps) nor nu / |Z|.
        let mut fr = Friction::new(0.5, 1.5, 2.75).unwrap();
        let mut w = [0.0f64, 0.0];
        // Step 1 (Z^0 = 0, no friction): Z^1 = -0.5 * (3, 4) = (-1.5, -2).
        fr.step(&mut w, &[3.0, 4.0]).unwrap();
        // Step 2, zero gradient: c = 1.5 / sqrt(6.25 + 2.75) = 0.5, and
        // Z^2 = Z^1 (1 - 0.5 * 0.5) = 0.75 Z^1, exactly in binary.
        fr.step(&mut w, &[0.0, 0.0]).unwrap();
        assert_eq!(fr.moment(), &[-1.125, -1.5]);
    }

    #[test]
    fn relaxation_moment_converges_to_minus_the_gradient() {
        let mut rx = Relaxation::new(0.01, 0.1).unwrap();
        // Fixed W (huge J scale irrelevant): feed a constant gradient.
        let mut w = [0.0f64];
        for _ in 0..2000 {
            rx.step(&mut w, &[3.0]).unwrap();
        }
        assert!((rx.moment()[0] + 3.0).abs() < 1e-9);
    }

    #[test]
    fn non_positive_eps_is_rejected() {
        assert!(Relaxation::<f64>::new(0.1, 0.0).is_err());
        assert!(Friction::<f64>::new(0.1, 1.0, 0.0).is_err());
        assert!(Friction::<f64>::new(0.1, -1.0, 1.0).is_err());
    }
}
