//! User-defined matrix primitives: a value computed by the caller and its
//! vector-Jacobian product as a closure (JAX's `custom_vjp`, PyTorch's
//! `autograd.Function`), the matrix counterpart of
//! [`Real::with_partials`](crate::Real::with_partials).

use super::{MatStore, Op, Sink};
use crate::{Error, Float, Mat, Result, Shape, Tape};

/// The vector-Jacobian product of a custom primitive: called once per input
/// that takes a gradient, with that input's position `k` and its gradient
/// buffer, into which it must *add* `(dy/dx_k)^T output_grad` (the buffer
/// holds the contributions of the other consumers of `x_k`, or zeros).
pub(crate) type VjpFn<T> = Box<dyn Fn(&CustomVjp<'_, T>, usize, &mut [T]) + Send>;

/// The closures of the custom nodes of one recording.
pub(crate) struct Customs<T>(pub(crate) Vec<VjpFn<T>>);

impl<T> Default for Customs<T> {
    fn default() -> Self {
        Customs(Vec::new())
    }
}

impl<T> std::fmt::Debug for Customs<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} custom vjp closures", self.0.len())
    }
}

/// What the vector-Jacobian product of a custom matrix primitive (see
/// [`Tape::custom`]) reads: the values of the primitive's inputs and
/// output, and the gradient of the differentiated scalar with respect to
/// the output.
pub struct CustomVjp<'a, T> {
    st: &'a MatStore<T>,
    inputs: &'a [u32],
    output: &'a [T],
    shape: Shape,
    output_grad: &'a [T],
}

impl<'a, T: Float> CustomVjp<'a, T> {
    /// The number of inputs.
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// The values of input `k` (row-major), as recorded.
    ///
    /// # Panics
    /// If `k >= num_inputs()`.
    #[track_caller]
    pub fn input(&self, k: usize) -> &'a [T] {
        self.st.value(self.inputs[self.index(k)])
    }

    /// `k`, or a panic naming it and the number of inputs.
    #[track_caller]
    fn index(&self, k: usize) -> usize {
        assert!(
            k < self.inputs.len(),
            "custom op: input {k} asked for, the op has {} inputs",
            self.inputs.len()
        );
        k
    }

    /// The shape of input `k`.
    ///
    /// # Panics
    /// If `k >= num_inputs()`.
    #[track_caller]
    pub fn input_shape(&self, k: usize) -> Shape {
        self.st.nodes[self.inputs[self.index(k)] as usize].shape
    }

    /// The output's values, as given to [`Tape::custom`].
    pub fn output(&self) -> &'a [T] {
        self.output
    }

    /// The output's shape.
    pub fn output_shape(&self) -> Shape {
        self.shape
    }

    /// The gradient with respect to the output (the "vector" of the
    /// vector-Jacobian product), of the output's shape.
    pub fn output_grad(&self) -> &'a [T] {
        self.output_grad
    }
}

impl<T: Float> Tape<T> {
    /// A user-defined matrix primitive `y = f(inputs)`: its value `value`
    /// of shape `shape`, computed by the caller, and its vector-Jacobian
    /// product `vjp`, which the backward sweep calls once for each input
    /// `k` that takes a gradient as `vjp(ctx, k, g_k)`; it must *add*
    /// `sum_j output_grad[j] dy_j/dx_k` into `g_k` (of input `k`'s shape).
    /// `ctx` ([`CustomVjp`]) holds the inputs' and the output's values and
    /// the output's gradient. An op the tape lacks, or a cheaper rule than
    /// its composition, without touching the engine (JAX's `custom_vjp`,
    /// PyTorch's `autograd.Function`).
    ///
    /// The closure is `'static` and `Send` (the tape keeps it until
    /// [`clear`](Tape::clear), and a tape may move between threads): copy
    /// into it what it needs besides `ctx`. It must not record on the tape
    /// being differentiated (a matrix op there panics: the sweep is reading
    /// it). Recording one allocates its box. Check a rule against finite
    /// differences with [`gradcheck_mats`](crate::gradcheck_mats), or
    /// against the built-in ops, as below.
    ///
    /// ```
    /// use autodiff::{Shape, Tape};
    /// // y = x^3 elementwise, dy/dx = 3 x^2.
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(1, 3), &[1.0, -2.0, 0.5])?;
    /// let y: Vec<f64> = x.to_vec().iter().map(|v| v * v * v).collect();
    /// let cube = tape.custom(&[x], x.shape(), &y, |ctx, _k, gx| {
    ///     for ((g, &x), &gy) in gx.iter_mut().zip(ctx.input(0)).zip(ctx.output_grad()) {
    ///         *g += 3.0 * x * x * gy;
    ///     }
    /// })?;
    /// let g = tape.backward(cube.sum());
    /// assert_eq!(g[x], [3.0, 12.0, 0.75]);
    /// // The same as the built-in composition x * x * x.
    /// let built_in = tape.backward((x * x * x).sum());
    /// assert_eq!(g[x], built_in[x]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `value.len() == shape.len()`;
    /// [`Error::ShapeTooLarge`] if the shape overflows.
    ///
    /// # Panics
    /// If an input was recorded on another tape.
    #[track_caller]
    pub fn custom<'t, F>(
        &'t self,
        inputs: &[Mat<'t, T>],
        shape: Shape,
        value: &[T],
        vjp: F,
    ) -> Result<Mat<'t, T>>
    where
        F: Fn(&CustomVjp<'_, T>, usize, &mut [T]) + Send + 'static,
    {
        let what = "Tape::custom";
        let len = shape
            .checked_len()
            .ok_or(Error::ShapeTooLarge { what, shape })?;
        if value.len() != len {
            return Err(Error::LengthMismatch {
                what,
                expected: len,
                got: value.len(),
            });
        }
        for x in inputs {
            crate::var::same_tape(x.tape(), self);
        }
        let mut st = self.mats.borrow_mut();
        let grad = inputs.iter().any(|x| x.requires_grad_in(&st));
        let start = st.labels.len();
        st.labels.extend(inputs.iter().map(|x| x.node()));
        let f = st.customs.0.len() as u32;
        st.customs.0.push(Box::new(vjp));
        let off = st.push_slice(value);
        let op = Op::Custom {
            start,
            n: inputs.len() as u32,
            f,
        };
        Ok(self.record(&mut st, op, off, shape, grad))
    }
}

/// Calls node `node`'s closure for each of its inputs that takes a
/// gradient, on a buffer zeroed on its first write.
pub(super) fn custom_backward<T: Float>(
    st: &MatStore<T>,
    node: usize,
    (start, n, f): (usize, u32, u32),
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let inputs = &st.labels[start..start + n as usize];
    let ctx = CustomVjp {
        st,
        inputs,
        output: st.value(node as u32),
        shape: st.nodes[node].shape,
        output_grad: gy,
    };
    let vjp = &st.customs.0[f as usize];
    for (k, &x) in inputs.iter().enumerate() {
        if let Some(slot) = st.grad_of(x, out) {
            vjp(&ctx, k, slot.zeroed());
        }
    }
}
