//! Multilayer perceptrons: affine layers `z_r = W_r x_r + b_r` with
//! activations between them (seed (5.10)), parameters in one flat buffer.

use crate::init::Sampler;
use crate::{Activation, Error, Init, Result};
use autodiff::{Float, Grads, Mat, Matrix, Packed, Shape, Tape};
use indexmap::IndexMap;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use smallvec::SmallVec;

/// Where one parameter tensor lives in the flat buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSlot {
    /// Offset in the flat buffer.
    pub offset: usize,
    /// Shape: `(a_{r+1}, a_r)` for `W_r`, `(1, a_{r+1})` for `b_r`.
    pub shape: Shape,
}

impl ParamSlot {
    /// The range in the flat buffer.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.shape.len()
    }
}

/// A multilayer perceptron with widths `a_0, ..., a_{p+1}`: layer `r` maps
/// `x_r` in `R^{a_r}` to `z_r = W_r x_r + b_r`, then `x_{r+1} = S_r(z_r)`;
/// the output layer's activation is the identity unless asked (seed
/// (5.10), SEED-NOTES conventions 1 and 2).
///
/// Parameters live in one flat buffer, in the order `W_0, b_0, W_1, b_1,
/// ...`, named as PyTorch's state dict of
/// `layers = nn.Sequential(Linear, act, Linear, act, ..., Linear)`:
/// `layers.0.weight`, `layers.0.bias`, `layers.2.weight`, ... Optimizers
/// update the flat buffer in place through [`Mlp::params_mut`].
///
/// ```
/// use nn::{Activation, Init, Loss, Mlp, BatchTargets};
/// use autodiff::{Shape, Tape};
/// let mut mlp = Mlp::<f64>::builder(&[4, 8, 3]).hidden(Activation::Tanh).init(Init::GlorotUniform).seed(7).build()?;
/// let tape = Tape::new();
/// let x = tape.mat_const(Shape::new(2, 4), &[0.1, 0.2, 0.3, 0.4, -0.1, -0.2, -0.3, -0.4])?;
/// let out = mlp.forward(&tape, x)?;
/// let loss = Loss::default().apply(out.output, BatchTargets::Classes(&[0, 2]))?;
/// let grads = tape.backward(loss);
/// let mut g = vec![0.0; mlp.num_params()];
/// out.gradient_into(&grads, &mut g)?;
/// assert_eq!(g.len(), 4 * 8 + 8 + 8 * 3 + 3);
/// // A step of gradient descent with the gradient read in place. The
/// // recording reads the parameters in place too (no copy), so it borrows
/// // them: take what you need from it first, then update.
/// let (before, g) = (loss.value(), out.gradient(&grads));
/// for (p, gi) in mlp.params_mut().iter_mut().zip(g) {
///     *p -= 0.1 * gi;
/// }
/// # let _ = before;
/// # Ok::<(), nn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp<T> {
    widths: Vec<usize>,
    activations: Vec<Activation>,
    params: Vec<T>,
    slots: IndexMap<String, ParamSlot>,
}

/// Builds an [`Mlp`]: widths, activations, initialisation and seed.
#[derive(Clone, Debug)]
pub struct MlpBuilder<T> {
    widths: Vec<usize>,
    hidden: Hidden,
    output: Activation,
    init: Init,
    seed: u64,
    _float: std::marker::PhantomData<T>,
}

impl<T: Float> MlpBuilder<T> {
    /// The same activation after every hidden layer (default: ReLU with
    /// subgradient 0 at 0).
    pub fn hidden(mut self, a: Activation) -> Self {
        self.hidden = Hidden::All(a);
        self
    }

    /// One activation per hidden layer (`p` of them for `p + 2` widths).
    pub fn hidden_each(mut self, a: &[Activation]) -> Self {
        self.hidden = Hidden::Each(a.to_vec());
        self
    }

    /// The output layer's activation (default: identity).
    pub fn output(mut self, a: Activation) -> Self {
        self.output = a;
        self
    }

    /// The initialisation scheme (default: He uniform).
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// The seed of the initialisation (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The network.
    ///
    /// # Errors
    /// [`Error::Architecture`] for fewer than two widths, a zero width, a
    /// number of per-layer activations that is not the number of hidden
    /// layers, a ReLU subgradient outside `[0, 1]`, a leaky ReLU slope that
    /// is not finite (as a `T`: 1e39 is not in `f32`), an
    /// [`Init::Uniform`] bound that is negative or not finite, or widths
    /// whose parameters cannot be counted in a `usize` or allocated.
    pub fn build(self) -> Result<Mlp<T>> {
        let w = &self.widths;
        if let Init::Uniform(a) = self.init {
            if !(a.is_finite() && a >= 0.0) {
                return Err(Error::Architecture(format!(
                    "Init::Uniform({a}): the bound must be finite and >= 0"
                )));
            }
        }
        if w.len() < 2 {
            return Err(Error::Architecture(format!(
                "a network needs at least an input and an output width, got widths {w:?}"
            )));
        }
        if let Some(r) = w.iter().position(|&a| a == 0) {
            return Err(Error::Architecture(format!(
                "width a_{r} is 0 in {w:?}; every layer needs at least one unit"
            )));
        }
        let layers = w.len() - 1;
        let hidden = match &self.hidden {
            Hidden::All(a) => {
                if let Some(why) = a.invalid_because::<T>() {
                    return Err(Error::Architecture(format!("{a:?} has {why}")));
                }
                vec![*a; layers - 1]
            }
            Hidden::Each(each) if each.len() == layers - 1 => each.clone(),
            Hidden::Each(each) => {
                return Err(Error::Architecture(format!(
                    "{} hidden activations given for {} hidden layers (widths {w:?})",
                    each.len(),
                    layers - 1
                )))
            }
        };
        let mut activations = hidden;
        activations.push(self.output);
        if let Some((r, why)) = (activations.iter().enumerate())
            .find_map(|(r, a)| a.invalid_because::<T>().map(|why| (r, why)))
        {
            return Err(Error::Architecture(format!(
                "layer {r}: {:?} has {why}",
                activations[r]
            )));
        }
        let mut slots = IndexMap::new();
        let mut offset = 0_usize;
        for r in 0..layers {
            let (i, o) = (w[r], w[r + 1]);
            for (kind, shape) in [("weight", Shape::new(o, i)), ("bias", Shape::new(1, o))] {
                slots.insert(
                    format!("layers.{}.{kind}", 2 * r),
                    ParamSlot { offset, shape },
                );
                offset = shape
                    .checked_len()
                    .and_then(|n| offset.checked_add(n))
                    .ok_or_else(|| {
                        Error::Architecture(format!(
                            "widths {w:?}: the number of parameters overflows usize"
                        ))
                    })?;
            }
        }
        // A typo in the widths must not abort the process: the buffers
        // (the f64 draws and the parameters) are reserved fallibly.
        let cannot_allocate = |e| {
            Error::Architecture(format!(
                "widths {w:?} need {offset} parameters: cannot allocate them ({e})"
            ))
        };
        let mut flat: Vec<f64> = Vec::new();
        flat.try_reserve_exact(offset).map_err(cannot_allocate)?;
        flat.resize(offset, 0.0);
        let mut params: Vec<T> = Vec::new();
        params.try_reserve_exact(offset).map_err(cannot_allocate)?;
        let mut sampler = Sampler::new(self.seed);
        for r in 0..layers {
            let (ws, bs) = (slots[2 * r], slots[2 * r + 1]);
            let (head, tail) = flat.split_at_mut(bs.offset);
            sampler.layer(
                self.init,
                w[r],
                w[r + 1],
                &mut head[ws.range()],
                &mut tail[..bs.shape.len()],
            );
        }
        params.extend(flat.into_iter().map(T::from_f64));
        Ok(Mlp {
            widths: self.widths,
            activations,
            params,
            slots,
        })
    }
}

/// The hidden activations asked for: one for all, or one per layer.
#[derive(Clone, Debug)]
enum Hidden {
    All(Activation),
    Each(Vec<Activation>),
}

/// The recording of one forward pass: the output and the parameter handles,
/// to read the gradients back into a flat buffer.
#[derive(Clone, Copy, Debug)]
pub struct Forward<'t, T: Float> {
    /// The network's output `f(x)`, one row per sample.
    pub output: Mat<'t, T>,
    /// `W_0, b_0, W_1, b_1, ...` as recorded, read in place from the
    /// network (so a `Forward` borrows it: take the gradient, then update).
    pub params: Packed<'t, T>,
}

impl<'t, T: Float> Forward<'t, T> {
    /// The gradients of the parameters, in the layout of [`Mlp::params`],
    /// read in place from `grads` (no copy).
    ///
    /// # Panics
    /// If `grads` was computed on another tape or recording.
    #[track_caller]
    pub fn gradient<'g>(&self, grads: &'g Grads<T>) -> &'g [T] {
        grads.packed(self.params)
    }

    /// [`gradient`](Self::gradient), mutable: to clip or rescale it in
    /// place before the step, as the trainer does with
    /// [`TrainConfig::clip_grad_norm`](crate::TrainConfig::clip_grad_norm).
    ///
    /// # Panics
    /// If `grads` was computed on another tape or recording.
    #[track_caller]
    pub fn gradient_mut<'g>(&self, grads: &'g mut Grads<T>) -> &'g mut [T] {
        grads.packed_mut(self.params)
    }

    /// Copies the gradients of the parameters into `out`, in the layout of
    /// [`Mlp::params`].
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `out` has one entry per parameter.
    ///
    /// # Panics
    /// If `grads` was computed on another tape or recording.
    #[track_caller]
    pub fn gradient_into(&self, grads: &Grads<T>, out: &mut [T]) -> Result<()> {
        let g = self.gradient(grads);
        if out.len() != g.len() {
            return Err(Error::LengthMismatch {
                what: "gradient buffer",
                expected: g.len(),
                got: out.len(),
            });
        }
        out.copy_from_slice(g);
        Ok(())
    }
}

impl<T: Float> Mlp<T> {
    /// A builder for the widths `a_0, ..., a_{p+1}` (input, hidden layers,
    /// output).
    pub fn builder(widths: &[usize]) -> MlpBuilder<T> {
        MlpBuilder {
            widths: widths.to_vec(),
            hidden: Hidden::All(Activation::RELU),
            output: Activation::Identity,
            init: Init::default(),
            seed: 0,
            _float: std::marker::PhantomData,
        }
    }

    /// The widths `a_0, ..., a_{p+1}`.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The activation after each layer (the last is the output's).
    pub fn activations(&self) -> &[Activation] {
        &self.activations
    }

    /// Number of affine layers, `p + 1`.
    pub fn num_layers(&self) -> usize {
        self.widths.len() - 1
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.params.len()
    }

    /// The flat parameter buffer `W_0, b_0, W_1, b_1, ...`.
    pub fn params(&self) -> &[T] {
        &self.params
    }

    /// The flat parameter buffer, mutably (what optimizers update).
    pub fn params_mut(&mut self) -> &mut [T] {
        &mut self.params
    }

    /// The named parameter tensors, in order.
    pub fn slots(&self) -> &IndexMap<String, ParamSlot> {
        &self.slots
    }

    /// A named parameter tensor: its values and shape.
    pub fn param(&self, name: &str) -> Option<(&[T], Shape)> {
        self.slots
            .get(name)
            .map(|s| (&self.params[s.range()], s.shape))
    }

    /// `W_r` as a matrix of shape `(a_{r+1}, a_r)`.
    ///
    /// # Panics
    /// If `r` is not a layer.
    #[track_caller]
    pub fn weight(&self, r: usize) -> Matrix<T> {
        self.check_layer("weight", r);
        let s = self.slots[2 * r];
        Matrix::new(s.shape.rows, s.shape.cols, self.params[s.range()].to_vec())
            .expect("slot shape")
    }

    /// `b_r`, of length `a_{r+1}`.
    ///
    /// # Panics
    /// If `r` is not a layer.
    #[track_caller]
    pub fn bias(&self, r: usize) -> &[T] {
        self.check_layer("bias", r);
        &self.params[self.slots[2 * r + 1].range()]
    }

    /// The entries of layer `r`'s parameters, `W_r` then `b_r`, among the
    /// flat parameters: a range for an [`optim::ParamGroups`] group (a
    /// layer frozen, or trained at its own rate).
    ///
    /// ```
    /// use nn::Mlp;
    /// let mlp = Mlp::<f32>::builder(&[4, 8, 3]).build()?;
    /// assert_eq!(mlp.layer_range(0), 0..4 * 8 + 8);
    /// assert_eq!(mlp.layer_range(1), 40..mlp.num_params());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    /// If `r` is not a layer (`r >= num_layers()`).
    #[track_caller]
    pub fn layer_range(&self, r: usize) -> std::ops::Range<usize> {
        self.check_layer("layer_range", r);
        self.slots[2 * r].range().start..self.slots[2 * r + 1].range().end
    }

    /// Panics, at the caller's line, unless `r` is a layer.
    #[track_caller]
    fn check_layer(&self, method: &str, r: usize) {
        assert!(
            r < self.num_layers(),
            "Mlp::{method}: layer {r} asked of a network of {} layers (0..{})",
            self.num_layers(),
            self.num_layers()
        );
    }

    /// The entries of the weight matrices `W_r` among the flat parameters,
    /// not those of the biases `b_r`: the [`optim::DecayMask`] that exempts
    /// the biases from weight decay (PyTorch's usual two parameter groups,
    /// `weight_decay` for the weights and 0 for the biases).
    ///
    /// ```
    /// use nn::Mlp;
    /// use optim::{AdamW, Optimizer};
    /// let mlp = Mlp::<f32>::builder(&[4, 8, 3]).build()?;
    /// let mask = mlp.weights_mask();
    /// assert_eq!(mask.len(), 4 * 8 + 8 * 3);
    /// assert!(mask.contains(0) && !mask.contains(4 * 8)); // W_0, then b_0
    /// let mut opt = AdamW::new(1e-3, 0.9, 0.999, 1e-8, 1e-2)?.with_decay_mask(mask);
    /// let mut params = vec![1.0; mlp.num_params()];
    /// opt.step(&mut params, &vec![0.0; mlp.num_params()])?; // the decay alone
    /// assert!(params[0] < 1.0 && params[4 * 8] == 1.0); // W_0 decayed, b_0 not
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn weights_mask(&self) -> optim::DecayMask {
        optim::DecayMask::new((0..self.num_layers()).map(|r| self.slots[2 * r].range()))
            .expect("slot ranges are ordered")
    }

    /// Checks that every parameter is finite.
    ///
    /// # Errors
    /// [`Error::NonFiniteParameter`] naming the first one that is not.
    pub fn check_finite(&self) -> Result<()> {
        if autodiff::all_finite(&self.params) {
            Ok(())
        } else {
            Err(self.non_finite(&self.params))
        }
    }

    /// The error naming the first non-finite value of `flat` (laid out as
    /// [`params`](Self::params)), which must hold one.
    fn non_finite(&self, flat: &[T]) -> Error {
        let k = flat
            .iter()
            .position(|v| !v.is_finite())
            .expect("a non-finite value");
        let (name, slot) = self
            .slots
            .iter()
            .find(|(_, s)| s.range().contains(&k))
            .expect("every index is in a slot");
        Error::NonFiniteParameter {
            name: name.clone(),
            index: k - slot.offset,
            value: flat[k].to_f64(),
        }
    }

    fn check_input(&self, shape: Shape) -> Result<()> {
        if shape.cols != self.widths[0] {
            return Err(Error::InputWidth {
                expected: self.widths[0],
                got: shape,
            });
        }
        Ok(())
    }

    /// Records the forward pass of the batch `x` (one sample per row) on
    /// `x`'s tape: one affine node and one activation node per layer. The
    /// parameters are recorded as variables, read in place (no copy; the
    /// handles borrow the network until they are dropped); `x` may be a
    /// constant (no input gradient computed) or a variable (seed (5.11)).
    ///
    /// # Errors
    /// [`Error::InputWidth`] unless `x` has `a_0` columns;
    /// [`Error::NonFiniteParameter`] if a parameter is NaN or infinite.
    pub fn forward<'t>(&'t self, tape: &'t Tape<T>, x: Mat<'t, T>) -> Result<Forward<'t, T>> {
        self.record(tape, x, &self.params, None)
    }

    /// [`forward`](Self::forward) in training mode with dropout: after each
    /// hidden layer's activation, inverted dropout with drop probability
    /// `p` ([`Mat::dropout`]; PyTorch's `nn.Dropout(p)` after every hidden
    /// activation), one mask per layer, all drawn from `seed`. Draw a new
    /// seed for every step; [`predict`](Self::predict) and
    /// [`forward`](Self::forward) are the evaluation mode (no dropout), and
    /// `p = 0` is `forward` bitwise. [`TrainConfig::dropout`](crate::TrainConfig::dropout)
    /// does this in the [`Trainer`](crate::train::Trainer).
    ///
    /// # Errors
    /// As [`forward`](Self::forward); [`autodiff::Error::OutOfRange`]
    /// (wrapped) unless `0 <= p < 1`.
    pub fn forward_dropout<'t>(
        &'t self,
        tape: &'t Tape<T>,
        x: Mat<'t, T>,
        p: f64,
        seed: u64,
    ) -> Result<Forward<'t, T>> {
        self.record(tape, x, &self.params, Some((p, seed)))
    }

    /// [`forward`](Self::forward) with the parameters `params` (in the
    /// layout of [`params`](Self::params)) instead of the network's own:
    /// for methods that take the gradient at a shifted point (Nesterov's
    /// `W + nu Z`, seed (5.19)).
    ///
    /// # Errors
    /// As [`forward`](Self::forward); [`Error::LengthMismatch`] unless
    /// `params` has one value per parameter.
    pub fn forward_at<'t>(
        &self,
        tape: &'t Tape<T>,
        x: Mat<'t, T>,
        params: &'t [T],
    ) -> Result<Forward<'t, T>> {
        if params.len() != self.params.len() {
            return Err(Error::LengthMismatch {
                what: "Mlp::forward_at (parameters)",
                expected: self.params.len(),
                got: params.len(),
            });
        }
        self.record(tape, x, params, None)
    }

    /// The forward pass with the parameters `flat`, and inverted dropout
    /// `(p, seed)` after the hidden layers if given.
    pub(crate) fn record<'t>(
        &self,
        tape: &'t Tape<T>,
        x: Mat<'t, T>,
        flat: &'t [T],
        dropout: Option<(f64, u64)>,
    ) -> Result<Forward<'t, T>> {
        self.check_input(x.shape())?;
        // The parameters are read in place (no copy), and their gradients
        // come back as one slice in the layout of `params`
        // (Forward::gradient).
        let shapes: SmallVec<[Shape; 16]> = self.slots.values().map(|s| s.shape).collect();
        let params = tape.mats_borrowed(&shapes, flat)?;
        if !params.all_finite() {
            return Err(self.non_finite(flat));
        }
        if let Some((p, _)) = dropout {
            // (Checked here too for a network without hidden layers.)
            autodiff::mat::check_drop_probability(p)?;
        }
        // One mask seed per hidden layer, drawn from the given seed.
        let mut seeds = dropout.map(|(p, seed)| (p, StdRng::seed_from_u64(seed)));
        let last = self.activations.len() - 1;
        let mut h = x;
        for (r, &act) in self.activations.iter().enumerate() {
            h = act.apply(h.try_affine(params.get(2 * r), Some(params.get(2 * r + 1)))?);
            if let (Some((p, rng)), true) = (&mut seeds, r < last) {
                h = h.try_dropout(*p, rng.next_u64())?;
            }
        }
        Ok(Forward { output: h, params })
    }

    /// The network's output for the batch `x` (`rows x a_0`, row-major),
    /// in plain arithmetic with no tape: the same kernel calls and rules as
    /// [`forward`](Self::forward), so the same numbers.
    ///
    /// # Errors
    /// [`Error::InputLength`] unless `x.len()` is a multiple of `a_0`;
    /// [`Error::NonFiniteParameter`] if a parameter is NaN or infinite.
    pub fn predict(&self, x: &[T]) -> Result<Matrix<T>> {
        let a0 = self.widths[0];
        if !x.len().is_multiple_of(a0) {
            return Err(Error::InputLength {
                expected: a0,
                got: x.len(),
            });
        }
        self.check_finite()?;
        let n = x.len() / a0;
        let mut h = x.to_vec();
        for (r, &act) in self.activations.iter().enumerate() {
            let (i, o) = (self.widths[r], self.widths[r + 1]);
            let (ws, bs) = (self.slots[2 * r], self.slots[2 * r + 1]);
            let b = &self.params[bs.range()];
            let mut z = Vec::with_capacity(n * o);
            for _ in 0..n {
                z.extend_from_slice(b);
            }
            T::gemm(
                n,
                i,
                o,
                T::one(),
                &h,
                i,
                1,
                &self.params[ws.range()],
                1,
                i,
                T::one(),
                &mut z,
                o,
                1,
            );
            act.apply_slice(&mut z);
            h = z;
        }
        Ok(Matrix::new(
            n,
            *self.widths.last().expect("two widths at least"),
            h,
        )?)
    }

    /// The class probabilities of each row of `x`: the softmax of the
    /// network's outputs (the logits that [`Loss::CrossEntropy`] takes; as
    /// `torch.softmax(model(x), dim=1)`), computed stably (each row's
    /// maximum subtracted first). Each row of finite outputs sums to 1 up
    /// to rounding. A row holding a NaN or a `+inf` output, or only `-inf`
    /// ones (from a NaN or infinite input, or an overflow inside the
    /// network), comes out as NaN probabilities, as from `torch.softmax`
    /// and `jax.nn.softmax`, not as an error: [`classify`](Self::classify)
    /// refuses a NaN output.
    ///
    /// ```
    /// use nn::{Activation, Mlp};
    /// let mlp = Mlp::<f64>::builder(&[2, 4, 3]).hidden(Activation::Tanh).seed(0).build()?;
    /// let p = mlp.predict_proba(&[0.5, -1.0, 2.0, 0.0])?;
    /// assert_eq!((p.rows(), p.cols()), (2, 3));
    /// for i in 0..2 {
    ///     assert!((p.row(i).iter().sum::<f64>() - 1.0).abs() < 1e-12);
    /// }
    /// assert_eq!(mlp.classify(&[0.5, -1.0])?[0], {
    ///     let r = p.row(0);
    ///     (0..3).fold(0, |b, j| if r[j] > r[b] { j } else { b })
    /// });
    /// // A NaN input: NaN probabilities, which `classify` refuses.
    /// assert!(mlp.predict_proba(&[f64::NAN, 0.0])?.row(0).iter().all(|v| v.is_nan()));
    /// assert!(mlp.classify(&[f64::NAN, 0.0]).is_err());
    /// # Ok::<(), nn::Error>(())
    /// ```
    ///
    /// [`Loss::CrossEntropy`]: crate::Loss::CrossEntropy
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn predict_proba(&self, x: &[T]) -> Result<Matrix<T>> {
        let mut out = self.predict(x)?;
        let cols = out.cols();
        for row in out.as_mut_slice().chunks_mut(cols) {
            let m = row
                .iter()
                .copied()
                .fold(row[0], |a, b| if b > a { b } else { a });
            let mut s = T::zero();
            for v in row.iter_mut() {
                *v = (*v - m).exp();
                s += *v;
            }
            row.iter_mut().for_each(|v| *v /= s);
        }
        Ok(out)
    }

    /// The predicted class of each row of `x`: the index of the largest
    /// output (the first on a tie).
    ///
    /// # Errors
    /// As [`predict`](Self::predict); [`Error::NonFiniteOutput`] for a row
    /// whose outputs hold a NaN (no class is largest), naming the row and,
    /// when there is one, its non-finite input.
    pub fn classify(&self, x: &[T]) -> Result<Vec<usize>> {
        let out = self.predict(x)?;
        argmax_rows(&out).map_err(|(row, value)| {
            let a0 = self.widths[0];
            let input = x[row * a0..(row + 1) * a0]
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
                .map(|(j, v)| (j, v.to_f64()));
            Error::NonFiniteOutput { row, value, input }
        })
    }

    /// The fraction of rows of `x` classified as their label.
    ///
    /// # Errors
    /// As [`classify`](Self::classify); [`Error::Targets`] unless there is
    /// one label per row, each below the number of outputs;
    /// [`Error::EmptyData`] for no row (the fraction would be NaN).
    pub fn accuracy(&self, x: &[T], labels: &[usize]) -> Result<f64> {
        let classes = *self.widths.last().expect("two widths at least");
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
            return Err(Error::Targets(format!(
                "label {l} of row {i} is out of range: the network has {classes} outputs, classes 0..{classes}"
            )));
        }
        let pred = self.classify(x)?;
        if pred.len() != labels.len() {
            return Err(Error::Targets(format!(
                "{} labels for {} samples",
                labels.len(),
                pred.len()
            )));
        }
        if pred.is_empty() {
            return Err(Error::EmptyData { what: "evaluation" });
        }
        Ok(fraction_right(&pred, labels))
    }

    /// The gradient of the loss with respect to the input batch `x`
    /// (seed (5.11)), e.g. for sensitivity analysis: a matrix of `x`'s shape.
    ///
    /// # Errors
    /// As [`forward`](Self::forward) and [`Loss::apply`](crate::Loss::apply).
    pub fn input_gradient(
        &self,
        x: &[T],
        targets: crate::BatchTargets<'_, T>,
        loss: crate::Loss,
    ) -> Result<Matrix<T>> {
        let a0 = self.widths[0];
        let tape = Tape::new();
        if !x.len().is_multiple_of(a0) {
            return Err(Error::InputLength {
                expected: a0,
                got: x.len(),
            });
        }
        let xm = tape.mat(Shape::new(x.len() / a0, a0), x)?;
        let out = self.forward(&tape, xm)?;
        let l = loss.apply(out.output, targets)?;
        Ok(tape.backward(l).matrix(xm))
    }
}

/// The fraction of `pred` equal to `labels`, entry by entry (of the same,
/// non-zero length).
pub(crate) fn fraction_right(pred: &[usize], labels: &[usize]) -> f64 {
    pred.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / pred.len() as f64
}

/// The index of the largest value of each row of `out` (the first on a
/// tie), or the first row holding a NaN, with the NaN.
pub(crate) fn argmax_rows<T: Float>(
    out: &Matrix<T>,
) -> std::result::Result<Vec<usize>, (usize, f64)> {
    // One allocation of the final size (collecting into a `Result` would
    // grow the vector by doubling: a count that depends on the rows).
    let mut classes = Vec::with_capacity(out.rows());
    for i in 0..out.rows() {
        let row = out.row(i);
        if let Some(v) = row.iter().find(|v| v.to_f64().is_nan()) {
            return Err((i, v.to_f64()));
        }
        classes.push((0..row.len()).fold(0, |best, j| if row[j] > row[best] { j } else { best }));
    }
    Ok(classes)
}
