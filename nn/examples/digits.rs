//! The main job: train an MLP on the UCI optical-recognition digits
//! (1,797 images of 8x8 pixels, 10 classes; bundled, CC BY 4.0) with
//! reshuffled mini-batches, and report the held-out test accuracy.
//!
//! ```text
//! cargo run --release -p chainrule-nn --example digits
//! cargo run --release -p chainrule-nn --example digits -- --optimizer sgd_momentum --lr 0.05 --plot loss.svg
//! cargo run --release -p chainrule-nn --example digits -- --epochs 10 --save model.safetensors
//! cargo run --release -p chainrule-nn --example digits -- --epochs 20 --load model.safetensors
//! cargo run --release -p chainrule-nn --example digits -- --help
//! ```
//!
//! # What a checkpoint holds
//!
//! `--save` writes the network, the optimizer's state and the progress
//! (epoch, steps, seed), and as free-form metadata ([`Checkpoint::extra`],
//! keys `extra.<key>` in the file) the settings that shape the run and the
//! feature scaler fitted on the training split:
//!
//! | key | value |
//! | --- | --- |
//! | `optimizer` | the `--optimizer` name, e.g. `sgd_momentum` |
//! | `batch_size` | the `--batch-size` |
//! | `test_fraction` | the `--test-fraction`, shortest round-trip form |
//! | `samples` | the number of samples split into training and test |
//! | `scaler.mean`, `scaler.std` | the [`Standardizer`]'s `mean` and `std`, one `f32` per feature, comma-separated, shortest round-trip form (bitwise) |
//!
//! `--load` takes those settings (and the seed) from the checkpoint, refuses
//! a different one given on the command line, and checks that the scaler
//! fitted again on the same split is bitwise the saved one: a resumed run
//! then continues bitwise as if never stopped. (A checkpoint without these
//! keys, from an older version, still loads, unchecked, with a note.)
//!
//! # Predicting with a checkpoint
//!
//! The network was trained on standardised features: raw 8x8 images must
//! go through the saved scaler first (without it, about 73% accuracy
//! instead of 97%).
//!
//! ```ignore
//! use nn::checkpoint::load_checkpoint;
//! use nn::data::Standardizer;
//! let ckpt = load_checkpoint::<f32>("model.safetensors")?;
//! let floats = |key: &str| -> Vec<f32> {
//!     ckpt.state.extra[key].split(',').map(|v| v.parse().unwrap()).collect()
//! };
//! let scaler = Standardizer { mean: floats("scaler.mean"), std: floats("scaler.std") };
//! let x = scaler.transform(&raw_features)?; // a Matrix<f32>, 64 columns
//! let digits = ckpt.model.classify(x.as_slice())?; // one class per row
//! ```
//!
//! In Python, `safetensors.safe_open(path, "pt").metadata()` gives the same
//! strings (`extra.scaler.mean`, ...).

#[path = "common/cli.rs"]
mod cli;
#[path = "common/plot.rs"]
mod plot;

use clap::parser::ValueSource;
use clap::{ArgMatches, Parser};
use indicatif::{ProgressBar, ProgressStyle};
use nn::checkpoint::{load_checkpoint, save_checkpoint, Checkpoint, Progress};
use nn::data::{digits, load_csv, CsvOptions, Standardizer, TargetKind};
use nn::{Activation, Event, Mlp, TrainConfig, Trainer};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Train a multilayer perceptron on the handwritten digits.
///
/// A checkpoint written by --save holds, besides the network, the
/// optimizer's state and the epoch, the settings that shape the run
/// (--optimizer, --batch-size, --test-fraction, --seed) and the feature
/// scaler fitted on the training split. --load takes the settings and the
/// architecture from it and refuses different ones given on the command
/// line, so that a resumed run continues bitwise as if never stopped.
///
/// To predict with a checkpoint, standardise raw features with the saved
/// scaler first: its metadata extra.scaler.mean and extra.scaler.std hold
/// one number per feature, comma-separated (Standardizer { mean, std });
/// then Mlp::classify. The comment at the top of nn/examples/digits.rs has
/// the code.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The optimizer: one of optim::METHODS (adam, adamw, sgd, sgd_momentum,
    /// sgd_nesterov, gradient_descent, heavy_ball, heavy_ball_symplectic,
    /// nesterov, friction, relaxation, adam_ode). With --load: the
    /// checkpoint's; if given, it must be the same.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Learning rate (step dt); by default 2e-3 for the Adam family, 0.05
    /// for the others. With --load, replaces the checkpoint's rate.
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// Number of epochs (with --load: the epoch to train up to).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: u64,
    /// Mini-batch size. With --load: the checkpoint's; if given, it must be
    /// the same.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Hidden widths, comma-separated. With --load the architecture comes
    /// from the checkpoint: if given, it must be the same.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    hidden: Vec<usize>,
    /// Hidden activation: relu, tanh, sigmoid or softplus. With --load: as
    /// --hidden.
    #[arg(long, default_value = "relu")]
    activation: String,
    /// ReLU's subgradient at exactly 0, in [0, 1]. With --load: as --hidden.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    relu_at_zero: f64,
    /// Seed of the initialisation, the split and the batch order. With
    /// --load: the checkpoint's; if given, it must be the same.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fraction of the data held out for testing, in (0, 1). With --load:
    /// the checkpoint's; if given, it must be the same.
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    test_fraction: f64,
    /// A CSV file in the digits format (64 pixels, then the label) instead
    /// of the bundled copy.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Draw the loss and accuracy curves into this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Save the network, the optimizer's state, the epoch reached, the
    /// run's settings and the feature scaler to this safetensors checkpoint
    /// when training ends (or stops on an error).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Resume from a checkpoint written by --save: the network (its
    /// architecture comes from the file), the optimizer's state, the epoch,
    /// the settings and the scaler; training continues up to --epochs.
    #[arg(long)]
    load: Option<PathBuf>,
    /// Threads for the matrix products (by default the environment
    /// variable CHAINRULE_NUM_THREADS, else every available core). The
    /// results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

/// The metadata keys (`Checkpoint::extra`) this example writes.
const KEY_OPTIMIZER: &str = "optimizer";
const KEY_BATCH_SIZE: &str = "batch_size";
const KEY_TEST_FRACTION: &str = "test_fraction";
const KEY_SAMPLES: &str = "samples";
const KEY_SCALER_MEAN: &str = "scaler.mean";
const KEY_SCALER_STD: &str = "scaler.std";

/// The settings that shape a run besides the architecture and the data:
/// the optimizer, the batches and the split.
#[derive(Clone, Debug, PartialEq)]
struct Settings {
    /// The `--optimizer` name, `-` written `_` (as `optim::by_name` reads it).
    optimizer: String,
    batch_size: usize,
    test_fraction: f64,
    seed: u64,
}

impl Settings {
    fn of(args: &Args) -> Settings {
        Settings {
            optimizer: args.optimizer.replace('-', "_"),
            batch_size: args.batch_size,
            test_fraction: args.test_fraction,
            seed: args.seed,
        }
    }

    /// The metadata entries that record them (the seed is in the
    /// checkpoint's progress).
    fn extra(&self) -> [(&'static str, String); 3] {
        [
            (KEY_OPTIMIZER, self.optimizer.clone()),
            (KEY_BATCH_SIZE, self.batch_size.to_string()),
            (KEY_TEST_FRACTION, format!("{:?}", self.test_fraction)),
        ]
    }
}

/// One setting on resuming: the checkpoint's value (`saved`, if it records
/// one) wins; one given on the command line (`given`) must equal it. When
/// the checkpoint records none, `ours` is kept and `flag` is added to
/// `unchecked`.
fn resume_one<V>(
    file: &str,
    flag: &'static str,
    ours: V,
    saved: Option<&str>,
    given: bool,
    unchecked: &mut Vec<&'static str>,
) -> Result<V, String>
where
    V: PartialEq + std::fmt::Display + std::str::FromStr,
{
    let Some(text) = saved else {
        unchecked.push(flag);
        return Ok(ours);
    };
    let saved: V = text
        .parse()
        .map_err(|_| format!("{file}: the recorded {flag} {text:?} cannot be read"))?;
    if given && saved != ours {
        let why = if flag == "--optimizer" {
            "the optimizer's state cannot be loaded into another method"
        } else {
            "a resumed run continues as if never stopped only with the same settings"
        };
        return Err(format!(
            "{file} was trained with {flag} {saved}, this run gives {flag} {ours}: {why} \
             (leave {flag} out to use the checkpoint's)"
        ));
    }
    Ok(saved)
}

/// The settings of a run resumed from a checkpoint whose metadata is
/// `extra` and whose progress has `seed`: [`resume_one`] for each, given
/// on the command line where `given(id)` (clap's argument id). Also returns
/// the flags the checkpoint does not record (an older version's).
fn resume_settings(
    file: &str,
    ours: &Settings,
    extra: &BTreeMap<String, String>,
    seed: Option<u64>,
    given: &dyn Fn(&str) -> bool,
) -> Result<(Settings, Vec<&'static str>), String> {
    let mut unchecked = Vec::new();
    let get = |k: &str| extra.get(k).map(String::as_str);
    let seed_text = seed.map(|s| s.to_string());
    let settings = Settings {
        optimizer: resume_one(
            file,
            "--optimizer",
            ours.optimizer.clone(),
            get(KEY_OPTIMIZER),
            given("optimizer"),
            &mut unchecked,
        )?,
        batch_size: resume_one(
            file,
            "--batch-size",
            ours.batch_size,
            get(KEY_BATCH_SIZE),
            given("batch_size"),
            &mut unchecked,
        )?,
        test_fraction: resume_one(
            file,
            "--test-fraction",
            ours.test_fraction,
            get(KEY_TEST_FRACTION),
            given("test_fraction"),
            &mut unchecked,
        )?,
        seed: resume_one(
            file,
            "--seed",
            ours.seed,
            seed_text.as_deref(),
            given("seed"),
            &mut unchecked,
        )?,
    };
    Ok((settings, unchecked))
}

/// With `--load`, the architecture comes from the checkpoint: refuses
/// `--hidden`, `--activation` or `--relu-at-zero` given on the command
/// line (`given(id)`) that differ from the checkpoint's network (the last
/// only where it has ReLU layers; elsewhere it is ignored, with a note).
fn check_architecture(
    file: &str,
    mlp: &Mlp<f32>,
    args: &Args,
    given: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    let widths = mlp.widths();
    let hidden = &widths[1..widths.len() - 1];
    let acts = &mlp.activations()[..mlp.activations().len() - 1];
    let list = |v: &[usize]| {
        v.iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    // One entry per distinct value, in layer order.
    let distinct = |v: Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for x in v {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out.join(",")
    };
    let names = distinct(acts.iter().map(|a| a.name().to_string()).collect());
    let refuse = |flag: &str, theirs: String, ours: String| {
        Err(format!(
            "{file} holds a network with {flag} {theirs}, this run gives {flag} {ours}: with \
             --load the architecture comes from the checkpoint (leave {flag} out)"
        ))
    };
    if given("hidden") && args.hidden != hidden {
        return refuse("--hidden", list(hidden), list(&args.hidden));
    }
    if given("activation") && acts.iter().any(|a| a.name() != args.activation) {
        return refuse("--activation", names, args.activation.clone());
    }
    let relu_at = |a: &Activation| match a {
        Activation::Relu { at_zero } => Some(*at_zero),
        _ => None,
    };
    if given("relu_at_zero") {
        let at: Vec<f64> = acts.iter().filter_map(relu_at).collect();
        if at.is_empty() {
            eprintln!("note: --relu-at-zero is ignored: {file}'s hidden activation is {names}");
        } else if at
            .iter()
            .any(|z| z.to_bits() != args.relu_at_zero.to_bits())
        {
            let theirs = distinct(at.iter().map(|z| z.to_string()).collect());
            return refuse("--relu-at-zero", theirs, args.relu_at_zero.to_string());
        }
    }
    Ok(())
}

/// `values` in the shortest form that reads back bitwise, comma-separated.
fn encode_floats(values: &[f32]) -> String {
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The inverse of [`encode_floats`].
fn decode_floats(text: &str) -> Result<Vec<f32>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|v| v.parse().map_err(|_| format!("{v:?} is not a number")))
        .collect()
}

/// The scaler a checkpoint's metadata records, if it does.
fn saved_scaler(
    file: &str,
    extra: &BTreeMap<String, String>,
) -> Result<Option<Standardizer<f32>>, String> {
    let read = |key: &str| -> Result<Option<Vec<f32>>, String> {
        extra
            .get(key)
            .map(|t| decode_floats(t).map_err(|e| format!("{file}: metadata extra.{key}: {e}")))
            .transpose()
    };
    match (read(KEY_SCALER_MEAN)?, read(KEY_SCALER_STD)?) {
        (None, None) => Ok(None),
        (Some(mean), Some(std)) if mean.len() == std.len() => Ok(Some(Standardizer { mean, std })),
        _ => Err(format!(
            "{file}: metadata extra.{KEY_SCALER_MEAN} and extra.{KEY_SCALER_STD} do not \
             come as a pair of equal lengths"
        )),
    }
}

/// Whether two scalers are bitwise the same.
fn same_scaler(a: &Standardizer<f32>, b: &Standardizer<f32>) -> bool {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    bits(&a.mean) == bits(&b.mean) && bits(&a.std) == bits(&b.std)
}

/// Saves what `Trainer::save_checkpoint` saves (network, optimizer state,
/// progress) and, as metadata, the run's settings, the number of samples
/// split and the scaler.
fn save(
    path: &Path,
    trainer: &Trainer<f32>,
    settings: &Settings,
    samples: usize,
    scaler: &Standardizer<f32>,
) -> Result<(), String> {
    let state = trainer.optimizer().state();
    let progress = Progress {
        epoch: trainer.epoch() as u64,
        step: trainer.optimizer().steps(),
        seed: trainer.config().seed,
    };
    let mut checkpoint = Checkpoint::new(trainer.mlp())
        .optimizer(&state)
        .progress(progress)
        .extra(KEY_SAMPLES, samples.to_string())
        .extra(KEY_SCALER_MEAN, encode_floats(&scaler.mean))
        .extra(KEY_SCALER_STD, encode_floats(&scaler.std));
    for (key, value) in settings.extra() {
        checkpoint = checkpoint.extra(key, value);
    }
    save_checkpoint(path, &checkpoint).map_err(|e| e.to_string())
}

fn activation(name: &str, at_zero: f64) -> Result<Activation, String> {
    Ok(match name {
        "relu" => Activation::Relu { at_zero },
        "tanh" => Activation::Tanh,
        "sigmoid" => Activation::Sigmoid,
        "softplus" => Activation::Softplus,
        _ => {
            return Err(format!(
                "unknown activation {name:?}; use relu, tanh, sigmoid or softplus"
            ))
        }
    })
}

/// A loss for the progress lines: four decimals, and in exponent form
/// (four significant digits) below 1e-3, where four decimals would lose
/// them, and from 1e6 up, where fixed point would print dozens of digits.
fn fmt_loss(l: f64) -> String {
    if l != 0.0 && l.is_finite() && !(1e-3..1e6).contains(&l.abs()) {
        format!("{l:.3e}")
    } else {
        format!("{l:.4}")
    }
}

/// Where a run stands after `completed` epochs, counting epochs from 1 as
/// the progress lines do: "after epoch 3", or "before epoch 1" when none
/// was completed.
fn after_epochs(completed: usize) -> String {
    if completed == 0 {
        "before epoch 1, none completed".to_string()
    } else {
        format!("after epoch {completed}")
    }
}

fn run(args: Args, matches: &ArgMatches) -> Result<(), String> {
    if let Some(t) = args.threads {
        autodiff::set_num_threads(t.into());
    }
    if !(args.test_fraction > 0.0 && args.test_fraction < 1.0) {
        return Err(format!(
            "--test-fraction must lie strictly between 0 and 1, got {}",
            args.test_fraction
        ));
    }
    // Before any training: a path that cannot be written would otherwise
    // fail only at the end.
    for (opt, path) in [("--save", &args.save), ("--plot", &args.plot)] {
        if let Some(p) = path {
            cli::check_writable(opt, p)?;
        }
    }
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let act = activation(&args.activation, args.relu_at_zero)?;
    let epochs = args.epochs as usize;

    // With --load, the checkpoint first: the settings come from it.
    let mut settings = Settings::of(&args);
    let loaded = match &args.load {
        None => None,
        Some(path) => {
            let file = path.display().to_string();
            let loaded = load_checkpoint::<f32>(path).map_err(|e| e.to_string())?;
            check_architecture(&file, &loaded.model, &args, &given)?;
            let seed = loaded.state.progress.map(|p| p.seed);
            let (resumed, unchecked) =
                resume_settings(&file, &settings, &loaded.state.extra, seed, &given)?;
            if !unchecked.is_empty() {
                eprintln!(
                    "note: {file} does not record {} (saved by an older version?): not \
                     checked, the values of this command line (or the defaults) are used",
                    unchecked.join(", ")
                );
            }
            settings = resumed;
            Some((file, loaded))
        }
    };

    let data = match &args.data {
        None => digits::<f32>().map_err(|e| e.to_string())?,
        Some(p) => {
            let opts = CsvOptions::default().targets(TargetKind::Classes {
                n_classes: Some(10),
            });
            load_csv::<f32>(p, &opts).map_err(|e| e.to_string())?
        }
    };
    let samples = data.len();
    let (train, test) = data
        .split(settings.test_fraction, settings.seed)
        .map_err(|e| e.to_string())?;
    let mut scaler = Standardizer::fit_dataset(&train).map_err(|e| e.to_string())?;
    if let Some((file, loaded)) = &loaded {
        let extra = &loaded.state.extra;
        if let Some(n) = extra.get(KEY_SAMPLES) {
            if *n != samples.to_string() {
                return Err(format!(
                    "{file} was trained on a data set of {n} samples, this one has {samples} \
                     (another --data?)"
                ));
            }
        }
        match saved_scaler(file, extra)? {
            // The same split of the same data fits bitwise the same scaler;
            // anything else would train on differently scaled inputs.
            Some(saved) if same_scaler(&saved, &scaler) => scaler = saved,
            Some(_) => {
                return Err(format!(
                    "{file}: the feature scaler it records is not the one fitted on this \
                     run's training split (another --data?): refusing to resume"
                ))
            }
            None => eprintln!(
                "note: {file} records no feature scaler (saved by an older version?): the \
                 one fitted on this run's training split is used"
            ),
        }
    }
    let train = scaler.transform_dataset(train).map_err(|e| e.to_string())?;
    let test = scaler.transform_dataset(test).map_err(|e| e.to_string())?;

    let mut widths = vec![train.n_features()];
    widths.extend(&args.hidden);
    widths.push(10);
    let (mlp, resumed) = match loaded {
        None => {
            let mlp = Mlp::<f32>::builder(&widths)
                .hidden(act)
                .seed(settings.seed)
                .build();
            (mlp.map_err(|e| e.to_string())?, None)
        }
        Some((file, loaded)) => {
            // The architecture comes from the file.
            widths = loaded.model.widths().to_vec();
            (loaded.model, Some((file, loaded.state)))
        }
    };
    let adam_family = settings.optimizer.starts_with("adam");
    let lr = args.lr.unwrap_or(if adam_family { 2e-3 } else { 0.05 });
    let optimizer = optim::by_name::<f32>(&settings.optimizer, lr).map_err(|e| e.to_string())?;
    let config = TrainConfig {
        epochs,
        batch_size: settings.batch_size,
        seed: settings.seed,
        ..Default::default()
    };

    let mut trainer = Trainer::new(mlp, optimizer, config);
    if let Some((file, state)) = &resumed {
        trainer.restore(state).map_err(|e| format!("{file}: {e}"))?;
        if let Some(lr) = args.lr {
            // The checkpoint's rate was restored with the state: --lr wins.
            trainer
                .optimizer_mut()
                .set_learning_rate(lr)
                .map_err(|e| e.to_string())?;
        }
        if trainer.epoch() >= epochs {
            return Err(format!(
                "{file} was saved after epoch {n}, so is already at epoch {n}: pass \
                 --epochs greater than {n} to train on",
                n = trainer.epoch()
            ));
        }
    }
    // What is trained, as it is after --load.
    let hidden: Vec<String> = trainer.mlp().activations()[..trainer.mlp().activations().len() - 1]
        .iter()
        .map(|a| a.to_string())
        .collect();
    println!(
        "chainrule digits: {} train / {} test samples (test fraction {}), {} features, 10 classes",
        train.len(),
        test.len(),
        settings.test_fraction,
        train.n_features()
    );
    println!(
        "network {:?} ({} parameters), {} hidden, identity output + softmax cross-entropy (mean); \
         optimizer {} lr {}; {} epochs, batch {}, reshuffled; seed {}",
        widths,
        trainer.mlp().num_params(),
        hidden.join(","),
        settings.optimizer,
        trainer.optimizer().learning_rate(),
        epochs,
        settings.batch_size,
        settings.seed
    );
    if let Some((file, _)) = &resumed {
        println!(
            "resumed from {file} (saved {})",
            after_epochs(trainer.epoch())
        );
    }
    let terminal = std::io::stdout().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    // Each step's mini-batch loss, at epoch + (step + 1) / steps: the plot
    // then shows a run that diverged in its first epoch too.
    let mut batch_losses: Vec<(f64, f64)> = Vec::new();
    let started = Instant::now();
    let result = trainer.fit(&train, Some(&test), |event| match event {
        Event::Step {
            epoch,
            step,
            steps,
            loss,
        } => {
            batch_losses.push((epoch as f64 + (step + 1) as f64 / steps as f64, loss));
            if !terminal {
                return;
            }
            let b = bar.get_or_insert_with(|| {
                let b = ProgressBar::new(steps as u64);
                b.set_style(
                    ProgressStyle::with_template("epoch {prefix:>3} [{bar:30}] {pos}/{len} {msg}")
                        .expect("a valid template")
                        .progress_chars("=> "),
                );
                b
            });
            b.set_prefix(format!("{}", epoch + 1));
            b.set_position(step as u64 + 1);
            b.set_message(format!("loss {}", fmt_loss(loss)));
        }
        Event::Epoch(r) => {
            let line = format!(
                "epoch {:>3}/{}  train loss {}  test loss {}  test accuracy {:.2}%  ({:.1} ms)",
                r.epoch + 1,
                epochs,
                fmt_loss(r.train_loss),
                fmt_loss(r.test_loss.unwrap_or(f64::NAN)),
                100.0 * r.test_accuracy.unwrap_or(f64::NAN),
                r.seconds * 1e3
            );
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            println!("{line}");
        }
    });
    if let Some(b) = bar.take() {
        b.finish_and_clear();
    }
    let wall = started.elapsed().as_secs_f64();
    // The epochs completed, also when training stopped on an error.
    let history = trainer.history();
    if let (Ok(_), Some(last)) = (&result, history.epochs.last()) {
        println!(
            "test accuracy {:.2}% after epoch {}; training time {:.3} s ({:.2} ms per epoch), {:.3} s with evaluation",
            100.0 * last.test_accuracy.unwrap_or(f64::NAN),
            trainer.epoch(),
            history.train_seconds,
            1e3 * history.train_seconds / history.epochs.len() as f64,
            wall
        );
    }
    // Whatever failed, everything else is still written: first the plot
    // (cheap, and nothing to lose if the save fails), then the checkpoint.
    let mut errors = Vec::new();
    if let Err(e) = &result {
        errors.push(e.to_string());
    }
    if let Some(path) = &args.plot {
        match write_plot(path, history, &batch_losses) {
            Ok(()) if result.is_ok() => println!("wrote {}", path.display()),
            Ok(()) => println!(
                "wrote {} (what was completed before the error)",
                path.display()
            ),
            Err(e) => errors.push(e),
        }
    }
    if let Some(path) = &args.save {
        // Saved even when training stopped on an error: the network and
        // the optimizer are consistent (see nn::Error::NonFinite).
        match save(path, &trainer, &settings, samples, &scaler) {
            Ok(()) => println!(
                "saved {} ({})",
                path.display(),
                after_epochs(trainer.epoch())
            ),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// At most this many points of the mini-batch loss are plotted (means of
/// consecutive steps beyond).
const MAX_BATCH_POINTS: usize = 1000;

/// The loss and accuracy curves of the epochs in `history`, and the
/// mini-batch losses, into the SVG file `path`.
fn write_plot(
    path: &std::path::Path,
    history: &nn::History,
    batch_losses: &[(f64, f64)],
) -> Result<(), String> {
    let curve = |f: &dyn Fn(&nn::EpochReport) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .epochs
            .iter()
            .filter_map(|r| f(r).map(|v| ((r.epoch + 1) as f64, v)))
            .collect()
    };
    let series = |label: &str, points: Vec<(f64, f64)>| plot::Series {
        label: label.into(),
        points,
        faint: false,
    };
    let per = batch_losses.len().div_ceil(MAX_BATCH_POINTS).max(1);
    let batches = batch_losses
        .chunks(per)
        .map(|c| {
            let mean = c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64;
            (c[c.len() - 1].0, mean)
        })
        .collect();
    let losses = vec![
        series("train", curve(&|r| Some(r.train_loss))),
        series("test", curve(&|r| r.test_loss)),
        plot::Series {
            label: "mini-batch".into(),
            points: batches,
            faint: true,
        },
    ];
    let accuracy = vec![
        series("train", curve(&|r| r.train_accuracy.map(|a| 100.0 * a))),
        series("test", curve(&|r| r.test_accuracy.map(|a| 100.0 * a))),
    ];
    plot::svg(
        path,
        &[
            ("cross-entropy loss", "epoch", "loss", losses, true),
            ("accuracy", "epoch", "accuracy (%)", accuracy, false),
        ],
    )
}

fn main() -> ExitCode {
    cli::main(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_print_short_at_any_size() {
        assert_eq!(fmt_loss(0.30512), "0.3051");
        assert_eq!(fmt_loss(3.326e-4), "3.326e-4");
        assert_eq!(fmt_loss(123284982791424507686958300905078784.0), "1.233e35");
        assert_eq!(fmt_loss(999_999.0), "999999.0000");
        assert_eq!(fmt_loss(1e6), "1.000e6");
        assert_eq!(fmt_loss(0.0), "0.0000");
        assert_eq!(fmt_loss(f64::INFINITY), "inf");
        assert_eq!(fmt_loss(f64::NAN), "NaN");
    }

    #[test]
    fn epochs_count_from_one() {
        assert_eq!(after_epochs(0), "before epoch 1, none completed");
        assert_eq!(after_epochs(6), "after epoch 6");
    }

    use clap::{CommandFactory, FromArgMatches};
    use nn::checkpoint::LoadedCheckpoint;

    /// `digits <argv>` run in-process.
    fn digits_cli(argv: &[&str]) -> Result<(), String> {
        let m = Args::command()
            .try_get_matches_from(std::iter::once("digits").chain(argv.iter().copied()))
            .unwrap();
        run(Args::from_arg_matches(&m).unwrap(), &m)
    }

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("chainrule-digits-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn load(path: &Path) -> LoadedCheckpoint<f32> {
        load_checkpoint::<f32>(path).unwrap()
    }

    #[test]
    fn floats_round_trip_bitwise() {
        let v = [0.1f32, -0.0, 1e-8, 3.4028235e38, 1.0e-45, 64.0, -2.5];
        let back = decode_floats(&encode_floats(&v)).unwrap();
        assert_eq!(
            back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert!(decode_floats("1,x").is_err());
        assert_eq!(decode_floats("").unwrap(), Vec::<f32>::new());
    }

    #[test]
    fn settings_come_from_the_checkpoint_and_a_different_one_given_is_refused() {
        let ours = Settings {
            optimizer: "adam".into(),
            batch_size: 32,
            test_fraction: 0.2,
            seed: 0,
        };
        let saved = Settings {
            optimizer: "sgd_momentum".into(),
            batch_size: 64,
            test_fraction: 0.25,
            seed: 0,
        };
        let extra: BTreeMap<String, String> = saved
            .extra()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        // Nothing given: the checkpoint's.
        let (got, unchecked) = resume_settings("h.st", &ours, &extra, Some(7), &|_| false).unwrap();
        assert_eq!(
            got,
            Settings {
                seed: 7,
                ..saved.clone()
            }
        );
        assert!(unchecked.is_empty());
        // Given and different: refused, naming the flag and both values.
        let e =
            resume_settings("h.st", &ours, &extra, Some(0), &|id| id == "batch_size").unwrap_err();
        assert!(
            e.contains("h.st was trained with --batch-size 64, this run gives --batch-size 32"),
            "{e}"
        );
        let e = resume_settings("h.st", &ours, &extra, Some(0), &|id| id == "test_fraction")
            .unwrap_err();
        assert!(
            e.contains("--test-fraction 0.25, this run gives --test-fraction 0.2"),
            "{e}"
        );
        let e =
            resume_settings("h.st", &ours, &extra, Some(0), &|id| id == "optimizer").unwrap_err();
        assert!(
            e.contains(
                "--optimizer sgd_momentum, this run gives --optimizer adam: the optimizer's \
                 state cannot be loaded"
            ),
            "{e}"
        );
        let e = resume_settings("h.st", &ours, &extra, Some(3), &|id| id == "seed").unwrap_err();
        assert!(e.contains("--seed 3, this run gives --seed 0"), "{e}");
        // Given and equal: fine.
        let same = Settings {
            seed: 7,
            ..saved.clone()
        };
        assert!(resume_settings("h.st", &same, &extra, Some(7), &|_| true).is_ok());
        // An older checkpoint: nothing recorded, nothing checked, ours kept.
        let (got, unchecked) =
            resume_settings("h.st", &ours, &BTreeMap::new(), Some(0), &|_| true).unwrap();
        assert_eq!(got, ours);
        assert_eq!(
            unchecked,
            ["--optimizer", "--batch-size", "--test-fraction"]
        );
    }

    #[test]
    fn a_resumed_run_is_bitwise_the_run_never_stopped_and_refuses_other_settings() {
        let dir = scratch("resume");
        let (whole, half) = (dir.join("whole.st"), dir.join("half.st"));
        let whole_s = whole.to_str().unwrap();
        let half_s = half.to_str().unwrap();
        let settings = [
            "--batch-size",
            "64",
            "--test-fraction",
            "0.25",
            "--seed",
            "5",
        ];
        fn with<'a>(settings: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
            [settings, extra].concat()
        }
        digits_cli(&with(&settings, &["--epochs", "2", "--save", whole_s])).unwrap();
        digits_cli(&with(&settings, &["--epochs", "1", "--save", half_s])).unwrap();
        for (flag, value) in [
            ("--batch-size", "32"),
            ("--test-fraction", "0.2"),
            ("--seed", "0"),
            ("--optimizer", "sgd"),
            ("--hidden", "32"),
            ("--activation", "tanh"),
            ("--relu-at-zero", "0.5"),
        ] {
            let e = digits_cli(&["--epochs", "2", "--load", half_s, flag, value]).unwrap_err();
            assert!(e.contains(&format!("this run gives {flag} {value}")), "{e}");
        }
        // Nothing repeated: the settings come from the checkpoint.
        digits_cli(&["--epochs", "2", "--load", half_s, "--save", half_s]).unwrap();
        let (a, b) = (load(&whole), load(&half));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a.model.params()), bits(b.model.params()));
        assert_eq!(a.state, b.state);
        assert_eq!(a.state.extra[KEY_BATCH_SIZE], "64");
        assert_eq!(a.state.extra[KEY_TEST_FRACTION], "0.25");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_checkpoint_predicts_on_raw_data_through_its_saved_scaler() {
        let dir = scratch("predict");
        let path = dir.join("m.st");
        digits_cli(&["--epochs", "5", "--save", path.to_str().unwrap()]).unwrap();
        // What a user has: the file and raw images.
        let ckpt = load(&path);
        let scaler = saved_scaler("m.st", &ckpt.state.extra).unwrap().unwrap();
        let (_, test) = digits::<f32>().unwrap().split(0.2, 0).unwrap();
        let labels = test.labels().unwrap();
        let raw = test.features();
        let scaled = scaler.transform(raw).unwrap();
        let with = ckpt.model.accuracy(scaled.as_slice(), labels).unwrap();
        let without = ckpt.model.accuracy(raw.as_slice(), labels).unwrap();
        assert!(with > 0.9, "accuracy {with} through the saved scaler");
        assert!(without < with - 0.1, "raw {without} vs scaled {with}");
        // The one the run used: fitted on the training split.
        let (train, _) = digits::<f32>().unwrap().split(0.2, 0).unwrap();
        assert!(same_scaler(
            &scaler,
            &Standardizer::fit_dataset(&train).unwrap()
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_run_still_writes_its_plot_and_checkpoint() {
        let dir = scratch("failed");
        let (plot, save) = (dir.join("p.svg"), dir.join("m.st"));
        let e = digits_cli(&[
            "--optimizer",
            "sgd",
            "--lr",
            "5",
            "--epochs",
            "2",
            "--plot",
            plot.to_str().unwrap(),
            "--save",
            save.to_str().unwrap(),
        ])
        .unwrap_err();
        assert!(e.contains("diverged"), "{e}");
        let svg = std::fs::read_to_string(&plot).unwrap();
        assert!(svg.contains("mini-batch"));
        assert_eq!(load(&save).state.extra[KEY_OPTIMIZER], "sgd");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_save_refuses_the_run_before_training() {
        let dir = scratch("unwritable");
        let file = dir.join("afile");
        std::fs::write(&file, b"").unwrap();
        let target = file.join("m.st");
        let e = digits_cli(&["--epochs", "1", "--save", target.to_str().unwrap()]).unwrap_err();
        assert!(e.ends_with("afile is not a directory"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
