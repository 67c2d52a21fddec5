//! `Var`, the scalar handle, and its operators.

use crate::rules::{Binary, Unary};
use crate::tape::{Full, Recording};
use crate::{Dual, Real, Tape, TapeValue};
use std::cmp::Ordering;
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

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
    #[inline(always)]
    pub fn unary(self, op: Unary) -> Self {
        match self.tape {
            None => Var::constant(op.value(self.value)),
            Some(t) => {
                let (y, d) = op.eval(self.value);
                t.record1(self.idx, d * self.scale(), y)
            }
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
                t.record1(self.idx, op.deriv_a(a, b, y) * self.scale(), y)
            }
            (None, Some(u)) => {
                let y = op.value(a, b);
                u.record1(o.idx, op.deriv_b(a, b, y) * o.scale(), y)
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

impl<T: TapeValue, M: Recording> PartialEq for Var<'_, T, M> {
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        self.value == o.value
    }
}

impl<T: TapeValue, M: Recording> PartialOrd for Var<'_, T, M> {
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&o.value)
    }
}

/// Compares the value with a plain number: `x > 0.0`.
impl<T: TapeValue, M: Recording> PartialEq<T> for Var<'_, T, M> {
    #[inline]
    fn eq(&self, o: &T) -> bool {
        self.value == *o
    }
}

/// Compares the value with a plain number: `x > 0.0`.
impl<T: TapeValue, M: Recording> PartialOrd<T> for Var<'_, T, M> {
    #[inline]
    fn partial_cmp(&self, o: &T) -> Option<Ordering> {
        self.value.partial_cmp(o)
    }
}

// Var (op) Var, Var (op) T, and the compound assignments.
macro_rules! var_ops {
    ($($tr:ident $m:ident $atr:ident $am:ident $op:ident),*) => {$(
        impl<'t, T: TapeValue, M: Recording> $tr for Var<'t, T, M> {
            type Output = Self;
            #[inline(always)]
            #[track_caller]
            fn $m(self, o: Self) -> Self {
                self.binary(Binary::$op, o)
            }
        }
        impl<'t, T: TapeValue, M: Recording> $atr for Var<'t, T, M> {
            #[inline(always)]
            #[track_caller]
            fn $am(&mut self, o: Self) {
                *self = self.binary(Binary::$op, o);
            }
        }
        impl<'t, T: TapeValue, M: Recording> $atr<T> for Var<'t, T, M> {
            #[inline(always)]
            fn $am(&mut self, o: T) {
                *self = $tr::$m(*self, o);
            }
        }
    )*};
}
var_ops!(Add add AddAssign add_assign Add, Sub sub SubAssign sub_assign Sub,
         Mul mul MulAssign mul_assign Mul, Div div DivAssign div_assign Div);

// The by-reference forms, as `f64` has them (`x.iter().map(|v| v * v)`,
// `&a + &b`): `Var` is `Copy`, so each is the by-value operation.
macro_rules! var_ref_ops {
    ($($tr:ident $m:ident),*) => {$(
        impl<'t, T: TapeValue, M: Recording> $tr<&Var<'t, T, M>> for Var<'t, T, M> {
            type Output = Self;
            #[inline(always)]
            #[track_caller]
            fn $m(self, o: &Self) -> Self {
                $tr::$m(self, *o)
            }
        }
        impl<'t, T: TapeValue, M: Recording> $tr<Var<'t, T, M>> for &Var<'t, T, M> {
            type Output = Var<'t, T, M>;
            #[inline(always)]
            #[track_caller]
            fn $m(self, o: Var<'t, T, M>) -> Var<'t, T, M> {
                $tr::$m(*self, o)
            }
        }
        impl<'t, T: TapeValue, M: Recording> $tr<&Var<'t, T, M>> for &Var<'t, T, M> {
            type Output = Var<'t, T, M>;
            #[inline(always)]
            #[track_caller]
            fn $m(self, o: &Var<'t, T, M>) -> Var<'t, T, M> {
                $tr::$m(*self, *o)
            }
        }
        impl<'t, T: TapeValue, M: Recording> $tr<T> for &Var<'t, T, M> {
            type Output = Var<'t, T, M>;
            #[inline(always)]
            fn $m(self, c: T) -> Var<'t, T, M> {
                $tr::$m(*self, c)
            }
        }
    )*};
}
var_ref_ops!(Add add, Sub sub, Mul mul, Div div);

impl<'t, T: TapeValue, M: Recording> Neg for &Var<'t, T, M> {
    type Output = Var<'t, T, M>;
    #[inline(always)]
    fn neg(self) -> Var<'t, T, M> {
        -*self
    }
}

/// The constant 0, as `f64::default()`.
impl<T: TapeValue, M: Recording> Default for Var<'_, T, M> {
    #[inline]
    fn default() -> Self {
        Var::constant(T::zero())
    }
}

/// A constant ([`Var::constant`]).
impl<T: TapeValue, M: Recording> From<T> for Var<'_, T, M> {
    #[inline]
    fn from(value: T) -> Self {
        Var::constant(value)
    }
}

// With a constant, each is one statement of one input.
impl<'t, T: TapeValue, M: Recording> Add<T> for Var<'t, T, M> {
    type Output = Self;
    #[inline(always)]
    fn add(self, c: T) -> Self {
        self.affine_const(T::one(), c)
    }
}
impl<'t, T: TapeValue, M: Recording> Sub<T> for Var<'t, T, M> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, c: T) -> Self {
        self.affine_const(T::one(), -c)
    }
}
impl<'t, T: TapeValue, M: Recording> Mul<T> for Var<'t, T, M> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, c: T) -> Self {
        self.scale_const(c)
    }
}
impl<'t, T: TapeValue, M: Recording> Div<T> for Var<'t, T, M> {
    type Output = Self;
    #[inline(always)]
    fn div(self, c: T) -> Self {
        self.binary(Binary::Div, Var::constant(c))
    }
}

// Constant on the left: `2.0 * x`, `1.0 - x`, for the plain float types.
macro_rules! float_lhs_ops {
    ($($f:ty),*) => {$(
        impl<'t, M: Recording> Add<Var<'t, $f, M>> for $f {
            type Output = Var<'t, $f, M>;
            #[inline(always)]
            fn add(self, x: Var<'t, $f, M>) -> Var<'t, $f, M> {
                x + self
            }
        }
        impl<'t, M: Recording> Sub<Var<'t, $f, M>> for $f {
            type Output = Var<'t, $f, M>;
            #[inline(always)]
            fn sub(self, x: Var<'t, $f, M>) -> Var<'t, $f, M> {
                x.affine_const(-1.0, self)
            }
        }
        impl<'t, M: Recording> Mul<Var<'t, $f, M>> for $f {
            type Output = Var<'t, $f, M>;
            #[inline(always)]
            fn mul(self, x: Var<'t, $f, M>) -> Var<'t, $f, M> {
                x * self
            }
        }
        impl<'t, M: Recording> Div<Var<'t, $f, M>> for $f {
            type Output = Var<'t, $f, M>;
            #[inline(always)]
            fn div(self, x: Var<'t, $f, M>) -> Var<'t, $f, M> {
                Var::constant(self).binary(Binary::Div, x)
            }
        }
    )*};
}
float_lhs_ops!(f32, f64);

// A plain number compared with a value on the left too: `0.0 < x`.
macro_rules! float_lhs_cmp {
    ($($f:ty),*) => {$(
        impl<M: Recording> PartialEq<Var<'_, $f, M>> for $f {
            #[inline]
            fn eq(&self, x: &Var<'_, $f, M>) -> bool {
                *self == x.value
            }
        }
        impl<M: Recording> PartialOrd<Var<'_, $f, M>> for $f {
            #[inline]
            fn partial_cmp(&self, x: &Var<'_, $f, M>) -> Option<Ordering> {
                self.partial_cmp(&x.value)
            }
        }
    )*};
}
float_lhs_cmp!(f32, f64);

// `2.0 * &x`: the by-value form.
macro_rules! float_lhs_ref_ops {
    ($($f:ty),*) => {$(
        float_lhs_ref_ops!(@ops $f; Add add, Sub sub, Mul mul, Div div);
    )*};
    (@ops $f:ty; $($tr:ident $m:ident),*) => {$(
        impl<'t, M: Recording> $tr<&Var<'t, $f, M>> for $f {
            type Output = Var<'t, $f, M>;
            #[inline(always)]
            fn $m(self, x: &Var<'t, $f, M>) -> Var<'t, $f, M> {
                $tr::$m(self, *x)
            }
        }
    )*};
}
float_lhs_ref_ops!(f32, f64);

// Plain literals on the tapes of dual numbers (`hvp`, `hessian`), so that a
// closure written for `grad` (`2.0 * x[0] + x[1] * 3.0`) compiles for them
// too: the literal is a constant dual number.
macro_rules! dual_literal_ops {
    ($($f:ty),*) => {$(
        impl<'t, M: Recording> Add<$f> for Var<'t, Dual<$f>, M> {
            type Output = Self;
            #[inline(always)]
            fn add(self, c: $f) -> Self {
                self + Dual::constant(c)
            }
        }
        impl<'t, M: Recording> Sub<$f> for Var<'t, Dual<$f>, M> {
            type Output = Self;
            #[inline(always)]
            fn sub(self, c: $f) -> Self {
                self - Dual::constant(c)
            }
        }
        impl<'t, M: Recording> Mul<$f> for Var<'t, Dual<$f>, M> {
            type Output = Self;
            #[inline(always)]
            fn mul(self, c: $f) -> Self {
                self * Dual::constant(c)
            }
        }
        impl<'t, M: Recording> Div<$f> for Var<'t, Dual<$f>, M> {
            type Output = Self;
            #[inline(always)]
            #[track_caller]
            fn div(self, c: $f) -> Self {
                self / Dual::constant(c)
            }
        }
        impl<'t, M: Recording> Add<Var<'t, Dual<$f>, M>> for $f {
            type Output = Var<'t, Dual<$f>, M>;
            #[inline(always)]
            fn add(self, x: Var<'t, Dual<$f>, M>) -> Var<'t, Dual<$f>, M> {
                x + Dual::constant(self)
            }
        }
        impl<'t, M: Recording> Sub<Var<'t, Dual<$f>, M>> for $f {
            type Output = Var<'t, Dual<$f>, M>;
            #[inline(always)]
            fn sub(self, x: Var<'t, Dual<$f>, M>) -> Var<'t, Dual<$f>, M> {
                x.affine_const(-Dual::<$f>::one(), Dual::constant(self))
            }
        }
        impl<'t, M: Recording> Mul<Var<'t, Dual<$f>, M>> for $f {
            type Output = Var<'t, Dual<$f>, M>;
            #[inline(always)]
            fn mul(self, x: Var<'t, Dual<$f>, M>) -> Var<'t, Dual<$f>, M> {
                x * Dual::constant(self)
            }
        }
        impl<'t, M: Recording> Div<Var<'t, Dual<$f>, M>> for $f {
            type Output = Var<'t, Dual<$f>, M>;
            #[inline(always)]
            #[track_caller]
            fn div(self, x: Var<'t, Dual<$f>, M>) -> Var<'t, Dual<$f>, M> {
                Var::constant(Dual::constant(self)).binary(Binary::Div, x)
            }
        }
        impl<'t, M: Recording> AddAssign<$f> for Var<'t, Dual<$f>, M> {
            #[inline(always)]
            fn add_assign(&mut self, c: $f) {
                *self = *self + c;
            }
        }
        impl<'t, M: Recording> SubAssign<$f> for Var<'t, Dual<$f>, M> {
            #[inline(always)]
            fn sub_assign(&mut self, c: $f) {
                *self = *self - c;
            }
        }
        impl<'t, M: Recording> MulAssign<$f> for Var<'t, Dual<$f>, M> {
            #[inline(always)]
            fn mul_assign(&mut self, c: $f) {
                *self = *self * c;
            }
        }
        impl<'t, M: Recording> DivAssign<$f> for Var<'t, Dual<$f>, M> {
            #[inline(always)]
            fn div_assign(&mut self, c: $f) {
                *self = *self / c;
            }
        }
        // Comparisons with a literal, on either side (`x > 0.0`, `0.0 < x`),
        // by the value's real part, as between dual numbers.
        impl<M: Recording> PartialEq<$f> for Var<'_, Dual<$f>, M> {
            #[inline]
            fn eq(&self, c: &$f) -> bool {
                self.value.re == *c
            }
        }
        impl<M: Recording> PartialOrd<$f> for Var<'_, Dual<$f>, M> {
            #[inline]
            fn partial_cmp(&self, c: &$f) -> Option<Ordering> {
                self.value.re.partial_cmp(c)
            }
        }
        impl<M: Recording> PartialEq<Var<'_, Dual<$f>, M>> for $f {
            #[inline]
            fn eq(&self, x: &Var<'_, Dual<$f>, M>) -> bool {
                *self == x.value.re
            }
        }
        impl<M: Recording> PartialOrd<Var<'_, Dual<$f>, M>> for $f {
            #[inline]
            fn partial_cmp(&self, x: &Var<'_, Dual<$f>, M>) -> Option<Ordering> {
                self.partial_cmp(&x.value.re)
            }
        }
        dual_literal_ops!(@refs $f; Add add, Sub sub, Mul mul, Div div);
    )*};
    // The by-reference forms (`x.iter().map(|v| v * 2.0)`, `2.0 * &x`), as
    // on the plain tapes: `Var` is `Copy`, so each is the by-value one.
    (@refs $f:ty; $($tr:ident $m:ident),*) => {$(
        impl<'t, M: Recording> $tr<$f> for &Var<'t, Dual<$f>, M> {
            type Output = Var<'t, Dual<$f>, M>;
            #[inline(always)]
            #[track_caller]
            fn $m(self, c: $f) -> Var<'t, Dual<$f>, M> {
                $tr::$m(*self, c)
            }
        }
        impl<'t, M: Recording> $tr<&Var<'t, Dual<$f>, M>> for $f {
            type Output = Var<'t, Dual<$f>, M>;
            #[inline(always)]
            #[track_caller]
            fn $m(self, x: &Var<'t, Dual<$f>, M>) -> Var<'t, Dual<$f>, M> {
                $tr::$m(self, *x)
            }
        }
    )*};
}
dual_literal_ops!(f32, f64);

impl<'t, T: TapeValue, M: Recording> Neg for Var<'t, T, M> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.linear_const(-self.value, -T::one())
    }
}

/// The sum, `-0` (a constant) for none, as `f64`'s: it starts from the
/// first term, so it records only the additions and keeps the sign of a
/// zero (`-0 + -0` is `-0`, where `0 + -0` would be `+0`).
impl<'t, T: TapeValue, M: Recording> Sum for Var<'t, T, M> {
    #[track_caller]
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.reduce(|a, b| a + b)
            .unwrap_or_else(|| Var::constant(T::from_f64(-0.0)))
    }
}

impl<'a, 't, T: TapeValue, M: Recording> Sum<&'a Var<'t, T, M>> for Var<'t, T, M> {
    #[track_caller]
    fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

/// The product, the constant 1 for none; no statement is recorded for the
/// 1 (the product starts from the first factor).
impl<'t, T: TapeValue, M: Recording> Product for Var<'t, T, M> {
    #[track_caller]
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.reduce(|a, b| a * b)
            .unwrap_or_else(|| Var::constant(T::one()))
    }
}

impl<'a, 't, T: TapeValue, M: Recording> Product<&'a Var<'t, T, M>> for Var<'t, T, M> {
    #[track_caller]
    fn product<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().product()
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
