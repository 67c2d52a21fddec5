//! The matrix nodes' store: the nodes, the value arena, and the
//! gradient slots a backward rule writes into.

use super::{
    copy, cross_entropy, custom, dropout, elementwise, gather, layout, linear, loss, reduce,
    softmax, Mat, Op,
};
use crate::{Float, Real, Shape};

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
pub(crate) struct Lent<T>(pub(super) Option<std::ptr::NonNull<T>>);

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

    /// `g[k] += f(k, src[k])` for every `k` (an assignment on the first
    /// write), `src` of the gradient's length: [`update`](Self::update) for
    /// a rule that reads one array, in a loop the compiler vectorises
    /// (`src` is cut to each chunk, so no bounds check per entry; `f` is
    /// copied into the chunk's frame, so its captures are not reloaded
    /// after each store; AVX2 where the CPU has it, [`crate::simd`]).
    #[inline(always)]
    pub(crate) fn update_from(&mut self, src: &[T], f: impl Fn(usize, T) -> T + Sync + Copy) {
        assert_eq!(src.len(), self.g.len(), "update_from: lengths differ");
        let first = self.first;
        let len = self.g.len();
        crate::par::chunks_mut(self.g, 16, len, |start, chunk| {
            let (f, src) = (f, &src[start..start + chunk.len()]);
            // (One vectorised closure per loop: one holding both was not
            // inlined into its AVX2 frame.)
            if first {
                crate::simd::vectorized(|| {
                    for (k, (g, &s)) in chunk.iter_mut().zip(src).enumerate() {
                        *g = f(start + k, s);
                    }
                })
            } else {
                crate::simd::vectorized(|| {
                    for (k, (g, &s)) in chunk.iter_mut().zip(src).enumerate() {
                        *g += f(start + k, s);
                    }
                })
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
    /// `FromVars`, the inputs of `Custom` and `Concat` nodes.
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
            Op::ZipScalar { op, x, c, c_first } => {
                elementwise::zip_scalar_backward(self, node, (op, c, c_first), x, gy, out)
            }
            Op::Dropout { x, p, seed } => dropout::dropout_backward(self, x, (p, seed), gy, out),
            Op::Sum { x, out: o, mean } => {
                reduce::sum_backward(self, x, mean, adj[o as usize], out)
            }
            Op::Transpose { x } => layout::transpose_backward(self, x, gy, out),
            Op::Broadcast { x } => layout::broadcast_backward(self, x, node.shape, gy, out),
            Op::Reshape { x } => layout::reshape_backward(self, x, gy, out),
            Op::Concat { start, n, axis } => {
                layout::concat_backward(self, (start, n, axis), node.shape, gy, out)
            }
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
                smoothed_or_weighted,
                out: o,
            } => cross_entropy::cross_entropy_backward(
                self,
                z,
                (labels, probs, smoothed_or_weighted),
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
