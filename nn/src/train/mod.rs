//! The training loop: epochs of mini-batch steps (seed section 5.3: one
//! epoch is a splitting scheme of the gradient flow of J), any optimizer of
//! `optim`, per-epoch metrics, early stopping, and a typed stop on a
//! non-finite loss, gradient or parameter that puts the network and the
//! optimizer back as they were at the start of the epoch.
//!
//! `config` says how to train, `report` what a run reports (and the
//! callbacks that see it), this module the [`Trainer`] and its epoch loop,
//! `step` one step and what follows an epoch, `evaluate` evaluation and
//! the checks that data fits a network.

mod config;
mod evaluate;
mod report;
mod step;

use config::Plateau;
pub use config::{EarlyStopping, Metric, ReduceOnPlateau, TrainConfig};
use evaluate::check_fits;
pub use evaluate::evaluate;
pub use report::{Callback, EpochReport, Event, History, Observer};

use crate::checkpoint::{save_checkpoint, Checkpoint, Progress, TrainingSettings, TrainingState};
use crate::data::{Batcher, Dataset};
use crate::{Error, Mlp, Result};
use autodiff::{Grads, Reduction, Tape};
use optim::Optimizer;
use std::borrow::Cow;
use std::time::Instant;

/// `kept` of [`Error::NonFinite`] after an epoch whose evaluation failed.
const LAST_STEP: &str = "the network and the optimizer are as after the last finite step";
/// `kept` of [`Error::NonFinite`] after a stop within an epoch.
const EPOCH_START: &str =
    "the network and the optimizer are back as they were at the start of the epoch";

/// The number types training runs in: `f32` and `f64`.
pub trait Scalar: autodiff::Float + optim::Float {}
impl<T: autodiff::Float + optim::Float> Scalar for T {}

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
///
/// # What one step does (to write the loop by hand)
/// Epoch `e` takes its batches from `Batcher::new(len, batch_size)`
/// with the config's `order`, `drop_last` and `seed`, as
/// `batcher.epoch(e)`. Each step then, in this order:
/// 1. applies the config's schedule, if any, to the optimizer;
/// 2. gathers the batch and asks the optimizer for its
///    [`gradient_point`](Optimizer::gradient_point) (Nesterov's lookahead);
/// 3. records [`Mlp::forward_at`] those parameters (or
///    [`Mlp::forward`]) on the cleared tape, applies the config's loss,
///    and stops on a non-finite loss;
/// 4. runs `backward_into`, clips the gradient in place with
///    [`optim::clip_grad_norm`] if the config says so, and steps the
///    optimizer on [`Forward::gradient`](crate::Forward::gradient).
///
/// After the epoch's last step it evaluates the epoch's report, then
/// decides early stopping and, with [`ReduceOnPlateau`], the next epoch's
/// learning rate ([`Optimizer::set_learning_rate`]).
///
/// A loop that does the same, in the same number type, trains bitwise as
/// the `Trainer` (dropout aside: its masks are keyed by the seed and the
/// optimizer's step count in a way of the trainer's own).
pub struct Trainer<T: Scalar> {
    mlp: Mlp<T>,
    optimizer: Box<dyn Optimizer<T>>,
    config: TrainConfig,
    epoch: usize,
    tape: Tape<T>,
    grads: Grads<T>,
    /// Nesterov's lookahead parameters (5.19).
    shifted: Vec<T>,
    /// The parameters at the start of the epoch, for a stop within it (see
    /// [`Error::NonFinite`]).
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
    /// optimizer's state (with its hyperparameters), the [`Progress`]
    /// (epoch reached, steps, seed) and the [`TrainingSettings`] of the
    /// configuration (batch size, batch order, `drop_last`, loss and its
    /// reduction, schedule, clipping bound, dropout), from which
    /// [`restore`](Self::restore) continues bitwise as if never stopped
    /// (with early stopping, see [`EarlyStopping`] for what is not saved).
    /// Add to it what else the run needs (the feature scaler, metadata of
    /// one's own), then write it with [`save_checkpoint`]:
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
        let mut checkpoint = Checkpoint::new(&self.mlp)
            .progress(Progress {
                epoch: self.epoch as u64,
                step: self.optimizer.steps(),
                seed: self.config.seed,
            })
            .training(TrainingSettings::of(&self.config));
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
    /// The run then continues bitwise as if never stopped: a checkpoint
    /// of [`checkpoint`](Self::checkpoint) records everything of the
    /// [`TrainConfig`] that decides the trajectory, and each is checked
    /// against this trainer's: the seed, the optimizer's method and
    /// hyperparameters, and the [`TrainingSettings`] (batch size, batch
    /// order, `drop_last`, loss and its reduction, schedule with all its
    /// parameters, clipping bound, dropout; floats bitwise).
    ///
    /// Not recorded, so free to change: `epochs` (a run resumes to train
    /// longer) and `early_stopping` (see [`EarlyStopping`]). A schedule's
    /// length is counted in optimizer steps and is part of it: to resume a
    /// cosine sized to the first run's epochs for more epochs, give it the
    /// same length (the steps past its end then run at its `min_lr`); one
    /// sized again to the new `epochs` is another schedule, refused.
    ///
    /// A checkpoint that records no progress, or no settings (a file
    /// written before they were recorded, or a [`Checkpoint`] built without
    /// them), restores without those checks, as does an optimizer state
    /// without hyperparameters: the run is then bitwise the uninterrupted
    /// one only if the caller kept them the same.
    ///
    /// # Errors
    /// [`Error::Resume`] when the checkpoint's seed is not the trainer's
    /// (the batch order, and any split made from the seed, would differ);
    /// [`Error::ResumeSetting`] when a setting it records differs from the
    /// trainer's configuration, naming every such setting (in the order
    /// of [`TrainingSettings`]'s fields) and both values;
    /// [`Error::Resume`] when the optimizer's state is for another number
    /// of parameters than the network's; the optimizer's error when its
    /// state does not fit otherwise (another method or hyperparameters, a
    /// corrupt value). On error nothing is changed.
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
        if let Some(recorded) = &state.training {
            let ours = TrainingSettings::of(&self.config);
            let differences = recorded.differences(&ours);
            if !differences.is_empty() {
                return Err(Error::ResumeSetting { differences });
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
    /// [`Error::EarlyStopping`] for early stopping on a test metric without
    /// a test set, or on the accuracy of a regression; [`Error::Plateau`]
    /// for a [`ReduceOnPlateau`] with a schedule, or on a test metric
    /// without a test set or the accuracy of a regression;
    /// [`Error::InputWidth`] when either set's samples do not have the
    /// network's input width, and [`Error::Targets`] when either set's
    /// targets are not of the loss's kind or do not fit the output width
    /// (one output per target value, at least one per class), both before
    /// any step; [`Error::Config`] for an early stopping `min_delta` that is negative
    /// or not finite, a [`ReduceOnPlateau`] `factor` outside `(0, 1)` or a
    /// `threshold` or `min_lr` negative or not finite, a clipping bound
    /// that is not finite and positive, a dropout probability outside
    /// `[0, 1)`, or a label smoothing outside `[0, 1]`; [`Error::NonFinite`] when a loss or gradient is NaN or
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
            if let Some(reason) = unwatched(es.metric, test) {
                return Err(Error::EarlyStopping {
                    metric: es.metric.name(),
                    reason,
                });
            }
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return Err(Error::Config {
                    what: "early_stopping.min_delta",
                    got: es.min_delta,
                    expected: "finite and >= 0",
                });
            }
        }
        if let Some(p) = self.config.reduce_on_plateau {
            check_plateau(&p, test, self.config.schedule.is_some())?;
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
        if let Some(p) = self
            .config
            .dropout
            .filter(|&p| autodiff::mat::check_drop_probability(p).is_err())
        {
            return Err(Error::Config {
                what: "dropout",
                got: p,
                expected: "a drop probability in [0, 1)",
            });
        }
        if let Some(eps) = self
            .config
            .loss
            .label_smoothing()
            .filter(|&eps| autodiff::mat::check_label_smoothing(eps).is_err())
        {
            return Err(Error::Config {
                what: "loss.label_smoothing",
                got: eps,
                expected: "in [0, 1]",
            });
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
        let mut plateau = Plateau::default();
        while self.epoch < self.config.epochs {
            let epoch = self.epoch;
            let start = Instant::now();
            let batches = batcher.epoch(epoch as u64);
            // What a stop within the epoch rolls back to: copying the
            // optimizer's state once per epoch rather than per step (the
            // moments are as large as the parameters).
            self.backup.copy_from_slice(self.mlp.params());
            let optimizer_backup = self.optimizer.state();
            let steps = batches.len();
            let (mut loss_sum, mut samples, mut norm_sum) = (0.0, 0usize, 0.0);
            let mean = self.config.loss.reduction() == Reduction::Mean;
            for (step, idx) in batches.enumerate() {
                // A stop within an epoch puts the network and the optimizer
                // back as they were at its start (the errors of `step` say
                // so): a checkpoint counts whole epochs (its `epoch` and the
                // optimizer's step count must agree for a run to resume),
                // and the last steps before a divergence have usually blown
                // the parameters up already.
                let stepped = self.step(train, idx, epoch, step).and_then(|r| {
                    match self.non_finite_parameter() {
                        Some(value) => Err(Error::NonFinite {
                            epoch,
                            step,
                            what: "parameter after the step",
                            value,
                            kept: EPOCH_START,
                        }),
                        None => Ok(r),
                    }
                });
                let (loss, norm) = match stepped {
                    Ok(r) => r,
                    Err(e) => {
                        self.mlp.params_mut().copy_from_slice(&self.backup);
                        self.optimizer.load_state(&optimizer_backup)?;
                        return Err(e);
                    }
                };
                norm_sum += norm.unwrap_or(0.0);
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
            // then counts this epoch in `epoch()` and `history()` alike (and
            // before a rate the optimizer refuses ends the run).
            self.history.epochs.push(report);
            let report = self.history.epochs.last().expect("just pushed");
            if let Some(p) = self.config.reduce_on_plateau {
                let value = p.metric.value(report).expect("checked by check_plateau");
                if plateau.reduce_after(&p, value) {
                    let lr = self.optimizer.learning_rate();
                    let reduced = (lr * p.factor).max(p.min_lr);
                    if reduced < lr {
                        self.optimizer.set_learning_rate(reduced)?;
                    }
                }
            }
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
}

/// Why `metric` cannot be watched in a run on `test`, if it cannot.
fn unwatched<T: Scalar>(metric: Metric, test: Option<&Dataset<T>>) -> Option<&'static str> {
    match (metric, test) {
        (Metric::TrainLoss, _) => None,
        (_, None) => Some("fit was given no test set"),
        (Metric::TestAccuracy, Some(t)) if t.n_classes().is_none() => {
            Some("the data has real targets (regression: watch the test loss)")
        }
        _ => None,
    }
}

/// [`ReduceOnPlateau`]'s settings in range, its metric watched, and no
/// schedule.
fn check_plateau<T: Scalar>(
    p: &ReduceOnPlateau,
    test: Option<&Dataset<T>>,
    scheduled: bool,
) -> Result<()> {
    if scheduled {
        return Err(Error::Plateau {
            reason: "a schedule sets the learning rate before every step too: use one or the other"
                .into(),
        });
    }
    if let Some(reason) = unwatched(p.metric, test) {
        return Err(Error::Plateau {
            reason: format!("it watches the {}, but {reason}", p.metric.name()),
        });
    }
    let settings = [
        (
            "reduce_on_plateau.factor",
            p.factor,
            p.factor > 0.0 && p.factor < 1.0,
            "in (0, 1)",
        ),
        (
            "reduce_on_plateau.threshold",
            p.threshold,
            p.threshold.is_finite() && p.threshold >= 0.0,
            "finite and >= 0",
        ),
        (
            "reduce_on_plateau.min_lr",
            p.min_lr,
            p.min_lr.is_finite() && p.min_lr >= 0.0,
            "finite and >= 0",
        ),
    ];
    match settings.into_iter().find(|&(_, _, ok, _)| !ok) {
        Some((what, got, _, expected)) => Err(Error::Config {
            what,
            got,
            expected,
        }),
        None => Ok(()),
    }
}
