//! What a run prints: its configuration, a progress bar on a terminal, one
//! line per epoch, and the final accuracy and timings.

use crate::hyper;
use crate::resume::Settings;
use crate::schedule::Plan;
use indicatif::{ProgressBar, ProgressStyle};
use nn::data::Dataset;
use nn::{Callback, EpochReport, Event, Observer, Trainer};
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::time::Instant;

/// A loss for the progress lines: four decimals, and in exponent form
/// (four significant digits) below 1e-3, where four decimals would lose
/// them, and from 1e6 up, where fixed point would print dozens of digits.
pub fn fmt_loss(l: f64) -> String {
    if l != 0.0 && l.is_finite() && !(1e-3..1e6).contains(&l.abs()) {
        format!("{l:.3e}")
    } else {
        format!("{l:.4}")
    }
}

/// Where a run stands after `completed` epochs, counting epochs from 1 as
/// the progress lines do: "after epoch 3", or "before epoch 1" when none
/// was completed.
pub fn after_epochs(completed: usize) -> String {
    if completed == 0 {
        "before epoch 1, none completed".to_string()
    } else {
        format!("after epoch {completed}")
    }
}

/// The hidden layers' activations, comma-separated.
pub fn hidden_activations(mlp: &nn::Mlp<f32>) -> String {
    let acts = mlp.activations();
    let hidden: Vec<String> = acts[..acts.len() - 1]
        .iter()
        .map(|a| a.to_string())
        .collect();
    hidden.join(",")
}

/// What a run was configured with, as it is after `--load`.
pub struct Run<'a> {
    pub settings: &'a Settings,
    pub plan: &'a Plan,
    pub optimizer: &'a optim::Builder,
    pub epochs: usize,
}

/// The data, the network and the run's settings, as they are after
/// `--load`, and the checkpoint resumed from.
pub fn print_header(
    trainer: &Trainer<f32>,
    (train, test): (&Dataset<f32>, &Dataset<f32>),
    run: &Run<'_>,
    resumed_from: Option<&str>,
) {
    let Run {
        settings,
        plan,
        optimizer,
        epochs,
    } = *run;
    println!(
        "chainrule digits: {} train / {} test samples (test fraction {}), {} features, 10 classes",
        train.len(),
        test.len(),
        settings.test_fraction,
        train.n_features()
    );
    let mut regularisation = String::new();
    if let Some(c) = settings.clip.0 {
        regularisation += &format!(", gradient norm clipped to {c}");
    }
    if let Some(p) = settings.dropout.0 {
        regularisation += &format!(", dropout {p}");
    }
    let smoothing = match settings.label_smoothing {
        0.0 => String::new(),
        eps => format!(", label smoothing {eps}"),
    };
    println!(
        "network {:?} ({} parameters), {} hidden, identity output + softmax cross-entropy (mean{smoothing}); \
         optimizer {}{} {}{}; {} epochs, batch {}, reshuffled; seed {}",
        trainer.mlp().widths(),
        trainer.mlp().num_params(),
        hidden_activations(trainer.mlp()),
        settings.optimizer,
        match hyper::describe(optimizer) {
            h if h.is_empty() => h,
            h => format!(" ({h})"),
        },
        match plan.is_scheduled() {
            true => plan.to_string(),
            false => format!("lr {}", trainer.optimizer().learning_rate()),
        },
        regularisation,
        epochs,
        settings.batch_size,
        settings.seed
    );
    if let Some(file) = resumed_from {
        println!(
            "resumed from {file} (saved {})",
            after_epochs(trainer.epoch())
        );
    }
}

/// What [`train`] leaves besides the trainer: the outcome, each step's
/// mini-batch loss at `epoch + (step + 1) / steps` (so that a plot shows a
/// run that diverged in its first epoch too), and the wall-clock seconds.
pub struct Outcome {
    pub result: nn::Result<nn::History>,
    pub batch_losses: Vec<(f64, f64)>,
    pub wall: f64,
}

/// Trains up to epoch `epochs`, with a progress bar on a terminal and one
/// line per epoch.
pub fn train(
    trainer: &mut Trainer<f32>,
    (train, test): (&Dataset<f32>, &Dataset<f32>),
    epochs: usize,
) -> Outcome {
    let terminal = std::io::stdout().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let mut batch_losses: Vec<(f64, f64)> = Vec::new();
    let started = Instant::now();
    // With --reduce-on-plateau, the epoch whose rate was reduced says so.
    let (plateau, mut last_lr) = (trainer.config().reduce_on_plateau.is_some(), None);
    crate::interrupt::catch();
    let observe = |event: Event<'_>| match event {
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
            let mut norm = match r.grad_norm {
                Some(n) => format!("  grad norm {n:.3}"),
                None => String::new(),
            };
            if plateau && last_lr.is_some_and(|lr| lr != r.learning_rate) {
                norm += &format!("  lr reduced to {:e}", r.learning_rate);
            }
            last_lr = Some(r.learning_rate);
            let line = format!(
                "epoch {:>3}/{}  train loss {}  test loss {}  test accuracy {:.2}%{norm}  ({:.1} ms)",
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
    };
    let result = trainer.fit_with(train, Some(test), &mut UntilInterrupted(Observer(observe)));
    if let Some(b) = bar.take() {
        b.finish_and_clear();
    }
    Outcome {
        result,
        batch_losses,
        wall: started.elapsed().as_secs_f64(),
    }
}

/// Passes the trainer's events on to `C`, and ends the run after the epoch
/// in which Ctrl-C was pressed.
struct UntilInterrupted<C>(C);

impl<C: Callback<f32>> Callback<f32> for UntilInterrupted<C> {
    fn on_step(&mut self, epoch: usize, step: usize, steps: usize, loss: f64) {
        self.0.on_step(epoch, step, steps, loss);
    }

    fn on_epoch(&mut self, report: &EpochReport, trainer: &Trainer<f32>) -> ControlFlow<()> {
        self.0.on_epoch(report, trainer)?;
        if crate::interrupt::interrupted() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// The final test accuracy and the timings, when training succeeded.
pub fn print_summary(trainer: &Trainer<f32>, outcome: &Outcome) {
    // The epochs completed, also when training stopped on an error.
    let history = trainer.history();
    if let (Ok(_), Some(last)) = (&outcome.result, history.epochs.last()) {
        println!(
            "test accuracy {:.2}% after epoch {}; training time {:.3} s ({:.2} ms per epoch), {:.3} s with evaluation",
            100.0 * last.test_accuracy.unwrap_or(f64::NAN),
            trainer.epoch(),
            history.train_seconds,
            1e3 * history.train_seconds / history.epochs.len() as f64,
            outcome.wall
        );
    }
}
