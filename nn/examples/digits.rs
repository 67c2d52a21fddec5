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

#[path = "common/cli.rs"]
mod cli;
#[path = "common/plot.rs"]
mod plot;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use nn::checkpoint::load_checkpoint;
use nn::data::{digits, load_csv, CsvOptions, Standardizer, TargetKind};
use nn::{Activation, Event, Mlp, TrainConfig, Trainer};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Train a multilayer perceptron on the handwritten digits.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The optimizer: one of optim::METHODS (adam, adamw, sgd, sgd_momentum,
    /// sgd_nesterov, gradient_descent, heavy_ball, heavy_ball_symplectic,
    /// nesterov, friction, relaxation, adam_ode).
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Learning rate (step dt); by default 2e-3 for the Adam family, 0.05
    /// for the others. With --load, replaces the checkpoint's rate.
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f64>,
    /// Number of epochs (with --load: the epoch to train up to).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: u64,
    /// Mini-batch size.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Hidden widths, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    hidden: Vec<usize>,
    /// Hidden activation: relu, tanh, sigmoid or softplus.
    #[arg(long, default_value = "relu")]
    activation: String,
    /// ReLU's subgradient at exactly 0, in [0, 1].
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    relu_at_zero: f64,
    /// Seed of the initialisation, the split and the batch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fraction of the data held out for testing, in (0, 1).
    #[arg(long, default_value_t = 0.2, allow_negative_numbers = true)]
    test_fraction: f64,
    /// A CSV file in the digits format (64 pixels, then the label) instead
    /// of the bundled copy.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Draw the loss and accuracy curves into this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Save the network, the optimizer's state and the epoch reached to this
    /// safetensors checkpoint when training ends (or stops on an error).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Resume from a checkpoint written by --save: the network (its
    /// architecture comes from the file), the optimizer's state and the
    /// epoch; training continues up to --epochs.
    #[arg(long)]
    load: Option<PathBuf>,
    /// Threads for the matrix products (by default the environment
    /// variable CHAINRULE_NUM_THREADS, else every available core). The
    /// results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
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

fn run(args: Args) -> Result<(), String> {
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
    let epochs = args.epochs as usize;
    let data = match &args.data {
        None => digits::<f32>().map_err(|e| e.to_string())?,
        Some(p) => {
            let opts = CsvOptions::default().targets(TargetKind::Classes {
                n_classes: Some(10),
            });
            load_csv::<f32>(p, &opts).map_err(|e| e.to_string())?
        }
    };
    let (train, test) = data
        .split(args.test_fraction, args.seed)
        .map_err(|e| e.to_string())?;
    let scaler = Standardizer::fit_dataset(&train).map_err(|e| e.to_string())?;
    let train = scaler.transform_dataset(train).map_err(|e| e.to_string())?;
    let test = scaler.transform_dataset(test).map_err(|e| e.to_string())?;

    let mut widths = vec![train.n_features()];
    widths.extend(&args.hidden);
    widths.push(10);
    let act = activation(&args.activation, args.relu_at_zero)?;
    let (mlp, resumed) = match &args.load {
        None => {
            let mlp = Mlp::<f32>::builder(&widths)
                .hidden(act)
                .seed(args.seed)
                .build();
            (mlp.map_err(|e| e.to_string())?, None)
        }
        Some(path) => {
            // The architecture comes from the file.
            let loaded = load_checkpoint::<f32>(path).map_err(|e| e.to_string())?;
            widths = loaded.model.widths().to_vec();
            (loaded.model, Some(loaded.state))
        }
    };
    let adam_family = args.optimizer.starts_with("adam");
    let lr = args.lr.unwrap_or(if adam_family { 2e-3 } else { 0.05 });
    let optimizer = optim::by_name::<f32>(&args.optimizer, lr).map_err(|e| e.to_string())?;
    let config = TrainConfig {
        epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        ..Default::default()
    };

    let mut trainer = Trainer::new(mlp, optimizer, config);
    if let (Some(state), Some(path)) = (&resumed, &args.load) {
        trainer
            .restore(state)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(lr) = args.lr {
            // The checkpoint's rate was restored with the state: --lr wins.
            trainer
                .optimizer_mut()
                .set_learning_rate(lr)
                .map_err(|e| e.to_string())?;
        }
        if trainer.epoch() >= epochs {
            return Err(format!(
                "{} was saved after epoch {n}, so is already at epoch {n}: pass --epochs \
                 greater than {n} to train on",
                path.display(),
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
        "chainrule digits: {} train / {} test samples, {} features, 10 classes",
        train.len(),
        test.len(),
        train.n_features()
    );
    println!(
        "network {:?} ({} parameters), {} hidden, identity output + softmax cross-entropy (mean); \
         optimizer {} lr {}; {} epochs, batch {}, reshuffled; seed {}",
        widths,
        trainer.mlp().num_params(),
        hidden.join(","),
        args.optimizer,
        trainer.optimizer().learning_rate(),
        epochs,
        args.batch_size,
        args.seed
    );
    if let Some(path) = &args.load {
        println!(
            "resumed from {} (saved {})",
            path.display(),
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
        match trainer.save_checkpoint(path) {
            Ok(()) => println!(
                "saved {} ({})",
                path.display(),
                after_epochs(trainer.epoch())
            ),
            Err(e) => errors.push(e.to_string()),
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
}
