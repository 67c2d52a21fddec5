//! Ops that move entries without arithmetic: the transpose, the
//! broadcast of a row, a column or a single entry to a larger shape (as
//! PyTorch's `expand`), whose backward sums the copies, the reshape, and
//! the concatenation along rows or columns, whose backwards cut the
//! output's gradient back into the inputs' shapes.

use super::reduce::add_column_sums;
use super::{copy, or_panic, Axis, MatStore, Op, Sink};
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

impl<'t, T: Float> Mat<'t, T> {
    /// The same entries, in row-major order, as a `rows x cols` matrix
    /// (PyTorch's `reshape` and `view` of a contiguous tensor; a copy
    /// here, as every node holds its value). The gradient is the output's,
    /// reshaped back.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(2, 3), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
    /// let y = x.try_reshape(3, 2)?;
    /// assert_eq!(y.shape(), Shape::new(3, 2));
    /// assert_eq!(y.to_vec(), x.to_vec());
    /// let w = tape.mat_const(Shape::new(3, 2), &[1.0, 0.0, 0.0, 2.0, 0.0, 0.0])?;
    /// assert_eq!(tape.backward((y * w).sum())[x], [1.0, 0.0, 0.0, 2.0, 0.0, 0.0]);
    /// assert!(x.try_reshape(4, 2).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `rows * cols` is this matrix's number
    /// of entries.
    pub fn try_reshape(self, rows: usize, cols: usize) -> Result<Mat<'t, T>> {
        let shape = Shape::new(rows, cols);
        let len = self.shape().len();
        if shape.checked_len() != Some(len) {
            return Err(Error::ShapeMismatch {
                op: "reshape",
                lhs: self.shape(),
                rhs: shape,
                expected: "the same number of entries",
            });
        }
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(len);
        let (below, out) = st.split(off, len);
        copy(out, below.of(self));
        let grad = self.requires_grad_in(&st);
        Ok(tape.record(&mut st, Op::Reshape { x: self.node() }, off, shape, grad))
    }

    /// [`try_reshape`](Self::try_reshape), panicking on a shape of another
    /// number of entries.
    ///
    /// # Panics
    /// Where [`try_reshape`](Self::try_reshape) returns an error, with its
    /// message.
    #[track_caller]
    pub fn reshape(self, rows: usize, cols: usize) -> Mat<'t, T> {
        or_panic(self.try_reshape(rows, cols))
    }

    /// The matrices one after another along `axis` (PyTorch's
    /// `torch.cat(mats, dim)`): with [`Axis::Rows`] stacked top to bottom
    /// (`dim=0`, `torch.vstack`), every one with the same number of
    /// columns; with [`Axis::Cols`] side by side (`dim=1`, `torch.hstack`
    /// of matrices), every one with the same number of rows. Each input's
    /// gradient is its block of the output's. A matrix may appear more than
    /// once (its gradient sums its blocks').
    ///
    /// ```
    /// use autodiff::{Axis, Mat, Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.mat(Shape::new(1, 2), &[1.0, 2.0])?;
    /// let b = tape.mat(Shape::new(2, 2), &[3.0, 4.0, 5.0, 6.0])?;
    /// let v = Mat::try_concat(&[a, b], Axis::Rows)?; // 3 x 2
    /// assert_eq!(v.to_vec(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    /// let h = Mat::try_concat(&[b, b.scale(10.0)], Axis::Cols)?; // 2 x 4
    /// assert_eq!(h.to_vec(), [3.0, 4.0, 30.0, 40.0, 5.0, 6.0, 50.0, 60.0]);
    /// let g = tape.backward(v.sum() + h.sum());
    /// assert_eq!((&g[a][..], &g[b][..]), (&[1.0, 1.0][..], &[12.0; 4][..]));
    /// assert!(Mat::try_concat(&[a, b], Axis::Cols).is_err()); // 1 row and 2
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NoInputs`] for no matrices; [`Error::ShapeMismatch`] (the
    /// first matrix's shape and the first that does not fit) unless the
    /// other dimension agrees; [`Error::ShapeTooLarge`] if the result's
    /// shape overflows.
    ///
    /// # Panics
    /// If the matrices are on different tapes.
    #[track_caller]
    pub fn try_concat(mats: &[Mat<'t, T>], axis: Axis) -> Result<Mat<'t, T>> {
        let (op, expected) = match axis {
            Axis::Rows => ("concat (rows, vstack)", "the same number of columns"),
            Axis::Cols => ("concat (columns, hstack)", "the same number of rows"),
        };
        let first = *mats.first().ok_or(Error::NoInputs { what: op })?;
        let across = |m: Mat<'t, T>| match axis {
            Axis::Rows => (m.rows(), m.cols()),
            Axis::Cols => (m.cols(), m.rows()),
        };
        let (mut along, other) = (0usize, across(first).1);
        for &m in mats {
            first.same_tape(m);
            let (n, o) = across(m);
            if o != other {
                return Err(Error::ShapeMismatch {
                    op,
                    lhs: first.shape(),
                    rhs: m.shape(),
                    expected,
                });
            }
            along = along.saturating_add(n);
        }
        let shape = match axis {
            Axis::Rows => Shape::new(along, other),
            Axis::Cols => Shape::new(other, along),
        };
        let len = match shape.checked_len() {
            Some(len) if along < usize::MAX => len,
            _ => return Err(Error::ShapeTooLarge { what: op, shape }),
        };
        let tape = first.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(len);
        let (below, out) = st.split(off, len);
        let mut at = 0;
        for &m in mats {
            let v = below.of(m);
            match axis {
                // Each input a contiguous block.
                Axis::Rows => copy(&mut out[at..at + v.len()], v),
                // Each input a block of columns: row by row.
                Axis::Cols => {
                    let c = m.cols();
                    if c > 0 {
                        for (dst, src) in out.chunks_mut(along).zip(v.chunks(c)) {
                            dst[at..at + c].copy_from_slice(src);
                        }
                    }
                }
            }
            at += match axis {
                Axis::Rows => v.len(),
                Axis::Cols => m.cols(),
            };
        }
        let grad = mats.iter().any(|m| m.requires_grad_in(&st));
        let start = st.labels.len();
        st.labels.extend(mats.iter().map(|m| m.node()));
        let op = Op::Concat {
            start,
            n: mats.len() as u32,
            axis,
        };
        Ok(tape.record(&mut st, op, off, shape, grad))
    }

    /// [`try_concat`](Self::try_concat), panicking on shapes that do not
    /// fit or no matrices.
    ///
    /// # Panics
    /// Where [`try_concat`](Self::try_concat) returns an error, with its
    /// message, or panics.
    #[track_caller]
    pub fn concat(mats: &[Mat<'t, T>], axis: Axis) -> Mat<'t, T> {
        or_panic(Self::try_concat(mats, axis))
    }

    /// The matrices stacked top to bottom: [`concat`](Self::concat) along
    /// [`Axis::Rows`] (`torch.vstack`).
    ///
    /// # Panics
    /// As [`concat`](Self::concat).
    #[track_caller]
    pub fn vstack(mats: &[Mat<'t, T>]) -> Mat<'t, T> {
        Self::concat(mats, Axis::Rows)
    }

    /// The matrices side by side: [`concat`](Self::concat) along
    /// [`Axis::Cols`] (`torch.hstack` of matrices).
    ///
    /// # Panics
    /// As [`concat`](Self::concat).
    #[track_caller]
    pub fn hstack(mats: &[Mat<'t, T>]) -> Mat<'t, T> {
        Self::concat(mats, Axis::Cols)
    }
}

/// `y = reshape(x)`: `dx += dy`, entry by entry in row-major order.
pub(super) fn reshape_backward<T: Float>(
    st: &MatStore<T>,
    x: u32,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    if let Some(mut gx) = st.grad_of(x, out) {
        gx.update_from(gy, |_, d| d);
    }
}

/// `y = concat(x_1, ..., x_n)` along `axis`: each `dx_k += ` its block of
/// `dy`, in turn (so a matrix given twice adds both blocks).
pub(super) fn concat_backward<T: Float>(
    st: &MatStore<T>,
    (start, n, axis): (usize, u32, Axis),
    shape: Shape,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let mut at = 0;
    for &x in &st.labels[start..start + n as usize] {
        let s = st.nodes[x as usize].shape;
        if let Some(mut gx) = st.grad_of(x, out) {
            match axis {
                Axis::Rows => gx.update_from(&gy[at..at + s.len()], |_, d| d),
                // Entry k of x is (k / c, k % c): column at + k % c of dy.
                Axis::Cols => {
                    let (c, w) = (s.cols, shape.cols);
                    gx.update(|k| gy[(k / c) * w + at + k % c]);
                }
            }
        }
        at += match axis {
            Axis::Rows => s.len(),
            Axis::Cols => s.cols,
        };
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
