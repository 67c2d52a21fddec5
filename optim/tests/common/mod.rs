//! Test functions shared by the integration tests: random SPD quadratics
//! with known spectra, Rosenbrock, a double well, and helpers to drive an
//! optimizer on them.
#![allow(dead_code)] // each test file uses a subset

use optim::Optimizer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `J(w) = (w - w*)^T A (w - w*) / 2` with `A = Q diag(lambda) Q^T`, Q a
/// random orthogonal matrix: the spectrum, hence alpha and beta of (5.4),
/// is known exactly.
#[derive(Debug, Clone)]
pub struct Quadratic {
    pub n: usize,
    /// Row-major orthogonal matrix.
    pub q: Vec<f64>,
    pub eigenvalues: Vec<f64>,
    /// Row-major `A`.
    pub a: Vec<f64>,
    pub w_star: Vec<f64>,
}

impl Quadratic {
    /// Seeded random `Q` (Gram-Schmidt of a uniform matrix) and `w*`.
    pub fn new(seed: u64, eigenvalues: &[f64]) -> Self {
        let n = eigenvalues.len();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut q = vec![0.0; n * n];
        for i in 0..n {
            let mut row: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            for k in 0..i {
                let dot: f64 = (0..n).map(|j| row[j] * q[k * n + j]).sum();
                for j in 0..n {
                    row[j] -= dot * q[k * n + j];
                }
            }
            let norm = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            for j in 0..n {
                q[i * n + j] = row[j] / norm;
            }
        }
        // Rows of q are the eigenvectors: A = sum_k lambda_k q_k q_k^T.
        let mut a = vec![0.0; n * n];
        for (k, &lambda) in eigenvalues.iter().enumerate() {
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] += lambda * q[k * n + i] * q[k * n + j];
                }
            }
        }
        let w_star = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
        Self {
            n,
            q,
            eigenvalues: eigenvalues.to_vec(),
            a,
            w_star,
        }
    }

    /// Smallest eigenvalue: alpha of (5.4).
    pub fn alpha(&self) -> f64 {
        self.eigenvalues
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    }

    /// Largest eigenvalue: beta of (5.4).
    pub fn beta(&self) -> f64 {
        self.eigenvalues.iter().copied().fold(0.0, f64::max)
    }

    pub fn value(&self, w: &[f64]) -> f64 {
        let g = self.gradient(w);
        0.5 * g
            .iter()
            .zip(w)
            .zip(&self.w_star)
            .map(|((g, w), s)| g * (w - s))
            .sum::<f64>()
    }

    pub fn gradient(&self, w: &[f64]) -> Vec<f64> {
        let n = self.n;
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| self.a[i * n + j] * (w[j] - self.w_star[j]))
                    .sum()
            })
            .collect()
    }

    /// Exact gradient flow (5.3): `W(t) = W* + Q^T exp(-Lambda t) Q (W0 - W*)`.
    pub fn flow(&self, w0: &[f64], t: f64) -> Vec<f64> {
        let n = self.n;
        let mut w = self.w_star.clone();
        for k in 0..n {
            let c: f64 = (0..n)
                .map(|j| self.q[k * n + j] * (w0[j] - self.w_star[j]))
                .sum();
            let c = c * (-self.eigenvalues[k] * t).exp();
            for (wi, qi) in w.iter_mut().zip(&self.q[k * n..(k + 1) * n]) {
                *wi += c * qi;
            }
        }
        w
    }

    pub fn distance_to_minimum(&self, w: &[f64]) -> f64 {
        distance(w, &self.w_star)
    }
}

pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Rosenbrock `(1 - x)^2 + 100 (y - x^2)^2`, minimum 0 at (1, 1).
pub fn rosenbrock(w: &[f64]) -> f64 {
    (1.0 - w[0]).powi(2) + 100.0 * (w[1] - w[0] * w[0]).powi(2)
}

/// Gradient of [`rosenbrock`], by hand:
/// d/dx = -2 (1 - x) - 400 x (y - x^2), d/dy = 200 (y - x^2).
pub fn rosenbrock_gradient(w: &[f64]) -> Vec<f64> {
    let r = w[1] - w[0] * w[0];
    vec![-2.0 * (1.0 - w[0]) - 400.0 * w[0] * r, 200.0 * r]
}

/// Double well `(x^2 - 1)^2 / 4 + y^2 / 2`: minima at (+-1, 0), a saddle
/// at the origin, non-convex for |x| < 1/sqrt(3).
pub fn double_well(w: &[f64]) -> f64 {
    0.25 * (w[0] * w[0] - 1.0).powi(2) + 0.5 * w[1] * w[1]
}

/// d/dx = x (x^2 - 1), d/dy = y.
pub fn double_well_gradient(w: &[f64]) -> Vec<f64> {
    vec![w[0] * (w[0] * w[0] - 1.0), w[1]]
}

/// Runs `steps` steps of `opt` on `(j, grad)` from `w`, evaluating the
/// gradient where the optimizer asks, and returns the energy after each step
/// (and before the first), given J at the gradient point.
pub fn energies(
    opt: &mut dyn Optimizer<f64>,
    w: &mut [f64],
    steps: usize,
    j: impl Fn(&[f64]) -> f64,
    grad: impl Fn(&[f64]) -> Vec<f64>,
) -> Vec<f64> {
    let mut at = vec![0.0; w.len()];
    let point = |opt: &dyn Optimizer<f64>, w: &[f64], at: &mut Vec<f64>| {
        if !opt.gradient_point(w, at).unwrap() {
            at.copy_from_slice(w);
        }
    };
    let mut out = Vec::with_capacity(steps + 1);
    point(opt, w, &mut at);
    out.push(opt.energy(j(&at)).expect("method has an energy"));
    for _ in 0..steps {
        let g = grad(&at);
        opt.step(w, &g).unwrap();
        point(opt, w, &mut at);
        out.push(opt.energy(j(&at)).unwrap());
    }
    out
}

/// Largest increase of a sequence between consecutive terms (negative when
/// it strictly decreases).
pub fn max_increase(e: &[f64]) -> f64 {
    e.windows(2)
        .map(|p| p[1] - p[0])
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Observed order of convergence from errors at step sizes h and h/2.
pub fn observed_order(err_h: f64, err_half: f64) -> f64 {
    (err_h / err_half).log2()
}

/// The gradients of the PyTorch runs of the parameter-group tests
/// (`decay_mask.rs`, `param_groups.rs`): 5 parameters, `w` (3 entries)
/// then `b` (2 entries), over three steps.
pub const TORCH_GRADS: [[f64; 5]; 3] = [
    [0.3, -0.1, 0.2, 0.05, -0.4],
    [-0.2, 0.4, 0.1, 0.3, 0.2],
    [0.1, 0.1, -0.3, -0.1, 0.25],
];

/// The parameters after three steps of `opt` from the PyTorch runs' start
/// with [`TORCH_GRADS`], `schedule` setting the rate before each step.
pub fn three_torch_steps(
    opt: &mut dyn Optimizer<f64>,
    schedule: Option<&optim::Schedule>,
) -> [f64; 5] {
    let mut p = [1.5, -2.0, 0.5, 0.75, -1.25];
    for g in &TORCH_GRADS {
        if let Some(s) = schedule {
            s.apply(opt).unwrap();
        }
        opt.step(&mut p, g).unwrap();
    }
    p
}

/// `got` within 4 ulp of PyTorch's float64 numbers.
pub fn assert_close_to_torch(got: [f64; 5], torch: [f64; 5], what: &str) {
    for (g, t) in got.iter().zip(torch) {
        assert!(
            (g - t).abs() <= 4.0 * f64::EPSILON * t.abs(),
            "{what}: {got:?} vs torch {torch:?}"
        );
    }
}
