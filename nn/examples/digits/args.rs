//! The command line.

use crate::schedule::ScheduleArg;
use clap::Parser;
use nn::Activation;
use std::path::PathBuf;

/// Train a multilayer perceptron on the handwritten digits.
///
/// A checkpoint written by --save holds, besides the network, the
/// optimizer's state with its hyperparameters and the epoch, the settings
/// that shape the run (--optimizer, --batch-size, --test-fraction, --seed,
/// --schedule, --warmup, --clip-grad-norm, --dropout, --label-smoothing, --no-bias-decay and,
/// with a schedule, --lr) and
/// the feature scaler fitted on the training split. --load takes the
/// settings, the hyperparameters and the architecture from it and refuses
/// different ones given on the command line, so that a resumed run
/// continues bitwise as if never stopped.
///
/// To predict with a checkpoint, standardise raw features with the saved
/// scaler first: its tensors scaler.mean and scaler.std hold one number
/// per feature (TrainingState::scaler when loaded in Rust); then
/// Mlp::classify. The comment at the top of nn/examples/digits/main.rs has
/// the code.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Args {
    /// The optimizer: one of optim::METHODS (adam, adamw, sgd, sgd_momentum,
    /// sgd_nesterov, rmsprop, adagrad, gradient_descent, heavy_ball,
    /// heavy_ball_symplectic, nesterov, friction, relaxation, adam_ode).
    /// With --load: the checkpoint's; if given, it must be the same.
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// Learning rate (step dt; the peak rate of a --schedule); by default
    /// 2e-3 for the Adam family, 1e-3 for rmsprop, 0.05 for the others. With --load, replaces
    /// the checkpoint's rate, except with a schedule, whose rate is the
    /// checkpoint's: if given, it must be the same.
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Weight decay: decoupled for adamw (default 1e-2), an L2 term added
    /// to the gradient for adam, sgd, sgd_momentum, sgd_nesterov, rmsprop
    /// and adagrad (default 0).
    /// Refused for the other methods. With --load: the checkpoint's; if
    /// given, it must be the same (so for the other hyperparameter flags
    /// below).
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Exempts the biases from the weight decay (PyTorch's two parameter
    /// groups: --weight-decay for the weights, 0 for the biases). For the
    /// methods with weight decay. With --load: the checkpoint's choice; if
    /// given, the checkpoint must have made it too.
    #[arg(long)]
    pub no_bias_decay: bool,
    /// The momentum factor, PyTorch's momentum: for sgd (default 0),
    /// sgd_momentum and sgd_nesterov (default 0.9), rmsprop (default 0).
    /// Refused for the others.
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f64>,
    /// Adam's and AdamW's beta1, in [0, 1) (default 0.9).
    #[arg(long, allow_negative_numbers = true)]
    pub beta1: Option<f64>,
    /// Adam's and AdamW's beta2, in [0, 1) (default 0.999).
    #[arg(long, allow_negative_numbers = true)]
    pub beta2: Option<f64>,
    /// eps: the denominator term of Adam and AdamW (default 1e-8), rmsprop
    /// (1e-8) and adagrad (1e-10), friction's regularisation (1e-8),
    /// relaxation's relaxation time (10 lr).
    #[arg(long, allow_negative_numbers = true)]
    pub eps: Option<f64>,
    /// RMSprop's smoothing constant of the mean of squared gradients,
    /// PyTorch's alpha, in [0, 1) (default 0.99). Not a step size (that is
    /// --lr, for Adam too).
    #[arg(long, allow_negative_numbers = true)]
    pub alpha: Option<f64>,
    /// RMSprop divides by the root of the gradient's running variance
    /// instead of its mean square (PyTorch's centered=True).
    #[arg(long)]
    pub centered: bool,
    /// Adagrad's lr_decay: step t uses lr / (1 + (t - 1) lr_decay)
    /// (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub lr_decay: Option<f64>,
    /// Learning-rate schedule, by optimizer step (one per mini-batch), after
    /// the warm-up: constant; step:EVERY:GAMMA (times GAMMA every EVERY
    /// steps, PyTorch's StepLR); exponential:GAMMA (times GAMMA every step,
    /// ExponentialLR); cosine[:STEPS[:MIN_LR]] (annealed from --lr to MIN_LR,
    /// default 0, over STEPS steps, by default all the steps of --epochs
    /// after the warm-up: CosineAnnealingLR; cosine::MIN_LR gives MIN_LR
    /// alone). GAMMA in (0, 1]. With --load: the checkpoint's, its length
    /// fixed when it was first run (a cosine given without STEPS has the
    /// recorded length; a note tells when the resumed run goes past its
    /// end, to train at MIN_LR); if given, it must be the same.
    #[arg(long, default_value = "constant")]
    pub schedule: ScheduleArg,
    /// Steps of linear warm-up from --lr / WARMUP to --lr before the
    /// schedule. With --load: as --schedule.
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
    /// Clip the gradient's Euclidean norm over all parameters to at most
    /// this before every step (PyTorch's clip_grad_norm_); the epoch lines
    /// then show the mean norm before clipping. Finite and > 0. With
    /// --load: the checkpoint's; if given, it must be the same.
    #[arg(long, value_parser = positive_finite)]
    pub clip_grad_norm: Option<f64>,
    /// Inverted dropout after every hidden activation during training
    /// (PyTorch's nn.Dropout(P)), with drop probability P in [0, 1); the
    /// masks come from the seed and the step, and the test figures are
    /// computed without it. With --load: the checkpoint's; if given, it
    /// must be the same.
    #[arg(long, value_parser = probability)]
    pub dropout: Option<f64>,
    /// Label smoothing EPS in [0, 1] of the cross-entropy (PyTorch's
    /// CrossEntropyLoss(label_smoothing=EPS)): the target becomes
    /// (1 - EPS) onehot(y) + EPS / 10. The reported losses are the
    /// smoothed loss (so they stay above 0 however good the network), the
    /// accuracies are unaffected. With --load: the checkpoint's; if given,
    /// it must be the same.
    #[arg(long, default_value_t = 0.0, value_parser = label_smoothing, allow_negative_numbers = true)]
    pub label_smoothing: f64,
    /// Multiply the learning rate by FACTOR (default 0.1, in (0, 1)) once
    /// the training loss has not improved by 1e-4 of itself for more than
    /// PATIENCE epochs (PyTorch's ReduceLROnPlateau, watching the training
    /// loss: the test split decides nothing). Not with a --schedule or
    /// --warmup, which set the rate at every step. Not recorded in a
    /// checkpoint: a resumed run goes on at the rate it reached, counting
    /// afresh.
    #[arg(long, value_name = "PATIENCE[:FACTOR]", value_parser = plateau)]
    pub reduce_on_plateau: Option<(usize, f64)>,
    /// Number of epochs (with --load: the epoch to train up to).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub epochs: u64,
    /// Mini-batch size, at least 1. With --load: the checkpoint's; if
    /// given, it must be the same.
    #[arg(long, default_value_t = 32,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub batch_size: usize,
    /// Hidden widths, comma-separated. With --load the architecture comes
    /// from the checkpoint: if given, it must be the same.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    pub hidden: Vec<usize>,
    /// Hidden activation: relu, tanh, sigmoid, softplus, silu, gelu (the
    /// exact form, PyTorch's nn.GELU()), or leaky_relu (slope 0.01, as
    /// PyTorch's nn.LeakyReLU()) and leaky_relu:SLOPE. With --load: as
    /// --hidden.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// ReLU's subgradient at exactly 0, in [0, 1]; refused with another
    /// --activation. With --load: as --hidden.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub relu_at_zero: f64,
    /// Seed of the initialisation, the split and the batch order. With
    /// --load: the checkpoint's; if given, it must be the same.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fraction of the data held out for testing, in (0, 1). With --load:
    /// the checkpoint's; if given, it must be the same.
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    pub test_fraction: f64,
    /// A CSV file of rows of features, then a class label in 0..10 (the
    /// bundled copy's format: 64 pixels, then the digit), instead of the
    /// bundled copy; the network's input width is its feature count.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Draw the loss and accuracy curves into this SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// After training, print the test set's confusion matrix (rows: true
    /// digit, columns: predicted) and each digit's precision, recall, F1
    /// and support, as scikit-learn's classification_report.
    #[arg(long)]
    pub report: bool,
    /// Save the network, the optimizer's state, the epoch reached, the
    /// run's settings and the feature scaler to this safetensors checkpoint
    /// when training ends (or stops on an error).
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Resume from a checkpoint written by --save: the network (its
    /// architecture comes from the file), the optimizer's state, the epoch,
    /// the settings and the scaler; training continues up to --epochs.
    #[arg(long)]
    pub load: Option<PathBuf>,
    /// With --load: train nothing; print the checkpoint's loss and
    /// accuracy on its training and test splits (with --report, the test
    /// set's confusion matrix too).
    #[arg(long, requires = "load", conflicts_with_all = ["save", "plot", "epochs"])]
    pub evaluate: bool,
    /// Threads for the matrix products (by default the environment
    /// variable CHAINRULE_NUM_THREADS, else every available core). The
    /// results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// The `--activation` named `name` (ReLU with subgradient `at_zero` at 0).
pub fn activation(name: &str, at_zero: f64) -> Result<Activation, String> {
    Ok(match name {
        "relu" => Activation::Relu { at_zero },
        "tanh" => Activation::Tanh,
        "sigmoid" => Activation::Sigmoid,
        "softplus" => Activation::Softplus,
        "silu" => Activation::Silu,
        "gelu" => Activation::Gelu,
        "leaky_relu" => Activation::LEAKY_RELU,
        _ => match name.strip_prefix("leaky_relu:").map(str::parse::<f64>) {
            Some(Ok(slope)) if slope.is_finite() => Activation::LeakyRelu { slope },
            Some(_) => {
                return Err(format!(
                    "--activation {name}: the slope after leaky_relu: must be a finite number"
                ))
            }
            None => {
                return Err(format!(
                    "unknown activation {name:?}; use relu, tanh, sigmoid, softplus, silu, gelu, \
                     leaky_relu or leaky_relu:SLOPE"
                ))
            }
        },
    })
}

/// The `--activation` value that gives `a` (ReLU's subgradient aside, which
/// is `--relu-at-zero`'s).
pub fn activation_flag(a: Activation) -> String {
    match a {
        Activation::LeakyRelu { slope } => format!("leaky_relu:{slope}"),
        a => a.name().to_string(),
    }
}

/// A drop probability, in `[0, 1)`.
fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("must be a probability in [0, 1), got {v}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A label smoothing, in `[0, 1]`.
fn label_smoothing(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("must be in [0, 1], got {v}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A finite number `> 0`.
fn positive_finite(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!("must be finite and > 0, got {v}")),
        Err(e) => Err(e.to_string()),
    }
}

/// `PATIENCE[:FACTOR]` of --reduce-on-plateau (clap parser).
fn plateau(text: &str) -> Result<(usize, f64), String> {
    let (patience, factor) = match text.split_once(':') {
        Some((p, f)) => (p, Some(f)),
        None => (text, None),
    };
    let patience = patience
        .trim()
        .parse()
        .map_err(|_| format!("PATIENCE must be a whole number of epochs, got {patience:?}"))?;
    let factor = match factor {
        None => 0.1,
        Some(f) => match f.trim().parse::<f64>() {
            Ok(v) if v > 0.0 && v < 1.0 => v,
            _ => return Err(format!("FACTOR must be a number in (0, 1), got {f:?}")),
        },
    };
    Ok((patience, factor))
}
