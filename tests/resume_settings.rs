//! A trainer's checkpoint records the settings that decide the run's
//! trajectory (batch size, batch order, `drop_last`, loss, schedule,
//! clipping bound, dropout), and `Trainer::restore` refuses a trainer configured
//! otherwise; a checkpoint that records none restores unchecked. (That a
//! resume with the same settings is bitwise the uninterrupted run is
//! `resuming_from_a_checkpoint_equals_the_uninterrupted_run` in
//! `training.rs`.)

use autodiff::Reduction;
use nn::checkpoint::{
    load_checkpoint, save_checkpoint, Checkpoint, TrainingSettings, TrainingState,
};
use nn::data::{noisy_sine, BatchOrder};
use nn::{
    Activation, EarlyStopping, Error, Loss, Metric, Mlp, SettingDifference, TrainConfig, Trainer,
};
use optim::Schedule;
use std::path::PathBuf;

/// A directory of its own for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "chainrule-resume-settings-{tag}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Each difference as (setting, checkpoint's value, trainer's value).
fn named(differences: &[SettingDifference]) -> Vec<(&str, &str, &str)> {
    differences
        .iter()
        .map(|d| (d.setting, d.checkpoint.as_str(), d.trainer.as_str()))
        .collect()
}

/// Settings away from every default, each of which a case below changes.
fn config() -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch_size: 16,
        order: BatchOrder::Cyclic,
        drop_last: false,
        seed: 4,
        loss: Loss::LeastSquares(Reduction::Mean),
        schedule: exponential(1e-2, 0.99, 3),
        early_stopping: None,
        reduce_on_plateau: None,
        clip_grad_norm: Some(1.0),
        dropout: Some(0.25),
    }
}

/// A change to [`config`].
type Change = fn(&mut TrainConfig);

/// An exponential decay of the rate from `lr` by `gamma`, after `warmup`
/// steps.
fn exponential(lr: f64, gamma: f64, warmup: u64) -> Option<Schedule> {
    Some(
        Schedule::exponential(lr, gamma)
            .unwrap()
            .with_warmup(warmup),
    )
}

/// A 1-8-1 tanh network and Adam at 1e-2, configured by `config`.
fn trainer(config: TrainConfig) -> Trainer<f64> {
    let mlp = Mlp::builder(&[1, 8, 1])
        .hidden(Activation::Tanh)
        .seed(1)
        .build()
        .unwrap();
    Trainer::new(mlp, optim::by_name::<f64>("adam", 1e-2).unwrap(), config)
}

/// The training state of [`config`]'s run after its epochs, through a file.
fn trained_state(scratch: &Scratch) -> TrainingState<f64> {
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let mut t = trainer(config());
    t.fit(&data, None, |_| {}).unwrap();
    let path = scratch.0.join("m.safetensors");
    t.save_checkpoint(&path).unwrap();
    load_checkpoint::<f64>(&path).unwrap().state
}

#[test]
fn a_trainers_checkpoint_records_every_setting_and_reads_it_back_bitwise() {
    let scratch = Scratch::new("round-trip");
    let path = scratch.0.join("m.safetensors");
    let configs = [
        config(),
        TrainConfig::default(),
        TrainConfig {
            batch_size: 7,
            order: BatchOrder::WithReplacement,
            drop_last: true,
            loss: Loss::CrossEntropy(Reduction::Sum),
            schedule: Some(Schedule::cosine(0.1 + 0.2, 1000, 1e-5).unwrap()),
            clip_grad_norm: Some(0.1 + 0.7),
            dropout: Some(0.1 + 0.2),
            ..TrainConfig::default()
        },
        TrainConfig {
            schedule: Some(Schedule::step(3e-3, 30, 0.5).unwrap().with_warmup(100)),
            ..TrainConfig::default()
        },
        TrainConfig {
            schedule: Some(Schedule::constant(1e-3).unwrap().with_warmup(5)),
            ..TrainConfig::default()
        },
        TrainConfig {
            loss: Loss::SmoothedCrossEntropy {
                reduction: Reduction::Mean,
                label_smoothing: 0.1 + 0.2,
            },
            ..TrainConfig::default()
        },
    ];
    for config in configs {
        let t = trainer(config.clone());
        t.save_checkpoint(&path).unwrap();
        let back = load_checkpoint::<f64>(&path).unwrap().state.training;
        let want = TrainingSettings::of(&config);
        assert_eq!(back, Some(want), "{config:?}");
        let clip_bits = |s: &TrainingSettings| s.clip_grad_norm.map(f64::to_bits);
        let lr_bits = |s: &TrainingSettings| s.schedule.map(|s| s.lr().to_bits());
        let back = back.unwrap();
        assert_eq!(clip_bits(&back), clip_bits(&want), "{config:?}");
        assert_eq!(lr_bits(&back), lr_bits(&want), "{config:?}");
    }
}

#[test]
fn restore_refuses_each_setting_that_differs_naming_it_and_both_values_and_changes_nothing() {
    let scratch = Scratch::new("refuse");
    let state = trained_state(&scratch);
    // The recorded schedule is exponential(1e-2, 0.99) with 3 warm-up steps.
    // (setting, the trainer's value as printed, the change to the config)
    let cases: [(&str, &str, Change); 15] = [
        ("batch_size", "32", |c| c.batch_size = 32),
        ("order", "Reshuffled", |c| c.order = BatchOrder::Reshuffled),
        ("drop_last", "true", |c| c.drop_last = true),
        ("loss", "CrossEntropy(Mean)", |c| {
            c.loss = Loss::CrossEntropy(Reduction::Mean)
        }),
        ("loss", "LeastSquares(Sum)", |c| {
            c.loss = Loss::LeastSquares(Reduction::Sum)
        }),
        (
            "loss",
            "SmoothedCrossEntropy { reduction: Sum, label_smoothing: 0.1 }",
            |c| {
                c.loss = Loss::SmoothedCrossEntropy {
                    reduction: Reduction::Sum,
                    label_smoothing: 0.1,
                }
            },
        ),
        ("schedule", "None", |c| c.schedule = None),
        (
            "schedule",
            // gamma one ulp above the recorded one.
            "Some(Schedule { lr: 0.01, decay: Exponential { gamma: 0.9900000000000001 }, warmup: 3 })",
            |c| c.schedule = exponential(1e-2, f64::from_bits(0.99f64.to_bits() + 1), 3),
        ),
        (
            "schedule",
            "Some(Schedule { lr: 0.01, decay: Exponential { gamma: 0.99 }, warmup: 0 })",
            |c| c.schedule = exponential(1e-2, 0.99, 0),
        ),
        (
            "schedule",
            "Some(Schedule { lr: 0.02, decay: Exponential { gamma: 0.99 }, warmup: 3 })",
            |c| c.schedule = exponential(2e-2, 0.99, 3),
        ),
        (
            "schedule",
            "Some(Schedule { lr: 0.01, decay: Constant, warmup: 3 })",
            |c| c.schedule = Some(Schedule::constant(1e-2).unwrap().with_warmup(3)),
        ),
        ("clip_grad_norm", "None", |c| c.clip_grad_norm = None),
        ("clip_grad_norm", "Some(2.0)", |c| c.clip_grad_norm = Some(2.0)),
        ("dropout", "None", |c| c.dropout = None),
        ("dropout", "Some(0.5)", |c| c.dropout = Some(0.5)),
    ];
    let recorded = TrainingSettings::of(&config());
    for (setting, theirs, change) in &cases {
        let mut c = config();
        change(&mut c);
        let mut t = trainer(c);
        let before = (t.optimizer().state(), t.mlp().clone());
        let Err(e) = t.restore(&state) else {
            panic!("{setting} -> {theirs}: restored, not refused");
        };
        let want_checkpoint = match *setting {
            "batch_size" => format!("{:?}", recorded.batch_size),
            "order" => format!("{:?}", recorded.order),
            "drop_last" => format!("{:?}", recorded.drop_last),
            "loss" => format!("{:?}", recorded.loss),
            "schedule" => format!("{:?}", recorded.schedule),
            "clip_grad_norm" => format!("{:?}", recorded.clip_grad_norm),
            _ => format!("{:?}", recorded.dropout),
        };
        match &e {
            Error::ResumeSetting { differences } => {
                assert_eq!(
                    named(differences),
                    [(*setting, want_checkpoint.as_str(), *theirs)],
                    "{setting} -> {theirs}: {e}"
                );
            }
            other => panic!("{setting} -> {theirs}: expected Error::ResumeSetting, got {other}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains(&format!(
                "trained with {setting} {want_checkpoint}, this trainer's configuration has \
                 {setting} {theirs}"
            )),
            "{msg}"
        );
        assert_eq!(t.epoch(), 0, "{setting} -> {theirs}: the epoch changed");
        assert_eq!(
            (t.optimizer().state(), t.mlp().clone()),
            before,
            "{setting} -> {theirs}: the trainer changed"
        );
    }
}

#[test]
fn restore_names_every_differing_setting_in_field_order() {
    let scratch = Scratch::new("several");
    let state = trained_state(&scratch);
    let mut t = trainer(TrainConfig {
        dropout: None,
        batch_size: 8,
        ..config()
    });
    let Err(e) = t.restore(&state) else {
        panic!("restored, not refused");
    };
    let Error::ResumeSetting { differences } = &e else {
        panic!("expected Error::ResumeSetting, got {e}");
    };
    assert_eq!(
        named(differences),
        [("batch_size", "16", "8"), ("dropout", "Some(0.25)", "None")]
    );
    let msg = e.to_string();
    assert!(
        msg.contains("batch_size 16, this trainer's configuration has batch_size 8; the checkpoint was trained with dropout Some(0.25)"),
        "{msg}"
    );
}

#[test]
fn restore_takes_the_same_settings_with_other_epochs_or_early_stopping() {
    let scratch = Scratch::new("same");
    let state = trained_state(&scratch);
    let mut t = trainer(TrainConfig {
        epochs: 10,
        early_stopping: Some(EarlyStopping {
            metric: Metric::TestLoss,
            patience: 2,
            min_delta: 0.0,
        }),
        ..config()
    });
    t.restore(&state).unwrap();
    assert_eq!(t.epoch(), 2);
    assert_eq!(t.optimizer().state(), state.optimizer.unwrap());
}

#[test]
fn a_checkpoint_that_records_no_settings_restores_unchecked() {
    // As a file written before the settings were recorded: the network,
    // the optimizer and the progress only.
    let scratch = Scratch::new("old");
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let mut t = trainer(config());
    t.fit(&data, None, |_| {}).unwrap();
    let path = scratch.0.join("old.safetensors");
    let optimizer = t.optimizer().state();
    let old = Checkpoint::new(t.mlp())
        .optimizer(&optimizer)
        .progress(t.checkpoint().progress.unwrap());
    save_checkpoint(&path, &old).unwrap();
    let header = std::fs::read(&path).unwrap();
    assert!(
        !header.windows(9).any(|w| w == b"training."),
        "the file records settings"
    );
    let state = load_checkpoint::<f64>(&path).unwrap().state;
    assert_eq!(state.training, None);
    // Into a trainer of other settings: not checked.
    let mut other = trainer(TrainConfig {
        batch_size: 64,
        loss: Loss::LeastSquares(Reduction::Sum),
        schedule: None,
        clip_grad_norm: None,
        ..config()
    });
    other.restore(&state).unwrap();
    assert_eq!(other.epoch(), 2);
}
