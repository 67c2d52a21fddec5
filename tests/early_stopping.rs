//! Early stopping in the trainer: when a run stops, which parameters it
//! keeps, what counts as an improvement, and the settings it refuses.

mod common;

use autodiff::Reduction;
use common::training::{assert_test_loss, digits_split, sine_net_trainer, trainer};
use nn::data::{noisy_sine, Dataset};
use nn::{Activation, EarlyStopping, Error, Loss, Metric, Mlp, TrainConfig, Trainer};

/// A run of [`trainer`]'s network and data split with Adam at 2e-2 (fast
/// enough to overfit) and early stopping `es`.
fn early_stopping_run(
    epochs: usize,
    es: EarlyStopping,
) -> (nn::History, Trainer<f32>, Dataset<f32>) {
    let (train, test) = digits_split();
    let t = trainer(epochs, 2);
    let mut t = Trainer::new(
        t.mlp().clone(),
        optim::by_name::<f32>("adam", 2e-2).unwrap(),
        TrainConfig {
            early_stopping: Some(es),
            ..t.config().clone()
        },
    );
    let h = t.fit(&train, Some(&test), |_| {}).unwrap();
    (h, t, test)
}

#[test]
fn early_stopping_ends_the_run_and_restores_the_best_parameters() {
    let es = EarlyStopping {
        metric: Metric::TestLoss,
        patience: 3,
        min_delta: 0.0,
    };
    let (h, t, test) = early_stopping_run(200, es);
    assert!(h.stopped_early && h.epochs.len() < 200);
    let losses: Vec<f64> = h.epochs.iter().map(|r| r.test_loss.unwrap()).collect();
    let best = (0..losses.len()).fold(0, |b, i| if losses[i] < losses[b] { i } else { b });
    // It stops exactly `patience` epochs after the best one.
    assert_eq!(h.epochs.len(), best + 1 + es.patience, "{losses:?}");
    assert_test_loss(&t, &test, losses[best]);
    // The run ended on epochs worse than the best one, so restoring it
    // changed the parameters.
    let last = *losses.last().unwrap();
    assert!(
        last > losses[best],
        "last epoch {last}, best {}",
        losses[best]
    );
}

#[test]
fn a_run_that_ends_without_stopping_keeps_its_last_parameters() {
    let es = EarlyStopping {
        metric: Metric::TestLoss,
        patience: 3,
        min_delta: 0.0,
    };
    let (full, _, _) = early_stopping_run(200, es);
    assert!(full.stopped_early);
    // One epoch fewer: the same epochs, ending one short of the stop, on an
    // epoch worse than the best.
    let (h, t, test) = early_stopping_run(full.epochs.len() - 1, es);
    assert!(!h.stopped_early);
    let last = h.epochs.last().unwrap().test_loss.unwrap();
    let best = h
        .epochs
        .iter()
        .map(|r| r.test_loss.unwrap())
        .fold(f64::INFINITY, f64::min);
    assert!(last > best);
    assert_test_loss(&t, &test, last);
}

#[test]
fn early_stopping_min_delta_is_the_smallest_improvement_that_counts() {
    // No epoch can improve the test loss by 1e9: the first is the best, the
    // run stops `patience` epochs later and goes back to it.
    let es = EarlyStopping {
        metric: Metric::TestLoss,
        patience: 2,
        min_delta: 1e9,
    };
    let (h, t, test) = early_stopping_run(10, es);
    assert!(h.stopped_early);
    assert_eq!(h.epochs.len(), 1 + es.patience);
    let first = h.epochs[0].test_loss.unwrap();
    assert_test_loss(&t, &test, first);
}

#[test]
fn early_stopping_does_not_count_an_equal_value_as_an_improvement() {
    // A step of 1e-30 leaves every f64 parameter's effect on the loss
    // below rounding: the test loss is exactly level, which is no
    // improvement (strictly below best - min_delta is one): the run stops
    // `patience` epochs after the first.
    let data = noisy_sine::<f64>(16, 0.1, 1).unwrap();
    let mlp = Mlp::builder(&[1, 4, 1])
        .hidden(Activation::Tanh)
        .seed(1)
        .build()
        .unwrap();
    let es = EarlyStopping {
        metric: Metric::TestLoss,
        patience: 2,
        min_delta: 0.0,
    };
    let mut t = Trainer::new(
        mlp,
        optim::by_name::<f64>("sgd", 1e-30).unwrap(),
        TrainConfig {
            epochs: 10,
            batch_size: 16,
            loss: Loss::LeastSquares(Reduction::Mean),
            early_stopping: Some(es),
            ..Default::default()
        },
    );
    let h = t.fit(&data, Some(&data), |_| {}).unwrap();
    let losses: Vec<f64> = h.epochs.iter().map(|r| r.test_loss.unwrap()).collect();
    assert!(
        losses.iter().all(|&l| l == losses[0]),
        "the premise: a level loss, {losses:?}"
    );
    assert!(h.stopped_early);
    assert_eq!(h.epochs.len(), 1 + es.patience);
}

#[test]
fn early_stopping_on_accuracy_keeps_the_most_accurate_epoch() {
    let es = EarlyStopping {
        metric: Metric::TestAccuracy,
        patience: 2,
        min_delta: 0.0,
    };
    let (h, t, test) = early_stopping_run(30, es);
    let accuracies: Vec<f64> = h.epochs.iter().map(|r| r.test_accuracy.unwrap()).collect();
    // The first epoch of the highest accuracy (a later tie is no
    // improvement).
    let best =
        (0..accuracies.len()).fold(0, |b, i| if accuracies[i] > accuracies[b] { i } else { b });
    assert!(
        accuracies[best] > accuracies[0],
        "the premise: training improves the accuracy, {accuracies:?}"
    );
    assert!(h.stopped_early, "{accuracies:?}");
    assert_eq!(h.epochs.len(), best + 1 + es.patience, "{accuracies:?}");
    let (_, now) = nn::evaluate(t.mlp(), t.config().loss, &test).unwrap();
    assert_eq!(now, Some(accuracies[best]), "{accuracies:?}");
}

#[test]
fn early_stopping_refuses_a_negative_or_nan_min_delta() {
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    for min_delta in [f64::NAN, -1e-3, f64::INFINITY] {
        let mut t = sine_net_trainer(
            3,
            TrainConfig {
                early_stopping: Some(EarlyStopping {
                    metric: Metric::TestLoss,
                    patience: 2,
                    min_delta,
                }),
                ..Default::default()
            },
        );
        let e = t.fit(&data, Some(&data), |_| {}).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{min_delta}: {e}");
        assert_eq!(t.epoch(), 0);
    }
}

#[test]
fn early_stopping_with_nothing_to_watch_is_refused_not_silently_ignored() {
    let es = |metric| EarlyStopping {
        metric,
        patience: 2,
        min_delta: 0.0,
    };
    // No test set: nothing to watch.
    let (train, test) = digits_split();
    let mut t = trainer(3, 0);
    t.config_mut().early_stopping = Some(es(Metric::TestLoss));
    let e = t.fit(&train, None, |_| {}).unwrap_err();
    assert_eq!(
        e.to_string(),
        "early stopping watches the test loss, but fit was given no test set"
    );
    assert_eq!(t.epoch(), 0);
    // With one it trains.
    assert_eq!(t.fit(&train, Some(&test), |_| {}).unwrap().epochs.len(), 3);
    // The accuracy of a regression.
    let data = noisy_sine::<f64>(64, 0.1, 1).unwrap();
    let mut t = sine_net_trainer(
        2,
        TrainConfig {
            early_stopping: Some(es(Metric::TestAccuracy)),
            ..Default::default()
        },
    );
    let e = t.fit(&data, Some(&data), |_| {}).unwrap_err();
    assert_eq!(
        e.to_string(),
        "early stopping watches the test accuracy, but the data has real targets \
         (regression: watch the test loss)"
    );
}
