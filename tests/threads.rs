//! Training gives bitwise the same parameters whatever the number of kernel
//! threads (its own test binary: the thread count is a process-wide
//! setting).

use autodiff::Matrix;
use nn::data::Dataset;
use nn::{Activation, Mlp, TrainConfig, Trainer};

/// A classification set wide enough that the kernels split their products
/// between threads: 512 samples of 256 features, 10 classes.
fn data() -> Dataset<f32> {
    let (n, d) = (512, 256);
    let x: Vec<f32> = (0..n * d)
        .map(|k| ((k as f32) * 0.377).sin() + ((k / d) % 10) as f32 * 0.1)
        .collect();
    let labels = (0..n).map(|i| i % 10).collect();
    Dataset::classification(Matrix::new(n, d, x).unwrap(), labels, 10).unwrap()
}

fn train(threads: usize, data: &Dataset<f32>) -> Vec<u32> {
    autodiff::set_num_threads(threads);
    assert_eq!(autodiff::num_threads(), threads);
    let mlp = Mlp::builder(&[256, 384, 256, 10])
        .hidden(Activation::RELU)
        .seed(5)
        .build()
        .unwrap();
    let sgd = optim::by_name::<f32>("sgd", 1e-2).unwrap();
    let mut t = Trainer::new(
        mlp,
        sgd,
        TrainConfig {
            epochs: 2,
            batch_size: 128,
            seed: 5,
            ..Default::default()
        },
    );
    t.fit(data, None, |_| {}).unwrap();
    t.mlp().params().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn training_is_bitwise_identical_for_1_2_and_3_threads() {
    let data = data();
    let one = train(1, &data);
    let initial: Vec<u32> = Mlp::<f32>::builder(&[256, 384, 256, 10])
        .hidden(Activation::RELU)
        .seed(5)
        .build()
        .unwrap()
        .params()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    assert_ne!(one, initial, "training changed nothing");
    for threads in [2, 3] {
        assert!(
            train(threads, &data) == one,
            "parameters after training with {threads} threads differ from 1 thread"
        );
    }
}
