//! The seed's ODE form of Adam (5.23), its discretisation (5.25), and the
//! relaxation-time condition of Lemma 5.2.6 / Remark 5.2.7.

use crate::optimizer::{
    check_state_values, check_step, ensure_len, export_state, first_where, positive, positive_in,
    step_size, take_buffers, Settings,
};
use crate::{Error, Float, Optimizer, OptimizerState, Result};

/// Relative tolerance of [`RelaxationTimes::satisfies_energy_condition`].
///
/// Betas written in decimal are not exact in binary: for Algorithm 8's
/// `beta1 = 0.9, beta2 = 0.6`, which sit exactly on the boundary
/// `eps1 = 4 eps2`, the computed ratio `eps1 / (4 eps2)` is
/// `1 + 2.2e-16`. Ratios up to `1 + 1e-12` count as on the boundary.
pub const ENERGY_CONDITION_RTOL: f64 = 1e-12;

/// The relaxation times `eps1` (of the moment `Z`) and `eps2` (of the
/// diagonal `D`) of the ODE (5.23).
///
/// For Adam with step `alpha = dt` and decay rates `beta1, beta2`
/// (Remark 5.2.7): `eps1 = dt / (1 - beta1)`, `eps2 = dt / (1 - beta2)`,
/// i.e. `beta = 1 - dt / eps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelaxationTimes {
    /// Relaxation time of the moment `Z`.
    pub eps1: f64,
    /// Relaxation time of the diagonal `D`.
    pub eps2: f64,
}

impl RelaxationTimes {
    /// The times matching Adam's decay rates at step `dt = alpha`:
    /// `eps = dt / (1 - beta)`.
    pub fn from_betas(dt: f64, beta1: f64, beta2: f64) -> Self {
        Self {
            eps1: dt / (1.0 - beta1),
            eps2: dt / (1.0 - beta2),
        }
    }

    /// `eps1 / (4 eps2)`: at most 1 when the condition holds. For Adam it
    /// equals `(1 - beta2) / (4 (1 - beta1))`, independent of `dt`.
    pub fn ratio(&self) -> f64 {
        self.eps1 / (4.0 * self.eps2)
    }

    /// Whether `eps1 <= 4 eps2`, the hypothesis under which the energy (5.24)
    /// decreases along the ODE (Lemma 5.2.6); for Adam it reads
    /// `4 (beta1 - 1) <= beta2 - 1` (Remark 5.2.7). Compared with the
    /// relative tolerance [`ENERGY_CONDITION_RTOL`].
    pub fn satisfies_energy_condition(&self) -> bool {
        self.ratio() <= 1.0 + ENERGY_CONDITION_RTOL
    }
}

/// The explicit Euler discretisation (5.25) of the seed's ODE model of Adam
/// (5.23), without bias correction.
///
/// ```text
/// W' = D^{-1/2} Z,  Z' = -(grad J(W) + Z) / eps1,
/// D' = (diag(grad J(W) ⊗ grad J(W)) - D) / eps2                   (5.23)
///
/// W^{n+1} = W^n + dt (D^n)^{-1/2} Z^n
/// Z^{n+1} = Z^n - (dt / eps1) (grad J(W^n) + Z^n)
/// D^{n+1} = D^n + (dt / eps2) (grad J(W^n)^2 - D^n)               (5.25)
/// ```
///
/// with `Z^0 = 0`, `D^0 = d0 > 0` (every entry). Requires `dt <= eps1` and
/// `dt < eps2`, i.e. `beta1 = 1 - dt/eps1` in `[0, 1)` and
/// `beta2 = 1 - dt/eps2` in `(0, 1)`: then
/// `D^{n+1} >= (1 - dt/eps2) D^n > 0`, the discrete Lemma 5.2.5, and
/// `D^{-1/2}` never divides by zero (an entry that would round to 0 among
/// the subnormals keeps its `D^n`).
///
/// Energy (5.24), non-increasing along the ODE when `eps1 <= 4 eps2`
/// (Lemma 5.2.6, see [`AdamOde::relaxation_times`]):
/// `J(W) + (eps1 / 2) <D^{-1/2} Z, Z>`.
///
/// In Adam's notation (`theta = W`, `m = -Z`, `v = D`) this is Adam with
/// the update taken from the *old* moments and no bias correction; the
/// seed's rewriting (5.26) of it has a typo (`beta2 V^n` must read
/// `beta2 D^n`), and (5.27) is not Adam: use [`crate::Adam`] for Adam.
///
/// ```
/// use optim::{AdamOde, Optimizer};
/// let mut ode = AdamOde::new(0.01, 0.1, 1.0, 1.0)?;
/// assert!(ode.relaxation_times().satisfies_energy_condition());
/// let mut w = [1.0f64];
/// ode.step(&mut w, &[2.0])?; // Z^0 = 0: W unchanged
/// assert_eq!(w, [1.0]);
/// assert!((ode.moment()[0] + 0.2).abs() < 1e-15); // -(0.01/0.1) * 2
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AdamOde<T> {
    /// Time step.
    dt: f64,
    times: RelaxationTimes,
    /// Initial value of every diagonal entry of `D`.
    d0: f64,
    z: Vec<T>,
    d: Vec<T>,
    steps: u64,
}

impl<T: Float> AdamOde<T> {
    const NAME: &'static str = "adam_ode";

    /// Scheme (5.25) with time step `dt`, relaxation times `eps1`, `eps2`
    /// and `D^0 = d0`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless all four are finite and
    /// `> 0`, `dt <= eps1` and `dt < eps2`, and `d0` is also finite and
    /// `> 0` as a `T` (not below about `1.4e-45` in `f32`).
    pub fn new(dt: f64, eps1: f64, eps2: f64, d0: f64) -> Result<Self> {
        let times = RelaxationTimes {
            eps1: positive(Self::NAME, "eps1", eps1)?,
            eps2: positive(Self::NAME, "eps2", eps2)?,
        };
        let dt = Self::check_dt(times, positive(Self::NAME, "dt", dt)?)?;
        Ok(Self {
            dt,
            times,
            d0: positive_in::<T>(Self::NAME, "d0", d0)?,
            z: Vec::new(),
            d: Vec::new(),
            steps: 0,
        })
    }

    /// Scheme (5.25) with Adam's parameters: `dt = alpha`,
    /// `eps1 = alpha / (1 - beta1)`, `eps2 = alpha / (1 - beta2)`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] unless `alpha, d0 > 0`,
    /// `beta1` in `[0, 1)` and `beta2` in `(0, 1)`.
    pub fn from_betas(alpha: f64, beta1: f64, beta2: f64, d0: f64) -> Result<Self> {
        crate::optimizer::decay_rate(Self::NAME, "beta1", beta1)?;
        // beta2 = 0 gives eps2 = dt, which `new` refuses: named here as what
        // the caller passed.
        if !(beta2 > 0.0 && beta2 < 1.0) {
            return Err(Error::InvalidHyperparameter {
                optimizer: Self::NAME,
                parameter: "beta2",
                expected: "in (0, 1)",
                got: beta2,
            });
        }
        // alpha / (1 - beta) >= alpha holds in floating point too (division
        // by a number <= 1 rounds monotonically), so `new` accepts dt = alpha.
        let times = RelaxationTimes::from_betas(alpha, beta1, beta2);
        Self::new(alpha, times.eps1, times.eps2, d0)
    }

    /// `dt` if it is a step size (see [`step_size`]) within the relaxation
    /// times.
    fn check_dt(times: RelaxationTimes, dt: f64) -> Result<f64> {
        let dt = step_size(Self::NAME, "dt", dt)?;
        if dt <= times.eps1 && dt < times.eps2 {
            Ok(dt)
        } else {
            Err(Error::InvalidHyperparameter {
                optimizer: Self::NAME,
                parameter: "dt",
                expected: "<= eps1 and < eps2",
                got: dt,
            })
        }
    }

    /// `eps1`, `eps2` and the condition `eps1 <= 4 eps2` of Lemma 5.2.6.
    pub fn relaxation_times(&self) -> RelaxationTimes {
        self.times
    }

    /// The moment `Z` (empty before the first step).
    pub fn moment(&self) -> &[T] {
        &self.z
    }

    /// The diagonal `D` (empty before the first step).
    pub fn diagonal(&self) -> &[T] {
        &self.d
    }

    /// `eps1`, `eps2`, `d0` (which fills `D` on the first step).
    fn settings(&self) -> Settings {
        vec![
            ("eps1", self.times.eps1),
            ("eps2", self.times.eps2),
            ("d0", self.d0),
        ]
    }
}

impl<T: Float> Optimizer<T> for AdamOde<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        check_step(Self::NAME, self.steps, params, grads, Some(self.z.len()))?;
        let k2 = T::from_f64(self.dt / self.times.eps2);
        // A finite gradient can still overflow D (|g| past about 1.8e19 in
        // f32): refused before anything changes, as the update computes it.
        // `d` is empty before the first step.
        let found = if self.d.is_empty() {
            let d_init = T::from_f64(self.d0);
            first_where(grads.len(), |i| !next_d(k2, d_init, grads[i]).is_finite())
        } else {
            let d = &self.d[..grads.len()];
            first_where(grads.len(), |i| !next_d(k2, d[i], grads[i]).is_finite())
        };
        match found {
            Some(index) => Err(Error::MomentOverflow {
                optimizer: Self::NAME,
                index,
                value: grads[index].to_f64(),
            }),
            None => Ok(()),
        }
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        self.check(params, grads)?;
        let dt = T::from_f64(self.dt);
        let k1 = T::from_f64(self.dt / self.times.eps1);
        let k2 = T::from_f64(self.dt / self.times.eps2);
        let d_init = T::from_f64(self.d0);
        ensure_len(&mut self.z, params.len(), T::ZERO);
        ensure_len(&mut self.d, params.len(), d_init);
        let moments = self.z.iter_mut().zip(self.d.iter_mut());
        for ((w, (z, d)), &g) in params.iter_mut().zip(moments).zip(grads) {
            let (z0, d0) = (*z, *d);
            *w += dt * z0 / d0.sqrt();
            *z = z0 - k1 * (g + z0);
            let d1 = next_d(k2, d0, g);
            // D^{n+1} >= (1 - dt/eps2) D^n > 0 exactly; a 0 is rounding
            // (dt/eps2 > 1/2 on the least subnormal, after a run of zero
            // gradients), and the next step would divide by it: keep D^n.
            *d = if d1 == T::ZERO { d0 } else { d1 };
        }
        self.steps += 1;
        Ok(())
    }

    fn reset(&mut self) {
        self.z.clear();
        self.d.clear();
        self.steps = 0;
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn learning_rate(&self) -> f64 {
        self.dt
    }

    /// Sets `dt`; `eps1`, `eps2` are kept (so the betas change).
    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        self.dt = Self::check_dt(self.times, lr)?;
        Ok(())
    }

    /// `J(W) + (eps1 / 2) <D^{-1/2} Z, Z>` (5.24); `J` before the first step.
    fn energy(&self, j: f64) -> Option<f64> {
        let quad: f64 = self
            .z
            .iter()
            .zip(&self.d)
            .map(|(&z, &d)| z.to_f64() * z.to_f64() / d.to_f64().sqrt())
            .sum();
        Some(j + 0.5 * self.times.eps1 * quad)
    }

    fn state(&self) -> OptimizerState<T> {
        export_state(
            Self::NAME,
            self.steps,
            self.dt,
            &self.settings(),
            &[("z", &self.z), ("d", &self.d)],
        )
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<()> {
        let [z, d] = take_buffers(Self::NAME, &self.settings(), state, ["z", "d"])?;
        // The step divides by sqrt(D), which the scheme keeps > 0 (D^0 > 0,
        // dt < eps2).
        check_state_values(Self::NAME, "d", &d, "finite and > 0", |d| d > 0.0)?;
        self.set_learning_rate(state.learning_rate)?;
        (self.z, self.d) = (z, d);
        self.steps = state.steps;
        Ok(())
    }
}

/// `D` updated by `g` (5.25): `D + (dt / eps2) (g^2 - D)`.
#[inline(always)]
fn next_d<T: Float>(k2: T, d: T, g: T) -> T {
    d + k2 * (g * g - d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_defaults_give_the_relaxation_times_of_remark_5_2_7() {
        let t = RelaxationTimes::from_betas(1e-3, 0.9, 0.999);
        assert!((t.eps1 - 0.01).abs() < 1e-15 && (t.eps2 - 1.0).abs() < 1e-12);
        assert!(t.satisfies_energy_condition());
    }

    #[test]
    fn diagonal_relaxes_towards_the_squared_gradient() {
        let mut ode = AdamOde::new(0.1, 0.1, 0.5, 1.0).unwrap();
        let mut w = [0.0f64];
        // D^1 = 1 + 0.2 (9 - 1) = 2.6; Z^1 = -(3 + 0) = -3.
        ode.step(&mut w, &[3.0]).unwrap();
        assert!((ode.diagonal()[0] - 2.6).abs() < 1e-15);
        assert!((ode.moment()[0] + 3.0).abs() < 1e-15);
        // W^2 = 0 + 0.1 * (-3) / sqrt(2.6).
        ode.step(&mut w, &[3.0]).unwrap();
        assert!((w[0] + 0.3 / 2.6f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn diagonal_never_rounds_to_zero_under_zero_gradients() {
        // dt/eps2 = 0.6: from 1e-8, D shrinks by 0.4 a step down to the
        // least f32 subnormal, where 0.6 of it rounds to all of it.
        let mut ode = AdamOde::<f32>::new(0.6, 6.0, 1.0, 1e-8).unwrap();
        let mut w = [1.0f32, 1.0];
        for _ in 0..300 {
            ode.step(&mut w, &[0.0, 0.5]).unwrap();
        }
        assert_eq!(w[0], 1.0, "a zero gradient moved (or NaN'd) the parameter");
        assert!(ode.diagonal()[0] > 0.0, "{:?}", ode.diagonal());
        // The state of such a run loads again (load_state wants D > 0).
        let mut fresh = AdamOde::<f32>::new(0.6, 6.0, 1.0, 1e-8).unwrap();
        fresh.load_state(&ode.state()).unwrap();
    }

    #[test]
    fn from_betas_names_beta2_when_it_is_zero() {
        match AdamOde::<f64>::from_betas(1e-3, 0.9, 0.0, 1.0) {
            Err(Error::InvalidHyperparameter { parameter, got, .. }) => {
                assert_eq!((parameter, got), ("beta2", 0.0))
            }
            other => panic!("{other:?}"),
        }
        assert!(AdamOde::<f64>::from_betas(1e-3, 0.0, 0.5, 1.0).is_ok());
    }

    #[test]
    fn dt_beyond_a_relaxation_time_is_rejected() {
        assert!(AdamOde::<f64>::new(0.2, 0.1, 1.0, 1.0).is_err());
        assert!(AdamOde::<f64>::new(0.1, 0.1, 0.1, 1.0).is_err());
        assert!(AdamOde::<f64>::new(0.1, 0.1, 1.0, 0.0).is_err());
        assert!(AdamOde::<f64>::from_betas(1e-3, 0.9, 1.0, 1.0).is_err());
    }
}
