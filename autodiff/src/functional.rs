//! Function transformations on top of the tape: `grad`, `value_and_grad`,
//! `jacobian`, `hvp`, `hessian`, and [`Evaluator`] for allocation-free
//! repeated use.
//!
//! Each takes the function as a closure over [`Var`]s; a generic user
//! function `fn f<T: Real>(x: &[T]) -> T` is passed as `|x| f(x)`, and the
//! closure is instantiated with the number type each transformation needs
//! ([`PVar<f64>`] for gradients, `PVar<Dual<f64>>` for Hessians). A
//! closure stored in a variable before the call needs its signature
//! pinned: [`scalar_fn`], [`vector_fn`], [`second_order_fn`], [`mats_fn`].

use crate::tape::Preaccumulating;
use crate::{Dual, Error, Evaluator, Grads, Matrix, Result, Tape, Var};

/// The number type the helpers' closures receive: a [`Var`] of a
/// [preaccumulating](Tape::preaccumulating) tape, since the helpers return
/// gradients with respect to the inputs only. A generic function
/// `fn f<T: Real>(x: &[T]) -> T` is passed as `|x| f(x)` and never names it.
pub type PVar<'t, T = f64> = Var<'t, T, Preaccumulating>;

/// Pins a closure to the signature that [`grad`], [`value_and_grad`],
/// [`gradcheck`](crate::gradcheck()) and [`Evaluator`] take, so that it can be
/// stored in a variable and passed to several of them.
///
/// Rust gives a closure written in the call the higher-ranked signature
/// `for<'t> Fn(&[PVar<'t, f64>]) -> PVar<'t, f64>` these need, but infers one
/// fixed lifetime for a closure stored first ("lifetime may not live long
/// enough", "one type is more general than the other"). A generic `fn`
/// item (`fn f<T: Real>(x: &[T]) -> T`) needs no pinning: pass it as
/// `|x| f(x)`, written in the call. Passed by name, `grad(f, &x)`, it does
/// not compile ("implementation of `Fn` is not general enough"): its `T`
/// would have to be one type for every tape lifetime.
///
/// ```
/// use autodiff::{scalar_fn, GradcheckConfig, Real};
/// let f = scalar_fn(|x| x[0] * x[1].sin());
/// let g = autodiff::grad(&f, &[2.0, 0.5]).unwrap();
/// autodiff::gradcheck(&f, &[2.0, 0.5], &GradcheckConfig::default()).unwrap().assert_passed();
/// assert_eq!(g[0], 0.5_f64.sin());
/// // A generic fn, through a closure written in the call.
/// fn h<T: Real>(x: &[T]) -> T { x[0] * x[1].sin() }
/// assert_eq!(autodiff::grad(|x| h(x), &[2.0, 0.5]).unwrap(), g);
/// ```
///
/// ```compile_fail
/// use autodiff::Real;
/// fn h<T: Real>(x: &[T]) -> T { x[0] * x[1].sin() }
/// autodiff::grad(h, &[2.0, 0.5]).unwrap(); // not general enough: pass |x| h(x)
/// ```
pub fn scalar_fn<F>(f: F) -> F
where
    F: for<'t> Fn(&[PVar<'t, f64>]) -> PVar<'t, f64>,
{
    f
}

/// [`scalar_fn`] for the vector-valued functions of [`jacobian`].
pub fn vector_fn<F>(f: F) -> F
where
    F: for<'t> Fn(&[PVar<'t, f64>]) -> Vec<PVar<'t, f64>>,
{
    f
}

/// [`scalar_fn`] for [`hvp`] and [`hessian`], whose closures receive dual
/// numbers on the tape.
///
/// ```
/// use autodiff::second_order_fn;
/// let f = second_order_fn(|x| x[0] * x[0] * x[1]);
/// assert_eq!(autodiff::hvp(&f, &[1.0, 2.0], &[1.0, 0.0]).unwrap(), [4.0, 2.0]);
/// assert_eq!(autodiff::hessian(&f, &[1.0, 2.0]).unwrap().as_slice(), [4.0, 2.0, 2.0, 0.0]);
/// ```
pub fn second_order_fn<F>(f: F) -> F
where
    F: for<'t> Fn(&[PVar<'t, Dual<f64>>]) -> PVar<'t, Dual<f64>>,
{
    f
}

/// [`scalar_fn`] for [`gradcheck_mats`](crate::gradcheck_mats): a scalar
/// function of matrices on a tape.
pub fn mats_fn<F>(f: F) -> F
where
    F: for<'t> Fn(&[crate::Mat<'t, f64>]) -> Var<'t, f64>,
{
    f
}

/// The tapes of the helpers.
pub(crate) fn preaccumulating<T: crate::TapeValue>() -> Tape<T, Preaccumulating> {
    Tape::preaccumulating_with_capacity(64)
}

/// The error unless `len`, the length of the buffer named `what`, is that
/// of `x`.
pub(crate) fn same_length(x: &[f64], len: usize, what: &'static str) -> Result<()> {
    if len == x.len() {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected: x.len(),
            got: len,
        })
    }
}

/// The error if `x`, the input of the function named `what`, is empty.
pub(crate) fn nonempty(x: &[f64], what: &'static str) -> Result<()> {
    if x.is_empty() {
        Err(Error::EmptyInput { what })
    } else {
        Ok(())
    }
}

/// The value `f(x)` and the gradient of `f` at `x`: one recording, one
/// reverse sweep.
///
/// ```
/// use autodiff::Real; // the methods of the number trait
/// let (v, g) = autodiff::value_and_grad(|x| x[0] * x[1].sin(), &[2.0, 0.0]).unwrap();
/// assert_eq!((v, g), (0.0, vec![0.0, 2.0]));
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty.
pub fn value_and_grad<F>(f: F, x: &[f64]) -> Result<(f64, Vec<f64>)>
where
    F: for<'t> Fn(&[PVar<'t, f64>]) -> PVar<'t, f64>,
{
    value_and_grad_named(f, x, "value_and_grad")
}

/// [`value_and_grad`], whose empty-input error names `what`, the function
/// the user called.
pub(crate) fn value_and_grad_named<F>(
    f: F,
    x: &[f64],
    what: &'static str,
) -> Result<(f64, Vec<f64>)>
where
    F: for<'t> Fn(&[PVar<'t, f64>]) -> PVar<'t, f64>,
{
    nonempty(x, what)?;
    let mut g = vec![0.0; x.len()];
    let v = Evaluator::new().value_and_grad(f, x, &mut g)?;
    Ok((v, g))
}

/// The gradient of `f` at `x`.
///
/// ```
/// let g = autodiff::grad(|x| x[0] * x[0] + 3.0 * x[1], &[1.5, -2.0]).unwrap();
/// assert_eq!(g, vec![3.0, 3.0]);
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty.
pub fn grad<F>(f: F, x: &[f64]) -> Result<Vec<f64>>
where
    F: for<'t> Fn(&[PVar<'t, f64>]) -> PVar<'t, f64>,
{
    value_and_grad_named(f, x, "grad").map(|(_, g)| g)
}

/// The Jacobian matrix of a vector-valued `f` at `x`, shape
/// `(outputs, inputs)` (seed Notation 5.1.4): one recording and one reverse
/// sweep per output.
///
/// ```
/// let j = autodiff::jacobian(|x| vec![x[0] * x[1], x[0] + 2.0 * x[1]], &[3.0, 4.0]).unwrap();
/// assert_eq!(j.as_slice(), &[4.0, 3.0, 1.0, 2.0]);
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty.
pub fn jacobian<F>(f: F, x: &[f64]) -> Result<Matrix<f64>>
where
    F: for<'t> Fn(&[PVar<'t, f64>]) -> Vec<PVar<'t, f64>>,
{
    nonempty(x, "jacobian")?;
    let tape = preaccumulating::<f64>();
    let xs = tape.vars(x);
    let ys = f(&xs);
    let mut jac = Matrix::zeros(ys.len(), x.len());
    let mut grads = Grads::empty();
    for (i, &y) in ys.iter().enumerate() {
        tape.backward_into(y, &mut grads);
        for (j, &xj) in xs.iter().enumerate() {
            jac[(i, j)] = grads[xj];
        }
    }
    Ok(jac)
}

/// The value `f(x)` and the Jacobian-vector product `J(x) v` of a
/// vector-valued `f` (JAX's `jvp`): forward mode, one evaluation of `f` on
/// dual numbers `x + v e`, no tape. The directional derivative of a scalar
/// function is `jvp(|x| vec![f(x)], ...)`.
///
/// ```
/// use autodiff::Real;
/// // f(x) = (x0 x1, sin x0); J = [[x1, x0], [cos x0, 0]]
/// let (y, jv) = autodiff::jvp(|x| vec![x[0] * x[1], x[0].sin()], &[0.0, 3.0], &[1.0, 2.0]).unwrap();
/// assert_eq!(y, [0.0, 0.0]);
/// assert_eq!(jv, [3.0, 1.0]);
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty; [`Error::LengthMismatch`] unless
/// `v` has the length of `x`.
pub fn jvp<F>(f: F, x: &[f64], v: &[f64]) -> Result<(Vec<f64>, Vec<f64>)>
where
    F: Fn(&[Dual<f64>]) -> Vec<Dual<f64>>,
{
    nonempty(x, "jvp")?;
    same_length(x, v.len(), "jvp (tangent v)")?;
    let xs: Vec<Dual<f64>> = x.iter().zip(v).map(|(&x, &v)| Dual::new(x, v)).collect();
    Ok(f(&xs).into_iter().map(|y| (y.re, y.eps)).unzip())
}

/// The Jacobian matrix of a vector-valued `f` at `x` by forward mode
/// (JAX's `jacfwd`): one evaluation of `f` on dual numbers per input, no
/// tape, against [`jacobian`]'s one reverse sweep per output. The cheaper
/// of the two when `f` has more outputs than inputs. Shape
/// `(outputs, inputs)`.
///
/// ```
/// use autodiff::Real;
/// let j = autodiff::jacobian_forward(|x| vec![x[0] * x[1], x[0].exp(), 2.0 * x[1]], &[0.0, 4.0]).unwrap();
/// assert_eq!(j.as_slice(), &[4.0, 0.0, 1.0, 0.0, 0.0, 2.0]);
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty; [`Error::LengthMismatch`] if
/// `f` returns a different number of outputs for different tangents.
pub fn jacobian_forward<F>(f: F, x: &[f64]) -> Result<Matrix<f64>>
where
    F: Fn(&[Dual<f64>]) -> Vec<Dual<f64>>,
{
    nonempty(x, "jacobian_forward")?;
    let mut xs: Vec<Dual<f64>> = x.iter().map(|&x| Dual::new(x, 0.0)).collect();
    let mut jac: Option<Matrix<f64>> = None;
    for j in 0..x.len() {
        xs[j].eps = 1.0;
        let ys = f(&xs);
        xs[j].eps = 0.0;
        let m = jac.get_or_insert_with(|| Matrix::zeros(ys.len(), x.len()));
        if ys.len() != m.shape().rows {
            return Err(Error::LengthMismatch {
                what: "jacobian_forward (outputs of f, by tangent)",
                expected: m.shape().rows,
                got: ys.len(),
            });
        }
        for (i, y) in ys.iter().enumerate() {
            m[(i, j)] = y.eps;
        }
    }
    Ok(jac.expect("x is not empty"))
}

/// The value `f(x)` and the vector-Jacobian product `u^T J(x)` of a
/// vector-valued `f` (JAX's `vjp` applied to the cotangent `u`): one
/// recording and one reverse sweep, from `sum_i u_i f_i(x)`, where
/// [`jacobian`] sweeps once per output. Outputs whose `u_i` is exactly zero
/// contribute nothing, even where their derivatives are infinite.
///
/// ```
/// // f(x) = (x0 x1, x0 + 2 x1); J = [[x1, x0], [1, 2]]
/// let (y, uj) = autodiff::vjp(|x| vec![x[0] * x[1], x[0] + 2.0 * x[1]], &[3.0, 4.0], &[1.0, 10.0]).unwrap();
/// assert_eq!(y, [12.0, 11.0]);
/// assert_eq!(uj, [4.0 + 10.0, 3.0 + 20.0]);
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty; [`Error::LengthMismatch`] unless
/// `u` has one entry per output of `f`.
pub fn vjp<F>(f: F, x: &[f64], u: &[f64]) -> Result<(Vec<f64>, Vec<f64>)>
where
    F: for<'t> Fn(&[PVar<'t, f64>]) -> Vec<PVar<'t, f64>>,
{
    nonempty(x, "vjp")?;
    let tape = preaccumulating::<f64>();
    let xs = tape.vars(x);
    let ys = f(&xs);
    if u.len() != ys.len() {
        return Err(Error::LengthMismatch {
            what: "vjp (cotangent u, one entry per output)",
            expected: ys.len(),
            got: u.len(),
        });
    }
    let s = ys
        .iter()
        .zip(u)
        .filter(|&(_, &u)| u != 0.0)
        .fold(PVar::constant(0.0), |s, (&y, &u)| s + y * u);
    let grads = tape.backward(s);
    let values = ys.iter().map(|y| y.value()).collect();
    Ok((values, xs.iter().map(|&x| grads[x]).collect()))
}

/// The Hessian-vector product `H(x) v` of a scalar `f`, exact to rounding:
/// forward over reverse. `f` is recorded on a tape of dual numbers seeded
/// with `x + v e`; the reverse sweep in dual arithmetic yields
/// `grad f(x) + (H v) e`. No finite differences.
///
/// ```
/// use autodiff::Real;
/// fn f<T: Real>(x: &[T]) -> T { x[0] * x[0] * x[1] }
/// // H = [[2 x1, 2 x0], [2 x0, 0]]
/// let hv = autodiff::hvp(|x| f(x), &[1.0, 2.0], &[1.0, 0.0]).unwrap();
/// assert_eq!(hv, vec![4.0, 2.0]);
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty; [`Error::LengthMismatch`] unless
/// `v` has the length of `x`.
pub fn hvp<F>(f: F, x: &[f64], v: &[f64]) -> Result<Vec<f64>>
where
    F: for<'t> Fn(&[PVar<'t, Dual<f64>>]) -> PVar<'t, Dual<f64>>,
{
    let mut hv = vec![0.0; x.len()];
    Evaluator::new().hvp(f, x, v, &mut hv)?;
    Ok(hv)
}

/// The Hessian matrix of a scalar `f` at `x`: one [`hvp`] per basis vector.
///
/// Each column comes from its own Hessian-vector product, so `H` is
/// symmetric up to rounding only (as JAX's `hessian`): entries `(i, j)` and
/// `(j, i)` may differ in the last bits. Compare with a tolerance, or
/// symmetrize with `(H + H^T) / 2` where exact symmetry matters.
///
/// ```
/// let h = autodiff::hessian(|x| x[0] * x[0] * x[1], &[1.0, 2.0]).unwrap();
/// assert_eq!(h.as_slice(), &[4.0, 2.0, 2.0, 0.0]);
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty.
pub fn hessian<F>(f: F, x: &[f64]) -> Result<Matrix<f64>>
where
    F: for<'t> Fn(&[PVar<'t, Dual<f64>>]) -> PVar<'t, Dual<f64>>,
{
    nonempty(x, "hessian")?;
    let n = x.len();
    let mut h = Matrix::zeros(n, n);
    let (mut e, mut col) = (vec![0.0; n], vec![0.0; n]);
    // One evaluator for every column: one tape, recorded n times.
    let mut ev = Evaluator::new();
    for j in 0..n {
        e[j] = 1.0;
        ev.hvp(&f, x, &e, &mut col)?;
        e[j] = 0.0;
        for (i, &c) in col.iter().enumerate() {
            h[(i, j)] = c;
        }
    }
    Ok(h)
}
