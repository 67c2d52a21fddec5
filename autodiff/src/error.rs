//! The crate's error type.

use crate::Shape;

/// What can go wrong with the inputs of a differentiation or a matrix op.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two operands' shapes do not fit the op.
    #[error("{op}: shapes do not fit: left is {lhs}, right is {rhs}{}", expected_note(.expected))]
    ShapeMismatch {
        /// The op.
        op: &'static str,
        /// The shape of the left (or first) operand.
        lhs: Shape,
        /// The shape of the right (or second) operand.
        rhs: Shape,
        /// What the op needed, in words.
        expected: &'static str,
    },
    /// A buffer's length does not match the shape it is given with.
    #[error("{what}: expected {expected} values, got {got}")]
    LengthMismatch {
        /// What was being built or checked.
        what: &'static str,
        /// The number of values required.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A shape holds more elements than `usize` can count (no such matrix
    /// fits in memory).
    #[error("{what}: a {shape} matrix has more than usize::MAX elements")]
    ShapeTooLarge {
        /// What was being built.
        what: &'static str,
        /// The shape given.
        shape: Shape,
    },
    /// A function of no inputs was given to be differentiated.
    #[error("{what}: the input slice is empty; nothing to differentiate")]
    EmptyInput {
        /// The function called.
        what: &'static str,
    },
    /// A class label is not below the number of classes.
    #[error("cross-entropy: label {label} of row {row} is out of range for {classes} classes (expected 0..{classes})")]
    LabelOutOfRange {
        /// The row of the batch.
        row: usize,
        /// The label found.
        label: usize,
        /// The number of classes (columns of the logits).
        classes: usize,
    },
    /// A class weight of a cross-entropy is negative or not finite.
    #[error(
        "cross-entropy: the weight of class {class} is {value}, expected a finite number >= 0"
    )]
    ClassWeight {
        /// The class (the index into the weights).
        class: usize,
        /// The weight given.
        value: f64,
    },
    /// The mean of a class-weighted cross-entropy over a batch whose labels'
    /// weights sum to 0: PyTorch's `0 / 0 = NaN`, refused here.
    #[error("cross-entropy: the mean over {rows} rows whose labels' class weights sum to 0 is 0 / 0 (expected a positive sum; use Reduction::Sum for such a batch)")]
    ZeroWeightSum {
        /// The rows of the batch.
        rows: usize,
    },
    /// A parameter is outside its allowed range.
    #[error("{what}: {value} is outside the allowed range {range}")]
    OutOfRange {
        /// The parameter.
        what: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        range: &'static str,
    },
    /// An op of any number of matrices was given none.
    #[error("{what}: no matrices given (expected at least one)")]
    NoInputs {
        /// The op.
        what: &'static str,
    },
    /// Bounds out of order (`lo > hi`) or NaN.
    #[error("{what}: the bounds must satisfy lo <= hi, neither NaN; got lo = {lo}, hi = {hi}")]
    InvalidBounds {
        /// The op.
        what: &'static str,
        /// The lower bound given.
        lo: f64,
        /// The upper bound given.
        hi: f64,
    },
}

fn expected_note(e: &str) -> String {
    if e.is_empty() {
        String::new()
    } else {
        format!(" ({e})")
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
