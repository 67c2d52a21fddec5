//! The learning rate's reduction on a plateau in the trainer: when the
//! rate falls and to what, what a resumed run keeps, and the settings it
//! refuses.

mod common;

use common::training::{bits, digits_split, trainer};
use nn::{EarlyStopping, Error, Metric, ReduceOnPlateau, TrainConfig, Trainer};
use optim::Schedule;

/// [`trainer`]'s network with SGD at `lr` and `plateau`.
fn run(
    epochs: usize,
    lr: f64,
    plateau: ReduceOnPlateau,
    test: bool,
) -> (nn::History, Trainer<f32>) {
    let (train, held_out) = digits_split();
    let t = trainer(epochs, 2);
    let mut t = Trainer::new(
        t.mlp().clone(),
        optim::by_name::<f32>("sgd", lr).unwrap(),
        TrainConfig {
            reduce_on_plateau: Some(plateau),
            ..t.config().clone()
        },
    );
    let h = t.fit(&train, test.then_some(&held_out), |_| {}).unwrap();
    (h, t)
}

#[test]
fn the_rate_falls_by_factor_after_patience_bad_epochs_then_cools_down() {
    // A threshold of 1: no loss improves on `best (1 - 1) = 0`, nor, as in
    // PyTorch, on the start `+inf * 0` (NaN), so the counters alone decide.
    let plateau = ReduceOnPlateau {
        metric: Metric::TrainLoss,
        factor: 0.5,
        patience: 1,
        threshold: 1.0,
        cooldown: 1,
        min_lr: 0.0,
    };
    let (h, t) = run(8, 0.1, plateau, false);
    let rates: Vec<f64> = h.epochs.iter().map(|r| r.learning_rate).collect();
    // Epochs 1 and 2 are bad: reduced after 2; 3 cools down, 4 and 5 bad:
    // reduced after 5; 6 cools down, 7 and 8 bad: reduced after 8.
    let (a, b, c, d) = (0.1, 0.1 * 0.5, 0.1 * 0.5 * 0.5, 0.1 * 0.5 * 0.5 * 0.5);
    assert_eq!(rates, [a, a, b, b, b, c, c, c]);
    // The reduction after the last epoch is in the optimizer.
    assert_eq!(t.optimizer().learning_rate(), d);
}

#[test]
fn the_rate_never_falls_below_min_lr() {
    let plateau = ReduceOnPlateau {
        metric: Metric::TrainLoss,
        factor: 0.1,
        patience: 0,
        threshold: 1.0,
        cooldown: 0,
        min_lr: 0.02,
    };
    let (h, t) = run(4, 0.5, plateau, false);
    let rates: Vec<f64> = h.epochs.iter().map(|r| r.learning_rate).collect();
    // Every epoch is bad (see above): reduced after each, to 0.05, then to
    // 0.02 and no further.
    assert_eq!(rates, [0.5, 0.05, 0.02, 0.02]);
    assert_eq!(t.optimizer().learning_rate(), 0.02);
}

#[test]
fn a_min_lr_above_the_rate_never_raises_it() {
    // PyTorch: max(lr factor, min_lr) is then above lr, and no reduction.
    let plateau = ReduceOnPlateau {
        metric: Metric::TrainLoss,
        factor: 0.5,
        patience: 0,
        threshold: 1.0,
        cooldown: 0,
        min_lr: 0.05,
    };
    let (h, t) = run(2, 0.01, plateau, false);
    assert!(h.epochs.iter().all(|r| r.learning_rate == 0.01));
    assert_eq!(t.optimizer().learning_rate(), 0.01);
}

#[test]
fn an_improving_test_loss_keeps_the_rate() {
    // Plain SGD at a small rate on the digits: the test loss falls every
    // epoch by more than 1e-4 relative, so nothing is reduced.
    let plateau = ReduceOnPlateau {
        patience: 0,
        ..ReduceOnPlateau::default()
    };
    let (h, _) = run(5, 0.01, plateau, true);
    let losses: Vec<f64> = h.epochs.iter().map(|r| r.test_loss.unwrap()).collect();
    assert!(
        losses.windows(2).all(|w| w[1] < w[0] * (1.0 - 1e-4)),
        "{losses:?}"
    );
    assert!(h.epochs.iter().all(|r| r.learning_rate == 0.01));
}

#[test]
fn a_test_metric_without_a_test_set_a_schedule_or_a_bad_setting_is_refused() {
    let (train, _) = digits_split();
    let fit = |config: TrainConfig| {
        let mut t = Trainer::new(
            trainer(1, 2).mlp().clone(),
            optim::by_name::<f32>("sgd", 0.1).unwrap(),
            config,
        );
        t.fit(&train, None, |_| {}).unwrap_err()
    };
    let e = fit(TrainConfig {
        reduce_on_plateau: Some(ReduceOnPlateau::default()),
        ..TrainConfig::default()
    });
    assert_eq!(
        e.to_string(),
        "reduce on plateau: it watches the test loss, but fit was given no test set"
    );
    let e = fit(TrainConfig {
        reduce_on_plateau: Some(ReduceOnPlateau {
            metric: Metric::TrainLoss,
            ..ReduceOnPlateau::default()
        }),
        schedule: Some(Schedule::constant(0.1).unwrap()),
        ..TrainConfig::default()
    });
    assert!(matches!(e, Error::Plateau { .. }), "{e}");
    assert!(e.to_string().contains("schedule"), "{e}");
    for (factor, threshold, min_lr, what) in [
        (1.0, 1e-4, 0.0, "reduce_on_plateau.factor"),
        (f64::NAN, 1e-4, 0.0, "reduce_on_plateau.factor"),
        (0.5, -1.0, 0.0, "reduce_on_plateau.threshold"),
        (0.5, f64::INFINITY, 0.0, "reduce_on_plateau.threshold"),
        (0.5, 1e-4, f64::INFINITY, "reduce_on_plateau.min_lr"),
    ] {
        let e = fit(TrainConfig {
            reduce_on_plateau: Some(ReduceOnPlateau {
                metric: Metric::TrainLoss,
                factor,
                threshold,
                min_lr,
                ..ReduceOnPlateau::default()
            }),
            ..TrainConfig::default()
        });
        assert!(
            matches!(e, Error::Config { what: w, .. } if w == what),
            "{what}: {e}"
        );
    }
}

#[test]
fn early_stopping_can_watch_the_training_loss_without_a_test_set() {
    let (train, _) = digits_split();
    let t = trainer(100, 2);
    // A threshold no loss meets: stops after `patience` epochs past the
    // first.
    let mut t = Trainer::new(
        t.mlp().clone(),
        optim::by_name::<f32>("sgd", 0.01).unwrap(),
        TrainConfig {
            early_stopping: Some(EarlyStopping {
                metric: Metric::TrainLoss,
                patience: 2,
                min_delta: 1e9,
            }),
            ..t.config().clone()
        },
    );
    let h = t.fit(&train, None, |_| {}).unwrap();
    assert!(h.stopped_early);
    assert_eq!(h.epochs.len(), 3);
}

#[test]
fn a_checkpoint_holds_the_reduced_rate_and_the_resumed_run_goes_on_from_it() {
    // Every epoch bad, patience 0: a reduction after each, whatever the
    // counters, so the resumed run must follow the uninterrupted one.
    let plateau = ReduceOnPlateau {
        metric: Metric::TrainLoss,
        factor: 0.5,
        patience: 0,
        threshold: 1.0,
        cooldown: 0,
        min_lr: 0.0,
    };
    let (whole, straight) = run(5, 0.1, plateau, false);
    let (_, first) = run(3, 0.1, plateau, false);
    let path = std::env::temp_dir().join(format!(
        "chainrule-plateau-{}.safetensors",
        std::process::id()
    ));
    first.save_checkpoint(&path).unwrap();
    let loaded = nn::checkpoint::load_checkpoint::<f32>(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        loaded.state.optimizer.as_ref().unwrap().learning_rate,
        0.1 / 8.0
    );

    let mut resumed = Trainer::new(
        loaded.model,
        optim::by_name::<f32>("sgd", 0.1).unwrap(),
        TrainConfig {
            epochs: 5,
            ..first.config().clone()
        },
    );
    resumed.restore(&loaded.state).unwrap();
    assert_eq!(resumed.optimizer().learning_rate(), 0.1 / 8.0);
    let (train, _) = digits_split();
    let h = resumed.fit(&train, None, |_| {}).unwrap();
    let rates: Vec<f64> = h.epochs.iter().map(|r| r.learning_rate).collect();
    assert_eq!(rates, [0.1 / 8.0, 0.1 / 16.0]);
    assert_eq!(
        rates,
        whole.epochs[3..]
            .iter()
            .map(|r| r.learning_rate)
            .collect::<Vec<_>>()
    );
    assert_eq!(bits(resumed.mlp().params()), bits(straight.mlp().params()));
}
