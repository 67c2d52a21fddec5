//! Checkpoints in the [safetensors](https://github.com/huggingface/safetensors)
//! format: the model's parameters, optionally an optimizer's state, the
//! training progress, the run's settings and free-form metadata, in one
//! file that PyTorch users open with `safetensors.torch.load_file`.
//!
//! # The file
//!
//! - Model tensors under their PyTorch names, as the state dict of
//!   `layers = nn.Sequential(Linear, act, Linear, act, ..., Linear)`:
//!   `layers.{2r}.weight` of shape `[a_{r+1}, a_r]` and `layers.{2r}.bias`
//!   of shape `[a_{r+1}]` (1-D, as PyTorch's, although [`ParamSlot`]'s shape
//!   is `(1, a_{r+1})`). Row-major, little-endian, dtype `F32` for `f32`
//!   models and `F64` for `f64` models.
//! - Optimizer buffers as 1-D tensors `optimizer.<buffer>` (e.g.
//!   `optimizer.m`, `optimizer.v` for Adam), one value per parameter, or
//!   empty before the first step.
//! - The feature scaler ([`Checkpoint::scaler`], a [`Standardizer`]), if
//!   any, as two 1-D tensors of the input width `a_0`: `scaler.mean` and
//!   `scaler.std` (finite, `std >= 0`; 0 for a feature constant on the
//!   training set, which is only centred, as [`Standardizer::transform`]
//!   does).
//! - Strings in the header's `__metadata__`:
//!
//!   | key | value |
//!   | --- | --- |
//!   | `format` | [`FORMAT`] |
//!   | `widths` | `a_0,...,a_{p+1}`, e.g. `2,16,2` |
//!   | `activations` | one per layer: `identity`, `sigmoid`, `tanh`, `softplus`, `silu`, `gelu`, `relu:<subgradient at 0>`, `leaky_relu:<slope>` (e.g. `relu:0.0,identity`) |
//!   | `optimizer` | [`OptimizerState::optimizer`] (only with an optimizer) |
//!   | `optimizer.steps` | decimal `u64` |
//!   | `optimizer.learning_rate` | the `f64` (finite) in Rust's shortest round-trip form (`{:?}`), so it reads back bitwise |
//!   | `optimizer.buffers` | buffer names in order, comma-separated (possibly empty) |
//!   | `optimizer.settings` | [`OptimizerState::settings`] in order, `name=value` comma-separated, values finite, as `optimizer.learning_rate` (e.g. `beta1=0.9,beta2=0.999,eps=1e-8`; empty for a method without any). A file without this key, written before settings were recorded, loads with none: the state then loads unchecked |
//!   | `progress.epoch`, `progress.step`, `progress.seed` | decimal `u64` (only with a [`Progress`]) |
//!   | `training.batch_size` | decimal, `>= 1` (this and every `training.` key only with [`TrainingSettings`], all of them together) |
//!   | `training.order` | `reshuffled`, `cyclic` or `with_replacement` ([`BatchOrder`]) |
//!   | `training.drop_last` | `true` or `false` |
//!   | `training.loss`, `training.loss.reduction` | `cross_entropy` or `least_squares`; `mean` or `sum` |
//!   | `training.loss.label_smoothing` | for `cross_entropy` only: its label smoothing, an `f64` as `optimizer.learning_rate` (in `[0, 1]`, `0.0` for none); a file without it (written before label smoothing existed) reads as `0.0` |
//!   | `training.schedule` | `none`, or the decay of the [`Schedule`]: `constant`, `step`, `exponential` or `cosine` |
//!   | `training.schedule.lr`, `training.schedule.warmup` | with a schedule: its peak rate (an `f64` as `optimizer.learning_rate`) and warm-up steps (decimal) |
//!   | `training.schedule.every`, `training.schedule.gamma` | a `step` decay's period (decimal) and factor (`f64`); an `exponential` decay has `gamma` alone |
//!   | `training.schedule.total`, `training.schedule.min_lr` | a `cosine` decay's length in steps (decimal) and final rate (`f64`) |
//!   | `training.clip_grad_norm` | the bound, an `f64` as `optimizer.learning_rate` (finite, `> 0`), or `none` |
//!   | `training.dropout` | the drop probability, an `f64` as `optimizer.learning_rate` (in `[0, 1)`), or `none`; a file that records the other `training.` keys without it (written before dropout existed) reads as `none` |
//!   | `extra.<key>` | the caller's [`Checkpoint::extra`] entries |
//!
//! A schedule has exactly the `training.schedule.` keys of its decay. A file
//! without any `training.` key, written before the settings were recorded,
//! loads with none ([`TrainingState::training`]): it then restores
//! unchecked ([`Trainer::restore`]).
//!
//! In PyTorch, keep the `layers.` entries for the model:
//!
//! ```python
//! import torch
//! from torch import nn
//! from safetensors.torch import load_file
//! sd = load_file("model.safetensors")
//! model = nn.Module(); model.layers = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
//! model.load_state_dict({k: v for k, v in sd.items() if k.startswith("layers.")})
//! # with a scaler: raw inputs are standardised first (a std of 0 divides by 1)
//! std = sd["scaler.std"]
//! logits = model.layers((x - sd["scaler.mean"]) / torch.where(std > 0, std, torch.ones_like(std)))
//! ```
//!
//! # Guarantees
//!
//! - Writes are atomic: the file is written to `<path>.tmp-<pid>` in the same
//!   directory, synced, then renamed over `path`. A failed or interrupted
//!   write leaves the previous file, if any, in place. (Two threads of one
//!   process saving to the same path at once share the temporary name: do
//!   not do that.)
//! - Loading the dtype that was saved gives the parameters and optimizer
//!   buffers bitwise; training resumed from a checkpoint is bitwise the
//!   training that was not interrupted ([`Trainer::restore`] refuses a
//!   trainer whose seed, optimizer or settings are not the checkpoint's).
//! - Loading the other dtype converts explicitly: `F32` into `f64` widens
//!   exactly; `F64` into `f32` rounds to nearest, and a finite value beyond
//!   the range of `f32` is an error rather than an infinity.
//!   [`TrainingState::dtype`] tells which dtype the file held. Bitwise
//!   resumption requires the same dtype.
//! - Every problem (unreadable or missing file, truncated file, corrupt
//!   header, missing or unexpected tensor, wrong shape or dtype, malformed
//!   metadata, a scaler that is not one) is an [`Error::Checkpoint`] whose
//!   reason names the tensor or
//!   key and, for shapes, both shapes; never a panic. Loading into a model
//!   changes nothing unless everything checks out.
//!
//! ```
//! use nn::checkpoint::{load_checkpoint, save_checkpoint, Checkpoint, Progress};
//! use nn::Mlp;
//! use optim::{Adam, Optimizer};
//!
//! let mut mlp = Mlp::<f32>::builder(&[2, 4, 2]).seed(3).build()?;
//! let mut adam = Adam::default();
//! let grad = vec![0.25_f32; mlp.num_params()];
//! adam.step(mlp.params_mut(), &grad)?;
//!
//! let dir = std::env::temp_dir().join(format!("chainrule-ckpt-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("model.safetensors");
//! let state = adam.state();
//! let progress = Progress { epoch: 1, step: 10, seed: 3 };
//! save_checkpoint(&path, &Checkpoint::new(&mlp).optimizer(&state).progress(progress))?;
//!
//! let loaded = load_checkpoint::<f32>(&path)?;
//! assert_eq!(loaded.model, mlp);
//! assert_eq!(loaded.state.optimizer, Some(state));
//! assert_eq!(loaded.state.progress, Some(progress));
//! std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), nn::Error>(())
//! ```
//!
//! [`ParamSlot`]: crate::ParamSlot
//! [`BatchOrder`]: crate::data::BatchOrder
//! [`Schedule`]: optim::Schedule
//! [`Trainer::restore`]: crate::Trainer::restore

mod metadata;
mod read;
mod scaler;
mod training;
mod write;

pub use read::{load_checkpoint, load_into, load_model};
pub use training::TrainingSettings;
pub use write::{save_checkpoint, save_model};

use crate::data::Standardizer;
use crate::{Error, Mlp};
use autodiff::Float;
use optim::OptimizerState;
use safetensors::Dtype;
use std::any::TypeId;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

/// The value of the `format` metadata key this version writes and reads.
pub const FORMAT: &str = "chainrule-checkpoint/1";

/// Prefix of the optimizer buffer tensors.
const OPTIMIZER_PREFIX: &str = "optimizer.";

/// The element type of the tensors in a checkpoint file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredDtype {
    /// 32-bit floats (`F32`, PyTorch's `torch.float32`).
    F32,
    /// 64-bit floats (`F64`, PyTorch's `torch.float64`).
    F64,
}

impl StoredDtype {
    /// The dtype of `T`'s tensors: `F32` for `f32`, `F64` for `f64`.
    ///
    /// # Panics
    /// For a [`Float`] that is neither (the trait is implemented for those
    /// two only).
    pub fn of<T: Float>() -> StoredDtype {
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            StoredDtype::F32
        } else if TypeId::of::<T>() == TypeId::of::<f64>() {
            StoredDtype::F64
        } else {
            panic!(
                "checkpoints store f32 or f64, not {}",
                std::any::type_name::<T>()
            )
        }
    }

    fn safetensors(self) -> Dtype {
        match self {
            StoredDtype::F32 => Dtype::F32,
            StoredDtype::F64 => Dtype::F64,
        }
    }

    /// The inverse of [`StoredDtype::safetensors`]: `None` for any other
    /// safetensors dtype.
    fn from_safetensors(dtype: Dtype) -> Option<StoredDtype> {
        match dtype {
            Dtype::F32 => Some(StoredDtype::F32),
            Dtype::F64 => Some(StoredDtype::F64),
            _ => None,
        }
    }
}

impl std::fmt::Display for StoredDtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StoredDtype::F32 => "F32",
            StoredDtype::F64 => "F64",
        })
    }
}

/// Where training stands: what a run needs besides the parameters and the
/// optimizer to resume exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The epoch to resume at (from 0).
    pub epoch: u64,
    /// The step (within the epoch or overall, as the caller counts).
    pub step: u64,
    /// The seed of the run (data order, initialisation).
    pub seed: u64,
}

/// What [`save_checkpoint`] writes: a model and, optionally, an optimizer
/// state, the progress, the run's settings, a feature scaler and free-form
/// metadata.
///
/// [`Trainer::checkpoint`](crate::Trainer::checkpoint) gives one of a
/// trainer's network, optimizer, progress and settings, to which more can
/// be added.
#[derive(Clone, Debug)]
pub struct Checkpoint<'a, T: Clone> {
    /// The network.
    pub model: &'a Mlp<T>,
    /// The optimizer's state ([`optim::Optimizer::state`]): borrowed from
    /// the caller, or owned when taken from a trainer.
    pub optimizer: Option<Cow<'a, OptimizerState<T>>>,
    /// Where training stands.
    pub progress: Option<Progress>,
    /// The settings that decide the run's trajectory (metadata keys
    /// `training.`).
    pub training: Option<TrainingSettings>,
    /// The feature scaler the network's inputs go through, one statistic
    /// per input feature.
    pub scaler: Option<&'a Standardizer<T>>,
    /// Free-form strings (a run name, a git commit, hyperparameters),
    /// stored as metadata keys `extra.<key>`.
    pub extra: BTreeMap<String, String>,
}

impl<'a, T: Clone> Checkpoint<'a, T> {
    /// A checkpoint of the model alone.
    pub fn new(model: &'a Mlp<T>) -> Self {
        Checkpoint {
            model,
            optimizer: None,
            progress: None,
            training: None,
            scaler: None,
            extra: BTreeMap::new(),
        }
    }

    /// Adds the optimizer's state.
    pub fn optimizer(mut self, state: &'a OptimizerState<T>) -> Self {
        self.optimizer = Some(Cow::Borrowed(state));
        self
    }

    /// Adds the progress.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Adds the settings that decide the run's trajectory.
    pub fn training(mut self, settings: TrainingSettings) -> Self {
        self.training = Some(settings);
        self
    }

    /// Adds the feature scaler the network's inputs go through (see the
    /// [module documentation](self) for how PyTorch reads it).
    pub fn scaler(mut self, scaler: &'a Standardizer<T>) -> Self {
        self.scaler = Some(scaler);
        self
    }

    /// Adds one free-form metadata entry (replacing one of the same key).
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

/// Everything in a checkpoint besides the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingState<T> {
    /// The optimizer's state, if one was saved: restore it with
    /// [`optim::Optimizer::load_state`].
    pub optimizer: Option<OptimizerState<T>>,
    /// The progress, if saved.
    pub progress: Option<Progress>,
    /// The settings that decide the run's trajectory, if saved (a file
    /// written before they were recorded has none):
    /// [`Trainer::restore`](crate::Trainer::restore) refuses a trainer
    /// configured otherwise.
    pub training: Option<TrainingSettings>,
    /// The feature scaler, if saved: raw inputs go through its
    /// [`transform`](Standardizer::transform) before the network.
    pub scaler: Option<Standardizer<T>>,
    /// The free-form metadata ([`Checkpoint::extra`]).
    pub extra: BTreeMap<String, String>,
    /// The dtype of the tensors in the file (converted to `T` if it differs).
    pub dtype: StoredDtype,
}

/// A checkpoint read back by [`load_checkpoint`].
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedCheckpoint<T> {
    /// The network, rebuilt from the architecture in the metadata.
    pub model: Mlp<T>,
    /// The optimizer state, progress, settings, scaler and metadata.
    pub state: TrainingState<T>,
}

fn fail(path: &Path, reason: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// The PyTorch shape of parameter tensor `index` (even: weight, odd: bias).
fn torch_shape(index: usize, shape: autodiff::Shape) -> Vec<usize> {
    if index % 2 == 1 {
        vec![shape.len()]
    } else {
        vec![shape.rows, shape.cols]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_dtype_follows_the_element_type() {
        assert_eq!(StoredDtype::of::<f32>(), StoredDtype::F32);
        assert_eq!(StoredDtype::of::<f64>(), StoredDtype::F64);
        assert_eq!(StoredDtype::F64.to_string(), "F64");
    }
}
