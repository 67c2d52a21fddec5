//! Softmax cross-entropy with integer labels, fused into one node, with
//! PyTorch's `CrossEntropyLoss` options: label smoothing and class weights.
//!
//! ```text
//! t_ik = (1 - eps) w_{y_i} [k = y_i] + (eps / K) w_k     (the row's target)
//! l_i  = -sum_k t_ik ln softmax(z_i)_k                    (the row's loss)
//! J    = sum_i l_i                     Reduction::Sum
//!      = sum_i l_i / sum_i w_{y_i}     Reduction::Mean (rows, unweighted)
//! dJ/dz_i = c (sum_k t_ik softmax(z_i) - t_i)   c = 1 or 1 / the divisor
//! ```
//!
//! With `w = 1` this is the cross-entropy against the smoothed target
//! `(1 - eps) onehot(y) + eps / K`; with `eps = 0` it is the weighted
//! negative log-likelihood. PyTorch (`aten/src/ATen/native/LossNLL.cpp`,
//! `cross_entropy_loss_label_smoothing`) computes exactly this:
//! `(1 - eps) nll_loss(weight) + (eps / K) sum_k w_k (-log_softmax_k)`, its
//! mean dividing both parts by `sum_i w_{y_i}`.

use super::loss::no_mean_over_nothing;
use super::{MatStore, Op, Sink};
use crate::{Error, Float, Mat, Real, Reduction, Result, Shape, Var};

/// The options of [`Mat::try_softmax_cross_entropy_with`], those of
/// PyTorch's `CrossEntropyLoss(weight, reduction, label_smoothing)` with
/// its defaults (`Default`: mean, no smoothing, no weights).
///
/// ```
/// use autodiff::{CrossEntropy, Reduction};
/// let w = [1.0, 2.0, 0.5];
/// let ce = CrossEntropy::new(Reduction::Mean).with_label_smoothing(0.1).with_weight(&w);
/// assert_eq!((ce.label_smoothing, ce.weight), (0.1, Some(&w[..])));
/// assert_eq!(CrossEntropy::<f64>::default(), CrossEntropy::new(Reduction::Mean));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct CrossEntropy<'w, T> {
    /// How the rows' losses combine: the sum, or the mean (divided by the
    /// number of rows, or with weights by the sum of the labels' weights).
    pub reduction: Reduction,
    /// `eps` in `[0, 1]`: the target is `(1 - eps) onehot(y) + eps / K`
    /// (Szegedy et al. 2016, "Rethinking the Inception Architecture").
    pub label_smoothing: f64,
    /// One weight `w_k >= 0` per class (column), or none (all 1).
    pub weight: Option<&'w [T]>,
}

impl<T> Default for CrossEntropy<'_, T> {
    fn default() -> Self {
        CrossEntropy::new(Reduction::Mean)
    }
}

impl<'w, T> CrossEntropy<'w, T> {
    /// The plain loss (no smoothing, no weights) reduced by `reduction`.
    pub fn new(reduction: Reduction) -> Self {
        CrossEntropy {
            reduction,
            label_smoothing: 0.0,
            weight: None,
        }
    }

    /// With label smoothing `eps` (checked when the loss is recorded).
    pub fn with_label_smoothing(mut self, eps: f64) -> Self {
        self.label_smoothing = eps;
        self
    }

    /// With one weight per class (checked when the loss is recorded).
    pub fn with_weight(mut self, weight: &'w [T]) -> Self {
        self.weight = Some(weight);
        self
    }
}

impl<T> From<Reduction> for CrossEntropy<'_, T> {
    fn from(reduction: Reduction) -> Self {
        CrossEntropy::new(reduction)
    }
}

/// Checks a label smoothing `eps`: in `[0, 1]`, as PyTorch's.
///
/// ```
/// assert!(autodiff::mat::check_label_smoothing(0.1).is_ok());
/// assert!(autodiff::mat::check_label_smoothing(1.5).is_err());
/// assert!(autodiff::mat::check_label_smoothing(f64::NAN).is_err());
/// ```
///
/// # Errors
/// [`Error::OutOfRange`] unless `0 <= eps <= 1` (a NaN is not).
pub fn check_label_smoothing(eps: f64) -> Result<()> {
    if (0.0..=1.0).contains(&eps) {
        Ok(())
    } else {
        Err(Error::OutOfRange {
            what: "cross-entropy: the label smoothing",
            value: eps,
            range: "[0, 1]",
        })
    }
}

/// Checks the options against `classes` columns of logits.
fn check<T: Float>(options: &CrossEntropy<'_, T>, classes: usize) -> Result<()> {
    check_label_smoothing(options.label_smoothing)?;
    if let Some(w) = options.weight {
        if w.len() != classes {
            return Err(Error::LengthMismatch {
                what: "cross-entropy class weights (one per class, a column of the logits)",
                expected: classes,
                got: w.len(),
            });
        }
        if let Some((class, &v)) = w
            .iter()
            .enumerate()
            .find(|(_, &v)| !(v.is_finite() && v >= T::zero()))
        {
            return Err(Error::ClassWeight {
                class,
                value: v.to_f64(),
            });
        }
    }
    Ok(())
}

impl<'t, T: Float> Mat<'t, T> {
    /// Softmax cross-entropy of the logits `self` (one row per sample, one
    /// column per class) against integer class labels, seed (5.1) with
    /// phi_y(z) = -ln softmax(z)_y = logsumexp(z) - z_y, reduced by
    /// `reduction`. Fused for stability: the log-sum-exp subtracts the row
    /// maximum, so large logits neither overflow nor lose the answer.
    /// [`try_softmax_cross_entropy_with`](Self::try_softmax_cross_entropy_with)
    /// with [`CrossEntropy::new(reduction)`](CrossEntropy::new).
    ///
    /// ```text
    /// d/dz = softmax(z) - onehot(y) (times 1/rows for Reduction::Mean)
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless there is one label per row;
    /// [`Error::LabelOutOfRange`] for a label `>= cols`;
    /// [`Error::EmptyInput`] for the mean over a batch of no row (0 / 0;
    /// the sum over it is 0).
    pub fn try_softmax_cross_entropy(
        self,
        labels: &[usize],
        reduction: Reduction,
    ) -> Result<Var<'t, T>> {
        self.try_softmax_cross_entropy_with(labels, CrossEntropy::new(reduction))
    }

    /// Softmax cross-entropy with PyTorch's options (label smoothing `eps`,
    /// class weights `w`; see [`CrossEntropy`]), as
    /// `torch.nn.CrossEntropyLoss(weight=w, reduction=..., label_smoothing=eps)`
    /// on class indices (no `ignore_index`: every row counts):
    ///
    /// ```text
    /// l_i = (1 - eps) w_{y_i} (-ln p_{i,y_i}) + (eps / K) sum_k w_k (-ln p_ik)
    /// Sum: sum_i l_i     Mean: sum_i l_i / sum_i w_{y_i}  (/ rows without weights)
    /// d/dz_i = (sum_k t_ik) p_i - t_i,  t_ik = (1 - eps) w_{y_i} [k = y_i] + (eps / K) w_k
    /// ```
    ///
    /// (times the mean's `1 / divisor`). The value includes the smoothing
    /// term, as PyTorch's: with `eps > 0` a perfect prediction does not
    /// reach 0. Note PyTorch's weighted mean divides by the labels' weights,
    /// not the rows, so it is a weighted average. A term whose target
    /// weight `t_ik` is 0 is left out, so a logit of `-inf` (a masked
    /// class) of weight 0 costs nothing (PyTorch's `0 * inf` gives NaN).
    /// Summed in f64; with `eps = 0` and no weights, bitwise the same as
    /// [`try_softmax_cross_entropy`](Self::try_softmax_cross_entropy).
    ///
    /// ```
    /// use autodiff::{CrossEntropy, Reduction, Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let z = tape.mat(Shape::new(2, 3), &[2.0, 0.0, -1.0, 0.5, 0.5, 3.0])?;
    /// let w = [1.0, 1.0, 4.0];
    /// let ce = CrossEntropy::new(Reduction::Mean).with_label_smoothing(0.1).with_weight(&w);
    /// let loss = z.try_softmax_cross_entropy_with(&[0, 2], ce)?;
    /// let g = tape.backward(loss);
    /// // Each row's gradient sums to 0: (sum_k t_k) p sums to sum_k t_k.
    /// assert!(g[z].to_vec()[..3].iter().sum::<f64>().abs() < 1e-15);
    /// assert!(loss.value() > 0.0);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`try_softmax_cross_entropy`](Self::try_softmax_cross_entropy),
    /// and [`Error::OutOfRange`] for `eps` outside `[0, 1]` or NaN;
    /// [`Error::LengthMismatch`] unless there is one weight per column;
    /// [`Error::ClassWeight`] for a weight negative or not finite;
    /// [`Error::ZeroWeightSum`] for the mean over rows whose labels' weights
    /// sum to 0 (PyTorch returns NaN; a NaN loss would stop training
    /// without saying why, and a batch of only weightless classes is more
    /// likely a slip than an intent: [`Reduction::Sum`] gives 0 there).
    pub fn try_softmax_cross_entropy_with(
        self,
        labels: &[usize],
        options: CrossEntropy<'_, T>,
    ) -> Result<Var<'t, T>> {
        let Shape { rows, cols } = self.shape();
        let reduction = options.reduction;
        check(&options, cols)?;
        no_mean_over_nothing(
            rows,
            reduction,
            "softmax cross-entropy (the mean over a batch of no row)",
        )?;
        if labels.len() != rows {
            return Err(Error::LengthMismatch {
                what: "softmax cross-entropy (one label per row of the logits)",
                expected: rows,
                got: labels.len(),
            });
        }
        if let Some((row, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= cols) {
            return Err(Error::LabelOutOfRange {
                row,
                label,
                classes: cols,
            });
        }
        let eps = options.label_smoothing;
        let plain = eps == 0.0 && options.weight.is_none();
        let w = |k: usize| options.weight.map_or(1.0, |w| w[k].to_f64());
        let divisor = match reduction {
            Reduction::Sum => 1.0,
            Reduction::Mean => labels.iter().map(|&l| w(l)).sum::<f64>(),
        };
        if divisor == 0.0 {
            return Err(Error::ZeroWeightSum { rows });
        }
        // (1 - eps) and eps / K, the target's two coefficients.
        let (a, b) = (1.0 - eps, if eps == 0.0 { 0.0 } else { eps / cols as f64 });
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let loff = st.labels.len();
        st.labels.extend(labels.iter().map(|&l| l as u32));
        // The softmax, and for the backward rule of a smoothed or weighted
        // loss right after it the target's coefficients over the divisor,
        // each computed in f64 and rounded once: [b sum_k w_k, a w_0 ..
        // a w_{K-1}, b w_0 .. b w_{K-1}] / divisor (found from the shape:
        // the op keeps a flag, not an offset). Not 1 / divisor and the
        // weights apart: in f32 a label weight sum below 1 / f32::MAX made
        // 1 / divisor infinite, and a weight sum above f32::MAX times b = 0
        // NaN, gradients of NaN and inf for a finite loss.
        let extra = if plain { 0 } else { 1 + 2 * cols };
        let poff = st.alloc(rows * cols + extra);
        let (below, room) = st.split(poff, rows * cols + extra);
        let (probs, kept) = room.split_at_mut(rows * cols);
        if !plain {
            let wsum: f64 = (0..cols).map(w).sum();
            kept[0] = T::from_f64(b * wsum / divisor);
            let (aw, bw) = kept[1..].split_at_mut(cols);
            for (k, (aw, bw)) in aw.iter_mut().zip(bw).enumerate() {
                (*aw, *bw) = (
                    T::from_f64(a * w(k) / divisor),
                    T::from_f64(b * w(k) / divisor),
                );
            }
        }
        let z = below.of(self);
        // Summed in f64, as least squares (the same in f64).
        let mut total = 0.0f64;
        // `max(1)`: with no classes there are no rows either (a label would
        // be out of range), and chunks of 0 panic.
        for ((zr, pr), &label) in z
            .chunks_exact(cols.max(1))
            .zip(probs.chunks_exact_mut(cols.max(1)))
            .zip(labels)
        {
            let m = zr.iter().copied().fold(zr[0], Real::max);
            // s = 1 + rest, the 1 from the (first) maximum: ln s is
            // ln_1p(rest), exact also where 1 + rest rounds to 1.
            let top = zr.iter().position(|&v| v == m);
            let mut rest = T::zero();
            for (j, (p, &zi)) in pr.iter_mut().zip(zr).enumerate() {
                *p = (zi - m).exp();
                if Some(j) != top {
                    rest += *p;
                }
            }
            let s = T::one() + rest;
            let inv = T::one() / s;
            for p in pr.iter_mut() {
                *p *= inv;
            }
            // logsumexp(z) - z_y = (m - z_y) + ln s, the difference first,
            // so a small loss next to large logits is not lost in `m`. (A
            // NaN logit: no maximum found, ln of the NaN sum.)
            let ln_s = if top.is_some() { rest.ln_1p() } else { s.ln() };
            let nll = |k: usize| ((m - zr[k]) + ln_s).to_f64();
            if plain {
                total += nll(label);
                continue;
            }
            // Terms of target weight 0 left out: 0 * inf would be NaN.
            let ty = a * w(label);
            let mut row = if ty != 0.0 { ty * nll(label) } else { 0.0 };
            if b != 0.0 {
                let smooth: f64 = (0..cols)
                    .filter(|&k| w(k) != 0.0)
                    .map(|k| w(k) * nll(k))
                    .sum();
                row += b * smooth;
            }
            total += row;
        }
        let value = if plain {
            T::from_f64(total * reduction.factor::<f64>(rows))
        } else {
            T::from_f64(total / divisor)
        };
        let off = st.alloc(1);
        st.data[off] = value;
        let grad = self.requires_grad_in(&st);
        let op = Op::SoftmaxCrossEntropy {
            z: self.node(),
            labels: loff,
            probs: poff,
            reduction,
            smoothed_or_weighted: !plain,
            out: tape.next_index(),
        };
        tape.record(&mut st, op, off, Shape::new(1, 1), grad);
        drop(st);
        Ok(tape.scalar_output(value))
    }

    /// [`try_softmax_cross_entropy`](Self::try_softmax_cross_entropy),
    /// panicking on bad labels.
    ///
    /// # Panics
    /// Where [`try_softmax_cross_entropy`](Self::try_softmax_cross_entropy)
    /// returns an error (also the mean over a batch of no row), with its
    /// message.
    #[track_caller]
    pub fn softmax_cross_entropy(self, labels: &[usize], reduction: Reduction) -> Var<'t, T> {
        super::or_panic(self.try_softmax_cross_entropy(labels, reduction))
    }

    /// [`try_softmax_cross_entropy_with`](Self::try_softmax_cross_entropy_with),
    /// panicking on bad labels or options.
    ///
    /// # Panics
    /// Where
    /// [`try_softmax_cross_entropy_with`](Self::try_softmax_cross_entropy_with)
    /// returns an error, with its message.
    #[track_caller]
    pub fn softmax_cross_entropy_with(
        self,
        labels: &[usize],
        options: CrossEntropy<'_, T>,
    ) -> Var<'t, T> {
        super::or_panic(self.try_softmax_cross_entropy_with(labels, options))
    }
}

/// `J = c sum_i -sum_k t_ik ln softmax(z_i)_k`:
/// `dz_i += dJ c ((sum_k t_ik) softmax(z_i) - t_i)`; for the plain loss
/// (`t_i = onehot(y_i)`) `dz += dJ c (softmax(z) - onehot(y))`. Reuses the
/// softmax kept by the forward pass.
pub(super) fn cross_entropy_backward<T: Float>(
    st: &MatStore<T>,
    z: u32,
    (labels, probs, smoothed_or_weighted): (usize, usize, bool),
    reduction: Reduction,
    dj: T,
    out: &mut Sink<'_, T>,
) {
    let Shape { rows, cols } = st.nodes[z as usize].shape;
    let p = &st.data[probs..probs + rows * cols];
    let labels = &st.labels[labels..labels + rows];
    let Some(mut gz) = st.grad_of(z, out) else {
        return;
    };
    if !smoothed_or_weighted {
        let d = dj * reduction.factor(rows);
        gz.update_from(p, move |_, p| d * p);
        for (gr, &label) in gz.g.chunks_exact_mut(cols.max(1)).zip(labels) {
            gr[label as usize] -= d;
        }
        return;
    }
    // Each over the divisor: b sum_k w_k, a w_k and b w_k (a = 1 - eps,
    // b = eps / K).
    let options = probs + rows * cols;
    let bwsum = st.data[options];
    let (aw, bw) = st.data[options + 1..options + 1 + 2 * cols].split_at(cols);
    gz.update(|k| {
        let (y, j) = (labels[k / cols] as usize, k % cols);
        // t_j = b w_j + a w_y [j = y], sum_k t_k = a w_y + b sum_k w_k
        let t = bw[j] + if j == y { aw[y] } else { T::zero() };
        dj * ((aw[y] + bwsum) * p[k] - t)
    });
}

#[cfg(test)]
mod tests {
    use crate::{CrossEntropy, Reduction, Shape, Tape};

    const Z: [f64; 6] = [2.0, 0.0, -1.0, 0.5, 0.5, 3.0];

    /// The gradient of `f(loss)` for the smoothed, weighted loss on `Z`.
    fn grad_of(
        f: impl for<'t> Fn(crate::Var<'t, f64>, crate::Var<'t, f64>) -> crate::Var<'t, f64>,
    ) -> Vec<f64> {
        let tape = Tape::<f64>::new();
        let z = tape.mat(Shape::new(2, 3), &Z).unwrap();
        let w = [1.0, 2.0, 0.5];
        let ce = CrossEntropy::new(Reduction::Mean)
            .with_label_smoothing(0.2)
            .with_weight(&w);
        let a = z.softmax_cross_entropy_with(&[0, 2], ce);
        let b = z.softmax_cross_entropy_with(&[1, 1], ce.with_label_smoothing(0.0));
        tape.backward(f(a, b))[z].to_vec()
    }

    #[test]
    fn the_rule_scales_by_the_upstream_adjoint_and_accumulates_over_uses() {
        let ga = grad_of(|a, _| a);
        let gb = grad_of(|_, b| b);
        let scaled = grad_of(|a, _| a * 3.0);
        let both = grad_of(|a, b| a + b);
        for k in 0..6 {
            assert!(
                (scaled[k] - 3.0 * ga[k]).abs() < 1e-15,
                "{k}: {scaled:?} vs 3 x {ga:?}"
            );
            assert!((both[k] - (ga[k] + gb[k])).abs() < 1e-15, "{k}: {both:?}");
        }
        // A zero adjoint passes nothing on (not 0 * a NaN).
        assert!(grad_of(|a, _| a * 0.0).iter().all(|&g| g == 0.0));
    }
}
