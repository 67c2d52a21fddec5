//! Steepest descent (5.2).

use crate::optimizer::{check_step, export_state, positive, step_size, take_buffers};
use crate::{Float, Optimizer, OptimizerState, Result};

/// Steepest gradient descent, the explicit Euler scheme for the gradient
/// flow (5.3).
///
/// ```text
/// W^{n+1} = W^n - dt grad J(W^n)                                  (5.2)
/// ```
///
/// For `beta >= Hess J >= alpha > 0` and `dt < 2 alpha / beta^2` the error
/// contracts by `sqrt(1 - 2 dt alpha + dt^2 beta^2) < 1` per step
/// (Lemma 5.1.3). Stateless: its checkpoint holds no buffer.
///
/// ```
/// use optim::{GradientDescent, Optimizer};
/// let mut gd = GradientDescent::new(0.5)?;
/// let mut w = [2.0f32];
/// gd.step(&mut w, &[4.0])?;
/// assert_eq!(w, [0.0]);
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GradientDescent {
    /// Time step `dt > 0`.
    dt: f64,
    steps: u64,
}

impl GradientDescent {
    const NAME: &'static str = "gradient_descent";

    /// Gradient descent with time step `dt`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidHyperparameter`] unless `dt` is finite and `> 0`.
    pub fn new(dt: f64) -> Result<Self> {
        Ok(Self {
            dt: positive(Self::NAME, "dt", dt)?,
            steps: 0,
        })
    }
}

impl<T: Float> Optimizer<T> for GradientDescent {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        Optimizer::<T>::check(self, params, grads)?;
        let dt = T::from_f64(self.dt);
        for (w, &g) in params.iter_mut().zip(grads) {
            *w -= dt * g;
        }
        self.steps += 1;
        Ok(())
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        check_step(Self::NAME, self.steps, params, grads, None)
    }

    fn reset(&mut self) {
        self.steps = 0;
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn learning_rate(&self) -> f64 {
        self.dt
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        self.dt = step_size(Self::NAME, "dt", lr)?;
        Ok(())
    }

    fn state(&self) -> OptimizerState<T> {
        export_state(Self::NAME, self.steps, self.dt, &[], &[])
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<()> {
        let [] = take_buffers(Self::NAME, &[], state, [])?;
        Optimizer::<T>::set_learning_rate(self, state.learning_rate)?;
        self.steps = state.steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_step_moves_against_the_gradient_by_dt() {
        let mut gd = GradientDescent::new(0.25).unwrap();
        let mut w = [1.0f64, -1.0];
        gd.step(&mut w, &[2.0, -4.0]).unwrap();
        // w - 0.25 g = (1 - 0.5, -1 + 1)
        assert_eq!(w, [0.5, 0.0]);
    }

    #[test]
    fn non_positive_dt_is_rejected() {
        assert!(GradientDescent::new(0.0).is_err());
        assert!(GradientDescent::new(-1.0).is_err());
        assert!(GradientDescent::new(f64::NAN).is_err());
    }
}
