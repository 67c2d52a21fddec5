//! The tape: what one evaluation recorded, in execution order, and the
//! reverse sweep over it.
//!
//! Scalar operations are stored by *Jacobian taping*: when an operation is
//! recorded, its local partial derivatives are computed at once and stored
//! with its inputs' indices, so the backward sweep is one loop of
//! `adj[input] += partial * adj[output]` with no dispatch on the op (the
//! chain rule as a product of Jacobians, seed (5.9)). Matrix operations are
//! nodes of a closed enum (see [`crate::mat`]) interleaved with the scalar
//! statements by recording order.

use crate::mat::MatStore;
use crate::{Grads, Real, Var};
use std::cell::{Cell, RefCell, UnsafeCell};
use std::sync::atomic::{AtomicU64, Ordering};

/// Set in a statement's first input when it has a second one.
const BINARY: u32 = 1 << 31;

/// The most scalar statements one recording may hold (the top bit of an
/// index is the `BINARY` flag).
const MAX_STMTS: usize = (BINARY - 1) as usize;

/// The recorded scalar operations, as arrays of (input, partial) pairs.
///
/// Statement `i` computed `y_i = op(a, b)`: its first input and partial are
/// `first[i]` and `da[i]`. Only binary statements (flag `BINARY` in
/// `first[i]`) store a second pair, in `second[k]` and `db[k]`, where `k`
/// counts the binary statements before `i`; so recording a unary
/// statement writes 12 bytes for `f64` and a binary one 24, and the sweep
/// reads as much back. (The second-pair vectors are allocated as long as
/// the first ones, since every statement could be binary: the memory held
/// is 24 bytes per statement of capacity.) A leaf's first input is its own
/// index, with partial 0.
///
/// The four vectors always have the same length, the capacity, filled in
/// `0..n` (and `0..m` for the second pair): a push checks `n` against it
/// once and writes in place.
struct Stmts<T> {
    first: Vec<u32>,
    da: Vec<T>,
    second: Vec<u32>,
    db: Vec<T>,
    /// Statements recorded.
    n: usize,
    /// Binary statements recorded (`m <= n`).
    m: usize,
}

impl<T: Real> Stmts<T> {
    /// The binary statements up to and including statement `top`: where
    /// the sweep down from `top` starts in the second pairs.
    fn binary_up_to(&self, top: usize) -> usize {
        self.m
            - self.first[top + 1..self.n]
                .iter()
                .filter(|&&f| f & BINARY != 0)
                .count()
    }

    fn with_capacity(cap: usize) -> Self {
        let cap = cap.min(MAX_STMTS);
        Stmts {
            first: vec![0; cap],
            da: vec![T::zero(); cap],
            second: vec![0; cap],
            db: vec![T::zero(); cap],
            n: 0,
            m: 0,
        }
    }

    #[inline(always)]
    fn capacity(&self) -> usize {
        self.first.len()
    }

    /// Makes room for at least `extra` more statements (every vector longer
    /// than `n + extra - 1` afterwards), or panics past `MAX_STMTS`.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, extra: usize) {
        let need = self.n + extra;
        if need > MAX_STMTS {
            too_long();
        }
        let cap = need.max(2 * self.capacity()).clamp(64, MAX_STMTS);
        self.first.resize(cap, 0);
        self.da.resize(cap, T::zero());
        self.second.resize(cap, 0);
        self.db.resize(cap, T::zero());
    }

    /// Appends statement `n` with first pair (`a`, `da`) and returns its
    /// index; `a` may carry the `BINARY` flag, whose second pair the caller
    /// writes at `m` (in bounds: `m <= n < capacity`).
    #[inline(always)]
    fn push_first(&mut self, a: u32, da: T) -> usize {
        let i = self.n;
        if i == self.capacity() {
            self.grow(1);
        }
        debug_assert!((a & !BINARY) as usize <= i && i < self.capacity());
        // SAFETY: `i < capacity` (checked above; `grow` makes every vector
        // longer than `n` or panics), and `first` and `da` have that length.
        unsafe {
            *self.first.get_unchecked_mut(i) = a;
            *self.da.get_unchecked_mut(i) = da;
        }
        self.n = i + 1;
        i
    }
}

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

/// A record of the operations of one evaluation, for reverse-mode
/// differentiation.
///
/// Operations on [`Var`] (scalars) and [`Mat`](crate::Mat) (row-major
/// matrices) handles append to the tape; [`Tape::backward`] runs one reverse
/// sweep from a scalar output and returns the gradient with respect to
/// every recorded value. [`Tape::clear`] forgets the recording but keeps the
/// memory, so a tape reused across evaluations stops allocating.
///
/// ```
/// use autodiff::prelude::*;
/// let tape = Tape::new();
/// let x = tape.var(3.0);
/// let y = tape.var(2.0);
/// let f = x * x * y + (x * y).sin();
/// let g = tape.backward(f);
/// assert_eq!(f.value(), 18.0 + 6.0_f64.sin());
/// // d/dx = 2 x y + y cos(x y), d/dy = x^2 + x cos(x y)
/// assert!((g[x] - (12.0 + 2.0 * 6.0_f64.cos())).abs() < 1e-14);
/// assert!((g[y] - (9.0 + 3.0 * 6.0_f64.cos())).abs() < 1e-14);
/// ```
///
/// A tape is not `Sync`: it is recorded from one thread.
pub struct Tape<T: Real = f64> {
    id: u64,
    generation: Cell<u64>,
    /// Whether operations of one recorded input are folded into the `Var`
    /// instead of recorded (see [`Tape::set_preaccumulate`]).
    preaccumulate: bool,
    // Appended to through `&self` by every `Var` operation; see `stmts_ref`.
    stmts: UnsafeCell<Stmts<T>>,
    pub(crate) mats: RefCell<MatStore<T>>,
}

impl<T: Real> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> std::fmt::Debug for Tape<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tape")
            .field("id", &self.id)
            .field("scalar_ops", &self.len())
            .field("matrix_ops", &self.mats.borrow().nodes.len())
            .finish()
    }
}

impl<T: Real> Tape<T> {
    /// An empty tape.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty tape with room for `n` scalar operations.
    pub fn with_capacity(n: usize) -> Self {
        Tape {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            generation: Cell::new(0),
            preaccumulate: false,
            stmts: UnsafeCell::new(Stmts::with_capacity(n)),
            mats: RefCell::new(MatStore::default()),
        }
    }

    /// Forgets everything recorded, keeping the allocated memory. Handles
    /// from before cannot outlive this call (it takes `&mut self`), and a
    /// [`Grads`] computed before it refuses handles recorded after.
    pub fn clear(&mut self) {
        let stmts = self.stmts.get_mut();
        stmts.n = 0;
        stmts.m = 0;
        self.mats.get_mut().clear();
        self.generation.set(self.generation.get() + 1);
    }

    /// Whether to record operations of one recorded input (`x.sin()`,
    /// `2.0 * x`, `x * x`, ...) as statements of their own (`false`, the
    /// default: every value has a gradient in [`Grads`]) or to fold them into
    /// the resulting [`Var`] (`true`: *preaccumulation*).
    ///
    /// A preaccumulating tape records only inputs and operations of two
    /// recorded inputs; a `Var` that results from a chain of one-input
    /// operations carries the chain's derivative with respect to the node
    /// it started from, and the operation that consumes it multiplies its
    /// partial by that derivative before recording it. The gradients with
    /// respect to nodes (inputs included) are the same up to rounding;
    /// recording and the sweep do less work (on the extended Rosenbrock
    /// function, 3 statements per term instead of 8). The values that were
    /// not recorded have no gradient: indexing [`Grads`] with one
    /// ([`Var::is_node`] false) panics. [`grad`](crate::grad),
    /// [`Evaluator`](crate::Evaluator) and the other functional helpers,
    /// which return gradients with respect to the inputs only, record
    /// this way.
    ///
    /// ```
    /// use autodiff::prelude::*;
    /// let mut tape = Tape::<f64>::new();
    /// tape.set_preaccumulate(true);
    /// let x = tape.var(0.5);
    /// let y = tape.var(2.0);
    /// let s = (3.0 * x).sin(); // not recorded
    /// let f = s * y; // one statement, partials 3 cos(3x) y and sin(3x)
    /// assert_eq!(tape.len(), 3);
    /// let g = tape.backward(f);
    /// assert!((g[x] - 3.0 * 1.5_f64.cos() * 2.0).abs() < 1e-15);
    /// assert_eq!(g[y], 1.5_f64.sin());
    /// assert!(!s.is_node());
    /// ```
    pub fn set_preaccumulate(&mut self, on: bool) {
        self.preaccumulate = on;
    }

    /// Whether this tape preaccumulates (see
    /// [`set_preaccumulate`](Self::set_preaccumulate)).
    pub fn preaccumulates(&self) -> bool {
        self.preaccumulate
    }

    /// The number of scalar operations recorded (leaves included).
    pub fn len(&self) -> usize {
        self.stmts_ref().n
    }

    /// Whether nothing has been recorded since creation or the last
    /// [`clear`](Self::clear).
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.mats.borrow().nodes.is_empty()
    }

    /// Bytes a recorded scalar binary operation writes to the tape (and the
    /// sweep reads), the most any scalar operation takes: two (u32 index,
    /// partial) pairs, 24 for `f64` and 16 for `f32`. Also what the tape
    /// allocates per statement of capacity.
    pub const BYTES_PER_SCALAR_OP: usize = 2 * Self::BYTES_PER_UNARY_OP;

    /// Bytes a recorded unary operation (a binary one with a constant side
    /// included) or input writes to the tape (and the sweep reads): one
    /// (u32 index, partial) pair, 12 for `f64` and 8 for `f32`.
    pub const BYTES_PER_UNARY_OP: usize = 4 + std::mem::size_of::<T>();

    /// Bytes of tape memory this recording uses: the scalar statements'
    /// pairs written, the matrix nodes and the matrix values (the
    /// allocation kept for reuse may be larger).
    pub fn memory_bytes(&self) -> usize {
        let s = self.stmts_ref();
        (s.n + s.m) * Self::BYTES_PER_UNARY_OP + self.mats.borrow().memory_bytes()
    }

    /// A new input (leaf) with value `x`.
    #[inline]
    pub fn var(&self, x: T) -> Var<'_, T> {
        self.push_leaf(x)
    }

    /// New inputs, one per value, with consecutive indices.
    pub fn vars(&self, xs: &[T]) -> Vec<Var<'_, T>> {
        let mut out = Vec::with_capacity(xs.len());
        self.vars_into(xs, &mut out);
        out
    }

    /// Appends new inputs, one per value, to `out`. Their indices are
    /// consecutive, so their adjoints are one slice of the gradient store.
    pub fn vars_into<'t>(&'t self, xs: &[T], out: &mut Vec<Var<'t, T>>) {
        // SAFETY: see `stmts_ref`; the `&mut` lives for this block only and
        // nothing else touches the statements meanwhile.
        let stmts = unsafe { &mut *self.stmts.get() };
        let start = stmts.n;
        if start + xs.len() > stmts.capacity() {
            stmts.grow(xs.len());
        }
        // One capacity check and one pass instead of a checked push per leaf.
        for (i, (f, d)) in stmts.first[start..start + xs.len()]
            .iter_mut()
            .zip(&mut stmts.da[start..start + xs.len()])
            .enumerate()
        {
            *f = (start + i) as u32;
            *d = T::zero();
        }
        stmts.n = start + xs.len();
        out.extend(
            xs.iter()
                .enumerate()
                .map(|(k, &x)| Var::on_tape(x, (start + k) as u32, self)),
        );
    }

    /// The unique identity of this tape (`Var`s carry a reference to it).
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// The index the next scalar statement will get.
    #[inline]
    pub(crate) fn next_index(&self) -> u32 {
        self.stmts_ref().n as u32
    }

    #[inline(always)]
    fn stmts_ref(&self) -> &Stmts<T> {
        // SAFETY: `Tape` is !Sync and no `&mut` to the statements outlives
        // the body of a `push*`, `vars_into` or `clear` (which holds
        // `&mut self`), none of which call out to other code while holding it.
        unsafe { &*self.stmts.get() }
    }

    /// Records `y = op(a, b)` with partials `da`, `db`.
    #[inline(always)]
    pub(crate) fn push2(&self, a: u32, da: T, b: u32, db: T, value: T) -> Var<'_, T> {
        // SAFETY: see `stmts_ref`; the `&mut` lives for this block only and
        // no other reference to the statements is alive during it (`Var`
        // operations never hold one across a call).
        let s = unsafe { &mut *self.stmts.get() };
        // The sweep carries only slot `a` to the next statement in a
        // register: put the input recorded just before this one there.
        let (a, da, b, db) = if b as usize + 1 == s.n {
            (b, db, a, da)
        } else {
            (a, da, b, db)
        };
        let i = s.push_first(a | BINARY, da);
        let k = s.m;
        debug_assert!(b as usize <= i);
        // SAFETY: `k = m <= i < capacity` (`push_first` made room for
        // statement `i`), and `second` and `db` have that length.
        unsafe {
            *s.second.get_unchecked_mut(k) = b;
            *s.db.get_unchecked_mut(k) = db;
        }
        s.m = k + 1;
        Var::on_tape(value, i as u32, self)
    }

    /// Records `y = op(a)` with partial `da`.
    #[inline(always)]
    pub(crate) fn push1(&self, a: u32, da: T, value: T) -> Var<'_, T> {
        // SAFETY: as in `push2`.
        let s = unsafe { &mut *self.stmts.get() };
        let i = s.push_first(a, da);
        Var::on_tape(value, i as u32, self)
    }

    /// The result `value` of an operation of one recorded input, node `a`,
    /// with derivative `da` with respect to it: recorded as a statement, or
    /// on a preaccumulating tape carried by the returned `Var`.
    #[inline(always)]
    pub(crate) fn record1(&self, a: u32, da: T, value: T) -> Var<'_, T> {
        if self.preaccumulate {
            Var::derived(value, da, a, self)
        } else {
            self.push1(a, da, value)
        }
    }

    /// Records an input (or a value whose derivative rule lives elsewhere:
    /// the scalar output of a matrix node).
    #[inline(always)]
    pub(crate) fn push_leaf(&self, value: T) -> Var<'_, T> {
        // SAFETY: as in `push2`.
        let s = unsafe { &mut *self.stmts.get() };
        let i = s.push_first(s.n as u32, T::zero());
        Var::on_tape(value, i as u32, self)
    }

    /// The gradient of the scalar `y` with respect to every value recorded
    /// on this tape: one reverse sweep.
    ///
    /// A constant `y` (recorded on no tape) has zero gradient everywhere.
    ///
    /// # Panics
    /// If `y` was recorded on another tape.
    #[track_caller]
    pub fn backward(&self, y: Var<'_, T>) -> Grads<T> {
        let mut g = Grads::empty();
        self.backward_into(y, &mut g);
        g
    }

    /// [`backward`](Self::backward) into an existing gradient store, reusing
    /// its memory.
    ///
    /// # Panics
    /// If `y` was recorded on another tape.
    #[track_caller]
    pub fn backward_into(&self, y: Var<'_, T>, grads: &mut Grads<T>) {
        let stmts = self.stmts_ref();
        let mats = self.mats.borrow();
        grads.reset(
            self.id,
            self.generation(),
            stmts.n,
            mats.used,
            mats.nodes.len(),
        );
        if let Some(t) = y.tape() {
            crate::var::same_tape(t, self);
            let top = y.index();
            let adj = &mut grads.scalars[..];
            adj[top] = y.scale();
            let mut k = stmts.binary_up_to(top);
            // Statements recorded after a matrix node come before it in the
            // reverse order: sweep them, then the node, then go on below it.
            let mut hi = top + 1;
            for (i, node) in mats.nodes.iter().enumerate().rev() {
                let mark = node.mark as usize;
                if mark > top {
                    continue; // recorded after y: y does not depend on it
                }
                sweep::<T, true>(stmts, adj, mark, hi, &mut k);
                hi = mark;
                if let Some(rule) = mats.backward {
                    rule(&mats, i, &mut grads.mats, adj, &mut grads.written);
                }
            }
            sweep::<T, true>(stmts, adj, 0, hi, &mut k);
        }
        grads.zero_unwritten(mats.nodes.iter().map(|n| (n.range(), n.grad)));
    }

    /// The gradient of `y` with respect to the first `out.len()` statements
    /// (the inputs, recorded first), into `out`, for [`Evaluator`]: one
    /// reverse sweep over `adj`, which must be all zero on entry and is all
    /// zero again on return (each adjoint is reset once used), so no pass
    /// zeroes the adjoints of the whole tape before the sweep.
    ///
    /// Returns `false`, touching nothing, if matrix nodes were recorded
    /// (their rules need the [`Grads`] store: use `backward_into`).
    ///
    /// # Panics
    /// If `y` was recorded on another tape, or fewer than `out.len()`
    /// statements were recorded.
    ///
    /// [`Evaluator`]: crate::Evaluator
    #[track_caller]
    pub(crate) fn leaf_gradient(&self, y: Var<'_, T>, adj: &mut Vec<T>, out: &mut [T]) -> bool {
        if !self.mats.borrow().nodes.is_empty() {
            return false;
        }
        let stmts = self.stmts_ref();
        let nl = out.len();
        assert!(
            nl <= stmts.n,
            "leaf_gradient: {nl} leaves, {} statements",
            stmts.n
        );
        if adj.len() < stmts.n {
            adj.resize(stmts.n, T::zero());
        }
        let Some(t) = y.tape() else {
            out.fill(T::zero());
            return true;
        };
        crate::var::same_tape(t, self);
        let top = y.index();
        adj[top] = y.scale();
        let mut k = stmts.binary_up_to(top);
        let split = nl.min(top + 1);
        sweep::<T, false>(stmts, adj, split, top + 1, &mut k);
        sweep::<T, true>(stmts, adj, 0, split, &mut k);
        out.copy_from_slice(&adj[..nl]);
        adj[..nl].fill(T::zero());
        true
    }
}

/// `adj[input] += partial * adj[output]` for the statements `lo..hi` in
/// reverse order.
///
/// Most statements feed the one recorded right after them, so the
/// contribution to `adj[i - 1]` is carried in a register to the next
/// iteration instead of going through memory: a store followed at once by
/// a load of the same address would put the store-forwarding latency on
/// the sweep's critical path. The sums are formed in the same order either
/// way, so the results are bitwise the same. Measured on Rosenbrock with
/// the earlier 24-byte statements: about 13% faster than the plain loop,
/// and 20% faster than carrying either slot (two selects) instead of
/// canonicalising the carried one into slot `a`.
///
/// A leaf (its first input is itself) and a unary statement (no second
/// pair) skip the missing updates by a branch rather than adding a zero
/// partial: `0 * g` is NaN for an infinite `g`. Measured against the
/// zero-partial updates followed by a store restoring `adj[i]`
/// (`benches/scalar_phases.rs`, n = 10,000): the math-heavy function's
/// `backward_into` 231-237 us to 214-217 us, Rosenbrock's unchanged
/// (about 180 us). Reading 12 bytes per unary statement instead of 24
/// then took Rosenbrock's to 157-164 us, about 1.8 ns per statement with
/// the zeroing of the adjoints (about 20 us of it: measured by leaving it
/// out). Zeroing the adjoints block by block as the sweep reaches them,
/// instead of in one pass before, measured slower (about 220 us).
///
/// `k` is the number of binary statements in `0..hi` on entry, and in
/// `0..lo` on return. With `KEEP` false, each adjoint of `lo..hi` is set
/// back to 0 once used instead of keeping the gradient (see
/// [`Tape::leaf_gradient`]).
#[inline]
fn sweep<T: Real, const KEEP: bool>(
    s: &Stmts<T>,
    adj: &mut [T],
    lo: usize,
    hi: usize,
    k: &mut usize,
) {
    assert!(hi <= s.n && hi <= adj.len() && *k <= s.m);
    let mut carry = T::zero();
    let mut k_ = *k;
    for i in (lo..hi).rev() {
        let own = i as u32;
        // SAFETY: `i < hi <= n <= capacity`, the length of `first` and
        // `da`. `push_first` records only inputs with indices up to the
        // statement's own, so every adjoint index used is
        // `<= i < hi <= adj.len()`. `k_` counts the binary statements in
        // `0..=i` (so it is >= 1 when statement `i` is binary, and the pair
        // of that statement is `second[k_ - 1]`, `k_ - 1 < m <= capacity`).
        unsafe {
            let f = *s.first.get_unchecked(i);
            let da = *s.da.get_unchecked(i);
            let g = *adj.get_unchecked(i) + carry;
            // Nothing adds to `adj[i]` after this statement (inputs come
            // before it): without `KEEP` it goes back to 0 for the next call.
            *adj.get_unchecked_mut(i) = if KEEP { g } else { T::zero() };
            let a = f & !BINARY;
            // `push2` puts an input recorded just before in slot `a`, so
            // the second input never needs carrying.
            if a == own.wrapping_sub(1) {
                carry = da * g;
            } else {
                carry = T::zero();
                // A leaf points at itself: nothing to propagate.
                if a != own {
                    *adj.get_unchecked_mut(a as usize) += da * g;
                }
            }
            if f & BINARY != 0 {
                debug_assert!(k_ > 0);
                k_ -= 1;
                let b = *s.second.get_unchecked(k_);
                *adj.get_unchecked_mut(b as usize) += *s.db.get_unchecked(k_) * g;
            }
        }
    }
    *k = k_;
    if lo > 0 {
        adj[lo - 1] += carry;
    }
}

#[cold]
#[inline(never)]
fn too_long() -> ! {
    panic!(
        "tape: more than 2^31 - 1 scalar operations recorded; clear the tape between evaluations"
    )
}
