//! Data sets, loaders, preprocessing and mini-batches.
//!
//! - [`Dataset`]: feature rows (a [`Matrix`](autodiff::Matrix) of shape
//!   `(n_samples, n_features)`) with class labels or real target vectors
//!   ([`Targets`]), generic over `f32` and `f64`; seeded train/test
//!   [`split`](Dataset::split), [`select`](Dataset::select), and
//!   [`gather`](Dataset::gather) of a batch into reusable buffers.
//! - Loaders: [`load_csv`]/[`read_csv`] (errors name the file, line and
//!   column), IDX files of MNIST and Fashion-MNIST ([`load_mnist`],
//!   [`load_idx`], [`read_idx`]), and the bundled UCI digits ([`digits`]).
//! - [`Standardizer`] and [`MinMaxScaler`]: fit on the training set,
//!   transform any set.
//! - Seeded synthetic sets: [`two_spirals`], [`xor`], [`noisy_sine`].
//! - [`Batcher`]: the mini-batches of each epoch (seed section 5.3), in a
//!   [`BatchOrder`]: reshuffled (default), cyclic, or with replacement.
//!
//! Everything random takes a seed: the same seed gives bitwise the same
//! split, data and batches.
//!
//! ```
//! use nn::data::{self, Batcher, Standardizer};
//!
//! let digits = data::digits::<f32>()?;
//! let (train, test) = digits.split(0.2, 42)?;
//! let scaler = Standardizer::fit_dataset(&train)?;
//! let (train, test) = (scaler.transform_dataset(train)?, scaler.transform_dataset(test)?);
//! assert_eq!((train.len(), test.len()), (1438, 359));
//!
//! let mut batcher = Batcher::new(train.len(), 32)?.seed(7);
//! let (mut x, mut y) = (Vec::new(), Vec::new());
//! let mut seen = 0;
//! for epoch in 0..2 {
//!     for batch in batcher.epoch(epoch) {
//!         train.gather(batch, &mut x, &mut y)?; // x: batch.len() x 64, row-major
//!         assert_eq!(x.len(), batch.len() * train.n_features());
//!         seen += y.len();
//!     }
//! }
//! assert_eq!(seen, 2 * train.len());
//! # let _ = test;
//! # Ok::<(), nn::data::DataError>(())
//! ```

mod batches;
mod csv;
mod dataset;
mod error;
mod idx;
mod preprocess;
mod synthetic;

pub use batches::{BatchOrder, Batcher, Batches};
pub use csv::{load_csv, read_csv, CsvOptions, LabelColumn, TargetKind, MAX_COUNTED_CLASSES};
pub use dataset::{Dataset, Targets};
pub use error::{DataError, Result};
pub use idx::{
    idx_to_labels, idx_to_matrix, load_idx, load_idx_images, load_idx_labels, load_mnist, read_idx,
    write_idx, IdxArray, IdxData,
};
pub use preprocess::{MinMaxScaler, Standardizer};
pub use synthetic::{noisy_sine, two_spirals, xor};

use autodiff::Float;

/// The bundled CSV text of the UCI digits (see `nn/data/README.md`).
const DIGITS_CSV: &str = include_str!("../../data/digits.csv");

/// The UCI "Optical Recognition of Handwritten Digits" test set as bundled
/// with scikit-learn (Alpaydin and Kaynak, 1998; CC BY 4.0): 1,797 images of
/// 8x8 pixels, 64 features with integer values 0..=16, 10 classes. Parsed
/// from the copy compiled into the crate with [`read_csv`]; no file is read
/// at run time.
///
/// # Errors
/// None in practice: the embedded file is well formed (a parse error would
/// be reported as for any CSV source named `digits.csv`).
pub fn digits<T: Float>() -> Result<Dataset<T>> {
    let opts = CsvOptions::default().targets(TargetKind::Classes {
        n_classes: Some(10),
    });
    read_csv(DIGITS_CSV.as_bytes(), "digits.csv", &opts)
}
