//! Choosing a method at run time, by name (a command line, a config file).

use crate::{Builder, Float, Optimizer, Result};

/// The names [`by_name`] and [`Builder::new`] accept (`-` may stand for
/// `_`), each with the hyperparameters [`by_name`] uses besides the step
/// `lr` ([`crate::Hyperparameter`] names the ones [`Builder`] can set):
///
/// | name | method |
/// | --- | --- |
/// | `gradient_descent` | (5.2), `dt = lr` |
/// | `heavy_ball` | (5.17), explicit Euler, `dt = lr` |
/// | `heavy_ball_symplectic` | (5.16), semi-implicit Euler, `dt = lr` |
/// | `nesterov` | (5.19), `dt = lr`, `nu = 1` |
/// | `friction` | (5.21), `dt = lr`, `nu = 1`, `eps = 1e-8` |
/// | `relaxation` | (5.22), `dt = lr`, `eps = 10 lr` (momentum 0.9) |
/// | `adam_ode` | (5.25), `dt = lr`, `eps1 = 10 lr`, `eps2 = 1000 lr`, `D(0) = 1e-8` |
/// | `adam` | Kingma and Ba, `alpha = lr`, 0.9, 0.999, 1e-8 |
/// | `adamw` | as `adam`, decoupled weight decay 1e-2 |
/// | `sgd` | PyTorch SGD, no momentum |
/// | `sgd_momentum` | PyTorch SGD, momentum 0.9 |
/// | `sgd_nesterov` | PyTorch SGD, Nesterov momentum 0.9 |
/// | `rmsprop` | PyTorch RMSprop, `alpha = 0.99`, `eps = 1e-8`, no momentum, not centered |
/// | `adagrad` | PyTorch Adagrad, `lr_decay = 0`, `initial_accumulator_value = 0`, `eps = 1e-10` |
pub const METHODS: [&str; 14] = [
    "gradient_descent",
    "heavy_ball",
    "heavy_ball_symplectic",
    "nesterov",
    "friction",
    "relaxation",
    "adam_ode",
    "adam",
    "adamw",
    "sgd",
    "sgd_momentum",
    "sgd_nesterov",
    "rmsprop",
    "adagrad",
];

/// The method called `name` (see [`METHODS`]) with step size `lr` and the
/// defaults of the table of [`METHODS`] for everything else; to set those,
/// use [`Builder`].
///
/// ```
/// let opt = optim::by_name::<f32>("adam", 1e-3)?;
/// assert_eq!(opt.name(), "adam");
/// assert!(optim::by_name::<f32>("lbfgs", 1e-3).is_err());
/// # Ok::<(), optim::Error>(())
/// ```
///
/// # Errors
/// [`crate::Error::UnknownMethod`] for a name not in [`METHODS`]; the
/// method's own error for a bad `lr`.
pub fn by_name<T: Float>(name: &str, lr: f64) -> Result<Box<dyn Optimizer<T>>> {
    Builder::new(name, lr)?.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_method_builds_and_steps_downhill_on_a_quadratic() {
        for name in METHODS {
            let mut opt = by_name::<f64>(name, 1e-2).unwrap();
            let mut w = [1.0, -2.0];
            let j = |w: &[f64; 2]| 0.5 * (w[0] * w[0] + w[1] * w[1]);
            let start = j(&w);
            let mut at = [0.0; 2];
            for _ in 0..200 {
                let p = if opt.gradient_point(&w, &mut at).unwrap() {
                    at
                } else {
                    w
                };
                opt.step(&mut w, &p).unwrap();
            }
            // The heavy ball conserves energy (no friction): it oscillates
            // but stays bounded; every other method descends.
            if name.starts_with("heavy_ball") {
                assert!(j(&w) <= 1.01 * start, "{name}: {}", j(&w));
            } else {
                assert!(
                    j(&w) < 0.9 * start,
                    "{name}: J went from {start} to {}",
                    j(&w)
                );
            }
        }
    }

    #[test]
    fn unknown_names_are_errors_listing_the_known_ones() {
        let e = by_name::<f32>("lbfgs", 1e-3).err().unwrap();
        assert!(
            e.to_string().contains("lbfgs") && e.to_string().contains("sgd_nesterov"),
            "{e}"
        );
        assert!(by_name::<f32>("sgd-momentum", 1e-3).is_ok());
    }
}
