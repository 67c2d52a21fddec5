//! Recording matrices on the tape: inputs (one, or a packed group of a
//! network's parameters), constants, and the bookkeeping of every node.

use super::{copy, Lent, Mat, MatStore, Node, Op, Packed};
use crate::{Error, Float, Matrix, Result, Shape, Tape, Var};

impl<T: Float> Tape<T> {
    fn leaf(&self, shape: Shape, data: &[T], grad: bool, what: &'static str) -> Result<Mat<'_, T>> {
        let expected = shape
            .checked_len()
            .ok_or(Error::ShapeTooLarge { what, shape })?;
        if data.len() != expected {
            return Err(Error::LengthMismatch {
                what,
                expected,
                got: data.len(),
            });
        }
        let mut st = self.mats.borrow_mut();
        let off = st.push_slice(data);
        Ok(self.record(&mut st, Op::Leaf, off, shape, grad))
    }

    /// A matrix variable (its gradient is computed) from row-major values.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `data.len() == shape.len()`;
    /// [`Error::ShapeTooLarge`] for a shape of more than `usize::MAX`
    /// entries.
    pub fn mat(&self, shape: Shape, data: &[T]) -> Result<Mat<'_, T>> {
        self.leaf(shape, data, true, "Tape::mat")
    }

    /// A matrix constant (no gradient computed: a data batch, targets).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `data.len() == shape.len()`;
    /// [`Error::ShapeTooLarge`] for a shape of more than `usize::MAX`
    /// entries.
    pub fn mat_const(&self, shape: Shape, data: &[T]) -> Result<Mat<'_, T>> {
        self.leaf(shape, data, false, "Tape::mat_const")
    }

    /// Matrix variables of the given shapes, taken in order from one flat
    /// buffer and copied back to back: the parameters of a network. Their
    /// gradients are then contiguous too, and
    /// [`Grads::packed`](crate::Grads::packed) reads them as one slice in
    /// the layout of `data`, with no copy.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let p = tape.mats_packed(&[Shape::new(2, 2), Shape::new(1, 2)], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
    /// assert!(p.all_finite());
    /// let x = tape.mat_const(Shape::new(1, 2), &[1.0, 1.0])?;
    /// let g = tape.backward(x.affine(p.get(0), Some(p.get(1))).sum());
    /// assert_eq!(g.packed(p), [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless the shapes hold `data.len()` values;
    /// [`Error::ShapeTooLarge`] for a shape of more than `usize::MAX`
    /// entries.
    pub fn mats_packed<'t>(&'t self, shapes: &[Shape], data: &[T]) -> Result<Packed<'t, T>> {
        self.packed(shapes, data, "Tape::mats_packed", |st, off| {
            copy(&mut st.data[off..off + data.len()], data);
            crate::all_finite(&st.data[off..off + data.len()])
        })
    }

    /// [`mats_packed`](Self::mats_packed) without the copy: the tape reads
    /// the values in place, borrowing `data` for as long as the handles
    /// live (so it cannot change meanwhile). What a network's forward pass
    /// uses for its parameters.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let params = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let p = tape.mats_borrowed(&[Shape::new(2, 2), Shape::new(1, 2)], &params)?;
    /// let x = tape.mat_const(Shape::new(1, 2), &[1.0, 1.0])?;
    /// let y = x.affine(p.get(0), Some(p.get(1)));
    /// assert_eq!(y.to_vec(), [8.0, 13.0]);
    /// let g = tape.backward(y.sum());
    /// assert_eq!(g.packed(p), [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless the shapes hold `data.len()` values;
    /// [`Error::ShapeTooLarge`] for a shape of more than `usize::MAX`
    /// entries.
    pub fn mats_borrowed<'t>(&'t self, shapes: &[Shape], data: &'t [T]) -> Result<Packed<'t, T>> {
        let p = self.packed(shapes, data, "Tape::mats_borrowed", |_, _| {
            crate::all_finite(data)
        })?;
        let mut st = self.mats.borrow_mut();
        let mut rest = data;
        for node in &mut st.nodes[p.first as usize..] {
            let (mine, later) = rest.split_at(node.shape.len());
            node.lent = Lent(Some(std::ptr::NonNull::from(mine).cast()));
            rest = later;
        }
        Ok(p)
    }

    /// Records leaves of `shapes` over room for `data.len()` values, which
    /// `fill` fills (or not) and checks for finiteness.
    fn packed<'t>(
        &'t self,
        shapes: &[Shape],
        data: &[T],
        what: &'static str,
        fill: impl FnOnce(&mut MatStore<T>, usize) -> bool,
    ) -> Result<Packed<'t, T>> {
        let mut total = 0usize;
        for &shape in shapes {
            total = shape
                .checked_len()
                .and_then(|n| total.checked_add(n))
                .ok_or(Error::ShapeTooLarge { what, shape })?;
        }
        if total != data.len() {
            return Err(Error::LengthMismatch {
                what,
                expected: total,
                got: data.len(),
            });
        }
        let mut st = self.mats.borrow_mut();
        let start = st.alloc(total);
        let finite = fill(&mut st, start);
        let first = st.nodes.len() as u32;
        let mut off = start;
        for &shape in shapes {
            self.record(&mut st, Op::Leaf, off, shape, true);
            off += shape.len();
        }
        Ok(Packed {
            tape: self,
            first,
            len: shapes.len() as u32,
            off: start,
            values: total,
            finite,
        })
    }

    /// A matrix variable from a [`Matrix`].
    pub fn matrix(&self, m: &Matrix<T>) -> Mat<'_, T> {
        self.mat(m.shape(), m.as_slice())
            .expect("a Matrix's length fits its shape")
    }

    /// A matrix constant from a [`Matrix`].
    pub fn matrix_const(&self, m: &Matrix<T>) -> Mat<'_, T> {
        self.mat_const(m.shape(), m.as_slice())
            .expect("a Matrix's length fits its shape")
    }

    /// Appends a node whose value is already at `off`.
    pub(crate) fn record(
        &self,
        st: &mut MatStore<T>,
        op: Op<T>,
        off: usize,
        shape: Shape,
        grad: bool,
    ) -> Mat<'_, T> {
        let node = st.nodes.len() as u32;
        st.backward = Some(MatStore::backward_node);
        st.nodes.push(Node {
            op,
            off,
            shape,
            lent: Lent(None),
            mark: self.next_index(),
            grad,
        });
        Mat {
            tape: self,
            node,
            off,
            shape,
        }
    }

    /// Records the scalar output of a reduction node just recorded.
    pub(crate) fn scalar_output(&self, value: T) -> Var<'_, T> {
        self.push_leaf(value)
    }

    /// Records a node of `x` whose value is the scalar `y`: the `1 x 1`
    /// matrix node `op(out)`, where `out` is the index of the scalar
    /// statement that follows it and holds `y` (a reduction's output).
    pub(crate) fn scalar_node<'t>(
        &'t self,
        x: Mat<'t, T>,
        y: T,
        op: impl FnOnce(u32) -> Op<T>,
    ) -> Var<'t, T> {
        let mut st = self.mats.borrow_mut();
        let off = st.alloc(1);
        st.data[off] = y;
        let grad = x.requires_grad_in(&st);
        let out = self.next_index();
        self.record(&mut st, op(out), off, Shape::new(1, 1), grad);
        drop(st);
        self.scalar_output(y)
    }
}
