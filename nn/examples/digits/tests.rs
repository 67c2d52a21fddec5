//! The example run in-process: its helpers, resuming bitwise, refusing
//! other settings, predicting through the saved scaler, and what a failed
//! run still writes.

use crate::args::Args;
use crate::checkpoint::{decode_floats, legacy_scaler, same_scaler};
use crate::progress::{after_epochs, fmt_loss};
use crate::resume::{
    resume_settings, OrNone, Settings, KEY_BATCH_SIZE, KEY_CLIP_GRAD_NORM, KEY_DROPOUT,
    KEY_LABEL_SMOOTHING, KEY_OPTIMIZER, KEY_TEST_FRACTION,
};
use crate::run;
use clap::{CommandFactory, FromArgMatches};
use nn::checkpoint::{load_checkpoint, save_checkpoint, Checkpoint, LoadedCheckpoint};
use nn::data::{digits, Standardizer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// `digits <argv>` run in-process.
pub fn digits_cli(argv: &[&str]) -> Result<(), String> {
    let m = Args::command()
        .try_get_matches_from(std::iter::once("digits").chain(argv.iter().copied()))
        .unwrap();
    run(Args::from_arg_matches(&m).unwrap(), &m)
}

/// A fresh directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chainrule-digits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn load(path: &Path) -> LoadedCheckpoint<f32> {
    load_checkpoint::<f32>(path).unwrap()
}

/// Writes `path`'s checkpoint again with `model` in place of its network
/// and the metadata `extra` added or replaced (a checkpoint edited by hand).
fn rewrite(path: &Path, model: &nn::Mlp<f32>, extra: &[(&str, &str)]) {
    let ckpt = load(path);
    let mut edited = Checkpoint::new(model)
        .optimizer(ckpt.state.optimizer.as_ref().unwrap())
        .progress(ckpt.state.progress.unwrap())
        .scaler(ckpt.state.scaler.as_ref().unwrap());
    for (k, v) in &ckpt.state.extra {
        edited = edited.extra(k, v);
    }
    for &(k, v) in extra {
        edited = edited.extra(k, v);
    }
    save_checkpoint(path, &edited).unwrap();
}

/// The bits of a checkpoint's parameters.
pub fn param_bits(path: &Path) -> Vec<u32> {
    load(path)
        .model
        .params()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

/// `values` as the previous version wrote a scaler: the shortest form
/// that reads back bitwise, comma-separated.
fn legacy_floats(values: &[f32]) -> String {
    let text: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    text.join(",")
}

#[test]
fn the_previous_versions_float_lists_decode_bitwise() {
    let v = [0.1f32, -0.0, 1e-8, 3.4028235e38, 1.0e-45, 64.0, -2.5];
    let back = decode_floats(&legacy_floats(&v)).unwrap();
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
        clip: OrNone(None),
        dropout: OrNone(None),
        label_smoothing: 0.0,
    };
    let saved = Settings {
        optimizer: "sgd_momentum".into(),
        batch_size: 64,
        test_fraction: 0.25,
        seed: 0,
        clip: OrNone(Some(0.5)),
        dropout: OrNone(Some(0.25)),
        label_smoothing: 0.1,
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
    let e = resume_settings("h.st", &ours, &extra, Some(0), &|id| id == "batch_size").unwrap_err();
    assert!(
        e.contains("h.st was trained with --batch-size 64, this run gives --batch-size 32"),
        "{e}"
    );
    let e =
        resume_settings("h.st", &ours, &extra, Some(0), &|id| id == "test_fraction").unwrap_err();
    assert!(
        e.contains("--test-fraction 0.25, this run gives --test-fraction 0.2"),
        "{e}"
    );
    let e = resume_settings("h.st", &ours, &extra, Some(0), &|id| id == "optimizer").unwrap_err();
    assert!(
        e.contains(
            "--optimizer sgd_momentum, this run gives --optimizer adam: the optimizer's \
             state cannot be loaded"
        ),
        "{e}"
    );
    let e = resume_settings("h.st", &ours, &extra, Some(3), &|id| id == "seed").unwrap_err();
    assert!(e.contains("--seed 3, this run gives --seed 0"), "{e}");
    let e =
        resume_settings("h.st", &ours, &extra, Some(0), &|id| id == "clip_grad_norm").unwrap_err();
    assert!(
        e.contains("--clip-grad-norm 0.5, this run gives --clip-grad-norm none"),
        "{e}"
    );
    let e = resume_settings("h.st", &ours, &extra, Some(0), &|id| {
        id == "label_smoothing"
    })
    .unwrap_err();
    assert!(
        e.contains("--label-smoothing 0.1, this run gives --label-smoothing 0"),
        "{e}"
    );
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
        [
            "--optimizer",
            "--batch-size",
            "--test-fraction",
            "--clip-grad-norm",
            "--dropout",
            "--label-smoothing"
        ]
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
fn relu_at_zero_is_refused_with_another_activation_instead_of_ignored() {
    let e = digits_cli(&[
        "--epochs",
        "1",
        "--activation",
        "tanh",
        "--relu-at-zero",
        "0.5",
    ])
    .unwrap_err();
    assert!(
        e.contains("--relu-at-zero applies to --activation relu only")
            && e.contains("--activation tanh"),
        "{e}"
    );
    digits_cli(&[
        "--epochs",
        "1",
        "--activation",
        "relu",
        "--relu-at-zero",
        "0.5",
    ])
    .unwrap();
}

#[test]
fn every_activation_flag_names_the_activation_it_builds_and_a_leaky_slope_resumes_only_as_saved() {
    use crate::args::{activation, activation_flag};
    use nn::Activation;
    for (flag, want) in [
        ("relu", Activation::RELU),
        ("tanh", Activation::Tanh),
        ("sigmoid", Activation::Sigmoid),
        ("softplus", Activation::Softplus),
        ("silu", Activation::Silu),
        ("gelu", Activation::Gelu),
        ("leaky_relu", Activation::LEAKY_RELU),
        ("leaky_relu:0.2", Activation::LeakyRelu { slope: 0.2 }),
    ] {
        let a = activation(flag, 0.0).unwrap();
        assert_eq!(a, want, "{flag}");
        assert_eq!(activation(&activation_flag(a), 0.0).unwrap(), a, "{flag}");
    }
    for bad in ["leaky_relu:", "leaky_relu:inf", "leaky_relu:x", "elu"] {
        assert!(activation(bad, 0.0).is_err(), "{bad}");
    }
    let dir = scratch("leaky");
    let path = dir.join("m.st");
    let p = path.to_str().unwrap();
    digits_cli(&[
        "--epochs",
        "1",
        "--activation",
        "leaky_relu:0.2",
        "--save",
        p,
    ])
    .unwrap();
    let e = digits_cli(&["--epochs", "2", "--load", p, "--activation", "leaky_relu"]).unwrap_err();
    assert!(
        e.contains("holds a network with --activation leaky_relu:0.2"),
        "{e}"
    );
    digits_cli(&[
        "--epochs",
        "2",
        "--load",
        p,
        "--activation",
        "leaky_relu:0.2",
    ])
    .unwrap();
    assert_eq!(
        load(&path).model.activations()[0],
        Activation::LeakyRelu { slope: 0.2 }
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_checkpoint_predicts_on_raw_data_through_its_saved_scaler() {
    let dir = scratch("predict");
    let path = dir.join("m.st");
    digits_cli(&["--epochs", "5", "--save", path.to_str().unwrap()]).unwrap();
    // What a user has: the file and raw images.
    let ckpt = load(&path);
    let scaler = ckpt.state.scaler.clone().unwrap();
    assert!(
        !ckpt.state.extra.contains_key("scaler.mean"),
        "a tensor now"
    );
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

#[test]
fn a_checkpoint_with_the_scaler_in_metadata_as_the_previous_version_wrote_it_resumes_bitwise() {
    let dir = scratch("legacy");
    let (whole, old) = (dir.join("whole.st"), dir.join("old.st"));
    digits_cli(&["--epochs", "2", "--save", whole.to_str().unwrap()]).unwrap();
    digits_cli(&["--epochs", "1", "--save", old.to_str().unwrap()]).unwrap();
    // Rewrite it as the previous version did: the scaler as two strings.
    let ckpt = load(&old);
    let scaler = ckpt.state.scaler.clone().unwrap();
    let mut previous = Checkpoint::new(&ckpt.model)
        .optimizer(ckpt.state.optimizer.as_ref().unwrap())
        .progress(ckpt.state.progress.unwrap())
        .extra("scaler.mean", legacy_floats(&scaler.mean))
        .extra("scaler.std", legacy_floats(&scaler.std));
    for (k, v) in &ckpt.state.extra {
        previous = previous.extra(k, v);
    }
    save_checkpoint(&old, &previous).unwrap();
    assert_eq!(load(&old).state.scaler, None);
    let extra = load(&old).state.extra;
    assert!(same_scaler(
        &legacy_scaler("old.st", &extra).unwrap().unwrap(),
        &scaler
    ));

    digits_cli(&[
        "--epochs",
        "2",
        "--load",
        old.to_str().unwrap(),
        "--save",
        old.to_str().unwrap(),
    ])
    .unwrap();
    let (a, b) = (load(&whole), load(&old));
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(a.model.params()), bits(b.model.params()));
    // Saved again, in the current form.
    assert!(same_scaler(&b.state.scaler.unwrap(), &scaler));
    // A legacy scaler that is not one is refused, naming the keys.
    let mut bad = extra.clone();
    bad.insert("scaler.std".into(), legacy_floats(&[-1.0; 64]));
    let e = legacy_scaler("old.st", &bad).unwrap_err();
    assert!(
        e.starts_with(
            "old.st: metadata extra.scaler.mean and extra.scaler.std are not a feature scaler"
        ),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_clipped_run_records_its_bound_resumes_bitwise_and_refuses_another() {
    let dir = scratch("clip");
    let (whole, half) = (dir.join("whole.st"), dir.join("half.st"));
    let (whole_s, half_s) = (whole.to_str().unwrap(), half.to_str().unwrap());
    // A bound well below the gradients' norms, so that it acts every step.
    let run = [
        "--clip-grad-norm",
        "0.05",
        "--optimizer",
        "sgd",
        "--lr",
        "0.5",
    ];
    digits_cli(&[&run[..], &["--epochs", "2", "--save", whole_s]].concat()).unwrap();
    digits_cli(&[&run[..], &["--epochs", "1", "--save", half_s]].concat()).unwrap();
    let e = digits_cli(&["--epochs", "2", "--load", half_s, "--clip-grad-norm", "1"]).unwrap_err();
    assert!(
        e.contains("was trained with --clip-grad-norm 0.05, this run gives --clip-grad-norm 1.0"),
        "{e}"
    );
    digits_cli(&["--epochs", "2", "--load", half_s, "--save", half_s]).unwrap();
    assert_eq!(load(&whole).state.extra[KEY_CLIP_GRAD_NORM], "0.05");
    assert_eq!(param_bits(&whole), param_bits(&half));
    // Clipping acted: plain SGD at 0.5 without it ends elsewhere.
    let free = dir.join("free.st");
    digits_cli(&[
        "--optimizer",
        "sgd",
        "--lr",
        "0.5",
        "--epochs",
        "2",
        "--save",
        free.to_str().unwrap(),
    ])
    .unwrap();
    assert_ne!(param_bits(&free), param_bits(&whole));
    assert_eq!(load(&free).state.extra[KEY_CLIP_GRAD_NORM], "none");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_dropout_run_records_its_probability_resumes_bitwise_and_refuses_another() {
    let dir = scratch("dropout");
    let (whole, half) = (dir.join("whole.st"), dir.join("half.st"));
    let (whole_s, half_s) = (whole.to_str().unwrap(), half.to_str().unwrap());
    let run = ["--dropout", "0.3"];
    digits_cli(&[&run[..], &["--epochs", "2", "--save", whole_s]].concat()).unwrap();
    digits_cli(&[&run[..], &["--epochs", "1", "--save", half_s]].concat()).unwrap();
    let e = digits_cli(&["--epochs", "2", "--load", half_s, "--dropout", "0.5"]).unwrap_err();
    assert!(
        e.contains("was trained with --dropout 0.3, this run gives --dropout 0.5"),
        "{e}"
    );
    // Left out: the checkpoint's, so the masks continue where they were.
    digits_cli(&["--epochs", "2", "--load", half_s, "--save", half_s]).unwrap();
    let saved = load(&whole).state;
    assert_eq!(saved.extra[KEY_DROPOUT], "0.3");
    assert_eq!(saved.training.unwrap().dropout, Some(0.3));
    assert_eq!(param_bits(&whole), param_bits(&half));
    // Dropout acted: the same run without it ends elsewhere.
    let free = dir.join("free.st");
    digits_cli(&["--epochs", "2", "--save", free.to_str().unwrap()]).unwrap();
    assert_ne!(param_bits(&free), param_bits(&whole));
    let e = Args::command()
        .try_get_matches_from(["digits", "--dropout", "1"])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("must be a probability in [0, 1), got 1"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_label_smoothing_run_records_it_resumes_bitwise_and_refuses_another() {
    let dir = scratch("smoothing");
    let (whole, half) = (dir.join("whole.st"), dir.join("half.st"));
    let (whole_s, half_s) = (whole.to_str().unwrap(), half.to_str().unwrap());
    let run = ["--label-smoothing", "0.1"];
    digits_cli(&[&run[..], &["--epochs", "2", "--save", whole_s]].concat()).unwrap();
    digits_cli(&[&run[..], &["--epochs", "1", "--save", half_s]].concat()).unwrap();
    for other in ["0.2", "0"] {
        let e = digits_cli(&[
            "--epochs",
            "2",
            "--load",
            half_s,
            "--label-smoothing",
            other,
        ])
        .unwrap_err();
        assert!(
            e.contains(&format!(
                "was trained with --label-smoothing 0.1, this run gives --label-smoothing {other}"
            )),
            "{e}"
        );
    }
    // Left out: the checkpoint's.
    digits_cli(&["--epochs", "2", "--load", half_s, "--save", half_s]).unwrap();
    let saved = load(&whole).state;
    assert_eq!(saved.extra[KEY_LABEL_SMOOTHING], "0.1");
    assert_eq!(saved.training.unwrap().loss.label_smoothing(), Some(0.1));
    assert_eq!(param_bits(&whole), param_bits(&half));
    // Smoothing acted: the same run without it ends elsewhere, and records 0.
    let free = dir.join("free.st");
    digits_cli(&["--epochs", "2", "--save", free.to_str().unwrap()]).unwrap();
    assert_ne!(param_bits(&free), param_bits(&whole));
    let saved = load(&free).state;
    assert_eq!(saved.extra[KEY_LABEL_SMOOTHING], "0.0");
    assert_eq!(
        saved.training.unwrap().loss,
        nn::Loss::CrossEntropy(autodiff::Reduction::Mean)
    );
    for (bad, want) in [
        ("1.5", "must be in [0, 1], got 1.5"),
        ("-0.1", "must be in [0, 1], got -0.1"),
        ("NaN", "must be in [0, 1], got NaN"),
        ("x", "invalid float literal"),
    ] {
        let e = Args::command()
            .try_get_matches_from(["digits", "--label-smoothing", bad])
            .unwrap_err();
        assert!(e.to_string().contains(want), "{bad}: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_batch_size_of_zero_is_refused_by_the_command_line_and_in_a_checkpoint_not_a_panic() {
    let e = Args::command()
        .try_get_matches_from(["digits", "--batch-size", "0"])
        .unwrap_err();
    assert!(e.to_string().contains("--batch-size"), "{e}");
    // A checkpoint that records batch size 0 (edited by hand) is refused too.
    let dir = scratch("batch0");
    let path = dir.join("m.st");
    digits_cli(&["--epochs", "1", "--save", path.to_str().unwrap()]).unwrap();
    rewrite(&path, &load(&path).model, &[(KEY_BATCH_SIZE, "0")]);
    let e = digits_cli(&["--epochs", "2", "--load", path.to_str().unwrap()]).unwrap_err();
    assert!(
        e.contains("batch size 0") || e.contains("--batch-size 0"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A bad --lr is named as the flag (not as Adam's own `alpha`), and a
/// checkpoint whose network holds a NaN (edited, or saved from a broken
/// run) is refused naming the file, before training starts.
#[test]
fn a_bad_lr_names_the_flag_and_a_nan_parameter_names_the_checkpoint() {
    for lr in ["-1", "nan", "0"] {
        let e = digits_cli(&["--epochs", "1", "--lr", lr]).unwrap_err();
        assert!(e.contains("--lr must be finite and > 0"), "{lr}: {e}");
    }
    let dir = scratch("nan-param");
    let path = dir.join("m.st");
    digits_cli(&["--epochs", "1", "--save", path.to_str().unwrap()]).unwrap();
    let mut model = load(&path).model;
    model.params_mut()[3] = f32::NAN;
    rewrite(&path, &model, &[]);
    let e = digits_cli(&["--epochs", "2", "--load", path.to_str().unwrap()]).unwrap_err();
    assert!(
        e.contains(path.to_str().unwrap())
            && e.contains("cannot be trained")
            && e.contains("layers.0.weight[3]"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
