//! Resuming training from checkpoints: bitwise the uninterrupted run,
//! checkpoints written by a callback, and the states `Trainer::restore`
//! refuses (another seed, network size or variant of the method). The
//! recorded run settings are in `resume_settings.rs`.

mod common;

use autodiff::Reduction;
use common::training::{bits, digits_split, sine_net_trainer, sine_trainer, trainer};
use nn::checkpoint::{load_checkpoint, LoadedCheckpoint};
use nn::data::noisy_sine;
use nn::{Activation, Error, Loss, Mlp, TrainConfig, Trainer};

/// A configuration with every setting a checkpoint records away from its
/// default (batch size, order, `drop_last`, loss reduction, a cosine
/// schedule with warm-up, clipping, dropout), to `epochs`; the cosine's length is
/// fixed (that of a 4-epoch run), whatever `epochs`.
fn resume_config(epochs: usize) -> TrainConfig {
    // 1437 training samples in batches of 50, the last short one dropped:
    // 28 steps per epoch.
    let schedule = optim::Schedule::cosine(2e-3, 4 * 28 - 10, 1e-4)
        .unwrap()
        .with_warmup(10);
    TrainConfig {
        epochs,
        batch_size: 50,
        order: nn::data::BatchOrder::WithReplacement,
        drop_last: true,
        seed: 5,
        loss: Loss::CrossEntropy(Reduction::Sum),
        schedule: Some(schedule),
        early_stopping: None,
        reduce_on_plateau: None,
        clip_grad_norm: Some(20.0),
        dropout: Some(0.2),
    }
}

/// A trainer of `mlp` by Adam at 2e-3 with [`resume_config`].
fn resume_trainer(mlp: Mlp<f32>, epochs: usize) -> Trainer<f32> {
    let adam = optim::by_name::<f32>("adam", 2e-3).unwrap();
    Trainer::new(mlp, adam, resume_config(epochs))
}

/// The network the resumed runs train: 64-32-10, ReLU, seed 5.
fn resume_mlp() -> Mlp<f32> {
    Mlp::builder(&[64, 32, 10])
        .hidden(Activation::RELU)
        .seed(5)
        .build()
        .unwrap()
}

/// `trainer`'s checkpoint written to a file and read back, as a fresh
/// process would.
fn through_a_file(trainer: &Trainer<f32>, tag: &str) -> LoadedCheckpoint<f32> {
    let dir = std::env::temp_dir().join(format!("chainrule-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("half.safetensors");
    trainer.save_checkpoint(&path).unwrap();
    let loaded = load_checkpoint::<f32>(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    loaded
}

#[test]
fn resuming_from_a_checkpoint_equals_the_uninterrupted_run() {
    let (train, test) = digits_split();
    let mlp = resume_mlp();
    let mut whole = resume_trainer(mlp.clone(), 4);
    let h = whole.fit(&train, Some(&test), |_| {}).unwrap();
    assert!(
        h.epochs.iter().any(|e| e.grad_norm.unwrap() > 20.0),
        "the clipping bound acts"
    );

    let mut first = resume_trainer(mlp, 2);
    first.fit(&train, Some(&test), |_| {}).unwrap();
    let loaded = through_a_file(&first, "resume");
    drop(first);

    // A fresh process, configured as the first run but for more epochs
    // (not recorded: resuming to train longer is allowed).
    let mut second = resume_trainer(loaded.model, 4);
    assert_eq!(
        loaded.state.training,
        Some(nn::checkpoint::TrainingSettings::of(second.config()))
    );
    second.restore(&loaded.state).unwrap();
    assert_eq!(second.epoch(), 2);
    let h = second.fit(&train, Some(&test), |_| {}).unwrap();
    assert_eq!(h.epochs.len(), 2, "only the remaining epochs run");
    assert_eq!(bits(second.mlp().params()), bits(whole.mlp().params()));
}

/// Parameter groups (a layer at its own rate and method) resume bitwise
/// too: their state's buffers have one entry per parameter, as
/// `Trainer::restore` checks, and the schedule scales both groups.
#[test]
fn resuming_parameter_groups_equals_the_uninterrupted_run() {
    let (train, test) = digits_split();
    let mlp = resume_mlp();
    let groups = |mlp: &Mlp<f32>| -> Box<dyn optim::Optimizer<f32>> {
        let momentum = optim::Momentum::Classic {
            mu: 0.9,
            dampening: 0.0,
        };
        let sgd = optim::Sgd::new(1e-2)
            .unwrap()
            .with_momentum(momentum)
            .unwrap();
        Box::new(
            optim::ParamGroups::new()
                .group(
                    mlp.layer_range(0),
                    optim::Adam::new(2e-3, 0.9, 0.999, 1e-8).unwrap(),
                )
                .unwrap()
                .group(mlp.layer_range(1), sgd)
                .unwrap(),
        )
    };
    let mut whole = Trainer::new(mlp.clone(), groups(&mlp), resume_config(4));
    whole.fit(&train, Some(&test), |_| {}).unwrap();

    let mut first = Trainer::new(mlp.clone(), groups(&mlp), resume_config(2));
    first.fit(&train, Some(&test), |_| {}).unwrap();
    let loaded = through_a_file(&first, "groups");
    let rates = first
        .optimizer()
        .state()
        .setting("group1.learning_rate")
        .unwrap();
    // The cosine with warm-up has moved both rates, keeping their ratio.
    let lr0 = first.optimizer().learning_rate();
    assert!(
        lr0 != 2e-3 && (rates / lr0 - 5.0).abs() < 1e-12,
        "{lr0} {rates}"
    );

    let mut second = Trainer::new(loaded.model, groups(&mlp), resume_config(4));
    second.restore(&loaded.state).unwrap();
    second.fit(&train, Some(&test), |_| {}).unwrap();
    assert_eq!(bits(second.mlp().params()), bits(whole.mlp().params()));
}

#[test]
fn restoring_a_checkpoint_of_another_seed_is_refused_and_changes_nothing() {
    let (train, _) = digits_split();
    let mut a = trainer(1, 3);
    a.fit(&train, None, |_| {}).unwrap();
    let loaded = through_a_file(&a, "seed");
    let mut b = trainer(5, 4); // another seed
    let err = b.restore(&loaded.state).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Resume {
                what: "seed",
                checkpoint: 3,
                trainer: 4
            }
        ),
        "{err}"
    );
    assert_eq!(b.epoch(), 0);
    assert_eq!(b.optimizer().steps(), 0);
    // The same seed resumes.
    let mut c = trainer(5, 3);
    c.restore(&loaded.state).unwrap();
    assert_eq!(c.epoch(), 1);
}

#[test]
fn restoring_an_optimizer_state_for_another_network_size_is_refused_untouched() {
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let mut small = sine_net_trainer(1, TrainConfig::default());
    small.fit(&data, None, |_| {}).unwrap();
    let state = nn::checkpoint::TrainingState {
        optimizer: Some(small.optimizer().state()),
        progress: None,
        training: None,
        scaler: None,
        extra: Default::default(),
        dtype: nn::checkpoint::StoredDtype::of::<f64>(),
    };
    let mlp = Mlp::builder(&[1, 20, 1]).seed(1).build().unwrap();
    let adam = optim::by_name::<f64>("adam", 1e-2).unwrap();
    let mut big = Trainer::new(mlp, adam, TrainConfig::default());
    let before = big.optimizer().state();
    let e = big.restore(&state).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Resume {
                checkpoint: 25,
                trainer: 61,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(big.optimizer().state(), before);
}

#[test]
fn a_callback_saves_a_checkpoint_each_epoch_that_resumes_bitwise_and_can_end_the_run() {
    use nn::{Callback, EpochReport};
    use std::ops::ControlFlow;
    struct Saver {
        dir: std::path::PathBuf,
        steps: usize,
        stop_after: usize,
    }
    impl Callback<f32> for Saver {
        fn on_step(&mut self, _: usize, _: usize, _: usize, loss: f64) {
            assert!(loss.is_finite());
            self.steps += 1;
        }
        fn on_epoch(&mut self, r: &EpochReport, t: &Trainer<f32>) -> ControlFlow<()> {
            assert_eq!(
                t.epoch(),
                r.epoch + 1,
                "the trainer counts the epoch just run"
            );
            assert_eq!(
                t.history().epochs.last(),
                Some(r),
                "and so does its history"
            );
            t.save_checkpoint(self.dir.join(format!("e{}.safetensors", t.epoch())))
                .unwrap();
            if t.epoch() == self.stop_after {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    let (train, test) = digits_split();
    let dir = std::env::temp_dir().join(format!("chainrule-callback-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cb = Saver {
        dir: dir.clone(),
        steps: 0,
        stop_after: 3,
    };
    let mut t = trainer(10, 9);
    let h = t.fit_with(&train, Some(&test), &mut cb).unwrap();
    assert!(h.stopped_by_callback && !h.stopped_early);
    assert_eq!((h.epochs.len(), t.epoch()), (3, 3));
    assert_eq!(cb.steps, 3 * train.len().div_ceil(32));
    // The checkpoint the callback saved after epoch 2 resumes to the state
    // the run had after epoch 3.
    let loaded = load_checkpoint::<f32>(dir.join("e2.safetensors")).unwrap();
    let mut resumed = Trainer::new(
        loaded.model,
        optim::by_name::<f32>("adam", 2e-3).unwrap(),
        TrainConfig {
            epochs: 3,
            batch_size: 32,
            seed: 9,
            ..Default::default()
        },
    );
    resumed.restore(&loaded.state).unwrap();
    resumed.fit(&train, Some(&test), |_| {}).unwrap();
    assert_eq!(bits(resumed.mlp().params()), bits(t.mlp().params()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn restoring_a_checkpoint_of_another_variant_of_the_method_is_refused_naming_the_setting() {
    let (data, _, mut symplectic) = sine_trainer("heavy_ball_symplectic", 0.05, 2, Reduction::Mean);
    symplectic.fit(&data, None, |_| {}).unwrap();
    let loaded = through_a_file(&symplectic, "variant");
    // The same method name, the other scheme: not the run that was saved.
    let (_, _, mut explicit) = sine_trainer("heavy_ball", 0.05, 4, Reduction::Mean);
    let before = explicit.optimizer().state();
    let e = explicit.restore(&loaded.state).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Optim(optim::Error::SettingMismatch { setting, expected, got, .. })
                if setting == "semi_implicit" && *expected == 0.0 && *got == 1.0
        ),
        "{e}"
    );
    assert_eq!(
        (explicit.epoch(), explicit.optimizer().state()),
        (0, before)
    );
    let (_, _, mut same) = sine_trainer("heavy_ball_symplectic", 0.05, 4, Reduction::Mean);
    same.restore(&loaded.state).unwrap();
    assert_eq!(same.epoch(), 2);
}

#[test]
fn a_trainers_checkpoint_takes_extra_entries_and_is_otherwise_what_save_checkpoint_writes() {
    let (data, _, mut t) = sine_trainer("adam", 1e-2, 2, Reduction::Mean);
    t.fit(&data, None, |_| {}).unwrap();
    let dir = std::env::temp_dir().join(format!("chainrule-extra-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (plain, built, extra) = (dir.join("p.st"), dir.join("b.st"), dir.join("e.st"));
    t.save_checkpoint(&plain).unwrap();
    nn::checkpoint::save_checkpoint(&built, &t.checkpoint()).unwrap();
    nn::checkpoint::save_checkpoint(&extra, &t.checkpoint().extra("run", "sine")).unwrap();
    let read = |p: &std::path::Path| std::fs::read(p).unwrap();
    assert_eq!(read(&plain), read(&built));
    let (a, b) = (
        load_checkpoint::<f32>(&plain).unwrap(),
        load_checkpoint::<f32>(&extra).unwrap(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(b.state.extra["run"], "sine");
    assert_eq!((a.model, a.state.optimizer), (b.model, b.state.optimizer));
    assert_eq!(a.state.progress, b.state.progress);
}

#[test]
fn a_state_saved_before_the_first_step_restores_into_a_network_of_any_size() {
    // Its buffers are empty (allocated on the first step): nothing to
    // compare with the network's parameter count.
    let fresh = sine_net_trainer(1, TrainConfig::default());
    let state = nn::checkpoint::TrainingState {
        optimizer: Some(fresh.optimizer().state()),
        progress: None,
        training: None,
        extra: Default::default(),
        dtype: nn::checkpoint::StoredDtype::of::<f64>(),
        scaler: None,
    };
    assert!(state
        .optimizer
        .as_ref()
        .unwrap()
        .buffers
        .iter()
        .all(|(_, b)| b.is_empty()));
    let mlp = Mlp::builder(&[1, 20, 1]).seed(1).build().unwrap();
    let adam = optim::by_name::<f64>("adam", 1e-2).unwrap();
    let mut big = Trainer::new(mlp, adam, TrainConfig::default());
    big.restore(&state).unwrap();
}
