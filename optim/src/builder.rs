//! Building a method chosen by name with some of its hyperparameters set:
//! [`Builder`] and the names of the hyperparameters, [`Hyperparameter`].

use crate::{
    Adagrad, Adam, AdamOde, AdamW, DecayMask, Error, Float, Friction, GradientDescent, HeavyBall,
    Nesterov, Optimizer, Relaxation, Result, RmsProp, Scheme, Sgd, METHODS,
};
use std::fmt;
use std::str::FromStr;

/// A hyperparameter a method may take besides its step size, named as in
/// the method's constructor and in [`crate::OptimizerState::settings`].
///
/// Which method takes which, and its default in [`crate::by_name`]:
///
/// | method | hyperparameters (defaults) |
/// | --- | --- |
/// | `gradient_descent`, `heavy_ball`, `heavy_ball_symplectic` | none |
/// | `nesterov` | `nu` (1) |
/// | `friction` | `nu` (1), `eps` (1e-8) |
/// | `relaxation` | `eps` (10 lr) |
/// | `adam_ode` | `eps1` (10 lr), `eps2` (1000 lr), `d0` (1e-8) |
/// | `adam` | `beta1` (0.9), `beta2` (0.999), `eps` (1e-8), `weight_decay` (0) |
/// | `adamw` | `beta1` (0.9), `beta2` (0.999), `eps` (1e-8), `weight_decay` (1e-2) |
/// | `sgd` | `momentum` (0), `dampening` (0), `weight_decay` (0) |
/// | `sgd_momentum` | `momentum` (0.9), `dampening` (0), `weight_decay` (0) |
/// | `sgd_nesterov` | `momentum` (0.9), `weight_decay` (0) |
/// | `rmsprop` | `alpha` (0.99), `eps` (1e-8), `momentum` (0), `centered` (0: off; 1: on), `weight_decay` (0) |
/// | `adagrad` | `lr_decay` (0), `initial_accumulator_value` (0), `eps` (1e-10), `weight_decay` (0) |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Hyperparameter {
    /// Weight decay `lambda`: decoupled for [`AdamW`], an L2 term added to
    /// the gradient for [`Adam`], [`Sgd`], [`RmsProp`] and [`Adagrad`].
    WeightDecay,
    /// [`Sgd`]'s and [`RmsProp`]'s momentum factor `mu` (PyTorch's
    /// `momentum`).
    Momentum,
    /// [`Sgd`]'s dampening `tau` of classic momentum.
    Dampening,
    /// Adam's decay rate of the first moment.
    Beta1,
    /// Adam's decay rate of the second moment.
    Beta2,
    /// Adam's, RMSprop's and Adagrad's term added to the denominator;
    /// [`Friction`]'s regularisation of `|Z|` at 0; [`Relaxation`]'s
    /// relaxation time.
    Eps,
    /// The friction strength of [`Friction`], the lookahead of [`Nesterov`].
    Nu,
    /// [`AdamOde`]'s relaxation time of the moment `Z`.
    Eps1,
    /// [`AdamOde`]'s relaxation time of the diagonal `D`.
    Eps2,
    /// [`AdamOde`]'s initial diagonal `D^0`.
    D0,
    /// [`RmsProp`]'s smoothing constant of the mean of squares (PyTorch's
    /// `alpha`; not Adam's step, which is the learning rate here).
    Alpha,
    /// [`RmsProp`]'s `centered` flag: 1 for on, 0 for off.
    Centered,
    /// [`Adagrad`]'s `lr_decay`.
    LrDecay,
    /// [`Adagrad`]'s initial value of the sums of squares.
    InitialAccumulatorValue,
}

impl Hyperparameter {
    /// Every hyperparameter, in the order of the enum.
    pub const ALL: [Hyperparameter; 14] = [
        Self::WeightDecay,
        Self::Momentum,
        Self::Dampening,
        Self::Beta1,
        Self::Beta2,
        Self::Eps,
        Self::Nu,
        Self::Eps1,
        Self::Eps2,
        Self::D0,
        Self::Alpha,
        Self::Centered,
        Self::LrDecay,
        Self::InitialAccumulatorValue,
    ];

    /// Its name, as [`crate::OptimizerState::settings`] records it, e.g.
    /// `"weight_decay"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::WeightDecay => "weight_decay",
            Self::Momentum => "momentum",
            Self::Dampening => "dampening",
            Self::Beta1 => "beta1",
            Self::Beta2 => "beta2",
            Self::Eps => "eps",
            Self::Nu => "nu",
            Self::Eps1 => "eps1",
            Self::Eps2 => "eps2",
            Self::D0 => "d0",
            Self::Alpha => "alpha",
            Self::Centered => "centered",
            Self::LrDecay => "lr_decay",
            Self::InitialAccumulatorValue => "initial_accumulator_value",
        }
    }
}

impl fmt::Display for Hyperparameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Hyperparameter {
    type Err = Error;

    /// The hyperparameter called `name` (`-` may stand for `_`).
    ///
    /// # Errors
    /// [`Error::UnknownHyperparameter`], listing the known names.
    fn from_str(name: &str) -> Result<Self> {
        let canonical = name.replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|h| h.name() == canonical)
            .ok_or_else(|| Error::UnknownHyperparameter {
                name: name.to_string(),
                known: join(&Self::ALL),
            })
    }
}

/// A flag hyperparameter's value: 1 for on, 0 for off.
fn on_off(optimizer: &'static str, parameter: &'static str, x: f64) -> Result<bool> {
    match x {
        0.0 => Ok(false),
        1.0 => Ok(true),
        _ => Err(Error::InvalidHyperparameter {
            optimizer,
            parameter,
            expected: "0 (off) or 1 (on)",
            got: x,
        }),
    }
}

/// `a, b, c`.
fn join(hs: &[Hyperparameter]) -> String {
    let names: Vec<&str> = hs.iter().map(|h| h.name()).collect();
    names.join(", ")
}

/// A method of [`METHODS`] chosen by name, its step size and its other
/// hyperparameters, which start at [`crate::by_name`]'s defaults (see
/// [`Hyperparameter`]) and can be overridden one by one; [`Builder::build`]
/// then makes the optimizer. The PyTorch equivalent of
/// `torch.optim.AdamW(params, lr=1e-3, weight_decay=0.1)` reads:
///
/// ```
/// use optim::{Builder, Hyperparameter};
/// let opt = Builder::new("adamw", 1e-3)?
///     .set(Hyperparameter::WeightDecay, 0.1)?
///     .build::<f32>()?;
/// assert_eq!(opt.state().setting("weight_decay"), Some(0.1));
///
/// // Adam has no momentum factor: a typed error naming the method, the
/// // hyperparameter and the ones it takes.
/// let e = Builder::new("adam", 1e-3)?.set(Hyperparameter::Momentum, 0.9).unwrap_err();
/// assert_eq!(
///     e.to_string(),
///     "adam has no hyperparameter \"momentum\"; it takes beta1, beta2, eps, weight_decay"
/// );
/// // Out of range: the method's own error, from build.
/// let b = Builder::new("adam", 1e-3)?.set_named("beta1", 1.5)?;
/// assert!(b.build::<f32>().is_err());
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Builder {
    method: &'static str,
    lr: f64,
    /// Every hyperparameter the method takes, with its value.
    values: Vec<(Hyperparameter, f64)>,
    /// The entries weight decay applies to; all without a mask.
    decay_mask: Option<DecayMask>,
}

impl Builder {
    /// The method called `name` (see [`METHODS`]; `-` may stand for `_`)
    /// with step size `lr` and its default hyperparameters.
    ///
    /// # Errors
    /// [`Error::UnknownMethod`] for a name not in [`METHODS`]. `lr` is
    /// checked by [`Builder::build`].
    pub fn new(name: &str, lr: f64) -> Result<Self> {
        use Hyperparameter::*;
        let canonical = name.replace('-', "_");
        let Some(&method) = METHODS.iter().find(|m| **m == canonical) else {
            return Err(Error::UnknownMethod {
                name: name.to_string(),
                known: METHODS.join(", "),
            });
        };
        let adam = vec![(Beta1, 0.9), (Beta2, 0.999), (Eps, 1e-8)];
        let values = match method {
            "nesterov" => vec![(Nu, 1.0)],
            "friction" => vec![(Nu, 1.0), (Eps, 1e-8)],
            "relaxation" => vec![(Eps, 10.0 * lr)],
            "adam_ode" => vec![(Eps1, 10.0 * lr), (Eps2, 1000.0 * lr), (D0, 1e-8)],
            "adam" => [adam, vec![(WeightDecay, 0.0)]].concat(),
            "adamw" => [adam, vec![(WeightDecay, 1e-2)]].concat(),
            "sgd" => vec![(Momentum, 0.0), (Dampening, 0.0), (WeightDecay, 0.0)],
            "sgd_momentum" => vec![(Momentum, 0.9), (Dampening, 0.0), (WeightDecay, 0.0)],
            "sgd_nesterov" => vec![(Momentum, 0.9), (WeightDecay, 0.0)],
            "rmsprop" => vec![
                (Alpha, 0.99),
                (Eps, 1e-8),
                (Momentum, 0.0),
                (Centered, 0.0),
                (WeightDecay, 0.0),
            ],
            "adagrad" => vec![
                (LrDecay, 0.0),
                (InitialAccumulatorValue, 0.0),
                (Eps, 1e-10),
                (WeightDecay, 0.0),
            ],
            _ => Vec::new(),
        };
        Ok(Self {
            method,
            lr,
            values,
            decay_mask: None,
        })
    }

    /// The method's name, as in [`METHODS`] (with `_`).
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The step size.
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// The hyperparameters the method takes besides the step size.
    pub fn accepted(&self) -> Vec<Hyperparameter> {
        self.values.iter().map(|&(h, _)| h).collect()
    }

    /// Whether the method takes `h`.
    pub fn accepts(&self, h: Hyperparameter) -> bool {
        self.values.iter().any(|&(k, _)| k == h)
    }

    /// The value `h` will have (default or set), `None` if the method does
    /// not take it.
    pub fn get(&self, h: Hyperparameter) -> Option<f64> {
        self.values.iter().find(|&&(k, _)| k == h).map(|&(_, v)| v)
    }

    /// Every hyperparameter the method takes with the value it will have.
    pub fn hyperparameters(&self) -> &[(Hyperparameter, f64)] {
        &self.values
    }

    /// Sets `h` to `value`; its range is checked by [`Builder::build`].
    ///
    /// # Errors
    /// [`Error::UnsupportedHyperparameter`] if the method does not take
    /// `h`, listing the ones it takes.
    pub fn set(mut self, h: Hyperparameter, value: f64) -> Result<Self> {
        match self.values.iter_mut().find(|(k, _)| *k == h) {
            Some((_, v)) => *v = value,
            None => {
                return Err(self.unsupported(h.name()));
            }
        }
        Ok(self)
    }

    /// The error for a hyperparameter called `name` the method does not
    /// take.
    fn unsupported(&self, name: &str) -> Error {
        let accepted = match self.values.is_empty() {
            true => "none besides the step size".to_string(),
            false => join(&self.accepted()),
        };
        Error::UnsupportedHyperparameter {
            method: self.method,
            hyperparameter: name.to_string(),
            accepted,
        }
    }

    /// Sets the hyperparameter called `name` (`-` may stand for `_`), e.g.
    /// from a config file.
    ///
    /// # Errors
    /// [`Error::UnsupportedHyperparameter`] if the method takes no
    /// hyperparameter of that name (known to another method or not at all),
    /// listing the ones it takes.
    pub fn set_named(self, name: &str, value: f64) -> Result<Self> {
        match name.parse::<Hyperparameter>() {
            Ok(h) => self.set(h, value),
            Err(_) => Err(self.unsupported(name)),
        }
    }

    /// Limits the method's weight decay to the entries of `mask` (see
    /// [`DecayMask`]; `with_decay_mask` of [`Sgd`], [`Adam`], [`AdamW`],
    /// [`RmsProp`], [`Adagrad`]).
    ///
    /// # Errors
    /// [`Error::UnsupportedHyperparameter`] (`"decay_mask"`) if the method
    /// has no weight decay.
    pub fn with_decay_mask(mut self, mask: DecayMask) -> Result<Self> {
        if !self.accepts(Hyperparameter::WeightDecay) {
            return Err(self.unsupported("decay_mask"));
        }
        self.decay_mask = Some(mask);
        Ok(self)
    }

    /// The decay mask set by [`Builder::with_decay_mask`], if any.
    pub fn decay_mask(&self) -> Option<&DecayMask> {
        self.decay_mask.as_ref()
    }

    /// The optimizer. With every hyperparameter at its default it is
    /// [`crate::by_name`]'s.
    ///
    /// # Errors
    /// The method's own [`Error::InvalidHyperparameter`] for a value out of
    /// its range (a bad `lr` included), e.g. `beta1` outside `[0, 1)`.
    pub fn build<T: Float>(&self) -> Result<Box<dyn Optimizer<T>>> {
        use Hyperparameter::*;
        // Every key was set in `new`, for the method matched below.
        let v = |h| self.get(h).expect("the method takes it");
        let lr = self.lr;
        Ok(match self.method {
            "gradient_descent" => Box::new(GradientDescent::new(lr)?),
            "heavy_ball" => Box::new(HeavyBall::new(lr)?),
            "heavy_ball_symplectic" => {
                Box::new(HeavyBall::new(lr)?.with_scheme(Scheme::SemiImplicitEuler))
            }
            "nesterov" => Box::new(Nesterov::new(lr, v(Nu))?),
            "friction" => Box::new(Friction::new(lr, v(Nu), v(Eps))?),
            "relaxation" => Box::new(Relaxation::new(lr, v(Eps))?),
            "adam_ode" => Box::new(AdamOde::new(lr, v(Eps1), v(Eps2), v(D0))?),
            "adam" => Box::new(self.masked(
                Adam::new(lr, v(Beta1), v(Beta2), v(Eps))?.with_weight_decay(v(WeightDecay))?,
                Adam::with_decay_mask,
            )),
            "adamw" => Box::new(self.masked(
                AdamW::new(lr, v(Beta1), v(Beta2), v(Eps), v(WeightDecay))?,
                AdamW::with_decay_mask,
            )),
            "sgd" | "sgd_momentum" => {
                let (mu, dampening) = (v(Momentum), v(Dampening));
                let momentum = if mu == 0.0 && dampening == 0.0 {
                    crate::Momentum::None
                } else {
                    crate::Momentum::Classic { mu, dampening }
                };
                Box::new(
                    self.masked(
                        Sgd::new(lr)?
                            .with_momentum(momentum)?
                            .with_weight_decay(v(WeightDecay))?,
                        Sgd::with_decay_mask,
                    ),
                )
            }
            "sgd_nesterov" => Box::new(
                self.masked(
                    Sgd::new(lr)?
                        .with_momentum(crate::Momentum::Nesterov { mu: v(Momentum) })?
                        .with_weight_decay(v(WeightDecay))?,
                    Sgd::with_decay_mask,
                ),
            ),
            "rmsprop" => Box::new(
                self.masked(
                    RmsProp::new(lr)?
                        .with_alpha(v(Alpha))?
                        .with_eps(v(Eps))?
                        .with_momentum(v(Momentum))?
                        .with_centered(on_off("rmsprop", "centered", v(Centered))?)
                        .with_weight_decay(v(WeightDecay))?,
                    RmsProp::with_decay_mask,
                ),
            ),
            "adagrad" => Box::new(
                self.masked(
                    Adagrad::new(lr)?
                        .with_lr_decay(v(LrDecay))?
                        .with_initial_accumulator_value(v(InitialAccumulatorValue))?
                        .with_eps(v(Eps))?
                        .with_weight_decay(v(WeightDecay))?,
                    Adagrad::with_decay_mask,
                ),
            ),
            other => unreachable!("{other} is in METHODS but has no constructor"),
        })
    }

    /// `opt` with this builder's decay mask, if any.
    fn masked<O>(&self, opt: O, with_mask: fn(O, DecayMask) -> O) -> O {
        match &self.decay_mask {
            Some(mask) => with_mask(opt, mask.clone()),
            None => opt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hyperparameter_a_builder_takes_is_one_the_optimizer_records_with_its_value() {
        for name in METHODS {
            let b = Builder::new(name, 1e-2).unwrap();
            let state = b.build::<f64>().unwrap().state();
            for &(h, value) in b.hyperparameters() {
                assert_eq!(state.setting(h.name()), Some(value), "{name}: {h}");
            }
        }
    }

    #[test]
    fn a_set_hyperparameter_reaches_the_optimizer() {
        for name in METHODS {
            let b = Builder::new(name, 1e-2).unwrap();
            for h in b.accepted() {
                // A valid value for all of them, other than the default
                // (momentum 0.5 for sgd, whose default is 0).
                // (`centered` is a flag: 1.)
                let value = match h {
                    Hyperparameter::Eps2 => 2.0,
                    Hyperparameter::Centered => 1.0,
                    _ => 0.5,
                };
                let mut b = b.clone().set(h, value).unwrap();
                if h == Hyperparameter::Dampening {
                    // SGD records a dampening without momentum as none.
                    b = b.set(Hyperparameter::Momentum, 0.5).unwrap();
                }
                let opt = b.build::<f64>().unwrap();
                assert_eq!(
                    opt.state().setting(h.name()),
                    Some(value),
                    "{name}: {h} = {value}"
                );
            }
        }
    }

    #[test]
    fn an_inapplicable_hyperparameter_is_a_typed_error_naming_the_method_and_the_accepted_ones() {
        let e = Builder::new("sgd_nesterov", 0.1)
            .unwrap()
            .set(Hyperparameter::Beta1, 0.9)
            .unwrap_err();
        assert_eq!(
            e,
            Error::UnsupportedHyperparameter {
                method: "sgd_nesterov",
                hyperparameter: "beta1".into(),
                accepted: "momentum, weight_decay".into(),
            }
        );
        let e = Builder::new("gradient_descent", 0.1)
            .unwrap()
            .set(Hyperparameter::Momentum, 0.9)
            .unwrap_err();
        assert!(
            e.to_string()
                .ends_with("it takes none besides the step size"),
            "{e}"
        );
        let e = Builder::new("adam", 0.1)
            .unwrap()
            .set_named("betas", 0.9)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("adam has no hyperparameter \"betas\""),
            "{e}"
        );
    }

    #[test]
    fn out_of_range_values_keep_the_methods_typed_errors() {
        let cases = [
            ("adam", Hyperparameter::Beta2, 1.0, "beta2"),
            ("adamw", Hyperparameter::WeightDecay, -0.1, "weight_decay"),
            ("sgd_momentum", Hyperparameter::Dampening, 2.0, "dampening"),
            ("sgd_nesterov", Hyperparameter::Momentum, 0.0, "momentum"),
            ("friction", Hyperparameter::Eps, 0.0, "eps"),
        ];
        for (name, h, value, parameter) in cases {
            let b = Builder::new(name, 1e-2).unwrap().set(h, value).unwrap();
            match b.build::<f32>() {
                Err(Error::InvalidHyperparameter { parameter: p, .. }) => {
                    assert_eq!(p, parameter, "{name}")
                }
                other => panic!("{name}: {h} = {value} gave {:?}", other.map(|o| o.name())),
            }
        }
    }

    #[test]
    fn sgd_with_momentum_set_steps_as_sgd_momentum() {
        let mut a = Builder::new("sgd", 0.1)
            .unwrap()
            .set(Hyperparameter::Momentum, 0.9)
            .unwrap()
            .build::<f64>()
            .unwrap();
        let mut b = crate::by_name::<f64>("sgd_momentum", 0.1).unwrap();
        let (mut wa, mut wb) = ([1.0, -1.0], [1.0, -1.0]);
        for k in 0..4 {
            let g = [0.5 * k as f64, 1.0];
            a.step(&mut wa, &g).unwrap();
            b.step(&mut wb, &g).unwrap();
        }
        assert_eq!(wa, wb);
        assert_eq!(a.state(), b.state());
    }

    #[test]
    fn hyperparameter_names_parse_back_and_unknown_ones_list_the_known() {
        for h in Hyperparameter::ALL {
            assert_eq!(h.name().parse::<Hyperparameter>().unwrap(), h);
        }
        assert_eq!(
            "weight-decay".parse::<Hyperparameter>().unwrap(),
            Hyperparameter::WeightDecay
        );
        let e = "lambda".parse::<Hyperparameter>().unwrap_err();
        assert!(
            e.to_string().contains("\"lambda\"") && e.to_string().contains("beta1, beta2"),
            "{e}"
        );
    }

    #[test]
    fn unknown_methods_are_refused_by_the_builder_too() {
        assert!(matches!(
            Builder::new("lbfgs", 1e-3),
            Err(Error::UnknownMethod { .. })
        ));
        assert_eq!(
            Builder::new("sgd-momentum", 1e-3).unwrap().method(),
            "sgd_momentum"
        );
    }
}
