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
        $crate::rules::real_primitives_via_rules!(@unary
            exp Exp, exp_m1 ExpM1, ln Ln, ln_1p Ln1p, log2 Log2, log10 Log10,
            sqrt Sqrt, cbrt Cbrt, recip Recip, sin Sin, cos Cos, tan Tan,
            asin Asin, acos Acos, atan Atan, sinh Sinh, cosh Cosh, tanh Tanh,
            abs Abs, sigmoid Sigmoid, softplus Softplus, erf Erf, erfc Erfc,
            silu Silu, gelu Gelu
        );
        $crate::rules::real_primitives_via_rules!(@binary
            min Min, max Max, atan2 Atan2, hypot Hypot
        );
        #[inline]
        #[track_caller]
        fn relu_with(self, at_zero: f64) -> Self {
            $crate::mat::elementwise::check_subgradient(at_zero);
            self.unary($crate::rules::Unary::Relu { at_zero })
        }
        #[inline]
        #[track_caller]
        fn leaky_relu(self, slope: f64) -> Self {
            $crate::mat::elementwise::check_slope::<Self>(slope);
            self.unary($crate::rules::Unary::LeakyRelu { slope })
        }
    };
    (@unary $($f:ident $op:ident),*) => {$(
        #[inline]
        fn $f(self) -> Self {
            self.unary($crate::rules::Unary::$op)
        }
    )*};
    (@binary $($f:ident $op:ident),*) => {$(
        #[inline]
        fn $f(self, o: Self) -> Self {
            self.binary($crate::rules::Binary::$op, o)
        }
    )*};
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
    /// `e^x - 1`, accurate near 0; derivative `e^x = y + 1`.
    ExpM1,
    /// `ln x`
    Ln,
    /// `ln(1 + x)` for `x > -1`, accurate near 0; derivative `1 / (1 + x)`.
    Ln1p,
    /// `log2 x` for `x > 0`; derivative `1 / (x ln 2)`.
    Log2,
    /// `log10 x` for `x > 0`; derivative `1 / (x ln 10)`.
    Log10,
    /// `sqrt x`
    Sqrt,
    /// The real cube root, of either sign; derivative `1 / (3 y^2)`, `+inf`
    /// at 0 (as `sqrt`'s `1 / (2 y)` is).
    Cbrt,
    /// `1 / x`; derivative `-1 / x^2 = -y^2`, `-inf` at `+0` and `-0`.
    Recip,
    /// `sin x`
    Sin,
    /// `cos x`
    Cos,
    /// `tan x`
    Tan,
    /// `asin x` for `|x| <= 1`; derivative `1 / sqrt(1 - x^2)`, `+inf` at
    /// `x = +-1`.
    Asin,
    /// `acos x` for `|x| <= 1`; derivative `-1 / sqrt(1 - x^2)`, `-inf` at
    /// `x = +-1`.
    Acos,
    /// `atan x`; derivative `1 / (1 + x^2)`.
    Atan,
    /// `sinh x`; derivative `cosh x`.
    Sinh,
    /// `cosh x`; derivative `sinh x`.
    Cosh,
    /// `tanh x`
    Tanh,
    /// `|x|`
    Abs,
    /// `1 / (1 + e^-x)`, the seed's S.
    Sigmoid,
    /// `ln(1 + e^x)`
    Softplus,
    /// `erf x`; derivative `2/sqrt(pi) e^(-x^2)`.
    Erf,
    /// `erfc x = 1 - erf x`; derivative `-2/sqrt(pi) e^(-x^2)`.
    Erfc,
    /// SiLU `x S(x)`; derivative `S(x) (1 + x (1 - S(x)))`.
    Silu,
    /// GELU `x Phi(x)` (exact, with `erfc`); derivative `Phi(x) + x phi(x)`.
    Gelu,
    /// `x` for `x > 0`, else `slope x`; derivative 1 for `x > 0`, else
    /// `slope` (at 0 too, as PyTorch).
    LeakyRelu {
        /// The slope for `x <= 0` (PyTorch's default: 0.01).
        slope: f64,
    },
    /// `max(x, 0)` whose derivative at exactly 0 is `at_zero`, in `[0, 1]`.
    Relu {
        /// The subgradient used at 0 (PyTorch and JAX: 0; candle: 1).
        at_zero: f64,
    },
    /// `x` limited to `[lo, hi]`, as [`Real::clamp`] with constant bounds
    /// (PyTorch's `torch.clamp(x, lo, hi)`): `lo` below, `hi` above, `x`
    /// (a NaN included) within. Derivative 1 on `[lo, hi]`, the bounds
    /// included (PyTorch 2.15 gives 0 at a bound), 0 outside, where the input passes nothing back
    /// ([`selects`](Unary::selects)); 1 at a NaN, whose value is `x`'s
    /// (PyTorch's mask gives 0 there). The bounds, rounded to the number
    /// type, must satisfy `lo <= hi`, neither NaN: `Mat::clamp`, `Mat::map`
    /// and `Var::unary` refuse others, naming both.
    Clamp {
        /// The lower bound (`-inf` for none).
        lo: f64,
        /// The upper bound (`+inf` for none).
        hi: f64,
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
            Unary::ExpM1 => x.exp_m1(),
            Unary::Ln => x.ln(),
            Unary::Ln1p => x.ln_1p(),
            Unary::Log2 => x.log2(),
            Unary::Log10 => x.log10(),
            Unary::Sqrt => x.sqrt(),
            Unary::Cbrt => x.cbrt(),
            Unary::Recip => x.recip(),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tan => x.tan(),
            Unary::Asin => x.asin(),
            Unary::Acos => x.acos(),
            Unary::Atan => x.atan(),
            Unary::Sinh => x.sinh(),
            Unary::Cosh => x.cosh(),
            Unary::Tanh => x.tanh(),
            Unary::Abs => x.abs(),
            Unary::Sigmoid => x.sigmoid(),
            Unary::Softplus => x.softplus(),
            Unary::Erf => x.erf(),
            Unary::Erfc => x.erfc(),
            Unary::Silu => x.silu(),
            Unary::Gelu => x.gelu(),
            Unary::LeakyRelu { slope } => x.leaky_relu(slope),
            Unary::Relu { at_zero } => x.relu_with(at_zero),
            Unary::Clamp { lo, hi } => clamp(x, T::from_f64(lo), T::from_f64(hi)),
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
            // d/dx (e^x - 1) = e^x = y + 1, reusing y
            Unary::ExpM1 => y + T::one(),
            // d/dx ln x = 1 / x
            Unary::Ln => T::one() / x,
            // d/dx ln(1 + x) = 1 / (1 + x)
            Unary::Ln1p => T::one() / (T::one() + x),
            // d/dx log2 x = 1 / (x ln 2) = log2(e) / x: one division
            Unary::Log2 => T::from_f64(std::f64::consts::LOG2_E) / x,
            // d/dx log10 x = 1 / (x ln 10) = log10(e) / x
            Unary::Log10 => T::from_f64(std::f64::consts::LOG10_E) / x,
            // d/dx sqrt x = 1 / (2 y)
            Unary::Sqrt => T::from_f64(0.5) / y,
            // d/dx cbrt x = 1 / (3 x^(2/3)) = 1 / (3 y^2), reusing y: +inf
            // at 0 with no special case (as sqrt's), and no loss of digits
            // at a subnormal x (where y / (3 x) would divide by 3 x rounded)
            Unary::Cbrt => T::one() / (T::from_f64(3.0) * y * y),
            // d/dx 1/x = -1/x^2 = -y^2, reusing y
            Unary::Recip => -(y * y),
            // d/dx sin x = cos x
            Unary::Sin => x.cos(),
            // d/dx cos x = -sin x
            Unary::Cos => -x.sin(),
            // d/dx tan x = 1 + y^2
            Unary::Tan => T::one() + y * y,
            // d/dx asin x = 1 / sqrt(1 - x^2), with 1 - x^2 as (1 - x)(1 + x):
            // no cancellation near |x| = 1
            Unary::Asin => T::one() / one_minus_square(x).sqrt(),
            // d/dx acos x = -1 / sqrt(1 - x^2)
            Unary::Acos => -T::one() / one_minus_square(x).sqrt(),
            // d/dx atan x = 1 / (1 + x^2) (0 where x^2 overflows: the limit)
            Unary::Atan => T::one() / (T::one() + x * x),
            // d/dx sinh x = cosh x (sqrt(1 + y^2) would overflow from x = 355)
            Unary::Sinh => x.cosh(),
            // d/dx cosh x = sinh x (not from y: its sign is lost)
            Unary::Cosh => x.sinh(),
            // d/dx tanh x = 1 - y^2
            Unary::Tanh => T::one() - y * y,
            // d/dx |x| = sign x, and 0 at 0
            Unary::Abs => sign(x),
            // d/dx S(x) = y (1 - y): exactly 0 past x = 37 or so, where y
            // rounds to 1 (the true value is below 1e-16), as PyTorch's
            // and JAX's rule
            Unary::Sigmoid => y * (T::one() - y),
            // d/dx ln(1 + e^x) = S(x)
            Unary::Softplus => x.sigmoid(),
            // d/dx erf x = 2/sqrt(pi) e^(-x^2)
            Unary::Erf => T::from_f64(std::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp(),
            // d/dx erfc x = -2/sqrt(pi) e^(-x^2)
            Unary::Erfc => T::from_f64(-std::f64::consts::FRAC_2_SQRT_PI) * (-(x * x)).exp(),
            // d/dx x S(x) = S + x S (1 - S) = S + y (1 - S), reusing y
            Unary::Silu => {
                let s = x.sigmoid();
                s + y * (T::one() - s)
            }
            // d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi);
            // Phi from erfc, without cancellation for x << 0
            Unary::Gelu => {
                let phi_cdf =
                    T::from_f64(0.5) * (-x * T::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erfc();
                let density = T::from_f64(
                    0.5 * std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2,
                ) * (T::from_f64(-0.5) * x * x).exp();
                phi_cdf + x * density
            }
            // d/dx leaky(x) = 1 for x > 0, else slope (at 0 and NaN too, as
            // PyTorch's rule)
            Unary::LeakyRelu { slope } => {
                if x > T::zero() {
                    T::one()
                } else {
                    T::from_f64(slope)
                }
            }
            // d/dx max(x, 0) = [x > 0], and the chosen subgradient at 0
            Unary::Relu { at_zero } => step(x, at_zero),
            // d/dx clamp(x, lo, hi) = [lo <= x <= hi], and 1 at a NaN (the
            // value chosen is x's)
            Unary::Clamp { lo, hi } => indicator(!(x < T::from_f64(lo) || x > T::from_f64(hi))),
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

    /// Whether the op chooses its value rather than computing it (ReLU:
    /// `x` or 0), so that a zero derivative means the input was not chosen
    /// and passes no adjoint back, not even an infinite one (PyTorch's and
    /// JAX's `where`).
    #[inline(always)]
    pub fn selects(self) -> bool {
        matches!(self, Unary::Relu { .. } | Unary::Clamp { .. })
    }

    /// Panics, naming the value, on an argument out of its range: a ReLU
    /// subgradient outside `[0, 1]`, a leaky ReLU slope not finite in `T`,
    /// clamp bounds out of order or NaN in `T`.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn check<T: Real>(self) {
        match self {
            Unary::Relu { at_zero } => crate::mat::elementwise::check_subgradient(at_zero),
            Unary::LeakyRelu { slope } => crate::mat::elementwise::check_slope::<T>(slope),
            Unary::Clamp { lo, hi } => {
                if let Err(e) = check_bounds::<T>("clamp", lo, hi) {
                    panic!("{e}")
                }
            }
            _ => {}
        }
    }
}

/// `x` limited to `[lo, hi]`: `lo` below it, `hi` above it, `x` (a NaN
/// included) within, as `f64::clamp` (the value of [`Real::clamp`] and of
/// [`Unary::Clamp`]).
#[inline(always)]
pub(crate) fn clamp<T: PartialOrd>(x: T, lo: T, hi: T) -> T {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// [`Error::InvalidBounds`](crate::Error::InvalidBounds) unless
/// `lo <= hi` once rounded to `T` (so neither is NaN).
pub(crate) fn check_bounds<T: Real>(what: &'static str, lo: f64, hi: f64) -> crate::Result<()> {
    if T::from_f64(lo) <= T::from_f64(hi) {
        Ok(())
    } else {
        Err(crate::Error::InvalidBounds { what, lo, hi })
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
    /// `atan2(a, b)`, the angle of the point `(b, a)` in `[-pi, pi]` (`a` is
    /// the y-coordinate, as in `f64::atan2`); partials
    /// `(b, -a) / (a^2 + b^2)`, NaN at the origin, where it has no limit
    Atan2,
    /// `hypot(a, b) = sqrt(a^2 + b^2)`; partials `(a, b) / y`, both 0 at the
    /// origin (PyTorch's convention: a subgradient of the cone there)
    Hypot,
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
            Binary::Atan2 => a.atan2(b),
            Binary::Hypot => a.hypot(b),
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
            // At a = 0, b = 0: a^0 is the constant 1, derivative 0 (where
            // b a^(b-1) would be 0 * inf), as PyTorch has it (JAX 0.10
            // gives NaN); so at a NaN a, where a^0 is 1 too (b y / a would
            // be NaN).
            // Elsewhere b = 0 goes through b y / a = 0, whose tangent (on
            // the dual-number tape of hvp) is b' y / a: a constant 0 here
            // would lose it.
            Binary::Powf => {
                let d = b * y / a;
                let a_nan = a.partial_cmp(&a).is_none();
                if b == T::zero() && (a == T::zero() || a_nan) {
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
            // d/da atan2(a, b) = b / (a^2 + b^2)
            Binary::Atan2 => atan2_partials(a, b).0,
            // d/da hypot(a, b) = a / y, reusing y
            Binary::Hypot => hypot_partial(a, a, b, y),
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
            // d/db atan2(a, b) = -a / (a^2 + b^2)
            Binary::Atan2 => atan2_partials(a, b).1,
            // d/db hypot(a, b) = b / y
            Binary::Hypot => hypot_partial(b, a, b, y),
        }
    }

    /// `(y, dy/da, dy/db)`, with the division `a / b` sharing `1 / b`
    /// between its partials (one division fewer than `deriv_a` and
    /// `deriv_b` called apart; `-y (1/b)` may differ from `-y / b` in the
    /// last bit). Where `1 / b` overflows (`b` zero or subnormal), `dy/db`
    /// is `-y / b`, as [`deriv_b`](Self::deriv_b) gives. `atan2`'s partials
    /// share their divisions too (bitwise those of `deriv_a`, `deriv_b`).
    #[inline(always)]
    pub fn eval<T: Real>(self, a: T, b: T) -> (T, T, T) {
        let y = self.value(a, b);
        match self {
            Binary::Div => {
                let r = T::one() / b;
                let db = if r.is_finite() { -(y * r) } else { -y / b };
                (y, r, db)
            }
            Binary::Atan2 => {
                let (da, db) = atan2_partials(a, b);
                (y, da, db)
            }
            _ => (y, self.deriv_a(a, b, y), self.deriv_b(a, b, y)),
        }
    }

    /// Whether the op chooses its value rather than computing it (min and
    /// max: one of the arguments), so that a zero partial means that
    /// argument was not chosen and passes no adjoint back, not even an
    /// infinite one (PyTorch's and JAX's `where`).
    #[inline(always)]
    pub fn selects(self) -> bool {
        matches!(self, Binary::Min | Binary::Max)
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

/// `g d`, an adjoint (or a tangent) `g` through the derivative `d` of an
/// op, except that the zero derivative of an op that [`selects`]
/// ([`Binary::selects`]) passes nothing, whatever `g` is: the input was not
/// chosen, as in PyTorch's `where` and JAX's `select`. So `sqrt(relu(x))`
/// has derivative 0 at `x < 0` (the adjoint at `relu`'s output is
/// `sqrt'(0) = inf`, and `0 * inf` would be NaN), as `sqrt(clamp(x, 0))`
/// on pairwise squared distances needs.
///
/// [`selects`]: Unary::selects
#[inline(always)]
pub(crate) fn through<T: Real>(selects: bool, d: T, g: T) -> T {
    if selects && d.is_zero() {
        T::zero()
    } else {
        g * d
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

/// `1 - x^2` as `(1 - x)(1 + x)`: exact to a rounding or two also where
/// `x^2` is close to 1 and `1 - x^2` would cancel.
#[inline(always)]
fn one_minus_square<T: Real>(x: T) -> T {
    (T::one() - x) * (T::one() + x)
}

/// The partials of `atan2(a, b)`, `(b, -a) / (a^2 + b^2)`, through the
/// ratio `t` of the smaller argument to the larger, so that no square
/// overflows or underflows: for `|b| >= |a|`, `t = a / b` and
/// `1 / (a^2 + b^2) = 1 / (b^2 (1 + t^2))`, so `dy/da = 1 / (b (1 + t^2))`
/// and `dy/db = -t dy/da`; symmetrically for `|a| > |b|`. (In `f32` the
/// plain form's squares lose digits below `|a|, |b| ~ 1e-19`, are 0 below
/// `1e-23`, and overflow above `2e19`; in `f64`, around `1e-154` and
/// `1e154`.)
/// NaN at the origin (`t = 0 / 0`), where `atan2` has no limit.
#[inline(always)]
fn atan2_partials<T: Real>(a: T, b: T) -> (T, T) {
    if b.abs() >= a.abs() {
        let t = a / b;
        let s = T::one() / (b * (T::one() + t * t));
        (s, -(t * s))
    } else {
        let t = b / a;
        let s = T::one() / (a * (T::one() + t * t));
        (t * s, -s)
    }
}

/// `p / y` for `y = hypot(a, b)` and `p` one of `a`, `b`: the partial of
/// `hypot` with respect to `p`, reusing `y`. 0 at the origin (the
/// convention of PyTorch's norms; `0 / 0` otherwise, as `torch.hypot`'s
/// backward computes it). Where `y` overflowed although `a` and
/// `b` are finite, or is below `f32`'s normal range (a subnormal `y` has
/// lost digits), from `a` and `b` divided by the larger magnitude, which
/// leaves the ratio unchanged.
#[inline(always)]
fn hypot_partial<T: Real>(p: T, a: T, b: T, y: T) -> T {
    if y == T::zero() {
        T::zero()
    } else if y.is_finite() && y.to_f64() >= f32::MIN_POSITIVE as f64 {
        p / y
    } else {
        let m = a.abs().max(b.abs());
        if m.is_finite() {
            (p / m) / (a / m).hypot(b / m)
        } else {
            p / y
        }
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
        // A NaN or infinite base included: `powf` gives 1 there too (as
        // `powi(0)` does, with derivative 0; PyTorch alike).
        for a in [
            0.0_f64,
            2.0,
            1e-300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let y = Binary::Powf.value(a, 0.0);
            assert_eq!(y, 1.0);
            assert_eq!(Binary::Powf.deriv_a(a, 0.0, y), 0.0, "at {a}");
        }
    }

    #[test]
    fn cbrt_derivative_at_zero_is_plus_infinity_like_sqrt() {
        for x in [0.0_f64, -0.0] {
            let (y, d) = Unary::Cbrt.eval(x);
            assert_eq!(y, x);
            assert_eq!(d, f64::INFINITY, "at {x}");
        }
        assert_eq!(Unary::Sqrt.eval(0.0_f64).1, f64::INFINITY);
        assert_eq!(Unary::Cbrt.eval(0.0_f32).1, f32::INFINITY);
        // Either sign, and subnormal arguments: 1 / (3 x^(2/3)).
        assert_eq!(Unary::Cbrt.eval(8.0_f64), (2.0, 1.0 / 12.0));
        assert_eq!(Unary::Cbrt.eval(-8.0_f64), (-2.0, 1.0 / 12.0));
        let x = 1e-310_f64;
        let want = 1.0 / (3.0 * (1e-310_f64 * 2f64.powi(300)).cbrt().powi(2)) * 2f64.powi(200);
        let d = Unary::Cbrt.eval(x).1;
        assert!((d - want).abs() <= 1e-15 * want, "{d} vs {want}");
    }

    #[test]
    fn recip_derivative_is_minus_infinity_at_both_zeros_and_zero_at_infinity() {
        for x in [0.0_f64, -0.0] {
            let (y, d) = Unary::Recip.eval(x);
            assert_eq!(y, 1.0 / x);
            assert_eq!(d, f64::NEG_INFINITY, "at {x}");
        }
        for x in [f64::INFINITY, f64::NEG_INFINITY] {
            let (y, d) = Unary::Recip.eval(x);
            assert_eq!((y, d), (0.0, 0.0), "at {x}");
        }
        assert_eq!(Unary::Recip.eval(-4.0_f64), (-0.25, -0.0625));
        assert_eq!(Unary::Recip.eval(0.0_f32).1, f32::NEG_INFINITY);
    }

    #[test]
    fn asin_and_acos_derivatives_are_infinite_at_the_ends_of_the_domain() {
        for x in [-1.0_f64, 1.0] {
            assert_eq!(Unary::Asin.eval(x).1, f64::INFINITY, "at {x}");
            assert_eq!(Unary::Acos.eval(x).1, f64::NEG_INFINITY, "at {x}");
        }
        // 1 - x^2 = (1 - x)(1 + x) keeps its digits next to 1: at
        // x = 1 - 2^-30, 1 - x^2 = 2^-29 - 2^-60.
        let x = 1.0 - 2f64.powi(-30);
        let want = 1.0 / (2f64.powi(-29) - 2f64.powi(-60)).sqrt();
        let d = Unary::Asin.eval(x).1;
        assert!((d - want).abs() <= 2e-16 * want, "{d} vs {want}");
        assert!(Unary::Asin.eval(1.5_f64).1.is_nan());
    }

    #[test]
    fn hypot_partials_at_the_origin_are_zero() {
        for (a, b) in [(0.0_f64, 0.0), (-0.0, 0.0), (0.0, -0.0), (-0.0, -0.0)] {
            let (y, da, db) = Binary::Hypot.eval(a, b);
            assert_eq!((y, da, db), (0.0, 0.0, 0.0), "at ({a}, {b})");
        }
        let (y, da, db) = Binary::Hypot.eval(0.0_f32, 0.0);
        assert_eq!((y, da, db), (0.0, 0.0, 0.0));
        // On an axis, the partials are the direction: (sign a, 0).
        assert_eq!(Binary::Hypot.eval(-2.0_f64, 0.0), (2.0, -1.0, 0.0));
        assert_eq!(Binary::Hypot.eval(3.0_f64, -4.0), (5.0, 0.6, -0.8));
    }

    #[test]
    fn hypot_partials_where_the_value_overflows_or_is_subnormal() {
        // y = sqrt(2) 1.5e308 overflows; the partials are 1/sqrt(2).
        let (y, da, db) = Binary::Hypot.eval(1.5e308_f64, 1.5e308);
        assert!(y.is_infinite());
        let r = std::f64::consts::FRAC_1_SQRT_2;
        assert!(
            (da - r).abs() <= 1e-15 && (db - r).abs() <= 1e-15,
            "{da} {db}"
        );
        // Subnormal y: a / y has lost digits; (3, 4) 1e-320 gives (0.6, 0.8)
        // up to the rounding of the subnormal arguments themselves.
        let (a, b) = (3e-320_f64, 4e-320);
        let (_, da, db) = Binary::Hypot.eval(a, b);
        let s = 2f64.powi(1000);
        let h = (a * s).hypot(b * s);
        assert!((da - a * s / h).abs() <= 1e-15 && (db - b * s / h).abs() <= 1e-15);
        let (_, da, _) = Binary::Hypot.eval(3e-40_f32, 4e-40);
        assert!((da - 0.6).abs() < 1e-4, "{da}");
    }

    #[test]
    fn atan2_partials_on_the_axes_and_nan_at_the_origin() {
        // (a, b) = (y, x): partials (x, -y) / (x^2 + y^2).
        for (a, b, da, db) in [
            (0.0_f64, 2.0, 0.5, 0.0),
            (2.0, 0.0, 0.0, -0.5),
            (0.0, -2.0, -0.5, 0.0),
            (-2.0, 0.0, 0.0, 0.5),
        ] {
            let (_, ga, gb) = Binary::Atan2.eval(a, b);
            assert_eq!((ga, gb), (da, db), "at ({a}, {b})");
            assert_eq!(Binary::Atan2.deriv_a(a, b, 0.0), da);
            assert_eq!(Binary::Atan2.deriv_b(a, b, 0.0), db);
        }
        // Both sides of the branch cut (the negative x-axis): the value
        // jumps by 2 pi, the partials agree.
        let (above, ga, gb) = Binary::Atan2.eval(0.0_f64, -2.0);
        let (below, ha, hb) = Binary::Atan2.eval(-0.0_f64, -2.0);
        assert_eq!(above - below, 2.0 * std::f64::consts::PI);
        assert_eq!((ga, gb), (ha, hb));
        for (a, b) in [(0.0_f64, 0.0), (-0.0, 0.0), (0.0, -0.0)] {
            let (_, ga, gb) = Binary::Atan2.eval(a, b);
            assert!(ga.is_nan() && gb.is_nan(), "at ({a}, {b}): {ga} {gb}");
        }
    }

    #[test]
    fn atan2_partials_keep_their_digits_at_extreme_magnitudes() {
        // (b, -a) / (a^2 + b^2) at a = b = s is (1, -1) / (2 s): the squares
        // would overflow (s = 1e300) or underflow (s = 1e-300).
        for s in [1e300_f64, 1e-300] {
            let (_, da, db) = Binary::Atan2.eval(s, s);
            let want = 0.5 / s;
            assert!(
                (da - want).abs() <= 1e-15 * want && db == -da,
                "at {s}: {da} {db}"
            );
        }
        let (_, da, db) = Binary::Atan2.eval(3e-25_f32, -4e-25);
        // (-4, -3) / 25 * 1e25
        assert!(
            (da / -1.6e24 - 1.0).abs() < 1e-6 && (db / -1.2e24 - 1.0).abs() < 1e-6,
            "{da} {db}"
        );
    }

    #[test]
    fn powf_at_zero_base_is_finite() {
        let y = Binary::Powf.value(0.0_f64, 2.0);
        assert_eq!(Binary::Powf.deriv_a(0.0, 2.0, y), 0.0);
        assert_eq!(Binary::Powf.deriv_b(0.0, 2.0, y), 0.0);
        assert_eq!(Binary::Powf.deriv_a(0.0, 1.0, 0.0), 1.0);
    }
}
