//! Feature scaling, fitted on the training set and applied to any set
//! (the fit/transform pattern of scikit-learn).
//!
//! The fitted statistics are public fields, so a scaler can be stored with a
//! model and reapplied to new inputs ([`Standardizer`] goes into a
//! checkpoint with [`Checkpoint::scaler`]).
//!
//! [`Checkpoint::scaler`]: crate::checkpoint::Checkpoint::scaler

use super::dataset::{check_finite, Dataset};
use super::error::{DataError, Result};
use autodiff::{Float, Matrix};

fn check_width(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(DataError::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Per-feature minimum and maximum, in `f64`.
fn column_ranges<T: Float>(x: &Matrix<T>) -> Vec<(f64, f64)> {
    let mut r = vec![(f64::INFINITY, f64::NEG_INFINITY); x.cols()];
    for i in 0..x.rows() {
        for (m, v) in r.iter_mut().zip(x.row(i)) {
            let v = v.to_f64();
            *m = (m.0.min(v), m.1.max(v));
        }
    }
    r
}

/// A copy of `features`, transformed in place by `f`.
fn transform_copy<T: Float>(
    features: &Matrix<T>,
    f: impl FnOnce(&mut Matrix<T>) -> Result<()>,
) -> Result<Matrix<T>> {
    let mut out = features.clone();
    f(&mut out)?;
    Ok(out)
}

/// Applies `f(column, value)` to every entry, or, if a result would not be
/// finite (a span or a distance from the mean that overflows, a value far
/// outside the fitted range), changes nothing and returns
/// [`DataError::NonFinite`] for the first such entry.
fn map_columns<T: Float>(x: &mut Matrix<T>, f: impl Fn(usize, T) -> T) -> Result<()> {
    let cols = x.cols().max(1);
    let bad = x
        .as_slice()
        .iter()
        .enumerate()
        .find(|&(k, &v)| !f(k % cols, v).is_finite());
    if let Some((k, &v)) = bad {
        return Err(DataError::NonFinite {
            what: "scaled features",
            row: k / cols,
            column: k % cols,
            value: f(k % cols, v).to_f64(),
        });
    }
    for (k, v) in x.as_mut_slice().iter_mut().enumerate() {
        *v = f(k % cols, *v);
    }
    Ok(())
}

/// Standardisation: each feature minus its training mean, divided by its
/// training standard deviation (the population one, divided by `n`, as
/// scikit-learn's `StandardScaler`). A feature that is constant on the
/// training set has `std = 0` and is only centred, never divided by 0.
///
/// ```
/// use autodiff::Matrix;
/// use nn::data::Standardizer;
/// let train = Matrix::new(3, 2, vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0]).unwrap();
/// let s = Standardizer::fit(&train)?;
/// assert_eq!((s.mean.clone(), s.std[1]), (vec![2.0, 5.0], 0.0));
/// let z = s.transform(&train)?;
/// assert_eq!(z.row(0)[1], 0.0); // constant feature: centred only
/// # Ok::<(), nn::data::DataError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer<T> {
    /// The mean of each feature on the fitted data.
    pub mean: Vec<T>,
    /// The (population) standard deviation of each feature on the fitted
    /// data; exactly 0 for a constant feature.
    pub std: Vec<T>,
}

impl<T: Float> Standardizer<T> {
    /// A scaler of given statistics (read back from a file, say), checked
    /// as [`Standardizer::validate`] does.
    ///
    /// # Errors
    /// As [`Standardizer::validate`].
    pub fn new(mean: Vec<T>, std: Vec<T>) -> Result<Self> {
        let s = Standardizer { mean, std };
        s.validate()?;
        Ok(s)
    }

    /// Checks what [`Standardizer::fit`] guarantees: one `std` per `mean`,
    /// every mean finite, every standard deviation finite and `>= 0` (0 for
    /// a feature constant on the fitted data, which is centred only).
    ///
    /// # Errors
    /// [`DataError::LengthMismatch`] for lengths that differ;
    /// [`DataError::OutOfRange`] for the first value out of its range.
    pub fn validate(&self) -> Result<()> {
        check_width(
            "Standardizer: std (one per feature of mean)",
            self.mean.len(),
            self.std.len(),
        )?;
        let first_bad =
            |values: &[T], ok: fn(f64) -> bool| values.iter().map(|v| v.to_f64()).find(|&v| !ok(v));
        if let Some(value) = first_bad(&self.mean, f64::is_finite) {
            return Err(DataError::OutOfRange {
                what: "Standardizer: mean",
                value,
                range: "finite",
            });
        }
        if let Some(value) = first_bad(&self.std, |v| v.is_finite() && v >= 0.0) {
            return Err(DataError::OutOfRange {
                what: "Standardizer: std",
                value,
                range: "finite and >= 0",
            });
        }
        Ok(())
    }

    /// Fits the per-feature mean and standard deviation (accumulated in
    /// `f64`, two-pass; rescaled where the sums would overflow, so finite
    /// features always give finite statistics).
    ///
    /// # Errors
    /// [`DataError::LengthMismatch`] if `features` has no row;
    /// [`DataError::NonFinite`] for a NaN or infinite value, at its row and
    /// column (its statistics would be too).
    pub fn fit(features: &Matrix<T>) -> Result<Self> {
        let (n, d) = (features.rows(), features.cols());
        if n == 0 {
            return Err(DataError::LengthMismatch {
                what: "Standardizer::fit: rows (at least)",
                expected: 1,
                got: 0,
            });
        }
        check_finite(features, "Standardizer::fit: features")?;
        let mut mean = vec![0.0; d];
        for i in 0..n {
            mean.iter_mut()
                .zip(features.row(i))
                .for_each(|(m, v)| *m += v.to_f64());
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0; d];
        for i in 0..n {
            for ((s, v), m) in var.iter_mut().zip(features.row(i)).zip(&mean) {
                *s += (v.to_f64() - m).powi(2);
            }
        }
        let ranges = column_ranges(features);
        let mut s = Standardizer {
            mean: Vec::with_capacity(d),
            std: Vec::with_capacity(d),
        };
        for j in 0..d {
            let (lo, hi) = ranges[j];
            // A constant column has exactly zero spread (not a rounding residue).
            let (m, sd) = if lo == hi {
                (lo, 0.0)
            } else if mean[j].is_finite() && var[j].is_finite() {
                (mean[j], (var[j] / n as f64).sqrt())
            } else {
                // The sum or the squares overflowed (entries past about
                // 1e154): again on the column scaled by its largest entry.
                let a = lo.abs().max(hi.abs());
                let column = || (0..n).map(|i| features.row(i)[j].to_f64() / a);
                let m = column().sum::<f64>() / n as f64;
                let v = column().map(|x| (x - m).powi(2)).sum::<f64>() / n as f64;
                (a * m, a * v.sqrt())
            };
            s.mean.push(T::from_f64(m));
            s.std.push(T::from_f64(sd));
        }
        Ok(s)
    }

    /// Fits on a data set's features.
    ///
    /// # Errors
    /// As [`Standardizer::fit`].
    pub fn fit_dataset(data: &Dataset<T>) -> Result<Self> {
        Self::fit(data.features())
    }

    /// Standardises `features` in place.
    ///
    /// # Errors
    /// [`DataError::LengthMismatch`] if the number of features differs from
    /// the fitted one; [`DataError::NonFinite`], changing nothing, if a
    /// result would be infinite or NaN.
    pub fn transform_in_place(&self, features: &mut Matrix<T>) -> Result<()> {
        check_width("Standardizer: features", self.mean.len(), features.cols())?;
        map_columns(features, |j, v| {
            let c = v - self.mean[j];
            if self.std[j] > T::zero() {
                c / self.std[j]
            } else {
                c
            }
        })
    }

    /// The transformed copy of `features`.
    ///
    /// # Errors
    /// As [`transform_in_place`](Self::transform_in_place).
    pub fn transform(&self, features: &Matrix<T>) -> Result<Matrix<T>> {
        transform_copy(features, |m| self.transform_in_place(m))
    }

    /// The data set with transformed features, targets unchanged.
    ///
    /// # Errors
    /// As [`transform_in_place`](Self::transform_in_place).
    pub fn transform_dataset(&self, mut data: Dataset<T>) -> Result<Dataset<T>> {
        self.transform_in_place(data.features_mut())?;
        Ok(data)
    }

    /// Undoes [`Standardizer::transform_in_place`].
    ///
    /// # Errors
    /// As [`Standardizer::transform_in_place`].
    pub fn inverse_transform_in_place(&self, features: &mut Matrix<T>) -> Result<()> {
        check_width("Standardizer: features", self.mean.len(), features.cols())?;
        map_columns(features, |j, v| {
            let s = if self.std[j] > T::zero() {
                self.std[j]
            } else {
                T::one()
            };
            v * s + self.mean[j]
        })
    }
}

/// Min-max scaling: each feature mapped affinely so that its training range
/// `[min, max]` becomes `[0, 1]`; a constant feature maps to 0. Values
/// outside the training range map outside `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxScaler<T> {
    /// The minimum of each feature on the fitted data.
    pub min: Vec<T>,
    /// The maximum of each feature on the fitted data.
    pub max: Vec<T>,
}

impl<T: Float> MinMaxScaler<T> {
    /// Fits the per-feature range.
    ///
    /// # Errors
    /// [`DataError::LengthMismatch`] if `features` has no row;
    /// [`DataError::NonFinite`] for a NaN or infinite value, at its row and
    /// column.
    pub fn fit(features: &Matrix<T>) -> Result<Self> {
        if features.rows() == 0 {
            return Err(DataError::LengthMismatch {
                what: "MinMaxScaler::fit: rows (at least)",
                expected: 1,
                got: 0,
            });
        }
        check_finite(features, "MinMaxScaler::fit: features")?;
        let r = column_ranges(features);
        Ok(MinMaxScaler {
            min: r.iter().map(|&(lo, _)| T::from_f64(lo)).collect(),
            max: r.iter().map(|&(_, hi)| T::from_f64(hi)).collect(),
        })
    }

    /// Fits on a data set's features.
    ///
    /// # Errors
    /// As [`MinMaxScaler::fit`].
    pub fn fit_dataset(data: &Dataset<T>) -> Result<Self> {
        Self::fit(data.features())
    }

    /// Scales `features` in place.
    ///
    /// # Errors
    /// [`DataError::LengthMismatch`] if the number of features differs from
    /// the fitted one; [`DataError::NonFinite`], changing nothing, if a
    /// result would be infinite or NaN.
    pub fn transform_in_place(&self, features: &mut Matrix<T>) -> Result<()> {
        check_width("MinMaxScaler: features", self.min.len(), features.cols())?;
        map_columns(features, |j, v| {
            let span = self.max[j] - self.min[j];
            if span > T::zero() {
                (v - self.min[j]) / span
            } else {
                v - self.min[j]
            }
        })
    }

    /// The transformed copy of `features`.
    ///
    /// # Errors
    /// As [`transform_in_place`](Self::transform_in_place).
    pub fn transform(&self, features: &Matrix<T>) -> Result<Matrix<T>> {
        transform_copy(features, |m| self.transform_in_place(m))
    }

    /// The data set with transformed features, targets unchanged.
    ///
    /// # Errors
    /// As [`transform_in_place`](Self::transform_in_place).
    pub fn transform_dataset(&self, mut data: Dataset<T>) -> Result<Dataset<T>> {
        self.transform_in_place(data.features_mut())?;
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_on_a_nan_or_infinity_is_refused_at_its_position() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut v = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
            v[3] = bad;
            let x = Matrix::new(3, 2, v).unwrap();
            for e in [
                Standardizer::fit(&x).unwrap_err(),
                MinMaxScaler::fit(&x).unwrap_err(),
            ] {
                assert!(
                    matches!(
                        e,
                        DataError::NonFinite {
                            row: 1,
                            column: 1,
                            ..
                        }
                    ),
                    "{bad}: {e}"
                );
            }
        }
    }

    #[test]
    fn huge_finite_features_fit_finite_statistics_that_validate() {
        // Squares past 1e154 (and sums past f64::MAX) overflow: the spread
        // must not come out infinite, which scaled every such feature to 0.
        let x = Matrix::new(2, 2, vec![1e200_f64, 1.7e308, -1e200, 1.6e308]).unwrap();
        let s = Standardizer::fit(&x).unwrap();
        s.validate().unwrap();
        assert_eq!(s.mean[0], 0.0);
        assert!((s.std[0] / 1e200 - 1.0).abs() < 1e-15, "{:?}", s.std);
        assert!((s.mean[1] / 1.65e308 - 1.0).abs() < 1e-15, "{:?}", s.mean);
        assert!((s.std[1] / 0.05e308 - 1.0).abs() < 1e-12, "{:?}", s.std);
        let z = s.transform(&x).unwrap();
        for (got, want) in z.as_slice().iter().zip([1.0_f64, 1.0, -1.0, -1.0]) {
            assert!((got - want).abs() < 1e-12, "{:?}", z.as_slice());
        }
    }

    #[test]
    fn constant_feature_with_inexact_mean_is_centred_to_exact_zero() {
        // 0.1 * 3 / 3 != 0.1 in floating point: the constant must still give 0.
        let x = Matrix::new(3, 1, vec![0.1_f64; 3]).unwrap();
        let s = Standardizer::fit(&x).unwrap();
        assert_eq!(s.std, vec![0.0]);
        assert_eq!(s.transform(&x).unwrap().as_slice(), &[0.0; 3]);
    }

    #[test]
    fn inverse_transform_recovers_the_features() {
        let x = Matrix::new(3, 2, vec![1.0_f64, 7.0, 2.0, 7.0, 4.0, 7.0]).unwrap();
        let s = Standardizer::fit(&x).unwrap();
        let mut z = s.transform(&x).unwrap();
        s.inverse_transform_in_place(&mut z).unwrap();
        assert!(
            z.as_slice()
                .iter()
                .zip(x.as_slice())
                .all(|(a, b)| (a - b).abs() < 1e-12),
            "{z:?}"
        );
    }

    #[test]
    fn inverse_transform_undoes_transform_on_rows_it_was_not_fitted_on() {
        // A constant training feature (std 0) is only centred, so its
        // inverse only adds the mean back, whatever the value.
        let train = Matrix::new(2, 2, vec![1.0_f64, 7.0, 3.0, 7.0]).unwrap();
        let s = Standardizer::fit(&train).unwrap();
        assert_eq!(
            (s.mean.clone(), s.std.clone()),
            (vec![2.0, 7.0], vec![1.0, 0.0])
        );
        let x = Matrix::new(2, 2, vec![-4.0_f64, 9.0, 0.5, -1.0]).unwrap();
        let mut z = s.transform(&x).unwrap();
        assert_eq!(z.as_slice(), &[-6.0, 2.0, -1.5, -8.0]);
        s.inverse_transform_in_place(&mut z).unwrap();
        assert_eq!(z.as_slice(), x.as_slice());
    }

    #[test]
    fn wrong_feature_count_is_rejected() {
        let s = Standardizer::fit(&Matrix::<f32>::zeros(2, 3)).unwrap();
        let e = s.transform(&Matrix::zeros(2, 2)).unwrap_err();
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
        assert!(Standardizer::fit(&Matrix::<f32>::zeros(0, 3)).is_err());
    }

    #[test]
    fn a_scaler_of_given_statistics_must_be_what_fit_could_give() {
        let s = Standardizer::new(vec![1.0_f32, 2.0], vec![0.5, 0.0]).unwrap();
        assert_eq!(s.std, [0.5, 0.0], "a constant feature's std is 0");
        let e = Standardizer::new(vec![1.0_f32, 2.0], vec![0.5]).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LengthMismatch {
                    expected: 2,
                    got: 1,
                    ..
                }
            ),
            "{e}"
        );
        for (mean, std) in [
            (f32::NAN, 1.0),
            (f32::INFINITY, 1.0),
            (0.0, -1.0),
            (0.0, f32::INFINITY),
        ] {
            let e = Standardizer::new(vec![mean], vec![std]).unwrap_err();
            assert!(
                matches!(e, DataError::OutOfRange { .. }),
                "{mean} {std}: {e}"
            );
        }
        let x = Matrix::new(2, 2, vec![1.0_f64, 3.0, 2.0, 3.0]).unwrap();
        Standardizer::fit(&x).unwrap().validate().unwrap();
    }

    #[test]
    fn min_max_maps_training_range_to_unit_interval() {
        let x = Matrix::new(3, 2, vec![-2.0_f32, 3.0, 0.0, 3.0, 2.0, 3.0]).unwrap();
        let s = MinMaxScaler::fit(&x).unwrap();
        assert_eq!(
            s.transform(&x).unwrap().as_slice(),
            &[0.0, 0.0, 0.5, 0.0, 1.0, 0.0]
        );
    }
}
