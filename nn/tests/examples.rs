//! The examples as a user runs them: the main job trains and reports, bad
//! options and unreadable files end with a one-line error and a non-zero
//! exit (no panic), and a saved run resumes.
//!
//! `cargo test` builds the examples next to the test binaries
//! (`target/<profile>/examples/`); these tests run those binaries.

mod common;

use common::TempDir;
use std::process::{Command, Output};

fn example(name: &str) -> Command {
    // target/<profile>/deps/examples-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (which builds the examples)",
        path.display()
    );
    Command::new(path)
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("the example runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

#[test]
fn digits_trains_prints_its_configuration_and_reports_test_accuracy() {
    let (out, stdout, _) = run(example("digits").args(["--epochs", "3", "--seed", "1"]));
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("network [64, 64, 10]") && stdout.contains("optimizer adam"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("epoch ")).count(),
        3,
        "one plain line per epoch off a terminal"
    );
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("test accuracy ") && last.contains("training time"),
        "{last}"
    );
}

#[test]
fn digits_report_prints_the_test_sets_confusion_matrix_and_per_digit_scores() {
    let (out, stdout, _) = run(example("digits").args(["--epochs", "2", "--report"]));
    assert!(out.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.trim_start().starts_with("true\\pred"))
        .unwrap_or_else(|| panic!("no matrix in {stdout}"));
    // Ten rows of ten counts, which add up to the test set's size.
    let samples: u64 = lines[header - 1]
        .trim_start_matches("test set, ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", lines[header - 1]));
    let counts: Vec<u64> = lines[header + 1..header + 11]
        .iter()
        .flat_map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(|c| c.parse::<u64>().unwrap())
        })
        .collect();
    assert_eq!((counts.len(), counts.iter().sum::<u64>()), (100, samples));
    assert!(
        stdout.contains("precision")
            && stdout.contains("macro avg")
            && stdout.contains("weighted avg"),
        "{stdout}"
    );
}

#[test]
fn bad_options_and_unreadable_files_end_with_a_one_line_error_and_no_panic() {
    let cases: [(&[&str], &str); 15] = [
        (&["--lr", "-1"], "must be finite and > 0"),
        (&["--optimizer", "lbfgs"], "unknown optimizer"),
        (&["--relu-at-zero", "2"], "outside [0, 1]"),
        (
            &["--data", "/nonexistent/digits.csv"],
            "/nonexistent/digits.csv",
        ),
        (
            &["--load", "/nonexistent/model.safetensors"],
            "/nonexistent/model.safetensors",
        ),
        // Checked before training, so no work is lost at the end.
        (
            &["--save", "/nonexistent/dir/m.safetensors"],
            "does not exist",
        ),
        (&["--plot", "/"], "is a directory"),
        (&["--test-fraction", "1"], "strictly between 0 and 1"),
        (&["--test-fraction", "-0.5"], "strictly between 0 and 1"),
        // A hyperparameter the method does not take, or out of its range.
        (
            &["--optimizer", "adam", "--momentum", "0.9"],
            "--momentum does not apply to --optimizer adam",
        ),
        (
            &["--optimizer", "heavy_ball", "--weight-decay", "0.1"],
            "--weight-decay applies to adam, adamw, sgd, sgd_momentum, sgd_nesterov, rmsprop, adagrad",
        ),
        (&["--beta2", "1"], "adam: beta2 must be in [0, 1), got 1"),
        (
            &["--optimizer", "sgd", "--weight-decay", "-1"],
            "weight_decay",
        ),
        (&["--schedule", "step:0:0.5"], "every must be >= 1"),
        (
            &["--reduce-on-plateau", "2", "--warmup", "10"],
            "--reduce-on-plateau cannot go with a schedule",
        ),
    ];
    for (args, says) in cases {
        let (out, _, stderr) = run(example("digits").args(args));
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: one line, got {stderr}"
        );
        assert!(
            stderr.starts_with("error: ") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A malformed value is clap's error: non-zero, no panic.
    for (args, bad) in [
        (["--epochs", "abc"], "abc"),
        (["--threads", "0"], "0"),
        (["--epochs", "0"], "0"),
        (["--schedule", "linear"], "linear"),
        (["--schedule", "cosine:x"], "cosine:x"),
        (["--clip-grad-norm", "0"], "0"),
        (["--clip-grad-norm", "inf"], "inf"),
        (["--reduce-on-plateau", "2:1"], "2:1"),
        (["--reduce-on-plateau", "x"], "x"),
    ] {
        let (out, _, stderr) = run(example("digits").args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: invalid value '{bad}'"))
                && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

#[test]
fn digits_reports_the_same_accuracy_and_losses_on_one_and_two_threads() {
    let lines = |threads: &str| {
        // Batches of 512 through 512-wide layers: the training step's
        // products, not only the evaluation's, are split over the threads.
        let (out, stdout, stderr) = run(example("digits").args([
            "--epochs",
            "2",
            "--hidden",
            "512,512",
            "--batch-size",
            "512",
            "--threads",
            threads,
        ]));
        assert!(out.status.success(), "{stderr}");
        // Everything but the timings.
        stdout
            .lines()
            .filter(|l| l.starts_with("epoch ") || l.starts_with("test accuracy"))
            .map(|l| l.split(['(', ';']).next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let one = lines("1");
    assert_eq!(one.len(), 3, "{one:?}");
    assert_eq!(one, lines("2"));
}

#[test]
fn digits_saves_a_checkpoint_and_resumes_from_it() {
    let dir = TempDir::new("resume");
    let path = dir.path("m.safetensors");
    let p = path.to_str().unwrap();
    let (out, stdout, _) = run(example("digits").args(["--epochs", "2", "--save", p]));
    assert!(out.status.success() && path.exists(), "{stdout}");
    let (out, stdout, stderr) = run(example("digits").args(["--epochs", "3", "--load", p]));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("resumed from") && stdout.contains("after epoch 2"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("epoch ")).count(),
        1,
        "only the third epoch runs"
    );
    // The resumed third epoch is the uninterrupted run's (timings aside).
    let (_, straight, _) = run(example("digits").args(["--epochs", "3"]));
    let third = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("epoch   3/"))
            .map(|l| l.split('(').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(third(&stdout).len(), 1, "{stdout}");
    assert_eq!(third(&stdout), third(&straight));
    // Nothing left to train at the checkpoint's own epoch.
    let (out, _, stderr) = run(example("digits").args(["--epochs", "2", "--load", p]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("already at epoch 2"), "{stderr}");
    assert!(stderr.contains("--evaluate"), "{stderr}");
    // --evaluate trains nothing and finds the saved run's test accuracy.
    let (_, saved, _) = run(example("digits").args(["--epochs", "2"]));
    let accuracy = |s: &str, prefix: &str| -> String {
        let line = s
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{s}"));
        let at = line.find("accuracy ").unwrap_or_else(|| panic!("{line}"));
        line[at..].split('%').next().unwrap().to_string()
    };
    let (out, evaluated, stderr) = run(example("digits").args(["--load", p, "--evaluate"]));
    assert!(out.status.success(), "{stderr}");
    assert!(evaluated.contains("saved after epoch 2"), "{evaluated}");
    assert!(
        !evaluated.lines().any(|l| l.starts_with("epoch ")),
        "{evaluated}"
    );
    assert_eq!(
        accuracy(&evaluated, "test "),
        accuracy(&saved, "test accuracy"),
        "{evaluated}\n{saved}"
    );
    assert!(accuracy(&evaluated, "train ").len() > "accuracy ".len());
    // It needs a checkpoint, and says so on one line.
    let (out, _, stderr) = run(example("digits").args(["--evaluate"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.trim().lines().count() == 1 && stderr.contains("--load"),
        "{stderr}"
    );
    // Another optimizer's state does not load into Adam's place.
    let (out, _, stderr) =
        run(example("digits").args(["--epochs", "3", "--load", p, "--optimizer", "sgd"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("cannot be loaded"), "{stderr}");
}

#[test]
fn optimizers_example_compares_every_method_and_draws_the_chart() {
    let dir = TempDir::new("optimizers");
    let svg = dir.path("o.svg");
    let (out, stdout, stderr) = run(example("optimizers").args([
        "--iterations",
        "200",
        "--epochs",
        "3",
        "--plot",
        svg.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{stderr}");
    for m in optim::METHODS {
        assert_eq!(
            stdout
                .lines()
                .filter(|l| l.starts_with(m) && l[m.len()..].starts_with(' '))
                .count(),
            2,
            "{m} in both tables"
        );
    }
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.contains("adam_ode"));
}

#[cfg(unix)]
#[test]
fn digits_interrupted_by_ctrl_c_ends_after_the_epoch_and_saves_what_it_trained() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = TempDir::new("interrupt");
    let path = dir.path("m.safetensors");
    let mut child = example("digits")
        .args(["--epochs", "1000000", "--save"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    // Once an epoch has been reported, Ctrl-C.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let first_epoch = line.starts_with("epoch ");
        seen.push(line);
        if first_epoch {
            break;
        }
    }
    // SAFETY: sending a signal to our own child process.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    seen.extend(lines.map(|l| l.unwrap()));
    let out = child.wait_with_output().unwrap();
    let stdout = seen.join("\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("error: interrupted (Ctrl-C) after epoch "),
        "{stderr}"
    );
    // The checkpoint holds the epochs trained, and the line says how many.
    let saved = stdout
        .lines()
        .find(|l| l.starts_with("saved "))
        .expect(&stdout);
    let ckpt = nn::checkpoint::load_checkpoint::<f32>(&path).unwrap();
    let epoch = ckpt.state.progress.map(|p| p.epoch).unwrap();
    assert!((1..1_000_000).contains(&epoch), "{epoch}");
    assert!(
        saved.ends_with(&format!("(after epoch {epoch})")),
        "{saved}"
    );
}
