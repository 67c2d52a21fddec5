//! What this example adds to a checkpoint besides the trainer's state: the
//! run's settings, the number of samples split and the feature scaler, and
//! the checks that a resumed run has the same data.

use crate::resume::{Loaded, Settings};
use nn::checkpoint::{save_checkpoint, Checkpoint, Progress};
use nn::data::Standardizer;
use nn::Trainer;
use std::collections::BTreeMap;
use std::path::Path;

/// The metadata keys (`Checkpoint::extra`) of the data.
pub const KEY_SAMPLES: &str = "samples";
pub const KEY_SCALER_MEAN: &str = "scaler.mean";
pub const KEY_SCALER_STD: &str = "scaler.std";

/// `values` in the shortest form that reads back bitwise, comma-separated.
pub fn encode_floats(values: &[f32]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The inverse of [`encode_floats`].
pub fn decode_floats(text: &str) -> Result<Vec<f32>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|v| v.parse().map_err(|_| format!("{v:?} is not a number")))
        .collect()
}

/// The scaler a checkpoint's metadata records, if it does.
pub fn saved_scaler(
    file: &str,
    extra: &BTreeMap<String, String>,
) -> Result<Option<Standardizer<f32>>, String> {
    let read = |key: &str| -> Result<Option<Vec<f32>>, String> {
        extra
            .get(key)
            .map(|t| decode_floats(t).map_err(|e| format!("{file}: metadata extra.{key}: {e}")))
            .transpose()
    };
    match (read(KEY_SCALER_MEAN)?, read(KEY_SCALER_STD)?) {
        (None, None) => Ok(None),
        (Some(mean), Some(std)) if mean.len() == std.len() => Ok(Some(Standardizer { mean, std })),
        _ => Err(format!(
            "{file}: metadata extra.{KEY_SCALER_MEAN} and extra.{KEY_SCALER_STD} do not \
             come as a pair of equal lengths"
        )),
    }
}

/// Whether two scalers are bitwise the same.
pub fn same_scaler(a: &Standardizer<f32>, b: &Standardizer<f32>) -> bool {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    bits(&a.mean) == bits(&b.mean) && bits(&a.std) == bits(&b.std)
}

/// Saves what `Trainer::save_checkpoint` saves (network, optimizer state,
/// progress) and, as metadata, the run's settings, the number of samples
/// split and the scaler.
pub fn save(
    path: &Path,
    trainer: &Trainer<f32>,
    settings: &Settings,
    samples: usize,
    scaler: &Standardizer<f32>,
) -> Result<(), String> {
    let state = trainer.optimizer().state();
    let progress = Progress {
        epoch: trainer.epoch() as u64,
        step: trainer.optimizer().steps(),
        seed: trainer.config().seed,
    };
    let mut checkpoint = Checkpoint::new(trainer.mlp())
        .optimizer(&state)
        .progress(progress)
        .extra(KEY_SAMPLES, samples.to_string())
        .extra(KEY_SCALER_MEAN, encode_floats(&scaler.mean))
        .extra(KEY_SCALER_STD, encode_floats(&scaler.std));
    for (key, value) in settings.extra() {
        checkpoint = checkpoint.extra(key, value);
    }
    save_checkpoint(path, &checkpoint).map_err(|e| e.to_string())
}

/// The scaler a resumed run uses: the checkpoint's, which must be bitwise
/// `fitted` (the same split of the same data fits bitwise the same scaler;
/// anything else would train on differently scaled inputs), of a data set
/// of as many `samples` as the checkpoint's.
pub fn check_data(
    loaded: &Loaded,
    samples: usize,
    fitted: Standardizer<f32>,
) -> Result<Standardizer<f32>, String> {
    let (file, extra) = (&loaded.file, &loaded.checkpoint.state.extra);
    if let Some(n) = extra.get(KEY_SAMPLES) {
        if *n != samples.to_string() {
            return Err(format!(
                "{file} was trained on a data set of {n} samples, this one has {samples} \
                 (another --data?)"
            ));
        }
    }
    match saved_scaler(file, extra)? {
        Some(saved) if same_scaler(&saved, &fitted) => Ok(saved),
        Some(_) => Err(format!(
            "{file}: the feature scaler it records is not the one fitted on this \
             run's training split (another --data?): refusing to resume"
        )),
        None => {
            eprintln!(
                "note: {file} records no feature scaler (saved by an older version?): the \
                 one fitted on this run's training split is used"
            );
            Ok(fitted)
        }
    }
}
