//! Test support shared by the nn integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop (also when
/// the test fails).
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory whose name holds `tag`, the process id and a
    /// counter, so that parallel tests never share one.
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("chainrule-nn-{}-{tag}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `bytes` to `name` in the directory; returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The reason of an `Error::Checkpoint`, checking the path it names.
pub fn reason(err: nn::Error, path: &std::path::Path) -> String {
    match err {
        nn::Error::Checkpoint { path: p, reason } => {
            assert_eq!(p, path.display().to_string());
            reason
        }
        other => panic!("expected Error::Checkpoint, got {other:?}"),
    }
}

/// Writes a safetensors file of F32 tensors `(name, shape, little-endian
/// bytes)` with the metadata `meta`: a file as another program could write
/// it.
pub fn write_f32_safetensors(
    path: &std::path::Path,
    tensors: &[(String, Vec<usize>, Vec<u8>)],
    meta: &[(&str, &str)],
) {
    use safetensors::tensor::{Dtype, TensorView};
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let meta = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

/// A deterministic gradient depending on the parameters, so that training
/// runs depend on the whole state.
pub fn gradient<T: optim::Float + autodiff::Float>(w: &[T]) -> Vec<T> {
    w.iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = <T as autodiff::Real>::from_f64(0.3 + 0.01 * i as f64);
            x * c - <T as autodiff::Real>::from_f64(0.05)
        })
        .collect()
}

/// A tanh network of `widths` after `steps` Adam steps on [`gradient`].
pub fn trained<T: optim::Float + autodiff::Float>(
    widths: &[usize],
    steps: usize,
) -> (nn::Mlp<T>, optim::Adam<T>) {
    let mut mlp = nn::Mlp::<T>::builder(widths)
        .hidden(nn::Activation::Tanh)
        .seed(11)
        .build()
        .unwrap();
    let mut adam = optim::Adam::default();
    for _ in 0..steps {
        let g = gradient(mlp.params());
        optim::Optimizer::step(&mut adam, mlp.params_mut(), &g).unwrap();
    }
    (mlp, adam)
}
