//! How to train: the configuration of a run and what early stopping and
//! the learning rate's reduction on a plateau watch.

use crate::data::BatchOrder;
use crate::Loss;
use optim::Schedule;

/// What [`EarlyStopping`] and [`ReduceOnPlateau`] watch at the end of each
/// epoch: a metric of the test (validation) set given to
/// [`Trainer::fit`](super::Trainer::fit), or the training loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// The test loss, to be minimised.
    TestLoss,
    /// The test accuracy, to be maximised.
    TestAccuracy,
    /// The loss on the whole training set, to be minimised (for a run
    /// without a test set).
    TrainLoss,
}

impl Metric {
    /// Its name in errors: `"test loss"`, `"test accuracy"`, `"training
    /// loss"`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::TestLoss => "test loss",
            Metric::TestAccuracy => "test accuracy",
            Metric::TrainLoss => "training loss",
        }
    }

    /// Whether larger is better.
    pub fn maximised(self) -> bool {
        self == Metric::TestAccuracy
    }

    /// Its value in an epoch's report (`None` without a test set).
    pub fn value(self, report: &super::EpochReport) -> Option<f64> {
        match self {
            Metric::TestLoss => report.test_loss,
            Metric::TestAccuracy => report.test_accuracy,
            Metric::TrainLoss => Some(report.train_loss),
        }
    }
}

/// Multiplies the learning rate by `factor` when the watched metric has not
/// improved for more than `patience` epochs: PyTorch's `ReduceLROnPlateau`
/// with `threshold_mode='rel'`, stepped once per epoch.
///
/// At the end of each epoch, with `best` the best value so far:
///
/// ```text
/// improved  = value < best (1 - threshold)    (a loss; best starts at +inf)
///           | value > best (1 + threshold)    (an accuracy; best starts at -inf)
/// bad       = 0 if improved, else bad + 1 (and best = value if improved)
/// bad       = 0 while cooling down (cooldown epochs after a reduction)
/// if bad > patience: lr = max(lr factor, min_lr), bad = 0, cool down
/// ```
///
/// The new rate applies from the next epoch's first step (the epoch's
/// [`EpochReport::learning_rate`](super::EpochReport::learning_rate)
/// shows it then). It is the optimizer's rate, so a checkpoint saved
/// afterwards holds it and a resumed run goes on with it; the counters,
/// like [`EarlyStopping`]'s, live in one call of
/// [`Trainer::fit`](super::Trainer::fit) and start afresh. Unlike PyTorch
/// (`eps = 1e-8`), any reduction applies, however small.
///
/// With [`optim::ParamGroups`], the rate is the first group's and the
/// others keep their ratio to it (as with a schedule): `min_lr` bounds the
/// first group's rate, where PyTorch reduces each group's rate apart, each
/// to at least `min_lr`.
///
/// [`Trainer::fit`](super::Trainer::fit) refuses it
/// ([`Error::Plateau`](crate::Error::Plateau)) with a
/// [`TrainConfig::schedule`], which sets the rate before every step, and,
/// as early stopping, without the test set or the classes it watches; a
/// setting out of its range is an [`Error::Config`](crate::Error::Config).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReduceOnPlateau {
    /// The metric watched.
    pub metric: Metric,
    /// The factor the rate is multiplied by, in `(0, 1)`.
    pub factor: f64,
    /// Epochs without improvement tolerated: the rate is reduced on the
    /// `patience + 1`-th.
    pub patience: usize,
    /// The relative improvement that counts, finite and `>= 0`.
    pub threshold: f64,
    /// Epochs after a reduction during which no epoch counts as bad.
    pub cooldown: usize,
    /// The rate is never reduced below this, finite and `>= 0`.
    pub min_lr: f64,
}

impl Default for ReduceOnPlateau {
    /// PyTorch's defaults on the test loss: `factor = 0.1`, `patience = 10`,
    /// `threshold = 1e-4`, `cooldown = 0`, `min_lr = 0`.
    fn default() -> Self {
        ReduceOnPlateau {
            metric: Metric::TestLoss,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
        }
    }
}

/// [`ReduceOnPlateau`]'s counters within one call of `fit`.
#[derive(Debug, Default)]
pub(super) struct Plateau {
    best: Option<f64>,
    bad: usize,
    cooling: usize,
}

impl Plateau {
    /// Takes the epoch's `value` of the watched metric; whether the rate
    /// must be reduced now.
    pub(super) fn reduce_after(&mut self, p: &ReduceOnPlateau, value: f64) -> bool {
        // PyTorch's test, a product from best = -+inf, rounding included: a
        // loss's threshold of 1 or more makes no epoch an improvement, not
        // even the first (inf * 0 is NaN), and NaN never improves.
        let improved = if p.metric.maximised() {
            value > self.best.unwrap_or(f64::NEG_INFINITY) * (1.0 + p.threshold)
        } else {
            value < self.best.unwrap_or(f64::INFINITY) * (1.0 - p.threshold)
        };
        if improved {
            self.best = Some(value);
            self.bad = 0;
        } else {
            self.bad += 1;
        }
        if self.cooling > 0 {
            self.cooling -= 1;
            self.bad = 0;
        }
        if self.bad > p.patience {
            self.bad = 0;
            self.cooling = p.cooldown;
            true
        } else {
            false
        }
    }
}

/// Stop when the metric has not improved by `min_delta` for `patience`
/// epochs, and go back to the best parameters seen. A run that reaches its
/// last epoch without stopping keeps its last parameters (as Keras'
/// `restore_best_weights`). Only the parameters go back: the optimizer's
/// state and [`Trainer::epoch`](super::Trainer::epoch) stay those of the
/// last epoch trained (as Keras), so a checkpoint saved after the stop
/// holds the best network for use, and resumes training from it with the
/// later optimizer state, not as any uninterrupted run would have gone on.
///
/// The best value, its parameters and the count of epochs since live in one
/// call of [`Trainer::fit`](super::Trainer::fit): they are not in checkpoints, and a run resumed
/// from one (or a second `fit`) starts watching afresh, so it may stop
/// later than the uninterrupted run would have. [`Trainer::fit`](super::Trainer::fit) refuses it
/// ([`Error::EarlyStopping`](crate::Error::EarlyStopping)) on a test metric when given no test set,
/// and on `TestAccuracy` with regression data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// The metric watched.
    pub metric: Metric,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The smallest change that counts as an improvement: finite and
    /// `>= 0` (checked by [`Trainer::fit`](super::Trainer::fit)).
    pub min_delta: f64,
}

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Number of epochs (passes over the training set).
    pub epochs: usize,
    /// Samples per mini-batch; at least the data set's size gives
    /// full-batch steps, each on the gradient of the loss over the whole
    /// data set (steepest descent (5.2) with [`optim::GradientDescent`]).
    pub batch_size: usize,
    /// The order of the mini-batches within an epoch.
    pub order: BatchOrder,
    /// Whether a last, shorter batch is dropped.
    pub drop_last: bool,
    /// Seed of the batch order: the same seed gives bitwise the same run.
    pub seed: u64,
    /// The loss phi of (5.1) and its reduction over a batch. The losses the
    /// trainer reports are this loss: with label smoothing
    /// ([`Loss::SmoothedCrossEntropy`]) they include the smoothing term,
    /// as PyTorch's do.
    pub loss: Loss,
    /// A learning-rate schedule applied before every step (by step count).
    pub schedule: Option<Schedule>,
    /// Early stopping on a [`Metric`], if any.
    pub early_stopping: Option<EarlyStopping>,
    /// Reducing the learning rate when a metric stops improving, if at
    /// all (not with a `schedule`).
    pub reduce_on_plateau: Option<ReduceOnPlateau>,
    /// Gradient norm clipping: before every step, a gradient longer than
    /// this (Euclidean norm over all parameters) is scaled down to it
    /// ([`optim::clip_grad_norm`], PyTorch's `clip_grad_norm_`). Finite
    /// and `> 0` (checked by [`Trainer::fit`](super::Trainer::fit)). The epoch reports then
    /// carry the mean norm before clipping ([`EpochReport::grad_norm`](super::EpochReport::grad_norm)).
    pub clip_grad_norm: Option<f64>,
    /// Inverted dropout after every hidden activation in the training
    /// steps ([`Mlp::forward_dropout`](crate::Mlp::forward_dropout),
    /// PyTorch's `nn.Dropout(p)` in training mode), with this drop
    /// probability in `[0, 1)` (checked by [`Trainer::fit`](super::Trainer::fit)). The masks
    /// are drawn from the seed and the optimizer's step count, so a run is
    /// bitwise reproducible and a resumed one continues as if never
    /// stopped. The evaluation after each epoch (the reported losses and
    /// accuracies) runs without dropout, as PyTorch's `eval()` mode.
    pub dropout: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 32,
            order: BatchOrder::Reshuffled,
            drop_last: false,
            seed: 0,
            loss: Loss::default(),
            schedule: None,
            early_stopping: None,
            reduce_on_plateau: None,
            clip_grad_norm: None,
            dropout: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rate after each epoch, from 1, as the trainer applies it.
    fn rates(p: ReduceOnPlateau, values: &[f64]) -> Vec<f64> {
        let (mut plateau, mut lr) = (Plateau::default(), 1.0f64);
        values
            .iter()
            .map(|&v| {
                if plateau.reduce_after(&p, v) {
                    lr = (lr * p.factor).max(p.min_lr);
                }
                lr
            })
            .collect()
    }

    /// `torch.optim.lr_scheduler.ReduceLROnPlateau` (PyTorch 2.15.0) on SGD
    /// with `lr=1.0`, stepped with each value in turn, its rate read after
    /// each step.
    #[test]
    fn the_rate_follows_pytorchs_reduce_lr_on_plateau() {
        let losses = [
            1.0, 0.9, 0.95, 0.9, 0.89995, 0.899, 0.92, 0.91, 0.9, 0.9, 0.5, 0.6, 0.6, 0.6, 0.6,
            0.6, 0.6,
        ];
        let loss = |factor, patience, cooldown, min_lr| ReduceOnPlateau {
            metric: Metric::TrainLoss,
            factor,
            patience,
            threshold: 1e-4,
            cooldown,
            min_lr,
        };
        // mode='min', factor=0.5, patience=1, threshold=1e-4, min_lr=0.1
        // (0.89995 is not 1e-4 better than 0.9; 0.899 is).
        assert_eq!(
            rates(loss(0.5, 1, 0, 0.1), &losses),
            [
                1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125, 0.1, 0.1, 0.1,
                0.1, 0.1
            ]
        );
        // patience=2, cooldown=2.
        assert_eq!(
            rates(loss(0.5, 2, 2, 0.0), &losses),
            [
                1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25, 0.125,
                0.125, 0.125
            ]
        );
        // mode='max', factor=0.1, patience=1, threshold=1e-3, cooldown=1.
        let accuracy = ReduceOnPlateau {
            metric: Metric::TestAccuracy,
            factor: 0.1,
            patience: 1,
            threshold: 1e-3,
            cooldown: 1,
            min_lr: 0.0,
        };
        let accuracies = [
            0.5, 0.6, 0.6, 0.60005, 0.61, 0.61, 0.61, 0.61, 0.7, 0.69, 0.69, 0.69, 0.69,
        ];
        let (r2, r3) = (0.1 * 0.1, 0.1 * 0.1 * 0.1);
        assert_eq!(
            rates(accuracy, &accuracies),
            [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, r2, r2, r2, r2, r3, r3, r3]
        );
        assert_eq!(r2, 0.010000000000000002);
    }

    /// PyTorch (2.15.0) on the same values: 0.7 * 1.1 rounds to 0.77, so
    /// 0.77 is no 10% improvement on 0.7 (`0.7 + 0.7 * 0.1` rounds below
    /// it); with a loss's threshold of 1 nothing improves, the first value
    /// included.
    #[test]
    fn improvement_is_pytorchs_product_test_with_its_rounding_and_its_start() {
        let accuracy = ReduceOnPlateau {
            metric: Metric::TestAccuracy,
            factor: 0.5,
            patience: 0,
            threshold: 0.1,
            cooldown: 0,
            min_lr: 0.0,
        };
        assert_eq!(rates(accuracy, &[0.7, 0.77]), [1.0, 0.5]);
        assert_eq!(rates(accuracy, &[0.7, 0.7700000000000001]), [1.0, 1.0]);
        let loss = ReduceOnPlateau {
            metric: Metric::TrainLoss,
            threshold: 1.0,
            ..accuracy
        };
        assert_eq!(rates(loss, &[1.0, 0.5]), [0.5, 0.25]);
        // A loss exactly at the bound is no improvement: 0.9 (1 - 1e-4)
        // is 0.89991; with threshold 0, an equal loss.
        let loss = ReduceOnPlateau {
            threshold: 1e-4,
            ..loss
        };
        assert_eq!(rates(loss, &[0.9, 0.89991]), [1.0, 0.5]);
        let loss = ReduceOnPlateau {
            threshold: 0.0,
            ..loss
        };
        assert_eq!(rates(loss, &[0.9, 0.9]), [1.0, 0.5]);
    }

    #[test]
    fn each_metric_reads_its_own_field_of_the_report() {
        let report = crate::EpochReport {
            epoch: 0,
            batch_loss: 1.0,
            train_loss: 2.0,
            train_accuracy: Some(0.3),
            test_loss: Some(4.0),
            test_accuracy: Some(0.5),
            energy: None,
            learning_rate: 0.1,
            grad_norm: None,
            seconds: 0.0,
        };
        let read = [Metric::TrainLoss, Metric::TestLoss, Metric::TestAccuracy]
            .map(|m| (m.value(&report), m.maximised()));
        assert_eq!(
            read,
            [(Some(2.0), false), (Some(4.0), false), (Some(0.5), true)]
        );
    }
}
