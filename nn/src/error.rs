//! The crate's error type.

use autodiff::Shape;

/// What can go wrong building, running or training a network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The widths or activations do not describe a network.
    #[error("invalid architecture: {0}")]
    Architecture(String),
    /// A batch does not fit the network's input layer.
    #[error(
        "layer 0 (input) expects batches of width a_0 = {expected}, got a batch of shape {got}"
    )]
    InputWidth {
        /// The input width a_0.
        expected: usize,
        /// The batch's shape.
        got: Shape,
    },
    /// A flat batch's length is not a multiple of the input width.
    #[error("layer 0 (input) expects row-major rows of a_0 = {expected} values, got {got} values (not a multiple of {expected})")]
    InputLength {
        /// The input width a_0.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A parameter is NaN or infinite.
    #[error("parameter {name}[{index}] is not finite ({value}); the network cannot be evaluated")]
    NonFiniteParameter {
        /// The parameter tensor, e.g. `layers.0.weight`.
        name: String,
        /// The flat index within that tensor.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// The network's outputs for a row hold a NaN, so no class is the
    /// largest ([`Mlp::classify`](crate::Mlp::classify)).
    #[error("the network's outputs for row {row} hold {value}, so no class is the largest{}", match .input {
        Some((column, v)) => format!("; its input at column {column} is {v}"),
        None => "; its input is finite (a parameter or an activation overflowed)".to_string(),
    })]
    NonFiniteOutput {
        /// The row.
        row: usize,
        /// The output value found.
        value: f64,
        /// The row's first non-finite input, if any: its column and value.
        input: Option<(usize, f64)>,
    },
    /// Targets do not fit the network's output.
    #[error("targets: {0}")]
    Targets(String),
    /// A flat parameter or gradient buffer has the wrong length.
    #[error("{what}: expected {expected} values, got {got}")]
    LengthMismatch {
        /// What was given.
        what: &'static str,
        /// The number of values required.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// Training produced a NaN or infinite loss, gradient or parameter.
    /// The network and the optimizer are left consistent, so that a
    /// checkpoint saved now resumes correctly (at a smaller rate, say):
    /// after a stop within an epoch (a loss, gradient or parameter), both
    /// are put back as they were at the start of the epoch, as after the
    /// epochs completed; after a non-finite loss on the training or test set
    /// when an epoch ends, they are as after that epoch's last step (`kept`
    /// says which).
    ///
    /// The message counts epochs from 1, as progress output does; the
    /// fields count from 0.
    #[error("training diverged in epoch {} (counting from 1), after {step} steps of it: the {what} is not finite ({value}); {kept}", .epoch + 1)]
    NonFinite {
        /// The epoch (from 0).
        epoch: usize,
        /// The step within the epoch (from 0), which is the number of steps
        /// of the epoch completed before it; the number of steps for the
        /// evaluation after the epoch.
        step: usize,
        /// `"loss"`, `"gradient"`, `"parameter after the step"`, `"loss on
        /// the training set"` or `"loss on the test set"`.
        what: &'static str,
        /// The offending value.
        value: f64,
        /// What the network and the optimizer hold now.
        kept: &'static str,
    },
    /// A checkpoint could not be written or read.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A data set given to training or evaluation holds no sample (its loss
    /// and accuracy would be NaN).
    #[error("the {what} set holds no sample")]
    EmptyData {
        /// `"training"`, `"test"` or `"evaluation"`.
        what: &'static str,
    },
    /// The optimizer refused a step of training (e.g. a learning rate a
    /// schedule set that breaks the method's constraints). The network and
    /// the optimizer are put back as they were at the start of the epoch.
    #[error("training stopped in epoch {} (counting from 1), after {step} steps of it: {source}", .epoch + 1)]
    Step {
        /// The epoch (from 0).
        epoch: usize,
        /// The step within the epoch (from 0).
        step: usize,
        /// The optimizer's error.
        source: optim::Error,
    },
    /// A setting of [`TrainConfig`](crate::TrainConfig) is out of its range.
    #[error("training configuration: {what} is {got}, expected {expected}")]
    Config {
        /// The setting.
        what: &'static str,
        /// Its value.
        got: f64,
        /// Its range, in words.
        expected: &'static str,
    },
    /// Early stopping has nothing to watch: no test set was given to
    /// [`Trainer::fit`](crate::Trainer::fit), or it watches the accuracy of
    /// a regression.
    #[error("early stopping watches the {metric}, but {reason}")]
    EarlyStopping {
        /// [`Metric::name`](crate::Metric::name): `"test loss"` or `"test
        /// accuracy"`.
        metric: &'static str,
        /// What is missing.
        reason: &'static str,
    },
    /// [`ReduceOnPlateau`](crate::ReduceOnPlateau) cannot run: it watches a
    /// test metric and [`Trainer::fit`](crate::Trainer::fit) was given no
    /// test set (or the accuracy of a regression), or a schedule also sets
    /// the learning rate.
    #[error("reduce on plateau: {reason}")]
    Plateau {
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint's progress does not fit the trainer it is restored
    /// into.
    #[error("cannot resume: the checkpoint's {what} is {checkpoint}, this trainer's is {trainer}")]
    Resume {
        /// What differs, e.g. `"seed"`.
        what: &'static str,
        /// The checkpoint's value.
        checkpoint: u64,
        /// The trainer's value.
        trainer: u64,
    },
    /// A checkpoint records settings of the run
    /// ([`TrainingSettings`](crate::checkpoint::TrainingSettings)) other
    /// than the [`TrainConfig`](crate::TrainConfig) of the trainer it is
    /// restored into: resumed with them, the run would not continue as if
    /// never stopped.
    #[error("cannot resume: {} (a resumed run continues as if never stopped only with the same settings)", list(.differences))]
    ResumeSetting {
        /// Every setting that differs, in the order of
        /// [`TrainingSettings`](crate::checkpoint::TrainingSettings)'s
        /// fields; never empty.
        differences: Vec<SettingDifference>,
    },
    /// An error of the tape (a shape mismatch, a label out of range).
    #[error(transparent)]
    Autodiff(#[from] autodiff::Error),
    /// An error of an optimizer.
    #[error(transparent)]
    Optim(#[from] optim::Error),
    /// An error reading or preparing data.
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One setting a checkpoint records otherwise than a trainer's
/// configuration ([`Error::ResumeSetting`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingDifference {
    /// The setting, named as the field of
    /// [`TrainConfig`](crate::TrainConfig): `"batch_size"`, `"order"`,
    /// `"drop_last"`, `"loss"`, `"schedule"`, `"clip_grad_norm"` or
    /// `"dropout"`.
    pub setting: &'static str,
    /// The checkpoint's value, as `{:?}` prints it (e.g.
    /// `CrossEntropy(Mean)`, `Some(0.5)`).
    pub checkpoint: String,
    /// The trainer's value, likewise.
    pub trainer: String,
}

impl std::fmt::Display for SettingDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let SettingDifference {
            setting,
            checkpoint,
            trainer,
        } = self;
        write!(
            f,
            "the checkpoint was trained with {setting} {checkpoint}, this trainer's configuration has {setting} {trainer}"
        )
    }
}

/// The differences joined by "; ".
fn list(differences: &[SettingDifference]) -> String {
    let parts: Vec<String> = differences.iter().map(ToString::to_string).collect();
    parts.join("; ")
}
