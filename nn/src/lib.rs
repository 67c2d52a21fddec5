//! Multilayer perceptrons on the chainrule tape.
#![warn(missing_docs)]
