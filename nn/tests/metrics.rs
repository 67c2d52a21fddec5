//! The metrics of a network on a data set agree with the trainer's own
//! figures: the confusion matrix's accuracy with `Mlp::accuracy`, the mean
//! squared error with the least-squares loss.

use autodiff::Reduction;
use nn::data::{noisy_sine, two_spirals};
use nn::metrics::{ConfusionMatrix, RegressionScores};
use nn::{evaluate, Activation, Loss, Mlp};

#[test]
fn the_confusion_matrix_of_a_network_has_its_accuracy_and_one_row_per_output() {
    let data = two_spirals::<f64>(40, 0.05, 3).unwrap();
    let mlp = Mlp::<f64>::builder(&[2, 8, 3])
        .hidden(Activation::Tanh)
        .seed(5)
        .build()
        .unwrap();
    let cm = ConfusionMatrix::of(&mlp, &data).unwrap();
    // Three outputs, so three classes, although the data has two.
    assert_eq!((cm.classes(), cm.total()), (3, 80));
    assert_eq!((cm.support(0), cm.support(1), cm.support(2)), (40, 40, 0));
    let labels = data.labels().unwrap();
    let accuracy = mlp.accuracy(data.features().as_slice(), labels).unwrap();
    assert_eq!(cm.accuracy(), Some(accuracy));
    // Regression scores of a classification set are refused.
    assert!(RegressionScores::of(&mlp, &data).is_err());
}

#[test]
fn the_mean_squared_error_is_twice_the_mean_least_squares_loss_per_output() {
    let data = noisy_sine::<f64>(50, 0.1, 2).unwrap();
    let mlp = Mlp::<f64>::builder(&[1, 8, 1])
        .hidden(Activation::Tanh)
        .seed(4)
        .build()
        .unwrap();
    let scores = RegressionScores::of(&mlp, &data).unwrap();
    let (loss, _) = evaluate(&mlp, Loss::LeastSquares(Reduction::Mean), &data).unwrap();
    assert!(
        (scores.mse - 2.0 * loss).abs() <= 1e-12 * loss,
        "{scores:?} {loss}"
    );
    assert!(scores.mae > 0.0 && scores.mae * scores.mae <= scores.mse * (1.0 + 1e-12));
    assert!(scores.r2.unwrap() < 1.0);
    assert!(ConfusionMatrix::of(&mlp, &data).is_err());
}
