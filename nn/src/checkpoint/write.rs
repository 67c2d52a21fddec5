//! Writing: the tensors and metadata serialised to safetensors bytes, and
//! the atomic write of those bytes.

use super::{fail, metadata, torch_shape, Checkpoint, StoredDtype, OPTIMIZER_PREFIX};
use crate::{Mlp, Result};
use autodiff::Float;
use safetensors::tensor::TensorView;
use std::any::Any;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes a checkpoint to `path` atomically (see the [module
/// documentation](super) for the layout).
///
/// # Errors
/// [`Error::Checkpoint`] when an optimizer buffer name is empty, holds a
/// comma or repeats, when a buffer is neither empty nor one value per
/// parameter, or when the file cannot be written; the previous file
/// at `path`, if any, is then untouched.
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
    }
    let meta = metadata::encode(c);
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
}
