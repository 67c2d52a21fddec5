//! Elementwise matrix ops. Their values and derivatives are the rules of
//! [`crate::rules`], shared with the scalar path.

use super::{or_panic, MatStore, Node, Op, Sink};
use crate::rules::{through, Binary, Unary};
use crate::{Error, Float, Mat, Result};
use std::ops::{Add, Div, Mul, Neg, Sub};

/// Evaluates `$body` with `$o` bound to `$op` rebuilt as a literal of its
/// variant for the activations and clamp, so that the `match` inside the rules folds
/// away and the loop in `$body` is specialised (and vectorised) per op.
macro_rules! specialize {
    ($op:expr, |$o:ident| $body:expr) => {
        match $op {
            Unary::Relu { at_zero } => {
                let $o = Unary::Relu { at_zero };
                $body
            }
            Unary::Sigmoid => {
                let $o = Unary::Sigmoid;
                $body
            }
            Unary::Tanh => {
                let $o = Unary::Tanh;
                $body
            }
            Unary::LeakyRelu { slope } => {
                let $o = Unary::LeakyRelu { slope };
                $body
            }
            Unary::Silu => {
                let $o = Unary::Silu;
                $body
            }
            Unary::Clamp { lo, hi } => {
                let $o = Unary::Clamp { lo, hi };
                $body
            }
            other => {
                let $o = other;
                $body
            }
        }
    };
}

/// [`specialize!`] for the arithmetic [`Binary`] ops, whose loops with a
/// constant operand then vectorise.
macro_rules! specialize_binary {
    ($op:expr, |$o:ident| $body:expr) => {
        match $op {
            Binary::Add => {
                let $o = Binary::Add;
                $body
            }
            Binary::Sub => {
                let $o = Binary::Sub;
                $body
            }
            Binary::Mul => {
                let $o = Binary::Mul;
                $body
            }
            Binary::Div => {
                let $o = Binary::Div;
                $body
            }
            other => {
                let $o = other;
                $body
            }
        }
    };
}

impl Unary {
    /// `x = op(x)` for every entry of `xs` ([`Unary::value`]), in one loop
    /// per op (the common activations' loops vectorised): for plain values
    /// outside a tape, as a network's prediction.
    ///
    /// # Panics
    /// On an argument out of its range, as [`Mat::map`].
    #[track_caller]
    pub fn apply_in_place<T: Float>(self, xs: &mut [T]) {
        self.check::<T>();
        crate::simd::vectorized(|| {
            specialize!(self, |o| xs.iter_mut().for_each(|x| *x = o.value(*x)))
        })
    }
}

impl<'t, T: Float> Mat<'t, T> {
    /// Elementwise `op(self, other)` for matrices of one shape.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    ///
    /// # Panics
    /// If `other` is on another tape.
    #[track_caller]
    pub fn try_zip(self, op: Binary, other: Mat<'t, T>) -> Result<Mat<'t, T>> {
        self.same_tape(other);
        if self.shape() != other.shape() {
            return Err(Error::ShapeMismatch {
                op: binary_name(op),
                lhs: self.shape(),
                rhs: other.shape(),
                expected: "equal shapes",
            });
        }
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(self.shape().len());
        let (below, out) = st.split(off, self.shape().len());
        let (va, vb) = (below.of(self), below.of(other));
        let len = va.len();
        crate::par::chunks_mut(out, 16, len, |start, out| {
            let span = start..start + out.len();
            for ((y, &a), &b) in out.iter_mut().zip(&va[span.clone()]).zip(&vb[span]) {
                *y = op.value(a, b);
            }
        });
        let grad = self.requires_grad_in(&st) || other.requires_grad_in(&st);
        Ok(tape.record(
            &mut st,
            Op::Zip {
                op,
                a: self.node(),
                b: other.node(),
            },
            off,
            self.shape(),
            grad,
        ))
    }

    /// [`try_zip`](Self::try_zip), panicking on mismatched shapes.
    ///
    /// # Panics
    /// Where [`try_zip`](Self::try_zip) returns an error, with its message,
    /// or panics.
    #[track_caller]
    pub fn zip(self, op: Binary, other: Mat<'t, T>) -> Mat<'t, T> {
        or_panic(self.try_zip(op, other))
    }

    /// Elementwise sum; an error on mismatched shapes.
    ///
    /// # Errors
    /// As [`try_zip`](Self::try_zip).
    ///
    /// # Panics
    /// As [`try_zip`](Self::try_zip).
    #[track_caller]
    pub fn try_add(self, other: Mat<'t, T>) -> Result<Mat<'t, T>> {
        self.try_zip(Binary::Add, other)
    }

    /// Elementwise difference; an error on mismatched shapes.
    ///
    /// # Errors
    /// As [`try_zip`](Self::try_zip).
    ///
    /// # Panics
    /// As [`try_zip`](Self::try_zip).
    #[track_caller]
    pub fn try_sub(self, other: Mat<'t, T>) -> Result<Mat<'t, T>> {
        self.try_zip(Binary::Sub, other)
    }

    /// Elementwise (Hadamard) product; an error on mismatched shapes.
    ///
    /// # Errors
    /// As [`try_zip`](Self::try_zip).
    ///
    /// # Panics
    /// As [`try_zip`](Self::try_zip).
    #[track_caller]
    pub fn try_mul(self, other: Mat<'t, T>) -> Result<Mat<'t, T>> {
        self.try_zip(Binary::Mul, other)
    }

    /// Elementwise quotient; an error on mismatched shapes.
    ///
    /// # Errors
    /// As [`try_zip`](Self::try_zip).
    ///
    /// # Panics
    /// As [`try_zip`](Self::try_zip).
    #[track_caller]
    pub fn try_div(self, other: Mat<'t, T>) -> Result<Mat<'t, T>> {
        self.try_zip(Binary::Div, other)
    }

    /// Elementwise `op(self)`.
    ///
    /// # Panics
    /// For [`Unary::Relu`] with a subgradient outside `[0, 1]` (as
    /// [`relu_with`](Self::relu_with)), for [`Unary::LeakyRelu`] with a
    /// slope that is not finite in `T`, and for [`Unary::Clamp`] with
    /// bounds out of order or NaN (as [`clamp`](Self::clamp)).
    #[track_caller]
    pub fn map(self, op: Unary) -> Mat<'t, T> {
        op.check::<T>();
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(self.shape().len());
        let (below, out) = st.split(off, self.shape().len());
        let xs = below.of(self);
        let len = xs.len();
        crate::par::chunks_mut(out, 16, len, |start, out| {
            let xs = &xs[start..start + out.len()];
            crate::simd::vectorized(|| {
                specialize!(op, |o| out
                    .iter_mut()
                    .zip(xs)
                    .for_each(|(y, &x)| *y = o.value(x)))
            })
        });
        let grad = self.requires_grad_in(&st);
        tape.record(
            &mut st,
            Op::Map { op, x: self.node() },
            off,
            self.shape(),
            grad,
        )
    }

    /// Elementwise logistic sigmoid, the seed's S.
    pub fn sigmoid(self) -> Mat<'t, T> {
        self.map(Unary::Sigmoid)
    }

    /// Elementwise `tanh`.
    pub fn tanh(self) -> Mat<'t, T> {
        self.map(Unary::Tanh)
    }

    /// Elementwise `max(x, 0)` with subgradient 0 at 0 (PyTorch, JAX).
    pub fn relu(self) -> Mat<'t, T> {
        self.map(Unary::Relu { at_zero: 0.0 })
    }

    /// Elementwise `max(x, 0)` whose derivative at exactly 0 is `at_zero`.
    ///
    /// # Panics
    /// Unless `0 <= at_zero <= 1`.
    #[track_caller]
    pub fn relu_with(self, at_zero: f64) -> Mat<'t, T> {
        self.map(Unary::Relu { at_zero })
    }

    /// Elementwise leaky ReLU: `x` for `x > 0`, else `slope x`, with
    /// derivative `slope` at 0 (PyTorch's `nn.LeakyReLU(slope)`).
    ///
    /// # Panics
    /// Unless `slope` is finite in `T`.
    #[track_caller]
    pub fn leaky_relu(self, slope: f64) -> Mat<'t, T> {
        self.map(Unary::LeakyRelu { slope })
    }

    /// Elementwise SiLU (swish) `x S(x)`.
    pub fn silu(self) -> Mat<'t, T> {
        self.map(Unary::Silu)
    }

    /// Elementwise GELU `x Phi(x)`, the exact form (PyTorch's `nn.GELU()`).
    pub fn gelu(self) -> Mat<'t, T> {
        self.map(Unary::Gelu)
    }

    /// Each entry limited to `[lo, hi]` (PyTorch's `torch.clamp(x, lo,
    /// hi)`; `-inf` or `+inf` for no bound): `lo` below, `hi` above, the
    /// entry (a NaN included) within: [`Unary::Clamp`], the rule of
    /// [`Real::clamp`](crate::Real::clamp) on a `Var`. The derivative is 1
    /// on `[lo, hi]`, the bounds included (PyTorch 2.15's `torch.clamp`
    /// gives 0 at a bound: the open interval), and an entry outside
    /// passes nothing back, not even an infinite adjoint: `clamp(x, 0,
    /// 1).sqrt()` has gradient 0 below 0, not `0 * inf = NaN`. At a NaN
    /// entry the derivative is 1, as its value is the entry's (PyTorch's
    /// is 0).
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(1, 4), &[-2.0, 0.0, 0.5, 3.0])?;
    /// let y = x.try_clamp(0.0, 1.0)?;
    /// assert_eq!(y.to_vec(), [0.0, 0.0, 0.5, 1.0]);
    /// assert_eq!(tape.backward(y.sum())[x], [0.0, 1.0, 1.0, 0.0]);
    /// assert!(x.try_clamp(1.0, 0.0).is_err());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidBounds`] unless `lo <= hi` (so neither is NaN).
    pub fn try_clamp(self, lo: T, hi: T) -> Result<Mat<'t, T>> {
        let (lo, hi) = (lo.to_f64(), hi.to_f64());
        crate::rules::check_bounds::<T>("clamp", lo, hi)?;
        Ok(self.map(Unary::Clamp { lo, hi }))
    }

    /// [`try_clamp`](Self::try_clamp), panicking on bounds out of order.
    ///
    /// # Panics
    /// Unless `lo <= hi` (so neither is NaN), naming both.
    #[track_caller]
    pub fn clamp(self, lo: T, hi: T) -> Mat<'t, T> {
        or_panic(self.try_clamp(lo, hi))
    }

    /// Elementwise `e^x`.
    pub fn exp(self) -> Mat<'t, T> {
        self.map(Unary::Exp)
    }

    /// Elementwise natural logarithm (PyTorch's `torch.log`): NaN below 0,
    /// `-inf` at 0, with derivative `1 / x`.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(1, 2), &[1.0, 4.0])?;
    /// let y = x.ln();
    /// assert_eq!(y.to_vec(), [0.0, 4.0_f64.ln()]);
    /// assert_eq!(tape.backward(y.sum())[x], [1.0, 0.25]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn ln(self) -> Mat<'t, T> {
        self.map(Unary::Ln)
    }

    /// Elementwise square root (`torch.sqrt`), with derivative `1 / (2 y)`:
    /// `+inf` at 0.
    pub fn sqrt(self) -> Mat<'t, T> {
        self.map(Unary::Sqrt)
    }

    /// Elementwise `|x|` (`torch.abs`), with derivative `sign x`, 0 at 0
    /// (PyTorch alike).
    pub fn abs(self) -> Mat<'t, T> {
        self.map(Unary::Abs)
    }

    /// Elementwise `x^n` for an integer `n` (`torch.pow` with an integer
    /// exponent, or `x ** n`), with derivative `n x^(n-1)`.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(1, 3), &[-2.0, 0.5, 3.0])?;
    /// let y = x.powi(3);
    /// assert_eq!(y.to_vec(), [-8.0, 0.125, 27.0]);
    /// assert_eq!(tape.backward(y.sum())[x], [12.0, 0.75, 27.0]); // 3 x^2
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn powi(self, n: i32) -> Mat<'t, T> {
        self.map(Unary::Powi(n))
    }

    /// Elementwise `1 / x` (`torch.reciprocal`), with derivative `-y^2`.
    pub fn recip(self) -> Mat<'t, T> {
        self.map(Unary::Recip)
    }

    /// Elementwise `sin` (`torch.sin`).
    pub fn sin(self) -> Mat<'t, T> {
        self.map(Unary::Sin)
    }

    /// Elementwise `cos` (`torch.cos`).
    pub fn cos(self) -> Mat<'t, T> {
        self.map(Unary::Cos)
    }

    /// Elementwise `ln(1 + e^x)` without overflow (`torch.nn.functional.softplus`
    /// with its default `beta = 1`, but exact at every `x`: PyTorch returns
    /// `x` itself above its `threshold = 20`), with derivative the sigmoid.
    pub fn softplus(self) -> Mat<'t, T> {
        self.map(Unary::Softplus)
    }

    /// Elementwise error function (`torch.erf`), with derivative
    /// `2/sqrt(pi) e^(-x^2)`.
    pub fn erf(self) -> Mat<'t, T> {
        self.map(Unary::Erf)
    }

    /// Elementwise `op(self, c)` for a constant `c`, with the rules of
    /// [`Binary`] shared with the scalar tape (where `x / c` is the same
    /// `Binary::Div` with a constant): what the operators `m + c`, `m - c`
    /// and `m / c` record (`m * c` is [`scale`](Self::scale)). Each entry
    /// is `f64` arithmetic (or `f32`'s): `m / 3.0` divides, it does not
    /// multiply by a rounded `1 / 3`, and `m - 0.0` keeps a `-0`.
    ///
    /// ```
    /// use autodiff::rules::Binary;
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(1, 3), &[-2.0, 0.5, 3.0])?;
    /// let y = x.zip_scalar(Binary::Max, 0.0); // relu, the tie's derivative to x
    /// assert_eq!(y.to_vec(), [0.0, 0.5, 3.0]);
    /// let q = x / 3.0; // the operator: zip_scalar(Binary::Div, 3.0)
    /// assert_eq!(q.to_vec(), [-2.0 / 3.0, 0.5 / 3.0, 1.0]);
    /// assert_eq!(tape.backward(q.sum())[x], [1.0 / 3.0; 3]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn zip_scalar(self, op: Binary, c: T) -> Mat<'t, T> {
        self.zip_constant(op, c, false)
    }

    /// Elementwise `op(c, self)` for a constant `c`, the constant first:
    /// what `c - m` and `c / m` record. As [`zip_scalar`](Self::zip_scalar)
    /// otherwise.
    ///
    /// ```
    /// use autodiff::rules::Binary;
    /// use autodiff::{Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(1, 2), &[2.0, 4.0])?;
    /// let y = 1.0 / x; // x.rzip_scalar(Binary::Div, 1.0)
    /// assert_eq!(y.to_vec(), [0.5, 0.25]);
    /// assert_eq!(tape.backward(y.sum())[x], [-0.25, -0.0625]); // -1 / x^2
    /// assert_eq!(x.rzip_scalar(Binary::Sub, 1.0).to_vec(), [-1.0, -3.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn rzip_scalar(self, op: Binary, c: T) -> Mat<'t, T> {
        self.zip_constant(op, c, true)
    }

    fn zip_constant(self, op: Binary, c: T, c_first: bool) -> Mat<'t, T> {
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(self.shape().len());
        let (below, out) = st.split(off, self.shape().len());
        let xs = below.of(self);
        let len = xs.len();
        crate::par::chunks_mut(out, 16, len, |start, out| {
            let xs = &xs[start..start + out.len()];
            let rows = out.iter_mut().zip(xs);
            crate::simd::vectorized(|| {
                specialize_binary!(op, |o| if c_first {
                    rows.for_each(|(y, &x)| *y = o.value(c, x))
                } else {
                    rows.for_each(|(y, &x)| *y = o.value(x, c))
                })
            })
        });
        let grad = self.requires_grad_in(&st);
        tape.record(
            &mut st,
            Op::ZipScalar {
                op,
                x: self.node(),
                c,
                c_first,
            },
            off,
            self.shape(),
            grad,
        )
    }

    /// `c self` for a constant `c`.
    pub fn scale(self, c: T) -> Mat<'t, T> {
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(self.shape().len());
        let (below, out) = st.split(off, self.shape().len());
        for (y, &x) in out.iter_mut().zip(below.of(self)) {
            *y = c * x;
        }
        let grad = self.requires_grad_in(&st);
        tape.record(
            &mut st,
            Op::Scale { x: self.node(), c },
            off,
            self.shape(),
            grad,
        )
    }
}

/// Panics unless the ReLU subgradient is in `[0, 1]`.
#[track_caller]
pub(crate) fn check_subgradient(at_zero: f64) {
    assert!(
        (0.0..=1.0).contains(&at_zero),
        "relu: the subgradient at 0 must lie in [0, 1], got {at_zero}"
    );
}

/// Panics unless the leaky ReLU slope is finite in `T` (as ReLU's
/// subgradient is checked: a NaN or infinite slope would make every
/// negative entry NaN or infinite without a word).
#[track_caller]
pub(crate) fn check_slope<T: crate::Real>(slope: f64) {
    assert!(
        slope.is_finite() && T::from_f64(slope).is_finite(),
        "leaky_relu: the slope must be finite in the number type, got {slope:e}"
    );
}

fn binary_name(op: Binary) -> &'static str {
    match op {
        Binary::Add => "add",
        Binary::Sub => "sub",
        Binary::Mul => "mul (elementwise)",
        Binary::Div => "div (elementwise)",
        Binary::Powf => "powf (elementwise)",
        Binary::Min => "min (elementwise)",
        Binary::Max => "max (elementwise)",
        Binary::Atan2 => "atan2 (elementwise)",
        Binary::Hypot => "hypot (elementwise)",
    }
}

macro_rules! mat_ops {
    ($($tr:ident $m:ident $op:ident),*) => {$(
        impl<'t, T: Float> $tr for Mat<'t, T> {
            type Output = Mat<'t, T>;
            /// Elementwise.
            ///
            /// # Panics
            /// If the shapes differ or the tapes do.
            #[track_caller]
            fn $m(self, o: Self) -> Mat<'t, T> {
                self.zip(Binary::$op, o)
            }
        }
    )*};
}
mat_ops!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

// With a constant, as `Var`'s: `m + c`, `m - c`, `m * c` (a scale), `m / c`.
impl<'t, T: Float> Add<T> for Mat<'t, T> {
    type Output = Mat<'t, T>;
    /// `x + c` for every entry.
    fn add(self, c: T) -> Mat<'t, T> {
        self.zip_scalar(Binary::Add, c)
    }
}
impl<'t, T: Float> Sub<T> for Mat<'t, T> {
    type Output = Mat<'t, T>;
    /// `x - c` for every entry.
    fn sub(self, c: T) -> Mat<'t, T> {
        self.zip_scalar(Binary::Sub, c)
    }
}
impl<'t, T: Float> Mul<T> for Mat<'t, T> {
    type Output = Mat<'t, T>;
    /// `c x` for every entry: [`scale`](Mat::scale).
    fn mul(self, c: T) -> Mat<'t, T> {
        self.scale(c)
    }
}
impl<'t, T: Float> Div<T> for Mat<'t, T> {
    type Output = Mat<'t, T>;
    /// `x / c` for every entry, a division (not a product with `1 / c`).
    fn div(self, c: T) -> Mat<'t, T> {
        self.zip_scalar(Binary::Div, c)
    }
}

// The constant on the left: `2.0 * m`, `1.0 - m`, for the plain float types.
macro_rules! float_lhs_mat_ops {
    ($($f:ty),*) => {$(
        impl<'t> Add<Mat<'t, $f>> for $f {
            type Output = Mat<'t, $f>;
            /// `c + x` for every entry.
            fn add(self, m: Mat<'t, $f>) -> Mat<'t, $f> {
                m.rzip_scalar(Binary::Add, self)
            }
        }
        impl<'t> Sub<Mat<'t, $f>> for $f {
            type Output = Mat<'t, $f>;
            /// `c - x` for every entry.
            fn sub(self, m: Mat<'t, $f>) -> Mat<'t, $f> {
                m.rzip_scalar(Binary::Sub, self)
            }
        }
        impl<'t> Mul<Mat<'t, $f>> for $f {
            type Output = Mat<'t, $f>;
            /// `c x` for every entry: [`scale`](Mat::scale).
            fn mul(self, m: Mat<'t, $f>) -> Mat<'t, $f> {
                m.scale(self)
            }
        }
        impl<'t> Div<Mat<'t, $f>> for $f {
            type Output = Mat<'t, $f>;
            /// `c / x` for every entry.
            fn div(self, m: Mat<'t, $f>) -> Mat<'t, $f> {
                m.rzip_scalar(Binary::Div, self)
            }
        }
    )*};
}
float_lhs_mat_ops!(f32, f64);

impl<'t, T: Float> Neg for Mat<'t, T> {
    type Output = Mat<'t, T>;
    /// `-x`, elementwise: [`scale`](Mat::scale) by `-1`.
    fn neg(self) -> Mat<'t, T> {
        self.scale(-T::one())
    }
}

/// `y = op(a, b)`: `da += dy op_a`, `db += dy op_b`, one pass per input so
/// that `a` and `b` may be the same node.
pub(super) fn zip_backward<T: Float>(
    st: &MatStore<T>,
    node: &Node<T>,
    op: Binary,
    a: u32,
    b: u32,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let (va, vb, vy) = (st.value(a), st.value(b), &st.data[node.range()]);
    if let Some(mut ga) = st.grad_of(a, out) {
        ga.update(|k| through(op.selects(), op.deriv_a(va[k], vb[k], vy[k]), gy[k]));
    }
    if let Some(mut gb) = st.grad_of(b, out) {
        gb.update(|k| through(op.selects(), op.deriv_b(va[k], vb[k], vy[k]), gy[k]));
    }
}

/// `y = op(x)`: `dx += dy op'(x)`, the rule of [`Unary::deriv`].
pub(super) fn map_backward<T: Float>(
    st: &MatStore<T>,
    node: &Node<T>,
    op: Unary,
    x: u32,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let (vx, vy) = (st.value(x), &st.data[node.range()]);
    if let Some(gx) = st.grad_of(x, out) {
        let first = gx.is_first();
        let len = gy.len();
        // Written out per case (not through `update`) so that each loop is
        // specialised and vectorised.
        crate::par::chunks_mut(gx.g, 16, len, |start, g| {
            let span = start..start + g.len();
            let rows = g
                .iter_mut()
                .zip(&gy[span.clone()])
                .zip(&vx[span.clone()])
                .zip(&vy[span]);
            crate::simd::vectorized(|| {
                specialize!(op, |o| if first {
                    rows.for_each(|(((g, &d), &x), &y)| *g = through(o.selects(), o.deriv(x, y), d))
                } else {
                    rows.for_each(|(((g, &d), &x), &y)| {
                        *g += through(o.selects(), o.deriv(x, y), d)
                    })
                })
            })
        });
    }
}

/// `y = op(x, c)` (or `op(c, x)`): `dx += dy op_x`, the rule of
/// [`Binary::deriv_a`] (or `deriv_b`) with the constant as the other
/// argument, as the scalar tape has it.
pub(super) fn zip_scalar_backward<T: Float>(
    st: &MatStore<T>,
    node: &Node<T>,
    (op, c, c_first): (Binary, T, bool),
    x: u32,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let (vx, vy) = (st.value(x), &st.data[node.range()]);
    if let Some(mut gx) = st.grad_of(x, out) {
        specialize_binary!(op, |o| if c_first {
            gx.update(|k| through(o.selects(), o.deriv_b(c, vx[k], vy[k]), gy[k]))
        } else {
            gx.update(|k| through(o.selects(), o.deriv_a(vx[k], c, vy[k]), gy[k]))
        })
    }
}

/// `y = c x`: `dx += c dy`.
pub(super) fn scale_backward<T: Float>(
    st: &MatStore<T>,
    x: u32,
    c: T,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    if let Some(mut gx) = st.grad_of(x, out) {
        gx.update_from(gy, move |_, d| c * d);
    }
}
