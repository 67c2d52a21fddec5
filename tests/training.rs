//! Training end to end on the digits: accuracy, determinism, resuming from
//! checkpoints, and the typed stop on divergence (early stopping in
//! `early_stopping.rs`).

mod common;

use autodiff::Reduction;
use common::training::{
    bits, digits_split, sine_net_trainer, sine_net_trainer_with, sine_trainer, trainer,
};
use nn::checkpoint::load_checkpoint;
use nn::data::{digits, noisy_sine, Dataset};
use nn::{Activation, Error, Loss, Mlp, TrainConfig, Trainer};

#[test]
fn short_seeded_run_on_digits_reaches_95_percent_test_accuracy() {
    let (train, test) = digits_split();
    let mut t = trainer(8, 1);
    let h = t.fit(&train, Some(&test), |_| {}).unwrap();
    let acc = h.epochs.last().unwrap().test_accuracy.unwrap();
    assert!(acc >= 0.95, "test accuracy {acc}");
    assert!(h.epochs.windows(2).all(|w| w[1].epoch == w[0].epoch + 1));
}

#[test]
fn same_seed_twice_gives_bitwise_equal_parameters() {
    let (train, _) = digits_split();
    let mut a = trainer(2, 3);
    let mut b = trainer(2, 3);
    a.fit(&train, None, |_| {}).unwrap();
    b.fit(&train, None, |_| {}).unwrap();
    assert_eq!(bits(a.mlp().params()), bits(b.mlp().params()));
    let mut c = trainer(2, 4);
    c.fit(&train, None, |_| {}).unwrap();
    assert_ne!(
        bits(a.mlp().params()),
        bits(c.mlp().params()),
        "another seed, another run"
    );
}

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
        clip_grad_norm: Some(20.0),
        dropout: Some(0.2),
    }
}

/// A trainer of `mlp` by Adam at 2e-3 with [`resume_config`].
fn resume_trainer(mlp: Mlp<f32>, epochs: usize) -> Trainer<f32> {
    let adam = optim::by_name::<f32>("adam", 2e-3).unwrap();
    Trainer::new(mlp, adam, resume_config(epochs))
}

#[test]
fn resuming_from_a_checkpoint_equals_the_uninterrupted_run() {
    let (train, test) = digits_split();
    let mlp = Mlp::builder(&[64, 32, 10])
        .hidden(Activation::RELU)
        .seed(5)
        .build()
        .unwrap();
    let mut whole = resume_trainer(mlp.clone(), 4);
    let h = whole.fit(&train, Some(&test), |_| {}).unwrap();
    assert!(
        h.epochs.iter().any(|e| e.grad_norm.unwrap() > 20.0),
        "the clipping bound acts"
    );

    let dir = std::env::temp_dir().join(format!("chainrule-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("half.safetensors");
    let mut first = resume_trainer(mlp, 2);
    first.fit(&train, Some(&test), |_| {}).unwrap();
    first.save_checkpoint(&path).unwrap();
    drop(first);

    // A fresh process, configured as the first run but for more epochs
    // (not recorded: resuming to train longer is allowed).
    let loaded = load_checkpoint::<f32>(&path).unwrap();
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
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn divergence_stops_with_a_typed_error_and_keeps_finite_parameters() {
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let mlp = Mlp::builder(&[1, 8, 1])
        .hidden(Activation::RELU)
        .seed(1)
        .build()
        .unwrap();
    // Plain gradient descent with an absurd step on least squares: the
    // parameters, then the loss, overflow within a few steps.
    let gd = optim::by_name::<f64>("gradient_descent", 1e200).unwrap();
    let loss = Loss::LeastSquares(Reduction::Mean);
    let mut t = Trainer::new(
        mlp,
        gd,
        TrainConfig {
            epochs: 50,
            batch_size: 16,
            loss,
            ..Default::default()
        },
    );
    let err = t.fit(&data, None, |_| {}).unwrap_err();
    match &err {
        Error::NonFinite {
            epoch, step, what, ..
        } => {
            // With lr 1e200 the first step leaves huge but finite
            // parameters, and the loss of the second batch overflows: the
            // step is not taken.
            assert_eq!((*epoch, *step, *what), (0, 1, "loss"), "{err}");
        }
        e => panic!("expected a non-finite stop, got {e}"),
    }
    assert!(
        err.to_string().contains("epoch") && err.to_string().contains("step"),
        "{err}"
    );
    assert!(
        t.mlp().params().iter().all(|v| v.is_finite()),
        "the last finite parameters are kept"
    );
}

#[test]
fn batch_loss_is_per_sample_with_a_short_last_batch() {
    let (train, _) = digits_split();
    let train = train.select(&(0..33).collect::<Vec<_>>());
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let mlp = Mlp::builder(&[64, 8, 10]).seed(1).build().unwrap();
        let sgd = optim::by_name::<f32>("sgd", 1e-3).unwrap();
        let mut t = Trainer::new(
            mlp,
            sgd,
            TrainConfig {
                epochs: 1,
                batch_size: 32,
                loss: Loss::CrossEntropy(reduction),
                ..Default::default()
            },
        );
        let mut losses = Vec::new();
        let h = t
            .fit(&train, None, |e| {
                if let nn::Event::Step { loss, .. } = e {
                    losses.push(loss)
                }
            })
            .unwrap();
        assert_eq!(losses.len(), 2, "batches of 32 and 1");
        let want = match reduction {
            Reduction::Mean => (losses[0] * 32.0 + losses[1]) / 33.0,
            Reduction::Sum => losses[0] + losses[1],
        };
        let got = h.epochs[0].batch_loss;
        assert!(
            (got - want).abs() <= 1e-12 * want.abs(),
            "{reduction:?}: {got} vs {want}"
        );
    }
}

#[test]
fn a_step_that_makes_a_parameter_non_finite_rolls_network_and_optimizer_back_together() {
    // A finite loss and gradient, and a step so large that a parameter
    // overflows f32.
    let (data, mlp, mut t) = sine_trainer("sgd_momentum", 3e38, 3, Reduction::Sum);
    let err = t.fit(&data, None, |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                what: "parameter after the step",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("start of the epoch"), "{err}");
    // Epoch 0 failed at its first step: both as before training.
    assert_eq!(bits(t.mlp().params()), bits(mlp.params()));
    let state = t.optimizer().state();
    assert_eq!(state.steps, 0, "the optimizer's step counter rolled back");
    assert!(
        state.buffers.iter().all(|(_, b)| b.is_empty()),
        "no momentum kept"
    );
}

#[test]
fn nesterov_energy_takes_the_loss_at_the_lookahead_point() {
    let (train, _) = digits_split();
    let mlp = Mlp::builder(&[64, 16, 10]).seed(1).build().unwrap();
    let nesterov = optim::by_name::<f32>("nesterov", 0.05).unwrap();
    let mut t = Trainer::new(
        mlp,
        nesterov,
        TrainConfig {
            epochs: 1,
            ..Default::default()
        },
    );
    let h = t.fit(&train, None, |_| {}).unwrap();
    let reported = h.epochs[0].energy.expect("Nesterov has an energy (5.20)");
    let mut at = vec![0.0f32; t.mlp().num_params()];
    assert!(t
        .optimizer()
        .gradient_point(t.mlp().params(), &mut at)
        .unwrap());
    let mut shifted = t.mlp().clone();
    shifted.params_mut().copy_from_slice(&at);
    let (j_lookahead, _) = nn::evaluate(&shifted, t.config().loss, &train).unwrap();
    assert_eq!(reported, t.optimizer().energy(j_lookahead).unwrap());
    let j_here = h.epochs[0].train_loss;
    assert_ne!(reported, t.optimizer().energy(j_here).unwrap());
}

#[test]
fn a_loss_that_overflows_on_the_whole_set_after_an_epoch_is_a_typed_stop() {
    // One step of an absurd size: the parameters stay finite (about
    // 1e20), the squared outputs do not.
    let (data, _, mut t) = sine_trainer("sgd", 1e20, 1, Reduction::Mean);
    let err = t.fit(&data, None, |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                what: "loss on the training set",
                step: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(t.mlp().params().iter().all(|p| p.is_finite()));
}

#[test]
fn an_empty_test_set_is_a_typed_error() {
    let (train, test) = digits::<f32>().unwrap().split(0.0, 7).unwrap();
    assert_eq!(test.len(), 0);
    let mut t = trainer(1, 1);
    assert!(matches!(
        t.fit(&train, Some(&test), |_| {}),
        Err(Error::EmptyData { what: "test" })
    ));
}

#[test]
fn restoring_a_checkpoint_of_another_seed_is_refused_and_changes_nothing() {
    let (train, _) = digits_split();
    let mut a = trainer(1, 3);
    a.fit(&train, None, |_| {}).unwrap();
    let dir = std::env::temp_dir().join(format!("chainrule-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.safetensors");
    a.save_checkpoint(&path).unwrap();
    let loaded = load_checkpoint::<f32>(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
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
fn an_infinite_loss_with_a_finite_gradient_stops_before_the_step() {
    // f32 least squares against targets of 1e20: the loss 0.5 |f - y|^2
    // overflows f32, its gradient f - y does not.
    let x = autodiff::Matrix::new(4, 1, vec![0.1f32, 0.2, 0.3, 0.4]).unwrap();
    let y = autodiff::Matrix::new(4, 1, vec![1e20f32; 4]).unwrap();
    let data = Dataset::regression(x, y).unwrap();
    let mlp = Mlp::builder(&[1, 4, 1])
        .hidden(Activation::Tanh)
        .seed(1)
        .build()
        .unwrap();
    let mut t = Trainer::new(
        mlp.clone(),
        optim::by_name::<f32>("sgd", 1e-3).unwrap(),
        TrainConfig {
            epochs: 1,
            batch_size: 4,
            loss: Loss::LeastSquares(Reduction::Sum),
            ..Default::default()
        },
    );
    let err = t.fit(&data, None, |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                what: "loss",
                epoch: 0,
                step: 0,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        bits(t.mlp().params()),
        bits(mlp.params()),
        "no step was taken"
    );
}

#[test]
fn a_diverged_run_keeps_the_epochs_it_completed_in_its_history() {
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    // Gradient descent whose step grows by 0.01 every step (a warm-up that
    // never ends): sound for some epochs of 4 steps, then the loss
    // overflows.
    let mut t = sine_net_trainer_with(
        "gradient_descent",
        1e-2,
        100_000,
        TrainConfig {
            schedule: Some(optim::Schedule::constant(1e3).unwrap().with_warmup(100_000)),
            ..Default::default()
        },
    );
    let e = t.fit(&data, None, |_| {}).unwrap_err();
    let Error::NonFinite { epoch, .. } = e else {
        panic!("expected a non-finite stop, got {e}")
    };
    assert!(epoch >= 2, "diverged in the first epochs: {e}");
    let h = t.history();
    assert_eq!(h.epochs.len(), epoch, "{e}");
    for (k, r) in h.epochs.iter().enumerate() {
        assert_eq!(r.epoch, k);
        assert!(r.train_loss.is_finite());
    }
    // The next call starts a history of its own.
    t.config_mut().epochs = t.epoch();
    assert!(t.fit(&data, None, |_| {}).unwrap().epochs.is_empty());
    assert!(t.history().epochs.is_empty());
}

#[test]
fn empty_training_or_evaluation_data_is_a_typed_error_not_a_nan() {
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let empty = data.select(&[]);
    let mut t = sine_net_trainer(2, TrainConfig::default());
    let e = t.fit(&empty, Some(&data), |_| {}).unwrap_err();
    assert!(matches!(e, Error::EmptyData { what: "training" }), "{e}");
    let e = nn::evaluate(t.mlp(), Loss::LeastSquares(Reduction::Mean), &empty).unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
    let e = t.mlp().accuracy(&[], &[]).unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
}

#[test]
fn evaluating_data_of_another_width_names_the_input_width() {
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    // Two features per sample where the network takes one: predict alone
    // would read the 64 x 2 values as 128 samples.
    let wide = Dataset::regression(
        autodiff::Matrix::new(32, 2, data.features().as_slice().to_vec()).unwrap(),
        autodiff::Matrix::new(32, 1, vec![0.0; 32]).unwrap(),
    )
    .unwrap();
    let t = sine_net_trainer(1, TrainConfig::default());
    let e = nn::evaluate(t.mlp(), Loss::LeastSquares(Reduction::Mean), &wide).unwrap_err();
    assert!(matches!(e, Error::InputWidth { expected: 1, .. }), "{e}");
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
fn a_cosine_schedule_annealed_to_zero_trains_to_its_end() {
    // PyTorch's CosineAnnealingLR default (eta_min = 0), over fewer steps
    // than the run takes: the last steps have rate 0 and change nothing.
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let mut t = sine_net_trainer(
        4,
        TrainConfig {
            schedule: Some(optim::Schedule::cosine(1e-2, 8, 0.0).unwrap()),
            ..Default::default()
        },
    );
    t.config_mut().epochs = 2;
    t.fit(&data, None, |_| {}).unwrap();
    let at_zero = t.mlp().params().to_vec();
    t.config_mut().epochs = 4;
    let h = t.fit(&data, None, |_| {}).unwrap();
    assert_eq!(h.epochs.last().unwrap().learning_rate, 0.0);
    assert_eq!(t.mlp().params(), &at_zero[..]);
}

#[test]
fn a_schedule_the_optimizer_refuses_stops_training_with_its_epoch_and_step() {
    // AdamOde needs dt <= eps1 = 1e-3 / (1 - 0.9) = 1e-2; the warm-up of a
    // schedule peaking at 0.05 passes it during the second epoch.
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let mut t = sine_net_trainer_with(
        "adam_ode",
        1e-3,
        3,
        TrainConfig {
            schedule: Some(optim::Schedule::constant(0.05).unwrap().with_warmup(20)),
            ..Default::default()
        },
    );
    let e = t.fit(&data, None, |_| {}).unwrap_err();
    match &e {
        Error::Step {
            epoch,
            step,
            source,
        } => {
            // Step t has rate 0.05 (t + 1) / 20 > 1e-2 from t = 4: the
            // first step of the second epoch.
            assert_eq!((*epoch, *step), (1, 0), "{e}");
            assert!(matches!(source, optim::Error::InvalidHyperparameter { .. }));
        }
        e => panic!("expected the optimizer's refusal, got {e}"),
    }
    assert!(
        e.to_string()
            .contains("epoch 2 (counting from 1), after 0 steps"),
        "{e}"
    );
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
    let dir = std::env::temp_dir().join(format!("chainrule-variant-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.safetensors");
    symplectic.save_checkpoint(&path).unwrap();
    let loaded = load_checkpoint::<f32>(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
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

#[test]
fn a_network_whose_output_does_not_fit_the_targets_is_refused_before_any_step_naming_both() {
    // Regression: one target column, a network with two outputs.
    let sine = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let mlp = Mlp::<f64>::builder(&[1, 8, 2]).seed(1).build().unwrap();
    let config = TrainConfig {
        loss: Loss::LeastSquares(Reduction::Mean),
        ..Default::default()
    };
    let mut t = Trainer::new(mlp, optim::by_name("adam", 1e-2).unwrap(), config);
    let before = t.mlp().params().to_vec();
    let e = t.fit(&sine, None, |_| {}).unwrap_err();
    assert_eq!(
        e.to_string(),
        "targets: the network has 2 outputs, the training set 1 target value per sample"
    );
    assert_eq!(t.mlp().params(), &before[..]);
    let e = nn::evaluate(t.mlp(), Loss::LeastSquares(Reduction::Mean), &sine).unwrap_err();
    assert!(matches!(e, Error::Targets(_)), "{e}");
    // Classification: ten classes, a network with five outputs.
    let (train, test) = digits_split();
    let mlp = Mlp::<f32>::builder(&[64, 16, 5]).seed(1).build().unwrap();
    let mut t = Trainer::new(
        mlp,
        optim::by_name("adam", 1e-2).unwrap(),
        TrainConfig::default(),
    );
    let e = t.fit(&train, Some(&test), |_| {}).unwrap_err();
    assert_eq!(
        e.to_string(),
        "targets: the network has 5 outputs, the training set 10 classes (one output per class)"
    );
    assert_eq!(t.optimizer().steps(), 0);
}

#[test]
fn a_test_set_of_another_width_is_refused_before_the_first_epoch_trains() {
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let wide = Dataset::regression(
        autodiff::Matrix::new(32, 2, data.features().as_slice().to_vec()).unwrap(),
        autodiff::Matrix::new(32, 1, vec![0.0; 32]).unwrap(),
    )
    .unwrap();
    let mut t = sine_net_trainer(2, TrainConfig::default());
    let before = t.mlp().params().to_vec();
    let e = t.fit(&data, Some(&wide), |_| {}).unwrap_err();
    assert!(matches!(e, Error::InputWidth { expected: 1, .. }), "{e}");
    assert_eq!((t.epoch(), t.optimizer().steps()), (0, 0));
    assert_eq!(t.mlp().params(), &before[..]);
}

#[test]
fn a_test_set_whose_targets_the_loss_cannot_take_is_refused_before_the_first_epoch_trains() {
    // Cross-entropy training on classes, a test set of real targets.
    let (train, _) = digits_split();
    let regression = Dataset::regression(
        train.features().clone(),
        autodiff::Matrix::new(train.len(), 10, vec![0.0; 10 * train.len()]).unwrap(),
    )
    .unwrap();
    let mut t = trainer(2, 0);
    let e = t.fit(&train, Some(&regression), |_| {}).unwrap_err();
    assert_eq!(
        e.to_string(),
        "targets: cross-entropy needs class labels, the test set has real target vectors"
    );
    assert_eq!((t.epoch(), t.optimizer().steps()), (0, 0));
}

#[test]
fn a_nesterov_trainer_takes_each_gradient_at_the_lookahead_point() {
    // The trainer against a hand loop of (5.19): the gradient at the point
    // gradient_point gives. Full batches in order, so the same sums.
    let data = noisy_sine::<f64>(16, 0.1, 1).unwrap();
    let mlp = Mlp::builder(&[1, 4, 1])
        .hidden(Activation::Tanh)
        .seed(1)
        .build()
        .unwrap();
    let loss = Loss::LeastSquares(Reduction::Mean);
    let mut t = Trainer::new(
        mlp.clone(),
        optim::by_name::<f64>("nesterov", 0.05).unwrap(),
        TrainConfig {
            epochs: 3,
            batch_size: 16,
            order: nn::data::BatchOrder::Cyclic,
            loss,
            ..Default::default()
        },
    );
    t.fit(&data, None, |_| {}).unwrap();
    let hand = |lookahead: bool| {
        let mut opt = optim::by_name::<f64>("nesterov", 0.05).unwrap();
        let mut w = mlp.params().to_vec();
        let mut at = vec![0.0; w.len()];
        for _ in 0..3 {
            let shifted = opt.gradient_point(&w, &mut at).unwrap();
            assert!(shifted, "Nesterov takes its gradient elsewhere");
            let point = if lookahead { at.clone() } else { w.clone() };
            let tape = autodiff::Tape::new();
            let x = tape
                .mat_const(autodiff::Shape::new(16, 1), data.features().as_slice())
                .unwrap();
            let out = mlp.forward_at(&tape, x, &point).unwrap();
            let values = data.values().unwrap().as_slice();
            let l = loss
                .apply(out.output, nn::BatchTargets::Values(values))
                .unwrap();
            let g = tape.backward(l);
            let grad = out.gradient(&g).to_vec();
            opt.step(&mut w, &grad).unwrap();
        }
        w
    };
    let bits64 = |p: &[f64]| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits64(t.mlp().params()), bits64(&hand(true)));
    assert_ne!(
        bits64(t.mlp().params()),
        bits64(&hand(false)),
        "the lookahead matters"
    );
}
