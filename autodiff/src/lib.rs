//! Reverse-mode automatic differentiation on a tape, for scalar functions
//! written in plain Rust and for the matrix computations of neural networks.
//!
//! Write a function once, generic over [`Real`]; evaluate it with `f64`;
//! differentiate it exactly with the tape:
//!
//! ```
//! use autodiff::Real;
//!
//! fn f<T: Real>(x: &[T]) -> T {
//!     (x[0] * x[1]).sin() + x[1].exp() / (T::one() + x[0] * x[0])
//! }
//!
//! let x = [0.5, -1.0];
//! let value = f(&x); // plain f64, no tape
//! let (v, g) = autodiff::value_and_grad(|x| f(x), &x)?;
//! assert_eq!(v, value);
//! let hv = autodiff::hvp(|x| f(x), &x, &[1.0, 0.0])?; // exact H v
//! # let _ = (g, hv);
//! # Ok::<(), autodiff::Error>(())
//! ```
//!
//! # What is where
//! - [`Tape`], [`Var`] (scalar handle) and [`Mat`] (matrix handle) record
//!   one evaluation; [`Tape::backward`] runs one reverse sweep, the chain
//!   rule as a product of Jacobian matrices taken from the output (seed
//!   (5.9)), and returns [`Grads`] with respect to every recorded value,
//!   inputs included (seed (5.11)).
//! - [`rules`]: every elementwise primitive with its derivative rule, shared
//!   by scalars, dual numbers and matrices. [`mat`]: matrix ops (matmul,
//!   affine map, elementwise with a matrix or a plain number on either
//!   side (`m * 2.0`, `1.0 - m`), the everyday functions as methods (`ln`,
//!   `sqrt`, `powi`, `clamp`, ...; the others through [`Mat::map`]),
//!   transpose, broadcast, reshape, concatenation along one [`Axis`], sums
//!   and means over everything or one axis, row-wise softmax and
//!   log-softmax, entries as scalars and matrices of scalars, the losses of
//!   (5.1)).
//! - [`grad`], [`value_and_grad`], [`jacobian`], [`jacobian_forward`],
//!   [`jvp`], [`vjp`], [`hvp`], [`hessian`]: function transformations;
//!   [`Evaluator`] keeps their tapes for allocation-free repeated
//!   gradients and Hessian-vector products. The reverse-mode ones return
//!   gradients with respect to the inputs only, so they record on a
//!   preaccumulating tape ([`Tape::preaccumulating`]): operations of one
//!   recorded input are folded into the next two-input statement instead
//!   of recorded. Their closures receive [`PVar`]s, the `Var`s of such a
//!   tape (the forward-mode ones, [`Dual`] numbers); a generic function
//!   is passed as `|x| f(x)` and never names the type. The
//!   recording mode is a type parameter of [`Tape`] and [`Var`]
//!   ([`Recording`]), so recording tests nothing at run time.
//! - [`Float::gemm`]: the matrix product every matrix op runs on, the
//!   crate's own kernel; [`set_num_threads`] / [`num_threads`] (default:
//!   `CHAINRULE_NUM_THREADS`, else the available cores) set its threads,
//!   which also run the long elementwise passes of the matrix ops; results
//!   are bitwise identical whatever the count.
//! - [`gradcheck`](mod@gradcheck): finite-difference checking for users' own
//!   functions (of scalars, [`gradcheck_mats`] of matrices: a model, a
//!   [`Tape::custom`] primitive); `strategies` (feature `proptest`): random inputs and
//!   expression graphs for property tests.
//!
//! # Conventions
//! - ReLU's derivative at exactly 0 is a parameter in `[0, 1]` (default 0,
//!   as PyTorch and JAX); `|x|` has derivative 0 at 0; `min`/`max` send a
//!   tie's derivative to their first argument, and return a NaN argument
//!   (sending the derivative to it).
//! - ReLU, `min`, `max` and [`Real::clamp`] (and [`Mat::clamp`], whose
//!   derivative is 1 on the closed interval, bounds included, where PyTorch
//!   2.15's is 0 at a bound, and 1 at a NaN,
//!   whose value it returns) choose their value, and an input
//!   they did not choose gets no adjoint at all, not even an infinite one
//!   (PyTorch's and JAX's `where`): `sqrt(relu(x))` has derivative 0 at
//!   `x < 0`, where `0 * sqrt'(0) = 0 * inf` would be NaN
//!   ([`rules::Unary::selects`]).
//! - `cbrt` has derivative `+inf` at 0, as `sqrt` does, and `recip` has
//!   `-inf` at `±0`; `hypot`'s partials are 0 at the origin (as PyTorch's
//!   norms; its `hypot` gives `0 / 0 = NaN` there), `atan2`'s are NaN
//!   there, where it has no limit (as PyTorch and JAX).
//! - A NaN produced inside a function propagates through the values;
//!   nothing panics on it. The gradient is the chain rule over each
//!   primitive's derivative at the values computed, so it is NaN only where
//!   a derivative is, or where a zero derivative meets an infinite one
//!   down the chain (`sqrt(0 * x)`, `sqrt(tanh(x) - 1)` once `tanh'` has
//!   rounded to 0: `0 * inf`, as in PyTorch and JAX; a selection's zero is
//!   not such a product, above). `ln x` at `x = -1` is NaN with the
//!   finite derivative `1/x = -1` (as in PyTorch and JAX), and the
//!   derivative of `relu` or `|x|` at a NaN is 0. Check the value (or use
//!   [`gradcheck`](mod@gradcheck), which fails on a NaN). A value the
//!   output does not depend on contributes nothing to the gradient, even if
//!   its derivative is infinite or NaN (`0 * inf` is not formed for it).
//! - Automatic differentiation applies the chain rule to the operations one
//!   evaluation actually performed; it is not symbolic differentiation.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod dual;
mod error;
mod evaluator;
mod functional;
pub mod gradcheck;
mod grads;
mod kernel;
pub mod mat;
mod matrix;
mod par;
mod real;
pub mod rules;
mod simd;
#[cfg(feature = "proptest")]
pub mod strategies;
mod tape;
mod var;

pub use dual::Dual;
pub use error::{Error, Result};
pub use evaluator::Evaluator;
pub use functional::{
    grad, hessian, hvp, jacobian, jacobian_forward, jvp, mats_fn, scalar_fn, second_order_fn,
    value_and_grad, vector_fn, vjp, PVar,
};
pub use gradcheck::{gradcheck, gradcheck_fn, gradcheck_mats, GradcheckConfig, GradcheckReport};
pub use grads::Grads;
pub use kernel::{num_threads, set_num_threads};
pub use mat::{Axis, CrossEntropy, CustomVjp, Mat, Packed, Reduction};
pub use matrix::{Matrix, Shape};
pub use real::{all_finite, Float, Real, TapeValue};
pub use tape::{Full, Preaccumulating, Recording, Tape};
pub use var::Var;

/// The names most code needs: `use autodiff::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Axis, Float, Grads, Mat, Matrix, PVar, Real, Recording, Reduction, Shape, Tape, Var,
    };
}
