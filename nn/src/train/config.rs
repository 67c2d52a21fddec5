//! How to train: the configuration of a run and what early stopping
//! watches.

use crate::data::BatchOrder;
use crate::Loss;
use optim::Schedule;

/// What early stopping watches, on the test (validation) set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// The test loss, to be minimised.
    TestLoss,
    /// The test accuracy, to be maximised.
    TestAccuracy,
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
/// ([`Error::EarlyStopping`](crate::Error::EarlyStopping)) when given no test set, and `TestAccuracy`
/// on regression data.
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
    /// The loss phi of (5.1) and its reduction over a batch.
    pub loss: Loss,
    /// A learning-rate schedule applied before every step (by step count).
    pub schedule: Option<Schedule>,
    /// Early stopping on the test set, if any.
    pub early_stopping: Option<EarlyStopping>,
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
            clip_grad_norm: None,
            dropout: None,
        }
    }
}
