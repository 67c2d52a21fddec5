//! Matrices on the tape: the [`Mat`] handle and the closed `Op` enum of
//! matrix nodes.
//!
//! Each op lives in one module with its forward computation and its
//! derivative rule side by side: `linear` (matmul, affine map),
//! `elementwise` (zip and map with the rules of [`crate::rules`], scale),
//! `layout` (transpose, broadcast), `reduce` (sum, mean, over everything
//! or one axis), `softmax` (row-wise softmax and log-softmax), `gather`
//! (a matrix of scalar `Var`s, an entry as a `Var`), `loss` (least
//! squares, softmax cross-entropy) and `custom` (user-defined primitives
//! with their vector-Jacobian product as a closure). To add an op: a variant of `Op`, its forward as a method
//! of `Mat` and its backward as a function in the op's module, and one arm
//! in `MatStore::backward_node` (the `match` is exhaustive, so the
//! compiler points at it).
//!
//! Values live in one arena per tape, gradients in one arena per
//! [`Grads`](crate::Grads) with the same layout; both keep their memory
//! across [`Tape::clear`](crate::Tape::clear).

pub(crate) mod custom;
pub(crate) mod elementwise;
pub(crate) mod gather;
pub(crate) mod layout;
pub(crate) mod linear;
pub(crate) mod loss;
pub(crate) mod reduce;
pub(crate) mod softmax;

pub use custom::CustomVjp;
pub use loss::Reduction;
pub use reduce::Axis;

use crate::rules::{Binary, Unary};
use crate::{Error, Float, Matrix, Real, Result, Shape, Tape, Var};

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
    /// sum (or mean) of all entries, into the scalar statement `out`
    Sum { x: u32, out: u32, mean: bool },
    /// `x^T`
    Transpose { x: u32 },
    /// `x` repeated to the node's shape
    Broadcast { x: u32 },
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
    /// `-ln softmax(z)_label` per row; labels at `labels`, softmax at `probs`
    SoftmaxCrossEntropy {
        z: u32,
        labels: usize,
        probs: usize,
        reduction: Reduction,
        out: u32,
    },
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Node<T> {
    pub(crate) op: Op<T>,
    /// Where the value (and, in `Grads`, the gradient) starts in the arena.
    pub(crate) off: usize,
    /// For a leaf recorded by [`Tape::mats_borrowed`]: where its values
    /// are instead (the arena keeps room for its gradient's layout only).
    pub(crate) lent: Lent<T>,
    pub(crate) shape: Shape,
    /// Scalar statements recorded before this node: the later ones come
    /// first in the reverse sweep.
    pub(crate) mark: u32,
    /// Whether a gradient flows into this node (some input is a variable).
    pub(crate) grad: bool,
}

impl<T> Node<T> {
    #[inline]
    pub(crate) fn range(&self) -> std::ops::Range<usize> {
        self.off..self.off + self.shape.len()
    }

    /// The node's values: in `data` (the arena), or lent.
    #[inline]
    fn values<'a>(&self, data: &'a [T]) -> &'a [T] {
        match self.lent.0 {
            None => &data[self.range()],
            // SAFETY: `Tape::mats_borrowed` stored a pointer to
            // `shape.len()` values borrowed for the lifetime `'t` of every
            // handle that depends on this node. Values are read only
            // through such a handle (which keeps the borrow alive) or by
            // the backward rule of a node that the output being
            // differentiated depends on (`MatStore::backward_node` skips
            // the others), and that output's handle carries `'t` too.
            Some(p) => unsafe { std::slice::from_raw_parts(p.as_ptr(), self.shape.len()) },
        }
    }
}

/// A pointer to values lent to the tape by [`Tape::mats_borrowed`], or
/// none (the values are in the arena).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lent<T>(Option<std::ptr::NonNull<T>>);

// SAFETY: the pointer is only read, as a shared `&[T]`, which `T: Sync`
// allows from any thread, and only while the handles that carry the
// borrow live (see `Node::values`); those handles borrow the tape, so it
// cannot move to another thread before they are gone, and after that the
// pointer is never read.
unsafe impl<T: Sync> Send for Lent<T> {}

/// The values of the nodes recorded before a new one, to compute it from
/// its inputs (see [`MatStore::split`]).
pub(crate) struct Below<'a, T> {
    data: &'a [T],
    nodes: &'a [Node<T>],
}

impl<'a, T: Float> Below<'a, T> {
    /// The values of the input `m`.
    #[inline]
    pub(crate) fn of(&self, m: Mat<'_, T>) -> &'a [T] {
        self.nodes[m.node() as usize].values(self.data)
    }
}

pub(crate) type BackwardFn<T> = fn(&MatStore<T>, usize, &mut [T], &mut [T], &mut [bool]);

/// Where a node's backward rule writes: the gradients of the nodes below it
/// and which of them hold a value yet.
pub(crate) struct Sink<'g, T> {
    below: &'g mut [T],
    written: &'g mut [bool],
}

/// The gradient of one input: the first contribution assigns (so the arena
/// needs no zeroing and products use `beta = 0`), later ones add.
pub(crate) struct GradSlot<'g, T> {
    pub(crate) g: &'g mut [T],
    first: bool,
}

impl<'g, T: Float> GradSlot<'g, T> {
    /// Whether this is the first write (assign rather than add).
    #[inline]
    pub(crate) fn is_first(&self) -> bool {
        self.first
    }

    /// The gradient to add into, zeroed on the first write: for rules that
    /// touch only some entries, or run code of their own over it.
    #[inline]
    pub(crate) fn zeroed(self) -> &'g mut [T] {
        if self.first {
            self.g.fill(T::zero());
        }
        self.g
    }

    /// The `beta` of a product into this gradient: 0 on the first write.
    #[inline]
    pub(crate) fn beta(&self) -> T {
        if self.first {
            T::zero()
        } else {
            T::one()
        }
    }

    /// `g[k] += f(k)` for every `k` (an assignment on the first write), on
    /// the kernel's threads when the gradient is long ([`crate::par`]).
    #[inline(always)]
    pub(crate) fn update(&mut self, f: impl Fn(usize) -> T + Sync) {
        let first = self.first;
        let len = self.g.len();
        crate::par::chunks_mut(self.g, 16, len, |start, chunk| {
            let ks = start..start + chunk.len();
            if first {
                for (k, g) in ks.zip(chunk) {
                    *g = f(k);
                }
            } else {
                for (k, g) in ks.zip(chunk) {
                    *g += f(k);
                }
            }
        });
        self.first = false;
    }
}

/// The matrix part of a tape.
#[derive(Debug)]
pub(crate) struct MatStore<T> {
    /// The backward rule dispatch, set by the first matrix op recorded: a
    /// tape of a non-`Float` type (dual numbers) has no matrix nodes.
    pub(crate) backward: Option<BackwardFn<T>>,
    pub(crate) nodes: Vec<Node<T>>,
    /// The values' arena. Only `data[..used]` belongs to this recording;
    /// the rest holds values of earlier recordings, kept so that a reused
    /// tape overwrites its arena instead of zeroing it.
    pub(crate) data: Vec<T>,
    pub(crate) used: usize,
    /// Side data of `u32`s: cross-entropy labels, the scalar statements of
    /// `FromVars`, the inputs of `Custom` nodes.
    pub(crate) labels: Vec<u32>,
    /// The vector-Jacobian products of `Custom` nodes.
    pub(crate) customs: custom::Customs<T>,
}

impl<T> Default for MatStore<T> {
    fn default() -> Self {
        MatStore {
            backward: None,
            nodes: Vec::new(),
            data: Vec::new(),
            used: 0,
            labels: Vec::new(),
            customs: custom::Customs::default(),
        }
    }
}

impl<T> MatStore<T> {
    pub(crate) fn clear(&mut self) {
        self.nodes.clear();
        self.used = 0;
        self.labels.clear();
        self.customs.0.clear();
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.nodes.len() * std::mem::size_of::<Node<T>>()
            + self.used * std::mem::size_of::<T>()
            + self.labels.len() * 4
    }
}

impl<T: Real> MatStore<T> {
    /// Room for `len` more values, starting on a 64-byte boundary relative
    /// to the arena (for the kernel's packing loads; see
    /// `benches/README.md` for what was measured); returns their offset.
    /// A single value (a reduction's or an entry's output) is not aligned:
    /// there are no vector loads of it to align, and the padding would be
    /// most of its room. The room may hold stale values: every op writes its
    /// whole output.
    pub(crate) fn alloc(&mut self, len: usize) -> usize {
        const ALIGN: usize = 64;
        let per = if len == 1 {
            1
        } else {
            (ALIGN / std::mem::size_of::<T>()).max(1)
        };
        let off = self.used.next_multiple_of(per);
        self.used = off + len;
        if self.data.len() < self.used {
            self.data.resize(self.used, T::zero());
        }
        off
    }

    /// Copies `src` into new room; returns its offset.
    pub(crate) fn push_slice(&mut self, src: &[T]) -> usize
    where
        T: Send + Sync,
    {
        let off = self.alloc(src.len());
        copy(&mut self.data[off..off + src.len()], src);
        off
    }

    /// The values below `off` (earlier nodes') and the `len` values of the
    /// room at `off`, to compute a new node from its inputs.
    pub(crate) fn split(&mut self, off: usize, len: usize) -> (Below<'_, T>, &mut [T]) {
        let (below, rest) = self.data.split_at_mut(off);
        let below = Below {
            data: below,
            nodes: &self.nodes,
        };
        (below, &mut rest[..len])
    }

    /// The gradient of the node `i`'s output is complete: pass it to the
    /// node's inputs. `g` is the gradient arena, `adj` the scalar adjoints,
    /// `written` which nodes' gradients hold a value yet (a node nothing
    /// flowed into is skipped; a variable's gradient is zeroed at the end,
    /// a constant's reads as zeros).
    pub(crate) fn backward_node(&self, i: usize, g: &mut [T], adj: &mut [T], written: &mut [bool])
    where
        T: Float,
    {
        let node = &self.nodes[i];
        // Only nodes the output depends on: a gradient flowed into them
        // (matrix-valued) or their scalar has a nonzero adjoint
        // (reductions). Skipping the others also keeps their rules from
        // reading values lent by a borrow that may have ended. (So a
        // reduction whose adjoint is exactly 0 passes nothing on, not
        // 0 * inf = NaN: its inputs get a zero gradient.)
        let reached = match node.op {
            Op::Sum { out, .. }
            | Op::Element { out, .. }
            | Op::LeastSquares { out, .. }
            | Op::SoftmaxCrossEntropy { out, .. } => adj[out as usize] != T::zero(),
            _ => written[i],
        };
        if !node.grad || !reached {
            return;
        }
        // Inputs were recorded earlier, so their gradients lie below `off`.
        let (below, here) = g.split_at_mut(node.off);
        let gy = &here[..node.shape.len()];
        let out = &mut Sink { below, written };
        match node.op {
            Op::Leaf => {}
            Op::MatMul { a, b } => linear::matmul_backward(self, node, a, b, gy, out),
            Op::Affine { x, w, b } => linear::affine_backward(self, x, w, b, gy, out),
            Op::Zip { op, a, b } => elementwise::zip_backward(self, node, op, a, b, gy, out),
            Op::Map { op, x } => elementwise::map_backward(self, node, op, x, gy, out),
            Op::Scale { x, c } => elementwise::scale_backward(self, x, c, gy, out),
            Op::Sum { x, out: o, mean } => {
                reduce::sum_backward(self, x, mean, adj[o as usize], out)
            }
            Op::Transpose { x } => layout::transpose_backward(self, x, gy, out),
            Op::Broadcast { x } => layout::broadcast_backward(self, x, node.shape, gy, out),
            Op::SumAxis { x, axis, mean } => {
                reduce::sum_axis_backward(self, x, axis, mean, gy, out)
            }
            Op::Softmax { x, log } => softmax::softmax_backward(self, node, x, log, gy, out),
            Op::Element { x, index, out: o } => {
                gather::element_backward(self, x, index, adj[o as usize], out)
            }
            Op::FromVars { start } => gather::from_vars_backward(self, start, gy, adj),
            Op::Custom { start, n, f } => custom::custom_backward(self, i, (start, n, f), gy, out),
            Op::LeastSquares {
                f,
                target,
                reduction,
                out: o,
            } => loss::least_squares_backward(self, f, target, reduction, adj[o as usize], out),
            Op::SoftmaxCrossEntropy {
                z,
                labels,
                probs,
                reduction,
                out: o,
            } => loss::cross_entropy_backward(
                self,
                z,
                labels,
                probs,
                reduction,
                adj[o as usize],
                out,
            ),
        }
    }

    /// The gradient slot of input node `i`, if it takes a gradient; marks it
    /// written.
    #[inline]
    pub(crate) fn grad_of<'s>(&self, i: u32, sink: &'s mut Sink<'_, T>) -> Option<GradSlot<'s, T>> {
        let n = &self.nodes[i as usize];
        if !n.grad {
            return None;
        }
        let first = !std::mem::replace(&mut sink.written[i as usize], true);
        Some(GradSlot {
            g: &mut sink.below[n.range()],
            first,
        })
    }

    /// The value of node `i`.
    #[inline]
    pub(crate) fn value(&self, i: u32) -> &[T] {
        self.nodes[i as usize].values(&self.data)
    }
}

/// A row-major matrix recorded on a [`Tape`]: a small `Copy` handle.
///
/// Created by [`Tape::mat`] (a variable: its gradient is computed) or
/// [`Tape::mat_const`] (a constant, e.g. a data batch), combined with the
/// methods below and the operators `+`, `-`, `*` and `/` (elementwise;
/// matrix products are [`Mat::matmul`]) and unary `-`. Every op that can meet mismatched shapes
/// has a `try_` form returning [`Error::ShapeMismatch`]; the plain form
/// panics with the same message.
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
    /// [`Error::LengthMismatch`] unless `data.len() == shape.len()`.
    pub fn mat(&self, shape: Shape, data: &[T]) -> Result<Mat<'_, T>> {
        self.leaf(shape, data, true, "Tape::mat")
    }

    /// A matrix constant (no gradient computed: a data batch, targets).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `data.len() == shape.len()`.
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
    /// [`Error::LengthMismatch`] unless the shapes hold `data.len()` values.
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
    /// [`Error::LengthMismatch`] unless the shapes hold `data.len()` values.
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
