//! Forward-mode dual numbers `a + b e` with `e^2 = 0`.
//!
//! Running a function on `Dual` gives its value and its directional
//! derivative in one pass. Recording on a `Tape<Dual<f64>>` (forward over
//! reverse) gives Hessian-vector products with no second engine: see
//! [`hvp`](crate::hvp).

use crate::rules::{Binary, Unary};
use crate::Real;
use std::cmp::Ordering;
use std::fmt;
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A dual number: a value `re` and a tangent `eps` (the derivative along the
/// seeded direction).
///
/// Comparisons compare values only.
///
/// ```
/// use autodiff::{Dual, Real};
/// let x = Dual::new(2.0_f64, 1.0); // seed dx = 1
/// let y = x * x.sin();
/// assert_eq!(y.re, 2.0 * 2.0_f64.sin());
/// assert!((y.eps - (2.0_f64.sin() + 2.0 * 2.0_f64.cos())).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Dual<T> {
    /// The value.
    pub re: T,
    /// The tangent.
    pub eps: T,
}

impl<T: Real> Dual<T> {
    /// `re + eps e`.
    #[inline]
    pub fn new(re: T, eps: T) -> Self {
        Dual { re, eps }
    }

    /// A constant: zero tangent.
    #[inline]
    pub fn constant(re: T) -> Self {
        Dual { re, eps: T::zero() }
    }

    #[inline(always)]
    #[track_caller]
    fn unary(self, op: Unary) -> Self {
        op.check::<T>();
        let (y, d) = op.eval(self.re);
        Dual {
            re: y,
            eps: tangent(op.selects(), d, self.eps),
        }
    }

    #[inline(always)]
    fn binary(self, op: Binary, o: Self) -> Self {
        let y = op.value(self.re, o.re);
        let da = op.deriv_a(self.re, o.re, y);
        let db = op.deriv_b(self.re, o.re, y);
        Dual {
            re: y,
            eps: tangent(op.selects(), da, self.eps) + tangent(op.selects(), db, o.eps),
        }
    }
}

/// `d * eps`, and 0 for a zero tangent (a constant): an infinite or NaN
/// partial with respect to a constant contributes nothing, as on the tape;
/// and 0 for an input a selecting op did not choose (`rules::through`).
#[inline(always)]
fn tangent<T: Real>(selects: bool, d: T, eps: T) -> T {
    if eps.is_zero() {
        T::zero()
    } else {
        crate::rules::through(selects, d, eps)
    }
}

impl<T: Real> PartialEq for Dual<T> {
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        self.re == o.re
    }
}

impl<T: Real> PartialOrd for Dual<T> {
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        self.re.partial_cmp(&o.re)
    }
}

impl<T: Real> Add for Dual<T> {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        Dual {
            re: self.re + o.re,
            eps: self.eps + o.eps,
        }
    }
}

impl<T: Real> Sub for Dual<T> {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        Dual {
            re: self.re - o.re,
            eps: self.eps - o.eps,
        }
    }
}

impl<T: Real> Mul for Dual<T> {
    type Output = Self;
    /// Through the rule, as every other operation: a factor of zero tangent
    /// (a constant) contributes nothing, so `x * 2` at an infinite `x` has
    /// tangent `2 eps`, not `2 eps + inf * 0 = NaN` (the tape's partial).
    #[inline]
    fn mul(self, o: Self) -> Self {
        self.binary(Binary::Mul, o)
    }
}

impl<T: Real> Div for Dual<T> {
    type Output = Self;
    #[inline]
    fn div(self, o: Self) -> Self {
        self.binary(Binary::Div, o)
    }
}

impl<T: Real> Neg for Dual<T> {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Dual {
            re: -self.re,
            eps: -self.eps,
        }
    }
}

macro_rules! assign_ops {
    ($($tr:ident $m:ident $op:tt),*) => {$(
        impl<T: Real> $tr for Dual<T> {
            #[inline]
            fn $m(&mut self, o: Self) {
                *self = *self $op o;
            }
        }
    )*};
}
assign_ops!(AddAssign add_assign +, SubAssign sub_assign -, MulAssign mul_assign *, DivAssign div_assign /);

// The by-reference forms, as `f64` has them: `Dual` is `Copy`, so each is
// the by-value operation.
macro_rules! ref_ops {
    ($($tr:ident $m:ident),*) => {$(
        impl<T: Real> $tr<&Dual<T>> for Dual<T> {
            type Output = Self;
            #[inline]
            fn $m(self, o: &Self) -> Self {
                $tr::$m(self, *o)
            }
        }
        impl<T: Real> $tr<Dual<T>> for &Dual<T> {
            type Output = Dual<T>;
            #[inline]
            fn $m(self, o: Dual<T>) -> Dual<T> {
                $tr::$m(*self, o)
            }
        }
        impl<T: Real> $tr<&Dual<T>> for &Dual<T> {
            type Output = Dual<T>;
            #[inline]
            fn $m(self, o: &Dual<T>) -> Dual<T> {
                $tr::$m(*self, *o)
            }
        }
    )*};
}
ref_ops!(Add add, Sub sub, Mul mul, Div div);

impl<T: Real> Neg for &Dual<T> {
    type Output = Dual<T>;
    #[inline]
    fn neg(self) -> Dual<T> {
        -*self
    }
}

// Plain literals on either side (`2.0 * x`, `x + 1.0`, `x *= 0.5`), for
// dual numbers of the float types: the literal is a constant.
macro_rules! literal_ops {
    ($($f:ty),*) => {$(
        literal_ops!(@ops $f; Add add AddAssign add_assign, Sub sub SubAssign sub_assign,
                     Mul mul MulAssign mul_assign, Div div DivAssign div_assign);
    )*};
    (@ops $f:ty; $($tr:ident $m:ident $atr:ident $am:ident),*) => {$(
        impl $tr<$f> for Dual<$f> {
            type Output = Self;
            #[inline]
            fn $m(self, c: $f) -> Self {
                $tr::$m(self, Dual::constant(c))
            }
        }
        impl $tr<Dual<$f>> for $f {
            type Output = Dual<$f>;
            #[inline]
            fn $m(self, x: Dual<$f>) -> Dual<$f> {
                $tr::$m(Dual::constant(self), x)
            }
        }
        impl $atr<$f> for Dual<$f> {
            #[inline]
            fn $am(&mut self, c: $f) {
                *self = $tr::$m(*self, c);
            }
        }
    )*};
}
literal_ops!(f32, f64);

// Comparisons with a plain number on either side (`x > 0.0`, `0.0 < x`), by
// the value, as between dual numbers.
macro_rules! literal_cmp {
    ($($f:ty),*) => {$(
        impl PartialEq<$f> for Dual<$f> {
            #[inline]
            fn eq(&self, c: &$f) -> bool {
                self.re == *c
            }
        }
        impl PartialOrd<$f> for Dual<$f> {
            #[inline]
            fn partial_cmp(&self, c: &$f) -> Option<Ordering> {
                self.re.partial_cmp(c)
            }
        }
        impl PartialEq<Dual<$f>> for $f {
            #[inline]
            fn eq(&self, x: &Dual<$f>) -> bool {
                *self == x.re
            }
        }
        impl PartialOrd<Dual<$f>> for $f {
            #[inline]
            fn partial_cmp(&self, x: &Dual<$f>) -> Option<Ordering> {
                self.partial_cmp(&x.re)
            }
        }
    )*};
}
literal_cmp!(f32, f64);

/// A constant ([`Dual::constant`]).
impl<T: Real> From<T> for Dual<T> {
    #[inline]
    fn from(re: T) -> Self {
        Dual::constant(re)
    }
}

/// The sum, `-0` (a constant) for none, as `f64`'s: it starts from the
/// first term, which keeps the sign of a zero (`0 + -0` would be `+0`).
impl<T: Real> Sum for Dual<T> {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.reduce(|a, b| a + b)
            .unwrap_or_else(|| Self::constant(T::from_f64(-0.0)))
    }
}

impl<'a, T: Real> Sum<&'a Dual<T>> for Dual<T> {
    fn sum<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

/// The product, `1` (a constant) for none.
impl<T: Real> Product for Dual<T> {
    fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.reduce(|a, b| a * b)
            .unwrap_or_else(|| Self::constant(T::one()))
    }
}

impl<'a, T: Real> Product<&'a Dual<T>> for Dual<T> {
    fn product<I: Iterator<Item = &'a Self>>(iter: I) -> Self {
        iter.copied().product()
    }
}

/// `re + eps ε`, each part formatted with the formatter's options
/// (`{:.3}` gives `1.000 + 0.500ε`).
impl<T: Real> fmt::Display for Dual<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.re, f)?;
        // (-0 too: `1 - 0ε`, not `1 + -0ε`.)
        let negative =
            self.eps < T::zero() || (self.eps == T::zero() && T::one() / self.eps < T::zero());
        if negative {
            f.write_str(" - ")?;
            fmt::Display::fmt(&-self.eps, f)?;
        } else {
            f.write_str(" + ")?;
            fmt::Display::fmt(&self.eps, f)?;
        }
        f.write_str("ε")
    }
}

impl<T: Real> Real for Dual<T> {
    #[inline]
    fn from_f64(c: f64) -> Self {
        Self::constant(T::from_f64(c))
    }
    /// The value's part from `T`'s own rule (so nested numbers keep theirs),
    /// the tangent by the chain rule `sum_i dy/dx_i eps(x_i)`.
    fn with_partials(y: Self, terms: &[(Self, Self)]) -> Self {
        let re: smallvec::SmallVec<[(T, T); 8]> = terms.iter().map(|(x, p)| (x.re, p.re)).collect();
        // As the built-in rules: an input of zero tangent contributes
        // nothing, even through an infinite partial.
        let mut eps = T::zero();
        for (x, p) in terms {
            eps += tangent(false, p.re, x.eps);
        }
        Dual {
            re: T::with_partials(y.re, &re),
            eps,
        }
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self.re.to_f64()
    }
    #[inline]
    fn is_zero(self) -> bool {
        self.re.is_zero() && self.eps.is_zero()
    }
    crate::rules::real_primitives_via_rules!();
}
