//! Matrix products and the affine map of a layer, seed (5.10): forward and
//! derivative rules, through the matrix-multiply kernel with transposes
//! passed as strides.

use super::{or_panic, MatStore, Node, Op, Sink};
use crate::{Error, Float, Mat, Result, Shape};

impl<'t, T: Float> Mat<'t, T> {
    /// The matrix product `self other`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `self.cols == other.rows`.
    ///
    /// # Panics
    /// If `other` is on another tape.
    #[track_caller]
    pub fn try_matmul(self, other: Mat<'t, T>) -> Result<Mat<'t, T>> {
        self.same_tape(other);
        let (a, b) = (self.shape(), other.shape());
        if a.cols != b.rows {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                lhs: a,
                rhs: b,
                expected: "left columns equal right rows",
            });
        }
        let (m, k, n) = (a.rows, a.cols, b.cols);
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let len = Shape::new(m, n).len();
        let off = st.alloc(len);
        let (below, out) = st.split(off, len);
        let (va, vb) = (below.of(self), below.of(other));
        T::gemm(m, k, n, T::one(), va, k, 1, vb, n, 1, T::zero(), out, n, 1);
        let grad = self.requires_grad_in(&st) || other.requires_grad_in(&st);
        Ok(tape.record(
            &mut st,
            Op::MatMul {
                a: self.node(),
                b: other.node(),
            },
            off,
            Shape::new(m, n),
            grad,
        ))
    }

    /// [`try_matmul`](Self::try_matmul), panicking on mismatched shapes.
    ///
    /// # Panics
    /// Where [`try_matmul`](Self::try_matmul) returns an error, with its
    /// message, or panics.
    #[track_caller]
    pub fn matmul(self, other: Mat<'t, T>) -> Mat<'t, T> {
        or_panic(self.try_matmul(other))
    }

    /// The affine map of a layer on a batch of row vectors: `self W^T + b`,
    /// i.e. `z_i = W x_i + b` for each row `x_i` (seed (5.10), with `W` of
    /// shape `(a_{r+1}, a_r)`). `self` is `(n, a_r)`, `b` has `a_{r+1}`
    /// entries (shape `(1, a_{r+1})` or `(a_{r+1}, 1)`); the result is
    /// `(n, a_{r+1})`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `W` has not `self.cols` columns or `b`
    /// has not `W.rows` entries.
    ///
    /// # Panics
    /// If `w` or `b` is on another tape.
    #[track_caller]
    pub fn try_affine(self, w: Mat<'t, T>, b: Option<Mat<'t, T>>) -> Result<Mat<'t, T>> {
        self.same_tape(w);
        let (xs, ws) = (self.shape(), w.shape());
        if xs.cols != ws.cols {
            return Err(Error::ShapeMismatch {
                op: "affine",
                lhs: xs,
                rhs: ws,
                expected: "batch columns equal weight columns: x is (n, a_r), W is (a_{r+1}, a_r)",
            });
        }
        if let Some(b) = b {
            self.same_tape(b);
            let bs = b.shape();
            if bs.len() != ws.rows || (bs.rows != 1 && bs.cols != 1) {
                return Err(Error::ShapeMismatch {
                    op: "affine (bias)",
                    lhs: ws,
                    rhs: bs,
                    expected:
                        "a bias of shape (1, a_{r+1}) or (a_{r+1}, 1) for W of shape (a_{r+1}, a_r)",
                });
            }
        }
        let (n, i, o) = (xs.rows, xs.cols, ws.rows);
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let len = Shape::new(n, o).len();
        let off = st.alloc(len);
        let (below, z) = st.split(off, len);
        let mut beta = T::zero();
        if let Some(b) = b {
            let vb = below.of(b);
            // `max(1)`: with no outputs `z` is empty, and chunks of 0 panic.
            let len = z.len();
            crate::par::chunks_mut(z, o.max(1), len, |_, rows| {
                for row in rows.chunks_exact_mut(o.max(1)) {
                    row.copy_from_slice(vb);
                }
            });
            beta = T::one();
        }
        // z = x W^T (+ z): W^T is W with its strides swapped.
        T::gemm(
            n,
            i,
            o,
            T::one(),
            below.of(self),
            i,
            1,
            below.of(w),
            1,
            i,
            beta,
            z,
            o,
            1,
        );
        let grad = [Some(self), Some(w), b]
            .into_iter()
            .flatten()
            .any(|m| m.requires_grad_in(&st));
        let op = Op::Affine {
            x: self.node(),
            w: w.node(),
            b: b.map(|b| b.node()),
        };
        Ok(tape.record(&mut st, op, off, Shape::new(n, o), grad))
    }

    /// [`try_affine`](Self::try_affine), panicking on mismatched shapes.
    ///
    /// # Panics
    /// Where [`try_affine`](Self::try_affine) returns an error, with its
    /// message, or panics.
    #[track_caller]
    pub fn affine(self, w: Mat<'t, T>, b: Option<Mat<'t, T>>) -> Mat<'t, T> {
        or_panic(self.try_affine(w, b))
    }

    pub(crate) fn requires_grad_in(self, st: &MatStore<T>) -> bool {
        st.nodes[self.node() as usize].grad
    }
}

/// `C = A B`: `dA += dC B^T`, `dB += A^T dC`.
pub(super) fn matmul_backward<T: Float>(
    st: &MatStore<T>,
    node: &Node<T>,
    a: u32,
    b: u32,
    gc: &[T],
    out: &mut Sink<'_, T>,
) {
    let sa = st.nodes[a as usize].shape;
    let (m, k, n) = (sa.rows, sa.cols, node.shape.cols);
    if let Some(ga) = st.grad_of(a, out) {
        let beta = ga.beta();
        T::gemm(
            m,
            n,
            k,
            T::one(),
            gc,
            n,
            1,
            st.value(b),
            1,
            n,
            beta,
            ga.g,
            k,
            1,
        );
    }
    if let Some(gb) = st.grad_of(b, out) {
        let beta = gb.beta();
        T::gemm(
            k,
            m,
            n,
            T::one(),
            st.value(a),
            1,
            k,
            gc,
            n,
            1,
            beta,
            gb.g,
            n,
            1,
        );
    }
}

/// `Z = X W^T + 1 b^T`: `dX += dZ W` (seed (5.11)), `dW += dZ^T X` (the
/// outer products of (5.13), summed over the batch), `db += 1^T dZ` ((5.12)
/// summed over the batch).
pub(super) fn affine_backward<T: Float>(
    st: &MatStore<T>,
    x: u32,
    w: u32,
    b: Option<u32>,
    gz: &[T],
    out: &mut Sink<'_, T>,
) {
    let sx = st.nodes[x as usize].shape;
    let o = st.nodes[w as usize].shape.rows;
    let (n, i) = (sx.rows, sx.cols);
    if let Some(gx) = st.grad_of(x, out) {
        let beta = gx.beta();
        T::gemm(
            n,
            o,
            i,
            T::one(),
            gz,
            o,
            1,
            st.value(w),
            i,
            1,
            beta,
            gx.g,
            i,
            1,
        );
    }
    if let Some(gw) = st.grad_of(w, out) {
        let beta = gw.beta();
        T::gemm(
            o,
            n,
            i,
            T::one(),
            gz,
            1,
            o,
            st.value(x),
            i,
            1,
            beta,
            gw.g,
            i,
            1,
        );
    }
    if let Some(mut gb) = b.and_then(|b| st.grad_of(b, out)) {
        gb.update(|_| T::zero());
        // Split over columns: each sum runs over the rows in order,
        // whatever the thread count.
        crate::par::chunks_mut(gb.g, 16, gz.len(), |start, g| {
            crate::simd::vectorized(|| super::reduce::add_column_sums(g, gz, o, start))
        });
    }
}
