//! Dropout in training: reproducible runs, new masks at every step, the
//! evaluation without dropout, and the probability's range. (The op's
//! derivative rule is in matrix_ops.rs, `Mlp::forward_dropout` in
//! nn/tests/mlp.rs, resuming with dropout in training.rs.)

mod common;

use autodiff::Reduction;
use common::training::{bits, digits_split};
use nn::data::noisy_sine;
use nn::{Activation, Loss, Mlp, TrainConfig, Trainer};

#[test]
fn dropout_runs_are_reproducible_evaluate_without_dropout_and_refuse_p_outside_zero_one() {
    let (train, test) = digits_split();
    let mlp = Mlp::builder(&[64, 32, 10])
        .hidden(Activation::RELU)
        .seed(2)
        .build()
        .unwrap();
    let run = |dropout| {
        let adam = optim::by_name::<f32>("adam", 2e-3).unwrap();
        let config = TrainConfig {
            epochs: 3,
            dropout,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(mlp.clone(), adam, config);
        let h = t.fit(&train, Some(&test), |_| {}).unwrap();
        (t, h)
    };
    let (a, ha) = run(Some(0.3));
    let (b, _) = run(Some(0.3));
    let (plain, _) = run(None);
    let (zero, _) = run(Some(0.0));
    assert_eq!(
        bits(a.mlp().params()),
        bits(b.mlp().params()),
        "same seed, same masks"
    );
    assert_ne!(
        bits(a.mlp().params()),
        bits(plain.mlp().params()),
        "dropout acts"
    );
    assert_eq!(
        bits(zero.mlp().params()),
        bits(plain.mlp().params()),
        "p = 0 is no dropout"
    );
    // The reported figures are the evaluation mode's (no dropout).
    let last = ha.epochs.last().unwrap();
    let labels = test.labels().unwrap();
    let accuracy = a
        .mlp()
        .accuracy(test.features().as_slice(), labels)
        .unwrap();
    assert_eq!(last.test_accuracy, Some(accuracy));
    assert!(accuracy > 0.8, "still learns (chance is 0.1): {accuracy}");
    for p in [1.0, -0.1, f64::NAN] {
        let adam = optim::by_name::<f32>("adam", 2e-3).unwrap();
        let config = TrainConfig {
            dropout: Some(p),
            ..TrainConfig::default()
        };
        let e = Trainer::new(mlp.clone(), adam, config)
            .fit(&train, None, |_| {})
            .unwrap_err();
        assert!(
            matches!(
                e,
                nn::Error::Config {
                    what: "dropout",
                    ..
                }
            ),
            "{p}: {e}"
        );
    }
}

#[test]
fn a_trainer_draws_new_dropout_masks_at_every_step() {
    // One sample, one step per epoch: a hidden unit dropped in a step gets
    // no gradient, so its incoming weight is left exactly as it was. The
    // units left alone are those dropped, and they change from step to step.
    let data = noisy_sine::<f64>(1, 0.1, 1).unwrap();
    let mlp = Mlp::builder(&[1, 32, 1])
        .hidden(Activation::Tanh)
        .seed(1)
        .build()
        .unwrap();
    let sgd = optim::by_name::<f64>("gradient_descent", 0.1).unwrap();
    let mut t = Trainer::new(
        mlp,
        sgd,
        TrainConfig {
            batch_size: 1,
            loss: Loss::LeastSquares(Reduction::Mean),
            dropout: Some(0.5),
            ..Default::default()
        },
    );
    let w1 = t.mlp().slots()["layers.0.weight"].range();
    let mut before = t.mlp().params()[w1.clone()].to_vec();
    let mut dropped_each_step = Vec::new();
    for epochs in 1..=3 {
        t.config_mut().epochs = epochs;
        t.fit(&data, None, |_| {}).unwrap();
        let after = t.mlp().params()[w1.clone()].to_vec();
        let unchanged: Vec<usize> = (0..32).filter(|&j| before[j] == after[j]).collect();
        assert!(
            (4..=28).contains(&unchanged.len()),
            "step {epochs}: {} of 32 units dropped",
            unchanged.len()
        );
        dropped_each_step.push(unchanged);
        before = after;
    }
    assert!(
        dropped_each_step.windows(2).all(|w| w[0] != w[1]),
        "the same units dropped in consecutive steps: {dropped_each_step:?}"
    );
}
