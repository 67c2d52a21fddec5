//! The scalar test functions of issue 2, written once for any number type,
//! with their hand-written gradients: shared by the integration tests and
//! the scalar benches (which include this file by `#[path]`).
#![allow(dead_code)]

use autodiff::Real;

/// Extended Rosenbrock: sum of (1 - x_i)^2 + 100 (x_{i+1} - x_i^2)^2.
pub fn rosenbrock<T: Real>(x: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        let a = T::one() - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + T::from_f64(100.0) * b * b;
    }
    s
}

/// [`rosenbrock`]'s value, and its gradient by hand into `g`.
pub fn rosenbrock_grad(x: &[f64], g: &mut [f64]) -> f64 {
    g.iter_mut().for_each(|v| *v = 0.0);
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = 1.0 - x[i];
        let b = x[i + 1] - x[i] * x[i];
        s += a * a + 100.0 * b * b;
        g[i] += -2.0 * a - 400.0 * x[i] * b;
        g[i + 1] += 200.0 * b;
    }
    s
}

/// The math-heavy function: sum of sin(x_i) exp(0.1 x_{i+1}) / (1 + x_i^2)
/// + tanh(x_i x_{i+1}).
pub fn heavy<T: Real>(x: &[T]) -> T {
    let mut s = T::zero();
    for i in 0..x.len() - 1 {
        let (a, b) = (x[i], x[i + 1]);
        s += a.sin() * (T::from_f64(0.1) * b).exp() / (T::one() + a * a) + (a * b).tanh();
    }
    s
}

/// [`heavy`]'s value, and its gradient by hand into `g`.
pub fn heavy_grad(x: &[f64], g: &mut [f64]) -> f64 {
    g.iter_mut().for_each(|v| *v = 0.0);
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let (a, b) = (x[i], x[i + 1]);
        // The number trait's sin_cos: one call of glibc's sincos, as the
        // tape's rule for sin uses.
        let (sa, ca) = Real::sin_cos(a);
        let e = (0.1 * b).exp();
        let q = 1.0 / (1.0 + a * a);
        let t = (a * b).tanh();
        s += sa * e * q + t;
        let dt = 1.0 - t * t;
        g[i] += ca * e * q - sa * e * 2.0 * a * q * q + b * dt;
        g[i + 1] += 0.1 * sa * e * q + a * dt;
    }
    s
}
