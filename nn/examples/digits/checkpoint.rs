//! What this example adds to the trainer's checkpoint: the feature scaler,
//! the run's settings and the number of samples split, and the checks that
//! a resumed run has the same data.

use crate::resume::{Loaded, Settings};
use crate::schedule::Plan;
use nn::checkpoint::save_checkpoint;
use nn::data::Standardizer;
use nn::Trainer;
use std::collections::BTreeMap;
use std::path::Path;

/// The metadata key (`Checkpoint::extra`) of the number of samples split.
pub const KEY_SAMPLES: &str = "samples";

/// Where the previous version of this example kept the scaler: metadata
/// `extra.scaler.mean` and `extra.scaler.std`, one `f32` per feature in its
/// shortest round-trip form, comma-separated. Still read, never written.
const LEGACY_SCALER_MEAN: &str = "scaler.mean";
const LEGACY_SCALER_STD: &str = "scaler.std";

/// Saves the trainer's checkpoint (network, optimizer state, progress)
/// with the scaler and, as metadata, the run's settings, its learning-rate
/// plan and the number of samples split.
pub fn save(
    path: &Path,
    trainer: &Trainer<f32>,
    (settings, plan): (&Settings, &Plan),
    samples: usize,
    scaler: &Standardizer<f32>,
) -> Result<(), String> {
    let mut checkpoint = trainer
        .checkpoint()
        .scaler(scaler)
        .extra(KEY_SAMPLES, samples.to_string());
    for (key, value) in settings.extra().into_iter().chain(plan.extra()) {
        checkpoint = checkpoint.extra(key, value);
    }
    save_checkpoint(path, &checkpoint).map_err(|e| e.to_string())
}

/// The inverse of the legacy encoding: `f32`s, comma-separated.
pub fn decode_floats(text: &str) -> Result<Vec<f32>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|v| v.parse().map_err(|_| format!("{v:?} is not a number")))
        .collect()
}

/// The scaler the previous version of this example wrote into a
/// checkpoint's metadata `extra`, if it did.
pub fn legacy_scaler(
    file: &str,
    extra: &BTreeMap<String, String>,
) -> Result<Option<Standardizer<f32>>, String> {
    let read = |key: &str| -> Result<Option<Vec<f32>>, String> {
        extra
            .get(key)
            .map(|t| decode_floats(t).map_err(|e| format!("{file}: metadata extra.{key}: {e}")))
            .transpose()
    };
    match (read(LEGACY_SCALER_MEAN)?, read(LEGACY_SCALER_STD)?) {
        (None, None) => Ok(None),
        (Some(mean), Some(std)) => Standardizer::new(mean, std).map(Some).map_err(|e| {
            format!(
                "{file}: metadata extra.{LEGACY_SCALER_MEAN} and extra.{LEGACY_SCALER_STD} \
                 are not a feature scaler: {e}"
            )
        }),
        _ => Err(format!(
            "{file}: metadata extra.{LEGACY_SCALER_MEAN} and extra.{LEGACY_SCALER_STD} do \
             not come as a pair"
        )),
    }
}

/// The scaler a checkpoint holds: its tensors, or the previous version's
/// metadata.
pub fn saved_scaler(loaded: &Loaded) -> Result<Option<Standardizer<f32>>, String> {
    match &loaded.checkpoint.state.scaler {
        Some(scaler) => Ok(Some(scaler.clone())),
        None => legacy_scaler(&loaded.file, &loaded.checkpoint.state.extra),
    }
}

/// Whether two scalers are bitwise the same.
pub fn same_scaler(a: &Standardizer<f32>, b: &Standardizer<f32>) -> bool {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    bits(&a.mean) == bits(&b.mean) && bits(&a.std) == bits(&b.std)
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
    match saved_scaler(loaded)? {
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
