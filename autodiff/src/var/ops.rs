//! `Var`'s operators: with another `Var`, with a plain number on either
//! side (`x * 2.0`, `2.0 * x`), by reference, the compound assignments,
//! comparisons, `Sum` and `Product`; and a plain `Dual` with a literal.

use super::Var;
use crate::rules::Binary;
use crate::tape::Recording;
use crate::{Dual, Real, TapeValue};
use std::cmp::Ordering;
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

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
