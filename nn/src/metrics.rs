//! Metrics beyond the loss and the accuracy. Classification: the
//! confusion matrix and, from it, each class's precision, recall and F1
//! score, as scikit-learn's `confusion_matrix` and `classification_report`
//! give them. Regression: mean squared and absolute errors and the
//! coefficient of determination R^2.

use crate::data::Dataset;
use crate::train::Scalar;
use crate::{Error, Mlp, Result};
use autodiff::{Float, Matrix};
use std::fmt;

/// Counts of (true class, predicted class) pairs: row `i`, column `j` holds
/// the samples of class `i` predicted as `j` (scikit-learn's and
/// PyTorch-Ignite's convention). The diagonal holds the correct ones.
///
/// A ratio with a zero denominator is `None` (not 0, and not NaN): the
/// precision of a class never predicted, the recall of a class with no
/// sample, the accuracy of an empty matrix. The macro averages follow
/// scikit-learn (see [`macro_precision`](Self::macro_precision)).
///
/// `{}` prints the matrix and a per-class report:
///
/// ```
/// use nn::metrics::ConfusionMatrix;
/// let truth = [0, 0, 1, 1, 2, 2];
/// let predicted = [0, 1, 1, 1, 2, 0];
/// let cm = ConfusionMatrix::from_labels(3, &truth, &predicted)?;
/// assert_eq!(cm.count(0, 1), 1); // one sample of class 0 taken for a 1
/// assert_eq!(cm.accuracy(), Some(4.0 / 6.0));
/// assert_eq!(cm.precision(1), Some(2.0 / 3.0));
/// assert_eq!(cm.recall(2), Some(0.5));
/// println!("{cm}");
/// # Ok::<(), nn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    /// Row-major, `classes x classes`.
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix for `classes` classes.
    ///
    /// # Panics
    /// If `classes * classes` overflows `usize` (no memory holds that
    /// many counts).
    pub fn new(classes: usize) -> Self {
        let Some(cells) = classes.checked_mul(classes) else {
            panic!("ConfusionMatrix::new({classes}): {classes} x {classes} counts overflow usize");
        };
        ConfusionMatrix {
            classes,
            counts: vec![0; cells],
        }
    }

    /// The matrix of `truth[k]` against `predicted[k]`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless both have the same length;
    /// [`Error::Targets`] for a label `>= classes`, naming it and its
    /// position, or for a number of classes whose `classes * classes`
    /// counts overflow `usize`. On error nothing is counted.
    pub fn from_labels(classes: usize, truth: &[usize], predicted: &[usize]) -> Result<Self> {
        if classes.checked_mul(classes).is_none() {
            return Err(Error::Targets(format!(
                "{classes} classes: a matrix of {classes} x {classes} counts overflows usize"
            )));
        }
        if truth.len() != predicted.len() {
            return Err(Error::LengthMismatch {
                what: "predicted labels (one per true label)",
                expected: truth.len(),
                got: predicted.len(),
            });
        }
        for (name, labels) in [("true", truth), ("predicted", predicted)] {
            if let Some((k, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
                return Err(Error::Targets(format!(
                    "{name} label {l} at position {k} is out of range for {classes} classes \
                     (expected 0..{classes})"
                )));
            }
        }
        let mut cm = ConfusionMatrix::new(classes);
        for (&t, &p) in truth.iter().zip(predicted) {
            cm.counts[t * classes + p] += 1;
        }
        Ok(cm)
    }

    /// The matrix of `mlp`'s predictions ([`Mlp::classify`]) on a
    /// classification data set, with as many classes as the network has
    /// outputs.
    ///
    /// # Errors
    /// [`Error::Targets`] for a regression data set or a label the network
    /// has no output for; [`Error::EmptyData`] for no sample; the errors of
    /// [`Mlp::classify`] (input width; [`Error::NonFiniteOutput`] for a
    /// sample whose outputs hold a NaN).
    pub fn of<T: Scalar>(mlp: &Mlp<T>, data: &Dataset<T>) -> Result<Self> {
        let Some(labels) = data.labels() else {
            return Err(Error::Targets(
                "a confusion matrix needs class labels, the data set has real target vectors"
                    .into(),
            ));
        };
        if data.is_empty() {
            return Err(Error::EmptyData { what: "evaluation" });
        }
        let classes = *mlp.widths().last().expect("a network has layers");
        let predicted = mlp.classify(data.features().as_slice())?;
        Self::from_labels(classes, labels, &predicted)
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The samples of class `truth` predicted as `predicted`.
    ///
    /// # Panics
    /// If either is `>= classes()`.
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        assert!(
            truth < self.classes && predicted < self.classes,
            "ConfusionMatrix::count({truth}, {predicted}) for {} classes",
            self.classes
        );
        self.counts[truth * self.classes + predicted]
    }

    /// The row of class `truth`: its samples by predicted class.
    ///
    /// # Panics
    /// If `truth >= classes()`.
    pub fn row(&self, truth: usize) -> &[u64] {
        assert!(
            truth < self.classes,
            "ConfusionMatrix::row({truth}) for {} classes",
            self.classes
        );
        &self.counts[truth * self.classes..(truth + 1) * self.classes]
    }

    /// All samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The samples of class `class` (its row's sum; scikit-learn's
    /// "support").
    ///
    /// # Panics
    /// If `class >= classes()` (so for the scores below).
    pub fn support(&self, class: usize) -> u64 {
        self.row(class).iter().sum()
    }

    /// The samples predicted as `class` (its column's sum).
    ///
    /// # Panics
    /// If `class >= classes()`.
    pub fn predicted(&self, class: usize) -> u64 {
        (0..self.classes).map(|t| self.count(t, class)).sum()
    }

    /// The fraction of samples on the diagonal; `None` when empty.
    pub fn accuracy(&self) -> Option<f64> {
        let correct: u64 = (0..self.classes).map(|c| self.count(c, c)).sum();
        ratio(correct, self.total())
    }

    /// Of the samples predicted as `class`, the fraction that are;
    /// `None` when none is predicted as `class`.
    ///
    /// # Panics
    /// If `class >= classes()`.
    pub fn precision(&self, class: usize) -> Option<f64> {
        ratio(self.count(class, class), self.predicted(class))
    }

    /// Of the samples of `class`, the fraction predicted as it; `None`
    /// when it has none.
    ///
    /// # Panics
    /// If `class >= classes()`.
    pub fn recall(&self, class: usize) -> Option<f64> {
        ratio(self.count(class, class), self.support(class))
    }

    /// The harmonic mean of [`precision`](Self::precision) and
    /// [`recall`](Self::recall), `2 tp / (2 tp + fp + fn)`; `None` when the
    /// class is neither present nor predicted.
    ///
    /// # Panics
    /// If `class >= classes()`.
    pub fn f1(&self, class: usize) -> Option<f64> {
        let tp = self.count(class, class);
        ratio(2 * tp, self.support(class) + self.predicted(class))
    }

    /// The mean of [`precision`](Self::precision) over the classes that
    /// occur (as a true or a predicted class), an undefined one counting 0:
    /// scikit-learn's `average="macro"` with `zero_division=0`. `None` when
    /// empty.
    pub fn macro_precision(&self) -> Option<f64> {
        self.macro_average(Self::precision)
    }

    /// The mean of [`recall`](Self::recall) as
    /// [`macro_precision`](Self::macro_precision) takes it.
    pub fn macro_recall(&self) -> Option<f64> {
        self.macro_average(Self::recall)
    }

    /// The mean of [`f1`](Self::f1) as
    /// [`macro_precision`](Self::macro_precision) takes it.
    pub fn macro_f1(&self) -> Option<f64> {
        self.macro_average(Self::f1)
    }

    /// The mean of [`precision`](Self::precision) weighted by each class's
    /// [`support`](Self::support), an undefined one counting 0:
    /// scikit-learn's `average="weighted"` with `zero_division=0`. `None`
    /// when empty.
    pub fn weighted_precision(&self) -> Option<f64> {
        self.weighted_average(Self::precision)
    }

    /// The mean of [`recall`](Self::recall) as
    /// [`weighted_precision`](Self::weighted_precision) takes it (the
    /// accuracy, up to rounding).
    pub fn weighted_recall(&self) -> Option<f64> {
        self.weighted_average(Self::recall)
    }

    /// The mean of [`f1`](Self::f1) as
    /// [`weighted_precision`](Self::weighted_precision) takes it.
    pub fn weighted_f1(&self) -> Option<f64> {
        self.weighted_average(Self::f1)
    }

    /// The mean of [`recall`](Self::recall) over the classes that have
    /// samples (scikit-learn's `balanced_accuracy_score`); `None` when
    /// empty.
    pub fn balanced_accuracy(&self) -> Option<f64> {
        mean((0..self.classes).filter_map(|c| self.recall(c)))
    }

    fn weighted_average(&self, score: fn(&Self, usize) -> Option<f64>) -> Option<f64> {
        let sum: f64 = (0..self.classes)
            .map(|c| self.support(c) as f64 * score(self, c).unwrap_or(0.0))
            .sum();
        (self.total() > 0).then(|| sum / self.total() as f64)
    }

    fn macro_average(&self, score: fn(&Self, usize) -> Option<f64>) -> Option<f64> {
        let occurring = (0..self.classes).filter(|&c| self.support(c) + self.predicted(c) > 0);
        mean(occurring.map(|c| score(self, c).unwrap_or(0.0)))
    }
}

/// Column `j` of the row-major `values` of `cols` columns, in `f64`.
fn column_f64<T: Float>(values: &[T], cols: usize, j: usize) -> impl Iterator<Item = f64> + '_ {
    values.iter().skip(j).step_by(cols).map(|v| v.to_f64())
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// The matrix (rows: true class, columns: predicted), then one line per
/// class with its precision, recall, F1 and support, and the accuracy, the
/// macro and the weighted averages (scikit-learn's `classification_report`);
/// `-` where a score is undefined.
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .counts
            .iter()
            .map(|c| c.to_string().len())
            .chain([self.classes.saturating_sub(1).to_string().len()])
            .max()
            .unwrap_or(1)
            .max(3);
        let label = "weighted avg".len();
        write!(f, "{:>label$}", "true\\pred")?;
        for c in 0..self.classes {
            write!(f, " {c:>width$}")?;
        }
        writeln!(f)?;
        for t in 0..self.classes {
            write!(f, "{t:>label$}")?;
            for c in self.row(t) {
                write!(f, " {c:>width$}")?;
            }
            writeln!(f)?;
        }
        let score = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
        writeln!(
            f,
            "\n{:>label$} {:>9} {:>9} {:>9} {:>9}",
            "class", "precision", "recall", "f1", "support"
        )?;
        for c in 0..self.classes {
            writeln!(
                f,
                "{c:>label$} {:>9} {:>9} {:>9} {:>9}",
                score(self.precision(c)),
                score(self.recall(c)),
                score(self.f1(c)),
                self.support(c)
            )?;
        }
        writeln!(
            f,
            "{:>label$} {:>9} {:>9} {:>9} {:>9}",
            "accuracy",
            "",
            "",
            score(self.accuracy()),
            self.total()
        )?;
        writeln!(
            f,
            "{:>label$} {:>9} {:>9} {:>9} {:>9}",
            "macro avg",
            score(self.macro_precision()),
            score(self.macro_recall()),
            score(self.macro_f1()),
            self.total()
        )?;
        write!(
            f,
            "{:>label$} {:>9} {:>9} {:>9} {:>9}",
            "weighted avg",
            score(self.weighted_precision()),
            score(self.weighted_recall()),
            score(self.weighted_f1()),
            self.total()
        )
    }
}

/// Regression scores of predictions against target values, over every
/// sample and output (computed in `f64`):
///
/// - `mse`: the mean of `(p - y)^2` (twice the least-squares loss of
///   (5.1) with mean reduction, per output);
/// - `mae`: the mean of `|p - y|`;
/// - `r2`: per output `1 - sum (p - y)^2 / sum (y - mean y)^2`, averaged
///   over the outputs (scikit-learn's `r2_score` with its default
///   `"uniform_average"`). An output whose targets are all equal has no R^2
///   (scikit-learn substitutes 1 or 0); `r2` is the mean over the others,
///   `None` when no output has one.
///
/// A NaN prediction or target gives NaN scores (`r2` too), not an error.
///
/// ```
/// use autodiff::Matrix;
/// use nn::metrics::RegressionScores;
/// let y = Matrix::new(3, 1, vec![1.0, 2.0, 3.0])?;
/// let p = Matrix::new(3, 1, vec![1.0, 2.0, 4.0])?;
/// let s = RegressionScores::from_values(&y, &p)?;
/// assert_eq!((s.mse, s.mae), (1.0 / 3.0, 1.0 / 3.0));
/// assert_eq!(s.r2, Some(0.5)); // 1 - 1 / 2
/// # Ok::<(), nn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegressionScores {
    /// Mean squared error.
    pub mse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination, averaged over the outputs that have
    /// one.
    pub r2: Option<f64>,
}

impl RegressionScores {
    /// The scores of `predicted` against `targets` (rows: samples,
    /// columns: outputs).
    ///
    /// # Errors
    /// [`Error::Targets`] unless both have the same shape;
    /// [`Error::EmptyData`] for no sample.
    pub fn from_values<T: Float>(targets: &Matrix<T>, predicted: &Matrix<T>) -> Result<Self> {
        if targets.shape() != predicted.shape() {
            return Err(Error::Targets(format!(
                "predictions of shape {} for targets of shape {}",
                predicted.shape(),
                targets.shape()
            )));
        }
        let (rows, cols) = (targets.rows(), targets.cols());
        if rows == 0 || cols == 0 {
            return Err(Error::EmptyData { what: "evaluation" });
        }
        let (y, p) = (targets.as_slice(), predicted.as_slice());
        let pairs = || y.iter().zip(p).map(|(y, p)| (y.to_f64(), p.to_f64()));
        let n = (rows * cols) as f64;
        let mse = pairs().map(|(y, p)| (p - y) * (p - y)).sum::<f64>() / n;
        let mae = pairs().map(|(y, p)| (p - y).abs()).sum::<f64>() / n;
        let r2 = (0..cols).filter_map(|j| {
            let column = |v| column_f64(v, cols, j);
            let mean = column(y).sum::<f64>() / rows as f64;
            let total: f64 = column(y).map(|y| (y - mean) * (y - mean)).sum();
            let residual: f64 = column(y)
                .zip(column(p))
                .map(|(y, p)| (p - y) * (p - y))
                .sum();
            // Only constant targets (total exactly 0) have no R^2; a NaN
            // total (a NaN target) gives a NaN, not a skipped output.
            (total != 0.0).then(|| 1.0 - residual / total)
        });
        Ok(RegressionScores {
            mse,
            mae,
            r2: mean(r2),
        })
    }

    /// The scores of `mlp`'s predictions on a regression data set.
    ///
    /// # Errors
    /// [`Error::Targets`] for a classification data set or a network of
    /// another output width; [`Error::EmptyData`] for no sample; the errors
    /// of [`Mlp::predict`] (input width).
    pub fn of<T: Scalar>(mlp: &Mlp<T>, data: &Dataset<T>) -> Result<Self> {
        let Some(values) = data.values() else {
            return Err(Error::Targets(
                "regression scores need real target vectors, the data set has class labels".into(),
            ));
        };
        if data.is_empty() {
            return Err(Error::EmptyData { what: "evaluation" });
        }
        Self::from_values(values, &mlp.predict(data.features().as_slice())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rows_are_true_classes_and_columns_predictions() {
        let cm = ConfusionMatrix::from_labels(3, &[0, 0, 1, 2, 2, 2], &[0, 2, 1, 2, 2, 1]).unwrap();
        assert_eq!(cm.row(0), &[1, 0, 1]);
        assert_eq!(cm.row(1), &[0, 1, 0]);
        assert_eq!(cm.row(2), &[0, 1, 2]);
        assert_eq!((cm.total(), cm.support(2), cm.predicted(1)), (6, 3, 2));
    }

    #[test]
    fn scores_follow_their_definitions_and_undefined_ones_are_none() {
        // Class 2 has no sample and is never predicted; class 1 is never
        // predicted.
        let cm = ConfusionMatrix::from_labels(3, &[0, 0, 0, 1], &[0, 0, 1, 0]).unwrap();
        assert_eq!(cm.precision(0), Some(2.0 / 3.0));
        assert_eq!(cm.recall(0), Some(2.0 / 3.0));
        assert_eq!(cm.f1(0), Some(2.0 / 3.0));
        assert_eq!(cm.precision(1), Some(0.0)); // predicted once, wrongly
        assert_eq!(cm.recall(1), Some(0.0));
        assert_eq!(cm.f1(1), Some(0.0));
        assert_eq!(
            (cm.precision(2), cm.recall(2), cm.f1(2)),
            (None, None, None)
        );
        assert_eq!(cm.accuracy(), Some(0.5));
        assert_eq!(ConfusionMatrix::new(2).accuracy(), None);
        assert_eq!(ConfusionMatrix::new(2).macro_f1(), None);
    }

    #[test]
    fn weighted_averages_are_scikit_learns() {
        // scikit-learn 1.9.1: precision_recall_fscore_support(t, p,
        // average="weighted", zero_division=0).
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-15;
        let cm = ConfusionMatrix::from_labels(3, &[0, 0, 0, 1], &[0, 0, 1, 0]).unwrap();
        for v in [
            cm.weighted_precision(),
            cm.weighted_recall(),
            cm.weighted_f1(),
        ] {
            assert!(close(v, 0.5), "{v:?}");
        }
        let cm = ConfusionMatrix::from_labels(5, &[0, 0, 1, 3, 3], &[0, 2, 1, 3, 0]).unwrap();
        assert!(close(cm.weighted_precision(), 0.8));
        assert!(close(cm.weighted_recall(), 0.6));
        assert!(close(cm.weighted_f1(), 0.6666666666666666));
        assert_eq!(ConfusionMatrix::new(2).weighted_f1(), None);
        assert!(
            cm.to_string()
                .ends_with("weighted avg     0.800     0.600     0.667         5"),
            "{cm}"
        );
    }

    #[test]
    fn macro_averages_and_balanced_accuracy_are_scikit_learns() {
        // scikit-learn 1.9: precision_recall_fscore_support(t, p,
        // average="macro", zero_division=0) and balanced_accuracy_score(t, p).
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-15;
        let cm = ConfusionMatrix::from_labels(3, &[0, 0, 0, 1], &[0, 0, 1, 0]).unwrap();
        for v in [cm.macro_precision(), cm.macro_recall(), cm.macro_f1()] {
            assert!(close(v, 1.0 / 3.0), "{v:?}");
        }
        assert!(close(cm.balanced_accuracy(), 1.0 / 3.0));
        // Class 2 predicted but absent (recall undefined, counted 0 in the
        // macro recall, left out of the balanced accuracy); class 4 neither.
        let cm = ConfusionMatrix::from_labels(5, &[0, 0, 1, 3, 3], &[0, 2, 1, 3, 0]).unwrap();
        assert!(close(cm.macro_precision(), 0.625));
        assert!(close(cm.macro_recall(), 0.5));
        assert!(close(cm.macro_f1(), 0.5416666666666666));
        assert!(close(cm.balanced_accuracy(), 0.6666666666666666));
    }

    #[test]
    fn f1_is_the_harmonic_mean_of_precision_and_recall() {
        let cm = ConfusionMatrix::from_labels(2, &[0, 0, 0, 1, 1], &[0, 1, 1, 0, 1]).unwrap();
        let (p, r) = (cm.precision(0).unwrap(), cm.recall(0).unwrap());
        assert!((cm.f1(0).unwrap() - 2.0 * p * r / (p + r)).abs() < 1e-15);
    }

    #[test]
    fn bad_labels_and_lengths_are_typed_errors_naming_them() {
        let e = ConfusionMatrix::from_labels(3, &[0, 1], &[0]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::LengthMismatch {
                    expected: 2,
                    got: 1,
                    ..
                }
            ),
            "{e}"
        );
        let e = ConfusionMatrix::from_labels(3, &[0, 1], &[0, 3]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "targets: predicted label 3 at position 1 is out of range for 3 classes (expected 0..3)"
        );
        let e = ConfusionMatrix::from_labels(2, &[2], &[0]).unwrap_err();
        assert!(e.to_string().contains("true label 2 at position 0"), "{e}");
    }

    #[test]
    fn a_number_of_classes_whose_square_overflows_is_a_typed_error() {
        // It overflowed inside (a panic in a debug build; in a release
        // build a wrapped size, then an index out of bounds or an abort).
        let e = ConfusionMatrix::from_labels(1 << (usize::BITS / 2), &[1], &[2]).unwrap_err();
        assert!(
            matches!(&e, Error::Targets(m) if m.contains("overflows usize")),
            "{e}"
        );
        assert!(ConfusionMatrix::from_labels(usize::MAX, &[], &[]).is_err());
        let panic = std::panic::catch_unwind(|| ConfusionMatrix::new(usize::MAX)).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("overflow usize"), "{message}");
    }

    #[test]
    fn display_prints_the_matrix_and_a_dash_for_undefined_scores() {
        let cm = ConfusionMatrix::from_labels(3, &[0, 0, 1], &[0, 1, 1]).unwrap();
        let text = cm.to_string();
        let lines: Vec<&str> = text.lines().collect();
        // Right-aligned to the widest label, "weighted avg".
        assert_eq!(lines[0], "   true\\pred   0   1   2");
        assert_eq!(lines[1], "           0   1   1   0");
        assert_eq!(lines[3], "           2   0   0   0");
        // Class 2: no sample, never predicted.
        assert!(lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["2", "-", "-", "-", "0"]));
        assert!(text.contains("accuracy"), "{text}");
    }

    #[test]
    fn regression_scores_are_scikit_learns() {
        // scikit-learn 1.9: mean_squared_error, mean_absolute_error and
        // r2_score (uniform average) of the same two-output data.
        let y = Matrix::new(3, 2, vec![1.0, 2.0, 2.0, 0.0, 4.0, 1.0]).unwrap();
        let p = Matrix::new(3, 2, vec![1.5, 2.0, 1.0, 0.5, 3.5, 0.0]).unwrap();
        let s = RegressionScores::from_values(&y, &p).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
        assert!(close(s.mse, 0.45833333333333337), "{s:?}");
        assert!(close(s.mae, 0.5833333333333333), "{s:?}");
        assert!(close(s.r2.unwrap(), 0.5267857142857143), "{s:?}");
    }

    #[test]
    fn r2_of_targets_spread_less_than_one_is_scikit_learns() {
        // Sums of squares below 1 (every other test's are above): scikit-learn
        // 1.9's r2_score, mean_squared_error and mean_absolute_error.
        let y = Matrix::new(3, 2, vec![0.1, 0.02, 0.2, 0.0, 0.4, 0.01]).unwrap();
        let p = Matrix::new(3, 2, vec![0.15, 0.02, 0.2, 0.005, 0.3, 0.0]).unwrap();
        let s = RegressionScores::from_values(&y, &p).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs();
        assert!(close(s.r2.unwrap(), 0.5535714285714286), "{s:?}");
        assert!(close(s.mse, 0.0021041666666666674), "{s:?}");
        assert!(close(s.mae, 0.027500000000000004), "{s:?}");
    }

    #[test]
    fn a_nan_target_or_prediction_gives_nan_scores_and_is_not_skipped() {
        // A NaN target in the second output: its R^2 is NaN, so the mean
        // is too (it was the first output's 0.5 alone, as if that output
        // were constant).
        let y = Matrix::new(2, 2, vec![1.0, f64::NAN, 2.0, 3.0]).unwrap();
        let p = Matrix::new(2, 2, vec![1.0, 1.0, 2.5, 3.0]).unwrap();
        let s = RegressionScores::from_values(&y, &p).unwrap();
        assert!(s.mse.is_nan() && s.mae.is_nan(), "{s:?}");
        assert!(s.r2.is_some_and(f64::is_nan), "{s:?}");
        let y = Matrix::new(2, 1, vec![f64::NAN, 2.0]).unwrap();
        let p = Matrix::new(2, 1, vec![1.0, 2.0]).unwrap();
        for (y, p) in [(&y, &p), (&p, &y)] {
            let s = RegressionScores::from_values(y, p).unwrap();
            assert!(s.r2.is_some_and(f64::is_nan), "{s:?}");
        }
    }

    #[test]
    fn r2_skips_constant_outputs_and_shapes_must_agree() {
        // The second output's targets are constant: no R^2 there.
        let y = Matrix::new(2, 2, vec![1.0, 5.0, 3.0, 5.0]).unwrap();
        let p = Matrix::new(2, 2, vec![1.0, 4.0, 2.0, 5.0]).unwrap();
        let s = RegressionScores::from_values(&y, &p).unwrap();
        assert_eq!(s.r2, Some(1.0 - 1.0 / 2.0));
        let flat = Matrix::new(2, 1, vec![3.0, 3.0]).unwrap();
        assert_eq!(
            RegressionScores::from_values(&flat, &flat).unwrap().r2,
            None
        );
        let e = RegressionScores::from_values(&y, &flat).unwrap_err();
        assert_eq!(
            e.to_string(),
            "targets: predictions of shape (2, 1) for targets of shape (2, 2)"
        );
    }
}
