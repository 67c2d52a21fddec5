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

mod backward;

use crate::mat::MatStore;
#[cfg(doc)]
use crate::Grads;
use crate::{TapeValue, Var};
use std::cell::{Cell, RefCell, UnsafeCell};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// The most scalar statements one recording may hold (indices are `u32`).
const MAX_STMTS: usize = u32::MAX as usize;

/// One recorded scalar operation `y_i = op(a, b)`: its inputs' indices and
/// the partials `dy_i/da`, `dy_i/db`. An operation of one input has `b = i`
/// and `db = 0`; an input (leaf) has `a = b = i` and zero partials. The
/// sweep adds `0 * adj[i]` to `adj[i]` for them and then stores `adj[i]`
/// back, so even an infinite adjoint leaves no NaN behind, and the loop
/// has no branch on the kind of statement.
#[derive(Clone, Copy)]
struct Stmt<T> {
    a: u32,
    b: u32,
    da: T,
    db: T,
}

impl<T: TapeValue> Stmt<T> {
    /// The statement of input (leaf) `own`.
    #[inline(always)]
    fn leaf(own: u32) -> Self {
        Stmt {
            a: own,
            b: own,
            da: T::zero(),
            db: T::zero(),
        }
    }
}

/// The recorded scalar operations, in recording order.
///
/// `list` always has its full length, the capacity: a push checks `n`
/// against it once and writes in place. This recording's statements are
/// `leaves..n`; `0..leaves` holds filler or an earlier recording's. Every
/// element, written in this recording or not, has inputs `a, b` no larger
/// than its own index, so reading any of them stays in bounds.
struct Stmts<T> {
    list: Vec<Stmt<T>>,
    /// Statements recorded.
    n: usize,
    /// The first `leaves` statements are inputs recorded by
    /// [`Tape::vars_into`] while the tape held no other scalar statement
    /// (matrix nodes may come before or between the batches). Their
    /// statements (a leaf's propagates nothing) are not written, and no
    /// sweep goes below them.
    leaves: usize,
}

impl<T: TapeValue> Stmts<T> {
    fn with_capacity(cap: usize) -> Self {
        Stmts {
            list: vec![Stmt::leaf(0); cap.min(MAX_STMTS)],
            n: 0,
            leaves: 0,
        }
    }

    /// Makes room for at least `extra` more statements (`list` longer than
    /// `n + extra - 1` afterwards), or panics past `MAX_STMTS`.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, extra: usize) {
        let need = self.n + extra;
        if need > MAX_STMTS {
            too_long();
        }
        let cap = need.max(2 * self.list.len()).clamp(64, MAX_STMTS);
        // Filler until written: any statement would do.
        self.list.resize(cap, Stmt::leaf(0));
    }

    /// Appends statement `n`, built from its own index, and returns it.
    #[inline(always)]
    fn push(&mut self, stmt: impl FnOnce(u32) -> Stmt<T>) -> usize {
        let i = self.n;
        if i == self.list.len() {
            self.grow(1);
        }
        let st = stmt(i as u32);
        debug_assert!(st.a as usize <= i && st.b as usize <= i);
        // SAFETY: `i < list.len()` (checked above; `grow` makes the list
        // longer than `n` or panics).
        unsafe {
            *self.list.get_unchecked_mut(i) = st;
        }
        self.n = i + 1;
        i
    }
}

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Full {}
    impl Sealed for super::Preaccumulating {}
}

/// How a [`Tape`] records operations of one recorded input, fixed by its
/// type so that recording carries no run-time test of it: [`Full`] (the
/// default) or [`Preaccumulating`].
///
/// Most code is generic over [`Real`](crate::Real) and never names the
/// mode. A function written for `Var`s themselves takes it as a parameter
/// to serve both kinds of tape:
///
/// ```
/// use autodiff::prelude::*;
/// fn f<'t, M: Recording>(x: &[Var<'t, f64, M>]) -> Var<'t, f64, M> {
///     x[0] * x[1].exp()
/// }
/// let tape = Tape::new();
/// let x = tape.vars(&[2.0, 0.0]);
/// let y = f(&x);
/// assert_eq!(tape.backward(y)[x[0]], 1.0);
/// assert_eq!(autodiff::grad(f, &[2.0, 0.0]).unwrap(), vec![1.0, 2.0]);
/// ```
pub trait Recording: sealed::Sealed + Copy + std::fmt::Debug + Send + Sync + 'static {
    /// Whether operations of one recorded input are folded into the
    /// resulting [`Var`] instead of recorded.
    const PREACCUMULATE: bool;
}

/// Every operation is recorded, so every value has a gradient in
/// [`Grads`]: the tape of [`Tape::new`], and the one matrix operations
/// record on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Full;

/// Operations of one recorded input (`x.sin()`, `2.0 * x`, `x * x`) are
/// not recorded: the resulting [`Var`] carries its derivative with respect
/// to the node it came from (*preaccumulation*; see
/// [`Tape::preaccumulating`]). The tape of [`grad`](crate::grad),
/// [`Evaluator`](crate::Evaluator) and the other functional helpers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Preaccumulating;

impl Recording for Full {
    const PREACCUMULATE: bool = false;
}

impl Recording for Preaccumulating {
    const PREACCUMULATE: bool = true;
}

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
///
/// The second type parameter says how operations of one recorded input are
/// recorded: [`Full`] (the default, [`Tape::new`]) or [`Preaccumulating`]
/// ([`Tape::preaccumulating`]). Matrix operations record on `Full` tapes.
pub struct Tape<T: TapeValue = f64, M: Recording = Full> {
    id: u64,
    generation: Cell<u64>,
    // Appended to through `&self` by every `Var` operation; see `stmts_ref`.
    stmts: UnsafeCell<Stmts<T>>,
    pub(crate) mats: RefCell<MatStore<T>>,
    mode: PhantomData<M>,
}

impl<T: TapeValue> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: TapeValue, M: Recording> std::fmt::Debug for Tape<T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tape")
            .field("id", &self.id)
            .field("preaccumulates", &M::PREACCUMULATE)
            .field("scalar_ops", &self.len())
            .field("matrix_ops", &self.mats.borrow().nodes.len())
            .finish()
    }
}

impl<T: TapeValue> Tape<T> {
    /// An empty tape recording every operation.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty tape recording every operation, with room for `n` scalar
    /// operations.
    pub fn with_capacity(n: usize) -> Self {
        Tape::empty(n)
    }

    /// An empty preaccumulating tape: operations of one recorded input
    /// (`x.sin()`, `2.0 * x`, `x * x`, ...) are folded into the resulting
    /// [`Var`] instead of recorded as statements of their own.
    ///
    /// A preaccumulating tape records only inputs and operations of two
    /// recorded inputs; a `Var` that results from a chain of one-input
    /// operations carries the chain's derivative with respect to the node
    /// it started from, and the operation that consumes it multiplies its
    /// partial by that derivative before recording it (the chain rule, seed
    /// (5.9), applied at recording time). Recording and the sweep do less
    /// work (on the extended Rosenbrock function, 3 statements per term
    /// instead of 8), and the mode is part of the type, so recording tests
    /// nothing at run time.
    ///
    /// The gradients with respect to nodes (inputs included) are the same
    /// up to rounding, except where a product of partials overflows or
    /// underflows (the factors of a chain are multiplied from the input
    /// outwards here, from the output inwards on the full tape) or is
    /// `0 * inf`: on the full tape an adjoint of exactly 0 propagates nothing
    /// (see `sweep`), here a zero partial times an infinite one is NaN at
    /// recording. The values that were not recorded have no gradient:
    /// indexing [`Grads`] with one ([`Var::is_node`] false) panics.
    /// [`grad`](crate::grad), [`Evaluator`](crate::Evaluator) and the other
    /// functional helpers, which return gradients with respect to the
    /// inputs only, record this way.
    ///
    /// ```
    /// use autodiff::prelude::*;
    /// let tape = Tape::<f64>::preaccumulating();
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
    pub fn preaccumulating() -> Tape<T, Preaccumulating> {
        Self::preaccumulating_with_capacity(0)
    }

    /// An empty [preaccumulating](Self::preaccumulating) tape with room for
    /// `n` scalar operations.
    pub fn preaccumulating_with_capacity(n: usize) -> Tape<T, Preaccumulating> {
        Tape::empty(n)
    }
}

impl<T: TapeValue, M: Recording> Tape<T, M> {
    fn empty(n: usize) -> Self {
        Tape {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            generation: Cell::new(0),
            stmts: UnsafeCell::new(Stmts::with_capacity(n)),
            mats: RefCell::new(MatStore::default()),
            mode: PhantomData,
        }
    }

    /// Forgets everything recorded, keeping the allocated memory. Handles
    /// from before cannot outlive this call (it takes `&mut self`), and a
    /// [`Grads`] computed before it refuses handles recorded after.
    pub fn clear(&mut self) {
        let stmts = self.stmts.get_mut();
        stmts.n = 0;
        stmts.leaves = 0;
        self.mats.get_mut().clear();
        self.generation.set(self.generation.get() + 1);
    }

    /// Whether this tape preaccumulates (see
    /// [`Tape::preaccumulating`]): `M::PREACCUMULATE`.
    pub fn preaccumulates(&self) -> bool {
        M::PREACCUMULATE
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

    /// Bytes a recorded scalar operation (or input) writes to the tape and
    /// the sweep reads back: two u32 indices and two partials, 24 for `f64`
    /// and 16 for `f32`. Also what the tape allocates per statement of
    /// capacity.
    pub const BYTES_PER_SCALAR_OP: usize = std::mem::size_of::<Stmt<T>>();

    /// Bytes of tape memory this recording uses: the scalar statements
    /// (inputs included, written or not), the matrix nodes and the matrix values (the allocation kept
    /// for reuse may be larger).
    pub fn memory_bytes(&self) -> usize {
        self.stmts_ref().n * Self::BYTES_PER_SCALAR_OP + self.mats.borrow().memory_bytes()
    }

    /// A new input (leaf) with value `x`.
    #[inline]
    pub fn var(&self, x: T) -> Var<'_, T, M> {
        self.push_leaf(x)
    }

    /// New inputs, one per value, with consecutive indices.
    pub fn vars(&self, xs: &[T]) -> Vec<Var<'_, T, M>> {
        let mut out = Vec::with_capacity(xs.len());
        self.vars_into(xs, &mut out);
        out
    }

    /// Appends new inputs, one per value, to `out`. Their indices are
    /// consecutive, so their adjoints are one slice of the gradient store.
    pub fn vars_into<'t>(&'t self, xs: &[T], out: &mut Vec<Var<'t, T, M>>) {
        // SAFETY: see `stmts_ref`; the `&mut` lives for this block only and
        // nothing else touches the statements meanwhile.
        let stmts = unsafe { &mut *self.stmts.get() };
        let start = stmts.n;
        if start + xs.len() > stmts.list.len() {
            stmts.grow(xs.len());
        }
        if start == stmts.leaves {
            // Inputs recorded first: their statements are never read (see
            // `Stmts::leaves`), so they are not written.
            stmts.leaves += xs.len();
        } else {
            // One capacity check and one pass instead of a checked push per
            // leaf.
            for (i, st) in stmts.list[start..start + xs.len()].iter_mut().enumerate() {
                *st = Stmt::leaf((start + i) as u32);
            }
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
        // SAFETY: `Tape` is !Sync, and no `&mut` to the statements outlives
        // the body of a `push*`, `vars_into` or `clear` (which holds
        // `&mut self`). The only other code that runs while a reference to
        // the statements is held (here, or during a sweep) is `T`'s
        // arithmetic and methods, and `T: TapeValue` promises they never
        // touch a tape (see its safety contract).
        unsafe { &*self.stmts.get() }
    }

    /// Records `y = op(a, b)` with partials `da`, `db`.
    #[inline(always)]
    pub(crate) fn push2(&self, a: u32, da: T, b: u32, db: T, value: T) -> Var<'_, T, M> {
        // SAFETY: see `stmts_ref`; the `&mut` lives for this block only and
        // no other reference to the statements is alive during it (`Var`
        // operations never hold one across a call, and `T`'s code run here,
        // in `grow`, touches no tape: `T: TapeValue`).
        let s = unsafe { &mut *self.stmts.get() };
        let i = if M::PREACCUMULATE {
            s.push(|_| Stmt { a, b, da, db })
        } else {
            // The sweep of a tape recording every operation carries slot
            // `a` to the next statement in a register: put the input
            // recorded just before this one there (see `sweep`).
            s.push(|own| {
                if b.wrapping_add(1) == own {
                    Stmt {
                        a: b,
                        b: a,
                        da: db,
                        db: da,
                    }
                } else {
                    Stmt { a, b, da, db }
                }
            })
        };
        Var::on_tape(value, i as u32, self)
    }

    /// Records `y = op(a)` with partial `da`.
    #[inline(always)]
    pub(crate) fn push1(&self, a: u32, da: T, value: T) -> Var<'_, T, M> {
        // SAFETY: as in `push2`.
        let s = unsafe { &mut *self.stmts.get() };
        let i = s.push(|own| Stmt {
            a,
            b: own,
            da,
            db: T::zero(),
        });
        Var::on_tape(value, i as u32, self)
    }

    /// The result `value` of an operation of one recorded input, node `a`,
    /// with derivative `da` with respect to it: recorded as a statement, or
    /// on a preaccumulating tape carried by the returned `Var`.
    #[inline(always)]
    pub(crate) fn record1(&self, a: u32, da: T, value: T) -> Var<'_, T, M> {
        if M::PREACCUMULATE {
            Var::derived(value, da, a, self)
        } else {
            self.push1(a, da, value)
        }
    }

    /// Records a value that depends on no recorded input (an op's result
    /// whose only input was not chosen, as `relu` of a negative number): a
    /// node with no inputs on a tape recording every operation, so that its
    /// own gradient can be asked for; a constant on a preaccumulating one.
    #[inline(always)]
    pub(crate) fn record0(&self, value: T) -> Var<'_, T, M> {
        if M::PREACCUMULATE {
            Var::constant(value)
        } else {
            self.push_leaf(value)
        }
    }

    /// Records an input (or a value whose derivative rule lives elsewhere:
    /// the scalar output of a matrix node).
    #[inline(always)]
    pub(crate) fn push_leaf(&self, value: T) -> Var<'_, T, M> {
        // SAFETY: as in `push2`.
        let s = unsafe { &mut *self.stmts.get() };
        let i = s.push(Stmt::leaf);
        Var::on_tape(value, i as u32, self)
    }
}

#[cold]
#[inline(never)]
fn too_long() -> ! {
    panic!(
        "tape: more than {MAX_STMTS} scalar operations recorded; clear the tape between evaluations"
    )
}
