//! Gradient norm clipping in the trainer (`TrainConfig::clip_grad_norm`):
//! the step it takes, the norm it reports, and its checks.

use autodiff::{Reduction, Shape, Tape};
use nn::data::BatchOrder;
use nn::data::{noisy_sine, Dataset};
use nn::{Activation, Error, Loss, Mlp, TrainConfig, Trainer};

fn mlp() -> Mlp<f64> {
    Mlp::builder(&[1, 8, 1])
        .hidden(Activation::Tanh)
        .seed(3)
        .build()
        .unwrap()
}

/// One full-batch epoch (one step) of plain gradient descent at `lr` on
/// least squares, with `clip`.
fn one_step(data: &Dataset<f64>, lr: f64, clip: Option<f64>) -> Trainer<f64> {
    let gd = optim::by_name::<f64>("gradient_descent", lr).unwrap();
    let mut t = Trainer::new(
        mlp(),
        gd,
        TrainConfig {
            epochs: 1,
            batch_size: data.len(),
            loss: Loss::LeastSquares(Reduction::Mean),
            clip_grad_norm: clip,
            ..Default::default()
        },
    );
    t.fit(data, None, |_| {}).unwrap();
    t
}

/// The loss gradient at the initial parameters, recorded by hand.
fn full_gradient(data: &Dataset<f64>) -> Vec<f64> {
    let net = mlp();
    let tape = Tape::new();
    let x = tape
        .mat_const(Shape::new(data.len(), 1), data.features().as_slice())
        .unwrap();
    let out = net.forward(&tape, x).unwrap();
    let y = data.values().unwrap().as_slice();
    let loss = out.output.least_squares(y, Reduction::Mean);
    out.gradient(&tape.backward(loss)).to_vec()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn a_clipped_step_moves_the_parameters_by_the_rate_times_the_bound() {
    let data = noisy_sine::<f64>(64, 0.0, 5).unwrap();
    let g = full_gradient(&data);
    let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let (lr, bound) = (0.1, 0.25 * norm);
    let start = mlp().params().to_vec();
    let clipped = one_step(&data, lr, Some(bound));
    let moved = distance(clipped.mlp().params(), &start);
    assert!(
        (moved - lr * bound).abs() < 1e-12,
        "{moved} vs {}",
        lr * bound
    );
    // Along the gradient: W - lr (bound / |g|) g.
    for ((w, w0), gi) in clipped.mlp().params().iter().zip(&start).zip(&g) {
        assert!((w - (w0 - lr * bound / norm * gi)).abs() < 1e-14);
    }
    // The report gives the norm before clipping.
    let report = &clipped.history().epochs[0];
    let reported = report.grad_norm.unwrap();
    assert!(
        (reported - norm).abs() < 1e-12 * norm,
        "{reported} vs {norm}"
    );
    // Without clipping the step is the full one, and no norm is reported.
    let free = one_step(&data, lr, None);
    assert!((distance(free.mlp().params(), &start) - lr * norm).abs() < 1e-12);
    assert_eq!(free.history().epochs[0].grad_norm, None);
}

#[test]
fn a_bound_above_every_gradient_trains_bitwise_as_without_clipping() {
    let data = noisy_sine::<f64>(64, 0.1, 2).unwrap();
    let run = |clip| {
        let adam = optim::by_name::<f64>("adam", 1e-2).unwrap();
        let mut t = Trainer::new(
            mlp(),
            adam,
            TrainConfig {
                epochs: 5,
                batch_size: 16,
                loss: Loss::LeastSquares(Reduction::Mean),
                clip_grad_norm: clip,
                ..Default::default()
            },
        );
        let h = t.fit(&data, None, |_| {}).unwrap();
        (t.mlp().params().to_vec(), h)
    };
    let (free, _) = run(None);
    let (loose, h) = run(Some(1e6));
    assert_eq!(
        free.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        loose.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert!(h
        .epochs
        .iter()
        .all(|r| r.grad_norm.is_some_and(|n| n > 0.0 && n < 1e6)));
    // A tight bound changes the run.
    let (tight, _) = run(Some(1e-3));
    assert_ne!(free, tight);
}

#[test]
fn the_reported_norm_is_the_mean_over_the_epochs_steps() {
    // Two batches in the data's order, at a rate too small to move the
    // parameters: the steps' norms are those of each half's gradient at
    // the initial parameters.
    let data = noisy_sine::<f64>(64, 0.0, 5).unwrap();
    let gd = optim::by_name::<f64>("gradient_descent", 1e-300).unwrap();
    let mut t = Trainer::new(
        mlp(),
        gd,
        TrainConfig {
            epochs: 1,
            batch_size: 32,
            order: BatchOrder::Cyclic,
            loss: Loss::LeastSquares(Reduction::Mean),
            clip_grad_norm: Some(1e6),
            ..Default::default()
        },
    );
    t.fit(&data, None, |_| {}).unwrap();
    let norm = |idx: Vec<usize>| {
        let g = full_gradient(&data.select(&idx));
        g.iter().map(|v| v * v).sum::<f64>().sqrt()
    };
    let (a, b) = (norm((0..32).collect()), norm((32..64).collect()));
    assert!(
        (a - b).abs() > 1e-3 * a,
        "the halves should differ: {a} {b}"
    );
    let reported = t.history().epochs[0].grad_norm.unwrap();
    let mean = (a + b) / 2.0;
    assert!(
        (reported - mean).abs() < 1e-12 * mean,
        "{reported} vs {mean}"
    );
}

#[test]
fn a_bound_that_is_not_finite_and_positive_is_a_config_error_before_training() {
    let data = noisy_sine::<f64>(16, 0.0, 1).unwrap();
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let gd = optim::by_name::<f64>("gradient_descent", 0.1).unwrap();
        let mut t = Trainer::new(
            mlp(),
            gd,
            TrainConfig {
                clip_grad_norm: Some(bad),
                loss: Loss::LeastSquares(Reduction::Mean),
                ..Default::default()
            },
        );
        let before = t.mlp().params().to_vec();
        let e = t.fit(&data, None, |_| {}).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Config {
                    what: "clip_grad_norm",
                    ..
                }
            ),
            "{bad}: {e}"
        );
        assert_eq!(t.mlp().params(), &before[..]);
        assert_eq!(t.epoch(), 0);
    }
}
