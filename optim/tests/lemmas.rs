//! Section 5.1 executed: Lemma 5.1.3 (linear rate of gradient descent) and
//! Lemma 5.1.2 (exponential decay of the gradient flow, approached at first
//! order in dt).

mod common;

use common::{distance, observed_order, Quadratic};
use optim::{GradientDescent, Optimizer};
use proptest::prelude::*;

/// Runs `n` steps of (5.2) and returns `|W^k - W*|` for k = 0..=n.
fn gd_errors(q: &Quadratic, dt: f64, w0: &[f64], n: usize) -> Vec<f64> {
    let mut gd = GradientDescent::new(dt).unwrap();
    let mut w = w0.to_vec();
    let mut errs = vec![q.distance_to_minimum(&w)];
    for _ in 0..n {
        let g = q.gradient(&w);
        gd.step(&mut w, &g).unwrap();
        errs.push(q.distance_to_minimum(&w));
    }
    errs
}

/// A spectrum with smallest `alpha`, largest `beta`, the rest in between.
fn spectrum(alpha: f64, beta: f64, inner: &[f64]) -> Vec<f64> {
    let mut s = vec![alpha, beta];
    s.extend(inner.iter().map(|u| alpha + u * (beta - alpha)));
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Lemma 5.1.3. Its proof shows `|e^{n+1}|^2 <= (1 - eps) |e^n|^2` with
    /// `eps = 2 dt alpha - dt^2 beta^2`, so the contraction factor of the
    /// norm is `sqrt(1 - eps)` (the lemma's "there exists eps" is
    /// `1 - sqrt(1 - eps)`); see the next test for why `(1 - eps)^n` itself
    /// cannot be the bound. Checked at every n.
    #[test]
    fn gradient_descent_contracts_at_rate_sqrt_one_minus_eps_below_two_alpha_over_beta_squared(
        seed in any::<u64>(),
        alpha in 0.1f64..1.0,
        spread in 1.0f64..5.0,
        inner in proptest::collection::vec(0.0f64..1.0, 0..4),
        fraction in 0.05f64..0.99,
    ) {
        let beta = alpha * spread;
        let q = Quadratic::new(seed, &spectrum(alpha, beta, &inner));
        let dt = fraction * 2.0 * alpha / (beta * beta);
        let eps = 2.0 * dt * alpha - dt * dt * beta * beta;
        prop_assert!(eps > 0.0 && eps < 1.0);
        let rate = (1.0 - eps).sqrt();
        let w0 = vec![0.0; q.n];
        let errs = gd_errors(&q, dt, &w0, 200);
        for (n, e) in errs.iter().enumerate() {
            // 1e-12 relative slack for rounding in the iteration.
            prop_assert!(*e <= rate.powi(n as i32) * errs[0] * (1.0 + 1e-12) + 1e-14,
                "n = {n}: {e} > {rate}^n {}", errs[0]);
        }
    }

    /// Beyond dt = 2 / beta the component along the top eigenvector is
    /// multiplied by |1 - dt beta| > 1 each step: (5.2) diverges.
    #[test]
    fn gradient_descent_diverges_for_dt_well_above_two_over_beta(
        seed in any::<u64>(),
        alpha in 0.1f64..1.0,
        spread in 1.0f64..5.0,
        inner in proptest::collection::vec(0.0f64..1.0, 0..4),
    ) {
        let beta = alpha * spread;
        let q = Quadratic::new(seed, &spectrum(alpha, beta, &inner));
        let dt = 1.5 * 2.0 / beta; // |1 - dt beta| = 2
        // Start on the top eigenvector (row 1 of Q) so its component is 1.
        let w0: Vec<f64> = q.w_star.iter().zip(&q.q[q.n..2 * q.n]).map(|(s, v)| s + v).collect();
        let errs = gd_errors(&q, dt, &w0, 30);
        prop_assert!(errs[30] > 1e6 * errs[0], "{:?}", errs[30]);
    }
}

/// Why the norm bound needs the square root: in one dimension with
/// `alpha = beta = lambda`, (5.2) contracts by exactly `|1 - dt lambda|`,
/// while `1 - eps = (1 - dt lambda)^2` is smaller. `(1 - eps)^n` as a bound
/// on `|W^n - W*|` fails at the first step.
#[test]
fn lemma_5_1_3_with_eps_of_the_proof_bounds_squared_norms_not_norms() {
    let (lambda, dt) = (1.0, 0.5);
    let q = Quadratic::new(1, &[lambda]);
    let eps = 2.0 * dt * lambda - dt * dt * lambda * lambda;
    let errs = gd_errors(&q, dt, &[0.0], 1);
    assert!(errs[1] > (1.0 - eps) * errs[0]);
    assert!(errs[1] * errs[1] <= (1.0 - eps) * errs[0] * errs[0] * (1.0 + 1e-15));
}

/// Lemma 5.1.2 and its discrete approach: at fixed T, W^N with dt = T / N
/// tends to the exact flow W(T) at first order, and both stay within the
/// bound e^{-alpha T} |W0 - W*|.
#[test]
fn gradient_descent_at_fixed_time_converges_at_first_order_to_the_flow_within_the_exponential_bound(
) {
    let q = Quadratic::new(7, &[0.5, 1.0, 2.0, 3.0]);
    let t_end = 2.0;
    let w0 = vec![0.0; q.n];
    let exact = q.flow(&w0, t_end);
    let bound = (-q.alpha() * t_end).exp() * q.distance_to_minimum(&w0);
    assert!(q.distance_to_minimum(&exact) <= bound);
    let errors: Vec<f64> = [50usize, 100, 200, 400, 800]
        .iter()
        .map(|&n| {
            let mut gd = GradientDescent::new(t_end / n as f64).unwrap();
            let mut w = w0.clone();
            for _ in 0..n {
                let g = q.gradient(&w);
                gd.step(&mut w, &g).unwrap();
            }
            // (1 - dt lambda)^N <= e^{-lambda T}: the discrete bound holds too.
            assert!(q.distance_to_minimum(&w) <= bound);
            distance(&w, &exact)
        })
        .collect();
    for pair in errors.windows(2) {
        let order = observed_order(pair[0], pair[1]);
        assert!(
            (order - 1.0).abs() < 0.05,
            "order {order}, errors {errors:?}"
        );
    }
}
