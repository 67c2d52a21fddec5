//! The crate's error type.

/// Everything that can go wrong when building or stepping an optimizer.
///
/// Every check runs before anything is modified: when a method returns an
/// error, the parameters and the optimizer state are untouched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No method has this name.
    #[error("unknown optimizer {name:?}; known methods: {known}")]
    UnknownMethod {
        /// The name asked for.
        name: String,
        /// The names known, comma-separated.
        known: String,
    },
    /// No hyperparameter has this name (see [`crate::Hyperparameter`]).
    #[error("unknown hyperparameter {name:?}; known ones: {known}")]
    UnknownHyperparameter {
        /// The name asked for.
        name: String,
        /// The names known, comma-separated.
        known: String,
    },
    /// The method takes no such hyperparameter (see [`crate::Builder::set`]).
    #[error("{method} has no hyperparameter {hyperparameter:?}; it takes {accepted}")]
    UnsupportedHyperparameter {
        /// The method, as in [`crate::METHODS`].
        method: &'static str,
        /// The hyperparameter asked for.
        hyperparameter: String,
        /// The ones the method takes, comma-separated (or `none besides
        /// the step size`).
        accepted: String,
    },
    /// A hyperparameter is outside its admissible range.
    #[error("{optimizer}: {parameter} must be {expected}, got {got}")]
    InvalidHyperparameter {
        /// The optimizer or schedule being configured.
        optimizer: &'static str,
        /// The offending hyperparameter, e.g. `"dt"` or `"beta1"`.
        parameter: &'static str,
        /// The admissible range, in words, e.g. `"in [0, 1)"`.
        expected: &'static str,
        /// The value received.
        got: f64,
    },
    /// Two slices (or a slice and a state buffer) that must have the same
    /// length do not.
    #[error("{optimizer}: {what} has length {got}, expected {expected}")]
    LengthMismatch {
        /// The optimizer that detected the mismatch.
        optimizer: &'static str,
        /// What had the wrong length, e.g. `"gradient"` or `"state buffer z"`.
        what: String,
        /// The length required (the parameter length, or the state length).
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// The gradient holds a NaN or an infinity.
    #[error("{optimizer}: gradient entry {index} is not finite ({value})")]
    NonFiniteGradient {
        /// The optimizer that rejected the gradient.
        optimizer: &'static str,
        /// Index of the first non-finite entry.
        index: usize,
        /// Its value, widened to `f64`.
        value: f64,
    },
    /// A finite gradient entry so large that the second moment the step
    /// would store (Adam's `v`, `AdamOde`'s `D`, RMSprop's mean of squares,
    /// Adagrad's sum of squares) overflows: the step is
    /// refused and nothing changes (an infinite moment would make every
    /// later update of the entry 0, and is a state `load_state` refuses).
    #[error("{optimizer}: gradient entry {index} ({value:e}) is too large: the second moment of the step would overflow")]
    MomentOverflow {
        /// The optimizer that refused the step.
        optimizer: &'static str,
        /// Index of the first such entry.
        index: usize,
        /// Its gradient (with an L2 term, if any), widened to `f64`.
        value: f64,
    },
    /// A checkpoint was written by another optimizer.
    #[error("state written by optimizer {got:?} cannot be loaded into {expected:?}")]
    WrongOptimizer {
        /// The optimizer loading the state.
        expected: &'static str,
        /// The optimizer named in the state.
        got: String,
    },
    /// A checkpoint was written by the same method with another value of a
    /// hyperparameter (see [`crate::OptimizerState::settings`]): steps from
    /// it would not continue the run that wrote it.
    #[error(
        "{optimizer}: the state was written with {setting} = {got:?}, this optimizer has \
         {setting} = {expected:?}; build it with the checkpoint's settings to resume"
    )]
    SettingMismatch {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The hyperparameter, e.g. `"beta2"` or `"semi_implicit"`.
        setting: String,
        /// The loading optimizer's value.
        expected: f64,
        /// The checkpoint's value.
        got: f64,
    },
    /// A checkpoint records settings but not this one, which the optimizer
    /// has.
    #[error("{optimizer}: the state's settings lack {setting:?}")]
    MissingSetting {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The setting the state lacks.
        setting: &'static str,
    },
    /// A checkpoint records a setting the optimizer does not have.
    #[error("{optimizer}: unknown setting {setting:?} in the state")]
    UnexpectedSetting {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The unknown setting.
        setting: String,
    },
    /// A state buffer holds a value the method cannot continue from (NaN or
    /// infinite; a negative second moment).
    #[error(
        "{optimizer}: state buffer {entry:?} holds {value} at index {index}, expected {expected}"
    )]
    InvalidState {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The buffer.
        entry: String,
        /// The first offending index.
        index: usize,
        /// The value found there.
        value: f64,
        /// What the buffer's values must be, in words.
        expected: &'static str,
    },
    /// The step counter is at its maximum and cannot count another step
    /// (only a corrupted checkpoint puts it there).
    #[error(
        "{optimizer}: the state has taken {got} steps, expected at most {} for another \
         step to be counted", u64::MAX - 1
    )]
    StepCount {
        /// The optimizer asked to step.
        optimizer: &'static str,
        /// Its step counter.
        got: u64,
    },
    /// A range given to [`crate::DecayMask::new`] starts past its end.
    #[error("decay mask: range {index} is {start}..{end}, expected a start no later than its end")]
    InvalidDecayMask {
        /// Its position among the ranges given.
        index: usize,
        /// Its start.
        start: usize,
        /// Its end.
        end: usize,
    },
    /// An optimizer's [`crate::DecayMask`] reaches past the parameters it is
    /// asked to step.
    #[error(
        "{optimizer}: the decay mask's ranges end at {end} (exclusive), past the {len} parameters"
    )]
    DecayMaskOutOfRange {
        /// The optimizer asked to step.
        optimizer: &'static str,
        /// [`crate::DecayMask::end`].
        end: usize,
        /// The number of parameters.
        len: usize,
    },
    /// A group given to [`crate::ParamGroups::group`] cannot be added.
    #[error("param groups: group {group} ({start}..{end}) cannot be added: {reason}")]
    InvalidGroup {
        /// The position the group would have taken.
        group: usize,
        /// Its range's start.
        start: usize,
        /// Its range's end (exclusive).
        end: usize,
        /// Why, with what was expected.
        reason: String,
    },
    /// A [`crate::ParamGroups`] group reaches past the parameters it is
    /// asked to step (or a state's buffers).
    #[error(
        "param groups: group {group} ({start}..{end}) reaches past the {len} parameters; expected every group within them"
    )]
    GroupOutOfRange {
        /// The group.
        group: usize,
        /// Its range's start.
        start: usize,
        /// Its range's end (exclusive).
        end: usize,
        /// The number of parameters.
        len: usize,
    },
    /// The optimizer of one of a [`crate::ParamGroups`]'s groups refused.
    #[error("param groups: group {group} ({start}..{end}): {source}")]
    Group {
        /// The group.
        group: usize,
        /// Its range's start.
        start: usize,
        /// Its range's end (exclusive).
        end: usize,
        /// The group's optimizer's error.
        source: Box<Error>,
    },
    /// A [`crate::ParamGroups`] state lacks an entry that describes its
    /// groups.
    #[error("param groups: the state's settings lack {setting:?}")]
    MissingGroupSetting {
        /// The setting the state lacks, e.g. `"group1.lr_scale"`.
        setting: String,
    },
    /// A checkpoint lacks a state buffer the optimizer needs.
    #[error("{optimizer}: state buffer {entry:?} is missing")]
    MissingState {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The missing buffer.
        entry: &'static str,
    },
    /// A checkpoint holds a state buffer the optimizer does not know.
    #[error("{optimizer}: unknown state buffer {entry:?}")]
    UnexpectedState {
        /// The optimizer loading the state.
        optimizer: &'static str,
        /// The unknown buffer.
        entry: String,
    },
}

/// `Result` with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
