//! One step of the training loop, and what follows an epoch: its report,
//! the optimizer's energy, early stopping.

use crate::data::{Dataset, Targets};
use crate::{BatchTargets, Error, Result};
use autodiff::{Real, Shape};

use super::{evaluate, EpochReport, Scalar, Trainer, EPOCH_START, LAST_STEP};

/// Domain tag mixed into the dropout masks' seed (see `BATCH_STREAM` in
/// the batches).
const DROPOUT_STREAM: u64 = 0x6472_6f70_6f75_7421; // "dropout!"

impl<T: Scalar> Trainer<T> {
    /// One optimizer step on the mini-batch `idx`; returns its loss and,
    /// when clipping, the gradient's norm before clipping.
    pub(super) fn step(
        &mut self,
        data: &Dataset<T>,
        idx: &[usize],
        epoch: usize,
        step: usize,
    ) -> Result<(f64, Option<f64>)> {
        let refused = |source| Error::Step {
            epoch,
            step,
            source,
        };
        if let Some(s) = &self.config.schedule {
            s.apply(self.optimizer.as_mut()).map_err(refused)?;
        }
        let targets = match data.targets() {
            Targets::Classes { .. } => {
                data.gather(idx, &mut self.features, &mut self.labels)?;
                BatchTargets::Classes(&self.labels)
            }
            Targets::Values(_) => {
                data.gather_values(idx, &mut self.features, &mut self.values)?;
                BatchTargets::Values(&self.values)
            }
        };
        // Nesterov (5.19) takes the gradient at a shifted point.
        let shifted = self
            .optimizer
            .gradient_point(self.mlp.params(), &mut self.shifted)
            .map_err(refused)?;
        self.tape.clear();
        let x = self
            .tape
            .mat_const(Shape::new(idx.len(), data.n_features()), &self.features)?;
        // Dropout masks from the seed and the step count (restored with the
        // optimizer's state), so a resumed run draws the same ones; tagged,
        // so that they are not the stream of another use of the seed (the
        // initialisation, the batches).
        let dropout = self.config.dropout.map(|p| {
            let step = self.optimizer.steps();
            let tagged = self.config.seed ^ DROPOUT_STREAM;
            (p, tagged ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        });
        let params = if shifted {
            &self.shifted
        } else {
            self.mlp.params()
        };
        let out = self.mlp.record(&self.tape, x, params, dropout)?;
        let loss = self.config.loss.apply(out.output, targets)?;
        let value = Real::to_f64(loss.value());
        if !value.is_finite() {
            return Err(Error::NonFinite {
                epoch,
                step,
                what: "loss",
                value,
                kept: EPOCH_START,
            });
        }
        self.tape.backward_into(loss, &mut self.grads);
        let non_finite = |value| Error::NonFinite {
            epoch,
            step,
            what: "gradient",
            value,
            kept: EPOCH_START,
        };
        let norm = match self.config.clip_grad_norm {
            Some(max) => Some(
                optim::clip_grad_norm(out.gradient_mut(&mut self.grads), max).map_err(
                    |e| match e {
                        optim::Error::NonFiniteGradient { value, .. } => non_finite(value),
                        e => refused(e),
                    },
                )?,
            ),
            None => None,
        };
        // The gradient is read in place from the tape's gradient store.
        let gradient = out.gradient(&self.grads);
        match self.optimizer.step(self.mlp.params_mut(), gradient) {
            Err(optim::Error::NonFiniteGradient { .. }) => {
                let value = gradient
                    .iter()
                    .map(|&g| Real::to_f64(g))
                    .find(|g| !g.is_finite())
                    .unwrap_or(f64::NAN);
                return Err(non_finite(value));
            }
            r => r.map_err(refused)?,
        }
        Ok((value, norm))
    }

    /// The first non-finite parameter, if a step made one.
    pub(super) fn non_finite_parameter(&self) -> Option<f64> {
        if autodiff::all_finite(self.mlp.params()) {
            return None;
        }
        let mut bad = self.mlp.params().iter().map(|&p| Real::to_f64(p));
        Some(bad.find(|p| !p.is_finite()).unwrap_or(f64::NAN))
    }

    pub(super) fn report(
        &mut self,
        epoch: usize,
        steps: usize,
        batch_loss: f64,
        seconds: f64,
        train: &Dataset<T>,
        test: Option<&Dataset<T>>,
    ) -> Result<EpochReport> {
        let (train_loss, train_accuracy) = evaluate(&self.mlp, self.config.loss, train)?;
        let (test_loss, test_accuracy) = match test {
            Some(t) => {
                let (l, a) = evaluate(&self.mlp, self.config.loss, t)?;
                (Some(l), a)
            }
            None => (None, None),
        };
        // Finite parameters can still overflow the loss over a whole set.
        for (what, l) in [
            ("loss on the training set", Some(train_loss)),
            ("loss on the test set", test_loss),
        ] {
            if let Some(l) = l.filter(|l| !l.is_finite()) {
                return Err(Error::NonFinite {
                    epoch,
                    step: steps,
                    what,
                    value: l,
                    kept: LAST_STEP,
                });
            }
        }
        Ok(EpochReport {
            epoch,
            batch_loss,
            train_loss,
            train_accuracy,
            test_loss,
            test_accuracy,
            energy: self.energy(train, train_loss)?,
            learning_rate: self.optimizer.learning_rate(),
            seconds,
            grad_norm: None,
        })
    }

    /// The optimizer's energy, given `J` at the parameters: evaluated again
    /// at the gradient point where the method takes its gradient elsewhere
    /// (Nesterov's lookahead, (5.19)-(5.20)).
    pub(super) fn energy(&mut self, train: &Dataset<T>, j_at_params: f64) -> Result<Option<f64>> {
        let j = if self
            .optimizer
            .gradient_point(self.mlp.params(), &mut self.shifted)?
        {
            self.mlp.params_mut().swap_with_slice(&mut self.shifted);
            let j = evaluate(&self.mlp, self.config.loss, train);
            self.mlp.params_mut().swap_with_slice(&mut self.shifted);
            j?.0
        } else {
            j_at_params
        };
        Ok(self.optimizer.energy(j))
    }

    pub(super) fn early_stop(
        &self,
        report: &EpochReport,
        best: &mut Option<(f64, Vec<T>)>,
        since_best: &mut usize,
    ) -> bool {
        let Some(es) = self.config.early_stopping else {
            return false;
        };
        // Minimise the loss, maximise the accuracy (as its negative).
        let value = es
            .metric
            .value(report)
            .map(|v| if es.metric.maximised() { -v } else { v });
        let Some(value) = value else { return false };
        if best.as_ref().is_none_or(|(b, _)| value < b - es.min_delta) {
            *best = Some((value, self.mlp.params().to_vec()));
            *since_best = 0;
            false
        } else {
            *since_best += 1;
            *since_best >= es.patience
        }
    }
}
