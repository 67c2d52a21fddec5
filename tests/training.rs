//! Training end to end on the digits: accuracy, determinism, the typed
//! stops on divergence and bad input, schedules (early stopping in
//! `early_stopping.rs`, resuming in `resume.rs`).

mod common;

use autodiff::{Matrix, Reduction};
use common::training::{
    bits, digits_split, sine_net_trainer, sine_net_trainer_with, sine_trainer, trainer,
};
use nn::data::{digits, noisy_sine, BatchOrder, Dataset};
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

#[test]
fn divergence_stops_with_a_typed_error_and_keeps_the_parameters_of_the_epochs_start() {
    // Plain gradient descent with an absurd step on least squares: the
    // parameters, then the loss, overflow within a few steps.
    let (data, mut t) = sine_trainer_f64("gradient_descent", 1e200, 50);
    let start = t.mlp().params().to_vec();
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
    // The first step's huge parameters are not kept: epoch 0's start is.
    assert!(err.to_string().contains("start of the epoch"), "{err}");
    assert_eq!(t.mlp().params(), &start[..]);
    assert_eq!(t.optimizer().steps(), 0);
}

/// A trainer of `[1, 8, 1]` on a noisy sine of 64 samples by `method` at
/// `lr`, least squares, 4 batches an epoch.
fn sine_trainer_f64(method: &str, lr: f64, epochs: usize) -> (Dataset<f64>, Trainer<f64>) {
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let mlp = Mlp::builder(&[1, 8, 1])
        .hidden(Activation::RELU)
        .seed(1)
        .build()
        .unwrap();
    let opt = optim::by_name::<f64>(method, lr).unwrap();
    let config = TrainConfig {
        epochs,
        batch_size: 16,
        loss: Loss::LeastSquares(Reduction::Mean),
        ..Default::default()
    };
    (data, Trainer::new(mlp, opt, config))
}

#[test]
fn a_stop_within_an_epoch_leaves_the_state_of_the_epochs_completed_which_resumes_bitwise() {
    // Two good epochs, then a rate that diverges in the middle of the third.
    let (data, mut t) = sine_trainer_f64("sgd", 1e-2, 2);
    t.fit(&data, None, |_| {}).unwrap();
    let after_two = t.mlp().params().to_vec();
    t.optimizer_mut().set_learning_rate(1e200).unwrap();
    t.config_mut().epochs = 5;
    let err = t.fit(&data, None, |_| {}).unwrap_err();
    match err {
        Error::NonFinite {
            epoch: 2,
            step,
            what: "loss",
            ..
        } if step > 0 => {}
        ref e => panic!("expected a stop after a step of epoch 2 (from 0), got {e}"),
    }
    assert!(err.to_string().contains("start of the epoch"), "{err}");
    // As after epoch 2: the parameters, the epoch and the optimizer's step
    // count agree, as a checkpoint needs them to.
    assert_eq!(t.mlp().params(), &after_two[..]);
    assert_eq!((t.epoch(), t.optimizer().steps()), (2, 8));
    // So the run resumes, at the good rate, bitwise as if never stopped.
    t.optimizer_mut().set_learning_rate(1e-2).unwrap();
    t.fit(&data, None, |_| {}).unwrap();
    let (_, mut whole) = sine_trainer_f64("sgd", 1e-2, 5);
    whole.fit(&data, None, |_| {}).unwrap();
    assert_eq!(t.mlp().params(), whole.mlp().params());
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
    let (data, start, mut t) = sine_trainer("sgd", 1e20, 1, Reduction::Mean);
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
    // The epoch's steps are all done and kept, and the epoch counted: no
    // roll-back, unlike a stop within an epoch.
    assert!(
        err.to_string().contains("after the last finite step"),
        "{err}"
    );
    assert_ne!(bits(t.mlp().params()), bits(start.params()));
    assert_eq!((t.epoch(), t.optimizer().steps()), (1, 1));
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
fn a_schedule_refused_within_an_epoch_leaves_the_state_of_the_epochs_completed() {
    // As above, with a warm-up of 32 steps: the rate passes 1e-2 at step
    // 6, the third of the second epoch (4 a epoch), after two good steps.
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let trainer = |epochs| {
        sine_net_trainer_with(
            "adam_ode",
            1e-3,
            epochs,
            TrainConfig {
                schedule: Some(optim::Schedule::constant(0.05).unwrap().with_warmup(32)),
                ..Default::default()
            },
        )
    };
    let mut t = trainer(3);
    let e = t.fit(&data, None, |_| {}).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Step {
                epoch: 1,
                step: 2,
                ..
            }
        ),
        "expected a refusal at step 2 of epoch 1 (from 0), got {e}"
    );
    let mut one = trainer(1);
    one.fit(&data, None, |_| {}).unwrap();
    assert_eq!(t.mlp().params(), one.mlp().params());
    assert_eq!(t.optimizer().state(), one.optimizer().state());
    assert_eq!(t.epoch(), 1);
}

#[test]
fn a_non_finite_gradient_of_a_finite_loss_rolls_back_to_the_epochs_start_with_clipping_or_not() {
    // One hidden unit at 1e38 (f32's largest is 3.4e38) times an output
    // weight of 1e-38: the output is finite, and so is every loss. The
    // first sample's target is the output (a zero gradient, a step that
    // changes nothing but the step count); the second's is 4 below it, so
    // that the output weight's gradient r h (of r^2 / 2) overflows.
    let out = 1e38_f32 * 1e-38;
    let data = Dataset::regression(
        Matrix::new(2, 1, vec![0.0, 0.0]).unwrap(),
        Matrix::new(2, 1, vec![out, out - 4.0]).unwrap(),
    )
    .unwrap();
    let mut mlp = Mlp::builder(&[1, 1, 1])
        .hidden(Activation::RELU)
        .seed(1)
        .build()
        .unwrap();
    // [w1, b1, w2, b2]
    mlp.params_mut().copy_from_slice(&[0.0, 1e38, 1e-38, 0.0]);
    for clip in [None, Some(1.0)] {
        let sgd = optim::by_name::<f32>("sgd_momentum", 1e-3).unwrap();
        let config = TrainConfig {
            epochs: 1,
            batch_size: 1,
            order: BatchOrder::Cyclic,
            loss: Loss::LeastSquares(Reduction::Sum),
            clip_grad_norm: clip,
            ..Default::default()
        };
        let mut t = Trainer::new(mlp.clone(), sgd, config);
        let e = t.fit(&data, None, |_| {}).unwrap_err();
        assert!(
            matches!(
                e,
                Error::NonFinite {
                    what: "gradient",
                    step: 1,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("start of the epoch"), "{e}");
        assert_eq!(bits(t.mlp().params()), bits(mlp.params()));
        assert_eq!(t.optimizer().steps(), 0);
    }
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

#[test]
fn adams_moment_overflowing_from_finite_gradients_stops_with_a_state_of_whole_epochs_that_loads() {
    // A rate of 1e3 after two warm-up steps: the gradients grow past what
    // v holds in f32 while the parameters stay finite (v = inf would make
    // the updates 0). The step is refused, as the optimizer's error.
    let data = noisy_sine::<f32>(64, 0.1, 1).unwrap();
    let mlp = Mlp::builder(&[1, 8, 8, 1])
        .hidden(Activation::RELU)
        .seed(7)
        .build()
        .unwrap();
    let adamw = optim::by_name::<f32>("adamw", 1e-3).unwrap();
    let config = TrainConfig {
        epochs: 20,
        batch_size: 16,
        loss: Loss::LeastSquares(Reduction::Mean),
        schedule: Some(optim::Schedule::constant(1e3).unwrap().with_warmup(8)),
        seed: 7,
        ..Default::default()
    };
    let mut t = Trainer::new(mlp, adamw, config);
    let err = t.fit(&data, None, |_| {}).unwrap_err();
    // In epoch 1 (from 0), after steps of it: put back as after epoch 0
    // (4 batches an epoch).
    match &err {
        Error::Step {
            epoch: 1,
            step,
            source: optim::Error::MomentOverflow { .. },
        } if *step > 0 => {}
        e => panic!("expected adamw's refusal after a step of epoch 1, got {e}"),
    }
    assert_eq!((t.epoch(), t.optimizer().steps()), (1, 4), "{err}");
    let state = t.optimizer().state();
    assert!(
        state
            .buffers
            .iter()
            .all(|(_, b)| b.iter().all(|v| v.is_finite())),
        "{err}"
    );
    t.optimizer_mut().load_state(&state).unwrap();
}

/// A digits trainer with the given loss (the network and optimizer of
/// `trainer`).
fn trainer_with_loss(loss: Loss, epochs: usize) -> Trainer<f32> {
    let mlp = Mlp::builder(&[64, 64, 10])
        .hidden(Activation::RELU)
        .seed(3)
        .build()
        .unwrap();
    let adam = optim::by_name::<f32>("adam", 2e-3).unwrap();
    let config = TrainConfig {
        epochs,
        batch_size: 32,
        seed: 3,
        loss,
        ..Default::default()
    };
    Trainer::new(mlp, adam, config)
}

#[test]
fn label_smoothing_trains_and_reports_the_smoothed_loss_and_zero_is_bitwise_the_plain_loss() {
    let (train, test) = digits_split();
    let smoothed = |eps| Loss::SmoothedCrossEntropy {
        reduction: Reduction::Mean,
        label_smoothing: eps,
    };
    let mut t = trainer_with_loss(smoothed(0.1), 3);
    let h = t.fit(&train, Some(&test), |_| {}).unwrap();
    let last = h.epochs.last().unwrap();
    assert!(last.test_accuracy.unwrap() > 0.9, "{last:?}");
    // The reported loss is the smoothed one (PyTorch's), above the plain
    // cross-entropy of the same network: the smoothing term.
    let (loss, _) = nn::evaluate(t.mlp(), smoothed(0.1), &train).unwrap();
    assert_eq!(last.train_loss, loss);
    let (plain, _) = nn::evaluate(t.mlp(), Loss::CrossEntropy(Reduction::Mean), &train).unwrap();
    assert!(loss > plain + 0.05, "smoothed {loss}, plain {plain}");
    let mut a = trainer_with_loss(smoothed(0.0), 2);
    let mut b = trainer_with_loss(Loss::CrossEntropy(Reduction::Mean), 2);
    let ha = a.fit(&train, None, |_| {}).unwrap();
    let hb = b.fit(&train, None, |_| {}).unwrap();
    assert_eq!(bits(a.mlp().params()), bits(b.mlp().params()));
    assert_eq!(
        ha.epochs.last().unwrap().train_loss.to_bits(),
        hb.epochs.last().unwrap().train_loss.to_bits()
    );
}

#[test]
fn a_label_smoothing_outside_0_1_is_refused_before_any_step() {
    let (train, _) = digits_split();
    for eps in [-0.1, 1.5, f64::NAN] {
        let loss = Loss::SmoothedCrossEntropy {
            reduction: Reduction::Mean,
            label_smoothing: eps,
        };
        let mut t = trainer_with_loss(loss, 1);
        let e = t.fit(&train, None, |_| {}).unwrap_err();
        assert!(
            matches!(e, Error::Config { what: "loss.label_smoothing", got, .. } if got.to_bits() == eps.to_bits()),
            "{eps}: {e}"
        );
        assert_eq!((t.epoch(), t.optimizer().steps()), (0, 0));
    }
}
