//! [`Dataset`]: feature rows and their targets.

use super::error::{DataError, Result};
use autodiff::{Float, Matrix};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::BTreeMap;

/// What a data set's rows are labelled with.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets<T> {
    /// One class label per row, each in `0..n_classes` (classification).
    Classes {
        /// The label of each row.
        labels: Vec<usize>,
        /// The number of classes.
        n_classes: usize,
    },
    /// One real vector per row, the rows of the matrix (regression). An
    /// unlabelled data set has a matrix of zero columns.
    Values(Matrix<T>),
}

impl<T: Float> Targets<T> {
    /// The number of rows labelled.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values(m) => m.rows(),
        }
    }

    /// Whether no row is labelled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of classes, for class labels.
    pub fn n_classes(&self) -> Option<usize> {
        match self {
            Targets::Classes { n_classes, .. } => Some(*n_classes),
            Targets::Values(_) => None,
        }
    }

    /// The class labels, for class labels.
    pub fn labels(&self) -> Option<&[usize]> {
        match self {
            Targets::Classes { labels, .. } => Some(labels),
            Targets::Values(_) => None,
        }
    }

    /// The target vectors, for real-valued targets.
    pub fn values(&self) -> Option<&Matrix<T>> {
        match self {
            Targets::Classes { .. } => None,
            Targets::Values(m) => Some(m),
        }
    }

    /// `"class"` or `"real-valued"`, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Targets::Classes { .. } => "class",
            Targets::Values(_) => "real-valued",
        }
    }

    fn select(&self, indices: &[usize]) -> Self {
        match self {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
            },
            Targets::Values(m) => Targets::Values(select_rows(m, indices)),
        }
    }

    fn convert<U: Float>(&self) -> Targets<U> {
        match self {
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: labels.clone(),
                n_classes: *n_classes,
            },
            Targets::Values(m) => Targets::Values(convert_matrix(m)),
        }
    }
}

/// The rows `indices` of `m`, in that order.
fn select_rows<T: Float>(m: &Matrix<T>, indices: &[usize]) -> Matrix<T> {
    let mut data = Vec::with_capacity(indices.len() * m.cols());
    for &i in indices {
        data.extend_from_slice(m.row(i));
    }
    Matrix::new(indices.len(), m.cols(), data).expect("rows of equal length")
}

fn convert_matrix<T: Float, U: Float>(m: &Matrix<T>) -> Matrix<U> {
    let data = m
        .as_slice()
        .iter()
        .map(|x| U::from_f64(x.to_f64()))
        .collect();
    Matrix::new(m.rows(), m.cols(), data).expect("same shape")
}

pub(super) fn check_finite<T: Float>(m: &Matrix<T>, what: &'static str) -> Result<()> {
    let cols = m.cols().max(1);
    match m.as_slice().iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(k) => Err(DataError::NonFinite {
            what,
            row: k / cols,
            column: k % cols,
            value: m.as_slice()[k].to_f64(),
        }),
    }
}

/// A data set: `n_samples` feature rows (a matrix of shape
/// `(n_samples, n_features)`) and one target per row.
///
/// Constructors check that there are as many targets as rows, that class
/// labels are below the number of classes and that every value is finite, so
/// later code can rely on it.
///
/// ```
/// use autodiff::Matrix;
/// use nn::data::Dataset;
/// let x = Matrix::new(4, 2, vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]).unwrap();
/// let d = Dataset::classification(x, vec![0, 1, 1, 0], 2)?;
/// assert_eq!((d.len(), d.n_features(), d.n_classes()), (4, 2, Some(2)));
/// assert_eq!(d.class_counts(), Some(vec![2, 2]));
/// let (train, test) = d.split(0.25, 7)?;
/// assert_eq!((train.len(), test.len()), (3, 1));
/// # Ok::<(), nn::data::DataError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    features: Matrix<T>,
    targets: Targets<T>,
}

impl<T: Float> Dataset<T> {
    /// A data set from its feature rows and targets.
    ///
    /// # Errors
    /// [`DataError::LengthMismatch`] unless there is one target per row;
    /// [`DataError::LabelOutOfRange`] for a label `>= n_classes`;
    /// [`DataError::NonFinite`] for a NaN or infinite feature or target value.
    pub fn new(features: Matrix<T>, targets: Targets<T>) -> Result<Self> {
        if targets.len() != features.rows() {
            return Err(DataError::LengthMismatch {
                what: "Dataset::new: targets per feature row",
                expected: features.rows(),
                got: targets.len(),
            });
        }
        check_finite(&features, "features")?;
        match &targets {
            Targets::Classes { labels, n_classes } => {
                if let Some(row) = labels.iter().position(|&l| l >= *n_classes) {
                    return Err(DataError::LabelOutOfRange {
                        row,
                        label: labels[row],
                        classes: *n_classes,
                    });
                }
            }
            Targets::Values(m) => check_finite(m, "target values")?,
        }
        Ok(Dataset { features, targets })
    }

    /// A classification data set: row `i` has class `labels[i]`.
    ///
    /// # Errors
    /// As [`Dataset::new`].
    pub fn classification(
        features: Matrix<T>,
        labels: Vec<usize>,
        n_classes: usize,
    ) -> Result<Self> {
        Self::new(features, Targets::Classes { labels, n_classes })
    }

    /// A regression data set: row `i` has target vector `values.row(i)`.
    ///
    /// # Errors
    /// As [`Dataset::new`].
    pub fn regression(features: Matrix<T>, values: Matrix<T>) -> Result<Self> {
        Self::new(features, Targets::Values(values))
    }

    /// The number of rows (samples).
    pub fn len(&self) -> usize {
        self.features.rows()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of features (columns of the feature matrix).
    pub fn n_features(&self) -> usize {
        self.features.cols()
    }

    /// The number of classes, for class labels; `None` for real targets.
    pub fn n_classes(&self) -> Option<usize> {
        self.targets.n_classes()
    }

    /// The width of the network output the targets call for: the number of
    /// classes, or the length of the target vectors.
    pub fn n_outputs(&self) -> usize {
        match &self.targets {
            Targets::Classes { n_classes, .. } => *n_classes,
            Targets::Values(m) => m.cols(),
        }
    }

    /// The feature matrix, one row per sample.
    pub fn features(&self) -> &Matrix<T> {
        &self.features
    }

    /// The targets.
    pub fn targets(&self) -> &Targets<T> {
        &self.targets
    }

    /// The class labels, for class labels.
    pub fn labels(&self) -> Option<&[usize]> {
        self.targets.labels()
    }

    /// The target vectors, for real targets.
    pub fn values(&self) -> Option<&Matrix<T>> {
        self.targets.values()
    }

    /// The feature matrix and the targets.
    pub fn into_parts(self) -> (Matrix<T>, Targets<T>) {
        (self.features, self.targets)
    }

    /// The feature matrix, mutably, for the scalers of this module (which
    /// keep the values finite).
    pub(crate) fn features_mut(&mut self) -> &mut Matrix<T> {
        &mut self.features
    }

    /// How many rows each class has, for class labels.
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let Targets::Classes { labels, n_classes } = &self.targets else {
            return None;
        };
        let mut counts = vec![0; *n_classes];
        for &l in labels {
            counts[l] += 1;
        }
        Some(counts)
    }

    /// The rows `indices`, in that order (repeats allowed).
    ///
    /// # Panics
    /// If an index is `>= self.len()`.
    pub fn select(&self, indices: &[usize]) -> Self {
        Dataset {
            features: select_rows(&self.features, indices),
            targets: self.targets.select(indices),
        }
    }

    /// A random train/test split: `round(test_fraction * len)` rows, drawn by a
    /// shuffle seeded with `seed`, go to the test set, the rest to the train
    /// set. Both keep the shuffled order. The same seed gives the same split.
    ///
    /// # Errors
    /// [`DataError::OutOfRange`] unless `0 <= test_fraction <= 1`.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        check_fraction(test_fraction)?;
        let mut perm: Vec<usize> = (0..self.len()).collect();
        perm.shuffle(&mut StdRng::seed_from_u64(seed));
        let n_test = (test_fraction * self.len() as f64).round() as usize;
        let (test, train) = perm.split_at(n_test);
        Ok((self.select(train), self.select(test)))
    }

    /// A train/test split that keeps the class proportions: each class sends
    /// `round(test_fraction * count)` of its rows, drawn by a seeded shuffle,
    /// to the test set. Both sets are then shuffled (seeded), so neither is
    /// sorted by class.
    ///
    /// # Errors
    /// [`DataError::OutOfRange`] unless `0 <= test_fraction <= 1`;
    /// [`DataError::WrongTargets`] for real targets.
    pub fn split_stratified(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        check_fraction(test_fraction)?;
        let Targets::Classes { labels, .. } = &self.targets else {
            return Err(DataError::WrongTargets {
                what: "Dataset::split_stratified",
                expected: "class",
                found: self.targets.kind(),
            });
        };
        let mut rng = StdRng::seed_from_u64(seed);
        // The classes present, in order: as many as the rows at most,
        // whatever `n_classes` a file's largest label made (a label of
        // 10^14 made this allocate 10^14 empty lists and abort). Empty
        // classes drew nothing from `rng`: the split is the same.
        let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, &l) in labels.iter().enumerate() {
            by_class.entry(l).or_default().push(i);
        }
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for rows in by_class.values_mut() {
            rows.shuffle(&mut rng);
            let n_test = (test_fraction * rows.len() as f64).round() as usize;
            test.extend_from_slice(&rows[..n_test]);
            train.extend_from_slice(&rows[n_test..]);
        }
        train.shuffle(&mut rng);
        test.shuffle(&mut rng);
        Ok((self.select(&train), self.select(&test)))
    }

    /// The same data set with values of another float type (`f64` to `f32`
    /// rounds).
    ///
    /// # Errors
    /// [`DataError::NonFinite`] if a value overflows the new type.
    pub fn convert<U: Float>(&self) -> Result<Dataset<U>> {
        Dataset::new(convert_matrix(&self.features), self.targets.convert())
    }

    /// The same data set in `f64` (exact from `f32`).
    pub fn to_f64(&self) -> Dataset<f64> {
        Dataset {
            features: convert_matrix(&self.features),
            targets: self.targets.convert(),
        }
    }

    /// Multiplies every feature by `factor` (e.g. `1/16` for the digits'
    /// pixels, `1/255` for MNIST's).
    ///
    /// # Errors
    /// [`DataError::OutOfRange`] unless `factor` is finite; then
    /// [`DataError::NonFinite`] if a product overflows (the features are left
    /// unchanged).
    pub fn scale_features(&mut self, factor: T) -> Result<()> {
        if !factor.is_finite() {
            return Err(DataError::OutOfRange {
                what: "scale_features factor",
                value: factor.to_f64(),
                range: "finite",
            });
        }
        let mut scaled = self.features.clone();
        scaled.as_mut_slice().iter_mut().for_each(|x| *x *= factor);
        check_finite(&scaled, "features")?;
        self.features = scaled;
        Ok(())
    }

    /// Copies the feature rows `indices`, one after the other (row-major, a
    /// `indices.len() x n_features` batch), into `features_out`, which is
    /// cleared first. No allocation once the buffer has the capacity.
    ///
    /// # Panics
    /// If an index is `>= self.len()`.
    pub fn gather_features(&self, indices: &[usize], features_out: &mut Vec<T>) {
        features_out.clear();
        for &i in indices {
            features_out.extend_from_slice(self.features.row(i));
        }
    }

    /// Copies the feature rows and the class labels of the rows `indices`
    /// into the reusable buffers `features_out` (row-major) and `labels_out`,
    /// both cleared first. No allocation once the buffers have the capacity.
    ///
    /// # Errors
    /// [`DataError::WrongTargets`] for real targets (nothing is written).
    ///
    /// # Panics
    /// If an index is `>= self.len()`.
    pub fn gather(
        &self,
        indices: &[usize],
        features_out: &mut Vec<T>,
        labels_out: &mut Vec<usize>,
    ) -> Result<()> {
        let Targets::Classes { labels, .. } = &self.targets else {
            return Err(DataError::WrongTargets {
                what: "Dataset::gather",
                expected: "class",
                found: "real-valued",
            });
        };
        self.gather_features(indices, features_out);
        labels_out.clear();
        labels_out.extend(indices.iter().map(|&i| labels[i]));
        Ok(())
    }

    /// Copies the feature rows and the target vectors of the rows `indices`
    /// into the reusable buffers `features_out` and `values_out` (both
    /// row-major), cleared first. No allocation once the buffers have the
    /// capacity.
    ///
    /// # Errors
    /// [`DataError::WrongTargets`] for class labels (nothing is written).
    ///
    /// # Panics
    /// If an index is `>= self.len()`.
    pub fn gather_values(
        &self,
        indices: &[usize],
        features_out: &mut Vec<T>,
        values_out: &mut Vec<T>,
    ) -> Result<()> {
        let Targets::Values(values) = &self.targets else {
            return Err(DataError::WrongTargets {
                what: "Dataset::gather_values",
                expected: "real-valued",
                found: "class",
            });
        };
        self.gather_features(indices, features_out);
        values_out.clear();
        for &i in indices {
            values_out.extend_from_slice(values.row(i));
        }
        Ok(())
    }
}

fn check_fraction(f: f64) -> Result<()> {
    if (0.0..=1.0).contains(&f) {
        Ok(())
    } else {
        Err(DataError::OutOfRange {
            what: "test fraction",
            value: f,
            range: "[0, 1]",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize) -> Dataset<f64> {
        let x = Matrix::from_fn(n, 2, |i, j| (10 * i + j) as f64);
        Dataset::classification(x, (0..n).map(|i| i % 3).collect(), 3).unwrap()
    }

    #[test]
    fn label_not_below_n_classes_is_rejected_with_its_row() {
        let x = Matrix::<f64>::zeros(3, 1);
        let e = Dataset::classification(x, vec![0, 2, 1], 2).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LabelOutOfRange {
                    row: 1,
                    label: 2,
                    classes: 2
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "row 1: class label 2 is out of range for 2 classes (expected 0..2)"
        );
    }

    #[test]
    fn label_count_must_match_rows() {
        let e = Dataset::classification(Matrix::<f32>::zeros(3, 1), vec![0, 1], 2).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LengthMismatch {
                    expected: 3,
                    got: 2,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn non_finite_feature_is_rejected_with_its_position() {
        let x = Matrix::new(2, 2, vec![0.0, 1.0, f64::NAN, 2.0]).unwrap();
        let e = Dataset::regression(x, Matrix::zeros(2, 1)).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::NonFinite {
                    what: "features",
                    row: 1,
                    column: 0,
                    ..
                }
            ),
            "{e:?}"
        );
        let v = Matrix::new(2, 1, vec![0.0, f64::INFINITY]).unwrap();
        let e = Dataset::regression(Matrix::zeros(2, 1), v).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::NonFinite {
                    what: "target values",
                    row: 1,
                    column: 0,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn select_keeps_rows_and_labels_together() {
        let d = toy(5);
        let s = d.select(&[4, 1, 4]);
        assert_eq!(
            s.features().as_slice(),
            &[40.0, 41.0, 10.0, 11.0, 40.0, 41.0]
        );
        assert_eq!(s.labels(), Some(&[1, 1, 1][..]));
        assert_eq!(s.n_classes(), Some(3));
    }

    #[test]
    fn stratified_split_keeps_class_proportions() {
        let d = toy(30);
        let (train, test) = d.split_stratified(0.2, 3).unwrap();
        assert_eq!(test.class_counts(), Some(vec![2, 2, 2]));
        assert_eq!(train.class_counts(), Some(vec![8, 8, 8]));
    }

    #[test]
    fn stratified_split_of_classes_with_gaps_is_pinned() {
        // Classes 0, 3 and 6 of 7; rows tagged by their feature. The
        // splits as drawn when every class, present or not, had its list:
        // grouping only the classes present leaves them bitwise the same.
        let labels = vec![6, 0, 3, 3, 6, 0, 6, 3, 0, 6, 3, 6, 0, 3];
        let x = Matrix::new(14, 1, (0..14).map(f64::from).collect()).unwrap();
        let d = Dataset::classification(x, labels, 7).unwrap();
        let pinned: [(u64, [f64; 9], [f64; 5]); 3] = [
            (
                1,
                [4., 7., 12., 11., 8., 2., 5., 0., 3.],
                [6., 10., 9., 13., 1.],
            ),
            (
                2,
                [2., 3., 10., 5., 4., 11., 12., 6., 8.],
                [13., 9., 0., 1., 7.],
            ),
            (
                3,
                [5., 1., 0., 12., 4., 2., 7., 13., 6.],
                [9., 8., 3., 10., 11.],
            ),
        ];
        for (seed, train, test) in pinned {
            let (a, b) = d.split_stratified(0.3, seed).unwrap();
            assert_eq!(a.features().as_slice(), train, "seed {seed}");
            assert_eq!(b.features().as_slice(), test, "seed {seed}");
        }
    }

    #[test]
    fn split_rejects_fraction_outside_unit_interval() {
        assert!(matches!(
            toy(4).split(1.5, 0),
            Err(DataError::OutOfRange { .. })
        ));
        assert!(matches!(
            toy(4).split(f64::NAN, 0),
            Err(DataError::OutOfRange { .. })
        ));
    }

    #[test]
    fn gather_reuses_buffers_without_reallocating() {
        let d = toy(6);
        let (mut xs, mut ys) = (Vec::with_capacity(4), Vec::with_capacity(2));
        let (px, py) = (xs.as_ptr(), ys.as_ptr());
        d.gather(&[5, 0], &mut xs, &mut ys).unwrap();
        assert_eq!(xs, [50.0, 51.0, 0.0, 1.0]);
        assert_eq!(ys, [2, 0]);
        d.gather(&[2, 3], &mut xs, &mut ys).unwrap();
        assert_eq!(xs, [20.0, 21.0, 30.0, 31.0]);
        assert_eq!((xs.as_ptr(), ys.as_ptr()), (px, py));
        assert!(matches!(
            d.gather_values(&[0], &mut xs, &mut Vec::new()),
            Err(DataError::WrongTargets { .. })
        ));
    }

    #[test]
    fn convert_to_f32_and_back_keeps_small_integers() {
        let d = toy(4);
        let f: Dataset<f32> = d.convert().unwrap();
        assert_eq!(f.to_f64(), d);
    }

    #[test]
    fn scale_features_multiplies_every_feature() {
        let mut d = toy(2);
        d.scale_features(0.5).unwrap();
        assert_eq!(d.features().as_slice(), &[0.0, 0.5, 5.0, 5.5]);
        assert!(d.scale_features(f64::NAN).is_err());
    }
}
