//! Reverse-mode automatic differentiation.
#![warn(missing_docs)]
