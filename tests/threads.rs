//! Training gives bitwise the same parameters whatever the number of kernel
//! threads (its own test binary: the thread count is a process-wide
//! setting).

use autodiff::Matrix;
use nn::data::Dataset;
use nn::{Activation, Mlp, TrainConfig, Trainer};
use std::sync::Mutex;

/// The thread count is process-wide: the tests of this file take turns.
static TURN: Mutex<()> = Mutex::new(());

/// A classification set wide enough that the kernels split their products
/// between threads, and batches of 256 rows long enough that the
/// elementwise passes (activations, bias rows and sums) are split too: 512
/// samples of 256 features, 10 classes.
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
        .hidden_each(&[Activation::RELU, Activation::Tanh])
        .seed(5)
        .build()
        .unwrap();
    let sgd = optim::by_name::<f32>("sgd", 1e-2).unwrap();
    let mut t = Trainer::new(
        mlp,
        sgd,
        TrainConfig {
            epochs: 2,
            batch_size: 256,
            seed: 5,
            ..Default::default()
        },
    );
    t.fit(data, None, |_| {}).unwrap();
    t.mlp().params().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn training_is_bitwise_identical_for_1_2_and_3_threads() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let data = data();
    let one = train(1, &data);
    let initial: Vec<u32> = Mlp::<f32>::builder(&[256, 384, 256, 10])
        .hidden_each(&[Activation::RELU, Activation::Tanh])
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

/// Every matrix op whose pass is split between threads, on a tape: the
/// value and every gradient, bitwise, at 1, 2 and 3 threads.
fn tape_ops(threads: usize) -> Vec<u64> {
    use autodiff::{Reduction, Shape, Tape};
    autodiff::set_num_threads(threads);
    let (n, i, o) = (300, 257, 333); // 99,900 outputs: three parts of work
    let vals = |len: usize, salt: f64| -> Vec<f64> {
        (0..len).map(|k| (k as f64 * 0.618 + salt).sin()).collect()
    };
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(n, i), &vals(n * i, 0.1)).unwrap();
    let w = tape.mat(Shape::new(o, i), &vals(o * i, 0.2)).unwrap();
    let b = tape.mat(Shape::new(1, o), &vals(o, 0.3)).unwrap();
    let c = tape.mat_const(Shape::new(n, o), &vals(n * o, 0.4)).unwrap();
    let z = x.affine(w, Some(b));
    let h = z.relu() + z.tanh() * c - z.sigmoid().scale(0.5);
    // Split products, and a square matrix times itself (two products
    // into one gradient).
    let v = tape.mat(Shape::new(i, 120), &vals(i * 120, 0.6)).unwrap();
    let s = tape
        .mat(Shape::new(200, 200), &vals(200 * 200, 0.7))
        .unwrap();
    let products = x.matmul(v).tanh().sum() + s.matmul(s).scale(1e-3).tanh().sum();
    // Dropout draws entry k's mask from k: split, each part must draw
    // from its own entries (forward, and backward into both the first and
    // a later write of h's gradient).
    let early = h.dropout(0.3, 9).sum();
    let loss = h.least_squares(&vals(n * o, 0.5), Reduction::Mean) + h.sum() + products;
    let loss = early + loss + h.dropout(0.6, 10).scale(0.5).sum();
    let g = tape.backward(loss);
    let mut bits = vec![loss.value().to_bits()];
    for m in [x, w, b, v, s] {
        bits.extend(g[m].iter().map(|v| v.to_bits()));
    }
    bits
}

#[test]
fn elementwise_passes_split_over_threads_give_bitwise_the_same_gradients() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let one = tape_ops(1);
    for threads in [2, 3] {
        assert!(
            tape_ops(threads) == one,
            "tape gradients with {threads} threads differ from 1 thread"
        );
    }
}
