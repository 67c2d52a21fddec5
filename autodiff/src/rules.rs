//! Every elementwise primitive, its value and its derivative rule, side by
//! side: the one place an elementwise op is defined.
//!
//! The scalar tape ([`Var`](crate::Var)), forward-mode [`Dual`](crate::Dual)
//! numbers and the matrix path's elementwise nodes all call these rules, so a
//! rule is written once for every number type and both paths.
//!
//! To add an elementwise op: add a variant here with its value and
//! derivative, a method on [`Real`] if users should call it by name, and a
//! case in the tests (`tests/primitives.rs` checks every variant against
//! finite differences and independent dual numbers).

use crate::Real;

/// The primitive methods of [`Real`] for a number type that has
/// `fn unary(self, Unary) -> Self` and `fn binary(self, Binary, Self) ->
/// Self` ([`Var`](crate::Var) and [`Dual`](crate::Dual)): each method is its
/// rule here, so neither type lists them twice.
macro_rules! real_primitives_via_rules {
    () => {
        #[inline]
        fn powi(self, n: i32) -> Self {
            self.unary($crate::rules::Unary::Powi(n))
        }
        #[inline]
        fn powf(self, e: Self) -> Self {
            self.binary($crate::rules::Binary::Powf, e)
        }
        #[inline]
        fn exp(self) -> Self {
            self.unary($crate::rules::Unary::Exp)
        }
        #[inline]
        fn ln(self) -> Self {
            self.unary($crate::rules::Unary::Ln)
        }
        #[inline]
        fn sqrt(self) -> Self {
            self.unary($crate::rules::Unary::Sqrt)
        }
        #[inline]
        fn sin(self) -> Self {
            self.unary($crate::rules::Unary::Sin)
        }
        #[inline]
        fn cos(self) -> Self {
            self.unary($crate::rules::Unary::Cos)
        }
        #[inline]
        fn tan(self) -> Self {
            self.unary($crate::rules::Unary::Tan)
        }
        #[inline]
        fn tanh(self) -> Self {
            self.unary($crate::rules::Unary::Tanh)
        }
        #[inline]
        fn abs(self) -> Self {
            self.unary($crate::rules::Unary::Abs)
        }
        #[inline]
        fn min(self, o: Self) -> Self {
            self.binary($crate::rules::Binary::Min, o)
        }
        #[inline]
        fn max(self, o: Self) -> Self {
            self.binary($crate::rules::Binary::Max, o)
        }
        #[inline]
        fn sigmoid(self) -> Self {
            self.unary($crate::rules::Unary::Sigmoid)
        }
        #[inline]
        fn softplus(self) -> Self {
            self.unary($crate::rules::Unary::Softplus)
        }
        #[inline]
        #[track_caller]
        fn relu_with(self, at_zero: f64) -> Self {
            $crate::mat::elementwise::check_subgradient(at_zero);
            self.unary($crate::rules::Unary::Relu { at_zero })
        }
    };
}
pub(crate) use real_primitives_via_rules;

/// A primitive of one argument.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Unary {
    /// `-x`
    Neg,
    /// `x^n`
    Powi(i32),
    /// `e^x`
    Exp,
    /// `ln x`
    Ln,
    /// `sqrt x`
    Sqrt,
    /// `sin x`
    Sin,
    /// `cos x`
    Cos,
    /// `tan x`
    Tan,
    /// `tanh x`
    Tanh,
    /// `|x|`
    Abs,
    /// `1 / (1 + e^-x)`, the seed's S.
    Sigmoid,
    /// `ln(1 + e^x)`
    Softplus,
    /// `max(x, 0)` whose derivative at exactly 0 is `at_zero`, in `[0, 1]`.
    Relu {
        /// The subgradient used at 0 (PyTorch and JAX: 0; candle: 1).
        at_zero: f64,
    },
}

impl Unary {
    /// The value `y = op(x)`.
    #[inline(always)]
    pub fn value<T: Real>(self, x: T) -> T {
        match self {
            Unary::Neg => -x,
            Unary::Powi(n) => x.powi(n),
            Unary::Exp => x.exp(),
            Unary::Ln => x.ln(),
            Unary::Sqrt => x.sqrt(),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tan => x.tan(),
            Unary::Tanh => x.tanh(),
            Unary::Abs => x.abs(),
            Unary::Sigmoid => x.sigmoid(),
            Unary::Softplus => x.softplus(),
            Unary::Relu { at_zero } => x.relu_with(at_zero),
        }
    }

    /// The derivative `dy/dx` at `x`, given `y = op(x)` (reused where the
    /// rule is cheaper in terms of the output).
    #[inline(always)]
    pub fn deriv<T: Real>(self, x: T, y: T) -> T {
        match self {
            // d/dx -x = -1
            Unary::Neg => -T::one(),
            // d/dx x^n = n x^(n-1)
            Unary::Powi(0) => T::zero(),
            // (n y / x where n - 1 overflows: n = i32::MIN)
            Unary::Powi(n) => match n.checked_sub(1) {
                Some(m) => T::from_f64(n as f64) * x.powi(m),
                None => T::from_f64(n as f64) * y / x,
            },
            // d/dx e^x = y
            Unary::Exp => y,
            // d/dx ln x = 1 / x
            Unary::Ln => T::one() / x,
            // d/dx sqrt x = 1 / (2 y)
            Unary::Sqrt => T::from_f64(0.5) / y,
            // d/dx sin x = cos x
            Unary::Sin => x.cos(),
            // d/dx cos x = -sin x
            Unary::Cos => -x.sin(),
            // d/dx tan x = 1 + y^2
            Unary::Tan => T::one() + y * y,
            // d/dx tanh x = 1 - y^2
            Unary::Tanh => T::one() - y * y,
            // d/dx |x| = sign x, and 0 at 0
            Unary::Abs => sign(x),
            // d/dx S(x) = y (1 - y)
            Unary::Sigmoid => y * (T::one() - y),
            // d/dx ln(1 + e^x) = S(x)
            Unary::Softplus => x.sigmoid(),
            // d/dx max(x, 0) = [x > 0], and the chosen subgradient at 0
            Unary::Relu { at_zero } => step(x, at_zero),
        }
    }

    /// `(y, dy/dx)`.
    #[inline(always)]
    pub fn eval<T: Real>(self, x: T) -> (T, T) {
        // sin and cos need both: one `sin_cos` (one call of glibc's sincos).
        match self {
            Unary::Sin => return x.sin_cos(),
            Unary::Cos => {
                let (s, c) = x.sin_cos();
                return (c, -s);
            }
            _ => {}
        }
        let y = self.value(x);
        (y, self.deriv(x, y))
    }
}

/// A primitive of two arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binary {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
    /// `a^b`, for `a > 0` (or `a = 0`, `b > 0`)
    Powf,
    /// `min(a, b)`; a tie sends the derivative to `a`, a NaN argument is
    /// the result (`a` if both are) and gets the derivative
    Min,
    /// `max(a, b)`; a tie sends the derivative to `a`, a NaN argument is
    /// the result (`a` if both are) and gets the derivative
    Max,
}

impl Binary {
    /// The value `y = op(a, b)`.
    #[inline(always)]
    pub fn value<T: Real>(self, a: T, b: T) -> T {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::Powf => a.powf(b),
            Binary::Min => a.min(b),
            Binary::Max => a.max(b),
        }
    }

    /// `dy/da` given `y = op(a, b)`.
    #[inline(always)]
    pub fn deriv_a<T: Real>(self, a: T, b: T, y: T) -> T {
        match self {
            Binary::Add | Binary::Sub => T::one(),
            // d/da (a b) = b
            Binary::Mul => b,
            // d/da (a / b) = 1 / b
            Binary::Div => T::one() / b,
            // d/da a^b = b a^(b-1) = b y / a, the latter reusing y, except
            // at a = 0 and where y has lost digits (subnormal, below f32's
            // normal range) or overflowed while the derivative need not.
            // a^0 is the constant 1: derivative 0, also at a = 0 (where
            // b a^(b-1) would be 0 * inf), as PyTorch and JAX have it.
            Binary::Powf => {
                let d = b * y / a;
                if b == T::zero() {
                    T::zero()
                } else if a == T::zero()
                    || !d.is_finite()
                    || y.to_f64().abs() < f32::MIN_POSITIVE as f64
                {
                    b * a.powf(b - T::one())
                } else {
                    d
                }
            }
            Binary::Min | Binary::Max => indicator(self.picks_a(a, b)),
        }
    }

    /// `dy/db` given `y = op(a, b)`.
    #[inline(always)]
    pub fn deriv_b<T: Real>(self, a: T, b: T, y: T) -> T {
        match self {
            Binary::Add => T::one(),
            Binary::Sub => -T::one(),
            // d/db (a b) = a
            Binary::Mul => a,
            // d/db (a / b) = -a / b^2 = -y / b
            Binary::Div => -y / b,
            // d/db a^b = y ln a; 0 at a = 0 (the limit from b > 0)
            Binary::Powf => {
                if a == T::zero() {
                    T::zero()
                } else {
                    y * a.ln()
                }
            }
            Binary::Min | Binary::Max => indicator(!self.picks_a(a, b)),
        }
    }

    /// `(y, dy/da, dy/db)`, with the division `a / b` sharing `1 / b`
    /// between its partials (one division fewer than `deriv_a` and
    /// `deriv_b` called apart; `-y (1/b)` may differ from `-y / b` in the
    /// last bit). Where `1 / b` overflows (`b` zero or subnormal), `dy/db`
    /// is `-y / b`, as [`deriv_b`](Self::deriv_b) gives.
    #[inline(always)]
    pub fn eval<T: Real>(self, a: T, b: T) -> (T, T, T) {
        let y = self.value(a, b);
        match self {
            Binary::Div => {
                let r = T::one() / b;
                let db = if r.is_finite() { -(y * r) } else { -y / b };
                (y, r, db)
            }
            _ => (y, self.deriv_a(a, b, y), self.deriv_b(a, b, y)),
        }
    }

    /// For min and max: whether the result (and so the derivative) is `a`,
    /// by the rule `Real::min` and `Real::max` of `f32` and `f64` choose
    /// their value with: `a` on a tie or when `a` is NaN, `b` when only `b`
    /// is NaN (the NaN argument, so the derivative follows the value).
    #[inline(always)]
    fn picks_a<T: Real>(self, a: T, b: T) -> bool {
        let a_nan = a.partial_cmp(&a).is_none();
        match self {
            Binary::Max => a >= b || a_nan,
            _ => a <= b || a_nan,
        }
    }
}

#[inline(always)]
fn indicator<T: Real>(c: bool) -> T {
    if c {
        T::one()
    } else {
        T::zero()
    }
}

/// sign(x), with 0 at 0.
#[inline(always)]
fn sign<T: Real>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// The Heaviside step [x > 0] with value `at_zero` at 0.
#[inline(always)]
fn step<T: Real>(x: T, at_zero: f64) -> T {
    if x > T::zero() {
        T::one()
    } else if x == T::zero() {
        T::from_f64(at_zero)
    } else {
        T::zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powf_base_derivative_where_the_value_underflows_or_overflows() {
        // 2 a at a = 1e-200: y = 1e-400 underflows to 0, b y / a would be 0.
        let (a, b) = (1e-200_f64, 2.0);
        let y = Binary::Powf.value(a, b);
        assert_eq!(Binary::Powf.deriv_a(a, b, y), 2e-200);
        // A subnormal value: b y / a has lost digits.
        let a = 1e-160_f64;
        let y = Binary::Powf.value(a, 2.0);
        let d = Binary::Powf.deriv_a(a, 2.0, y);
        assert!((d - 2e-160).abs() <= 1e-15 * 2e-160, "{d}");
        // y = 1e450 overflows; the derivative 1.5 a^0.5 = 1.5e150 does not.
        let (a, b) = (1e300_f64, 1.5);
        let y = Binary::Powf.value(a, b);
        assert!(y.is_infinite());
        let d = Binary::Powf.deriv_a(a, b, y);
        assert!((d - 1.5e150).abs() <= 1e-12 * 1.5e150, "{d}");
    }

    #[test]
    fn powi_of_the_most_negative_exponent_has_a_derivative() {
        let n = i32::MIN;
        let y = Unary::Powi(n).value(2.0_f64);
        let d = Unary::Powi(n).deriv(2.0_f64, y);
        assert_eq!(d, 0.0); // -2^31 * 2^(-2^31 - 1) underflows to -0
        assert!(d.is_sign_negative());
    }

    #[test]
    fn relu_derivative_at_zero_is_the_chosen_subgradient() {
        for at_zero in [0.0, 0.25, 1.0] {
            assert_eq!(Unary::Relu { at_zero }.deriv(0.0_f64, 0.0), at_zero);
        }
        assert_eq!(Unary::Relu { at_zero: 0.5 }.deriv(-1e-300_f64, 0.0), 0.0);
        assert_eq!(Unary::Relu { at_zero: 0.5 }.deriv(1e-300_f64, 1e-300), 1.0);
    }

    #[test]
    fn min_max_ties_send_the_derivative_to_the_first_argument() {
        for op in [Binary::Min, Binary::Max] {
            let y = op.value(2.0_f64, 2.0);
            assert_eq!(op.deriv_a(2.0, 2.0, y), 1.0);
            assert_eq!(op.deriv_b(2.0, 2.0, y), 0.0);
        }
        let y = Binary::Min.value(3.0_f64, 2.0);
        assert_eq!(
            (
                Binary::Min.deriv_a(3.0, 2.0, y),
                Binary::Min.deriv_b(3.0, 2.0, y)
            ),
            (0.0, 1.0)
        );
    }

    #[test]
    fn min_max_send_the_derivative_to_the_argument_whose_value_they_return() {
        let nan = f64::NAN;
        for op in [Binary::Min, Binary::Max] {
            for (a, b, to_a) in [(nan, 1.0, true), (1.0, nan, false), (nan, nan, true)] {
                let y = op.value(a, b);
                assert!(y.is_nan(), "{op:?}({a}, {b}) = {y}");
                let (da, db) = (op.deriv_a(a, b, y), op.deriv_b(a, b, y));
                assert_eq!(
                    (da, db),
                    if to_a { (1.0, 0.0) } else { (0.0, 1.0) },
                    "{op:?}({a}, {b})"
                );
            }
        }
    }

    #[test]
    fn powf_of_exponent_zero_has_derivative_zero_at_every_base() {
        for a in [0.0_f64, 2.0, 1e-300] {
            let y = Binary::Powf.value(a, 0.0);
            assert_eq!(y, 1.0);
            assert_eq!(Binary::Powf.deriv_a(a, 0.0, y), 0.0, "at {a}");
        }
    }

    #[test]
    fn powf_at_zero_base_is_finite() {
        let y = Binary::Powf.value(0.0_f64, 2.0);
        assert_eq!(Binary::Powf.deriv_a(0.0, 2.0, y), 0.0);
        assert_eq!(Binary::Powf.deriv_b(0.0, 2.0, y), 0.0);
        assert_eq!(Binary::Powf.deriv_a(0.0, 1.0, 0.0), 1.0);
    }
}
