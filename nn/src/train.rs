//! The training loop: epochs of mini-batch steps (seed section 5.3: one
//! epoch is a splitting scheme of the gradient flow of J), any optimizer of
//! `optim`, per-epoch metrics, early stopping, and a typed stop on a
//! non-finite loss or gradient that keeps the last finite parameters.

use crate::checkpoint::{save_checkpoint, Checkpoint, Progress, TrainingState};
use crate::data::{BatchOrder, Batcher, Dataset, Targets};
use crate::{BatchTargets, Error, Loss, Mlp, Result};
use autodiff::{Grads, Real, Reduction, Shape, Tape};
use optim::{Optimizer, Schedule};
use std::borrow::Cow;
use std::ops::ControlFlow;
use std::time::Instant;

/// `kept` of [`Error::NonFinite`] after a failed step that changed nothing.
const LAST_STEP: &str = "the network and the optimizer are as after the last finite step";
/// `kept` of [`Error::NonFinite`] after a step that made a parameter non-finite.
const EPOCH_START: &str =
    "the network and the optimizer are back as they were at the start of the epoch";

/// The number types training runs in: `f32` and `f64`.
pub trait Scalar: autodiff::Float + optim::Float {}
impl<T: autodiff::Float + optim::Float> Scalar for T {}

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
/// `restore_best_weights`).
///
/// The best value, its parameters and the count of epochs since live in one
/// call of [`Trainer::fit`]: they are not in checkpoints, and a run resumed
/// from one (or a second `fit`) starts watching afresh, so it may stop
/// later than the uninterrupted run would have. [`Trainer::fit`] refuses it
/// ([`Error::EarlyStopping`]) when given no test set, and `TestAccuracy`
/// on regression data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// The metric watched.
    pub metric: Metric,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The smallest change that counts as an improvement: finite and
    /// `>= 0` (checked by [`Trainer::fit`]).
    pub min_delta: f64,
}

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Number of epochs (passes over the training set).
    pub epochs: usize,
    /// Samples per mini-batch; at least the data set's size gives full-batch
    /// steepest descent on J.
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
    /// and `> 0` (checked by [`Trainer::fit`]). The epoch reports then
    /// carry the mean norm before clipping ([`EpochReport::grad_norm`]).
    pub clip_grad_norm: Option<f64>,
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
        }
    }
}

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
    /// With [`TrainConfig::clip_grad_norm`]: the mean over the epoch's
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

/// The [`Callback`] of [`Trainer::fit`]: an observer of [`Event`]s.
struct Observer<F>(F);

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

/// Trains an [`Mlp`] with any [`Optimizer`]: the tape, the gradient store
/// and the batch buffers are kept across steps, so a step allocates nothing
/// of its own in steady state.
///
/// ```
/// use nn::data::two_spirals;
/// use nn::{Activation, Mlp, TrainConfig, Trainer};
/// let data = two_spirals::<f64>(100, 0.0, 1)?;
/// let mlp = Mlp::builder(&[2, 32, 32, 2]).hidden(Activation::Tanh).seed(1).build()?;
/// let adam = optim::Adam::new(1e-2, 0.9, 0.999, 1e-8)?;
/// let config = TrainConfig { epochs: 5, batch_size: 20, ..Default::default() };
/// let mut trainer = Trainer::new(mlp, Box::new(adam), config);
/// let history = trainer.fit(&data, None, |_| {})?;
/// assert_eq!(history.epochs.len(), 5);
/// # Ok::<(), nn::Error>(())
/// ```
pub struct Trainer<T: Scalar> {
    mlp: Mlp<T>,
    optimizer: Box<dyn Optimizer<T>>,
    config: TrainConfig,
    epoch: usize,
    tape: Tape<T>,
    grads: Grads<T>,
    /// Nesterov's lookahead parameters (5.19).
    shifted: Vec<T>,
    /// The parameters at the start of the epoch (see [`Error::NonFinite`]).
    backup: Vec<T>,
    features: Vec<T>,
    labels: Vec<usize>,
    values: Vec<T>,
    /// The epochs of the last (or current) call of `fit`.
    history: History,
}

impl<T: Scalar> Trainer<T> {
    /// A trainer starting at epoch 0.
    pub fn new(mlp: Mlp<T>, optimizer: Box<dyn Optimizer<T>>, config: TrainConfig) -> Self {
        let n = mlp.num_params();
        Trainer {
            mlp,
            optimizer,
            config,
            epoch: 0,
            tape: Tape::new(),
            grads: Grads::empty(),
            shifted: vec![T::zero(); n],
            backup: vec![T::zero(); n],
            features: Vec::new(),
            labels: Vec::new(),
            values: Vec::new(),
            history: History::default(),
        }
    }

    /// The epochs the last call of [`fit`](Self::fit) completed, also when
    /// it returned an error (a diverged run's curves up to the failure, for
    /// a plot or a log); empty before the first call.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The network.
    pub fn mlp(&self) -> &Mlp<T> {
        &self.mlp
    }

    /// The network, to take it back after training.
    pub fn into_mlp(self) -> Mlp<T> {
        self.mlp
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer<T> {
        self.optimizer.as_ref()
    }

    /// The optimizer, mutably (to load a checkpointed state).
    pub fn optimizer_mut(&mut self) -> &mut dyn Optimizer<T> {
        self.optimizer.as_mut()
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The configuration, mutably (e.g. to extend `epochs` and train on).
    pub fn config_mut(&mut self) -> &mut TrainConfig {
        &mut self.config
    }

    /// The next epoch to run (the number of epochs completed).
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// Sets the next epoch to run: to resume from a checkpoint taken after
    /// `epoch` epochs. Each epoch's batch order depends only on the seed and
    /// the epoch, so a resumed run continues bitwise as if never stopped.
    pub fn set_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
    }

    /// The checkpoint of where training stands: the network, the
    /// optimizer's state and the [`Progress`] (epoch reached, steps, seed),
    /// from which [`restore`](Self::restore) continues bitwise as if never
    /// stopped (with early stopping, see [`EarlyStopping`] for what is not
    /// saved). Add to it what else the run needs (the feature scaler,
    /// metadata of one's own), then write it with [`save_checkpoint`]:
    ///
    /// ```
    /// # use nn::{Mlp, TrainConfig, Trainer};
    /// # let mlp = Mlp::<f32>::builder(&[2, 3, 2]).build()?;
    /// # let trainer = Trainer::new(mlp, optim::by_name("adam", 1e-3)?, TrainConfig::default());
    /// # let path = std::env::temp_dir().join(format!("chainrule-trainer-doc-{}", std::process::id()));
    /// use nn::checkpoint::{load_checkpoint, save_checkpoint};
    /// save_checkpoint(&path, &trainer.checkpoint().extra("run", "baseline"))?;
    /// assert_eq!(load_checkpoint::<f32>(&path)?.state.extra["run"], "baseline");
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoint(&self) -> Checkpoint<'_, T> {
        let mut checkpoint = Checkpoint::new(&self.mlp).progress(Progress {
            epoch: self.epoch as u64,
            step: self.optimizer.steps(),
            seed: self.config.seed,
        });
        checkpoint.optimizer = Some(Cow::Owned(self.optimizer.state()));
        checkpoint
    }

    /// Saves [`checkpoint`](Self::checkpoint) to a safetensors file
    /// (atomically).
    ///
    /// # Errors
    /// [`Error::Checkpoint`] when the file cannot be written (the previous
    /// file, if any, is untouched).
    pub fn save_checkpoint(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        save_checkpoint(path, &self.checkpoint())
    }

    /// Restores the optimizer's state and the epoch of a checkpoint whose
    /// parameters are already in the network (see
    /// [`load_checkpoint`](crate::checkpoint::load_checkpoint)).
    ///
    /// # Errors
    /// [`Error::Resume`] when the checkpoint's seed is not the trainer's
    /// (the batch order, and any split made from the seed, would differ);
    /// [`Error::Resume`] when the optimizer's state is for another number
    /// of parameters than the network's; the optimizer's error when its
    /// state does not fit otherwise (another method, a corrupt value). On
    /// error nothing is changed.
    pub fn restore(&mut self, state: &TrainingState<T>) -> Result<()> {
        if let Some(p) = state.progress {
            if p.seed != self.config.seed {
                return Err(Error::Resume {
                    what: "seed",
                    checkpoint: p.seed,
                    trainer: self.config.seed,
                });
            }
        }
        let n = self.mlp.num_params();
        // (Another method's state is the optimizer's to refuse, by name.)
        let buffers = state
            .optimizer
            .iter()
            .filter(|o| o.optimizer == self.optimizer.name())
            .flat_map(|o| &o.buffers);
        // (A buffer is empty before the method's first step.)
        if let Some((_, b)) = buffers
            .into_iter()
            .find(|(_, b)| !b.is_empty() && b.len() != n)
        {
            return Err(Error::Resume {
                what: "optimizer state's number of parameters",
                checkpoint: b.len() as u64,
                trainer: n as u64,
            });
        }
        if let Some(o) = &state.optimizer {
            self.optimizer.load_state(o)?;
        }
        if let Some(p) = state.progress {
            self.epoch = p.epoch as usize;
        }
        Ok(())
    }

    /// Runs the epochs from [`epoch`](Self::epoch) to `config.epochs` on
    /// `train`, evaluating on `test` after each, and calls `observe` after
    /// every step and epoch.
    ///
    /// Whatever it returns, [`history`](Self::history) holds the epochs
    /// this call completed.
    ///
    /// # Errors
    /// [`Error::EmptyData`] for a training or test set of no sample;
    /// [`Error::EarlyStopping`] for early stopping without a test set, or
    /// on the accuracy of a regression;
    /// [`Error::InputWidth`] when either set's samples do not have the
    /// network's input width, and [`Error::Targets`] when either set's
    /// targets are not of the loss's kind or do not fit the output width
    /// (one output per target value, at least one per class), both before
    /// any step; [`Error::Config`] for an early stopping `min_delta` that is negative
    /// or not finite; [`Error::NonFinite`] when a loss or gradient is NaN or
    /// infinite, a step makes a parameter so, or the loss on the training
    /// or test set after an epoch is (see the error for what the trainer
    /// then holds); [`Error::Step`] when the optimizer refuses a step (a
    /// scheduled rate it cannot take). Shape and label errors from the
    /// data.
    pub fn fit(
        &mut self,
        train: &Dataset<T>,
        test: Option<&Dataset<T>>,
        observe: impl FnMut(Event<'_>),
    ) -> Result<History> {
        self.fit_with(train, test, &mut Observer(observe))
    }

    /// [`fit`](Self::fit) with a [`Callback`], which also sees the trainer
    /// after each epoch and can end the run.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_with(
        &mut self,
        train: &Dataset<T>,
        test: Option<&Dataset<T>>,
        callback: &mut impl Callback<T>,
    ) -> Result<History> {
        self.history = History::default();
        if train.is_empty() {
            return Err(Error::EmptyData { what: "training" });
        }
        if test.is_some_and(|t| t.is_empty()) {
            return Err(Error::EmptyData { what: "test" });
        }
        if let Some(es) = self.config.early_stopping {
            let metric = match es.metric {
                Metric::TestLoss => "test loss",
                Metric::TestAccuracy => "test accuracy",
            };
            let unwatched = |reason| Error::EarlyStopping { metric, reason };
            match test {
                None => return Err(unwatched("fit was given no test set")),
                Some(t) if es.metric == Metric::TestAccuracy && t.n_classes().is_none() => {
                    return Err(unwatched(
                        "the data has real targets (regression: watch the test loss)",
                    ))
                }
                Some(_) => {}
            }
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return Err(Error::Config {
                    what: "early_stopping.min_delta",
                    got: es.min_delta,
                    expected: "finite and >= 0",
                });
            }
        }
        if let Some(max) = self.config.clip_grad_norm {
            if !(max.is_finite() && max > 0.0) {
                return Err(Error::Config {
                    what: "clip_grad_norm",
                    got: max,
                    expected: "finite and > 0",
                });
            }
        }
        // Both sets fit the network before any step (the test set is
        // otherwise first used after a whole epoch).
        check_fits(&self.mlp, self.config.loss, train, "training")?;
        if let Some(t) = test {
            check_fits(&self.mlp, self.config.loss, t, "test")?;
        }
        let mut batcher = Batcher::new(train.len(), self.config.batch_size)?
            .order(self.config.order)
            .drop_last(self.config.drop_last)
            .seed(self.config.seed);
        let mut best: Option<(f64, Vec<T>)> = None;
        let mut since_best = 0;
        while self.epoch < self.config.epochs {
            let epoch = self.epoch;
            let start = Instant::now();
            let batches = batcher.epoch(epoch as u64);
            // What a step that makes a parameter non-finite rolls back to:
            // copying the optimizer's state once per epoch rather than per
            // step (the moments are as large as the parameters).
            self.backup.copy_from_slice(self.mlp.params());
            let optimizer_backup = self.optimizer.state();
            let steps = batches.len();
            let (mut loss_sum, mut samples, mut norm_sum) = (0.0, 0usize, 0.0);
            let mean = self.config.loss.reduction() == Reduction::Mean;
            for (step, idx) in batches.enumerate() {
                let (loss, norm) = self.step(train, idx, epoch, step)?;
                norm_sum += norm.unwrap_or(0.0);
                if let Some(value) = self.non_finite_parameter() {
                    // The optimizer's state has taken the step too: both go
                    // back as they were at the start of the epoch.
                    self.mlp.params_mut().copy_from_slice(&self.backup);
                    self.optimizer.load_state(&optimizer_backup)?;
                    return Err(Error::NonFinite {
                        epoch,
                        step,
                        what: "parameter after the step",
                        value,
                        kept: EPOCH_START,
                    });
                }
                // A batch's mean loss times its size is its sum.
                loss_sum += if mean { loss * idx.len() as f64 } else { loss };
                samples += idx.len();
                callback.on_step(epoch, step, steps, loss);
            }
            let seconds = start.elapsed().as_secs_f64();
            self.history.train_seconds += seconds;
            self.epoch += 1;
            let batch_loss = if mean {
                loss_sum / samples.max(1) as f64
            } else {
                loss_sum
            };
            let mut report = self.report(epoch, steps, batch_loss, seconds, train, test)?;
            if self.config.clip_grad_norm.is_some() {
                report.grad_norm = Some(norm_sum / steps.max(1) as f64);
            }
            let stop = self.early_stop(&report, &mut best, &mut since_best);
            // In the history before the callback sees the trainer, which
            // then counts this epoch in `epoch()` and `history()` alike.
            self.history.epochs.push(report);
            let report = self.history.epochs.last().expect("just pushed");
            let asked = callback.on_epoch(report, self).is_break();
            self.history.stopped_by_callback = asked;
            if stop {
                self.history.stopped_early = true;
            }
            if stop || asked {
                break;
            }
        }
        if let Some((_, params)) = best.filter(|_| self.history.stopped_early) {
            self.mlp.params_mut().copy_from_slice(&params);
        }
        Ok(self.history.clone())
    }

    /// One optimizer step on the mini-batch `idx`; returns its loss and,
    /// when clipping, the gradient's norm before clipping.
    fn step(
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
        let out = if shifted {
            self.mlp.forward_at(&self.tape, x, &self.shifted)?
        } else {
            self.mlp.forward(&self.tape, x)?
        };
        let loss = self.config.loss.apply(out.output, targets)?;
        let value = Real::to_f64(loss.value());
        if !value.is_finite() {
            return Err(Error::NonFinite {
                epoch,
                step,
                what: "loss",
                value,
                kept: LAST_STEP,
            });
        }
        self.tape.backward_into(loss, &mut self.grads);
        let non_finite = |value| Error::NonFinite {
            epoch,
            step,
            what: "gradient",
            value,
            kept: LAST_STEP,
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
    fn non_finite_parameter(&self) -> Option<f64> {
        if autodiff::all_finite(self.mlp.params()) {
            return None;
        }
        let mut bad = self.mlp.params().iter().map(|&p| Real::to_f64(p));
        Some(bad.find(|p| !p.is_finite()).unwrap_or(f64::NAN))
    }

    fn report(
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
    fn energy(&mut self, train: &Dataset<T>, j_at_params: f64) -> Result<Option<f64>> {
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

    fn early_stop(
        &self,
        report: &EpochReport,
        best: &mut Option<(f64, Vec<T>)>,
        since_best: &mut usize,
    ) -> bool {
        let Some(es) = self.config.early_stopping else {
            return false;
        };
        // Minimise the loss, maximise the accuracy (as its negative).
        let value = match es.metric {
            Metric::TestLoss => report.test_loss,
            Metric::TestAccuracy => report.test_accuracy.map(|a| -a),
        };
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

/// The loss (with the configured reduction) and, for classification, the
/// accuracy of `mlp` on a whole data set.
///
/// # Errors
/// [`Error::EmptyData`] for a data set of no sample (its loss and accuracy
/// would be NaN); [`Error::InputWidth`] unless its samples have the
/// network's input width; [`Error::Targets`] unless its targets fit the
/// network's output width (as [`Trainer::fit`]); label errors.
pub fn evaluate<T: Scalar>(
    mlp: &Mlp<T>,
    loss: Loss,
    data: &Dataset<T>,
) -> Result<(f64, Option<f64>)> {
    if data.is_empty() {
        return Err(Error::EmptyData { what: "evaluation" });
    }
    check_fits(mlp, loss, data, "evaluation")?;
    let x = data.features().as_slice();
    let out = mlp.predict(x)?;
    match data.targets() {
        Targets::Classes { labels, .. } => {
            let l = loss.value(out.as_slice(), out.cols(), BatchTargets::Classes(labels))?;
            Ok((l, Some(mlp.accuracy(x, labels)?)))
        }
        Targets::Values(v) => Ok((
            loss.value(
                out.as_slice(),
                out.cols(),
                BatchTargets::Values(v.as_slice()),
            )?,
            None,
        )),
    }
}

/// `data` (the `what` set) must fit the network and the loss: its samples
/// have the input width, its targets are of the loss's kind, and they fit
/// the output width: one output per target value (regression), at least
/// one per class (classification); otherwise every batch would fail, or
/// only those that hold a high label, with a message about a batch's
/// length.
fn check_fits<T: Scalar>(mlp: &Mlp<T>, loss: Loss, data: &Dataset<T>, what: &str) -> Result<()> {
    if data.n_features() != mlp.widths()[0] {
        return Err(Error::InputWidth {
            expected: mlp.widths()[0],
            got: Shape::new(data.len(), data.n_features()),
        });
    }
    let wrong_kind = match (loss, data.targets()) {
        (Loss::CrossEntropy(_), Targets::Values(_)) => Some(format!(
            "cross-entropy needs class labels, the {what} set has real target vectors"
        )),
        (Loss::LeastSquares(_), Targets::Classes { .. }) => Some(format!(
            "least squares needs real target vectors, the {what} set has class labels"
        )),
        _ => None,
    };
    if let Some(message) = wrong_kind {
        return Err(Error::Targets(message));
    }
    let outputs = *mlp.widths().last().expect("a network has layers");
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (fits, theirs) = match data.targets() {
        Targets::Classes { .. } => {
            let classes = data.n_classes().unwrap_or(0);
            (
                classes <= outputs,
                format!(
                    "{} (one output per class)",
                    plural(classes, "class", "classes")
                ),
            )
        }
        Targets::Values(_) => {
            let n = data.n_outputs();
            (
                n == outputs,
                format!("{} per sample", plural(n, "target value", "target values")),
            )
        }
    };
    if fits {
        return Ok(());
    }
    Err(Error::Targets(format!(
        "the network has {}, the {what} set {theirs}",
        plural(outputs, "output", "outputs")
    )))
}
