//! Optimizers over flat parameter and gradient slices.
#![warn(missing_docs)]
