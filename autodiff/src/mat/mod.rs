//! Matrices on the tape: the [`Mat`] handle and the closed `Op` enum of
//! matrix nodes.
//!
//! Each op lives in one module with its forward computation and its
//! derivative rule side by side: `linear` (matmul, affine map),
//! `elementwise` (zip and map with the rules of [`crate::rules`], scale),
//! `dropout` (inverted dropout with a counter-based mask),
//! `layout` (transpose, broadcast, reshape, concatenation), `reduce` (sum, mean, over everything
//! or one axis), `softmax` (row-wise softmax and log-softmax), `gather`
//! (a matrix of scalar `Var`s, an entry as a `Var`), `loss` (the
//! reductions, least squares), `cross_entropy` (softmax cross-entropy with
//! label smoothing and class weights) and `custom` (user-defined primitives
//! with their vector-Jacobian product as a closure). To add an op: a
//! variant of `Op`, its forward as a method of `Mat` and its backward as a
//! function in the op's module, and one arm in `MatStore::backward_node`
//! (in `store`; the `match` is exhaustive, so the compiler points at it).
//!
//! `store` holds the nodes, the value arena and the gradient slots the
//! rules write into; `record` the tape's side of recording (inputs,
//! packed parameter groups, constants, the node bookkeeping).
//!
//! Values live in one arena per tape, gradients in one arena per
//! [`Grads`](crate::Grads) with the same layout; both keep their memory
//! across [`Tape::clear`](crate::Tape::clear).

pub(crate) mod cross_entropy;
pub(crate) mod custom;
pub(crate) mod dropout;
pub(crate) mod elementwise;
pub(crate) mod gather;
pub(crate) mod layout;
pub(crate) mod linear;
pub(crate) mod loss;
mod record;
pub(crate) mod reduce;
pub(crate) mod softmax;
mod store;

pub use cross_entropy::{check_label_smoothing, CrossEntropy};
pub use custom::CustomVjp;
pub use dropout::check_drop_probability;
pub use loss::Reduction;
pub use reduce::Axis;
pub(crate) use store::{Lent, MatStore, Node, Sink};

use crate::rules::{Binary, Unary};
use crate::{Float, Matrix, Result, Shape, Tape};

/// A matrix node of the tape.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op<T> {
    /// An input: a variable (gradient computed) or a constant.
    Leaf,
    /// `a b`
    MatMul { a: u32, b: u32 },
    /// `x W^T + b` for a batch of row vectors `x`
    Affine { x: u32, w: u32, b: Option<u32> },
    /// elementwise `op(a, b)`
    Zip { op: Binary, a: u32, b: u32 },
    /// elementwise `op(x)`
    Map { op: Unary, x: u32 },
    /// `c x` for a constant `c`
    Scale { x: u32, c: T },
    /// elementwise `op(x, c)` for a constant `c`, or `op(c, x)`
    ZipScalar {
        op: Binary,
        x: u32,
        c: T,
        c_first: bool,
    },
    /// inverted dropout of `x`, its mask drawn from `seed` (see `dropout`)
    Dropout { x: u32, p: f64, seed: u64 },
    /// sum (or mean) of all entries, into the scalar statement `out`
    Sum { x: u32, out: u32, mean: bool },
    /// `x^T`
    Transpose { x: u32 },
    /// `x` repeated to the node's shape
    Broadcast { x: u32 },
    /// `x`'s entries in the node's shape
    Reshape { x: u32 },
    /// the `n` matrices listed at `labels[start..]`, one after another
    /// along `axis`
    Concat { start: usize, n: u32, axis: Axis },
    /// sums (or means) over one axis, kept as size 1
    SumAxis { x: u32, axis: Axis, mean: bool },
    /// row-wise softmax (or its logarithm)
    Softmax { x: u32, log: bool },
    /// entry `index` (row-major) of `x`, into the scalar statement `out`
    Element { x: u32, index: usize, out: u32 },
    /// the scalar statements listed at `labels[start..]` (`u32::MAX` for a
    /// constant), as a matrix
    FromVars { start: usize },
    /// `0.5 |f - y|^2` with `y` stored at `target`
    LeastSquares {
        f: u32,
        target: usize,
        reduction: Reduction,
        out: u32,
    },
    /// a user-defined primitive: its `n` inputs listed at `labels[start..]`,
    /// its vector-Jacobian product the closure `customs[f]`
    Custom { start: usize, n: u32, f: u32 },
    /// `-ln softmax(z)_label` per row; labels at `labels`, softmax at
    /// `probs`, then, if `smoothed_or_weighted`, the target's coefficients
    /// and weights (see `cross_entropy`)
    SoftmaxCrossEntropy {
        z: u32,
        labels: usize,
        probs: usize,
        reduction: Reduction,
        smoothed_or_weighted: bool,
        out: u32,
    },
}

/// A row-major matrix recorded on a [`Tape`]: a small `Copy` handle.
///
/// Created by [`Tape::mat`] (a variable: its gradient is computed) or
/// [`Tape::mat_const`] (a constant, e.g. a data batch), combined with the
/// methods below and the operators `+`, `-`, `*` and `/` (elementwise;
/// matrix products are [`Mat::matmul`]), with a matrix or with a plain
/// number on either side (`m * 2.0`, `1.0 - m`, `m / 3.0`), and unary `-`. Every op that can meet mismatched shapes
/// has a `try_` form returning [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) (the
/// losses: the errors their docs list, as a label out of range); the plain form
/// panics with the same message. The everyday elementwise functions are methods
/// named as `Real`'s (`exp`, `ln`, `sqrt`, `abs`, `powi`, `recip`, `sin`, `cos`,
/// `tanh`, `sigmoid`, `softplus`, `erf`, `relu`, `leaky_relu`, `silu`, `gelu`);
/// every other [`Unary`] primitive is [`Mat::map`] (`m.map(Unary::Log2)`).
///
/// ```
/// use autodiff::{Reduction, Shape, Tape};
/// let tape = Tape::<f64>::new();
/// let x = tape.mat_const(Shape::new(2, 3), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// let w = tape.mat(Shape::new(2, 3), &[0.1, 0.2, 0.3, -0.1, -0.2, -0.3])?;
/// let b = tape.mat(Shape::new(1, 2), &[0.0, 1.0])?;
/// let z = x.try_affine(w, Some(b))?.relu(); // relu(x W^T + b), batch of 2
/// let loss = z.try_softmax_cross_entropy(&[0, 1], Reduction::Mean)?;
/// let g = tape.backward(loss);
/// assert_eq!(g[w].len(), 6);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Mat<'t, T: Float> {
    tape: &'t Tape<T>,
    node: u32,
    off: usize,
    shape: Shape,
}

impl<T: Float> std::fmt::Debug for Mat<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mat{} @ node {}", self.shape, self.node)
    }
}

/// Matrices recorded back to back by [`Tape::mats_packed`] or
/// [`Tape::mats_borrowed`] (a network's parameters): a small `Copy` handle
/// to the group, whose gradients [`Grads::packed`](crate::Grads::packed)
/// returns as one slice in the layout of the flat values.
#[derive(Clone, Copy)]
pub struct Packed<'t, T: Float> {
    tape: &'t Tape<T>,
    first: u32,
    len: u32,
    off: usize,
    values: usize,
    finite: bool,
}

impl<T: Float> std::fmt::Debug for Packed<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Packed({} matrices @ node {})", self.len, self.first)
    }
}

impl<'t, T: Float> Packed<'t, T> {
    /// The number of matrices.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the group holds no matrix.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`-th matrix.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    #[track_caller]
    pub fn get(&self, i: usize) -> Mat<'t, T> {
        assert!(
            i < self.len(),
            "Packed::get: index {i} of a group of {} matrices",
            self.len
        );
        let node = self.first + i as u32;
        let n = &self.tape.mats.borrow().nodes[node as usize];
        Mat {
            tape: self.tape,
            node,
            off: n.off,
            shape: n.shape,
        }
    }

    /// The matrices, in order.
    pub fn iter(&self) -> impl Iterator<Item = Mat<'t, T>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Whether every value was finite when recorded.
    pub fn all_finite(&self) -> bool {
        self.finite
    }

    /// The tape the group is recorded on.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// The node of the first matrix.
    pub(crate) fn first_node(&self) -> u32 {
        self.first
    }

    /// Where the group's values (and gradients) lie in the arena.
    pub(crate) fn range(&self) -> std::ops::Range<usize> {
        self.off..self.off + self.values
    }
}

/// `dst.copy_from_slice(src)`, on the kernel's threads when long.
pub(crate) fn copy<T: Copy + Send + Sync>(dst: &mut [T], src: &[T]) {
    let len = dst.len();
    crate::par::chunks_mut(dst, 16, len, |start, chunk| {
        chunk.copy_from_slice(&src[start..start + chunk.len()]);
    });
}

impl<'t, T: Float> Mat<'t, T> {
    /// The shape.
    pub fn shape(self) -> Shape {
        self.shape
    }

    /// Number of rows.
    pub fn rows(self) -> usize {
        self.shape.rows
    }

    /// Number of columns.
    pub fn cols(self) -> usize {
        self.shape.cols
    }

    /// The tape this is recorded on.
    pub fn tape(self) -> &'t Tape<T> {
        self.tape
    }

    pub(crate) fn offset(self) -> usize {
        self.off
    }

    pub(crate) fn node(self) -> u32 {
        self.node
    }

    /// Whether a gradient flows into this matrix (it depends on a variable).
    pub fn requires_grad(self) -> bool {
        self.tape.mats.borrow().nodes[self.node as usize].grad
    }

    /// A copy of the value.
    pub fn value(self) -> Matrix<T> {
        Matrix::new(self.shape.rows, self.shape.cols, self.to_vec())
            .expect("shape of a recorded matrix")
    }

    /// A copy of the row-major values.
    pub fn to_vec(self) -> Vec<T> {
        self.with_values(|v| v.to_vec())
    }

    /// Calls `f` on the row-major values, without copying them.
    ///
    /// # Panics
    /// If `f` records on the same tape (the values are borrowed from it
    /// meanwhile): copy them out with [`to_vec`](Self::to_vec) first.
    pub fn with_values<R>(self, f: impl FnOnce(&[T]) -> R) -> R {
        let st = self.tape.mats.borrow();
        f(st.value(self.node))
    }

    /// Panics (naming the problem) unless `o` is on the same tape.
    #[track_caller]
    pub(crate) fn same_tape(self, o: Mat<'_, T>) {
        crate::var::same_tape(self.tape, o.tape);
    }
}

/// Unwraps a shape check in a non-`try_` op with the error's message.
#[track_caller]
pub(crate) fn or_panic<V>(r: Result<V>) -> V {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::MatStore;

    #[test]
    fn matrices_start_on_64_byte_boundaries_and_single_values_take_no_padding() {
        let mut st = MatStore::<f64>::default();
        assert_eq!(st.alloc(3), 0);
        // A matrix: the next multiple of 8 f64s.
        assert_eq!(st.alloc(2), 8);
        // Single values (reduction outputs, entries) right after.
        assert_eq!(st.alloc(1), 10);
        assert_eq!(st.alloc(1), 11);
        assert_eq!(st.alloc(4), 16);
        let mut st = MatStore::<f32>::default();
        st.alloc(1);
        assert_eq!(st.alloc(5), 16);
    }
}
