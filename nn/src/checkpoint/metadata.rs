//! The header's `__metadata__` strings: the architecture, the optimizer's
//! scalars, settings and buffer names, the progress, the run's settings
//! (their keys are `training`'s) and the caller's `extra.` keys, encoded
//! for writing and decoded and validated for reading.

use super::{training, Checkpoint, Progress, TrainingSettings, FORMAT};
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
        Activation::LeakyRelu { slope } => format!("leaky_relu:{slope:?}"),
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

/// The `optimizer.settings` value: `name=value` pairs, comma-separated,
/// each value in Rust's shortest round-trip form (`{:?}`), so that it reads
/// back bitwise. An error for a name that is empty, holds `,` or `=`, or
/// repeats, and for a value that is not finite.
pub(super) fn encode_settings(settings: &[(String, f64)]) -> std::result::Result<String, String> {
    let mut pairs = Vec::with_capacity(settings.len());
    for (k, (name, value)) in settings.iter().enumerate() {
        if name.is_empty() || name.contains([',', '=']) {
            return Err(format!(
                "optimizer setting name {name:?} cannot be stored: it is empty or holds ',' or '='"
            ));
        }
        if settings[..k].iter().any(|(n, _)| n == name) {
            return Err(format!("optimizer setting {name:?} appears twice"));
        }
        if !value.is_finite() {
            return Err(format!(
                "optimizer setting {name} = {value} cannot be stored: expected a finite number"
            ));
        }
        pairs.push(format!("{name}={value:?}"));
    }
    Ok(pairs.join(","))
}

/// The metadata of `c`: format, architecture, the optimizer's scalars,
/// settings and buffer names (if any), the progress (if any), the run's
/// settings (if any) and the `extra.` keys. An error for settings [`encode_settings`] refuses,
/// and for training settings out of range ([`TrainingSettings`]'s `out_of_range`), which the
/// reader would refuse.
pub(super) fn encode<T: Float>(
    c: &Checkpoint<'_, T>,
) -> std::result::Result<HashMap<String, String>, String> {
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    let widths: Vec<String> = c.model.widths().iter().map(|w| w.to_string()).collect();
    meta.insert("widths".to_string(), widths.join(","));
    meta.insert(
        "activations".to_string(),
        encode_activations(c.model.activations()),
    );
    if let Some(s) = c.optimizer.as_deref() {
        if !s.learning_rate.is_finite() {
            return Err(format!(
                "the optimizer's learning rate {} cannot be stored: expected a finite number",
                s.learning_rate
            ));
        }
        let names: Vec<&str> = s.buffers.iter().map(|(name, _)| name.as_str()).collect();
        meta.insert("optimizer".to_string(), s.optimizer.clone());
        meta.insert("optimizer.steps".to_string(), s.steps.to_string());
        meta.insert(
            "optimizer.learning_rate".to_string(),
            format!("{:?}", s.learning_rate),
        );
        meta.insert("optimizer.buffers".to_string(), names.join(","));
        meta.insert(
            "optimizer.settings".to_string(),
            encode_settings(&s.settings)?,
        );
    }
    if let Some(p) = c.progress {
        meta.insert("progress.epoch".to_string(), p.epoch.to_string());
        meta.insert("progress.step".to_string(), p.step.to_string());
        meta.insert("progress.seed".to_string(), p.seed.to_string());
    }
    if let Some(t) = &c.training {
        // The reader refuses these: a file written with one would not load.
        if let Some((key, value, expected)) = t.out_of_range() {
            return Err(format!(
                "the training settings cannot be stored: {key} is {value}, expected {expected}"
            ));
        }
        for (key, value) in t.encode() {
            meta.insert(key.to_string(), value);
        }
    }
    for (k, v) in &c.extra {
        meta.insert(format!("{EXTRA_PREFIX}{k}"), v.clone());
    }
    Ok(meta)
}

// ---------------------------------------------------------------- decoding

fn parse_activation(s: &str) -> std::result::Result<Activation, String> {
    Ok(match s.trim() {
        "identity" => Activation::Identity,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "softplus" => Activation::Softplus,
        "relu" => Activation::RELU,
        "silu" => Activation::Silu,
        "gelu" => Activation::Gelu,
        other => {
            let param = |prefix: &str| other.strip_prefix(prefix).map(str::parse::<f64>);
            match (param("relu:"), param("leaky_relu:")) {
                (Some(Ok(at_zero)), _) => Activation::Relu { at_zero },
                (_, Some(Ok(slope))) => Activation::LeakyRelu { slope },
                _ => {
                    return Err(format!(
                        "metadata activations: unknown activation {other:?}"
                    ))
                }
            }
        }
    })
}

/// The inverse of [`encode_settings`]; `key` names the metadata key in
/// errors.
fn parse_settings(key: &str, text: &str) -> std::result::Result<Vec<(String, f64)>, String> {
    let mut settings: Vec<(String, f64)> = Vec::new();
    for pair in text.split(',').filter(|_| !text.is_empty()) {
        // (Every setting of every method is a finite number.)
        let parsed = pair
            .split_once('=')
            .and_then(|(name, v)| Some((name.trim(), v.trim().parse::<f64>().ok()?)))
            .filter(|(name, v)| !name.is_empty() && v.is_finite());
        let Some((name, value)) = parsed else {
            return Err(format!(
                "metadata {key} = {text:?}: {pair:?} is not name=number (a finite number)"
            ));
        };
        if settings.iter().any(|(n, _)| n == name) {
            return Err(format!("metadata {key} = {text:?} names {name:?} twice"));
        }
        settings.push((name.to_string(), value));
    }
    Ok(settings)
}

/// The `format` PyTorch's safetensors writers put in the metadata.
const TORCH_FORMAT: &str = "pt";

fn missing(key: &str, because: &str) -> String {
    format!("metadata {key} is missing ({because})")
}

/// The metadata of a file being read, its `format` checked.
pub(super) struct Meta(HashMap<String, String>);

impl Meta {
    /// Wraps the header's metadata; an error if it names a `format` other
    /// than [`FORMAT`] or PyTorch's `pt` (a file without `format` is
    /// fine too).
    pub(super) fn new(meta: HashMap<String, String>) -> std::result::Result<Self, String> {
        if let Some(f) = meta.get("format") {
            // `safetensors.torch.save_model` and Hugging Face's writers mark
            // their files `pt`: a PyTorch state dict, read as one.
            if f != FORMAT && f != TORCH_FORMAT {
                return Err(format!(
                    "metadata format is {f:?}; this version reads {FORMAT:?} \
                     (or PyTorch's {TORCH_FORMAT:?})"
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

    /// The run's settings, if recorded (see [`training::decode`]).
    pub(super) fn training(&self) -> std::result::Result<Option<TrainingSettings>, String> {
        training::decode(&self.0)
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

    /// The optimizer's name, learning rate, steps and settings (none in a
    /// file written before they were recorded: the state then loads
    /// unchecked), with no buffers yet; call only when
    /// [`Meta::optimizer_names`] found an optimizer.
    pub(super) fn optimizer_scalars<T>(&self) -> std::result::Result<OptimizerState<T>, String> {
        let lr_text = self.require("optimizer.learning_rate", HAS_OPTIMIZER)?;
        let learning_rate = lr_text
            .parse::<f64>()
            .ok()
            .filter(|lr| lr.is_finite())
            .ok_or_else(|| {
                format!("metadata optimizer.learning_rate = {lr_text:?} is not a finite number")
            })?;
        let steps = self
            .u64("optimizer.steps")?
            .ok_or_else(|| missing("optimizer.steps", HAS_OPTIMIZER))?;
        let settings = match self.0.get("optimizer.settings") {
            Some(text) => parse_settings("optimizer.settings", text)?,
            None => Vec::new(),
        };
        Ok(OptimizerState {
            optimizer: self.0["optimizer"].clone(),
            steps,
            learning_rate,
            settings,
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
            Activation::Silu,
            Activation::Gelu,
            Activation::LEAKY_RELU,
            Activation::LeakyRelu { slope: -0.1 - 0.2 },
        ];
        let text = encode_activations(&acts);
        assert_eq!(
            text,
            "identity,sigmoid,tanh,softplus,relu:0.0,relu:0.30000000000000004,relu:1.0,\
             silu,gelu,leaky_relu:0.01,leaky_relu:-0.30000000000000004"
        );
        let back: Vec<Activation> = text
            .split(',')
            .map(|s| parse_activation(s).unwrap())
            .collect();
        assert_eq!(back, acts);
        assert_eq!(parse_activation("relu").unwrap(), Activation::RELU);
        assert_eq!(
            parse_activation("elu").unwrap_err(),
            "metadata activations: unknown activation \"elu\""
        );
        assert!(parse_activation("leaky_relu").is_err());
        assert!(parse_activation("relu:x").is_err());
    }

    #[test]
    fn settings_round_trip_through_their_text_form_bitwise() {
        let settings: Vec<(String, f64)> = [
            ("beta1", 0.9),
            ("eps", 1e-8),
            ("d0", 0.1 + 0.2),
            ("tiny", f64::MIN_POSITIVE / 3.0),
            ("zero", -0.0),
            ("semi_implicit", 1.0),
        ]
        .iter()
        .map(|&(n, v)| (n.to_string(), v))
        .collect();
        let text = encode_settings(&settings).unwrap();
        assert_eq!(
            text,
            "beta1=0.9,eps=1e-8,d0=0.30000000000000004,tiny=7.41691286169067e-309,zero=-0.0,semi_implicit=1.0"
        );
        let back = parse_settings("k", &text).unwrap();
        let bits = |s: &[(String, f64)]| -> Vec<(String, u64)> {
            s.iter().map(|(n, v)| (n.clone(), v.to_bits())).collect()
        };
        assert_eq!(bits(&back), bits(&settings));
        assert_eq!(parse_settings("k", "").unwrap(), Vec::new());
    }

    #[test]
    fn settings_that_cannot_be_read_back_are_refused_both_ways() {
        let named = |n: &str| vec![(n.to_string(), 1.0)];
        for bad in ["", "a,b", "a=b"] {
            assert!(encode_settings(&named(bad)).is_err(), "{bad:?}");
        }
        let twice = [("nu".to_string(), 1.0), ("nu".to_string(), 1.0)];
        assert_eq!(
            encode_settings(&twice).unwrap_err(),
            "optimizer setting \"nu\" appears twice"
        );
        assert_eq!(
            parse_settings("k", "nu=1.0,eps").unwrap_err(),
            "metadata k = \"nu=1.0,eps\": \"eps\" is not name=number (a finite number)"
        );
        assert!(parse_settings("k", "nu=x").is_err());
        for v in ["NaN", "inf", "-inf", "1e400"] {
            assert_eq!(
                parse_settings("k", &format!("nu={v}")).unwrap_err(),
                format!("metadata k = \"nu={v}\": \"nu={v}\" is not name=number (a finite number)")
            );
        }
        assert_eq!(
            encode_settings(&[("nu".to_string(), f64::NAN)]).unwrap_err(),
            "optimizer setting nu = NaN cannot be stored: expected a finite number"
        );
        assert!(parse_settings("k", "=1").is_err());
        assert!(parse_settings("k", "nu=1,nu=2").is_err());
    }
}
