//! Optimizers over flat parameter and gradient slices.
//!
//! Each method of the seed's chapter 5 is a small struct whose documentation
//! states its exact update and equation number, behind one object-safe
//! trait, [`Optimizer`], generic over [`Float`] (`f32` and `f64`):
//!
//! | method | seed | energy ([`Optimizer::energy`]) |
//! | --- | --- | --- |
//! | [`GradientDescent`] | (5.2) | — |
//! | [`HeavyBall`] | (5.16)/(5.17) | `J + \|Z\|^2/2` (Lemma 5.2.1) |
//! | [`Nesterov`] | (5.19) | `J(W + nu Z) + \|Z\|^2/2` (5.20) |
//! | [`Friction`] | (5.21) | `J + \|Z\|^2/2` |
//! | [`Relaxation`] | (5.22) | `J + eps \|Z\|^2/2` (Lemma 5.2.4) |
//! | [`AdamOde`] | (5.25) of (5.23) | `J + eps1/2 <D^{-1/2} Z, Z>` (5.24) |
//! | [`Adam`], [`AdamW`] | Kingma and Ba 2015 (not (5.26)/(5.27)) | — |
//! | [`Sgd`] | PyTorch's `SGD` | — |
//! | [`RmsProp`], [`Adagrad`] | PyTorch's `RMSprop`, `Adagrad` | — |
//!
//! [`by_name`] picks a method at run time with its default hyperparameters;
//! [`Builder`] also sets any of them ([`Hyperparameter`]). A [`DecayMask`]
//! limits weight decay to some of the parameters (the weights, not the
//! biases); [`ParamGroups`] steps each range of the parameters with an
//! optimizer of its own, with its own method and learning rate (PyTorch's
//! parameter groups).
//! Learning rates follow a [`Schedule`]; [`clip_grad_norm`] bounds a
//! gradient's length before a step. Optimizer states export and import
//! bitwise ([`Optimizer::state`], [`Optimizer::load_state`]) for checkpoints,
//! with the hyperparameters that shaped them ([`OptimizerState::settings`]):
//! a state loads only into an optimizer with the same ones.
//! Every check (lengths, finite gradient, hyperparameters) returns a typed
//! [`Error`] before anything is modified.
//!
//! ```
//! use optim::{Adam, HeavyBall, Optimizer, Scheme};
//!
//! // J(w) = (w0^2 + 10 w1^2) / 2, chosen at run time.
//! let grad = |w: &[f64]| vec![w[0], 10.0 * w[1]];
//! let j = |w: &[f64]| 0.5 * (w[0] * w[0] + 10.0 * w[1] * w[1]);
//! let mut opt: Box<dyn Optimizer<f64>> =
//!     Box::new(HeavyBall::new(0.01)?.with_scheme(Scheme::SemiImplicitEuler));
//! let mut w = vec![1.0, 1.0];
//! let e0 = opt.energy(j(&w)).unwrap();
//! for _ in 0..1000 {
//!     let g = grad(&w);
//!     opt.step(&mut w, &g)?;
//! }
//! // The symplectic heavy ball keeps its energy (Lemma 5.2.1) to O(dt).
//! assert!((opt.energy(j(&w)).unwrap() - e0).abs() < 0.1 * e0);
//!
//! // Adam minimises it.
//! let mut opt: Box<dyn Optimizer<f64>> = Box::new(Adam::new(0.05, 0.9, 0.999, 1e-8)?);
//! for _ in 0..2000 {
//!     let g = grad(&w);
//!     opt.step(&mut w, &g)?;
//! }
//! assert!(j(&w) < 1e-6);
//! # Ok::<(), optim::Error>(())
//! ```
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod adagrad;
mod adam;
mod adam_ode;
mod builder;
mod by_name;
mod clip;
mod damped;
mod decay_mask;
mod error;
mod float;
mod gradient_descent;
mod groups;
mod momentum;
mod optimizer;
mod rmsprop;
mod schedule;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use adam_ode::{AdamOde, RelaxationTimes, ENERGY_CONDITION_RTOL};
pub use builder::{Builder, Hyperparameter};
pub use by_name::{by_name, METHODS};
pub use clip::{clip_grad_norm, grad_norm};
pub use damped::{Friction, Relaxation};
pub use decay_mask::DecayMask;
pub use error::{Error, Result};
pub use float::Float;
pub use gradient_descent::GradientDescent;
pub use groups::ParamGroups;
pub use momentum::{HeavyBall, Nesterov, Scheme};
pub use optimizer::{Optimizer, OptimizerState};
pub use rmsprop::RmsProp;
pub use schedule::{Decay, Schedule};
pub use sgd::{Momentum, Sgd};
