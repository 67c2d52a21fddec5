//! Every method of `optim` from the same start, on the Rosenbrock function
//! (written once, generic, differentiated by the tape) and on a small MLP
//! (two interleaved spirals): iterations to reach a tolerance, final J and
//! final energy, and with `--plot` J against iterations for all methods.
//!
//! ```text
//! cargo run --release -p chainrule-nn --example optimizers -- --plot optimizers.svg
//! ```

#[path = "common/cli.rs"]
mod cli;
#[path = "common/plot.rs"]
mod plot;

use autodiff::{Evaluator, Real};
use clap::Parser;
use nn::data::{two_spirals, BatchOrder};
use nn::{Activation, Event, Mlp, TrainConfig, Trainer};
use std::path::PathBuf;
use std::process::ExitCode;

/// Compare the optimizers on Rosenbrock and on a small MLP.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Iterations on the Rosenbrock function.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    iterations: u64,
    /// Tolerance on J for "iterations to reach": finite and > 0.
    #[arg(long, default_value_t = 1e-6, value_parser = positive_finite)]
    tol: f64,
    /// Epochs of full-batch training for the MLP.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    epochs: u64,
    /// Draw J against iterations into this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// A finite number > 0 (clap parser).
fn positive_finite(text: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be finite and > 0, got {v}"))
    }
}

/// The Rosenbrock function, once, for any number type.
fn rosenbrock<T: Real>(x: &[T]) -> T {
    let a = T::one() - x[0];
    let b = x[1] - x[0] * x[0];
    a * a + T::from_f64(100.0) * b * b
}

/// The step size used for each method: the largest of a few that is
/// stable from the classic start (-1.2, 1), except for the explicit-Euler
/// heavy ball and friction, which diverge there within the run (their
/// energy grows at every step; they would last the default 20,000
/// iterations only from about 2e-4 down), as the table shows.
fn rosenbrock_lr(method: &str) -> f64 {
    match method {
        "adam" | "adamw" | "adam_ode" => 1e-2,
        // Its sums only grow, so its steps shrink: it starts large.
        "adagrad" => 0.5,
        "heavy_ball" | "heavy_ball_symplectic" | "nesterov" | "friction" | "relaxation" => 2e-3,
        _ => 1e-3,
    }
}

struct Outcome {
    method: &'static str,
    lr: f64,
    reached: Option<usize>,
    final_j: f64,
    energy: Option<f64>,
    curve: Vec<(f64, f64)>,
}

fn on_rosenbrock(method: &'static str, iterations: usize, tol: f64) -> Result<Outcome, String> {
    let lr = rosenbrock_lr(method);
    let mut opt = optim::by_name::<f64>(method, lr).map_err(|e| e.to_string())?;
    let mut w = [-1.2, 1.0];
    let mut g = [0.0; 2];
    let mut at = [0.0; 2];
    let mut ev = Evaluator::new();
    let mut reached = None;
    let mut curve = Vec::new();
    let mut j = rosenbrock(&w);
    for it in 0..iterations {
        let shifted = opt.gradient_point(&w, &mut at).map_err(|e| e.to_string())?;
        let p = if shifted { at } else { w };
        ev.value_and_grad(|x| rosenbrock(x), &p, &mut g)
            .map_err(|e| e.to_string())?;
        if opt.step(&mut w, &g).is_err() || !w.iter().all(|v| v.is_finite()) {
            break; // diverged: J stays at its last finite value
        }
        j = rosenbrock(&w);
        if reached.is_none() && j < tol {
            reached = Some(it + 1);
        }
        if it % 20 == 0 {
            curve.push(((it + 1) as f64, j));
        }
    }
    // The energy takes J at the gradient point (Nesterov's lookahead).
    let j_energy = if opt.gradient_point(&w, &mut at).map_err(|e| e.to_string())? {
        rosenbrock(&at)
    } else {
        j
    };
    let energy = opt.energy(j_energy);
    Ok(Outcome {
        method,
        lr,
        reached,
        final_j: j,
        energy,
        curve,
    })
}

fn on_mlp(method: &'static str, epochs: usize) -> Result<Outcome, String> {
    let data = two_spirals::<f64>(100, 0.0, 3).map_err(|e| e.to_string())?;
    let mlp = Mlp::builder(&[2, 16, 16, 2])
        .hidden(Activation::Tanh)
        .seed(3)
        .build()
        .map_err(|e| e.to_string())?;
    let lr = if method.starts_with("adam") || method == "rmsprop" {
        1e-2
    } else {
        0.1
    };
    let opt = optim::by_name::<f64>(method, lr).map_err(|e| e.to_string())?;
    // Full batch: every method steps on the gradient of the loss over the
    // whole data set, the same for all.
    let config = TrainConfig {
        epochs,
        batch_size: data.len(),
        order: BatchOrder::Cyclic,
        ..Default::default()
    };
    let mut trainer = Trainer::new(mlp, opt, config);
    let mut curve = Vec::new();
    let result = trainer.fit(&data, None, |e| {
        if let Event::Epoch(r) = e {
            curve.push(((r.epoch + 1) as f64, r.train_loss));
        }
    });
    let (final_j, energy) = match &result {
        Ok(h) => {
            let last = h.epochs.last().ok_or("no epoch")?;
            (last.train_loss, last.energy)
        }
        Err(_) => (f64::NAN, None), // diverged: reported as NaN
    };
    Ok(Outcome {
        method,
        lr,
        reached: None,
        final_j,
        energy,
        curve,
    })
}

fn table(title: &str, rows: &[Outcome], tol: Option<f64>) {
    println!("\n{title}");
    match tol {
        Some(t) => println!(
            "{:<22} {:>8} {:>16} {:>14} {:>14}",
            "method",
            "step",
            format!("iters to J<{t:e}"),
            "final J",
            "final energy"
        ),
        None => println!(
            "{:<22} {:>8} {:>14} {:>14}",
            "method", "step", "final J", "final energy"
        ),
    }
    for r in rows {
        let energy = r.energy.map_or("-".to_string(), |e| format!("{e:.6e}"));
        let final_j = if r.final_j.is_finite() {
            format!("{:.6e}", r.final_j)
        } else {
            "diverged".to_string()
        };
        match tol {
            Some(_) => println!(
                "{:<22} {:>8} {:>16} {:>14} {:>14}",
                r.method,
                r.lr,
                r.reached
                    .map_or("not reached".to_string(), |n| n.to_string()),
                final_j,
                energy
            ),
            None => println!(
                "{:<22} {:>8} {:>14} {:>14}",
                r.method, r.lr, final_j, energy
            ),
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    if let Some(p) = &args.plot {
        cli::check_writable("--plot", p)?;
    }
    let rosen: Vec<Outcome> = optim::METHODS
        .iter()
        .map(|&m| on_rosenbrock(m, args.iterations as usize, args.tol))
        .collect::<Result<_, _>>()?;
    table(
        &format!(
            "Rosenbrock from (-1.2, 1), {} iterations (energy given J at the final point, Nesterov's at its lookahead)",
            args.iterations
        ),
        &rosen,
        Some(args.tol),
    );
    let mlp: Vec<Outcome> = optim::METHODS
        .iter()
        .map(|&m| on_mlp(m, args.epochs as usize))
        .collect::<Result<_, _>>()?;
    table(&format!("MLP 2-16-16-2 tanh on two spirals (200 points), {} full-batch epochs, J = mean cross-entropy", args.epochs), &mlp, None);
    if let Some(path) = &args.plot {
        let series = |rows: &[Outcome]| -> Vec<plot::Series> {
            rows.iter()
                .map(|r| plot::Series {
                    label: r.method.to_string(),
                    points: r.curve.clone(),
                    faint: false,
                })
                .collect()
        };
        plot::svg(
            path,
            &[
                (
                    "Rosenbrock: J against iterations",
                    "iteration",
                    "J",
                    series(&rosen),
                    true,
                ),
                (
                    "MLP on two spirals: J against epochs",
                    "epoch",
                    "J",
                    series(&mlp),
                    true,
                ),
            ],
        )?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::main(|args, _| run(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tolerance_is_finite_and_positive() {
        assert_eq!(positive_finite("1e-6"), Ok(1e-6));
        for bad in ["nan", "NaN", "inf", "-1", "0", "-0", "x", ""] {
            assert!(positive_finite(bad).is_err(), "{bad:?} accepted");
        }
        for bad in [
            &["optimizers", "--tol", "nan"][..],
            &["optimizers", "--tol=-1"],
        ] {
            assert!(Args::try_parse_from(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Args::try_parse_from(["optimizers", "--tol", "1e-3"])
                .unwrap()
                .tol,
            1e-3
        );
    }
}
