//! User-defined matrix primitives (`Tape::custom`): a rule given as a
//! closure gives the gradients of the built-in op it re-implements, and
//! of finite differences; it accumulates where an input has several
//! consumers; constants are not asked for a gradient; closures are dropped
//! with the recording.

mod common;

use autodiff::{Error, GradcheckConfig, Mat, Matrix, Shape, Tape};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use autodiff::strategies::matrix as mat;

/// `a b` as a custom primitive: dA = G B^T, dB = A^T G, written with
/// plain loops (the vector-Jacobian product of seed (5.11)-(5.13)'s
/// products).
fn custom_matmul<'t>(a: Mat<'t, f64>, b: Mat<'t, f64>) -> Mat<'t, f64> {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    let (av, bv) = (a.to_vec(), b.to_vec());
    let y: Vec<f64> = (0..m * n)
        .map(|p| (0..k).map(|q| av[p / n * k + q] * bv[q * n + p % n]).sum())
        .collect();
    a.tape()
        .custom(&[a, b], Shape::new(m, n), &y, move |ctx, which, g| {
            let (a, b, gy) = (ctx.input(0), ctx.input(1), ctx.output_grad());
            if which == 0 {
                for (p, g) in g.iter_mut().enumerate() {
                    let (i, q) = (p / k, p % k);
                    *g += (0..n).map(|j| gy[i * n + j] * b[q * n + j]).sum::<f64>();
                }
            } else {
                for (p, g) in g.iter_mut().enumerate() {
                    let (q, j) = (p / n, p % n);
                    *g += (0..m).map(|i| a[i * k + q] * gy[i * n + j]).sum::<f64>();
                }
            }
        })
        .unwrap()
}

/// `sum(R * y)`, so that the output's gradient is the full matrix `R`.
fn weighted<'t>(y: Mat<'t, f64>, r: &Matrix<f64>) -> autodiff::Var<'t, f64> {
    (y * y.tape().matrix_const(r)).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_custom_matmul_has_the_gradients_of_the_built_in_and_of_finite_differences(
        (m, k, n) in (1..6usize, 1..6usize, 1..6usize),
        seed in mat(5, 5), other in mat(5, 5), r in mat(5, 5)
    ) {
        let a = Matrix::from_fn(m, k, |i, j| seed[(i, j)]);
        let b = Matrix::from_fn(k, n, |i, j| other[(i, j)]);
        let r = Matrix::from_fn(m, n, |i, j| r[(i, j)]);
        let grads = |custom: bool| {
            let tape = Tape::new();
            let (x, w) = (tape.matrix(&a), tape.matrix(&b));
            let y = if custom { custom_matmul(x, w) } else { x.matmul(w) };
            let l = weighted(y, &r);
            let g = tape.backward(l);
            (l.value(), g[x].to_vec(), g[w].to_vec())
        };
        let (vc, gac, gbc) = grads(true);
        let (vb, gab, gbb) = grads(false);
        prop_assert!(common::close(vc, vb, 1e-12));
        for (c, b) in gac.iter().chain(&gbc).zip(gab.iter().chain(&gbb)) {
            prop_assert!(common::close(*c, *b, 1e-12), "custom {} built-in {}", c, b);
        }
        // Against central differences of the custom op's own value.
        let cfg = GradcheckConfig { atol: 1e-6, rtol: 1e-6, ..Default::default() };
        let report = autodiff::gradcheck_mats(
            |v| weighted(custom_matmul(v[0], v[1]), &r),
            &[a.clone(), b.clone()],
            &cfg,
        )
        .unwrap();
        prop_assert!(report.passed(), "{}", report);
    }
}

/// `x^3` elementwise as a custom primitive.
fn cube(x: Mat<'_, f64>) -> Mat<'_, f64> {
    let y: Vec<f64> = x.to_vec().iter().map(|v| v * v * v).collect();
    x.tape()
        .custom(&[x], x.shape(), &y, |ctx, _, g| {
            for ((g, &x), &gy) in g.iter_mut().zip(ctx.input(0)).zip(ctx.output_grad()) {
                *g += 3.0 * x * x * gy;
            }
        })
        .unwrap()
}

#[test]
fn an_input_with_other_consumers_accumulates_the_custom_contribution() {
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(1, 2), &[2.0, -1.0]).unwrap();
    // Consumers of x recorded after the custom node (swept first) and
    // before it; the custom output used twice.
    let before = x * x;
    let c = cube(x);
    let l = (c + c * x + before + x).sum();
    let g = tape.backward(l);
    // d/dx [x^3 + x^4 + x^2 + x] = 3 x^2 + 4 x^3 + 2 x + 1
    let want = |x: f64| 3.0 * x * x + 4.0 * x * x * x + 2.0 * x + 1.0;
    assert_eq!(g[x], [want(2.0), want(-1.0)]);
}

#[test]
fn the_same_matrix_twice_among_the_inputs_gets_both_contributions() {
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(2, 1), &[3.0, 0.5]).unwrap();
    let y: Vec<f64> = x.to_vec().iter().map(|v| v * v).collect();
    // y = a * b with a = b = x: the closure is called for k = 0 and k = 1.
    let sq = tape
        .custom(&[x, x], x.shape(), &y, |ctx, k, g| {
            let other = ctx.input(1 - k);
            for ((g, &o), &gy) in g.iter_mut().zip(other).zip(ctx.output_grad()) {
                *g += o * gy;
            }
        })
        .unwrap();
    assert_eq!(tape.backward(sq.sum())[x], [6.0, 1.0]);
}

#[test]
fn a_constant_input_is_not_asked_for_a_gradient_and_the_context_has_the_shapes() {
    let calls = Arc::new(AtomicUsize::new(0));
    let tape = Tape::<f64>::new();
    let w = tape.mat(Shape::new(1, 3), &[1.0, 2.0, 3.0]).unwrap();
    let c = tape.mat_const(Shape::new(2, 1), &[10.0, 20.0]).unwrap();
    // y = c w (outer product, 2 x 3)
    let y: Vec<f64> = [10.0, 20.0]
        .iter()
        .flat_map(|a| [1.0, 2.0, 3.0].map(|b| a * b))
        .collect();
    let seen = calls.clone();
    let outer = tape
        .custom(&[c, w], Shape::new(2, 3), &y, move |ctx, k, g| {
            seen.fetch_add(1, Ordering::Relaxed);
            assert_eq!(k, 1, "only the variable takes a gradient");
            assert_eq!(ctx.num_inputs(), 2);
            assert_eq!(ctx.input_shape(0), Shape::new(2, 1));
            assert_eq!(ctx.output_shape(), Shape::new(2, 3));
            assert_eq!(ctx.output()[5], 60.0);
            let (c, gy) = (ctx.input(0), ctx.output_grad());
            for (j, g) in g.iter_mut().enumerate() {
                *g += c[0] * gy[j] + c[1] * gy[3 + j];
            }
        })
        .unwrap();
    let g = tape.backward(outer.sum());
    assert_eq!(g[w], [30.0, 30.0, 30.0]);
    assert_eq!(g[c], [0.0, 0.0]);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    // An output nothing depends on calls nothing.
    let _unused = cube(w);
    tape.backward(w.sum());
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

#[test]
fn a_value_of_the_wrong_length_is_a_typed_error() {
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(2, 2), &[1.0; 4]).unwrap();
    let e = tape
        .custom(&[x], Shape::new(2, 2), &[1.0; 3], |_, _, _| {})
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::LengthMismatch {
                what: "Tape::custom",
                expected: 4,
                got: 3
            }
        ),
        "{e}"
    );
}

#[test]
#[should_panic(expected = "another Tape")]
fn an_input_from_another_tape_panics_naming_the_problem() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let x = t1.mat(Shape::new(1, 1), &[1.0]).unwrap();
    let _ = t2.custom(&[x], Shape::new(1, 1), &[1.0], |_, _, _| {});
}

/// A rule asking for an input the op does not have panics naming both
/// numbers, not with an index error inside the library.
#[test]
#[should_panic(expected = "custom op: input 1 asked for, the op has 1 inputs")]
fn a_rule_asking_for_an_input_out_of_range_panics_naming_it() {
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(1, 1), &[1.0]).unwrap();
    let y = tape
        .custom(&[x], x.shape(), &[1.0], |ctx, _, _| {
            let _ = ctx.input(1);
        })
        .unwrap();
    let _ = tape.backward(y.sum());
}

#[test]
fn clearing_the_tape_drops_the_closures_and_a_tape_with_one_is_send() {
    fn send<S: Send>(_: &S) {}
    let held = Arc::new(());
    let mut tape = Tape::<f64>::new();
    {
        let x = tape.mat(Shape::new(1, 1), &[1.0]).unwrap();
        let h = held.clone();
        let _ = tape
            .custom(&[x], x.shape(), &[1.0], move |_, _, _| {
                let _ = &h;
            })
            .unwrap();
    }
    send(&tape);
    assert_eq!(Arc::strong_count(&held), 2);
    tape.clear();
    assert_eq!(Arc::strong_count(&held), 1);
}

/// `sum(x * w)` where the rule of `x * w` gets entry `bad` of `w`'s
/// gradient wrong by a factor 2.
fn weighted_with_a_wrong_entry<'t>(m: &[Mat<'t, f64>], bad: usize) -> autodiff::Var<'t, f64> {
    let (x, w) = (m[0], m[1]);
    let y: Vec<f64> = x
        .to_vec()
        .iter()
        .zip(w.to_vec())
        .map(|(a, b)| a * b)
        .collect();
    let p = x
        .tape()
        .custom(&[x, w], x.shape(), &y, move |ctx, k, g| {
            let (other, gy) = (ctx.input(1 - k), ctx.output_grad());
            for (j, g) in g.iter_mut().enumerate() {
                let wrong = if k == 1 && j == bad { 2.0 } else { 1.0 };
                *g += wrong * other[j] * gy[j];
            }
        })
        .unwrap();
    p.sum()
}

#[test]
fn gradcheck_mats_names_the_wrong_entry_counting_through_the_inputs_in_order() {
    let x = Matrix::new(2, 3, vec![0.5, -1.0, 2.0, 0.25, 1.5, -0.5]).unwrap();
    let w = Matrix::new(2, 3, vec![1.0, 2.0, -3.0, 0.5, -1.5, 4.0]).unwrap();
    let cfg = GradcheckConfig::default();
    // A right rule passes.
    autodiff::gradcheck_mats(
        |m| weighted_with_a_wrong_entry(m, usize::MAX),
        &[x.clone(), w.clone()],
        &cfg,
    )
    .unwrap()
    .assert_passed();
    // Entry 4 of w is coordinate 6 + 4 of the inputs laid end to end.
    let report = autodiff::gradcheck_mats(
        |m| weighted_with_a_wrong_entry(m, 4),
        &[x.clone(), w.clone()],
        &cfg,
    )
    .unwrap();
    assert!(!report.passed());
    // With the 12 coordinates probed alone, only one fails.
    let alone = GradcheckConfig {
        directions: 0,
        ..cfg
    };
    let by_coordinate = autodiff::gradcheck_mats(
        |m| weighted_with_a_wrong_entry(m, 4),
        &[x.clone(), w.clone()],
        &alone,
    )
    .unwrap();
    assert_eq!((by_coordinate.failures, by_coordinate.probes), (1, 12));
    // Named by its input and entry too: w is input 1, entry 4 is (1, 1).
    assert!(
        report
            .to_string()
            .contains("worst coordinate 10 (input 1, entry (1, 1)):"),
        "{report}"
    );
    assert_eq!(report.matrix_entry(10), Some((1, 1, 1)));
    assert_eq!(
        (report.matrix_entry(5), report.matrix_entry(12)),
        (Some((0, 1, 2)), None)
    );
    // Its analytic value is twice x's entry 4, its numeric one x's entry 4.
    let worst = report.worst_coordinate.unwrap();
    assert!(common::close(worst.analytic, 3.0, 1e-12) && common::close(worst.numeric, 1.5, 1e-6));
}

#[test]
fn gradcheck_mats_refuses_inputs_without_entries_and_a_config_that_checks_nothing() {
    fn f<'t>(m: &[Mat<'t, f64>]) -> autodiff::Var<'t, f64> {
        m[0].sum()
    }
    let e = autodiff::gradcheck_mats(f, &[Matrix::zeros(0, 3)], &GradcheckConfig::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::EmptyInput {
                what: "gradcheck_mats"
            }
        ),
        "{e}"
    );
    let nothing = GradcheckConfig {
        per_coordinate: false,
        directions: 0,
        ..Default::default()
    };
    let e = autodiff::gradcheck_mats(f, &[Matrix::zeros(1, 1)], &nothing).unwrap_err();
    assert!(matches!(e, Error::OutOfRange { .. }), "{e}");
}

thread_local! {
    static TAPE: Tape<f64> = Tape::new();
}

#[test]
fn a_closure_recording_scalars_on_the_tape_being_differentiated_leaves_the_gradient_right() {
    // The closure reaches its own tape through a thread-local and records
    // enough scalar operations to grow the statement list mid-sweep.
    TAPE.with(|tape| {
        let s = tape.var(3.0);
        let x = tape.mat(Shape::new(1, 2), &[1.0, 2.0]).unwrap();
        let y = tape
            .custom(&[x], x.shape(), &[2.0, 4.0], |ctx, _, gx| {
                TAPE.with(|t| {
                    let mut v = t.var(1.0);
                    for _ in 0..10_000 {
                        v = v * 1.0001 + 0.5;
                    }
                    assert!(v.value().is_finite());
                });
                for (g, &gy) in gx.iter_mut().zip(ctx.output_grad()) {
                    *g += 2.0 * gy;
                }
            })
            .unwrap();
        // Scalar statements before and after the matrix node.
        let loss = y.sum() * (s * s);
        let g = tape.backward(loss);
        assert_eq!(g[x], [18.0, 18.0]);
        assert_eq!(g[s], 6.0 * 6.0);
    });
}

#[test]
fn a_reused_gradient_store_holds_no_stale_values_where_the_custom_rule_writes_first() {
    // x's only consumer is the custom node, so its closure makes the first
    // write into x's gradient: the buffer must read as zeros then, not as
    // the previous backward pass's values.
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(1, 2), &[2.0, -1.0]).unwrap();
    let c = cube(x);
    let (l1, l2) = (c.sum(), c.scale(2.0).sum());
    let mut g = autodiff::Grads::empty();
    tape.backward_into(l1, &mut g);
    assert_eq!(g[x], [12.0, 3.0]);
    tape.backward_into(l2, &mut g);
    assert_eq!(g[x], [24.0, 6.0]);
    tape.backward_into(l2, &mut g);
    assert_eq!(g[x], tape.backward(l2)[x]);
}
