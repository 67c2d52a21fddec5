//! The number traits user code is written against.
//!
//! [`Real`] is implemented by `f32`, `f64`, [`Dual`](crate::Dual) and
//! [`Var`](crate::Var), so a function written once as
//! `fn f<T: Real>(x: &[T]) -> T` runs fast on plain floats and is
//! differentiated on the tape. [`Float`] adds what the matrix path needs and
//! is implemented only by `f32` and `f64`. [`TapeValue`] marks the types a
//! tape records (`f32`, `f64`, [`Dual`](crate::Dual)).

use std::fmt::{Debug, Display};
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A real number: the bound of user functions that the tape differentiates.
///
/// Literals enter through [`Real::from_f64`] (`T::from_f64(2.0) * x`); with a
/// concrete `Var<f64>` or `f64`, `2.0 * x` and `x + 1.0` work directly.
/// Comparisons compare values (primal values for `Var` and `Dual`), so user
/// code may branch on them: `x > 0.0` on a `Var`, `x > T::zero()` in
/// generic code (on a `Var`, a bare `Real::zero()` is ambiguous: it may be
/// a `Var` or a plain number, and both compare). Sums and products of values or of references
/// (`x.iter().sum()`, `x.iter().product()`) work on every `Real`, and
/// `Display` prints the value (a `Dual` prints `re + eps ε`).
///
/// ```
/// use autodiff::Real;
/// fn rosenbrock<T: Real>(x: &[T]) -> T {
///     let mut s = T::zero();
///     for i in 0..x.len() - 1 {
///         let a = T::one() - x[i];
///         let b = x[i + 1] - x[i] * x[i];
///         s += a * a + T::from_f64(100.0) * b * b;
///     }
///     s
/// }
/// assert_eq!(rosenbrock(&[1.0_f64, 1.0, 1.0]), 0.0);
/// let g = autodiff::grad(|x| rosenbrock(x), &[1.0, 1.0, 1.0]).unwrap();
/// assert_eq!(g, vec![0.0, 0.0, 0.0]);
/// ```
///
/// Slices sum and multiply through references, and values print:
///
/// ```
/// use autodiff::{Real, Tape};
/// fn mean<T: Real>(x: &[T]) -> T {
///     x.iter().sum::<T>() / T::from_f64(x.len() as f64)
/// }
/// assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
/// let tape = Tape::new();
/// let x = tape.vars(&[1.0, 2.0, 6.0]);
/// let m = mean(&x);
/// assert_eq!(format!("{m} {:.2}", x.iter().product::<autodiff::Var>()), "3 12.00");
/// assert_eq!(tape.backward(m)[x[0]], 1.0 / 3.0);
/// ```
pub trait Real:
    Copy
    + Debug
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Display
    + Sum
    + for<'a> Sum<&'a Self>
    + Product
    + for<'a> Product<&'a Self>
{
    /// The constant `c` (rounded to the type's precision).
    fn from_f64(c: f64) -> Self;
    /// The (primal) value as `f64`.
    fn to_f64(self) -> f64;
    /// `0`.
    #[inline]
    fn zero() -> Self {
        Self::from_f64(0.0)
    }
    /// `1`.
    #[inline]
    fn one() -> Self {
        Self::from_f64(1.0)
    }
    /// `self^n` for an integer `n`.
    fn powi(self, n: i32) -> Self;
    /// `self^e`; defined for `self > 0` (and `self = 0` with `e >= 0`;
    /// `x^0` is 1 with derivative 0 everywhere).
    fn powf(self, e: Self) -> Self;
    /// `e^self`.
    fn exp(self) -> Self;
    /// `e^self - 1`, accurate also where `e^self` rounds to 1.
    fn exp_m1(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// `ln(1 + self)`, accurate also where `1 + self` rounds to 1; defined
    /// for `self > -1`.
    fn ln_1p(self) -> Self;
    /// Base-2 logarithm; defined for `self > 0`.
    fn log2(self) -> Self;
    /// Base-10 logarithm; defined for `self > 0`.
    fn log10(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Cube root, of either sign; its derivative `1 / (3 cbrt(x)^2)` is
    /// `+inf` at 0, as the square root's is.
    fn cbrt(self) -> Self;
    /// `1 / self`; its derivative `-1 / x^2` is `-inf` at 0 (either sign).
    fn recip(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// `(sin x, cos x)`; a type may compute both at once.
    #[inline]
    fn sin_cos(self) -> (Self, Self) {
        (self.sin(), self.cos())
    }
    /// Tangent.
    fn tan(self) -> Self;
    /// Arcsine, in `[-pi/2, pi/2]`; defined for `-1 <= self <= 1` (the
    /// derivative is infinite at the ends).
    fn asin(self) -> Self;
    /// Arccosine, in `[0, pi]`; defined for `-1 <= self <= 1` (the
    /// derivative is infinite at the ends).
    fn acos(self) -> Self;
    /// Arctangent, in `[-pi/2, pi/2]`.
    fn atan(self) -> Self;
    /// The angle of the point `(other, self)`, in `[-pi, pi]`: the
    /// four-quadrant arctangent of `self / other`, `self` being the
    /// y-coordinate as in `f64::atan2`. Its partials are NaN at the origin,
    /// where it has no limit.
    fn atan2(self, other: Self) -> Self;
    /// `sqrt(self^2 + other^2)`, without overflow or underflow in the
    /// squares; its partials `self / h` and `other / h` are both taken to be
    /// 0 at the origin (as PyTorch's norms; `torch.hypot` gives NaN there).
    fn hypot(self, other: Self) -> Self;
    /// Hyperbolic sine.
    fn sinh(self) -> Self;
    /// Hyperbolic cosine.
    fn cosh(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Absolute value; its derivative at 0 is taken to be 0.
    fn abs(self) -> Self;
    /// The smaller of the two; on a tie the derivative goes to `self`. A
    /// NaN argument is the result (`self` if both are), and the derivative
    /// goes to it.
    fn min(self, other: Self) -> Self;
    /// The larger of the two; on a tie the derivative goes to `self`. A
    /// NaN argument is the result (`self` if both are), and the derivative
    /// goes to it.
    fn max(self, other: Self) -> Self;
    /// The logistic function `1 / (1 + e^-x)`, the seed's S, computed without
    /// overflow for large `|x|`.
    fn sigmoid(self) -> Self;
    /// `ln(1 + e^x)`, computed without overflow for large `|x|`.
    fn softplus(self) -> Self;
    /// The error function `erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt`;
    /// derivative `2/sqrt(pi) e^(-x^2)`.
    fn erf(self) -> Self;
    /// The complementary error function `erfc x = 1 - erf x`, without the
    /// cancellation of `1 - erf x` for large `x`; derivative
    /// `-2/sqrt(pi) e^(-x^2)`.
    fn erfc(self) -> Self;
    /// SiLU (swish): `x S(x)`, PyTorch's `nn.SiLU`, JAX's `nn.silu`;
    /// derivative `S(x) (1 + x (1 - S(x)))`. One primitive on the tape.
    #[inline]
    fn silu(self) -> Self {
        self * self.sigmoid()
    }
    /// GELU, the exact form of PyTorch's `nn.GELU()` (and JAX's
    /// `nn.gelu(approximate=False)`): `x Phi(x)`, with `Phi` the standard
    /// normal distribution function `erfc(-x / sqrt 2) / 2`; derivative
    /// `Phi(x) + x phi(x)`, `phi` the normal density. One primitive on the
    /// tape.
    #[inline]
    fn gelu(self) -> Self {
        let half = Self::from_f64(0.5);
        half * self * (-self * Self::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erfc()
    }
    /// Leaky ReLU: `x` for `x > 0`, else `slope x` (PyTorch's
    /// `nn.LeakyReLU(slope)`, whose default slope is 0.01); derivative 1
    /// for `x > 0`, else `slope`, so `slope` at exactly 0 as in PyTorch
    /// (JAX's `nn.leaky_relu` takes 1 there). One primitive on the tape.
    ///
    /// # Panics
    /// On a `Var` or `Dual`, unless `slope` is finite in the number type.
    #[inline]
    fn leaky_relu(self, slope: f64) -> Self {
        if self > Self::zero() {
            self
        } else {
            self * Self::from_f64(slope)
        }
    }
    /// `max(x, 0)` with derivative `at_zero` at exactly 0 (a subgradient in
    /// `[0, 1]`, seed Remark 5.1.10).
    ///
    /// # Panics
    /// On a `Var` or `Dual`, unless `0 <= at_zero <= 1`.
    fn relu_with(self, at_zero: f64) -> Self;
    /// `max(x, 0)` with the PyTorch and JAX subgradient 0 at 0.
    #[inline]
    fn relu(self) -> Self {
        self.relu_with(0.0)
    }
    /// A primitive of one's own: the value `y = g(x_1, ..., x_n)` of a
    /// function computed outside this trait's operations (a library call, a
    /// solver, an implicit equation), given with its partial derivatives,
    /// `terms = [(x_i, dy/dx_i)]` (JAX's `custom_jvp`). Plain numbers
    /// return `y`; a [`Var`](crate::Var) records one statement with the
    /// given partials (more than two inputs take one more per extra input),
    /// so the tape differentiates through `g` by the chain rule; a
    /// [`Dual`](crate::Dual) takes its tangent from them.
    ///
    /// `y` and the partials are usually computed from the primal values
    /// (`to_f64`, then `from_f64`): that is right for gradients. For second
    /// derivatives ([`hvp`](crate::hvp), [`hessian`](crate::hessian))
    /// compute the partials with this trait's operations from the inputs,
    /// so that their own derivatives are known; a partial made by
    /// `from_f64` is a constant to second order.
    ///
    /// ```
    /// use autodiff::Real;
    /// /// The Lambert W function (w e^w = x, x > -1/e) by Newton's method,
    /// /// with dW/dx = W / (x (1 + W)) from the implicit function theorem.
    /// fn lambert_w<T: Real>(x: T) -> T {
    ///     let xf = x.to_f64();
    ///     let mut w = if xf < 1.0 { xf } else { xf.ln() };
    ///     for _ in 0..50 {
    ///         w -= (w * w.exp() - xf) / (w.exp() * (w + 1.0));
    ///     }
    ///     let w = T::from_f64(w);
    ///     T::with_partials(w, &[(x, w / (x * (T::one() + w)))])
    /// }
    /// let (v, g) = autodiff::value_and_grad(|x| lambert_w(x[0]) * x[1], &[1.0, 2.0]).unwrap();
    /// let w1 = 0.5671432904097838; // W(1), the omega constant
    /// assert!((v - 2.0 * w1).abs() < 1e-15);
    /// assert!((g[0] - 2.0 * w1 / (1.0 + w1)).abs() < 1e-14 && (g[1] - w1).abs() < 1e-15);
    /// ```
    fn with_partials(y: Self, terms: &[(Self, Self)]) -> Self;
    /// Whether the (primal) value is neither infinite nor NaN.
    #[inline]
    fn is_finite(self) -> bool {
        self.to_f64().is_finite()
    }
    /// Whether this is exactly zero, every component of it (a dual number's
    /// tangent too): an adjoint that has nothing to propagate.
    #[inline]
    fn is_zero(self) -> bool {
        self.to_f64() == 0.0
    }
    /// `self` limited to `[lo, hi]`: `lo` below it, `hi` above it, `self`
    /// (a NaN included) within, as `f64::clamp`. The derivative goes to the
    /// value chosen: to `self` on a bound (PyTorch 2.15's `clamp` with number
    /// bounds gives 0 there, to neither).
    ///
    /// ```
    /// use autodiff::{Real, Tape};
    /// let tape = Tape::new();
    /// let x = tape.var(1.5);
    /// let y = x.clamp(tape.var(-1.0), Real::from_f64(1.0));
    /// assert_eq!((y.value(), tape.backward(y)[x]), (1.0, 0.0));
    /// assert_eq!(Real::clamp(1.5_f64, -1.0, 1.0), 1.0);
    /// ```
    ///
    /// # Panics
    /// Unless `lo <= hi` (a NaN bound included), as `f64::clamp`.
    #[inline]
    #[track_caller]
    fn clamp(self, lo: Self, hi: Self) -> Self {
        assert!(
            lo <= hi,
            "Real::clamp: the bounds must satisfy lo <= hi, got lo = {lo:?}, hi = {hi:?}"
        );
        crate::rules::clamp(self, lo, hi)
    }
    /// The sign as a constant: `1` for `+0` and above, `-1` for `-0` and
    /// below, NaN for NaN (itself), as `f64::signum`. Its derivative is 0
    /// (the function is piecewise constant).
    #[inline]
    fn signum(self) -> Self {
        let v = self.to_f64();
        if v.is_nan() {
            // A constant NaN: `self` would pass its derivative through (1).
            Self::from_f64(v)
        } else if v.is_sign_negative() {
            -Self::one()
        } else {
            Self::one()
        }
    }
    /// The largest integer not above `self`, as `f64::floor` (NaN, the
    /// infinities and `-0` are themselves), as a constant: its derivative is
    /// 0, as PyTorch's and JAX's, at the jumps too (the function is
    /// piecewise constant).
    #[inline]
    fn floor(self) -> Self {
        Self::from_f64(self.to_f64().floor())
    }
    /// The smallest integer not below `self`, as `f64::ceil`; a constant,
    /// as [`floor`](Self::floor).
    #[inline]
    fn ceil(self) -> Self {
        Self::from_f64(self.to_f64().ceil())
    }
    /// The nearest integer, a half-way case away from 0, as `f64::round`; a
    /// constant, as [`floor`](Self::floor).
    #[inline]
    fn round(self) -> Self {
        Self::from_f64(self.to_f64().round())
    }
    /// The integer part (towards 0), as `f64::trunc`; a constant, as
    /// [`floor`](Self::floor).
    #[inline]
    fn trunc(self) -> Self {
        Self::from_f64(self.to_f64().trunc())
    }
}

/// A number type a [`Tape`](crate::Tape) can record: `f32`, `f64` and
/// [`Dual`](crate::Dual) numbers of them.
///
/// User code never needs this bound; it is written against [`Real`], which
/// any type may implement (the tests have their own forward-mode numbers).
///
/// # Safety
/// The tape calls the type's operations and methods (arithmetic, [`Real`],
/// `Clone`) while it holds its list of statements, during recording and
/// during the reverse sweep. An implementation must therefore never record
/// on, clear or sweep a `Tape` from inside them: doing so would alias that
/// list. Plain arithmetic on values, as `f32`, `f64` and `Dual` do, is
/// fine.
pub unsafe trait TapeValue: Real {}

// SAFETY: primitive arithmetic; it touches no tape.
unsafe impl TapeValue for f32 {}
// SAFETY: as for `f32`.
unsafe impl TapeValue for f64 {}
// SAFETY: `Dual`'s operations are arithmetic on its two parts, which are
// `TapeValue`s themselves.
unsafe impl<T: TapeValue> TapeValue for crate::Dual<T> {}

/// The plain floating-point types, `f32` and `f64`: what matrices on the tape
/// hold and what the matrix-multiply kernel accepts.
pub trait Float: TapeValue + Default + Send + Sync + 'static {
    /// `C <- alpha A B + beta C` on strided row-major storage: `A` is `m x k`,
    /// `B` is `k x n`, `C` is `m x n`; `rs*`/`cs*` are the row and column
    /// strides, so transposes are passed as swapped strides, never copied.
    /// With `beta = 0`, `C` is not read (a NaN there does not propagate).
    ///
    /// Runs on the crate's own blocked kernel, allocation-free in steady
    /// state, split over up to [`num_threads`](crate::num_threads) threads
    /// when the product is large (`2 m n k >= 2^22` flops). The result is
    /// bitwise identical whatever the thread count: threads split the rows
    /// or the columns of `C`, never the sum over `k`. It may differ in the
    /// last bits between CPUs: on x86-64 with AVX2 and FMA (detected at run
    /// time) and on aarch64 the multiply-adds are fused, elsewhere not.
    ///
    /// # Panics
    /// If a slice is too short for the dimensions and strides given.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        rsa: usize,
        csa: usize,
        b: &[Self],
        rsb: usize,
        csb: usize,
        beta: Self,
        c: &mut [Self],
        rsc: usize,
        csc: usize,
    );
}

/// Whether every value is finite: one vectorisable pass (`x - x` is 0 for a
/// finite `x` and NaN otherwise), for checks on every step of a loop.
///
/// ```
/// assert!(autodiff::all_finite(&[1.0_f32, -2.0, 0.0]));
/// assert!(!autodiff::all_finite(&[1.0, f64::INFINITY]));
/// assert!(!autodiff::all_finite(&[f32::NAN]));
/// ```
#[allow(clippy::eq_op)] // `x - x` is the point: 0 exactly when `x` is finite
pub fn all_finite<T: Float>(xs: &[T]) -> bool {
    crate::par::all(xs.len(), |r| {
        crate::simd::vectorized(|| all_finite_lanes(&xs[r]))
    })
}

#[allow(clippy::eq_op)]
#[inline(always)]
fn all_finite_lanes<T: Float>(xs: &[T]) -> bool {
    // 32 lanes: four independent vector accumulators, so the loop is not
    // bound by the latency of one chain of additions.
    const LANES: usize = 32;
    let mut acc = [T::zero(); LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x - x;
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a += x - x;
    }
    acc.iter().all(|&a| a == T::zero())
}

/// Bounds a strided `rows x cols` operand must fit in. The last offset is
/// computed with overflow checks: a wrapped offset would pass the bound and
/// let the kernel address memory outside the slice.
#[inline]
fn check_extent(len: usize, rows: usize, cols: usize, rs: usize, cs: usize, what: &str) {
    if rows > 0 && cols > 0 {
        let last = (rows - 1)
            .checked_mul(rs)
            .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)));
        match last {
            Some(last) if last < len => {}
            Some(last) => panic!(
                "gemm: operand {what} of {rows}x{cols} with strides ({rs}, {cs}) needs {} elements, got {len}",
                last + 1
            ),
            None => panic!(
                "gemm: operand {what} of {rows}x{cols} with strides ({rs}, {cs}) spans more than usize::MAX elements"
            ),
        }
    }
}

/// The methods of [`Real`] that are `std`'s function of the same name, of
/// one argument and of two.
macro_rules! std_functions {
    ($t:ty; $($f:ident)*; $($g:ident)*) => {
        $(
            #[inline]
            fn $f(self) -> Self {
                <$t>::$f(self)
            }
        )*
        $(
            #[inline]
            fn $g(self, other: Self) -> Self {
                <$t>::$g(self, other)
            }
        )*
    };
}

macro_rules! impl_float {
    ($t:ty, $sin_cos:path, $erf:path, $erfc:path) => {
        impl Real for $t {
            #[inline]
            fn from_f64(c: f64) -> Self {
                c as $t
            }
            #[inline]
            fn with_partials(y: Self, _terms: &[(Self, Self)]) -> Self {
                y
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn is_zero(self) -> bool {
                // In the type itself: no conversion in vectorised loops.
                self == 0.0
            }
            #[inline]
            fn zero() -> Self {
                0.0
            }
            #[inline]
            fn one() -> Self {
                1.0
            }
            #[inline]
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
            #[inline]
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            std_functions!(
                $t;
                exp exp_m1 ln ln_1p log2 log10 sqrt cbrt recip sin cos tan asin acos atan
                sinh cosh tanh floor ceil round trunc;
                atan2 hypot
            );
            #[inline]
            fn sin_cos(self) -> (Self, Self) {
                $sin_cos(self)
            }
            #[inline]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            // Written as comparisons (not `f64::min`) so that a NaN
            // propagates instead of being dropped.
            #[inline]
            fn min(self, other: Self) -> Self {
                if self <= other || self.is_nan() {
                    self
                } else {
                    other
                }
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                if self >= other || self.is_nan() {
                    self
                } else {
                    other
                }
            }
            #[inline]
            fn sigmoid(self) -> Self {
                // e^-|x| never overflows; both branches are the same function.
                if self >= 0.0 {
                    1.0 / (1.0 + (-self).exp())
                } else {
                    let e = self.exp();
                    e / (1.0 + e)
                }
            }
            #[inline]
            fn softplus(self) -> Self {
                // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|)
                Real::max(self, 0.0) + (-<$t>::abs(self)).exp().ln_1p()
            }
            #[inline]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline]
            fn erfc(self) -> Self {
                $erfc(self)
            }
            #[inline]
            fn relu_with(self, _at_zero: f64) -> Self {
                if self > 0.0 {
                    self
                } else if self.is_nan() {
                    self
                } else {
                    0.0
                }
            }
            #[inline]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }

        impl Float for $t {
            #[inline]
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                rsa: usize,
                csa: usize,
                b: &[Self],
                rsb: usize,
                csb: usize,
                beta: Self,
                c: &mut [Self],
                rsc: usize,
                csc: usize,
            ) {
                check_extent(a.len(), m, k, rsa, csa, "A");
                check_extent(b.len(), k, n, rsb, csb, "B");
                check_extent(c.len(), m, n, rsc, csc, "C");
                // SAFETY: the extents were checked above, `c` is borrowed
                // mutably and so aliases neither `a` nor `b`.
                unsafe {
                    crate::kernel::gemm(crate::kernel::Problem {
                        m,
                        k,
                        n,
                        alpha,
                        a: a.as_ptr(),
                        rsa,
                        csa,
                        b: b.as_ptr(),
                        rsb,
                        csb,
                        beta,
                        c: c.as_mut_ptr(),
                        rsc,
                        csc,
                    })
                }
            }
        }
    };
}

impl_float!(f32, f32::sin_cos, libm::erff, libm::erfcf);
impl_float!(f64, sin_cos_f64, libm::erf, libm::erfc);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_and_softplus_stay_finite_at_extremes() {
        for x in [-1000.0_f64, -50.0, 0.0, 50.0, 1000.0] {
            assert!(Real::sigmoid(x).is_finite());
            assert!(Real::softplus(x).is_finite());
        }
        assert_eq!(Real::softplus(1000.0_f64), 1000.0);
        assert_eq!(Real::sigmoid(0.0_f32), 0.5);
    }

    #[test]
    fn min_and_max_propagate_nan() {
        assert!(Real::min(f64::NAN, 1.0).is_nan());
        assert!(Real::max(f64::NAN, 1.0).is_nan());
        assert!(Real::min(1.0, f64::NAN).is_nan());
    }

    #[test]
    fn gemm_handles_transposes_as_strides() {
        // A = [[1, 2], [3, 4]], B^T where B = [[5, 6], [7, 8]] stored row-major.
        let a = [1.0_f64, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        let mut c = [0.0; 4];
        // C = A B^T: B^T has row stride 1, column stride 2.
        f64::gemm(2, 2, 2, 1.0, &a, 2, 1, &b, 1, 2, 0.0, &mut c, 2, 1);
        assert_eq!(c, [17.0, 23.0, 39.0, 53.0]);
    }
}

/// `(sin x, cos x)` in one call of glibc's `sincos`, which shares the
/// argument reduction between the two (bitwise the same results as `sin`
/// and `cos`: checked on 20 million arguments of every magnitude, and by
/// the test below). The math-heavy function of `benches/scalar_tape.rs`
/// takes about 7% less time through the tape with it. Elsewhere (and under
/// Miri, which cannot call C), two calls.
#[inline]
fn sin_cos_f64(x: f64) -> (f64, f64) {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
    {
        extern "C" {
            fn sincos(x: f64, s: *mut f64, c: *mut f64);
        }
        let (mut s, mut c) = (0.0, 0.0);
        // SAFETY: `sincos` writes its two outputs and nothing else.
        unsafe { sincos(x, &mut s, &mut c) };
        (s, c)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
    {
        (x.sin(), x.cos())
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu", not(miri)))]
mod sin_cos_tests {
    #[test]
    fn sin_cos_is_bitwise_sin_and_cos() {
        let mut xs = vec![
            0.0,
            -0.0,
            1e-310,
            0.5,
            -3.0,
            1e6,
            1e22,
            -1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
        ];
        xs.extend((0..10_000).map(|i| (i as f64 - 5000.0) * 0.37));
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        for x in xs {
            let (s, c) = super::sin_cos_f64(x);
            assert!(same(s, x.sin()), "sin {x:e}: {s:e} vs {:e}", x.sin());
            assert!(same(c, x.cos()), "cos {x:e}: {c:e} vs {:e}", x.cos());
        }
    }
}
