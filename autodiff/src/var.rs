//! `Var`, the scalar handle: its recording of the primitives and its
//! [`Real`] implementation (the operators are in `ops`).

mod ops;

use crate::rules::{Binary, Unary};
use crate::tape::{Full, Recording};
use crate::{Real, Tape, TapeValue};

/// A scalar recorded on a [`Tape`] (or a constant, recorded nowhere): a
/// small `Copy` handle that carries its value, so arithmetic never reads
/// the tape, it only appends to it.
///
/// `Var` implements [`Real`], so generic user code runs on it unchanged.
/// Operations whose inputs are all constants record nothing.
///
/// ```
/// use autodiff::{Real, Tape, Var};
/// let tape = Tape::new();
/// let x = tape.var(0.5);
/// let y = 2.0 * x.exp() + 1.0; // literals mix in
/// assert_eq!(tape.backward(y)[x], 2.0 * 0.5_f64.exp());
/// let c = Var::constant(3.0); // on no tape
/// assert_eq!(tape.backward(y * c)[c], 0.0);
/// ```
///
/// On a [preaccumulating](Tape::preaccumulating) tape, the result of an
/// operation of one recorded input (`x.sin()`, `2.0 * x`, `x * x`) is not
/// recorded: the `Var` carries its derivative with respect to that input's
/// node instead, and the next operation of two recorded inputs folds it
/// into its partials (the chain rule, seed (5.9), applied at recording
/// time). Such a `Var` has no gradient of its own ([`Var::is_node`]).
///
/// The type parameter `M` is the tape's [`Recording`] mode: [`Full`] for a
/// tape of [`Tape::new`], [`Preaccumulating`](crate::Preaccumulating) for
/// the functional helpers' tapes.
///
/// # Panics
/// Combining two `Var`s recorded on different tapes panics.
#[derive(Clone, Copy)]
pub struct Var<'t, T: TapeValue = f64, M: Recording = Full> {
    value: T,
    /// `d value / d node[idx]`: one for a node itself.
    scale: T,
    idx: u32,
    /// Whether this is node `idx` itself (always, on a tape recording every
    /// operation).
    node: bool,
    tape: Option<&'t Tape<T, M>>,
}

impl<T: TapeValue, M: Recording> std::fmt::Debug for Var<'_, T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.tape {
            Some(_) if self.node => write!(f, "Var({:?} @ {})", self.value, self.idx),
            Some(_) => write!(
                f,
                "Var({:?} = {:?} d/d@{})",
                self.value, self.scale, self.idx
            ),
            None => write!(f, "Var({:?} const)", self.value),
        }
    }
}

/// The value, formatted with the formatter's options (`{:.3}`).
impl<T: TapeValue, M: Recording> std::fmt::Display for Var<'_, T, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.value, f)
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn different_tapes() -> ! {
    panic!(
        "autodiff: a Var (or Mat) recorded on one Tape was combined with one from another Tape; \
         record every input of a function on the same tape"
    )
}

/// Panics unless `a` and `b` are the same tape.
#[inline(always)]
#[track_caller]
pub(crate) fn same_tape<T: TapeValue, M: Recording>(a: &Tape<T, M>, b: &Tape<T, M>) {
    if !std::ptr::eq(a, b) {
        different_tapes();
    }
}

impl<'t, T: TapeValue, M: Recording> Var<'t, T, M> {
    /// A constant: recorded on no tape, zero gradient.
    ///
    /// Its recording mode `M` comes from where it is used; alone, name it:
    /// `Var::<f64>::constant(3.0)` (a [`Full`] tape's) or
    /// `PVar::constant(3.0)` (the helpers').
    ///
    /// [`PVar`]: crate::PVar
    #[inline]
    pub fn constant(value: T) -> Self {
        Var {
            value,
            scale: T::one(),
            idx: 0,
            node: true,
            tape: None,
        }
    }

    /// Node `idx` of `tape`, whose value is `value`.
    #[inline(always)]
    pub(crate) fn on_tape(value: T, idx: u32, tape: &'t Tape<T, M>) -> Self {
        Var {
            value,
            scale: T::one(),
            idx,
            node: true,
            tape: Some(tape),
        }
    }

    /// A value derived from node `idx` alone, with derivative `scale`
    /// with respect to it: not recorded (see [`Tape::record1`]).
    #[inline(always)]
    pub(crate) fn derived(value: T, scale: T, idx: u32, tape: &'t Tape<T, M>) -> Self {
        Var {
            value,
            scale,
            idx,
            node: false,
            tape: Some(tape),
        }
    }

    /// The value.
    #[inline]
    pub fn value(self) -> T {
        self.value
    }

    /// Whether this is a constant (recorded on no tape).
    #[inline]
    pub fn is_constant(self) -> bool {
        self.tape.is_none()
    }

    /// The tape this was recorded on, if any.
    #[inline]
    pub fn tape(self) -> Option<&'t Tape<T, M>> {
        self.tape
    }

    /// Whether this value is a node of its tape, with a gradient of its
    /// own in [`Grads`](crate::Grads): inputs, constants and results of
    /// operations of two recorded inputs always are; on a
    /// [preaccumulating](Tape::preaccumulating) tape, results of
    /// operations of one recorded input are not.
    #[inline]
    pub fn is_node(self) -> bool {
        !M::PREACCUMULATE || self.node
    }

    /// The node this value derives from.
    #[inline(always)]
    pub(crate) fn index(self) -> usize {
        self.idx as usize
    }

    /// The derivative of this value with respect to node
    /// [`index`](Self::index) (one for a node).
    #[inline(always)]
    pub(crate) fn scale(self) -> T {
        if M::PREACCUMULATE {
            self.scale
        } else {
            T::one()
        }
    }

    /// Applies an elementwise primitive (see [`Unary`]).
    ///
    /// # Panics
    /// On an argument of `op` outside its range, naming it: a ReLU
    /// subgradient outside `[0, 1]`, a leaky ReLU slope not finite in `T`,
    /// clamp bounds out of order or NaN.
    #[inline(always)]
    #[track_caller]
    pub fn unary(self, op: Unary) -> Self {
        op.check::<T>();
        match self.tape {
            None => Var::constant(op.value(self.value)),
            Some(t) => {
                let (y, d) = op.eval(self.value);
                self.through(t, op.selects(), d, y)
            }
        }
    }

    /// `y`, whose derivative with respect to `self` (recorded on `t`) is
    /// `d`; or, for an op that [`selects`](Unary::selects) its value and
    /// did not choose `self` (`d` zero), `y` recorded with no input: no
    /// adjoint flows back to `self` then, not even an infinite one (see
    /// `rules::through`).
    #[inline(always)]
    fn through(self, t: &'t Tape<T, M>, selects: bool, d: T, y: T) -> Self {
        if selects && d.is_zero() {
            t.record0(y)
        } else {
            t.record1(self.idx, d * self.scale(), y)
        }
    }

    /// Applies a primitive of two arguments (see [`Binary`]).
    #[inline(always)]
    #[track_caller]
    pub fn binary(self, op: Binary, o: Self) -> Self {
        let (a, b) = (self.value, o.value);
        match (self.tape, o.tape) {
            (Some(t), Some(u)) => {
                same_tape(t, u);
                let (y, da, db) = op.eval(a, b);
                if op.selects() {
                    // min, max: the argument chosen passes through, the
                    // other gets nothing (it is not an input of the result).
                    let (v, d) = if da.is_zero() { (o, db) } else { (self, da) };
                    return if self.idx == o.idx {
                        v.through(t, true, d, y)
                    } else {
                        // Two recorded inputs: a node even on a
                        // preaccumulating tape, as `is_node` promises.
                        t.push1(v.idx, d * v.scale(), y)
                    };
                }
                let (da, db) = (da * self.scale(), db * o.scale());
                if self.idx == o.idx {
                    // `x * x`, `x + x`: one partial, one update in the sweep.
                    t.record1(self.idx, da + db, y)
                } else {
                    t.push2(self.idx, da, o.idx, db, y)
                }
            }
            (Some(t), None) => {
                let y = op.value(a, b);
                self.through(t, op.selects(), op.deriv_a(a, b, y), y)
            }
            (None, Some(u)) => {
                let y = op.value(a, b);
                o.through(u, op.selects(), op.deriv_b(a, b, y), y)
            }
            (None, None) => Var::constant(op.value(a, b)),
        }
    }

    /// `self * c + d` for constants `c`, `d`: one statement.
    #[inline(always)]
    fn affine_const(self, c: T, d: T) -> Self {
        self.linear_const(self.value * c + d, c)
    }

    /// `self * c` for a constant `c`: one statement. Not `affine_const(c,
    /// 0)`: `-0 + 0` is `+0`, and the product's zero must keep its sign as
    /// in `f64` arithmetic (`atan2` and `recip` tell `-0` from `+0`).
    #[inline(always)]
    fn scale_const(self, c: T) -> Self {
        self.linear_const(self.value * c, c)
    }

    /// The value `y`, whose derivative with respect to `self` is the
    /// constant `c`.
    #[inline(always)]
    fn linear_const(self, y: T, c: T) -> Self {
        match self.tape {
            None => Var::constant(y),
            Some(t) => t.record1(self.idx, c * self.scale(), y),
        }
    }
}

impl<'t, T: TapeValue, M: Recording> Real for Var<'t, T, M> {
    #[inline]
    fn from_f64(c: f64) -> Self {
        Var::constant(T::from_f64(c))
    }
    /// One statement with the given partials for two recorded inputs (one
    /// more per extra input: a chain of partial sums), none for one input
    /// on a preaccumulating tape. The value is `T`'s own `with_partials`
    /// of the values (a dual number's tangent comes from the partials).
    ///
    /// # Panics
    /// If the inputs were recorded on different tapes.
    #[track_caller]
    fn with_partials(y: Self, terms: &[(Self, Self)]) -> Self {
        let values: smallvec::SmallVec<[(T, T); 8]> =
            terms.iter().map(|(x, p)| (x.value, p.value)).collect();
        let value = T::with_partials(y.value, &values);
        let mut recorded = terms
            .iter()
            .filter_map(|&(x, p)| x.tape.map(|t| (t, x.idx, p.value * x.scale())));
        let Some((tape, a, da)) = recorded.next() else {
            return Var::constant(value);
        };
        let Some((u, b, db)) = recorded.next() else {
            return tape.record1(a, da, value);
        };
        same_tape(tape, u);
        // The partial sums before the last input hold no value of their
        // own (nothing reads it): only their statements matter.
        let mut sum = (a, da, b, db);
        for (u, c, dc) in recorded {
            same_tape(tape, u);
            let (a, da, b, db) = sum;
            let partial = if a == b {
                tape.record1(a, da + db, T::zero())
            } else {
                tape.push2(a, da, b, db, T::zero())
            };
            sum = (partial.idx, partial.scale(), c, dc);
        }
        let (a, da, b, db) = sum;
        if a == b {
            tape.record1(a, da + db, value)
        } else {
            tape.push2(a, da, b, db, value)
        }
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self.value.to_f64()
    }
    crate::rules::real_primitives_via_rules!();
}
