//! Ops that move entries without arithmetic: the transpose, and the
//! broadcast of a row, a column or a single entry to a larger shape (as
//! PyTorch's `expand`), whose backward sums the copies.

use super::reduce::add_column_sums;
use super::{or_panic, MatStore, Op, Sink};
use crate::{Error, Float, Mat, Result, Shape};

impl<'t, T: Float> Mat<'t, T> {
    /// The transpose, `cols x rows` (a copy, as every node holds its value).
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.mat(Shape::new(2, 3), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
    /// assert_eq!(a.t().to_vec(), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn t(self) -> Mat<'t, T> {
        let (r, c) = (self.rows(), self.cols());
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(r * c);
        let (below, out) = st.split(off, r * c);
        transpose_into(below.of(self), r, c, out);
        let grad = self.requires_grad_in(&st);
        tape.record(
            &mut st,
            Op::Transpose { x: self.node() },
            off,
            Shape::new(c, r),
            grad,
        )
    }

    /// This matrix repeated to `shape`: a `1 x cols` row down `rows` rows, a
    /// `rows x 1` column across `cols` columns, or a `1 x 1` entry
    /// everywhere (the broadcasting of PyTorch and NumPy, one side at a
    /// time). The gradient sums over the copies. Combine it with the
    /// elementwise ops: `x + b.broadcast_to(x.shape())`.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(2, 2), &[1.0, 2.0, 3.0, 4.0])?;
    /// let s = tape.mat(Shape::new(1, 1), &[10.0])?; // a learned scale
    /// let y = x * s.broadcast_to(x.shape());
    /// assert_eq!(y.to_vec(), [10.0, 20.0, 30.0, 40.0]);
    /// let g = tape.backward(y.sum());
    /// assert_eq!(g[s], [10.0]); // the sum of x
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless each dimension of this matrix is 1 or
    /// that of `shape`; [`Error::ShapeTooLarge`] for a `shape` of more than
    /// `usize::MAX` entries.
    pub fn try_broadcast_to(self, shape: Shape) -> Result<Mat<'t, T>> {
        let (r, c) = (self.rows(), self.cols());
        if !((r == 1 || r == shape.rows) && (c == 1 || c == shape.cols)) {
            return Err(Error::ShapeMismatch {
                op: "broadcast_to",
                lhs: self.shape(),
                rhs: shape,
                expected: "each dimension of the matrix 1 or that of the target shape",
            });
        }
        let len = shape.checked_len().ok_or(Error::ShapeTooLarge {
            what: "broadcast_to",
            shape,
        })?;
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(len);
        let (below, out) = st.split(off, len);
        let v = below.of(self);
        for (i, row) in out.chunks_mut(shape.cols.max(1)).enumerate() {
            let src = if r == 1 { 0 } else { i * c };
            if c == 1 {
                row.fill(v[src]);
            } else {
                row.copy_from_slice(&v[src..src + c]);
            }
        }
        let grad = self.requires_grad_in(&st);
        Ok(tape.record(&mut st, Op::Broadcast { x: self.node() }, off, shape, grad))
    }

    /// [`try_broadcast_to`](Self::try_broadcast_to), panicking on shapes
    /// that do not broadcast.
    ///
    /// # Panics
    /// Where [`try_broadcast_to`](Self::try_broadcast_to) returns an
    /// error, with its message.
    #[track_caller]
    pub fn broadcast_to(self, shape: Shape) -> Mat<'t, T> {
        or_panic(self.try_broadcast_to(shape))
    }
}

/// `out = v^T` for `v` of `r x c`, row-major.
fn transpose_into<T: Copy>(v: &[T], r: usize, c: usize, out: &mut [T]) {
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = v[i * c + j];
        }
    }
}

/// `y = x^T`: `dx += dy^T`.
pub(super) fn transpose_backward<T: Float>(
    st: &MatStore<T>,
    x: u32,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let s = st.nodes[x as usize].shape;
    if let Some(mut gx) = st.grad_of(x, out) {
        // dy is cols x rows of x: element (i, j) of dx is dy[j * rows + i].
        let (r, c) = (s.rows, s.cols);
        gx.update(|k| gy[(k % c) * r + k / c]);
    }
}

/// `y = broadcast(x)`: each entry of `dx` sums the entries of `dy` it was
/// copied to.
pub(super) fn broadcast_backward<T: Float>(
    st: &MatStore<T>,
    x: u32,
    shape: Shape,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let s = st.nodes[x as usize].shape;
    if let Some(gx) = st.grad_of(x, out) {
        let g = gx.zeroed();
        let w = shape.cols;
        // The copies are summed in the blocked order of `sum_axis`: a
        // running sum over a long batch drifts in f32.
        match (s.rows == 1, s.cols == 1) {
            // One entry everywhere: all of dy, as one column.
            (true, true) => add_column_sums(g, gy, 1, 0),
            // A row down the rows: dy's column sums.
            (true, false) => add_column_sums(g, gy, w, 0),
            // A column across the columns: each row's sum.
            (false, true) => {
                for (g, row) in g.iter_mut().zip(gy.chunks(w.max(1))) {
                    add_column_sums(std::slice::from_mut(g), row, 1, 0);
                }
            }
            // Nothing repeated.
            (false, false) => g.iter_mut().zip(gy).for_each(|(g, &d)| *g += d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_of_a_row_major_matrix() {
        let mut out = [0; 6];
        transpose_into(&[1, 2, 3, 4, 5, 6], 2, 3, &mut out);
        assert_eq!(out, [1, 4, 2, 5, 3, 6]);
    }
}
