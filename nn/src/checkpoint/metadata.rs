//! The header's `__metadata__` strings: the architecture, the optimizer's
//! scalars and buffer names, the progress and the caller's `extra.` keys,
//! encoded for writing and decoded and validated for reading.

use super::{Checkpoint, Progress, FORMAT};
use crate::Activation;
use autodiff::Float;
use optim::OptimizerState;
use std::collections::{BTreeMap, HashMap};

/// Prefix of the caller's metadata keys.
const EXTRA_PREFIX: &str = "extra.";

/// Why the optimizer keys are required when the `optimizer` key is present.
const HAS_OPTIMIZER: &str = "the file has an optimizer";

/// Widths and activations.
pub(super) type Architecture = (Vec<usize>, Vec<Activation>);

// ---------------------------------------------------------------- encoding

fn encode_activation(a: Activation) -> String {
    match a {
        Activation::Relu { at_zero } => format!("relu:{at_zero:?}"),
        a => a.name().to_string(),
    }
}

/// The `activations` value: one activation per layer, comma-separated.
pub(super) fn encode_activations(acts: &[Activation]) -> String {
    acts.iter()
        .map(|&a| encode_activation(a))
        .collect::<Vec<_>>()
        .join(",")
}

/// The metadata of `c`: format, architecture, the optimizer's scalars and
/// buffer names (if any), the progress (if any) and the `extra.` keys.
pub(super) fn encode<T: Float>(c: &Checkpoint<'_, T>) -> HashMap<String, String> {
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    let widths: Vec<String> = c.model.widths().iter().map(|w| w.to_string()).collect();
    meta.insert("widths".to_string(), widths.join(","));
    meta.insert(
        "activations".to_string(),
        encode_activations(c.model.activations()),
    );
    if let Some(s) = c.optimizer {
        let names: Vec<&str> = s.buffers.iter().map(|(name, _)| name.as_str()).collect();
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
    meta
}

// ---------------------------------------------------------------- decoding

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

fn missing(key: &str, because: &str) -> String {
    format!("metadata {key} is missing ({because})")
}

/// The metadata of a file being read, its `format` checked.
pub(super) struct Meta(HashMap<String, String>);

impl Meta {
    /// Wraps the header's metadata; an error if it names a `format` other
    /// than [`FORMAT`] (a file without `format`, e.g. PyTorch's, is fine).
    pub(super) fn new(meta: HashMap<String, String>) -> std::result::Result<Self, String> {
        if let Some(f) = meta.get("format") {
            if f != FORMAT {
                return Err(format!(
                    "metadata format is {f:?}; this version reads {FORMAT:?}"
                ));
            }
        }
        Ok(Meta(meta))
    }

    fn u64(&self, key: &str) -> std::result::Result<Option<u64>, String> {
        self.0
            .get(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("metadata {key} = {v:?} is not an unsigned integer"))
            })
            .transpose()
    }

    fn require(&self, key: &str, because: &str) -> std::result::Result<&str, String> {
        self.0
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| missing(key, because))
    }

    /// The widths and activations, if recorded.
    pub(super) fn architecture(&self) -> std::result::Result<Option<Architecture>, String> {
        let (w, a) = match (self.0.get("widths"), self.0.get("activations")) {
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

    /// The progress, if recorded (all three keys or none).
    pub(super) fn progress(&self) -> std::result::Result<Option<Progress>, String> {
        let (e, s, d) = (
            self.u64("progress.epoch")?,
            self.u64("progress.step")?,
            self.u64("progress.seed")?,
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

    /// The optimizer's buffer names in order, if the file has an optimizer.
    pub(super) fn optimizer_names(&self) -> std::result::Result<Option<Vec<&str>>, String> {
        if !self.0.contains_key("optimizer") {
            return Ok(None);
        }
        let list = self.require("optimizer.buffers", HAS_OPTIMIZER)?;
        Ok(Some(if list.is_empty() {
            Vec::new()
        } else {
            list.split(',').collect()
        }))
    }

    /// The optimizer's name, learning rate and steps, with no buffers yet;
    /// call only when [`Meta::optimizer_names`] found an optimizer.
    pub(super) fn optimizer_scalars<T>(&self) -> std::result::Result<OptimizerState<T>, String> {
        let lr_text = self.require("optimizer.learning_rate", HAS_OPTIMIZER)?;
        let learning_rate = lr_text.parse::<f64>().map_err(|_| {
            format!("metadata optimizer.learning_rate = {lr_text:?} is not a number")
        })?;
        let steps = self
            .u64("optimizer.steps")?
            .ok_or_else(|| missing("optimizer.steps", HAS_OPTIMIZER))?;
        Ok(OptimizerState {
            optimizer: self.0["optimizer"].clone(),
            steps,
            learning_rate,
            settings: Vec::new(),
            buffers: Vec::new(),
        })
    }

    /// The caller's `extra.` entries, without the prefix.
    pub(super) fn extra(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(EXTRA_PREFIX)
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
