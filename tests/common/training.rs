//! Training fixtures: the digits split, parameters as bits, and the small
//! trainers the training tests share.

use autodiff::Reduction;
use nn::data::{digits, noisy_sine, Dataset, Standardizer};
use nn::{Activation, Loss, Mlp, TrainConfig, Trainer};

/// The digits, split 80/20 with seed 7 and standardised on the training
/// part.
pub fn digits_split() -> (Dataset<f32>, Dataset<f32>) {
    let (train, test) = digits::<f32>().unwrap().split(0.2, 7).unwrap();
    let s = Standardizer::fit_dataset(&train).unwrap();
    (
        s.transform_dataset(train).unwrap(),
        s.transform_dataset(test).unwrap(),
    )
}

/// The parameters' bits, for bitwise comparisons.
pub fn bits(p: &[f32]) -> Vec<u32> {
    p.iter().map(|v| v.to_bits()).collect()
}

pub fn trainer(epochs: usize, seed: u64) -> Trainer<f32> {
    let mlp = Mlp::builder(&[64, 64, 10])
        .hidden(Activation::RELU)
        .seed(seed)
        .build()
        .unwrap();
    let adam = optim::by_name::<f32>("adam", 2e-3).unwrap();
    Trainer::new(
        mlp,
        adam,
        TrainConfig {
            epochs,
            batch_size: 32,
            seed,
            ..Default::default()
        },
    )
}

/// A 1-4-1 tanh network on 16 noisy sine samples, one batch per epoch,
/// least squares, trained by `optimizer` at `lr`: the data, the initial
/// network and the trainer.
pub fn sine_trainer(
    optimizer: &str,
    lr: f64,
    epochs: usize,
    reduction: Reduction,
) -> (Dataset<f32>, Mlp<f32>, Trainer<f32>) {
    let data = noisy_sine::<f32>(16, 0.1, 1).unwrap();
    let mlp = Mlp::builder(&[1, 4, 1])
        .hidden(Activation::Tanh)
        .seed(1)
        .build()
        .unwrap();
    let opt = optim::by_name::<f32>(optimizer, lr).unwrap();
    let t = Trainer::new(
        mlp.clone(),
        opt,
        TrainConfig {
            epochs,
            batch_size: 16,
            loss: Loss::LeastSquares(reduction),
            ..Default::default()
        },
    );
    (data, mlp, t)
}

/// Asserts that the network `t` holds has test loss `want` (to 1e-6).
#[track_caller]
pub fn assert_test_loss(t: &Trainer<f32>, test: &Dataset<f32>, want: f64) {
    let (now, _) = nn::evaluate(t.mlp(), t.config().loss, test).unwrap();
    assert!(
        (now - want).abs() <= 1e-6 * want.max(1.0),
        "the network's test loss is {now}, expected {want}"
    );
}

/// A 1-8-1 tanh network trained by Adam at 1e-2 on least squares, in
/// batches of 16, for `epochs`, with the rest of `config`.
pub fn sine_net_trainer(epochs: usize, config: TrainConfig) -> Trainer<f64> {
    sine_net_trainer_with("adam", 1e-2, epochs, config)
}

/// [`sine_net_trainer`] with `optimizer` at `lr`.
pub fn sine_net_trainer_with(
    optimizer: &str,
    lr: f64,
    epochs: usize,
    config: TrainConfig,
) -> Trainer<f64> {
    let mlp = Mlp::builder(&[1, 8, 1])
        .hidden(Activation::Tanh)
        .seed(1)
        .build()
        .unwrap();
    let opt = optim::by_name::<f64>(optimizer, lr).unwrap();
    Trainer::new(
        mlp,
        opt,
        TrainConfig {
            epochs,
            batch_size: 16,
            loss: Loss::LeastSquares(Reduction::Mean),
            ..config
        },
    )
}
