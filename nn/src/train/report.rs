//! What a run reports: per-epoch metrics, the events and callbacks that
//! see it going, and its history.

use super::{Scalar, Trainer};
use std::ops::ControlFlow;

/// The metrics of one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochReport {
    /// The epoch, from 0.
    pub epoch: usize,
    /// The loss of the mini-batches seen during the epoch, over the samples
    /// they held, in the configured reduction's terms: with `Mean`, the mean
    /// per sample (each batch's mean weighted by its size, so a short last
    /// batch counts for what it holds); with `Sum`, the sum over the
    /// samples. Measured with the parameters of each batch's step, before
    /// its update.
    pub batch_loss: f64,
    /// The loss on the whole training set at the end of the epoch.
    pub train_loss: f64,
    /// Training accuracy at the end of the epoch (classification).
    pub train_accuracy: Option<f64>,
    /// The loss on the test set at the end of the epoch.
    pub test_loss: Option<f64>,
    /// Test accuracy at the end of the epoch (classification).
    pub test_accuracy: Option<f64>,
    /// The optimizer's energy (its Lyapunov function of seed section 5.2)
    /// at the end of the epoch, given the training loss, where it has one.
    pub energy: Option<f64>,
    /// The learning rate of the last step.
    pub learning_rate: f64,
    /// With [`TrainConfig::clip_grad_norm`](super::TrainConfig::clip_grad_norm): the mean over the epoch's
    /// steps of the gradient's norm before clipping (compare it with the
    /// bound to see how often clipping acts).
    pub grad_norm: Option<f64>,
    /// Wall-clock seconds of the epoch's steps (evaluation excluded).
    pub seconds: f64,
}

/// What a training run reports while it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// A step finished.
    Step {
        /// The epoch, from 0.
        epoch: usize,
        /// The step within the epoch, from 0.
        step: usize,
        /// Steps in this epoch.
        steps: usize,
        /// The mini-batch loss.
        loss: f64,
    },
    /// An epoch finished.
    Epoch(&'a EpochReport),
}

/// What [`Trainer::fit_with`] calls while it trains: after every step, and
/// after every epoch with the trainer itself, to save a checkpoint, log or
/// look at the network, and to end the run. Both methods default to doing
/// nothing.
///
/// ```
/// use nn::data::two_spirals;
/// use nn::{Activation, Callback, EpochReport, Mlp, TrainConfig, Trainer};
/// use std::ops::ControlFlow;
///
/// /// Stops once the training loss is below a target, keeping the losses.
/// struct StopBelow(f64, Vec<f64>);
/// impl Callback<f64> for StopBelow {
///     fn on_epoch(&mut self, report: &EpochReport, trainer: &Trainer<f64>) -> ControlFlow<()> {
///         self.1.push(report.train_loss);
///         // trainer.save_checkpoint(format!("epoch-{}.safetensors", trainer.epoch())) here
///         if report.train_loss < self.0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
///     }
/// }
/// let data = two_spirals::<f64>(100, 0.0, 1)?;
/// let mlp = Mlp::builder(&[2, 32, 32, 2]).hidden(Activation::Tanh).seed(1).build()?;
/// let adam = optim::Adam::new(1e-2, 0.9, 0.999, 1e-8)?;
/// let mut trainer = Trainer::new(mlp, Box::new(adam), TrainConfig { epochs: 200, batch_size: 20, ..Default::default() });
/// let mut cb = StopBelow(0.5, Vec::new());
/// let history = trainer.fit_with(&data, None, &mut cb)?;
/// assert!(history.stopped_by_callback && cb.1.len() < 200);
/// assert!(*cb.1.last().unwrap() < 0.5);
/// # Ok::<(), nn::Error>(())
/// ```
pub trait Callback<T: Scalar> {
    /// After step `step` (from 0) of `steps` in epoch `epoch` (from 0),
    /// with the mini-batch loss.
    fn on_step(&mut self, epoch: usize, step: usize, steps: usize, loss: f64) {
        let _ = (epoch, step, steps, loss);
    }

    /// After an epoch: its report, and the trainer as it stands (its
    /// [`epoch`](Trainer::epoch) and [`history`](Trainer::history) count
    /// this one, so a checkpoint saved here resumes after it). `ControlFlow::Break(())` ends the run after
    /// this epoch ([`History::stopped_by_callback`]).
    fn on_epoch(&mut self, report: &EpochReport, trainer: &Trainer<T>) -> ControlFlow<()> {
        let _ = (report, trainer);
        ControlFlow::Continue(())
    }
}

/// A closure over [`Event`]s as a [`Callback`] that never ends the run:
/// what [`Trainer::fit`] wraps its closure in, and a start for a callback
/// of one's own that wraps it in turn.
pub struct Observer<F>(pub F);

impl<T: Scalar, F: FnMut(Event<'_>)> Callback<T> for Observer<F> {
    fn on_step(&mut self, epoch: usize, step: usize, steps: usize, loss: f64) {
        (self.0)(Event::Step {
            epoch,
            step,
            steps,
            loss,
        });
    }

    fn on_epoch(&mut self, report: &EpochReport, _: &Trainer<T>) -> ControlFlow<()> {
        (self.0)(Event::Epoch(report));
        ControlFlow::Continue(())
    }
}

/// The outcome of [`Trainer::fit`] (also kept by the trainer, see
/// [`Trainer::history`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One report per epoch run.
    pub epochs: Vec<EpochReport>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Whether a [`Callback`] ended the run.
    pub stopped_by_callback: bool,
    /// Total seconds spent in training steps.
    pub train_seconds: f64,
}
