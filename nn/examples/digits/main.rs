//! The main job: train an MLP on the UCI optical-recognition digits
//! (1,797 images of 8x8 pixels, 10 classes; bundled, CC BY 4.0) with
//! reshuffled mini-batches, and report the held-out test accuracy.
//!
//! ```text
//! cargo run --release -p chainrule-nn --example digits
//! cargo run --release -p chainrule-nn --example digits -- --optimizer sgd_momentum --lr 0.05 --plot loss.svg
//! cargo run --release -p chainrule-nn --example digits -- --optimizer adamw --weight-decay 0.05 --no-bias-decay --schedule cosine --warmup 100
//! cargo run --release -p chainrule-nn --example digits -- --epochs 10 --save model.safetensors
//! cargo run --release -p chainrule-nn --example digits -- --epochs 20 --load model.safetensors
//! cargo run --release -p chainrule-nn --example digits -- --load model.safetensors --evaluate --report
//! cargo run --release -p chainrule-nn --example digits -- --help
//! ```
//!
//! # What a checkpoint holds
//!
//! `--save` writes the trainer's checkpoint ([`Trainer::checkpoint`]: the
//! network, the optimizer's state with its settings, the progress: epoch,
//! steps, seed, and the trainer's settings: metadata `training.*`), the
//! feature scaler fitted on the training split
//! ([`Checkpoint::scaler`]: tensors `scaler.mean` and `scaler.std`) and, as
//! free-form metadata ([`Checkpoint::extra`], keys `extra.<key>` in the
//! file), the settings that shape the run:
//!
//! | key | value |
//! | --- | --- |
//! | `optimizer` | the `--optimizer` name, e.g. `sgd_momentum` |
//! | `batch_size` | the `--batch-size` |
//! | `test_fraction` | the `--test-fraction`, shortest round-trip form |
//! | `samples` | the number of samples split into training and test |
//! | `schedule` | the `--schedule`, a cosine's length resolved, e.g. `cosine:1305:0.0` |
//! | `warmup` | the `--warmup` steps |
//! | `lr` | the peak `--lr` of a schedule (absent for a constant rate: the optimizer state's) |
//! | `clip_grad_norm` | the `--clip-grad-norm` bound, shortest round-trip form, or `none` |
//! | `dropout` | the `--dropout` probability, shortest round-trip form, or `none` |
//! | `label_smoothing` | the `--label-smoothing`, shortest round-trip form (`0.0` for none) |
//!
//! The optimizer's hyperparameters (`--weight-decay`, `--momentum`,
//! `--beta1`, `--beta2`, `--eps` and the others of `optim::Hyperparameter`)
//! are the optimizer state's settings (metadata `optimizer.settings`), and
//! so is `--no-bias-decay`, as the decay mask's `decay_mask_*` settings.
//!
//! `--load` takes those settings and hyperparameters (and the seed) from
//! the checkpoint, refuses a different one given on the command line, and
//! checks that the scaler fitted again on the same split is bitwise the
//! saved one: a resumed run then continues bitwise as if never stopped.
//! (`Trainer::restore` checks the `training.*` keys again, which settings
//! taken from the checkpoint pass; the checks here come first, to take the
//! checkpoint's values for flags left out and to name a flag that differs.
//! A checkpoint without these keys, from an older version, still loads,
//! unchecked, with a note; one whose scaler is in the metadata strings
//! `extra.scaler.mean` and `extra.scaler.std`, as the previous version
//! wrote it, loads as well.)
//!
//! # Predicting with a checkpoint
//!
//! The network was trained on standardised features: raw 8x8 images must
//! go through the saved scaler first (without it, about 74% test accuracy
//! instead of 98% for the default run).
//!
//! ```ignore
//! use nn::checkpoint::load_checkpoint;
//! let ckpt = load_checkpoint::<f32>("model.safetensors")?;
//! let scaler = ckpt.state.scaler.expect("saved by --save");
//! let x = scaler.transform(&raw_features)?; // a Matrix<f32>, 64 columns
//! let digits = ckpt.model.classify(x.as_slice())?; // one class per row
//! ```
//!
//! In Python, `safetensors.torch.load_file(path)` gives the same tensors
//! beside the network's (see `nn::checkpoint` for the division by a `std`
//! of 0, the pixels constant on the training split).
//!
//! [`Trainer::checkpoint`]: nn::Trainer::checkpoint
//! [`Checkpoint::scaler`]: nn::checkpoint::Checkpoint::scaler
//! [`Checkpoint::extra`]: nn::checkpoint::Checkpoint::extra

#[path = "../common/cli.rs"]
mod cli;
#[path = "../common/plot.rs"]
mod plot;

mod args;
mod checkpoint;
mod curves;
mod hyper;
mod interrupt;
mod progress;
mod resume;
mod schedule;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_optimizer;

use args::{activation, Args};
use autodiff::Reduction;
use clap::parser::ValueSource;
use clap::ArgMatches;
use nn::data::{digits, load_csv, CsvOptions, Dataset, Standardizer, TargetKind};
use nn::metrics::ConfusionMatrix;
use nn::{Activation, Loss, Metric, Mlp, ReduceOnPlateau, TrainConfig, Trainer};
use optim::Builder;
use progress::{after_epochs, Outcome};
use resume::{Loaded, Settings};
use schedule::Plan;
use std::process::ExitCode;

fn run(args: Args, matches: &ArgMatches) -> Result<(), String> {
    check_args(&args)?;
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let act = activation(&args.activation, args.relu_at_zero)?;
    // Another activation would ignore it: refused, as a hyperparameter flag
    // is for a method without it.
    if given("relu_at_zero") && !matches!(act, Activation::Relu { .. }) {
        return Err(format!(
            "--relu-at-zero applies to --activation relu only, this run gives --activation {}",
            args.activation
        ));
    }
    let epochs = args.epochs as usize;
    // With --load, the checkpoint first: the settings come from it.
    let (settings, loaded) = match &args.load {
        None => (Settings::of(&args), None),
        Some(path) => {
            let (settings, loaded) = resume::open(path, &args, &Settings::of(&args), &given)?;
            (settings, Some(loaded))
        }
    };
    let data = prepare_data(&args, &settings, loaded.as_ref())?;
    let (plan, optimizer, no_bias_decay) =
        plan_optimizer(&args, &settings, &data, loaded.as_ref(), &given)?;
    let features = data.train.n_features();
    let (mut trainer, optimizer, resumed_from) = build_trainer(
        &args,
        act,
        &settings,
        (&plan, optimizer, no_bias_decay),
        features,
        loaded,
    )?;
    if let (true, Some(file)) = (args.evaluate, &resumed_from) {
        return evaluate(file, &trainer, &data, args.report);
    }
    let run_steps = args.epochs * data.train.len().div_ceil(settings.batch_size) as u64;
    if let Some(note) = plan.warmup_past_the_run(run_steps) {
        eprintln!("note: {note}");
    }
    if let Some(file) = &resumed_from {
        check_epochs_left(file, &trainer, epochs)?;
        if let Some(note) = plan.past_its_end(trainer.optimizer().steps(), run_steps) {
            eprintln!("note: {note}");
        }
    }
    let splits = (&data.train, &data.test);
    let run = progress::Run {
        settings: &settings,
        plan: &plan,
        optimizer: &optimizer,
        epochs,
    };
    progress::print_header(&trainer, splits, &run, resumed_from.as_deref());
    let outcome = progress::train(&mut trainer, splits, epochs);
    progress::print_summary(&trainer, &outcome);
    // (The report's error, if any, after the plot and the checkpoint are
    // written.)
    let mut report = Ok(());
    if args.report && outcome.result.is_ok() {
        match ConfusionMatrix::of(trainer.mlp(), &data.test) {
            Ok(cm) => println!("test set, {} samples:\n{cm}", data.test.len()),
            Err(e) => report = Err(format!("--report: {e}")),
        }
    }
    write_outputs(&args, &trainer, &outcome, (&settings, &plan), &data)?;
    if outcome.result.as_ref().is_ok_and(|h| h.stopped_by_callback) {
        // (After the checkpoint and the plot: the epochs trained are kept.)
        return Err(format!(
            "interrupted (Ctrl-C) after epoch {} of {epochs}",
            trainer.epoch()
        ));
    }
    report
}

/// `--evaluate`: the loss and accuracy of the network loaded from `file` on
/// the training and test splits, and the report if asked for.
fn evaluate(
    file: &str,
    trainer: &Trainer<f32>,
    data: &Prepared,
    report: bool,
) -> Result<(), String> {
    let mlp = trainer.mlp();
    println!(
        "{file}: network {:?} ({} parameters), {} hidden, saved {}",
        mlp.widths(),
        mlp.num_params(),
        progress::hidden_activations(mlp),
        after_epochs(trainer.epoch())
    );
    let loss = trainer.config().loss;
    for (name, split) in [("train", &data.train), ("test", &data.test)] {
        let (l, accuracy) = nn::evaluate(trainer.mlp(), loss, split).map_err(|e| e.to_string())?;
        let accuracy = accuracy.map_or(String::new(), |a| format!("  accuracy {:.2}%", 100.0 * a));
        println!(
            "{name:<5} ({} samples)  loss {}{accuracy}",
            split.len(),
            progress::fmt_loss(l)
        );
    }
    if report {
        let cm =
            ConfusionMatrix::of(trainer.mlp(), &data.test).map_err(|e| format!("--report: {e}"))?;
        println!("test set, {} samples:\n{cm}", data.test.len());
    }
    Ok(())
}

/// The learning rate's plan, the optimizer (method and hyperparameters)
/// and whether the biases are exempt from its weight decay, for a run on
/// `data`: from the command line, or, on `--load`, from the checkpoint,
/// refusing different ones given. Checked before any training: a flag the
/// method does not take, a value out of range.
fn plan_optimizer(
    args: &Args,
    settings: &Settings,
    data: &Prepared,
    loaded: Option<&Loaded>,
    given: &dyn Fn(&str) -> bool,
) -> Result<(Plan, Builder, bool), String> {
    let default_lr = match settings.optimizer.as_str() {
        m if m.starts_with("adam") => 2e-3,
        "rmsprop" => 1e-3,
        _ => 0.05,
    };
    let steps_per_epoch = data.train.len().div_ceil(settings.batch_size) as u64;
    let saved = loaded.map(|l| (l.file.as_str(), &l.checkpoint.state));
    let (plan, unchecked) = Plan::settle(
        args,
        default_lr,
        args.epochs * steps_per_epoch,
        saved.map(|(file, state)| (file, &state.extra)),
        given,
    )?;
    if let (Some((file, _)), false) = (saved, unchecked.is_empty()) {
        eprintln!(
            "note: {file} does not record {} (saved by an older version?): the values of \
             this command line (or the defaults) are used",
            unchecked.join(", ")
        );
    }
    let state = saved.and_then(|(file, s)| s.optimizer.as_ref().map(|o| (file, o)));
    let flags = hyper::given(args);
    if let Some(note) = state.and_then(|(file, o)| hyper::unchecked(file, o, &flags)) {
        eprintln!("note: {note}");
    }
    let optimizer = hyper::builder(&settings.optimizer, plan.lr, &flags, state)?;
    let no_bias_decay = hyper::no_bias_decay(args.no_bias_decay, &optimizer, state)?;
    // Out-of-range values fail here, before the data is touched further.
    optimizer.build::<f32>().map_err(|e| e.to_string())?;
    plan.schedule()?;
    Ok((plan, optimizer, no_bias_decay))
}

/// Checks what clap cannot, before any work: the test fraction, and that
/// `--save` and `--plot` can be written (which would otherwise fail only
/// at the end). Sets the number of threads.
fn check_args(args: &Args) -> Result<(), String> {
    if let Some(t) = args.threads {
        autodiff::set_num_threads(t.into());
    }
    if !(args.test_fraction > 0.0 && args.test_fraction < 1.0) {
        return Err(format!(
            "--test-fraction must lie strictly between 0 and 1, got {}",
            args.test_fraction
        ));
    }
    for (opt, path) in [("--save", &args.save), ("--plot", &args.plot)] {
        if let Some(p) = path {
            cli::check_writable(opt, p)?;
        }
    }
    Ok(())
}

/// The data of a run: the training and test splits, standardised by
/// `scaler`, fitted on the training split; `samples` were split.
struct Prepared {
    train: Dataset<f32>,
    test: Dataset<f32>,
    scaler: Standardizer<f32>,
    samples: usize,
}

/// Reads the data (`--data` or the bundled copy), splits it and
/// standardises it; a resumed run must find the checkpoint's data.
fn prepare_data(
    args: &Args,
    settings: &Settings,
    loaded: Option<&Loaded>,
) -> Result<Prepared, String> {
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
    if let Some(loaded) = loaded {
        scaler = checkpoint::check_data(loaded, samples, scaler)?;
    }
    Ok(Prepared {
        train: scaler.transform_dataset(train).map_err(|e| e.to_string())?,
        test: scaler.transform_dataset(test).map_err(|e| e.to_string())?,
        scaler,
        samples,
    })
}

/// The trainer of a new network of `features` inputs, or of the loaded one
/// with its optimizer state and epoch restored, and the optimizer's
/// builder, with the network's weights as its decay mask if the biases are
/// exempt (`no_bias_decay`). Also returns the checkpoint's name, if any.
fn build_trainer(
    args: &Args,
    act: Activation,
    settings: &Settings,
    (plan, optimizer, no_bias_decay): (&Plan, Builder, bool),
    features: usize,
    loaded: Option<Loaded>,
) -> Result<(Trainer<f32>, Builder, Option<String>), String> {
    let (mlp, resumed) = match loaded {
        None => {
            let mut widths = vec![features];
            widths.extend(&args.hidden);
            widths.push(10);
            let mlp = Mlp::<f32>::builder(&widths)
                .hidden(act)
                .seed(settings.seed)
                .build();
            (mlp.map_err(|e| e.to_string())?, None)
        }
        // The architecture comes from the file.
        Some(Loaded { file, checkpoint }) => (checkpoint.model, Some((file, checkpoint.state))),
    };
    // Both would set the rate: the schedule before every step.
    if args.reduce_on_plateau.is_some() && plan.schedule()?.is_some() {
        return Err(
            "--reduce-on-plateau cannot go with a schedule (a --schedule other than \
                    constant, or a --warmup; with --load, the checkpoint's): both set the \
                    learning rate"
                .into(),
        );
    }
    let config = TrainConfig {
        epochs: args.epochs as usize,
        batch_size: settings.batch_size,
        seed: settings.seed,
        schedule: plan.schedule()?,
        clip_grad_norm: settings.clip.0,
        dropout: settings.dropout.0,
        reduce_on_plateau: args
            .reduce_on_plateau
            .map(|(patience, factor)| ReduceOnPlateau {
                metric: Metric::TrainLoss,
                factor,
                patience,
                ..ReduceOnPlateau::default()
            }),
        // (The plain loss for 0: the same bitwise, and named as before.)
        loss: match settings.label_smoothing {
            0.0 => Loss::CrossEntropy(Reduction::Mean),
            eps => Loss::SmoothedCrossEntropy {
                reduction: Reduction::Mean,
                label_smoothing: eps,
            },
        },
        ..Default::default()
    };
    let optimizer = match no_bias_decay {
        true => optimizer
            .with_decay_mask(mlp.weights_mask())
            .map_err(|e| e.to_string())?,
        false => optimizer,
    };
    let built = optimizer.build::<f32>().map_err(|e| e.to_string())?;
    let mut trainer = Trainer::new(mlp, built, config);
    let Some((file, state)) = resumed else {
        return Ok((trainer, optimizer, None));
    };
    trainer
        .restore(&state)
        .map_err(|e| format!("{file}: {e}"))?;
    if let (Some(lr), false) = (args.lr, plan.is_scheduled()) {
        // The checkpoint's rate was restored with the state: --lr wins (a
        // schedule sets the rate before every step).
        trainer
            .optimizer_mut()
            .set_learning_rate(lr)
            .map_err(|e| e.to_string())?;
    }
    Ok((trainer, optimizer, Some(file)))
}

/// A run resumed from `file` must have epochs left to train.
fn check_epochs_left(file: &str, trainer: &Trainer<f32>, epochs: usize) -> Result<(), String> {
    if trainer.epoch() >= epochs {
        return Err(format!(
            "{file} was saved after epoch {n}, so is already at epoch {n}: pass \
             --epochs greater than {n} to train on (or --evaluate to evaluate it)",
            n = trainer.epoch()
        ));
    }
    Ok(())
}

/// Writes the plot and the checkpoint asked for. Whatever failed, training
/// included, everything else is still written: first the plot (cheap, and
/// nothing to lose if the save fails), then the checkpoint. The errors, one
/// per line.
fn write_outputs(
    args: &Args,
    trainer: &Trainer<f32>,
    outcome: &Outcome,
    (settings, plan): (&Settings, &Plan),
    data: &Prepared,
) -> Result<(), String> {
    let mut errors = Vec::new();
    if let Err(e) = &outcome.result {
        errors.push(e.to_string());
    }
    if let Some(path) = &args.plot {
        match curves::write_plot(path, trainer.history(), &outcome.batch_losses) {
            Ok(()) if outcome.result.is_ok() => println!("wrote {}", path.display()),
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
        match checkpoint::save(path, trainer, (settings, plan), data.samples, &data.scaler) {
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

fn main() -> ExitCode {
    cli::main(run)
}
