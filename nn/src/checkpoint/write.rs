//! Writing: the tensors and metadata serialised to safetensors bytes, and
//! the atomic write of those bytes.

use super::{fail, metadata, scaler, torch_shape, Checkpoint, StoredDtype, OPTIMIZER_PREFIX};
use crate::{Mlp, Result};
use autodiff::Float;
use safetensors::tensor::TensorView;
use std::any::Any;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes a checkpoint to `path` atomically (see the [module
/// documentation](super) for the layout).
///
/// # Errors
/// [`Error::Checkpoint`] when an optimizer buffer name is empty, holds a
/// comma or repeats, when a setting name is empty, holds a comma or `=`, or
/// repeats, when a buffer is neither empty nor one value per parameter, when
/// the scaler has another number of features than the network's input width
/// or is not valid ([`Standardizer::validate`]), when a training setting is
/// out of the range a trainer runs with (a batch size of 0, a clipping bound
/// not finite and `> 0`, a dropout probability outside `[0, 1)`: the reader
/// refuses those), or when the file cannot be written; the previous file at
/// `path`, if any, is then untouched.
///
/// [`Standardizer::validate`]: crate::data::Standardizer::validate
///
/// [`Error::Checkpoint`]: crate::Error::Checkpoint
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

/// The little-endian bytes of `xs`, bit for bit.
pub(super) fn encode_values<T: Float>(xs: &[T]) -> Vec<u8> {
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
    if let Some(s) = c.optimizer.as_deref() {
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
    }
    if let Some(s) = c.scaler {
        tensors.extend(scaler::encode(s, c.model.widths()[0])?);
    }
    let meta = metadata::encode(c)?;
    let views = tensors
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(dtype.safetensors(), shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| format!("tensor {name}: {e}"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let bytes = safetensors::serialize(views, Some(meta))
        .map_err(|e| format!("cannot be serialised: {e}"))?;
    sorted_header(bytes)
}

/// The safetensors file `bytes` with its header's keys (tensor names and
/// metadata keys) in sorted order: the same checkpoint is then the same
/// bytes, which users hashing artefacts expect (safetensors writes its
/// metadata in `HashMap` order, which changes between runs). The data
/// offsets are unchanged, so the tensor data is copied as it is.
fn sorted_header(bytes: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    use serde_json::Value;
    let bad = |e: serde_json::Error| format!("cannot be serialised: header: {e}");
    let n = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .filter(|&n| 8 + n <= bytes.len())
        .ok_or("cannot be serialised: safetensors wrote no header")?;
    let header: BTreeMap<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).map_err(bad)?;
    let mut out = String::from("{");
    for (k, v) in &header {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).map_err(bad)?);
        out.push(':');
        // An object's key order is serde_json's choice (sorted, or kept
        // as parsed with its `preserve_order` feature): the metadata map,
        // the one whose order varies, goes through a BTreeMap.
        let v = if k == "__metadata__" {
            let m: BTreeMap<String, String> = serde_json::from_value(v.clone()).map_err(bad)?;
            serde_json::to_string(&m)
        } else {
            serde_json::to_string(v)
        };
        out.push_str(&v.map_err(bad)?);
    }
    out.push('}');
    // safetensors pads the header with spaces to a multiple of 8 bytes, so
    // that the data that follows stays aligned.
    while out.len() % 8 != 0 {
        out.push(' ');
    }
    let mut file = Vec::with_capacity(8 + out.len() + bytes.len() - 8 - n);
    file.extend_from_slice(&(out.len() as u64).to_le_bytes());
    file.extend_from_slice(out.as_bytes());
    file.extend_from_slice(&bytes[8 + n..]);
    Ok(file)
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
    fn the_same_checkpoint_is_the_same_bytes_and_reads_back() {
        let mlp = crate::Mlp::<f32>::builder(&[3, 4, 2])
            .seed(2)
            .build()
            .unwrap();
        let mut opt = optim::Adam::<f32>::default();
        let g = vec![0.5f32; mlp.num_params()];
        let mut w = mlp.params().to_vec();
        optim::Optimizer::step(&mut opt, &mut w, &g).unwrap();
        let state = optim::Optimizer::state(&opt);
        let encode = || {
            let mut c = Checkpoint::new(&mlp)
                .optimizer(&state)
                .progress(super::super::Progress {
                    epoch: 3,
                    step: 7,
                    seed: 11,
                });
            for k in 0..12 {
                c = c.extra(format!("key{k}"), format!("value \"{k}\"\n"));
            }
            encode_checkpoint(&c).unwrap()
        };
        let first = encode();
        // Each HashMap gets its own random order: twenty encodings would
        // not all agree by chance with a dozen and more metadata keys.
        for _ in 0..20 {
            assert!(encode() == first, "two encodings of one checkpoint differ");
        }
        let (n, header) = safetensors::SafeTensors::read_metadata(&first).unwrap();
        assert_eq!((8 + n) % 8, 0, "the data starts 8-byte aligned");
        let meta = header.metadata().as_ref().unwrap();
        assert_eq!(meta["extra.key3"], "value \"3\"\n");
        let tensors = safetensors::SafeTensors::deserialize(&first).unwrap();
        assert_eq!(tensors.len(), 4 + 2);
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
}
