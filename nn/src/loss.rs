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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// `0.5 |f(x) - y|^2` per sample.
    LeastSquares(Reduction),
    /// `-ln softmax(f(x))_y` per sample, for integer labels `y`.
    CrossEntropy(Reduction),
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
            Loss::LeastSquares(r) | Loss::CrossEntropy(r) => r,
        }
    }

    /// The loss of the network's output `f` (one row per sample) against
    /// `targets`, recorded on `f`'s tape.
    ///
    /// # Errors
    /// [`Error::Targets`] when the kind of targets does not fit the loss;
    /// [`Error::Autodiff`] for a wrong number of targets or a label out of
    /// range (the error names both).
    pub fn apply<'t, T: Float>(
        self,
        f: Mat<'t, T>,
        targets: BatchTargets<'_, T>,
    ) -> Result<Var<'t, T>> {
        match (self, targets) {
            (Loss::CrossEntropy(r), BatchTargets::Classes(labels)) => {
                Ok(f.try_softmax_cross_entropy(labels, r)?)
            }
            (Loss::LeastSquares(r), BatchTargets::Values(y)) => Ok(f.try_least_squares(y, r)?),
            (Loss::LeastSquares(_), BatchTargets::Classes(_)) => Err(Error::Targets(
                "least squares needs real target vectors, got class labels".into(),
            )),
            (Loss::CrossEntropy(_), BatchTargets::Values(_)) => Err(Error::Targets(
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
        }
    }
}
