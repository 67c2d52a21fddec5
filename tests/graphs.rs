//! Property tests over random expression graphs (every primitive, depth up
//! to 10, shared subexpressions, up to 300 nodes): the tape's gradient
//! against independent forward-mode dual numbers, the tape's Hessian-vector
//! products against finite differences of the gradient, and the public
//! gradient checker on the same graphs.

mod common;

use autodiff::strategies::{expr_graph, inputs, ExprGraph};
use autodiff::GradcheckConfig;
use common::fwd::Fwd;
use proptest::prelude::*;

const N: usize = 4;

/// The gradient by forward mode: one pass per input with the hand-derived
/// rules of `common::fwd`.
fn forward_gradient(g: &ExprGraph, x: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let xs: Vec<Fwd> = x
                .iter()
                .enumerate()
                .map(|(j, &v)| Fwd::var(v, (i == j) as u8 as f64))
                .collect();
            g.eval(&xs).d
        })
        .collect()
}

/// `|a_i - b_i| <= tol max(|a_i|, |b_i|, scale)` with `scale` the largest
/// entry of `b`, at least `floor`: relative to the vector's magnitude, so
/// that an entry that cancels to near zero is not held to a relative bound
/// it cannot meet, and a whole gradient that cancels to below `floor` (its
/// rounding error is relative to the terms that cancelled, not to the
/// result) is held to the absolute bound `tol floor`.
fn agree(a: &[f64], b: &[f64], tol: f64, floor: f64) -> Result<(), String> {
    let scale = b.iter().fold(floor, |m, v| m.max(v.abs()));
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        if (x - y).abs() > tol * x.abs().max(y.abs()).max(scale) {
            return Err(format!("entry {i}: {x} vs {y} (scale {scale})"));
        }
    }
    Ok(())
}

/// The real (`eps` false) or dual parts of the gradients with respect to `xs`.
fn dual_part<M: autodiff::Recording>(
    gr: &autodiff::Grads<autodiff::Dual<f64>>,
    xs: &[autodiff::Var<'_, autodiff::Dual<f64>, M>],
    eps: bool,
) -> Vec<f64> {
    xs.iter()
        .map(|&xi| if eps { gr[xi].eps } else { gr[xi].re })
        .collect()
}

proptest! {
    // The hvp test rejects about half its cases (kinks near x): room for
    // that without proptest's default limit of 1024 rejects ending the run.
    #![proptest_config(ProptestConfig { cases: 1000, max_global_rejects: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn tape_gradient_equals_forward_mode_gradient_on_random_graphs(g in expr_graph(N, 10, 30), x in inputs(N)) {
        let (value, grad) = autodiff::value_and_grad(|v| g.eval(v), &x).unwrap();
        prop_assume!(value.is_finite() && grad.iter().all(|v| v.is_finite()));
        prop_assert_eq!(value, g.eval(&x));
        let want = forward_gradient(&g, &x);
        if let Err(e) = agree(&grad, &want, 1e-10, 1e-4) {
            return Err(TestCaseError::fail(format!("{e}; {} nodes, depth {}", g.len(), g.depth)));
        }
    }

    #[test]
    fn hvp_agrees_with_finite_differences_of_the_gradient(
        g in expr_graph(N, 10, 30), x in inputs(N), v in inputs(N)
    ) {
        prop_assume!(g.is_well_conditioned(&x, 1e-3));
        let hv = autodiff::hvp(|x| g.eval(x), &x, &v).unwrap();
        // Central differences of the (exact) gradient along v, at steps h and
        // h / 2, extrapolated (Richardson: error O(h^4)); their difference
        // estimates the finite differences' own error, which is large where
        // the graph's higher derivatives are.
        let h = 1e-4;
        let central = |h: f64| -> Vec<f64> {
            let at = |s: f64| {
                let p: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + s * h * b).collect();
                autodiff::grad(|x| g.eval(x), &p).unwrap()
            };
            let (gp, gm) = (at(1.0), at(-1.0));
            gp.iter().zip(&gm).map(|(a, b)| (a - b) / (2.0 * h)).collect()
        };
        // No kink may lie between x - h v and x + h v.
        for sign in [1.0, -1.0] {
            let p: Vec<f64> = x.iter().zip(&v).map(|(a, b)| a + sign * h * b).collect();
            prop_assume!(g.is_well_conditioned(&p, 1e-3));
        }
        let check = |h: f64| -> Result<(), String> {
            let (coarse, fine) = (central(h), central(h / 2.0));
            let scale = fine.iter().fold(1e-2_f64, |m, v| m.max(v.abs()));
            for i in 0..hv.len() {
                let extrapolated = (4.0 * fine[i] - coarse[i]) / 3.0;
                let fd_error = (fine[i] - coarse[i]).abs();
                if (hv[i] - extrapolated).abs() > 1e-6 * scale + fd_error {
                    return Err(format!(
                        "h {h}, entry {i}: hvp {} vs extrapolated differences {extrapolated} (their error estimate {fd_error})",
                        hv[i]
                    ));
                }
            }
            Ok(())
        };
        // Where the graph's higher derivatives are huge, one step size's
        // error estimate can be fooled (seeds 41 and 63 of 150: the hvp
        // agreed with forward-over-forward dual numbers to 1e-15 and with
        // differences at h = 1e-6 to 1e-8); a smaller step is the second
        // opinion.
        if let Err(coarse) = check(h) {
            let fine = check(h / 10.0);
            prop_assert!(fine.is_ok(), "{coarse}; {}; {} nodes, depth {}", fine.unwrap_err(), g.len(), g.depth);
        }
        // The hvp's primal is the gradient: the dual tape agrees with the plain one.
        let grad = autodiff::grad(|x| g.eval(x), &x).unwrap();
        let tape = autodiff::Tape::new();
        let xs: Vec<_> = x.iter().zip(&v).map(|(&a, &b)| tape.var(autodiff::Dual::new(a, b))).collect();
        let gd = tape.backward(g.eval(&xs));
        let primal: Vec<f64> = xs.iter().map(|&xi| gd[xi].re).collect();
        // (Recorded on a full tape against the helpers' preaccumulating one:
        // products of partials in another order, so a cancelling gradient
        // differs by more than a few ulps of its own size.)
        prop_assert!(agree(&primal, &grad, 1e-10, 1e-4).is_ok());
    }

    #[test]
    fn preaccumulating_tape_gives_the_gradients_and_hvp_of_the_full_tape(g in expr_graph(N, 10, 30), x in inputs(N), v in inputs(N)) {
        let lean = autodiff::Tape::<autodiff::Dual<f64>>::preaccumulating();
        let full = autodiff::Tape::<autodiff::Dual<f64>>::new();
        let duals: Vec<_> = x.iter().zip(&v).map(|(&a, &b)| autodiff::Dual::new(a, b)).collect();
        let (xl, xf) = (lean.vars(&duals), full.vars(&duals));
        let (yl, yf) = (g.eval(&xl), g.eval(&xf));
        prop_assert_eq!(yl.value(), yf.value());
        prop_assert!(lean.len() <= full.len());
        let (gl, gf) = (lean.backward(yl), full.backward(yf));
        let (grad_l, grad_f) = (dual_part(&gl, &xl, false), dual_part(&gf, &xf, false));
        prop_assume!(grad_f.iter().all(|d| d.is_finite()));
        // Products of partials in another order (from the inputs outwards
        // here): a gradient that cancels to well below the scale floor
        // differs by more than 1e-12 of it (seed 94: 1.4e-11 relative).
        prop_assert!(agree(&grad_l, &grad_f, 1e-10, 1e-4).is_ok(), "gradient {:?} vs {:?}", grad_l, grad_f);
        let (hv_l, hv_f) = (dual_part(&gl, &xl, true), dual_part(&gf, &xf, true));
        prop_assume!(hv_f.iter().all(|d| d.is_finite()));
        prop_assert!(agree(&hv_l, &hv_f, 1e-10, 1e-4).is_ok(), "hvp {:?} vs {:?}", hv_l, hv_f);
    }

    #[test]
    fn a_pruned_graph_computes_the_same_value_and_gradient(g in expr_graph(N, 6, 12), x in inputs(N)) {
        let p = g.pruned();
        prop_assert!(p.len() <= g.len() && p.n_inputs == g.n_inputs && p.outputs.len() == g.outputs.len());
        // The outputs are the last layer's nodes: pruning keeps a path of
        // every layer.
        prop_assert_eq!(p.depth, g.depth);
        // Every node but the inputs is read by a later node or is an output.
        for (i, node) in p.nodes.iter().enumerate() {
            let read = p.outputs.contains(&i) || p.nodes[i + 1..].iter().any(|n| match *n {
                autodiff::strategies::Node::Input(_) => false,
                autodiff::strategies::Node::AffineConst(a, ..) | autodiff::strategies::Node::Unary(_, a) => a == i,
                autodiff::strategies::Node::Binary(_, a, b) => a == i || b == i,
            });
            prop_assert!(read || matches!(node, autodiff::strategies::Node::Input(_)), "node {i} of {p:?}");
        }
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        prop_assert!(same(p.eval(&x), g.eval(&x)));
        let (v, grad) = autodiff::value_and_grad(|v| g.eval(v), &x).unwrap();
        let (vp, grad_p) = autodiff::value_and_grad(|v| p.eval(v), &x).unwrap();
        prop_assert!(same(v, vp));
        prop_assert!(grad.iter().zip(&grad_p).all(|(&a, &b)| same(a, b)), "{grad:?} vs {grad_p:?}");
    }

    #[test]
    fn gradcheck_passes_on_random_graphs_away_from_kinks(g in expr_graph(N, 6, 12), x in inputs(N)) {
        prop_assume!(g.is_well_conditioned(&x, 1e-3));
        let cfg = GradcheckConfig { atol: 1e-5, rtol: 1e-5, ..Default::default() };
        let report = autodiff::gradcheck(|v| g.eval(v), &x, &cfg).unwrap();
        prop_assert!(report.passed(), "{}", report);
    }
}

#[test]
#[should_panic(expected = "ExprGraph: 2 input values for a graph of 3 inputs")]
fn a_graph_evaluated_on_too_few_inputs_panics_naming_the_counts() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let g = expr_graph(3, 2, 2).new_tree(&mut runner).unwrap().current();
    g.eval(&[0.5, 1.0]);
}

#[test]
#[should_panic(expected = "ExprGraph: 4 input values for a graph of 3 inputs")]
fn a_graph_checked_on_too_many_inputs_panics_naming_the_counts() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let g = expr_graph(3, 2, 2).new_tree(&mut runner).unwrap().current();
    g.is_well_conditioned(&[0.5, 1.0, 1.5, 2.0], 1e-3);
}

#[test]
fn gradcheck_catches_a_wrong_gradient() {
    let f = |x: &[f64]| x[0] * x[0] * x[1];
    let x = [1.5, -0.5];
    let right = [2.0 * x[0] * x[1], x[0] * x[0]];
    assert!(
        autodiff::gradcheck_fn(f, &right, &x, &GradcheckConfig::default())
            .unwrap()
            .passed()
    );
    // An error of 1e-3 in one coordinate is caught and named.
    let wrong = [right[0], right[1] + 1e-3];
    let report = autodiff::gradcheck_fn(f, &wrong, &x, &GradcheckConfig::default()).unwrap();
    assert!(!report.passed());
    let worst = report.worst_coordinate.unwrap();
    assert_eq!(worst.probe, autodiff::gradcheck::Probe::Coordinate(1));
    assert!((worst.analytic - wrong[1]).abs() < 1e-15 && (worst.numeric - right[1]).abs() < 1e-6);
    // With coordinates off, the random directions still see it.
    let dirs = GradcheckConfig {
        per_coordinate: false,
        directions: 3,
        ..Default::default()
    };
    assert!(!autodiff::gradcheck_fn(f, &wrong, &x, &dirs)
        .unwrap()
        .passed());
}

#[test]
fn a_steep_function_passes_its_right_gradient_by_extrapolation_and_fails_a_wrong_one() {
    // exp(1e4 x) at 1e-3: the central quotient's error h^2 k^2 / 6 is
    // 1.7e-5 relative, above rtol = 1e-5; Richardson's is O(h^4 k^4).
    let k = 1e4;
    let f = |x: &[f64]| (k * x[0]).exp();
    let x = [1e-3];
    let right = [k * (k * x[0]).exp()];
    let cfg = GradcheckConfig::default();
    let h = cfg.step;
    let plain = ((k * (x[0] + h)).exp() - (k * (x[0] - h)).exp()) / (2.0 * h);
    assert!(
        (plain - right[0]).abs() > cfg.atol + cfg.rtol * plain.abs(),
        "the central quotient alone fails: {plain} vs {}",
        right[0]
    );
    let report = autodiff::gradcheck_fn(f, &right, &x, &cfg).unwrap();
    assert!(report.passed(), "{report}");
    // The report shows the extrapolated estimate that passed.
    let w = report.worst_coordinate.unwrap();
    assert!((w.numeric - right[0]).abs() < 1e-8 * right[0], "{report}");
    // Off by 1e-4 relative (ten times rtol): fails both estimates.
    let wrong = [right[0] * (1.0 + 1e-4)];
    assert!(!autodiff::gradcheck_fn(f, &wrong, &x, &cfg)
        .unwrap()
        .passed());
}

#[test]
fn the_report_lists_every_failed_coordinate_not_only_the_worst() {
    let f = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
    let x: Vec<f64> = (0..12).map(|i| 0.5 + i as f64).collect();
    let mut g: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    for i in [2, 5, 9] {
        g[i] *= 1.01;
    }
    let cfg = GradcheckConfig {
        directions: 0,
        ..Default::default()
    };
    let report = autodiff::gradcheck_fn(f, &g, &x, &cfg).unwrap();
    use autodiff::gradcheck::Probe;
    let failed: Vec<Probe> = report.failed.iter().map(|c| c.probe).collect();
    assert_eq!(
        failed,
        [
            Probe::Coordinate(2),
            Probe::Coordinate(5),
            Probe::Coordinate(9)
        ]
    );
    assert_eq!(report.failures, 3);
    assert!(
        report
            .to_string()
            .ends_with("; failed coordinates: coordinate 2, coordinate 5, coordinate 9"),
        "{report}"
    );
    // A right gradient: none.
    let right: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    assert!(autodiff::gradcheck_fn(f, &right, &x, &cfg)
        .unwrap()
        .failed
        .is_empty());
}

#[test]
fn gradcheck_fails_where_the_difference_quotient_overflows() {
    // f(x + h) = exp(709.78...) overflows: the estimate is infinite, and so
    // would be its tolerance; a wrong gradient of 0 must not pass.
    let f = |x: &[f64]| x[0].exp();
    let report =
        autodiff::gradcheck_fn(f, &[0.0], &[709.7825], &GradcheckConfig::default()).unwrap();
    assert!(!report.passed(), "{report}");
    assert_eq!(report.worst_coordinate.unwrap().ratio(), f64::INFINITY);
}

#[test]
fn gradcheck_names_the_failing_coordinate_with_zero_absolute_tolerance() {
    // Coordinate 0 matches exactly (0 against 0, tolerance 0); coordinate 1
    // is wrong: the report's worst is coordinate 1.
    let f = |x: &[f64]| x[0] * x[0] + x[1];
    let cfg = GradcheckConfig {
        atol: 0.0,
        rtol: 1e-5,
        directions: 0,
        ..Default::default()
    };
    let report = autodiff::gradcheck_fn(f, &[0.0, 2.0], &[0.0, 1.0], &cfg).unwrap();
    assert!(!report.passed());
    assert_eq!(
        report.worst_coordinate.unwrap().probe,
        autodiff::gradcheck::Probe::Coordinate(1)
    );
}

#[test]
fn dual_numbers_ignore_infinite_partials_with_respect_to_constants() {
    use autodiff::{Dual, Real};
    // sqrt'(0) is infinite, but the constant's tangent is 0: nothing flows.
    let x = Dual::new(2.0_f64, 1.0);
    assert_eq!((x + Dual::constant(0.0).sqrt()).eps, 1.0);
    // d/db a^b = y ln a is NaN for a < 0; a constant exponent takes none.
    let p = Dual::new(-2.0_f64, 1.0).powf(Dual::from_f64(2.0));
    assert_eq!((p.re, p.eps), (4.0, -4.0));
}

#[test]
fn a_dual_product_takes_no_tangent_through_a_constant_factor() {
    use autodiff::{Dual, Real, Tape, Var};
    // d/dx atan(2 x) -> 0 as x -> inf, and the tape gives 0 there: the
    // product's tangent is 2 eps(x), with no inf * 0 for the constant's
    // zero tangent (as every other rule on dual numbers).
    for x in [f64::INFINITY, f64::NEG_INFINITY] {
        let tape = Tape::new();
        let v = tape.var(x);
        let y = (v * Var::from_f64(2.0)).atan();
        let want = tape.backward(y)[v];
        for d in [
            (Dual::new(x, 1.0) * Dual::from_f64(2.0)).atan(),
            (Dual::from_f64(2.0) * Dual::new(x, 1.0)).atan(),
        ] {
            assert_eq!((d.re, d.eps), (y.value(), want), "at {x}");
        }
    }
    let p = Dual::new(f64::INFINITY, 1.0) * Dual::from_f64(2.0);
    assert_eq!((p.re, p.eps), (f64::INFINITY, 2.0));
    // Both factors varying: the product rule as before.
    let q = Dual::new(3.0_f64, 1.0) * Dual::new(-2.0, 0.5);
    assert_eq!((q.re, q.eps), (-6.0, -2.0 + 1.5));
    // The reverse sweep of hvp multiplies dual partials and adjoints: an
    // infinite partial (sqrt at 0) whose tangent is 0 along v adds nothing
    // to the tangent, so the cross terms of a separable function are 0.
    let h = autodiff::hessian(|x| x[0].sqrt() + x[1] * x[1], &[0.0, 1.0]).unwrap();
    assert_eq!((h[(0, 1)], h[(1, 0)], h[(1, 1)]), (0.0, 0.0, 2.0));
    let hv = autodiff::hvp(|x| x[0].exp() * x[1], &[1000.0, 0.0], &[0.0, 1.0]).unwrap();
    assert_eq!(hv, [f64::INFINITY, 0.0]); // (e^1000, 0): e^1000 overflows
}

#[test]
fn gradcheck_fails_where_the_value_itself_is_not_finite() {
    // sin(x)/x at 0: the value is 0/0 = NaN, its neighbours are finite and
    // symmetric, and the analytic 0 matches every probe.
    let f = |x: &[f64]| x[0].sin() / x[0];
    let report = autodiff::gradcheck_fn(f, &[0.0], &[0.0], &GradcheckConfig::default()).unwrap();
    assert!(report.value.is_nan());
    assert_eq!(report.failures, 0);
    assert!(!report.passed(), "{report}");
}

#[test]
fn gradcheck_tolerance_is_relative_to_the_numeric_estimate() {
    let cfg = GradcheckConfig {
        atol: 0.0,
        rtol: 0.5,
        directions: 0,
        ..Default::default()
    };
    // f = x has derivative 1; a claimed 1.9 is 0.9 off: within 0.5 |1.9|,
    // not within 0.5 |1|.
    let report = autodiff::gradcheck_fn(|x| x[0], &[1.9], &[1.0], &cfg).unwrap();
    assert!(!report.passed(), "{report}");
    let w = report.worst_coordinate.unwrap();
    assert_eq!(w.tolerance, 0.5 * w.numeric.abs());
}

#[test]
fn gradcheck_says_when_a_failure_may_be_the_rounding_of_a_large_f() {
    let cfg = GradcheckConfig::default();
    // f = 1e10 + sin x: one ulp of f (1.9e-6) is as large as f's change
    // over the step (2e-6 cos x), so the quotient of a right derivative is
    // off by about 1, far out of tolerance.
    let f = |x: &[f64]| 1e10 + x[0].sin();
    let right = [0.3f64.cos()];
    let report = autodiff::gradcheck_fn(f, &right, &[0.3], &cfg).unwrap();
    assert!(!report.passed(), "{report}");
    let w = report.worst_coordinate.unwrap();
    // eps / 2 (|f(x + h)| + |f(x - h)|) / (2 h), h = 1e-6 (the report
    // keeps the first quotient when the extrapolation fails too).
    let expected = f64::EPSILON / 2.0 * 2e10 / 2e-6;
    assert!((w.rounding / expected - 1.0).abs() < 1e-6, "{report}");
    assert!(
        report.to_string().contains("rounds by") && report.to_string().contains("raise the step"),
        "{report}"
    );
    // A steep f passed by the extrapolation: its rounding combines the two
    // quotients' as the extrapolation combines the quotients.
    let steep = |x: &[f64]| (20.0 * x[0]).exp();
    let cfg3 = GradcheckConfig { step: 1e-3, ..cfg };
    let r = autodiff::gradcheck_fn(steep, &[20.0 * 20f64.exp()], &[1.0], &cfg3).unwrap();
    let w = r.worst_coordinate.unwrap();
    assert!(r.passed(), "{r}");
    let rounding =
        |t: f64| f64::EPSILON / 2.0 * (steep(&[1.0 + t]) + steep(&[1.0 - t])) / (2.0 * t);
    let expected = (4.0 * rounding(1e-3) + rounding(2e-3)) / 3.0;
    assert!(
        (w.rounding / expected - 1.0).abs() < 1e-12,
        "{} vs {expected}",
        w.rounding
    );
    // Where f is small, a wrong gradient is not put down to rounding.
    let g = |x: &[f64]| x[0].sin();
    let report = autodiff::gradcheck_fn(g, &[2.0 * right[0]], &[0.3], &cfg).unwrap();
    assert!(!report.passed(), "{report}");
    assert!(report.worst_coordinate.unwrap().rounding < 1e-10);
    assert!(!report.to_string().contains("rounds by"), "{report}");
}

/// A right gradient of `sin` at `|x| = 1e6`, where the relative step is 1
/// (a sixth of a period): no quotient at that step is right, and the report
/// says the estimate moves with the step (not rounding); a smaller step
/// passes it. A wrong gradient at a fitting step gets no such hint.
#[test]
fn gradcheck_says_when_a_failure_may_be_the_step_being_too_large_for_f() {
    let f = |x: &[f64]| x[0].sin();
    let x = [1e6];
    let right = [1e6f64.cos()];
    let cfg = GradcheckConfig::default();
    let report = autodiff::gradcheck_fn(f, &right, &x, &cfg).unwrap();
    assert!(!report.passed(), "{report}");
    let w = report.worst().unwrap();
    // D(1) = cos x sin 1, D(2) = cos x sin 2 / 2 (per unit of direction).
    assert!(w.step_change > w.error, "{report}");
    let text = report.to_string();
    assert!(
        text.contains("when its step doubles") && text.contains("lower the step"),
        "{report}"
    );
    assert!(!text.contains("rounds by"), "{report}");
    let fine = GradcheckConfig { step: 1e-9, ..cfg };
    let report = autodiff::gradcheck_fn(f, &right, &x, &fine).unwrap();
    assert!(report.passed(), "{report}");
    // At a step that fits, a wrong gradient is the gradient's.
    let wrong = [1.01 * right[0]];
    let report = autodiff::gradcheck_fn(f, &wrong, &x, &fine).unwrap();
    assert!(!report.passed(), "{report}");
    assert!(
        !report.to_string().contains("when its step doubles"),
        "{report}"
    );
    let report = autodiff::gradcheck_fn(f, &[1.01 * 0.3f64.cos()], &[0.3], &cfg).unwrap();
    assert!(
        !report.passed() && !report.to_string().contains("step doubles"),
        "{report}"
    );
}

/// The step hint's bound: an error up to the estimate's change between the
/// two steps, where that change is more than a thousand roundings (less,
/// and rounding is the hint: the two would ask for opposite steps).
#[test]
fn gradcheck_step_hint_is_for_a_failure_within_the_change_that_rounding_cannot_explain() {
    use autodiff::gradcheck::{Comparison, GradcheckReport, Probe};
    let failed = |error: f64, step_change: f64, rounding: f64| Comparison {
        probe: Probe::Coordinate(0),
        analytic: 1.0 + error,
        numeric: 1.0,
        error,
        tolerance: 1e-6,
        rounding,
        step_change,
    };
    let text = |c: Comparison| {
        GradcheckReport {
            value: 0.0,
            probes: 1,
            failures: 1,
            worst_coordinate: Some(c),
            worst_direction: None,
            failed: vec![c],
            shapes: Vec::new(),
        }
        .to_string()
    };
    let hinted = |c| text(c).contains("when its step doubles");
    assert!(hinted(failed(0.5, 0.5, 1e-12)));
    assert!(!hinted(failed(0.5, 0.4999, 1e-12)));
    // Within a thousand roundings: the rounding hint, not both.
    let t = text(failed(0.5, 0.5, 0.5 / 1000.0));
    assert!(
        t.contains("rounds by") && !t.contains("when its step doubles"),
        "{t}"
    );
}

#[test]
fn gradcheck_rounding_hint_is_for_a_failure_within_a_thousand_times_the_rounding() {
    use autodiff::gradcheck::{Comparison, GradcheckReport, Probe};
    // Exact binary fractions: the boundary, 1000 roundings, is exact.
    let failed = |probe, error: f64| Comparison {
        probe,
        analytic: 1.0 + error,
        numeric: 1.0,
        error,
        tolerance: 1e-6,
        rounding: 1.0 / 1024.0,
        step_change: 0.0,
    };
    let report = |c: Comparison, d: Comparison| GradcheckReport {
        value: 1e10,
        probes: 2,
        failures: 2,
        worst_coordinate: Some(c),
        worst_direction: Some(d),
        failed: vec![c, d],
        shapes: Vec::new(),
    };
    let hints = |r: &GradcheckReport| r.to_string().matches("rounds by").count();
    let (at, past) = (1000.0 / 1024.0, 1001.0 / 1024.0);
    // Either kind of probe gets the hint, up to and including the bound.
    let r = report(
        failed(Probe::Coordinate(0), at),
        failed(Probe::Direction(0), at),
    );
    assert_eq!(hints(&r), 2, "{r}");
    assert!(r.to_string().contains("rounds by 9.765625e-4"), "{r}");
    let r = report(
        failed(Probe::Coordinate(0), past),
        failed(Probe::Direction(0), at),
    );
    assert_eq!(hints(&r), 1, "{r}");
    let r = report(
        failed(Probe::Coordinate(0), at),
        failed(Probe::Direction(0), past),
    );
    assert_eq!(hints(&r), 1, "{r}");
    let r = report(
        failed(Probe::Coordinate(0), past),
        failed(Probe::Direction(0), past),
    );
    assert_eq!(hints(&r), 0, "{r}");
    // A passed comparison within the bound gets none.
    let mut passed = failed(Probe::Coordinate(0), 1e-7);
    passed.rounding = 1.0;
    let r = GradcheckReport {
        failures: 0,
        failed: Vec::new(),
        ..report(passed, passed)
    };
    assert!(r.passed(), "{r}");
    assert_eq!(hints(&r), 0, "{r}");
}

#[test]
fn gradcheck_rounding_is_of_each_side_of_the_probe_along_a_coordinate_or_a_direction() {
    // f = x_0 across 0: f(x + t d) = -f(x - t d), so the two roundings add
    // although the values cancel: eps / 2 (|t d_0| + |t d_0|) / (2 t) =
    // eps / 2 |d_0|, and d_0 is the quotient itself.
    let f = |x: &[f64]| x[0];
    let report = autodiff::gradcheck_fn(f, &[1.0, 0.0], &[0.0, 0.5], &Default::default()).unwrap();
    assert!(report.passed(), "{report}");
    for w in [report.worst_coordinate, report.worst_direction] {
        let w = w.unwrap();
        let expected = f64::EPSILON / 2.0 * w.numeric.abs();
        assert!(
            w.numeric != 0.0 && (w.rounding / expected - 1.0).abs() < 1e-6,
            "{:?}: rounding {:e}, expected {expected:e}",
            w.probe,
            w.rounding
        );
    }
}

#[test]
fn gradcheck_rounding_hint_is_not_given_for_an_infinite_quotient_or_overflowing_bound() {
    let cfg = GradcheckConfig {
        directions: 0,
        ..Default::default()
    };
    // exp overflows on one side of the step (ln f64::MAX = 709.7827...):
    // the quotient, its rounding and the error are infinite; the report
    // says the quotient is not finite, not that it may be rounding.
    let x = 709.7825_f64;
    let r = autodiff::gradcheck_fn(|x| x[0].exp(), &[x.exp()], &[x], &cfg).unwrap();
    let w = r.worst_coordinate.unwrap();
    assert!(w.numeric.is_infinite() && w.rounding.is_infinite(), "{r}");
    assert!(
        r.to_string()
            .contains("the difference quotient is not finite"),
        "{r}"
    );
    assert!(!r.to_string().contains("rounds by"), "{r}");
    // f = 1e308 x at 1: both values near f64::MAX, their rounding bound
    // (eps / 2 2e308 / 2e-6, about 1e298) finite; a gradient half off is
    // far outside a thousand times it.
    let f = |x: &[f64]| 1e308 * x[0];
    let r = autodiff::gradcheck_fn(f, &[1.5e308], &[1.0], &cfg).unwrap();
    assert!(!r.passed(), "{r}");
    let w = r.worst_coordinate.unwrap();
    let side = |s: f64| f64::EPSILON / 2.0 * f(&[1.0 + s]).abs();
    let expected = (side(1e-6) + side(-1e-6)) / 2e-6;
    assert!((w.rounding / expected - 1.0).abs() < 1e-6, "{r}");
    assert!(!r.to_string().contains("rounds by"), "{r}");
}

#[test]
fn gradcheck_worst_is_the_largest_ratio_of_either_kind() {
    use autodiff::gradcheck::{Comparison, GradcheckReport, Probe};
    let c = Comparison {
        probe: Probe::Coordinate(0),
        analytic: 1.0,
        numeric: 1.0,
        error: 5e-7,
        tolerance: 1e-6,
        rounding: 1e-10,
        step_change: 0.0,
    };
    let d = Comparison {
        probe: Probe::Direction(2),
        analytic: 1.1,
        numeric: 1.0,
        error: 0.1,
        tolerance: 1e-6,
        rounding: 1e-10,
        step_change: 0.0,
    };
    let report = GradcheckReport {
        value: 0.0,
        probes: 2,
        failures: 1,
        worst_coordinate: Some(c),
        worst_direction: Some(d),
        failed: vec![d],
        shapes: Vec::new(),
    };
    assert_eq!(report.worst(), Some(d));
    assert!(
        report.to_string().contains("random direction 2"),
        "{report}"
    );
}

#[test]
fn gradcheck_makes_one_probe_per_coordinate_and_per_direction() {
    let f = |x: &[f64]| x[0] * x[1];
    let cfg = GradcheckConfig {
        per_coordinate: false,
        directions: 1,
        ..Default::default()
    };
    // The gradient at (1, 2) is (2, 1); a single random direction sees 0 is wrong.
    let r = autodiff::gradcheck_fn(f, &[0.0, 0.0], &[1.0, 2.0], &cfg).unwrap();
    assert_eq!(r.probes, 1);
    assert!(!r.passed(), "{r}");
    let r =
        autodiff::gradcheck_fn(f, &[2.0, 1.0], &[1.0, 2.0], &GradcheckConfig::default()).unwrap();
    assert_eq!(r.probes, 2 + 4);
}

#[test]
fn gradcheck_directions_step_each_coordinate_on_its_own_scale() {
    // One large coordinate must not coarsen the step along the others: with
    // a step of 1e-6 * 3e4 along x1, sin's curvature alone put the
    // directional estimate out of tolerance.
    let f = |x: &[f64]| x[1].sin() + x[0] * 1e-3;
    for x0 in [3e4, 1e5, 1e8] {
        let x = [x0, 0.5];
        let g = [1e-3, 0.5_f64.cos()];
        let dirs = GradcheckConfig {
            per_coordinate: false,
            directions: 16,
            ..Default::default()
        };
        let r = autodiff::gradcheck_fn(f, &g, &x, &dirs).unwrap();
        assert!(r.passed(), "at x0 = {x0}: {r}");
        // A wrong second coordinate is still seen along the directions
        // while it is not drowned by the first coordinate's share of the
        // directional derivative (g_0 x_0 = 1e5 at x0 = 1e8: then only the
        // per-coordinate probe sees it, which the default config runs).
        let wrong = [g[0], g[1] + 1e-2];
        if x0 <= 1e5 {
            let r = autodiff::gradcheck_fn(f, &wrong, &x, &dirs).unwrap();
            assert!(!r.passed(), "at x0 = {x0}: {r}");
        }
        let r = autodiff::gradcheck_fn(f, &wrong, &x, &GradcheckConfig::default()).unwrap();
        assert!(!r.passed(), "at x0 = {x0}: {r}");
    }
}

#[test]
fn gradcheck_refuses_a_configuration_that_checks_nothing() {
    let f = |x: &[f64]| x[0];
    let none = GradcheckConfig {
        per_coordinate: false,
        directions: 0,
        ..Default::default()
    };
    let bad_step = GradcheckConfig {
        step: 0.0,
        ..Default::default()
    };
    let nan_tol = GradcheckConfig {
        rtol: f64::NAN,
        ..Default::default()
    };
    let neg_tol = GradcheckConfig {
        atol: -1.0,
        ..Default::default()
    };
    let nan_atol = GradcheckConfig {
        atol: f64::NAN,
        ..Default::default()
    };
    let infinite_step = GradcheckConfig {
        step: f64::INFINITY,
        ..Default::default()
    };
    for cfg in [none, bad_step, nan_tol, neg_tol, nan_atol, infinite_step] {
        let e = autodiff::gradcheck_fn(f, &[100.0], &[1.0], &cfg).unwrap_err();
        assert!(
            matches!(e, autodiff::Error::OutOfRange { .. }),
            "{cfg:?}: {e}"
        );
    }
}

#[test]
fn gradcheck_report_names_the_worst_coordinate_even_when_a_direction_is_worse() {
    // Coordinate 1 is wrong; a random direction may be further out of
    // tolerance, but the report still says which coordinate to look at.
    let f = |x: &[f64]| x[0] * x[1];
    let r =
        autodiff::gradcheck_fn(f, &[2.0, 1.5], &[1.0, 2.0], &GradcheckConfig::default()).unwrap();
    let text = r.to_string();
    assert!(text.contains("worst coordinate 1"), "{text}");
    assert!(text.contains("random direction"), "{text}");
}

#[test]
fn gradcheck_report_prints_a_huge_or_tiny_value_in_a_few_digits() {
    // f64's `Display` writes 1e300 out in 301 digits; the report's line
    // stays readable at any scale.
    for (scale, want) in [(1e300, "f(x) = 1e300"), (1e-300, "f(x) = 1e-300")] {
        let f = |x: &[f64]| x[0] * scale;
        let r = autodiff::gradcheck_fn(f, &[scale], &[1.0], &GradcheckConfig::default()).unwrap();
        let text = r.to_string();
        assert!(text.contains(want), "{text}");
        assert!(text.len() < 400, "{} characters: {text}", text.len());
    }
    let r = autodiff::gradcheck_fn(|x| x[0], &[1.0], &[0.15], &GradcheckConfig::default()).unwrap();
    assert!(r.to_string().contains("f(x) = 0.15;"), "{r}");
}

#[test]
fn gradcheck_report_says_which_side_is_not_finite() {
    let cfg = GradcheckConfig {
        directions: 0,
        ..Default::default()
    };
    // sqrt at 1e-8: the step of 1e-6 leaves the domain, the quotient is NaN.
    let r = autodiff::gradcheck_fn(|x| x[0].sqrt(), &[0.5e4], &[1e-8], &cfg).unwrap();
    let text = r.to_string();
    assert!(!r.passed());
    assert!(
        text.contains("the difference quotient is not finite"),
        "{text}"
    );
    // A NaN in the gradient under test.
    let r = autodiff::gradcheck_fn(|x| x[0] * x[0], &[f64::NAN], &[1.0], &cfg).unwrap();
    assert!(r.to_string().contains("the gradient is not finite"), "{r}");
    // The value itself NaN, every probe within tolerance: the line says why
    // the check failed.
    let r = autodiff::gradcheck_fn(|x| x[0].sin() / x[0], &[0.0], &[0.0], &cfg).unwrap();
    assert!(r.to_string().contains("f(x) = NaN is not finite"), "{r}");
    // Infinite is not finite either.
    let r = autodiff::gradcheck_fn(|x| x[0].exp(), &[f64::INFINITY], &[1e3], &cfg).unwrap();
    assert!(r.to_string().contains("f(x) = inf is not finite"), "{r}");
}

#[test]
fn gradcheck_passes_any_derivative_below_atol_as_its_doc_says() {
    // f = 1e-8 x^2 at 1: the derivative 2e-8 is below the default atol, so a
    // gradient of 0 passes; with atol lowered it is caught.
    let f = |x: &[f64]| 1e-8 * x[0] * x[0];
    let r = autodiff::gradcheck_fn(f, &[0.0], &[1.0], &GradcheckConfig::default()).unwrap();
    assert!(r.passed(), "{r}");
    let strict = GradcheckConfig {
        atol: 1e-12,
        ..Default::default()
    };
    assert!(!autodiff::gradcheck_fn(f, &[0.0], &[1.0], &strict)
        .unwrap()
        .passed());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, max_global_rejects: 5_000, ..ProptestConfig::default() })]

    /// Three random graphs as one function of R^N into R^3: `jvp` (dual
    /// numbers, no tape) against the reverse-mode `jacobian` times `v`,
    /// `vjp` (one sweep) against `u^T` times it, and the two products
    /// against each other (`u . J v = u^T J . v`).
    #[test]
    fn jvp_and_vjp_agree_with_the_reverse_mode_jacobian_on_random_graphs(
        g0 in expr_graph(N, 8, 20), g1 in expr_graph(N, 8, 20), g2 in expr_graph(N, 8, 20),
        x in inputs(N), v in inputs(N), u in inputs(3),
    ) {
        let gs = [&g0, &g1, &g2];
        let j = autodiff::jacobian(|x| gs.iter().map(|g| g.eval(x)).collect(), &x).unwrap();
        prop_assume!(j.as_slice().iter().all(|v| v.is_finite()));
        let (y, jv) = autodiff::jvp(|x| gs.iter().map(|g| g.eval(x)).collect(), &x, &v).unwrap();
        let (y2, uj) = autodiff::vjp(|x| gs.iter().map(|g| g.eval(x)).collect(), &x, &u).unwrap();
        let want_y: Vec<f64> = gs.iter().map(|g| g.eval(&x)).collect();
        prop_assert_eq!(&y, &want_y);
        prop_assert_eq!(&y2, &want_y);
        let (rows, cols) = (3, N);
        let j_v: Vec<f64> = (0..rows).map(|r| (0..cols).map(|c| j[(r, c)] * v[c]).sum()).collect();
        let u_j: Vec<f64> = (0..cols).map(|c| (0..rows).map(|r| u[r] * j[(r, c)]).sum()).collect();
        // Each entry of J v and u^T J is a sum of products: the bound is
        // relative to the largest of its terms' magnitudes (`agree`'s scale).
        if let Err(e) = agree(&jv, &j_v, 1e-10, 1e-4) {
            return Err(TestCaseError::fail(format!("jvp: {e}")));
        }
        if let Err(e) = agree(&uj, &u_j, 1e-10, 1e-4) {
            return Err(TestCaseError::fail(format!("vjp: {e}")));
        }
        let lhs: f64 = u.iter().zip(&jv).map(|(a, b)| a * b).sum();
        let rhs: f64 = uj.iter().zip(&v).map(|(a, b)| a * b).sum();
        let scale = j.as_slice().iter().fold(1e-4_f64, |m, e| m.max(e.abs())) * 9.0;
        prop_assert!((lhs - rhs).abs() <= 1e-10 * scale, "u.Jv = {lhs}, u^TJ.v = {rhs}");
    }
}

/// A steep `f` that the step resolves (`exp(1e4 x)`: its scale 1e-4 is a
/// hundred steps): the first quotient fails a right gradient and the
/// extrapolation passes it; a gradient wrong by 3e-5 (three tolerances,
/// less than the estimate's change when its step doubles) fails, and the
/// extrapolation, accurate to 1e-9 here, says it is the gradient's: no
/// hint to lower the step (f does not vary on a scale below it).
#[test]
fn gradcheck_gives_no_step_hint_for_a_wrong_gradient_of_a_steep_f_the_step_resolves() {
    let f = |x: &[f64]| (1e4 * x[0]).exp();
    let cfg = GradcheckConfig {
        directions: 0,
        ..GradcheckConfig::default()
    };
    autodiff::gradcheck_fn(f, &[1e4], &[0.0], &cfg)
        .unwrap()
        .assert_passed();
    let report = autodiff::gradcheck_fn(f, &[1e4 + 0.3], &[0.0], &cfg).unwrap();
    assert!(!report.passed(), "{report}");
    assert!(!report.to_string().contains("step doubles"), "{report}");
    // At a step of a fifth of its scale, the extrapolation fails the right
    // gradient too, and does not settle: that is the step's.
    let coarse = GradcheckConfig { step: 2e-5, ..cfg };
    let report = autodiff::gradcheck_fn(f, &[1e4], &[0.0], &coarse).unwrap();
    assert!(!report.passed(), "{report}");
    assert!(report.to_string().contains("step doubles"), "{report}");
}

/// `step_change` is 0 where the first quotient passed, and `|D(t) -
/// D(2 t)|` where the extrapolation passed: for `exp(1e4 x)` at 0, `D(t) =
/// 1e4 sinh(1e4 t) / (1e4 t)`, so `D(2 t) - D(t) = 1e4 (4 - 1) (1e4 t)^2 / 6`
/// to first order: 0.5 at `t = 1e-6`.
#[test]
fn gradcheck_step_change_is_zero_for_a_first_pass_and_the_change_for_an_extrapolated_one() {
    let cfg = GradcheckConfig {
        directions: 0,
        ..GradcheckConfig::default()
    };
    let report =
        autodiff::gradcheck_fn(|x: &[f64]| x[0].sin(), &[0.3f64.cos()], &[0.3], &cfg).unwrap();
    assert_eq!(report.worst().unwrap().step_change, 0.0, "{report}");
    let report =
        autodiff::gradcheck_fn(|x: &[f64]| (1e4 * x[0]).exp(), &[1e4], &[0.0], &cfg).unwrap();
    let w = report.worst().unwrap();
    assert!(w.passed(), "{report}");
    assert!((w.step_change - 0.5).abs() < 1e-3, "{}", w.step_change);
}
