//! Multilayer perceptrons on the chainrule tape: layers, activations,
//! losses, initialisation, data sets and mini-batches, training
//! ([`train`]), checkpoints ([`checkpoint`]), metrics ([`metrics`]: the
//! confusion matrix, per-class precision, recall and F1, regression
//! scores), and the seed's closed-form back-propagation (5.11)-(5.14) as
//! an independent reference.
//!
//! ```
//! use nn::{Activation, BatchTargets, Init, Loss, Mlp};
//! use autodiff::{Shape, Tape};
//!
//! let mlp = Mlp::<f32>::builder(&[2, 16, 2]).hidden(Activation::RELU).init(Init::HeUniform).seed(1).build()?;
//! let x = [0.0, 1.0, 1.0, 0.0];
//! let tape = Tape::new();
//! let batch = tape.mat_const(Shape::new(2, 2), &x)?;
//! let out = mlp.forward(&tape, batch)?;
//! let loss = Loss::default().apply(out.output, BatchTargets::Classes(&[1, 1]))?;
//! let grads = tape.backward(loss);
//! let mut g = vec![0.0; mlp.num_params()];
//! out.gradient_into(&grads, &mut g)?;
//! // The taped forward and the plain prediction agree.
//! assert_eq!(out.output.to_vec(), mlp.predict(&x)?.into_vec());
//! # Ok::<(), nn::Error>(())
//! ```
#![warn(missing_docs)]

mod activation;
pub mod checkpoint;
pub mod data;
mod error;
mod init;
pub mod jacobian_chain;
mod loss;
pub mod metrics;
mod mlp;
pub mod train;

pub use activation::Activation;
pub use error::{Error, Result, SettingDifference};
pub use init::Init;
pub use loss::{BatchTargets, Loss};
pub use mlp::{Forward, Mlp, MlpBuilder, ParamSlot};
pub use train::{
    evaluate, Callback, EarlyStopping, EpochReport, Event, History, Metric, Observer,
    ReduceOnPlateau, Scalar, TrainConfig, Trainer,
};

/// The README's examples, compiled and run as doctests (here, where every
/// crate they use is a dependency).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
