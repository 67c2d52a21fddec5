//! Resuming from a checkpoint: the run's settings and architecture come
//! from it, and ones given on the command line must agree.

use crate::args::{activation, activation_flag, Args};
use nn::checkpoint::{load_checkpoint, LoadedCheckpoint};
use nn::{Activation, Mlp};
use std::collections::BTreeMap;
use std::path::Path;

/// The metadata keys (`Checkpoint::extra`) of the run's settings.
pub const KEY_OPTIMIZER: &str = "optimizer";
pub const KEY_BATCH_SIZE: &str = "batch_size";
pub const KEY_TEST_FRACTION: &str = "test_fraction";
pub const KEY_CLIP_GRAD_NORM: &str = "clip_grad_norm";
pub const KEY_DROPOUT: &str = "dropout";
pub const KEY_LABEL_SMOOTHING: &str = "label_smoothing";

/// An optional number setting (`--clip-grad-norm`, `--dropout`): a value,
/// or none (written `none`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OrNone(pub Option<f64>);

impl std::fmt::Display for OrNone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            // `{:?}`: the shortest text that reads back bitwise.
            Some(v) => write!(f, "{v:?}"),
            None => write!(f, "none"),
        }
    }
}

impl std::str::FromStr for OrNone {
    type Err = std::num::ParseFloatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(OrNone(None)),
            _ => s.parse().map(|v| OrNone(Some(v))),
        }
    }
}

/// The settings that shape a run besides the architecture and the data:
/// the optimizer, the batches, the split, clipping, dropout and the
/// loss's label smoothing.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The `--optimizer` name, `-` written `_` (as `optim::by_name` reads it).
    pub optimizer: String,
    pub batch_size: usize,
    pub test_fraction: f64,
    pub seed: u64,
    pub clip: OrNone,
    pub dropout: OrNone,
    pub label_smoothing: f64,
}

impl Settings {
    pub fn of(args: &Args) -> Settings {
        Settings {
            optimizer: args.optimizer.replace('-', "_"),
            batch_size: args.batch_size,
            test_fraction: args.test_fraction,
            seed: args.seed,
            clip: OrNone(args.clip_grad_norm),
            dropout: OrNone(args.dropout),
            label_smoothing: args.label_smoothing,
        }
    }

    /// The metadata entries that record them (the seed is in the
    /// checkpoint's progress).
    pub fn extra(&self) -> [(&'static str, String); 6] {
        [
            (KEY_OPTIMIZER, self.optimizer.clone()),
            (KEY_BATCH_SIZE, self.batch_size.to_string()),
            (KEY_TEST_FRACTION, format!("{:?}", self.test_fraction)),
            (KEY_CLIP_GRAD_NORM, self.clip.to_string()),
            (KEY_DROPOUT, self.dropout.to_string()),
            (KEY_LABEL_SMOOTHING, format!("{:?}", self.label_smoothing)),
        ]
    }
}

/// One setting on resuming: the checkpoint's value (`saved`, if it records
/// one) wins; one given on the command line (`given`) must equal it. When
/// the checkpoint records none, `ours` is kept and `flag` is added to
/// `unchecked`.
pub fn resume_one<V>(
    file: &str,
    flag: &'static str,
    ours: V,
    saved: Option<&str>,
    given: bool,
    unchecked: &mut Vec<&'static str>,
) -> Result<V, String>
where
    V: PartialEq + std::fmt::Display + std::str::FromStr,
{
    let Some(text) = saved else {
        unchecked.push(flag);
        return Ok(ours);
    };
    let saved: V = text
        .parse()
        .map_err(|_| format!("{file}: the recorded {flag} {text:?} cannot be read"))?;
    if given && saved != ours {
        let why = if flag == "--optimizer" {
            "the optimizer's state cannot be loaded into another method"
        } else {
            "a resumed run continues as if never stopped only with the same settings"
        };
        return Err(format!(
            "{file} was trained with {flag} {saved}, this run gives {flag} {ours}: {why} \
             (leave {flag} out to use the checkpoint's)"
        ));
    }
    Ok(saved)
}

/// The settings of a run resumed from a checkpoint whose metadata is
/// `extra` and whose progress has `seed`: [`resume_one`] for each, given
/// on the command line where `given(id)` (clap's argument id). Also returns
/// the flags the checkpoint does not record (an older version's).
pub fn resume_settings(
    file: &str,
    ours: &Settings,
    extra: &BTreeMap<String, String>,
    seed: Option<u64>,
    given: &dyn Fn(&str) -> bool,
) -> Result<(Settings, Vec<&'static str>), String> {
    let mut unchecked = Vec::new();
    let get = |k: &str| extra.get(k).map(String::as_str);
    let seed_text = seed.map(|s| s.to_string());
    let settings = Settings {
        optimizer: resume_one(
            file,
            "--optimizer",
            ours.optimizer.clone(),
            get(KEY_OPTIMIZER),
            given("optimizer"),
            &mut unchecked,
        )?,
        batch_size: resume_one(
            file,
            "--batch-size",
            ours.batch_size,
            get(KEY_BATCH_SIZE),
            given("batch_size"),
            &mut unchecked,
        )?,
        test_fraction: resume_one(
            file,
            "--test-fraction",
            ours.test_fraction,
            get(KEY_TEST_FRACTION),
            given("test_fraction"),
            &mut unchecked,
        )?,
        seed: resume_one(
            file,
            "--seed",
            ours.seed,
            seed_text.as_deref(),
            given("seed"),
            &mut unchecked,
        )?,
        clip: resume_one(
            file,
            "--clip-grad-norm",
            ours.clip,
            get(KEY_CLIP_GRAD_NORM),
            given("clip_grad_norm"),
            &mut unchecked,
        )?,
        dropout: resume_one(
            file,
            "--dropout",
            ours.dropout,
            get(KEY_DROPOUT),
            given("dropout"),
            &mut unchecked,
        )?,
        label_smoothing: resume_one(
            file,
            "--label-smoothing",
            ours.label_smoothing,
            get(KEY_LABEL_SMOOTHING),
            given("label_smoothing"),
            &mut unchecked,
        )?,
    };
    if !(0.0..=1.0).contains(&settings.label_smoothing) {
        return Err(format!(
            "{file}: the recorded --label-smoothing {} cannot be trained with (in [0, 1])",
            settings.label_smoothing
        ));
    }
    if settings.batch_size == 0 {
        return Err(format!(
            "{file}: the recorded --batch-size 0 cannot be trained with (at least 1)"
        ));
    }
    Ok((settings, unchecked))
}

/// With `--load`, the architecture comes from the checkpoint: refuses
/// `--hidden`, `--activation` or `--relu-at-zero` given on the command
/// line (`given(id)`) that differ from the checkpoint's network (the last
/// only where it has ReLU layers; elsewhere it is ignored, with a note).
pub fn check_architecture(
    file: &str,
    mlp: &Mlp<f32>,
    args: &Args,
    given: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    let widths = mlp.widths();
    let hidden = &widths[1..widths.len() - 1];
    let acts = &mlp.activations()[..mlp.activations().len() - 1];
    let list = |v: &[usize]| {
        v.iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    // One entry per distinct value, in layer order.
    let distinct = |v: Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for x in v {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out.join(",")
    };
    let names = distinct(acts.iter().map(|&a| activation_flag(a)).collect());
    let refuse = |flag: &str, theirs: String, ours: String| {
        Err(format!(
            "{file} holds a network with {flag} {theirs}, this run gives {flag} {ours}: with \
             --load the architecture comes from the checkpoint (leave {flag} out)"
        ))
    };
    if given("hidden") && args.hidden != hidden {
        return refuse("--hidden", list(hidden), list(&args.hidden));
    }
    if given("activation") {
        // ReLU's subgradient is --relu-at-zero's, checked below.
        let ours = activation(&args.activation, args.relu_at_zero)?;
        let same = |a: &Activation| match (a, ours) {
            (Activation::Relu { .. }, Activation::Relu { .. }) => true,
            (Activation::LeakyRelu { slope: s }, Activation::LeakyRelu { slope: t }) => {
                s.to_bits() == t.to_bits()
            }
            (a, o) => *a == o,
        };
        if !acts.iter().all(same) {
            return refuse("--activation", names, args.activation.clone());
        }
    }
    let relu_at = |a: &Activation| match a {
        Activation::Relu { at_zero } => Some(*at_zero),
        _ => None,
    };
    if given("relu_at_zero") {
        let at: Vec<f64> = acts.iter().filter_map(relu_at).collect();
        if at.is_empty() {
            eprintln!("note: --relu-at-zero is ignored: {file}'s hidden activation is {names}");
        } else if at
            .iter()
            .any(|z| z.to_bits() != args.relu_at_zero.to_bits())
        {
            let theirs = distinct(at.iter().map(|z| z.to_string()).collect());
            return refuse("--relu-at-zero", theirs, args.relu_at_zero.to_string());
        }
    }
    Ok(())
}

/// A checkpoint given to `--load`: its name as messages show it, and what
/// it holds.
pub struct Loaded {
    pub file: String,
    pub checkpoint: LoadedCheckpoint<f32>,
}

/// Reads the checkpoint at `path`, checks its architecture against the
/// command line and takes its settings over `ours` (see [`resume_settings`]).
pub fn open(
    path: &Path,
    args: &Args,
    ours: &Settings,
    given: &dyn Fn(&str) -> bool,
) -> Result<(Settings, Loaded), String> {
    let file = path.display().to_string();
    let checkpoint = load_checkpoint::<f32>(path).map_err(|e| e.to_string())?;
    // A NaN or infinite parameter loads bitwise; name the file it came from
    // before training fails on it.
    checkpoint
        .model
        .check_finite()
        .map_err(|e| format!("{file}: the checkpoint's network cannot be trained: {e}"))?;
    check_architecture(&file, &checkpoint.model, args, given)?;
    let seed = checkpoint.state.progress.map(|p| p.seed);
    let (settings, unchecked) = resume_settings(&file, ours, &checkpoint.state.extra, seed, given)?;
    if !unchecked.is_empty() {
        eprintln!(
            "note: {file} does not record {} (saved by an older version?): not \
             checked, the values of this command line (or the defaults) are used",
            unchecked.join(", ")
        );
    }
    Ok((settings, Loaded { file, checkpoint }))
}
