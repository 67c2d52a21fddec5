//! The row-wise softmax and log-softmax, computed stably (each row's
//! maximum subtracted first), for models that need the probabilities or
//! their logarithms themselves (the fused
//! [`softmax_cross_entropy`](Mat::softmax_cross_entropy) is the loss).

use super::{MatStore, Node, Op, Sink};
use crate::{Float, Mat};

impl<'t, T: Float> Mat<'t, T> {
    fn row_softmax(self, log: bool) -> Mat<'t, T> {
        let (len, c) = (self.shape().len(), self.cols().max(1));
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(len);
        let (below, out) = st.split(off, len);
        for (row, y) in below.of(self).chunks(c).zip(out.chunks_mut(c)) {
            let m = row
                .iter()
                .copied()
                .fold(row[0], |a, b| if b > a { b } else { a });
            let mut s = T::zero();
            for (y, &z) in y.iter_mut().zip(row) {
                *y = (z - m).exp();
                s += *y;
            }
            if log {
                // z - logsumexp(z) = (z - m) - ln(sum e^(z - m))
                let ls = s.ln();
                for (y, &z) in y.iter_mut().zip(row) {
                    *y = z - m - ls;
                }
            } else {
                y.iter_mut().for_each(|y| *y /= s);
            }
        }
        let grad = self.requires_grad_in(&st);
        let shape = self.shape();
        tape.record(
            &mut st,
            Op::Softmax {
                x: self.node(),
                log,
            },
            off,
            shape,
            grad,
        )
    }

    /// `softmax` of each row: `e^(z_j) / sum_k e^(z_k)`.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let z = tape.mat(Shape::new(1, 2), &[0.0, 1000.0])?; // no overflow
    /// assert_eq!(z.softmax().to_vec(), [0.0, 1.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn softmax(self) -> Mat<'t, T> {
        self.row_softmax(false)
    }

    /// `ln softmax` of each row: `z_j - ln sum_k e^(z_k)`, without the
    /// underflow of taking the logarithm of a softmax.
    pub fn log_softmax(self) -> Mat<'t, T> {
        self.row_softmax(true)
    }
}

/// Per row, with `p = softmax(z)`: for `y = p`, `dz = p (dy - <dy, p>)`; for
/// `y = ln p`, `dz = dy - p sum(dy)` (the Jacobians `diag(p) - p p^T` and
/// `I - 1 p^T`).
pub(super) fn softmax_backward<T: Float>(
    st: &MatStore<T>,
    node: &Node<T>,
    x: u32,
    log: bool,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let c = node.shape.cols.max(1);
    let y = &st.data[node.range()];
    if let Some(gx) = st.grad_of(x, out) {
        let first = gx.is_first();
        for ((g, dy), y) in gx.g.chunks_mut(c).zip(gy.chunks(c)).zip(y.chunks(c)) {
            let term = |j: usize, t: T| {
                if log {
                    dy[j] - y[j].exp() * t
                } else {
                    y[j] * (dy[j] - t)
                }
            };
            let t: T = if log {
                dy.iter().copied().sum()
            } else {
                dy.iter().zip(y).map(|(&d, &p)| d * p).sum()
            };
            for (j, g) in g.iter_mut().enumerate() {
                if first {
                    *g = term(j, t);
                } else {
                    *g += term(j, t);
                }
            }
        }
    }
}
