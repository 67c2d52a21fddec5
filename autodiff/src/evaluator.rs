//! [`Evaluator`]: the functional helpers' tapes and buffers, kept across
//! calls so that differentiating the same function many times allocates
//! nothing once warm.

use crate::functional::{nonempty, preaccumulating, same_length, PVar};
use crate::tape::Preaccumulating;
#[cfg(doc)]
use crate::Error;
use crate::{Dual, Result, Tape, TapeValue};

/// Preaccumulating tapes with their adjoint and input buffers, kept across
/// calls: the allocation-free way to differentiate the same function many
/// times (an optimisation loop, the Hessian-vector products of a
/// Newton-CG solver).
///
/// Its closures, like those of the other helpers, receive [`PVar`]s and
/// cannot record matrix operations (those record on a [`Tape::new`] tape;
/// differentiate such functions with [`Tape::backward`]).
///
/// ```
/// let mut ev = autodiff::Evaluator::new();
/// let mut g = [0.0; 2];
/// for step in 0..3 {
///     let x = [step as f64, 1.0];
///     let v = ev.value_and_grad(|x| x[0] * x[1], &x, &mut g).unwrap();
///     assert_eq!((v, g), (step as f64, [1.0, step as f64]));
/// }
/// ```
///
/// Second order, with the same `Evaluator`: [`hvp`](Self::hvp) and
/// [`grad_and_hvp`](Self::grad_and_hvp) run the function on dual numbers
/// (forward over reverse, as [`crate::hvp`]) on a second kept tape.
#[derive(Debug, Default)]
pub struct Evaluator {
    first: Buffers<f64>,
    second: Buffers<Dual<f64>>,
    // Second order: the inputs' values `x + v e`, then their adjoints
    // `grad + (H v) e`.
    seeds: Vec<Dual<f64>>,
    adjoints: Vec<Dual<f64>>,
}

/// How [`Evaluator::second_order`]'s errors name the method and its
/// buffers.
struct Names {
    what: &'static str,
    v: &'static str,
    grad: &'static str,
    hv: &'static str,
}

/// A preaccumulating tape with the buffers one evaluation needs.
#[derive(Debug)]
struct Buffers<T: TapeValue + 'static> {
    tape: Tape<T, Preaccumulating>,
    // Scalar adjoints, all zero between calls (see `Tape::leaf_gradient`).
    adj: Vec<T>,
    // Always empty between calls: only its allocation is kept.
    inputs: InputBuffer<T>,
}

impl<T: TapeValue + 'static> Default for Buffers<T> {
    fn default() -> Self {
        Buffers {
            tape: preaccumulating(),
            adj: Vec::new(),
            inputs: InputBuffer(Vec::new()),
        }
    }
}

impl<T: TapeValue + 'static> Buffers<T> {
    /// `f` recorded at `x` on the cleared tape, and the gradient of its
    /// result with respect to the inputs written into `grad` (of the length
    /// of `x`): one reverse sweep. Returns the result's value.
    fn run<F>(&mut self, f: F, x: &[T], grad: &mut [T]) -> T
    where
        F: for<'t> Fn(&[PVar<'t, T>]) -> PVar<'t, T>,
    {
        debug_assert_eq!(x.len(), grad.len());
        self.tape.clear();
        let mut xs = relabel(std::mem::take(&mut self.inputs.0));
        self.tape.vars_into(x, &mut xs);
        let y = f(&xs);
        // The inputs were recorded first, on a cleared tape: their adjoints
        // are the first `x.len()` ones.
        debug_assert_eq!(xs[0].tape().map(|_| xs[0].index()), Some(0));
        self.tape.leaf_gradient(y, &mut self.adj, grad);
        self.inputs.0 = relabel(xs);
        y.value()
    }
}

/// The allocation of an `Evaluator`'s input handles, kept between calls.
///
/// A `PVar` holds a `&Tape`, and `Tape` is not `Sync`, so a vector of them
/// is not `Send`; this one is empty whenever an `Evaluator` can be moved
/// (between calls), so it holds no reference, and moving it to another
/// thread moves only memory.
#[derive(Debug)]
struct InputBuffer<T: TapeValue + 'static>(Vec<PVar<'static, T>>);

// SAFETY: see `InputBuffer`: the vector is empty outside `Buffers::run`,
// which holds `&mut self` while it is not.
unsafe impl<T: TapeValue + Send + 'static> Send for InputBuffer<T> {}

impl Evaluator {
    /// A new evaluator.
    pub fn new() -> Self {
        Self::default()
    }

    /// `f(x)`, writing the gradient into `grad`.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if `x` is empty; [`Error::LengthMismatch`]
    /// unless `grad` has the length of `x`.
    pub fn value_and_grad<F>(&mut self, f: F, x: &[f64], grad: &mut [f64]) -> Result<f64>
    where
        F: for<'t> Fn(&[PVar<'t, f64>]) -> PVar<'t, f64>,
    {
        nonempty(x, "value_and_grad")?;
        same_length(x, grad.len(), "value_and_grad (gradient buffer)")?;
        Ok(self.first.run(f, x, grad))
    }

    /// Bytes of tape memory the last [`value_and_grad`](Self::value_and_grad)
    /// used (see [`Tape::memory_bytes`]).
    pub fn tape_bytes(&self) -> usize {
        self.first.tape.memory_bytes()
    }

    /// `f(x)`, writing the Hessian-vector product `H(x) v` into `hv`: the
    /// allocation-free [`crate::hvp`], with the same numbers.
    ///
    /// ```
    /// use autodiff::{Evaluator, Real};
    /// fn f<T: Real>(x: &[T]) -> T { x[0] * x[0] * x[1] }
    /// let mut ev = Evaluator::new();
    /// let mut hv = [0.0; 2];
    /// // H = [[2 x1, 2 x0], [2 x0, 0]]
    /// let value = ev.hvp(|x| f(x), &[1.0, 2.0], &[1.0, 0.0], &mut hv).unwrap();
    /// assert_eq!((value, hv), (2.0, [4.0, 2.0]));
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if `x` is empty; [`Error::LengthMismatch`]
    /// unless `v` and `hv` have the length of `x`.
    pub fn hvp<F>(&mut self, f: F, x: &[f64], v: &[f64], hv: &mut [f64]) -> Result<f64>
    where
        F: for<'t> Fn(&[PVar<'t, Dual<f64>>]) -> PVar<'t, Dual<f64>>,
    {
        let names = Names {
            what: "hvp",
            v: "hvp (direction v)",
            grad: "",
            hv: "hvp (output hv)",
        };
        self.second_order(f, x, v, None, hv, names)
    }

    /// `f(x)`, writing its gradient into `grad` and the Hessian-vector
    /// product `H(x) v` into `hv`, from one recording and one reverse sweep
    /// in dual numbers (the adjoints' real parts are the gradient, their
    /// tangents `H v`: JAX's `jvp(grad(f), (x,), (v,))`). The gradient is
    /// [`value_and_grad`](Self::value_and_grad)'s up to rounding (the sweep
    /// runs in dual arithmetic).
    ///
    /// ```
    /// use autodiff::{Evaluator, Real};
    /// fn f<T: Real>(x: &[T]) -> T { x[0] * x[0] * x[1] }
    /// let mut ev = Evaluator::new();
    /// let (mut g, mut hv) = ([0.0; 2], [0.0; 2]);
    /// let value = ev.grad_and_hvp(|x| f(x), &[1.0, 2.0], &[0.0, 1.0], &mut g, &mut hv).unwrap();
    /// // grad = [2 x0 x1, x0^2], H e_1 = [2 x0, 0]
    /// assert_eq!((value, g, hv), (2.0, [4.0, 1.0], [2.0, 0.0]));
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyInput`] if `x` is empty; [`Error::LengthMismatch`]
    /// unless `v`, `grad` and `hv` have the length of `x`.
    pub fn grad_and_hvp<F>(
        &mut self,
        f: F,
        x: &[f64],
        v: &[f64],
        grad: &mut [f64],
        hv: &mut [f64],
    ) -> Result<f64>
    where
        F: for<'t> Fn(&[PVar<'t, Dual<f64>>]) -> PVar<'t, Dual<f64>>,
    {
        let names = Names {
            what: "grad_and_hvp",
            v: "grad_and_hvp (direction v)",
            grad: "grad_and_hvp (gradient buffer)",
            hv: "grad_and_hvp (output hv)",
        };
        self.second_order(f, x, v, Some(grad), hv, names)
    }

    /// [`hvp`](Self::hvp) and [`grad_and_hvp`](Self::grad_and_hvp), whose
    /// errors name what `names` says.
    fn second_order<F>(
        &mut self,
        f: F,
        x: &[f64],
        v: &[f64],
        grad: Option<&mut [f64]>,
        hv: &mut [f64],
        names: Names,
    ) -> Result<f64>
    where
        F: for<'t> Fn(&[PVar<'t, Dual<f64>>]) -> PVar<'t, Dual<f64>>,
    {
        nonempty(x, names.what)?;
        same_length(x, v.len(), names.v)?;
        if let Some(g) = &grad {
            same_length(x, g.len(), names.grad)?;
        }
        same_length(x, hv.len(), names.hv)?;
        self.seeds.clear();
        self.seeds
            .extend(x.iter().zip(v).map(|(&x, &v)| Dual::new(x, v)));
        self.adjoints.clear();
        self.adjoints.resize(x.len(), Dual::new(0.0, 0.0));
        let value = self.second.run(f, &self.seeds, &mut self.adjoints);
        for (h, a) in hv.iter_mut().zip(&self.adjoints) {
            *h = a.eps;
        }
        if let Some(g) = grad {
            for (g, a) in g.iter_mut().zip(&self.adjoints) {
                *g = a.re;
            }
        }
        Ok(value.re)
    }
}

/// Empties `v` and hands back its allocation with another lifetime.
fn relabel<'a, 'b, T: TapeValue>(mut v: Vec<PVar<'a, T>>) -> Vec<PVar<'b, T>> {
    v.clear();
    let mut v = std::mem::ManuallyDrop::new(v);
    let (ptr, cap) = (v.as_mut_ptr(), v.capacity());
    // SAFETY: the vector is empty, so no `Var<'a>` is reinterpreted; only
    // the allocation moves over, and `Var<'a>` and `Var<'b>` differ only in
    // a lifetime, so they have the same size and alignment.
    unsafe { Vec::from_raw_parts(ptr.cast::<PVar<'b, T>>(), 0, cap) }
}
