//! Data sets, preprocessing and mini-batches.
//!
//! - [`Dataset`]: feature rows with class labels or real targets
//!   ([`Targets`]), generic over `f32` and `f64`; seeded train/test split.
//! - [`Standardizer`] and [`MinMaxScaler`]: fit on the training set,
//!   transform any set.
//! - Seeded synthetic sets: [`two_spirals`], [`xor`], [`noisy_sine`].
//! - [`Batcher`]: the mini-batches of each epoch (seed section 5.3).

mod batches;
mod dataset;
mod error;
mod preprocess;
mod synthetic;

pub use batches::{BatchOrder, Batcher, Batches};
pub use dataset::{Dataset, Targets};
pub use error::{DataError, Result};
pub use preprocess::{MinMaxScaler, Standardizer};
pub use synthetic::{noisy_sine, two_spirals, xor};
