//! Reading: the safetensors file parsed, every tensor checked against the
//! network, and the values decoded (converting between `F32` and `F64`).

use super::metadata::{encode_activations, Meta};
use super::scaler::{self, Tensors};
use super::{fail, torch_shape, LoadedCheckpoint, StoredDtype, TrainingState, OPTIMIZER_PREFIX};
use crate::{Mlp, Result};
use autodiff::Float;
use safetensors::tensor::Metadata;
use safetensors::{SafeTensorError, SafeTensors};
use std::any::Any;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Reads a checkpoint written by [`save_checkpoint`], rebuilding the
/// network from the architecture in its metadata.
///
/// # Errors
/// [`Error::Checkpoint`] when the file cannot be read or is not a valid
/// safetensors file, lacks the architecture metadata (e.g. written by
/// PyTorch: use [`load_into`] with a network built to match), or as
/// [`load_into`].
///
/// [`save_checkpoint`]: super::save_checkpoint
/// [`Error::Checkpoint`]: crate::Error::Checkpoint
pub fn load_checkpoint<T: Float>(path: impl AsRef<Path>) -> Result<LoadedCheckpoint<T>> {
    with_parsed(path.as_ref(), |file| {
        let (widths, activations) = file.meta.architecture()?.ok_or(
            "no architecture in the metadata (keys `widths` and `activations`); \
             build a matching network and use load_into",
        )?;
        // The widths are checked against the file's tensors before any
        // network is built: metadata alone must not make us allocate.
        file.check_layer_shapes(&widths)?;
        let (hidden, output) = activations.split_at(activations.len() - 1);
        let mut model = Mlp::<T>::builder(&widths)
            .hidden_each(hidden)
            .output(output[0])
            .build()
            .map_err(|e| format!("the architecture in the metadata is invalid: {e}"))?;
        let state = file.load_into(&mut model)?;
        Ok(LoadedCheckpoint { model, state })
    })
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
/// `[a_{r+1}, a_r]`, biases `[a_{r+1}]`), no other tensor than those, the
/// optimizer's and the scaler's (`[a_0]` each), and, when the file records
/// an architecture, the same widths and activations. Files written by
/// PyTorch (no metadata, or only `format` = `pt`) load too.
///
/// Returns the rest of the checkpoint: optimizer state, progress, the
/// run's settings, scaler, metadata.
///
/// # Errors
/// [`Error::Checkpoint`] naming the file and the problem: unreadable file,
/// corrupt header, unsupported or mixed dtypes, missing or unexpected
/// tensor, wrong shape (both shapes given), architecture mismatch,
/// malformed metadata, an `F64` value out of `f32` range, a scaler that
/// is not one (half of it, a negative or non-finite std). On error `model`
/// is unchanged.
///
/// [`Error::Checkpoint`]: crate::Error::Checkpoint
pub fn load_into<T: Float>(path: impl AsRef<Path>, model: &mut Mlp<T>) -> Result<TrainingState<T>> {
    with_parsed(path.as_ref(), |file| {
        if let Some((widths, activations)) = file.meta.architecture()? {
            if widths != model.widths() {
                return Err(format!(
                    "the file's network has widths {widths:?}, the model {:?}",
                    model.widths()
                ));
            }
            if activations != model.activations() {
                return Err(format!(
                    "the file's network has activations [{}], the model [{}]",
                    encode_activations(&activations),
                    encode_activations(model.activations())
                ));
            }
        }
        file.load_into(model)
    })
}

/// Reads and parses the file at `path` and runs `f` on it; any failure,
/// reading, parsing or in `f`, is an [`Error::Checkpoint`] naming `path`.
///
/// [`Error::Checkpoint`]: crate::Error::Checkpoint
fn with_parsed<R>(
    path: &Path,
    f: impl FnOnce(&Parsed<'_>) -> std::result::Result<R, String>,
) -> Result<R> {
    let bytes = std::fs::read(path).map_err(|e| fail(path, format!("cannot be read: {e}")))?;
    Parsed::parse(&bytes)
        .and_then(|file| f(&file))
        .map_err(|reason| fail(path, reason))
}

/// A parsed safetensors file: its tensors and metadata.
struct Parsed<'b> {
    tensors: Tensors<'b>,
    meta: Meta,
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
        // (`read_metadata` checked that the header is UTF-8.)
        let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap_or_default();
        if let Some(key) = repeated_key(header) {
            return Err(format!(
                "the header names {key:?} twice in one object; expected each tensor and \
                 metadata key once (a JSON reader keeps one of them silently)"
            ));
        }
        let data = &bytes[8 + n..];
        let mut tensors = BTreeMap::new();
        for (name, info) in metadata.tensors() {
            let Some(dtype) = StoredDtype::from_safetensors(info.dtype) else {
                return Err(format!(
                    "tensor {name} has dtype {}; checkpoints hold F32 or F64",
                    info.dtype
                ));
            };
            let (s, e) = info.data_offsets;
            // `read_metadata` validated the offsets against the file.
            let raw = data.get(s..e).ok_or_else(|| {
                format!("tensor {name}: data offsets [{s}, {e}) outside the file")
            })?;
            tensors.insert(name, (dtype, info.shape.clone(), raw));
        }
        let meta = Meta::new(metadata.metadata().clone().unwrap_or_default())?;
        Ok(Parsed { tensors, meta })
    }

    /// Checks that the file holds, for every layer of a network of these
    /// `widths`, the weight and bias tensors of the shapes they imply
    /// (`[a_{r+1}, a_r]` and `[a_{r+1}]`).
    fn check_layer_shapes(&self, widths: &[usize]) -> std::result::Result<(), String> {
        for (r, pair) in widths.windows(2).enumerate() {
            for (kind, want) in [("weight", vec![pair[1], pair[0]]), ("bias", vec![pair[1]])] {
                let name = format!("layers.{}.{kind}", 2 * r);
                match self.tensors.get(&name) {
                    Some((_, shape, _)) if *shape == want => {}
                    Some((_, shape, _)) => {
                        return Err(format!(
                            "tensor {name} has shape {shape:?} in the file but the widths \
                             {widths:?} in its metadata imply {want:?}"
                        ))
                    }
                    None => {
                        return Err(format!(
                            "tensor {name} is missing (the widths {widths:?} in the \
                             metadata imply shape {want:?}); {}",
                            self.held()
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// What tensors the file holds, for the message of a missing one: a few
    /// names, and the fix when they are a bare `nn.Sequential`'s (`0.weight`
    /// for our `layers.0.weight`).
    fn held(&self) -> String {
        const SHOWN: usize = 6;
        let names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        if names.is_empty() {
            return "the file holds no tensor".into();
        }
        let more = match names.len().saturating_sub(SHOWN) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        let mut said = format!(
            "the file holds {}{more}",
            names[..names.len().min(SHOWN)].join(", ")
        );
        if self.tensors.contains_key("0.weight") {
            said.push_str(
                " (a bare nn.Sequential's state dict: the network's tensors are \
                 a module's attribute `layers`, `layers.0.weight`; save \
                 {f\"layers.{k}\": v for k, v in seq.state_dict().items()})",
            );
        }
        said
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
                    "tensor {name} is missing (the model expects shape {want:?}); {}",
                    self.held()
                ));
            };
            if *shape != want {
                return Err(format!(
                    "tensor {name} has shape {shape:?} in the file but the model expects {want:?}"
                ));
            }
            params[slot.range()].copy_from_slice(&decode_values::<T>(name, dtype, raw)?);
        }
        let names = self.meta.optimizer_names()?;
        for (name, (_, shape, _)) in &self.tensors {
            let known = model.slots().contains_key(name)
                || [scaler::MEAN, scaler::STD].contains(&name.as_str())
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
                let mut state = self.meta.optimizer_scalars::<T>()?;
                state.buffers.reserve_exact(names.len());
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
                    state
                        .buffers
                        .push((b.to_string(), decode_values::<T>(&tname, dtype, raw)?));
                }
                Some(state)
            }
        };
        let progress = self.meta.progress()?;
        let training = self.meta.training()?;
        let scaler = scaler::decode(&self.tensors, dtype, model.widths()[0])?;
        let extra = self.meta.extra();
        model.params_mut().copy_from_slice(&params);
        Ok(TrainingState {
            optimizer,
            progress,
            training,
            scaler,
            extra,
            dtype,
        })
    }
}

/// The first key that appears twice in one object of `json`, which
/// serde_json, and so safetensors, reads as its last value without a word.
/// Keys are compared decoded (`"a"` and `"\u0061"` are the same). Any text
/// is scanned without panicking; only valid JSON gives meaningful answers.
fn repeated_key(json: &str) -> Option<String> {
    let b = json.as_bytes();
    // The keys of each open object; `None` for an open array.
    let mut open: Vec<Option<HashSet<String>>> = Vec::new();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'{' => open.push(Some(HashSet::new())),
            b'[' => open.push(None),
            b'}' | b']' => {
                open.pop();
            }
            b'"' => {
                let start = i;
                i += 1;
                while let Some(&c) = b.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                let raw = json.get(start..=i.min(b.len() - 1)).unwrap_or_default();
                // A string followed by `:` is a key of the innermost object.
                let next = b
                    .get(i + 1..)
                    .and_then(|r| r.iter().find(|c| !c.is_ascii_whitespace()));
                if let (Some(b':'), Some(Some(keys))) = (next, open.last_mut()) {
                    let key =
                        serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string());
                    if !keys.insert(key.clone()) {
                        return Some(key);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The values of tensor `name`, stored as `dtype`, as `T`: bitwise when
/// `dtype` is `T`'s, widened exactly from `F32` to `f64`, rounded to nearest
/// from `F64` to `f32` (an error for a finite value beyond `f32`'s range).
pub(super) fn decode_values<T: Float>(
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
    use crate::checkpoint::write::encode_values;

    #[test]
    fn decoding_f64_into_f32_rounds_to_nearest_and_rejects_overflow() {
        let raw = encode_values(&[0.1_f64, -2.5]);
        assert_eq!(
            decode_values::<f32>("t", StoredDtype::F64, &raw).unwrap(),
            vec![0.1_f32, -2.5]
        );
        let raw = encode_values(&[1.0_f64, 1e300]);
        assert_eq!(
            decode_values::<f32>("t", StoredDtype::F64, &raw).unwrap_err(),
            "tensor t[1] = 1e300 (F64) is beyond the range of f32"
        );
        let raw = encode_values(&[f64::INFINITY]);
        assert_eq!(
            decode_values::<f32>("t", StoredDtype::F64, &raw).unwrap(),
            vec![f32::INFINITY]
        );
    }

    #[test]
    fn a_key_repeated_in_one_object_is_found_decoded_and_nothing_else_is() {
        let found = |json: &str| repeated_key(json);
        assert_eq!(found(r#"{"a":{"x":"1"},"b":{"x":"1"}}"#), None);
        assert_eq!(found(r#"{"a":"x","b":["a","a"],"c":"a"}"#), None);
        assert_eq!(
            found(r#"{"a":{"x":"1","y":"2","x":"3"}}"#),
            Some("x".into())
        );
        assert_eq!(found(r#"{"a" : 1, "b\"":2, "a":3}"#), Some("a".into()));
        assert_eq!(found(r#"{"\u0061":1,"a":2}"#), Some("a".into()));
        assert_eq!(found(r#"{"a\\":1,"a\\":2}"#), Some("a\\".into()));
        // Not JSON: no panic.
        for text in ["", "\"", "{\"a", "{\"a\\", "}}]]", "{\"a\":", "\"\\"] {
            assert_eq!(found(text), None, "{text:?}");
        }
    }

    #[test]
    fn decoding_the_same_dtype_keeps_nan_payloads() {
        let nan = f32::from_bits(0x7fa0_0001); // a signalling NaN with a payload
        let raw = encode_values(&[nan, -0.0_f32]);
        let back = decode_values::<f32>("t", StoredDtype::F32, &raw).unwrap();
        assert_eq!(back[0].to_bits(), 0x7fa0_0001);
        assert_eq!(back[1].to_bits(), (-0.0_f32).to_bits());
    }
}
