//! The losses of seed (5.1): least squares and softmax cross-entropy, on
//! the tape's fused primitives.

use crate::{Error, Result};
use autodiff::{Float, Mat, Reduction, Var};

/// The targets of a batch: class labels or real vectors (row-major, one row
/// per sample).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BatchTargets<'a, T> {
    /// One class label per sample.
    Classes(&'a [usize]),
    /// One target vector per sample, row-major.
    Values(&'a [T]),
}

/// The loss phi_y of (5.1), reduced over a batch.
///
/// With [`Reduction::Sum`] the loss of a batch is the seed's J restricted to
/// it; with [`Reduction::Mean`] (the default) it is divided by the batch
/// size, so that the step size does not depend on it.
///
/// The cross-entropies are PyTorch's `CrossEntropyLoss` on class indices
/// (see [`autodiff::CrossEntropy`]); [`Loss::SmoothedCrossEntropy`] is its
/// `label_smoothing=eps`, and its value, which the trainer reports as the
/// loss, includes the smoothing term, as PyTorch's does: a network that
/// predicts every label with certainty has an infinite smoothed loss, and
/// the smallest is reached at the smoothed target's probabilities.
///
/// ```
/// use autodiff::Reduction;
/// use nn::{BatchTargets, Loss};
/// let logits = [3.0, 0.0, -1.0, 0.5, 2.0, 0.0]; // 2 samples, 3 classes
/// let labels = BatchTargets::Classes(&[0, 1]);
/// let plain = Loss::CrossEntropy(Reduction::Mean).value(&logits, 3, labels)?;
/// let smoothed = Loss::SmoothedCrossEntropy { reduction: Reduction::Mean, label_smoothing: 0.1 };
/// assert!(smoothed.value(&logits, 3, labels)? > plain); // confident and right: smoothing costs
/// assert_eq!(smoothed.label_smoothing(), Some(0.1));
/// # Ok::<(), nn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// `0.5 |f(x) - y|^2` per sample.
    LeastSquares(Reduction),
    /// `-ln softmax(f(x))_y` per sample, for integer labels `y`.
    CrossEntropy(Reduction),
    /// Cross-entropy against the smoothed target
    /// `(1 - eps) onehot(y) + eps / K` over the `K` classes (PyTorch's
    /// `CrossEntropyLoss(label_smoothing=eps)`): per sample
    /// `(1 - eps) (-ln p_y) + (eps / K) sum_k (-ln p_k)`, gradient `p - target`.
    /// `eps = 0` is [`Loss::CrossEntropy`], bitwise.
    SmoothedCrossEntropy {
        /// How the per-sample losses are combined.
        reduction: Reduction,
        /// `eps` in `[0, 1]` (checked where the loss is used:
        /// [`Error::Autodiff`] with an out-of-range error otherwise).
        label_smoothing: f64,
    },
}

impl Default for Loss {
    fn default() -> Self {
        Loss::CrossEntropy(Reduction::Mean)
    }
}

impl Loss {
    /// How the per-sample losses are combined.
    pub fn reduction(self) -> Reduction {
        match self {
            Loss::LeastSquares(r)
            | Loss::CrossEntropy(r)
            | Loss::SmoothedCrossEntropy { reduction: r, .. } => r,
        }
    }

    /// The label smoothing of a cross-entropy (`Some(0.0)` for the plain
    /// one), `None` for least squares.
    pub fn label_smoothing(self) -> Option<f64> {
        match self {
            Loss::LeastSquares(_) => None,
            Loss::CrossEntropy(_) => Some(0.0),
            Loss::SmoothedCrossEntropy {
                label_smoothing, ..
            } => Some(label_smoothing),
        }
    }

    /// Whether the loss takes class labels (a cross-entropy) rather than
    /// real target vectors.
    pub fn takes_classes(self) -> bool {
        self.label_smoothing().is_some()
    }

    /// The loss of the network's output `f` (one row per sample) against
    /// `targets`, recorded on `f`'s tape.
    ///
    /// # Errors
    /// [`Error::Targets`] when the kind of targets does not fit the loss;
    /// [`Error::Autodiff`] for a wrong number of targets, a label out of
    /// range (the error names both) or a label smoothing outside `[0, 1]`.
    pub fn apply<'t, T: Float>(
        self,
        f: Mat<'t, T>,
        targets: BatchTargets<'_, T>,
    ) -> Result<Var<'t, T>> {
        match (self.label_smoothing(), targets) {
            (Some(eps), BatchTargets::Classes(labels)) => {
                let ce = autodiff::CrossEntropy::new(self.reduction()).with_label_smoothing(eps);
                Ok(f.try_softmax_cross_entropy_with(labels, ce)?)
            }
            (None, BatchTargets::Values(y)) => Ok(f.try_least_squares(y, self.reduction())?),
            (None, BatchTargets::Classes(_)) => Err(Error::Targets(
                "least squares needs real target vectors, got class labels".into(),
            )),
            (Some(_), BatchTargets::Values(_)) => Err(Error::Targets(
                "cross-entropy needs class labels, got real target vectors".into(),
            )),
        }
    }

    /// The loss in plain numbers, without a tape: `output` is `rows x cols`.
    ///
    /// # Errors
    /// [`Error::Autodiff`] unless `output` is a whole number of rows of
    /// `cols`; otherwise as [`apply`](Self::apply).
    pub fn value<T: Float>(
        self,
        output: &[T],
        cols: usize,
        targets: BatchTargets<'_, T>,
    ) -> Result<f64> {
        let tape = autodiff::Tape::<T>::new();
        let rows = output.len().checked_div(cols).unwrap_or(0);
        let f = tape.mat_const(autodiff::Shape::new(rows, cols), output)?;
        Ok(self.apply(f, targets)?.value().to_f64())
    }

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::LeastSquares(_) => "least squares",
            Loss::CrossEntropy(_) => "cross-entropy",
            Loss::SmoothedCrossEntropy { .. } => "cross-entropy with label smoothing",
        }
    }
}
