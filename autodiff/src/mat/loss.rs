//! The reductions of the losses of seed (5.1), and least squares fused
//! into a single node (softmax cross-entropy is in `cross_entropy`).

use super::{MatStore, Op, Sink};
use crate::{Error, Float, Mat, Real, Result, Shape, Var};

/// How a loss combines the per-sample terms phi_y(f(x)) of a batch.
///
/// `Sum` is J of seed (5.1), summed over the samples; `Mean` divides by the
/// number of samples (rows), like PyTorch's `CrossEntropyLoss` default.
/// Note that PyTorch's `MSELoss` mean divides by the number of *entries*;
/// ours divides by the number of rows for both losses, so that the two
/// losses scale alike with the batch size. A class-weighted cross-entropy's
/// mean divides by the sum of the labels' weights instead, as PyTorch's
/// (see [`CrossEntropy`](crate::CrossEntropy)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The sum over the samples, as in (5.1).
    Sum,
    /// The sum divided by the number of samples.
    #[default]
    Mean,
}

impl Reduction {
    pub(super) fn factor<T: Real>(self, rows: usize) -> T {
        match self {
            Reduction::Sum => T::one(),
            Reduction::Mean => T::one() / T::from_f64(rows as f64),
        }
    }
}

impl<'t, T: Float> Mat<'t, T> {
    /// Least squares `0.5 sum_i |f_i - y_i|^2` over the rows `f_i` of `self`
    /// (seed (5.1) with phi_y(f) = |f - y|^2 / 2), the targets `y` given
    /// row-major in the shape of `self`, reduced by `reduction`.
    ///
    /// ```text
    /// d/df = (f - y) (times 1/rows for Reduction::Mean)
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `target.len()` is the number of
    /// entries of `self`; [`Error::EmptyInput`] for the mean over a batch
    /// of no row (0 / 0; the sum over it is 0).
    pub fn try_least_squares(self, target: &[T], reduction: Reduction) -> Result<Var<'t, T>> {
        let shape = self.shape();
        no_mean_over_nothing(
            shape.rows,
            reduction,
            "least squares (the mean over a batch of no row)",
        )?;
        if target.len() != shape.len() {
            return Err(Error::LengthMismatch {
                // (The counts, not the shape: the targets are a flat slice.)
                what: "least squares (one target per entry of the predictions, row-major)",
                expected: shape.len(),
                got: target.len(),
            });
        }
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let toff = st.push_slice(target);
        let (f, y) = (st.value(self.node()), &st.data[toff..toff + target.len()]);
        // Summed in f64 (the same in f64): a running f32 sum of a million
        // terms drifts by a percent, where JAX's tree sum does not.
        let sq: f64 = f
            .iter()
            .zip(y)
            .map(|(&f, &y)| {
                let d = f.to_f64() - y.to_f64();
                d * d
            })
            .sum();
        let value = T::from_f64(sq * 0.5 * reduction.factor::<f64>(shape.rows));
        let off = st.alloc(1);
        st.data[off] = value;
        let grad = self.requires_grad_in(&st);
        let op = Op::LeastSquares {
            f: self.node(),
            target: toff,
            reduction,
            out: tape.next_index(),
        };
        tape.record(&mut st, op, off, Shape::new(1, 1), grad);
        drop(st);
        Ok(tape.scalar_output(value))
    }

    /// [`try_least_squares`](Self::try_least_squares), panicking on a bad
    /// target length.
    ///
    /// # Panics
    /// Where [`try_least_squares`](Self::try_least_squares) returns an
    /// error (also the mean over a batch of no row), with its message.
    #[track_caller]
    pub fn least_squares(self, target: &[T], reduction: Reduction) -> Var<'t, T> {
        super::or_panic(self.try_least_squares(target, reduction))
    }
}

/// `J = c 0.5 |f - y|^2`: `df += dJ c (f - y)`.
pub(super) fn least_squares_backward<T: Float>(
    st: &MatStore<T>,
    f: u32,
    target: usize,
    reduction: Reduction,
    dj: T,
    out: &mut Sink<'_, T>,
) {
    let node = &st.nodes[f as usize];
    let d = dj * reduction.factor(node.shape.rows);
    let (vf, y) = (st.value(f), &st.data[target..target + node.shape.len()]);
    if let Some(mut gf) = st.grad_of(f, out) {
        gf.update(|k| d * (vf[k] - y[k]));
    }
}

/// [`Error::EmptyInput`] for a mean over no row, which would be 0 / 0.
pub(super) fn no_mean_over_nothing(
    rows: usize,
    reduction: Reduction,
    what: &'static str,
) -> Result<()> {
    if rows == 0 && reduction == Reduction::Mean {
        Err(Error::EmptyInput { what })
    } else {
        Ok(())
    }
}
