//! Between scalars and matrices on one tape: a matrix built from scalar
//! [`Var`]s (gradients flow back to each), and one entry of a matrix as a
//! scalar `Var`.

use super::{MatStore, Op, Sink};
use crate::{Error, Float, Mat, Result, Shape, Tape, Var};

/// The index stored for a constant among the scalars of
/// [`Tape::mat_from_vars`]: it takes no gradient.
const CONSTANT: u32 = u32::MAX;

impl<T: Float> Tape<T> {
    /// A `shape` matrix whose entries are the scalars `vars`, row-major:
    /// the gradient of each entry flows back to its `Var` (as
    /// `torch.stack` of scalars). Constants are allowed and take none.
    ///
    /// ```
    /// use autodiff::{Real, Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let (a, b) = (tape.var(2.0), tape.var(3.0));
    /// let m = tape.mat_from_vars(Shape::new(1, 3), &[a, b * b, a.sin()])?;
    /// let y = m.sum();
    /// let g = tape.backward(y);
    /// assert_eq!((g[a], g[b]), (1.0 + 2.0_f64.cos(), 6.0));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `vars.len() == shape.len()`;
    /// [`Error::ShapeTooLarge`] for a shape of more than `usize::MAX`
    /// entries.
    ///
    /// # Panics
    /// If a `Var` was recorded on another tape.
    #[track_caller]
    pub fn mat_from_vars<'t>(&'t self, shape: Shape, vars: &[Var<'t, T>]) -> Result<Mat<'t, T>> {
        let len = shape.checked_len().ok_or(Error::ShapeTooLarge {
            what: "Tape::mat_from_vars",
            shape,
        })?;
        if vars.len() != len {
            return Err(Error::LengthMismatch {
                what: "Tape::mat_from_vars",
                expected: len,
                got: vars.len(),
            });
        }
        let mut grad = false;
        for v in vars {
            if let Some(t) = v.tape() {
                crate::var::same_tape(t, self);
                grad = true;
            }
        }
        let mut st = self.mats.borrow_mut();
        let start = st.labels.len();
        st.labels.extend(vars.iter().map(|v| match v.tape() {
            Some(_) => v.index() as u32,
            None => CONSTANT,
        }));
        let off = st.alloc(len);
        for (o, v) in st.data[off..off + len].iter_mut().zip(vars) {
            *o = v.value();
        }
        Ok(self.record(&mut st, Op::FromVars { start }, off, shape, grad))
    }
}

impl<'t, T: Float> Mat<'t, T> {
    /// Entry `(i, j)` as a scalar on the tape; its gradient flows back into
    /// this matrix.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(2, 2), &[1.0, 2.0, 3.0, 4.0])?;
    /// let y = x.get(1, 0) * x.get(0, 1); // 3 * 2
    /// let g = tape.backward(y);
    /// assert_eq!((y.value(), g[x].to_vec()), (6.0, vec![0.0, 3.0, 2.0, 0.0]));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Panics
    /// If `(i, j)` is outside the shape.
    #[track_caller]
    pub fn get(self, i: usize, j: usize) -> Var<'t, T> {
        let s = self.shape();
        assert!(
            i < s.rows && j < s.cols,
            "Mat::get: entry ({i}, {j}) is outside a {s} matrix"
        );
        let index = i * s.cols + j;
        let y = self.with_values(|v| v[index]);
        let x = self.node();
        self.tape()
            .scalar_node(self, y, |out| Op::Element { x, index, out })
    }
}

/// `m = [v_k]`: `adj[v_k] += dm_k` (the scalars' statements come before
/// this node, so the sweep passes them afterwards).
pub(super) fn from_vars_backward<T: Float>(
    st: &MatStore<T>,
    start: usize,
    gy: &[T],
    adj: &mut [T],
) {
    for (&v, &d) in st.labels[start..start + gy.len()].iter().zip(gy) {
        if v != CONSTANT {
            adj[v as usize] += d;
        }
    }
}

/// `y = x[index]`: `dx[index] += dy`, the other entries unchanged (zero on
/// the first write).
pub(super) fn element_backward<T: Float>(
    st: &MatStore<T>,
    x: u32,
    index: usize,
    dy: T,
    out: &mut Sink<'_, T>,
) {
    if let Some(gx) = st.grad_of(x, out) {
        gx.zeroed()[index] += dy;
    }
}
