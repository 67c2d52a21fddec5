//! Seeded synthetic data sets for examples and tests.
//!
//! Each generator draws from a `StdRng` seeded with `seed`, so the same
//! arguments give bitwise the same data set. Noise is Gaussian with standard
//! deviation `noise` (drawn by the Box-Muller transform).

use super::dataset::Dataset;
use super::error::{DataError, Result};
use autodiff::{Float, Matrix};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

fn check_noise(noise: f64) -> Result<()> {
    if noise.is_finite() && noise >= 0.0 {
        Ok(())
    } else {
        Err(DataError::OutOfRange {
            what: "noise",
            value: noise,
            range: "finite and >= 0",
        })
    }
}

/// A standard normal draw.
fn gaussian(rng: &mut StdRng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // in (0, 1]
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

fn to_matrix<T: Float>(rows: usize, cols: usize, data: &[f64]) -> Matrix<T> {
    Matrix::new(rows, cols, data.iter().map(|&x| T::from_f64(x)).collect())
        .expect("rows * cols values")
}

/// Two interleaved spirals in the plane, `n_per_class` points each (class 0
/// first, then class 1): point `(r cos a, r sin a)` with `r` in `[0.1, 1]`
/// and `a = 3.5 pi r` (1.75 turns), class 1 rotated by half a turn, plus
/// Gaussian noise of standard deviation `noise` on each coordinate.
///
/// # Errors
/// [`DataError::OutOfRange`] unless `noise` is finite and `>= 0`.
pub fn two_spirals<T: Float>(n_per_class: usize, noise: f64, seed: u64) -> Result<Dataset<T>> {
    check_noise(noise)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut x, mut labels) = (
        Vec::with_capacity(4 * n_per_class),
        Vec::with_capacity(2 * n_per_class),
    );
    for class in 0..2 {
        for _ in 0..n_per_class {
            // sqrt spreads the points evenly along the arc
            let r = 0.1 + 0.9 * rng.random::<f64>().sqrt();
            let a = 3.5 * PI * r + PI * class as f64;
            x.push(r * a.cos() + noise * gaussian(&mut rng));
            x.push(r * a.sin() + noise * gaussian(&mut rng));
            labels.push(class);
        }
    }
    Dataset::classification(to_matrix(2 * n_per_class, 2, &x), labels, 2)
}

/// XOR: `n` points uniform in `[-1, 1]^2`, class 1 where exactly one
/// coordinate is positive, then Gaussian noise of standard deviation
/// `noise` added to the coordinates (the class is that of the clean point).
///
/// # Errors
/// [`DataError::OutOfRange`] unless `noise` is finite and `>= 0`.
pub fn xor<T: Float>(n: usize, noise: f64, seed: u64) -> Result<Dataset<T>> {
    check_noise(noise)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut x, mut labels) = (Vec::with_capacity(2 * n), Vec::with_capacity(n));
    for _ in 0..n {
        let (a, b) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
        labels.push(usize::from((a > 0.0) != (b > 0.0)));
        x.push(a + noise * gaussian(&mut rng));
        x.push(b + noise * gaussian(&mut rng));
    }
    Dataset::classification(to_matrix(n, 2, &x), labels, 2)
}

/// A noisy 1-D regression: `n` points `x` uniform in `[-pi, pi]`, target
/// `sin x` plus Gaussian noise of standard deviation `noise`; one feature,
/// one-column real targets.
///
/// # Errors
/// [`DataError::OutOfRange`] unless `noise` is finite and `>= 0`.
pub fn noisy_sine<T: Float>(n: usize, noise: f64, seed: u64) -> Result<Dataset<T>> {
    check_noise(noise)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut x, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = rng.random_range(-PI..=PI);
        x.push(t);
        y.push(t.sin() + noise * gaussian(&mut rng));
    }
    Dataset::regression(to_matrix(n, 1, &x), to_matrix(n, 1, &y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noiseless_xor_labels_match_the_quadrant() {
        let d = xor::<f64>(200, 0.0, 1).unwrap();
        for (row, &l) in d.labels().unwrap().iter().enumerate() {
            let p = d.features().row(row);
            assert_eq!(l == 1, p[0] * p[1] < 0.0, "row {row}: {p:?}");
        }
    }

    #[test]
    fn noiseless_spiral_points_have_radius_in_range() {
        let d = two_spirals::<f64>(100, 0.0, 2).unwrap();
        for row in 0..d.len() {
            let p = d.features().row(row);
            let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
            assert!(
                (0.1 - 1e-12..=1.0 + 1e-12).contains(&r),
                "row {row}: r = {r}"
            );
        }
    }

    #[test]
    fn noiseless_sine_targets_are_sin_of_the_feature() {
        let d = noisy_sine::<f64>(50, 0.0, 3).unwrap();
        let (x, y) = (d.features().as_slice(), d.values().unwrap().as_slice());
        assert!(x
            .iter()
            .zip(y)
            .all(|(x, y)| (x.sin() - y).abs() == 0.0 && x.abs() <= PI));
    }

    #[test]
    fn gaussian_noise_has_about_unit_variance() {
        let mut rng = StdRng::seed_from_u64(9);
        let z: Vec<f64> = (0..20_000).map(|_| gaussian(&mut rng)).collect();
        let mean = z.iter().sum::<f64>() / z.len() as f64;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / z.len() as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "mean {mean}, var {var}"
        );
    }

    #[test]
    fn negative_or_nan_noise_is_rejected() {
        assert!(matches!(
            xor::<f32>(3, -1.0, 0),
            Err(DataError::OutOfRange { what: "noise", .. })
        ));
        assert!(matches!(
            noisy_sine::<f32>(3, f64::NAN, 0),
            Err(DataError::OutOfRange { .. })
        ));
    }
}
