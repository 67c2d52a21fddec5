//! The gradient store: adjoints of every recorded value, apart from the
//! values themselves.

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
/// this store was computed, panics.
#[derive(Clone, Debug)]
pub struct Grads<T> {
    tape_id: u64,
    generation: u64,
    pub(crate) scalars: Vec<T>,
    pub(crate) mats: Vec<T>,
    zero: T,
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
            zero: T::zero(),
        }
    }

    /// Zeroes the store for a tape of `n_scalars` statements and `n_mat`
    /// matrix values, keeping its memory.
    pub(crate) fn reset(&mut self, tape_id: u64, generation: u64, n_scalars: usize, n_mat: usize) {
        self.tape_id = tape_id;
        self.generation = generation;
        self.scalars.clear();
        self.scalars.resize(n_scalars, T::zero());
        self.mats.clear();
        self.mats.resize(n_mat, T::zero());
    }

    #[track_caller]
    fn check(&self, id: u64, generation: u64) {
        assert!(
            id == self.tape_id && generation == self.generation,
            "Grads: the handle was recorded on another tape, or after these gradients were computed"
        );
    }

    /// The gradient with respect to `x`.
    #[track_caller]
    pub fn wrt(&self, x: Var<'_, T>) -> T {
        self[x]
    }

    /// The gradients with respect to each of `xs`.
    #[track_caller]
    pub fn wrt_all(&self, xs: &[Var<'_, T>]) -> Vec<T> {
        xs.iter().map(|&x| self[x]).collect()
    }
}

impl<T: Real> std::ops::Index<Var<'_, T>> for Grads<T> {
    type Output = T;
    #[track_caller]
    fn index(&self, x: Var<'_, T>) -> &T {
        match x.tape() {
            None => &self.zero,
            Some(t) => {
                self.check(t.id(), t.generation());
                &self.scalars[x.index()]
            }
        }
    }
}

impl<T: crate::Float> std::ops::Index<Mat<'_, T>> for Grads<T> {
    type Output = [T];
    #[track_caller]
    fn index(&self, m: Mat<'_, T>) -> &[T] {
        self.check(m.tape().id(), m.tape().generation());
        &self.mats[m.offset()..m.offset() + m.shape().len()]
    }
}

impl<T: crate::Float> Grads<T> {
    /// The gradient with respect to `m`, as a matrix of `m`'s shape.
    #[track_caller]
    pub fn matrix(&self, m: Mat<'_, T>) -> Matrix<T> {
        let s = m.shape();
        Matrix::new(s.rows, s.cols, self[m].to_vec()).expect("shape of a recorded matrix")
    }
}
