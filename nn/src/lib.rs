//! Multilayer perceptrons on the chainrule tape.
#![warn(missing_docs)]

pub mod data;
