//! Test support shared by the integration tests.
#![allow(dead_code)]

pub mod fwd;
pub mod training;

/// `|a - b| <= tol * max(1, |a|, |b|)`.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * 1f64.max(a.abs()).max(b.abs()) || (a.is_nan() && b.is_nan())
}
