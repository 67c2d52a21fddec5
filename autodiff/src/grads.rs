//! The gradient store: adjoints of every recorded value, apart from the
//! values themselves.

use crate::tape::Recording;
use crate::{Mat, Matrix, Real, Var};

/// The gradients of one scalar output with respect to every value recorded
/// on a tape, as computed by [`Tape::backward`](crate::Tape::backward).
///
/// Index it with the handles: `grads[x]` for a [`Var`] (a constant's
/// gradient is 0), `grads[m]` for a [`Mat`] (a row-major slice of the
/// matrix's shape).
///
/// # Panics
/// Indexing with a handle from another tape, or from a recording made after
/// this store was computed, panics; so does indexing with a `Var` that a
/// [preaccumulating](crate::Tape::preaccumulating) tape did not record
/// ([`Var::is_node`] false).
#[derive(Clone, Debug)]
pub struct Grads<T> {
    tape_id: u64,
    generation: u64,
    pub(crate) scalars: Vec<T>,
    pub(crate) mats: Vec<T>,
    /// Per matrix node: whether its gradient slice holds a value yet.
    pub(crate) written: Vec<bool>,
    zero: T,
    /// Zeros, as long as the longest constant matrix: the gradient read for
    /// a constant (not written into `mats`, which saves a pass over every
    /// input batch).
    zeros: Vec<T>,
}

impl<T: Real> Default for Grads<T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T: Real> Grads<T> {
    /// An empty store, to be filled by
    /// [`Tape::backward_into`](crate::Tape::backward_into).
    pub fn empty() -> Self {
        Grads {
            tape_id: 0,
            generation: 0,
            scalars: Vec::new(),
            mats: Vec::new(),
            written: Vec::new(),
            zero: T::zero(),
            zeros: Vec::new(),
        }
    }

    /// Readies the store for a tape of `n_scalars` statements and `n_nodes`
    /// matrix nodes whose values take `n_mat` entries, keeping its memory.
    /// Scalar adjoints are zeroed; the matrix arena is not (the first
    /// contribution to a node assigns; the variables nothing reached are
    /// zeroed by [`zero_unwritten`](Self::zero_unwritten), and constants
    /// read a shared zero buffer).
    pub(crate) fn reset(
        &mut self,
        tape_id: u64,
        generation: u64,
        n_scalars: usize,
        n_mat: usize,
        n_nodes: usize,
    ) {
        self.tape_id = tape_id;
        self.generation = generation;
        self.scalars.clear();
        self.scalars.resize(n_scalars, T::zero());
        if self.mats.len() < n_mat {
            self.mats.resize(n_mat, T::zero());
        }
        self.written.clear();
        self.written.resize(n_nodes, false);
    }

    /// Zeroes the gradient of every variable node that nothing wrote, and
    /// marks it written; `nodes` gives each node's range and whether it is
    /// a variable. A constant's gradient is read from `zeros` instead
    /// (grown here if needed).
    pub(crate) fn zero_unwritten(
        &mut self,
        nodes: impl Iterator<Item = (std::ops::Range<usize>, bool)>,
    ) {
        for ((r, variable), w) in nodes.zip(&mut self.written) {
            if *w {
                continue;
            }
            if variable {
                self.mats[r].fill(T::zero());
                *w = true;
            } else if self.zeros.len() < r.len() {
                self.zeros.resize(r.len(), T::zero());
            }
        }
    }

    /// Panics unless a handle of tape `id` in `generation` was recorded
    /// before these gradients were computed (`recorded`: its index is
    /// below the counts of then).
    #[track_caller]
    fn check(&self, id: u64, generation: u64, recorded: bool) {
        assert!(
            id == self.tape_id && generation == self.generation && recorded,
            "Grads: the handle was recorded on another tape, or after these gradients were computed"
        );
    }

    /// The gradient with respect to `x`.
    ///
    /// # Panics
    /// As indexing (see [`Grads`]).
    #[track_caller]
    pub fn wrt<M: Recording>(&self, x: Var<'_, T, M>) -> T
    where
        T: crate::TapeValue,
    {
        self[x]
    }

    /// The gradients with respect to each of `xs`.
    ///
    /// # Panics
    /// As indexing (see [`Grads`]).
    #[track_caller]
    pub fn wrt_all<M: Recording>(&self, xs: &[Var<'_, T, M>]) -> Vec<T>
    where
        T: crate::TapeValue,
    {
        xs.iter().map(|&x| self[x]).collect()
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn not_a_node() -> ! {
    panic!(
        "Grads: this Var is the result of an operation of one input on a preaccumulating tape, \
         which records no gradient for it; record on a Tape::new() tape \
         to differentiate with respect to intermediate values"
    )
}

impl<T: crate::TapeValue, M: Recording> std::ops::Index<Var<'_, T, M>> for Grads<T> {
    type Output = T;
    #[track_caller]
    fn index(&self, x: Var<'_, T, M>) -> &T {
        match x.tape() {
            None => &self.zero,
            Some(t) => {
                self.check(t.id(), t.generation(), x.index() < self.scalars.len());
                if !x.is_node() {
                    not_a_node();
                }
                &self.scalars[x.index()]
            }
        }
    }
}

impl<T: crate::Float> std::ops::Index<Mat<'_, T>> for Grads<T> {
    type Output = [T];
    #[track_caller]
    fn index(&self, m: Mat<'_, T>) -> &[T] {
        // `written` has one entry per node recorded then.
        let recorded = (m.node() as usize) < self.written.len();
        self.check(m.tape().id(), m.tape().generation(), recorded);
        let len = m.shape().len();
        if self.written[m.node() as usize] {
            &self.mats[m.offset()..m.offset() + len]
        } else {
            // A constant: `zero_unwritten` marks every variable written.
            &self.zeros[..len]
        }
    }
}

impl<T: crate::Float> Grads<T> {
    /// The gradients of a group of matrices recorded back to back (by
    /// [`Tape::mats_packed`](crate::Tape::mats_packed) or
    /// [`Tape::mats_borrowed`](crate::Tape::mats_borrowed)) as one slice,
    /// in the layout of the group's flat values.
    ///
    /// # Panics
    /// If the group is from another tape or recording.
    #[track_caller]
    pub fn packed(&self, p: crate::mat::Packed<'_, T>) -> &[T] {
        let recorded = p.first_node() as usize + p.len() <= self.written.len();
        self.check(p.tape().id(), p.tape().generation(), recorded);
        &self.mats[p.range()]
    }

    /// [`packed`](Self::packed), mutable: to clip or rescale the gradient
    /// of a network's parameters in place before an optimizer's step.
    ///
    /// # Panics
    /// As [`packed`](Self::packed).
    #[track_caller]
    pub fn packed_mut(&mut self, p: crate::mat::Packed<'_, T>) -> &mut [T] {
        let recorded = p.first_node() as usize + p.len() <= self.written.len();
        self.check(p.tape().id(), p.tape().generation(), recorded);
        &mut self.mats[p.range()]
    }

    /// The gradient with respect to `m`, as a matrix of `m`'s shape.
    ///
    /// # Panics
    /// As indexing (see [`Grads`]).
    #[track_caller]
    pub fn matrix(&self, m: Mat<'_, T>) -> Matrix<T> {
        let s = m.shape();
        Matrix::new(s.rows, s.cols, self[m].to_vec()).expect("shape of a recorded matrix")
    }
}
