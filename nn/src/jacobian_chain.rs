//! The seed's closed-form back-propagation, (5.11)-(5.15), with plain
//! matrices and no tape: an independent reference for the tape's gradients,
//! and the book's formulas in runnable form.
//!
//! # Conventions (SEED-NOTES 1 and 2)
//! - Layer `r` (`0 <= r <= p`) maps `x_r` in `R^{a_r}` to
//!   `z_r = W_r x_r + b_r`, with `W_r` of shape `(a_{r+1}, a_r)` and `b_r`
//!   in `R^{a_{r+1}}`; then `x_{r+1} = S_r(z_r)`. The input is `x_0 = x`
//!   and the output is `f = x_{p+1}`; the output activation `S_p` is the
//!   identity unless the network asks for another one, so that `f = z_p`.
//! - Every gradient is returned **in the shape of its parameter**, as
//!   PyTorch and JAX do: `grad W_r` has shape `(a_{r+1}, a_r)`. The seed's
//!   Notation 5.1.4 stores it transposed, in `M_{a_r, a_{r+1}}`; ours is
//!   the transpose of the seed's (5.13).
//! - `delta_r` is the gradient with respect to `z_r` (a column), which is
//!   the gradient with respect to `b_r` (5.12).
//!
//! # The formulas
//! ```text
//! delta_p     = S_p'(z_p) * grad phi(f)                        (5.12), r = p
//! delta_{r-1} = S_{r-1}'(z_{r-1}) * (W_r^T delta_r)            (5.14)
//! grad b_r    = delta_r                                        (5.12)
//! grad W_r    = delta_r x_r^T        (shape (a_{r+1}, a_r))    (5.13)
//! grad x      = W_0^T delta_0                                  (5.11)
//! grad J      = sum over the samples of the above              (5.15)
//! ```
//! `*` is the elementwise product: the Jacobian of `S` is diagonal and is
//! never built. The derivatives `S'` are written out here by hand (not taken
//! from the tape's rules), so that agreement with the tape is evidence.
//!
//! ```
//! use nn::jacobian_chain::{self, Layers};
//! use nn::{Activation, BatchTargets, Loss, Mlp};
//! use autodiff::Reduction;
//!
//! let mlp = Mlp::<f64>::builder(&[2, 3, 2]).hidden(Activation::Tanh).seed(3).build()?;
//! let layers = Layers::from_mlp(&mlp);
//!
//! // One sample, least squares phi(f) = |f - y|^2 / 2, so grad phi = f - y.
//! let (x, y) = ([0.5, -1.0], [1.0, 0.0]);
//! let g = layers.gradients(&x, |f| jacobian_chain::least_squares_grad(f, &y))?;
//! assert_eq!(g.weights[0].shape(), mlp.weight(0).shape()); // (a_1, a_0) = (3, 2)
//! assert_eq!(g.input.len(), 2);
//!
//! // A batch, with the loss value and the gradients in Mlp::params' layout.
//! let xs = [0.5, -1.0, 0.25, 2.0];
//! let (loss, g) = layers.batch_gradients(&xs, BatchTargets::Classes(&[1, 0]), Loss::CrossEntropy(Reduction::Sum))?;
//! assert!(loss > 0.0);
//! assert_eq!(g.flat().len(), mlp.num_params());
//! # Ok::<(), nn::Error>(())
//! ```

use crate::{Activation, BatchTargets, Error, Loss, Mlp, Result};
use autodiff::{Float, Matrix, Reduction, Shape};

/// The weights, biases and activations of a network, copied out as plain
/// matrices: `W_r` of shape `(a_{r+1}, a_r)`, `b_r` of length `a_{r+1}`,
/// `S_r` after layer `r` (the last is the output's).
#[derive(Clone, Debug, PartialEq)]
pub struct Layers<T> {
    weights: Vec<Matrix<T>>,
    biases: Vec<Vec<T>>,
    activations: Vec<Activation>,
}

/// One sample's forward pass, keeping what the backward recursion needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace<T> {
    /// `z_r = W_r x_r + b_r`, for `r = 0..=p`.
    pub z: Vec<Vec<T>>,
    /// `x_0 = x` (the input), `x_{r+1} = S_r(z_r)`; `x_{p+1}` is the output
    /// `f`. One more entry than `z`.
    pub x: Vec<Vec<T>>,
}

impl<T: Float> Trace<T> {
    /// The network's output `f = x_{p+1}`.
    pub fn output(&self) -> &[T] {
        self.x.last().expect("a trace holds at least the input")
    }
}

/// Gradients of a loss with respect to every parameter and to the input,
/// each in the shape of what it differentiates (the transpose of the seed's
/// Notation 5.1.4 for the weights).
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients<T> {
    /// `grad W_r = delta_r x_r^T` (5.13), shape `(a_{r+1}, a_r)` like `W_r`.
    pub weights: Vec<Matrix<T>>,
    /// `grad b_r = delta_r` (5.12), length `a_{r+1}`.
    pub biases: Vec<Vec<T>>,
    /// `grad x = W_0^T delta_0` (5.11): length `a_0` for one sample,
    /// row-major `(batch, a_0)` for a batch (row `i` is the gradient with
    /// respect to sample `i`).
    pub input: Vec<T>,
}

/// One sample's gradients (see [`Gradients`]).
pub type SampleGradients<T> = Gradients<T>;

impl<T: Float> Gradients<T> {
    /// The parameter gradients in the flat layout of
    /// [`Mlp::params`]: `W_0, b_0, W_1, b_1, ...`, each row-major.
    pub fn flat(&self) -> Vec<T> {
        let mut out = Vec::new();
        for (w, b) in self.weights.iter().zip(&self.biases) {
            out.extend_from_slice(w.as_slice());
            out.extend_from_slice(b);
        }
        out
    }

    fn zeros_like(layers: &Layers<T>, input_len: usize) -> Self {
        Gradients {
            weights: layers
                .weights
                .iter()
                .map(|w| Matrix::zeros(w.rows(), w.cols()))
                .collect(),
            biases: layers
                .biases
                .iter()
                .map(|b| vec![T::zero(); b.len()])
                .collect(),
            input: vec![T::zero(); input_len],
        }
    }
}

/// `S(z)` by hand (plain math; the stable forms of sigmoid and softplus).
fn act_value<T: Float>(a: Activation, z: T) -> T {
    let zero = T::zero();
    let one = T::one();
    match a {
        Activation::Identity => z,
        Activation::Sigmoid => sigmoid(z),
        Activation::Tanh => z.tanh(),
        Activation::Relu { .. } => {
            if z > zero {
                z
            } else if z <= zero {
                zero
            } else {
                z // NaN propagates
            }
        }
        // ln(1 + e^z) = max(z, 0) + ln(1 + e^-|z|)
        Activation::Softplus => {
            let m = if z > zero { z } else { zero };
            let e = (-z.abs()).exp();
            // ln(1 + e) accurate for small e: ln(1+e) = e * ln(u) / (u - 1) with u = 1 + e.
            let u = one + e;
            let l = if u == one { e } else { e * u.ln() / (u - one) };
            m + l
        }
        Activation::LeakyRelu { slope } => {
            if z > zero {
                z
            } else {
                T::from_f64(slope) * z
            }
        }
        Activation::Silu => z * sigmoid(z),
        Activation::Gelu => z * normal_cdf(z),
    }
}

/// `Phi(z) = erfc(-z / sqrt 2) / 2`, the standard normal distribution
/// function.
fn normal_cdf<T: Float>(z: T) -> T {
    T::from_f64(0.5) * (-z / T::from_f64(std::f64::consts::SQRT_2)).erfc()
}

fn sigmoid<T: Float>(z: T) -> T {
    let one = T::one();
    if z >= T::zero() {
        one / (one + (-z).exp())
    } else {
        let e = z.exp();
        e / (one + e)
    }
}

/// `S'(z)` by hand, given `s = S(z)`: sigmoid `s (1 - s)`; tanh `1 - s^2`;
/// ReLU `[z > 0]`, and `at_zero` at exactly 0 (Remark 5.1.10); softplus the
/// sigmoid of `z`; leaky ReLU 1 for `z > 0`, else the slope; SiLU
/// `S + z S (1 - S)` with `S` the sigmoid; GELU `Phi(z) + z phi(z)`;
/// identity 1.
fn act_derivative<T: Float>(a: Activation, z: T, s: T) -> T {
    let one = T::one();
    match a {
        Activation::Identity => one,
        Activation::Sigmoid => s * (one - s),
        Activation::Tanh => one - s * s,
        Activation::Relu { at_zero } => {
            if z > T::zero() {
                one
            } else if z == T::zero() {
                T::from_f64(at_zero)
            } else if z < T::zero() {
                T::zero()
            } else {
                z // NaN
            }
        }
        Activation::Softplus => sigmoid(z),
        Activation::LeakyRelu { slope } => {
            if z > T::zero() {
                one
            } else {
                T::from_f64(slope)
            }
        }
        Activation::Silu => {
            let sg = sigmoid(z);
            sg + z * sg * (one - sg)
        }
        Activation::Gelu => {
            let density = (-z * z / T::from_f64(2.0)).exp()
                / T::from_f64((2.0 * std::f64::consts::PI).sqrt());
            normal_cdf(z) + z * density
        }
    }
}

/// `grad phi(f) = f - y` for least squares `phi(f) = |f - y|^2 / 2`.
///
/// # Panics
/// If `f` and `y` differ in length.
pub fn least_squares_grad<T: Float>(f: &[T], y: &[T]) -> Vec<T> {
    assert_eq!(
        f.len(),
        y.len(),
        "least squares: output and target lengths differ"
    );
    f.iter().zip(y).map(|(&f, &y)| f - y).collect()
}

/// `phi(f) = |f - y|^2 / 2`.
///
/// # Panics
/// If `f` and `y` differ in length.
pub fn least_squares_value<T: Float>(f: &[T], y: &[T]) -> T {
    assert_eq!(
        f.len(),
        y.len(),
        "least squares: output and target lengths differ"
    );
    f.iter().zip(y).map(|(&f, &y)| (f - y) * (f - y)).sum::<T>() * T::from_f64(0.5)
}

/// `softmax(f)`, computed stably (the row maximum is subtracted first).
pub fn softmax<T: Float>(f: &[T]) -> Vec<T> {
    let m = f
        .iter()
        .copied()
        .fold(f[0], |a, b| if b > a { b } else { a });
    let e: Vec<T> = f.iter().map(|&v| (v - m).exp()).collect();
    let s: T = e.iter().copied().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// `grad phi(f) = softmax(f) - onehot(label)` for the softmax cross-entropy
/// `phi(f) = -ln softmax(f)_label`.
///
/// # Panics
/// If `label >= f.len()`.
pub fn cross_entropy_grad<T: Float>(f: &[T], label: usize) -> Vec<T> {
    assert!(
        label < f.len(),
        "cross-entropy: label {label} out of range for {} classes",
        f.len()
    );
    let mut p = softmax(f);
    p[label] -= T::one();
    p
}

/// The label-smoothed cross-entropy and its gradient, as the mixture
/// `(1 - eps) phi_label + (eps / K) sum_k phi_k` of the plain ones (a
/// reference: `K` plain evaluations per sample, not the fused rule's one).
fn smoothed_cross_entropy<T: Float>(f: &[T], label: usize, eps: f64) -> (T, Vec<T>) {
    let (a, b) = (T::from_f64(1.0 - eps), T::from_f64(eps / f.len() as f64));
    let mut value = a * cross_entropy_value(f, label);
    let mut grad: Vec<T> = cross_entropy_grad(f, label)
        .into_iter()
        .map(|g| a * g)
        .collect();
    for k in 0..f.len() {
        value += b * cross_entropy_value(f, k);
        for (g, gk) in grad.iter_mut().zip(cross_entropy_grad(f, k)) {
            *g += b * gk;
        }
    }
    (value, grad)
}

/// `phi(f) = -ln softmax(f)_label = logsumexp(f) - f_label`, stably.
///
/// # Panics
/// If `label >= f.len()`.
pub fn cross_entropy_value<T: Float>(f: &[T], label: usize) -> T {
    assert!(
        label < f.len(),
        "cross-entropy: label {label} out of range for {} classes",
        f.len()
    );
    let m = f
        .iter()
        .copied()
        .fold(f[0], |a, b| if b > a { b } else { a });
    // ln of the sum as ln_1p of the terms but the (first) maximum's 1.
    let top = f.iter().position(|&v| v == m);
    let rest: T = f
        .iter()
        .enumerate()
        .filter(|&(j, _)| Some(j) != top)
        .map(|(_, &v)| (v - m).exp())
        .sum();
    (m - f[label]) + rest.ln_1p()
}

impl<T: Float> Layers<T> {
    /// The layers of `mlp`: `W_r = mlp.weight(r)`, `b_r = mlp.bias(r)`, and
    /// its activations.
    pub fn from_mlp(mlp: &Mlp<T>) -> Self {
        let n = mlp.num_layers();
        Layers {
            weights: (0..n).map(|r| mlp.weight(r)).collect(),
            biases: (0..n).map(|r| mlp.bias(r).to_vec()).collect(),
            activations: mlp.activations().to_vec(),
        }
    }

    /// Layers from their parts: `weights[r]` of shape `(a_{r+1}, a_r)`,
    /// `biases[r]` of length `a_{r+1}`, one activation per layer.
    ///
    /// # Errors
    /// [`Error::Architecture`] for no layer, counts that differ, or shapes
    /// that do not chain.
    pub fn new(
        weights: Vec<Matrix<T>>,
        biases: Vec<Vec<T>>,
        activations: Vec<Activation>,
    ) -> Result<Self> {
        if weights.is_empty() || weights.len() != biases.len() || weights.len() != activations.len()
        {
            return Err(Error::Architecture(format!(
                "{} weights, {} biases and {} activations: need the same positive number of each",
                weights.len(),
                biases.len(),
                activations.len()
            )));
        }
        for r in 0..weights.len() {
            if biases[r].len() != weights[r].rows() {
                return Err(Error::Architecture(format!(
                    "layer {r}: W_{r} has shape {} but b_{r} has length {}",
                    weights[r].shape(),
                    biases[r].len()
                )));
            }
            if r > 0 && weights[r].cols() != weights[r - 1].rows() {
                return Err(Error::Architecture(format!(
                    "layer {r}: W_{r} has shape {} but layer {} outputs {} values",
                    weights[r].shape(),
                    r - 1,
                    weights[r - 1].rows()
                )));
            }
        }
        Ok(Layers {
            weights,
            biases,
            activations,
        })
    }

    /// `W_r`, shape `(a_{r+1}, a_r)`.
    pub fn weights(&self) -> &[Matrix<T>] {
        &self.weights
    }

    /// `b_r`, length `a_{r+1}`.
    pub fn biases(&self) -> &[Vec<T>] {
        &self.biases
    }

    /// `S_r`, one per layer (the last is the output's).
    pub fn activations(&self) -> &[Activation] {
        &self.activations
    }

    /// The widths `a_0, ..., a_{p+1}`.
    pub fn widths(&self) -> Vec<usize> {
        std::iter::once(self.weights[0].cols())
            .chain(self.weights.iter().map(|w| w.rows()))
            .collect()
    }

    /// The forward pass of one sample `x` in `R^{a_0}`, keeping every `z_r`
    /// and `x_r` (seed (5.10) with SEED-NOTES convention 2).
    ///
    /// # Errors
    /// [`Error::InputWidth`] unless `x.len() == a_0`.
    pub fn forward_trace(&self, x: &[T]) -> Result<Trace<T>> {
        let a0 = self.weights[0].cols();
        if x.len() != a0 {
            return Err(Error::InputWidth {
                expected: a0,
                got: Shape::new(1, x.len()),
            });
        }
        let mut trace = Trace {
            z: Vec::with_capacity(self.weights.len()),
            x: vec![x.to_vec()],
        };
        for ((w, b), &act) in self.weights.iter().zip(&self.biases).zip(&self.activations) {
            let h = trace.x.last().expect("x_0 is there");
            let z: Vec<T> = (0..w.rows())
                .map(|i| {
                    let mut s = b[i];
                    for (&wij, &hj) in w.row(i).iter().zip(h) {
                        s += wij * hj;
                    }
                    s
                })
                .collect();
            let next = z.iter().map(|&v| act_value(act, v)).collect();
            trace.z.push(z);
            trace.x.push(next);
        }
        Ok(trace)
    }

    /// The gradients of `phi(f(x))` for one sample `x`, where `phi_grad`
    /// maps the output `f` to `grad phi(f)` (e.g. [`least_squares_grad`],
    /// [`cross_entropy_grad`]):
    ///
    /// - `delta_p = S_p'(z_p) * grad phi(f)` (the output activation, the
    ///   identity by default, so `delta_p = grad phi(f)` (5.12) with `r = p`);
    /// - `delta_{r-1} = S_{r-1}'(z_{r-1}) * (W_r^T delta_r)`, elementwise
    ///   (5.14), from `r = p` down to 1;
    /// - `grad b_r = delta_r` (5.12), `grad W_r = delta_r x_r^T` (5.13, in
    ///   `W_r`'s shape `(a_{r+1}, a_r)`, the transpose of the seed's),
    ///   `grad x = W_0^T delta_0` (5.11).
    ///
    /// # Errors
    /// [`Error::InputWidth`] unless `x.len() == a_0`;
    /// [`Error::LengthMismatch`] unless `phi_grad` returns `a_{p+1}` values.
    pub fn gradients(
        &self,
        x: &[T],
        phi_grad: impl FnOnce(&[T]) -> Vec<T>,
    ) -> Result<Gradients<T>> {
        let trace = self.forward_trace(x)?;
        let g = phi_grad(trace.output());
        let mut out = Gradients::zeros_like(self, x.len());
        self.backward(&trace, &g, T::one(), &mut out, None)?;
        Ok(out)
    }

    /// The backward recursion of one sample, adding `scale` times its
    /// gradients into `out` (the input gradient into `out.input[row]`).
    fn backward(
        &self,
        trace: &Trace<T>,
        gphi: &[T],
        scale: T,
        out: &mut Gradients<T>,
        row: Option<usize>,
    ) -> Result<()> {
        let p = self.weights.len() - 1;
        if gphi.len() != self.weights[p].rows() {
            return Err(Error::LengthMismatch {
                what: "grad phi (one value per output)",
                expected: self.weights[p].rows(),
                got: gphi.len(),
            });
        }
        // delta_p = S_p'(z_p) * grad phi(f)
        let mut delta: Vec<T> = (0..gphi.len())
            .map(|i| {
                act_derivative(self.activations[p], trace.z[p][i], trace.x[p + 1][i])
                    * gphi[i]
                    * scale
            })
            .collect();
        for r in (0..=p).rev() {
            let w = &self.weights[r];
            let xr = &trace.x[r];
            // (5.12) grad b_r = delta_r; (5.13) grad W_r = delta_r x_r^T.
            for (i, &d) in delta.iter().enumerate() {
                out.biases[r][i] += d;
                let gw = &mut out.weights[r].as_mut_slice()[i * w.cols()..(i + 1) * w.cols()];
                for (g, &xj) in gw.iter_mut().zip(xr) {
                    *g += d * xj;
                }
            }
            // W_r^T delta_r, in R^{a_r}
            let mut back = vec![T::zero(); w.cols()];
            for (i, &d) in delta.iter().enumerate() {
                for (b, &wij) in back.iter_mut().zip(w.row(i)) {
                    *b += wij * d;
                }
            }
            if r == 0 {
                // (5.11) grad x = W_0^T delta_0
                let a0 = w.cols();
                let dst = match row {
                    None => &mut out.input[..],
                    Some(k) => &mut out.input[k * a0..(k + 1) * a0],
                };
                for (g, b) in dst.iter_mut().zip(back) {
                    *g += b;
                }
            } else {
                // (5.14) delta_{r-1} = S_{r-1}'(z_{r-1}) * (W_r^T delta_r)
                let act = self.activations[r - 1];
                delta = back
                    .iter()
                    .enumerate()
                    .map(|(j, &b)| act_derivative(act, trace.z[r - 1][j], trace.x[r][j]) * b)
                    .collect();
            }
        }
        Ok(())
    }

    /// The loss of a batch and its gradients, summed over the samples
    /// (5.15) and divided by the batch size for [`Reduction::Mean`]. `x` is
    /// row-major, one sample of `a_0` values per row; the input gradient is
    /// row-major of the same shape. [`Gradients::flat`] gives the parameter
    /// gradients in the layout of [`Mlp::params`].
    ///
    /// # Errors
    /// [`Error::InputWidth`] unless `x.len()` is a multiple of `a_0`;
    /// [`Error::Targets`] for targets of the wrong kind for the loss;
    /// [`Error::Autodiff`] (as the tape reports it) for a wrong number of
    /// targets, a label out of range or a label smoothing outside `[0, 1]`.
    pub fn batch_gradients(
        &self,
        x: &[T],
        targets: BatchTargets<'_, T>,
        loss: Loss,
    ) -> Result<(T, Gradients<T>)> {
        let a0 = self.weights[0].cols();
        let out_w = self.weights[self.weights.len() - 1].rows();
        if !x.len().is_multiple_of(a0) {
            return Err(Error::InputWidth {
                expected: a0,
                got: Shape::new(1, x.len()),
            });
        }
        let n = x.len() / a0;
        let reduction = match (loss, targets) {
            (Loss::LeastSquares(r), BatchTargets::Values(y)) => {
                if y.len() != n * out_w {
                    return Err(autodiff::Error::LengthMismatch {
                        // The tape's message (`Mat::try_least_squares`).
                        what: "least squares (one target per entry of the predictions, row-major)",
                        expected: n * out_w,
                        got: y.len(),
                    }
                    .into());
                }
                r
            }
            (
                Loss::CrossEntropy(r) | Loss::SmoothedCrossEntropy { reduction: r, .. },
                BatchTargets::Classes(labels),
            ) => {
                if let Some(eps) = loss.label_smoothing() {
                    autodiff::mat::check_label_smoothing(eps)?;
                }
                if labels.len() != n {
                    return Err(autodiff::Error::LengthMismatch {
                        what: "softmax cross-entropy (one label per row of the logits)",
                        expected: n,
                        got: labels.len(),
                    }
                    .into());
                }
                if let Some((row, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= out_w) {
                    return Err(autodiff::Error::LabelOutOfRange {
                        row,
                        label,
                        classes: out_w,
                    }
                    .into());
                }
                r
            }
            (Loss::LeastSquares(_), BatchTargets::Classes(_)) => {
                return Err(Error::Targets(
                    "least squares needs real target vectors, got class labels".into(),
                ))
            }
            (
                Loss::CrossEntropy(_) | Loss::SmoothedCrossEntropy { .. },
                BatchTargets::Values(_),
            ) => {
                return Err(Error::Targets(
                    "cross-entropy needs class labels, got real target vectors".into(),
                ))
            }
        };
        let mut grads = Gradients::zeros_like(self, x.len());
        let mut total = T::zero();
        for i in 0..n {
            let trace = self.forward_trace(&x[i * a0..(i + 1) * a0])?;
            let f = trace.output();
            let (value, gphi) = match targets {
                BatchTargets::Values(y) => {
                    let yi = &y[i * out_w..(i + 1) * out_w];
                    (least_squares_value(f, yi), least_squares_grad(f, yi))
                }
                BatchTargets::Classes(labels) => match loss.label_smoothing() {
                    Some(eps) if eps != 0.0 => smoothed_cross_entropy(f, labels[i], eps),
                    _ => (
                        cross_entropy_value(f, labels[i]),
                        cross_entropy_grad(f, labels[i]),
                    ),
                },
            };
            total += value;
            self.backward(&trace, &gphi, T::one(), &mut grads, Some(i))?;
        }
        if reduction == Reduction::Mean && n > 0 {
            let c = T::one() / T::from_f64(n as f64);
            total *= c;
            grads
                .weights
                .iter_mut()
                .for_each(|w| w.as_mut_slice().iter_mut().for_each(|v| *v *= c));
            grads.biases.iter_mut().flatten().for_each(|v| *v *= c);
            grads.input.iter_mut().for_each(|v| *v *= c);
        }
        Ok((total, grads))
    }
}

/// [`Layers::forward_trace`] of `mlp`'s layers.
///
/// # Errors
/// As [`Layers::forward_trace`].
pub fn forward_trace<T: Float>(mlp: &Mlp<T>, x: &[T]) -> Result<Trace<T>> {
    Layers::from_mlp(mlp).forward_trace(x)
}

/// [`Layers::gradients`] of `mlp`'s layers: one sample's gradients by
/// (5.11)-(5.14).
///
/// # Errors
/// As [`Layers::gradients`].
pub fn gradients<T: Float>(
    mlp: &Mlp<T>,
    x: &[T],
    phi_grad: impl FnOnce(&[T]) -> Vec<T>,
) -> Result<Gradients<T>> {
    Layers::from_mlp(mlp).gradients(x, phi_grad)
}

/// [`Layers::batch_gradients`] of `mlp`'s layers: a batch's loss and
/// gradients by (5.11)-(5.15).
///
/// # Errors
/// As [`Layers::batch_gradients`].
pub fn batch_gradients<T: Float>(
    mlp: &Mlp<T>,
    x: &[T],
    targets: BatchTargets<'_, T>,
    loss: Loss,
) -> Result<(T, Gradients<T>)> {
    Layers::from_mlp(mlp).batch_gradients(x, targets, loss)
}
