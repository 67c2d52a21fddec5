//! Checkpoints in the [safetensors](https://github.com/huggingface/safetensors)
//! format: the model's parameters, optionally an optimizer's state, the
//! training progress and free-form metadata, in one file that PyTorch users
//! open with `safetensors.torch.load_file`.
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
//! - Strings in the header's `__metadata__`:
//!
//!   | key | value |
//!   | --- | --- |
//!   | `format` | [`FORMAT`] |
//!   | `widths` | `a_0,...,a_{p+1}`, e.g. `2,16,2` |
//!   | `activations` | one per layer: `identity`, `sigmoid`, `tanh`, `softplus`, `relu:<subgradient at 0>` (e.g. `relu:0.0,identity`) |
//!   | `optimizer` | [`OptimizerState::optimizer`] (only with an optimizer) |
//!   | `optimizer.steps` | decimal `u64` |
//!   | `optimizer.learning_rate` | the `f64` in Rust's shortest round-trip form (`{:?}`), so it reads back bitwise |
//!   | `optimizer.buffers` | buffer names in order, comma-separated (possibly empty) |
//!   | `progress.epoch`, `progress.step`, `progress.seed` | decimal `u64` (only with a [`Progress`]) |
//!   | `extra.<key>` | the caller's [`Checkpoint::extra`] entries |
//!
//! In PyTorch, keep the `layers.` entries for the model:
//!
//! ```python
//! from safetensors.torch import load_file
//! sd = load_file("model.safetensors")
//! model = nn.Module(); model.layers = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
//! model.load_state_dict({k: v for k, v in sd.items() if k.startswith("layers.")})
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
//!   training that was not interrupted.
//! - Loading the other dtype converts explicitly: `F32` into `f64` widens
//!   exactly; `F64` into `f32` rounds to nearest, and a finite value beyond
//!   the range of `f32` is an error rather than an infinity.
//!   [`TrainingState::dtype`] tells which dtype the file held. Bitwise
//!   resumption requires the same dtype.
//! - Every problem (unreadable or missing file, truncated file, corrupt
//!   header, missing or unexpected tensor, wrong shape or dtype, malformed
//!   metadata) is an [`Error::Checkpoint`] whose reason names the tensor or
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

use crate::{Activation, Error, Mlp, Result};
use autodiff::Float;
use optim::OptimizerState;
use safetensors::tensor::{Metadata, TensorView};
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The value of the `format` metadata key this version writes and reads.
pub const FORMAT: &str = "chainrule-checkpoint/1";

/// Prefix of the optimizer buffer tensors.
const OPTIMIZER_PREFIX: &str = "optimizer.";
/// Prefix of the caller's metadata keys.
const EXTRA_PREFIX: &str = "extra.";

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
/// state, the progress and free-form metadata.
#[derive(Clone, Debug)]
pub struct Checkpoint<'a, T> {
    /// The network.
    pub model: &'a Mlp<T>,
    /// The optimizer's state ([`optim::Optimizer::state`]).
    pub optimizer: Option<&'a OptimizerState<T>>,
    /// Where training stands.
    pub progress: Option<Progress>,
    /// Free-form strings (a run name, a git commit, hyperparameters),
    /// stored as metadata keys `extra.<key>`.
    pub extra: BTreeMap<String, String>,
}

impl<'a, T> Checkpoint<'a, T> {
    /// A checkpoint of the model alone.
    pub fn new(model: &'a Mlp<T>) -> Self {
        Checkpoint {
            model,
            optimizer: None,
            progress: None,
            extra: BTreeMap::new(),
        }
    }

    /// Adds the optimizer's state.
    pub fn optimizer(mut self, state: &'a OptimizerState<T>) -> Self {
        self.optimizer = Some(state);
        self
    }

    /// Adds the progress.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
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
    /// The optimizer state, progress and metadata.
    pub state: TrainingState<T>,
}

/// Writes a checkpoint to `path` atomically (see the [module
/// documentation](self) for the layout).
///
/// # Errors
/// [`Error::Checkpoint`] when an optimizer buffer name is empty, holds a
/// comma or repeats, when a buffer is neither empty nor one value per
/// parameter, or when the file cannot be written; the previous file
/// at `path`, if any, is then untouched.
pub fn save_checkpoint<T: Float>(
    path: impl AsRef<Path>,
    checkpoint: &Checkpoint<'_, T>,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = encode_checkpoint(checkpoint).map_err(|reason| fail(path, reason))?;
    write_atomic(path, |f| f.write_all(&bytes))
}

/// Writes the model alone: [`save_checkpoint`] of [`Checkpoint::new`].
///
/// # Errors
/// As [`save_checkpoint`].
pub fn save_model<T: Float>(path: impl AsRef<Path>, model: &Mlp<T>) -> Result<()> {
    save_checkpoint(path, &Checkpoint::new(model))
}

/// Reads a checkpoint written by [`save_checkpoint`], rebuilding the
/// network from the architecture in its metadata.
///
/// # Errors
/// [`Error::Checkpoint`] when the file cannot be read or is not a valid
/// safetensors file, lacks the architecture metadata (e.g. written by
/// PyTorch: use [`load_into`] with a network built to match), or as
/// [`load_into`].
pub fn load_checkpoint<T: Float>(path: impl AsRef<Path>) -> Result<LoadedCheckpoint<T>> {
    let path = path.as_ref();
    let bytes = read(path)?;
    let file = Parsed::parse(&bytes).map_err(|reason| fail(path, reason))?;
    let (widths, activations) = file
        .architecture()
        .map_err(|reason| fail(path, reason))?
        .ok_or_else(|| {
            fail(
                path,
                "no architecture in the metadata (keys `widths` and `activations`); \
             build a matching network and use load_into",
            )
        })?;
    let (hidden, output) = activations.split_at(activations.len() - 1);
    let mut model = Mlp::<T>::builder(&widths)
        .hidden_each(hidden)
        .output(output[0])
        .build()
        .map_err(|e| {
            fail(
                path,
                format!("the architecture in the metadata is invalid: {e}"),
            )
        })?;
    let state = file
        .load_into(&mut model)
        .map_err(|reason| fail(path, reason))?;
    Ok(LoadedCheckpoint { model, state })
}

/// Reads the network of a checkpoint: [`load_checkpoint`]'s model.
///
/// # Errors
/// As [`load_checkpoint`].
pub fn load_model<T: Float>(path: impl AsRef<Path>) -> Result<Mlp<T>> {
    load_checkpoint(path).map(|c| c.model)
}

/// Reads a checkpoint's parameters into an existing network, which must
/// match: every parameter tensor present with its shape (weights
/// `[a_{r+1}, a_r]`, biases `[a_{r+1}]`), no other tensor than those and
/// the optimizer's, and, when the file records an architecture, the same
/// widths and activations. Files written by PyTorch (no metadata) load too.
///
/// Returns the rest of the checkpoint: optimizer state, progress, metadata.
///
/// # Errors
/// [`Error::Checkpoint`] naming the file and the problem: unreadable file,
/// corrupt header, unsupported or mixed dtypes, missing or unexpected
/// tensor, wrong shape (both shapes given), architecture mismatch,
/// malformed metadata, an `F64` value out of `f32` range. On error `model`
/// is unchanged.
pub fn load_into<T: Float>(path: impl AsRef<Path>, model: &mut Mlp<T>) -> Result<TrainingState<T>> {
    let path = path.as_ref();
    let bytes = read(path)?;
    let file = Parsed::parse(&bytes).map_err(|reason| fail(path, reason))?;
    if let Some((widths, activations)) = file.architecture().map_err(|reason| fail(path, reason))? {
        if widths != model.widths() {
            return Err(fail(
                path,
                format!(
                    "the file's network has widths {widths:?}, the model {:?}",
                    model.widths()
                ),
            ));
        }
        if activations != model.activations() {
            return Err(fail(
                path,
                format!(
                    "the file's network has activations [{}], the model [{}]",
                    encode_activations(&activations),
                    encode_activations(model.activations())
                ),
            ));
        }
    }
    file.load_into(model).map_err(|reason| fail(path, reason))
}

fn fail(path: &Path, reason: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| fail(path, format!("cannot be read: {e}")))
}

// ---------------------------------------------------------------- writing

fn encode_activation(a: Activation) -> String {
    match a {
        Activation::Relu { at_zero } => format!("relu:{at_zero:?}"),
        a => a.name().to_string(),
    }
}

fn encode_activations(acts: &[Activation]) -> String {
    acts.iter()
        .map(|&a| encode_activation(a))
        .collect::<Vec<_>>()
        .join(",")
}

/// The little-endian bytes of `xs`, bit for bit.
fn encode_values<T: Float>(xs: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(std::mem::size_of_val(xs));
    for x in xs {
        let x: &dyn Any = x;
        if let Some(v) = x.downcast_ref::<f32>() {
            out.extend_from_slice(&v.to_le_bytes());
        } else if let Some(v) = x.downcast_ref::<f64>() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// The PyTorch shape of parameter tensor `index` (even: weight, odd: bias).
fn torch_shape(index: usize, shape: autodiff::Shape) -> Vec<usize> {
    if index % 2 == 1 {
        vec![shape.len()]
    } else {
        vec![shape.rows, shape.cols]
    }
}

fn encode_checkpoint<T: Float>(c: &Checkpoint<'_, T>) -> std::result::Result<Vec<u8>, String> {
    let dtype = StoredDtype::of::<T>();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let params = c.model.params();
    for (i, (name, slot)) in c.model.slots().iter().enumerate() {
        tensors.push((
            name.clone(),
            torch_shape(i, slot.shape),
            encode_values(&params[slot.range()]),
        ));
    }
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    let widths: Vec<String> = c.model.widths().iter().map(|w| w.to_string()).collect();
    meta.insert("widths".to_string(), widths.join(","));
    meta.insert(
        "activations".to_string(),
        encode_activations(c.model.activations()),
    );
    if let Some(s) = c.optimizer {
        let mut names: Vec<&str> = Vec::new();
        for (name, values) in &s.buffers {
            if name.is_empty() || name.contains(',') {
                return Err(format!(
                    "optimizer buffer name {name:?} cannot be stored: it is empty or holds a comma"
                ));
            }
            if names.contains(&name.as_str()) {
                return Err(format!("optimizer buffer {name:?} appears twice"));
            }
            let n = c.model.num_params();
            if !values.is_empty() && values.len() != n {
                return Err(format!(
                    "optimizer buffer {name:?} has {} values but the model has {n} parameters",
                    values.len()
                ));
            }
            names.push(name);
            tensors.push((
                format!("{OPTIMIZER_PREFIX}{name}"),
                vec![values.len()],
                encode_values(values),
            ));
        }
        meta.insert("optimizer".to_string(), s.optimizer.clone());
        meta.insert("optimizer.steps".to_string(), s.steps.to_string());
        meta.insert(
            "optimizer.learning_rate".to_string(),
            format!("{:?}", s.learning_rate),
        );
        meta.insert("optimizer.buffers".to_string(), names.join(","));
    }
    if let Some(p) = c.progress {
        meta.insert("progress.epoch".to_string(), p.epoch.to_string());
        meta.insert("progress.step".to_string(), p.step.to_string());
        meta.insert("progress.seed".to_string(), p.seed.to_string());
    }
    for (k, v) in &c.extra {
        meta.insert(format!("{EXTRA_PREFIX}{k}"), v.clone());
    }
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(dtype.safetensors(), shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| format!("tensor {name}: {e}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    safetensors::serialize(views, Some(meta)).map_err(|e| format!("cannot be serialised: {e}"))
}

/// `<path>.tmp-<pid>`, in the same directory as `path`.
fn temp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(s)
}

/// Writes `path` atomically: `write` fills a temporary file next to it,
/// which is synced and renamed over `path`. On any failure the temporary
/// file is removed and `path` is untouched.
fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> Result<()> {
    let tmp = temp_path(path);
    let mut file = File::create(&tmp).map_err(|e| {
        fail(
            path,
            format!(
                "cannot create the temporary file {}: {e}; the previous file is untouched",
                tmp.display()
            ),
        )
    })?;
    let written = write(&mut file)
        .map_err(|e| format!("cannot write the temporary file {}: {e}", tmp.display()))
        .and_then(|()| {
            file.sync_all()
                .map_err(|e| format!("cannot sync the temporary file {}: {e}", tmp.display()))
        })
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path)
                .map_err(|e| format!("cannot rename {} over it: {e}", tmp.display()))
        });
    if let Err(reason) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(
            path,
            format!("{reason}; the previous file is untouched"),
        ));
    }
    // Make the rename itself durable (best effort: not every platform can
    // open a directory).
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

// ---------------------------------------------------------------- reading

/// Widths and activations.
type Architecture = (Vec<usize>, Vec<Activation>);

/// A parsed safetensors file: its tensors and metadata.
struct Parsed<'b> {
    tensors: BTreeMap<String, (StoredDtype, Vec<usize>, &'b [u8])>,
    meta: HashMap<String, String>,
}

fn header_error(e: SafeTensorError) -> String {
    match e {
        SafeTensorError::MetadataIncompleteBuffer => {
            "the tensor data declared in the header does not end where the file \
                                                     ends: truncated file or trailing bytes"
                .to_string()
        }
        e => format!("invalid safetensors header: {e}"),
    }
}

impl<'b> Parsed<'b> {
    fn parse(bytes: &'b [u8]) -> std::result::Result<Self, String> {
        let Some(prefix) = bytes.get(..8) else {
            return Err(format!(
                "the file is {} bytes long, too short for the 8-byte header length of a safetensors file",
                bytes.len()
            ));
        };
        let n = u64::from_le_bytes(prefix.try_into().expect("8 bytes"));
        let rest = (bytes.len() - 8) as u64;
        if n > rest {
            return Err(format!(
                "the header length is {n} bytes but only {rest} bytes follow it: truncated file or not a safetensors file"
            ));
        }
        let (n, metadata): (usize, Metadata) =
            SafeTensors::read_metadata(bytes).map_err(header_error)?;
        let data = &bytes[8 + n..];
        let mut tensors = BTreeMap::new();
        for (name, info) in metadata.tensors() {
            let dtype = match info.dtype {
                Dtype::F32 => StoredDtype::F32,
                Dtype::F64 => StoredDtype::F64,
                d => {
                    return Err(format!(
                        "tensor {name} has dtype {d}; checkpoints hold F32 or F64"
                    ))
                }
            };
            let (s, e) = info.data_offsets;
            // `read_metadata` validated the offsets against the file.
            let raw = data.get(s..e).ok_or_else(|| {
                format!("tensor {name}: data offsets [{s}, {e}) outside the file")
            })?;
            tensors.insert(name, (dtype, info.shape.clone(), raw));
        }
        let meta = metadata.metadata().clone().unwrap_or_default();
        if let Some(f) = meta.get("format") {
            if f != FORMAT {
                return Err(format!(
                    "metadata format is {f:?}; this version reads {FORMAT:?}"
                ));
            }
        }
        Ok(Parsed { tensors, meta })
    }

    fn meta_u64(&self, key: &str) -> std::result::Result<Option<u64>, String> {
        self.meta
            .get(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("metadata {key} = {v:?} is not an unsigned integer"))
            })
            .transpose()
    }

    fn require(&self, key: &str, because: &str) -> std::result::Result<&str, String> {
        self.meta
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("metadata {key} is missing ({because})"))
    }

    /// The widths and activations, if recorded.
    fn architecture(&self) -> std::result::Result<Option<Architecture>, String> {
        let (w, a) = match (self.meta.get("widths"), self.meta.get("activations")) {
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err("metadata widths is present but activations is missing".into())
            }
            (None, Some(_)) => {
                return Err("metadata activations is present but widths is missing".into())
            }
            (Some(w), Some(a)) => (w, a),
        };
        let widths = w
            .split(',')
            .map(|s| s.trim().parse::<usize>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| {
                format!("metadata widths = {w:?} is not a comma-separated list of integers")
            })?;
        let activations = a
            .split(',')
            .map(parse_activation)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if widths.len() < 2 {
            return Err(format!(
                "metadata widths = {w:?}: a network needs at least two widths"
            ));
        }
        if activations.len() != widths.len() - 1 {
            return Err(format!(
                "metadata activations = {a:?} lists {} activations for {} layers (widths {w:?})",
                activations.len(),
                widths.len() - 1
            ));
        }
        Ok(Some((widths, activations)))
    }

    fn progress(&self) -> std::result::Result<Option<Progress>, String> {
        let (e, s, d) = (
            self.meta_u64("progress.epoch")?,
            self.meta_u64("progress.step")?,
            self.meta_u64("progress.seed")?,
        );
        match (e, s, d) {
            (None, None, None) => Ok(None),
            (Some(epoch), Some(step), Some(seed)) => Ok(Some(Progress { epoch, step, seed })),
            _ => Err(
                "metadata progress.epoch, progress.step and progress.seed must be present together"
                    .into(),
            ),
        }
    }

    /// The dtype of all tensors, which must agree.
    fn dtype<T: Float>(&self) -> std::result::Result<StoredDtype, String> {
        let mut it = self.tensors.iter();
        let Some((first, &(dtype, ..))) = it.next() else {
            return Ok(StoredDtype::of::<T>());
        };
        match it.find(|(_, t)| t.0 != dtype) {
            Some((other, t)) => Err(format!(
                "mixed dtypes: tensor {first} is {dtype} but tensor {other} is {}",
                t.0
            )),
            None => Ok(dtype),
        }
    }

    fn optimizer_names(&self) -> std::result::Result<Option<Vec<&str>>, String> {
        if !self.meta.contains_key("optimizer") {
            return Ok(None);
        }
        let list = self.require("optimizer.buffers", "the file has an optimizer")?;
        Ok(Some(if list.is_empty() {
            Vec::new()
        } else {
            list.split(',').collect()
        }))
    }

    /// Checks every tensor against `model` and copies the parameters in;
    /// `model` is only written once everything has been checked.
    fn load_into<T: Float>(
        &self,
        model: &mut Mlp<T>,
    ) -> std::result::Result<TrainingState<T>, String> {
        let dtype = self.dtype::<T>()?;
        let mut params = vec![T::zero(); model.num_params()];
        for (i, (name, slot)) in model.slots().iter().enumerate() {
            let want = torch_shape(i, slot.shape);
            let Some((_, shape, raw)) = self.tensors.get(name) else {
                return Err(format!(
                    "tensor {name} is missing (the model expects shape {want:?})"
                ));
            };
            if *shape != want {
                return Err(format!(
                    "tensor {name} has shape {shape:?} in the file but the model expects {want:?}"
                ));
            }
            params[slot.range()].copy_from_slice(&decode_values::<T>(name, dtype, raw)?);
        }
        let names = self.optimizer_names()?;
        for (name, (_, shape, _)) in &self.tensors {
            let known = model.slots().contains_key(name)
                || name
                    .strip_prefix(OPTIMIZER_PREFIX)
                    .is_some_and(|b| names.as_ref().is_some_and(|n| n.contains(&b)));
            if !known {
                return Err(match (name.starts_with(OPTIMIZER_PREFIX), &names) {
                    (true, None) => format!("unexpected tensor {name} (shape {shape:?}): the metadata records no optimizer"),
                    (true, Some(n)) => {
                        format!("unexpected tensor {name} (shape {shape:?}): the metadata lists optimizer buffers [{}]", n.join(","))
                    }
                    _ => format!("unexpected tensor {name} (shape {shape:?}): the model has no such parameter"),
                });
            }
        }
        let optimizer = match names {
            None => None,
            Some(names) => {
                let lr_text =
                    self.require("optimizer.learning_rate", "the file has an optimizer")?;
                let learning_rate = lr_text.parse::<f64>().map_err(|_| {
                    format!("metadata optimizer.learning_rate = {lr_text:?} is not a number")
                })?;
                let steps = self
                    .meta_u64("optimizer.steps")?
                    .ok_or("metadata optimizer.steps is missing (the file has an optimizer)")?;
                let mut buffers = Vec::with_capacity(names.len());
                for b in names {
                    let tname = format!("{OPTIMIZER_PREFIX}{b}");
                    let Some((_, shape, raw)) = self.tensors.get(&tname) else {
                        return Err(format!("tensor {tname} is missing (optimizer buffer {b} is listed in the metadata)"));
                    };
                    let n = model.num_params();
                    if shape.len() != 1 || (shape[0] != n && shape[0] != 0) {
                        return Err(format!(
                            "tensor {tname} has shape {shape:?} in the file but the model expects [{n}] (or [0] before the first step)"
                        ));
                    }
                    buffers.push((b.to_string(), decode_values::<T>(&tname, dtype, raw)?));
                }
                Some(OptimizerState {
                    optimizer: self.meta["optimizer"].clone(),
                    steps,
                    learning_rate,
                    buffers,
                })
            }
        };
        let progress = self.progress()?;
        let extra = self
            .meta
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(EXTRA_PREFIX)
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect();
        model.params_mut().copy_from_slice(&params);
        Ok(TrainingState {
            optimizer,
            progress,
            extra,
            dtype,
        })
    }
}

fn parse_activation(s: &str) -> std::result::Result<Activation, String> {
    Ok(match s.trim() {
        "identity" => Activation::Identity,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "softplus" => Activation::Softplus,
        "relu" => Activation::RELU,
        other => match other.strip_prefix("relu:").map(str::parse::<f64>) {
            Some(Ok(at_zero)) => Activation::Relu { at_zero },
            _ => {
                return Err(format!(
                    "metadata activations: unknown activation {other:?}"
                ))
            }
        },
    })
}

/// The values of tensor `name`, stored as `dtype`, as `T`: bitwise when
/// `dtype` is `T`'s, widened exactly from `F32` to `f64`, rounded to nearest
/// from `F64` to `f32` (an error for a finite value beyond `f32`'s range).
fn decode_values<T: Float>(
    name: &str,
    dtype: StoredDtype,
    raw: &[u8],
) -> std::result::Result<Vec<T>, String> {
    // `read_metadata` checked that `raw` holds exactly `shape` values.
    let boxed: Box<dyn Any> = match dtype {
        StoredDtype::F32 => Box::new(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect::<Vec<f32>>(),
        ),
        StoredDtype::F64 => Box::new(
            raw.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect::<Vec<f64>>(),
        ),
    };
    let boxed = match boxed.downcast::<Vec<T>>() {
        Ok(same) => return Ok(*same),
        Err(other) => other,
    };
    if let Some(v) = boxed.downcast_ref::<Vec<f32>>() {
        return Ok(v.iter().map(|&x| T::from_f64(f64::from(x))).collect());
    }
    let v = boxed.downcast_ref::<Vec<f64>>().expect("F32 or F64");
    v.iter()
        .enumerate()
        .map(|(k, &x)| {
            let y = T::from_f64(x);
            if x.is_finite() && !y.is_finite() {
                Err(format!(
                    "tensor {name}[{k}] = {x:e} (F64) is beyond the range of f32"
                ))
            } else {
                Ok(y)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("chainrule-ckpt-unit-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_writer_failing_midway_leaves_the_previous_file_and_no_temporary() {
        let dir = temp_dir("midway");
        let path = dir.join("m.safetensors");
        std::fs::write(&path, b"previous").unwrap();
        let err = write_atomic(&path, |f| {
            f.write_all(b"half of a checkp")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("cannot write the temporary file") && msg.contains("disk full"),
            "{msg}"
        );
        assert!(msg.contains("the previous file is untouched"), "{msg}");
        assert_eq!(std::fs::read(&path).unwrap(), b"previous");
        assert!(!temp_path(&path).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_successful_write_replaces_the_file_and_removes_the_temporary() {
        let dir = temp_dir("ok");
        let path = dir.join("m.safetensors");
        std::fs::write(&path, b"previous").unwrap();
        write_atomic(&path, |f| f.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert!(!temp_path(&path).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_temporary_file_is_the_target_path_with_the_pid_appended() {
        let p = temp_path(Path::new("/a/b/model.safetensors"));
        assert_eq!(
            p,
            PathBuf::from(format!("/a/b/model.safetensors.tmp-{}", std::process::id()))
        );
    }

    #[test]
    fn activations_round_trip_through_their_text_form_bitwise() {
        let acts = [
            Activation::Identity,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Softplus,
            Activation::RELU,
            Activation::Relu { at_zero: 0.1 + 0.2 },
            Activation::Relu { at_zero: 1.0 },
        ];
        let text = encode_activations(&acts);
        assert_eq!(
            text,
            "identity,sigmoid,tanh,softplus,relu:0.0,relu:0.30000000000000004,relu:1.0"
        );
        let back: Vec<Activation> = text
            .split(',')
            .map(|s| parse_activation(s).unwrap())
            .collect();
        assert_eq!(back, acts);
        assert_eq!(parse_activation("relu").unwrap(), Activation::RELU);
        assert_eq!(
            parse_activation("gelu").unwrap_err(),
            "metadata activations: unknown activation \"gelu\""
        );
        assert!(parse_activation("relu:x").is_err());
    }

    #[test]
    fn decoding_f64_into_f32_rounds_to_nearest_and_rejects_overflow() {
        let raw: Vec<u8> = [0.1_f64, -2.5]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            decode_values::<f32>("t", StoredDtype::F64, &raw).unwrap(),
            vec![0.1_f32, -2.5]
        );
        let raw: Vec<u8> = [1.0_f64, 1e300]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            decode_values::<f32>("t", StoredDtype::F64, &raw).unwrap_err(),
            "tensor t[1] = 1e300 (F64) is beyond the range of f32"
        );
        let raw: Vec<u8> = [f64::INFINITY]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        assert_eq!(
            decode_values::<f32>("t", StoredDtype::F64, &raw).unwrap(),
            vec![f32::INFINITY]
        );
    }

    #[test]
    fn decoding_the_same_dtype_keeps_nan_payloads() {
        let nan = f32::from_bits(0x7fa0_0001); // a signalling NaN with a payload
        let raw = encode_values(&[nan, -0.0_f32]);
        let back = decode_values::<f32>("t", StoredDtype::F32, &raw).unwrap();
        assert_eq!(back[0].to_bits(), 0x7fa0_0001);
        assert_eq!(back[1].to_bits(), (-0.0_f32).to_bits());
    }

    #[test]
    fn stored_dtype_follows_the_element_type() {
        assert_eq!(StoredDtype::of::<f32>(), StoredDtype::F32);
        assert_eq!(StoredDtype::of::<f64>(), StoredDtype::F64);
        assert_eq!(StoredDtype::F64.to_string(), "F64");
    }
}
