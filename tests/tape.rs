//! The tape's mechanics: fan-out, deep chains, constants, reuse after
//! `clear`, and misuse across tapes.

use autodiff::{Grads, Real, Recording, Shape, Tape, Var};

#[path = "common/functions.rs"]
mod functions;
use functions::rosenbrock;

#[test]
fn negation_and_scaling_by_a_constant_keep_the_sign_of_a_zero() {
    // As in f64: computed as `x c + 0`, `-0.0` would become `+0.0`, and
    // atan2 or recip of it would differ from the plain-float value by 2 pi
    // or by the sign of infinity.
    let tape = Tape::new();
    let x = tape.var(0.0);
    let c = Var::<f64>::constant(0.0);
    for (i, (y, want)) in [
        (-x, -0.0_f64),
        (x * -2.0, -0.0),
        (-2.0 * x, -0.0),
        (-(-x), 0.0),
        (-c, -0.0),
        (c * -1.0, -0.0),
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(y.value().to_bits(), want.to_bits(), "case {i}");
    }
    assert_eq!((-x).recip().value(), f64::NEG_INFINITY);
    fn f<T: Real>(x: &[T]) -> T {
        (-x[0]).atan2(x[1])
    }
    let x = [0.0, -1.0];
    let (v, g) = autodiff::value_and_grad(|x| f(x), &x).unwrap();
    assert_eq!(v, f(&x));
    assert_eq!(v, -std::f64::consts::PI);
    assert_eq!(g, vec![1.0, 0.0]);
}

#[test]
fn fan_out_accumulates_adjoints() {
    let tape = Tape::new();
    let x = tape.var(3.0);
    // d/dx (x x) = 2x, d/dx (x + x) = 2, d/dx (x x x + x) = 3x^2 + 1
    assert_eq!(tape.backward(x * x)[x], 6.0);
    assert_eq!(tape.backward(x + x)[x], 2.0);
    assert_eq!(tape.backward(x * x * x + x)[x], 28.0);
    // A shared subexpression used twice.
    let s = x.sin();
    let y = s * s + s;
    let want = 2.0 * 3.0_f64.sin() * 3.0_f64.cos() + 3.0_f64.cos();
    assert!((tape.backward(y)[x] - want).abs() < 1e-15);
}

#[test]
fn million_op_chain_backward_does_not_overflow_the_stack() {
    // Run on a thread with a small stack: a recursive sweep would overflow.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let tape = Tape::with_capacity(1_000_001);
            let x = tape.var(1.0);
            let mut y = x;
            for _ in 0..1_000_000 {
                y = y * 1.000001 + 0.0; // one statement each, d/dy = 1.000001
            }
            let g = tape.backward(y);
            assert!(tape.len() >= 1_000_001);
            let want = 1.000001_f64.powi(1_000_000);
            assert!((g[x] - want).abs() < 1e-9 * want, "{} vs {want}", g[x]);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn constants_record_nothing_and_have_zero_gradient() {
    let tape = Tape::new();
    let x = tape.var(2.0);
    let before = tape.len();
    let c = Var::constant(5.0);
    let k = c * c + c.sin(); // constants only: nothing recorded
    assert_eq!(tape.len(), before);
    assert!(k.is_constant());
    let y = x * k;
    assert_eq!(
        tape.len(),
        before + 1,
        "a constant operand costs no statement of its own"
    );
    let g = tape.backward(y);
    assert_eq!(g[x], 25.0 + 5.0_f64.sin());
    assert_eq!(g[c], 0.0);
    // A constant output: zero gradient everywhere.
    assert_eq!(tape.backward(k)[x], 0.0);
}

#[test]
fn gradient_with_respect_to_intermediate_values() {
    let tape = Tape::new();
    let x = tape.var(0.5);
    let u = x.exp();
    let y = u * u;
    let g = tape.backward(y);
    assert_eq!(g[u], 2.0 * u.value());
    assert_eq!(g[y], 1.0);
    assert_eq!(g[x], 2.0 * u.value() * u.value());
}

#[test]
fn reusing_a_tape_after_clear_gives_the_same_gradients() {
    fn f<T: Real>(x: &[T]) -> T {
        x[0].sin() * x[1] + x[1].exp()
    }
    let mut tape = Tape::new();
    let mut grads = Grads::empty();
    let mut first = None;
    for round in 0..3 {
        tape.clear();
        assert!(tape.is_empty());
        let xs = tape.vars(&[0.3, 0.7]);
        tape.backward_into(f(&xs), &mut grads);
        let g = grads.wrt_all(&xs);
        match &first {
            None => first = Some(g),
            Some(f0) => assert_eq!(&g, f0, "round {round}"),
        }
    }
}

#[test]
#[should_panic(expected = "another Tape")]
fn combining_vars_of_two_tapes_panics_naming_the_problem() {
    let (a, b) = (Tape::new(), Tape::new());
    let _ = a.var(1.0) + b.var(2.0);
}

#[test]
#[should_panic(expected = "another Tape")]
fn backward_of_a_var_from_another_tape_panics() {
    let (a, b) = (Tape::new(), Tape::new());
    let y = b.var(1.0);
    let _ = a.backward(y);
}

#[test]
#[should_panic(expected = "another tape")]
fn gradients_refuse_a_handle_of_another_tape() {
    let (a, b) = (Tape::new(), Tape::new());
    let x = a.var(1.0);
    let z = b.var(1.0);
    let g = a.backward(x * x);
    let _ = g[z];
}

#[test]
#[should_panic(expected = "after these gradients were computed")]
fn gradients_refuse_a_handle_recorded_after_clear() {
    let mut tape = Tape::new();
    let g = {
        let x = tape.var(1.0);
        tape.backward(x * x)
    };
    tape.clear();
    let x = tape.var(1.0);
    let _ = g[x];
}

#[test]
#[should_panic(expected = "another Tape")]
fn combining_matrices_of_two_tapes_panics() {
    let (a, b) = (Tape::<f64>::new(), Tape::<f64>::new());
    let s = Shape::new(1, 1);
    let _ = a.mat(s, &[1.0]).unwrap() + b.mat(s, &[1.0]).unwrap();
}

#[test]
fn jacobian_of_a_vector_function_matches_hand_derivation() {
    // f(x, y) = (x y, sin x, x + y^2)
    let j = autodiff::jacobian(
        |v| vec![v[0] * v[1], v[0].sin(), v[0] + v[1] * v[1]],
        &[0.5, 2.0],
    )
    .unwrap();
    let want = [2.0, 0.5, 0.5_f64.cos(), 0.0, 1.0, 4.0];
    assert_eq!(j.shape(), Shape::new(3, 2));
    for (a, b) in j.as_slice().iter().zip(want) {
        assert!((a - b).abs() < 1e-15);
    }
}

#[test]
fn scalar_op_costs_at_most_32_bytes_of_tape() {
    const { assert!(Tape::<f64>::BYTES_PER_SCALAR_OP <= 32) };
    // Two u32 indices and two partials, for any operation.
    assert_eq!(Tape::<f64>::BYTES_PER_SCALAR_OP, 24);
    assert_eq!(Tape::<f32>::BYTES_PER_SCALAR_OP, 16);
    let tape = Tape::with_capacity(2048);
    let x = tape.var(1.0);
    let mut y = x;
    for _ in 0..1000 {
        y *= x;
    }
    assert_eq!(tape.len(), 1001);
    assert!(tape.memory_bytes() <= 1002 * 24);
}

#[test]
fn backward_from_an_earlier_output_skips_the_binary_statements_after_it() {
    let tape = Tape::new();
    let (x, y) = (tape.var(2.0), tape.var(5.0));
    let f = x * y + x.sin();
    // Recorded after f: binary and unary statements f does not depend on.
    let g = (x * y) * (y - x) + (f * x).exp();
    let gf = tape.backward(f);
    assert_eq!((gf[x], gf[y]), (5.0 + 2.0_f64.cos(), 2.0));
    // d/dx [x y (y - x)] = y (y - x) - x y = 5, d/dy = x (y - x) + x y = 16
    let e = (f.value() * 2.0).exp();
    let gg = tape.backward(g);
    let dfdx = 5.0 + 2.0_f64.cos();
    assert!((gg[x] - (5.0 + e * (dfdx * 2.0 + f.value()))).abs() < 1e-9 * e);
    assert!((gg[y] - (16.0 + e * 2.0 * 2.0)).abs() < 1e-9 * e);
}

#[test]
fn an_infinite_adjoint_does_not_turn_unused_slots_into_nan() {
    // d/dx exp(x) overflows to infinity; the leaf y (unused by the
    // overflowing branch) keeps a finite gradient.
    let tape = Tape::new();
    let (x, y) = (tape.var(1000.0), tape.var(3.0));
    let f = x.exp() + y * 2.0;
    let g = tape.backward(f);
    assert_eq!(g[x], f64::INFINITY);
    assert_eq!(g[y], 2.0);
    // An infinite adjoint reaching a unary statement and a leaf: both
    // stay infinite (a zero partial for a missing input would add 0 * inf).
    let t = y.sin();
    let h = x.exp() * t;
    let g = tape.backward(h);
    assert_eq!(g[t], f64::INFINITY);
    assert_eq!(g[y], f64::NEG_INFINITY); // cos 3 < 0
}

#[test]
fn preaccumulating_records_only_operations_of_two_recorded_inputs() {
    // Extended Rosenbrock's term: 8 operations, 3 of which combine two
    // nodes (x_{i+1} - x_i^2, the sum of the squares, the running sum).
    let x: Vec<f64> = (0..6).map(|i| 0.3 * i as f64 - 0.7).collect();
    let lean = Tape::<f64>::preaccumulating();
    let full = Tape::<f64>::new();
    assert!(lean.preaccumulates() && !full.preaccumulates());
    let (xl, xf) = (lean.vars(&x), full.vars(&x));
    let (yl, yf) = (rosenbrock(&xl), rosenbrock(&xf));
    assert_eq!(yl.value(), yf.value());
    // The first term's running sum is a constant plus a node: not recorded.
    assert_eq!(lean.len(), x.len() + 3 * (x.len() - 1) - 1);
    assert_eq!(full.len(), x.len() + 8 * (x.len() - 1));
    let (gl, gf) = (lean.backward(yl), full.backward(yf));
    for (&a, &b) in xl.iter().zip(&xf) {
        assert!((gl[a] - gf[b]).abs() <= 1e-13 * gf[b].abs().max(1.0));
    }
}

#[test]
fn an_output_that_is_not_a_node_seeds_the_sweep_with_its_derivative() {
    let tape = Tape::<f64>::preaccumulating();
    let x = tape.var(0.25);
    let y = (3.0 * x.sin()).exp() - 1.0; // a chain of one-input operations
    assert!(!y.is_node() && x.is_node());
    assert_eq!(tape.len(), 1);
    let g = tape.backward(y);
    let want = 3.0 * 0.25_f64.cos() * (3.0 * 0.25_f64.sin()).exp();
    assert!((g[x] - want).abs() < 1e-15);
    // `x * x` and `x + x` are operations of one recorded input too.
    let z = x * x + x;
    assert!(!z.is_node());
    assert_eq!(tape.backward(z)[x], 2.0 * 0.25 + 1.0);
}

#[test]
#[should_panic(expected = "records no gradient for it")]
fn the_gradient_of_a_value_a_preaccumulating_tape_did_not_record_panics() {
    let tape = Tape::<f64>::preaccumulating();
    let x = tape.var(0.5);
    let u = x.exp();
    let g = tape.backward(u * tape.var(2.0));
    let _ = g[u];
}

#[test]
fn preaccumulation_keeps_infinite_and_nan_derivatives() {
    let tape = Tape::<f64>::preaccumulating();
    let (x, y) = (tape.var(0.0), tape.var(3.0));
    // sqrt's derivative at 0 is infinite; times the constant 0 the chain's
    // derivative is NaN (0 * inf, formed at recording), while the value is
    // finite and the other input's gradient stays exact.
    let f = x.sqrt() * 0.0 + y * 2.0;
    assert_eq!(f.value(), 6.0);
    let g = tape.backward(f);
    assert!(g[x].is_nan());
    assert_eq!(g[y], 2.0);
    // A NaN value propagates as NaN, no panic.
    let h = (-tape.var(1.0)).sqrt() * y;
    let g = tape.backward(h);
    assert!(h.value().is_nan() && g[y].is_nan());
}

#[test]
fn a_value_the_output_does_not_use_cannot_spoil_the_gradient() {
    // x[1] = 0: the unused quotient's partials are infinite.
    fn f<'t, M: Recording>(x: &[Var<'t, f64, M>]) -> Var<'t, f64, M> {
        let _unused = x[0] / x[1];
        x[0] * x[2]
    }
    assert_eq!(
        autodiff::grad(f, &[1.0, 0.0, 3.0]).unwrap(),
        vec![3.0, 0.0, 1.0]
    );
    // On a tape recording every operation too.
    let tape = Tape::<f64>::new();
    let x = tape.vars(&[1.0, 0.0, 3.0]);
    let g = tape.backward(f(&x));
    assert_eq!((g[x[0]], g[x[1]], g[x[2]]), (3.0, 0.0, 1.0));
    // A Jacobian's row is not spoiled by the statements of an earlier
    // output (ln at 0).
    let j = autodiff::jacobian(|x| vec![x[0].ln() * x[1], x[1] * x[2]], &[0.0, 2.0, 3.0]).unwrap();
    assert_eq!(&j.as_slice()[3..], &[0.0, 3.0, 2.0]);
}

#[test]
fn division_by_a_zero_or_subnormal_denominator_keeps_the_rule_of_a_over_b() {
    fn check<M: Recording>(tape: Tape<f64, M>) {
        let (a, b) = (tape.var(1e-320), tape.var(1e-310));
        let q = a / b;
        let g = tape.backward(q);
        // -a / b^2 = -y / b, finite although 1 / b overflows.
        assert_eq!(g[b], -q.value() / 1e-310);
        assert!(g[b].is_finite());
        let (a0, b0) = (tape.var(0.0), tape.var(1e-310));
        assert_eq!(tape.backward(a0 / b0)[b0], 0.0);
        // The constant-numerator path.
        let r = 1e-320 / b;
        assert_eq!(tape.backward(r)[b], -r.value() / 1e-310);
    }
    check(Tape::new());
    check(Tape::preaccumulating());
}

#[test]
fn inputs_recorded_first_over_an_earlier_recording_have_exact_gradients() {
    // The first recording leaves statements with nonzero partials where
    // the second records its inputs (whose statements are not written):
    // no sweep may read them.
    fn check<M: Recording>(mut tape: Tape<f64, M>) {
        {
            let x = tape.vars(&[0.5, 1.5]);
            let mut y = x[0] * x[1];
            for _ in 0..20 {
                y = y * x[0] + x[1].sin() * y;
            }
            assert!(tape.backward(y)[x[0]].is_finite());
        }
        tape.clear();
        let x = tape.vars(&[1.0; 16]);
        let mut y = x[3] * x[3];
        for &xi in &x {
            y += xi;
        }
        let g = tape.backward(y);
        let want: Vec<f64> = (0..16).map(|i| if i == 3 { 3.0 } else { 1.0 }).collect();
        assert_eq!(g.wrt_all(&x), want);
    }
    check(Tape::new());
    check(Tape::preaccumulating());
}

#[test]
fn clear_forgets_the_inputs_recorded_first() {
    fn check<M: Recording>(mut tape: Tape<f64, M>) {
        {
            let x = tape.vars(&[1.0; 4]);
            let _ = tape.backward(x[0] * x[1]);
        }
        tape.clear();
        // Recorded by `var` (written statements), below the 4 of before.
        let a = tape.var(2.0);
        let b = tape.var(3.0);
        let g = tape.backward(a * b);
        assert_eq!((g[a], g[b]), (3.0, 2.0));
    }
    check(Tape::new());
    check(Tape::preaccumulating());
}

#[test]
fn evaluator_resets_the_adjoints_of_inputs_the_function_records() {
    // The function records an input of its own right after the
    // evaluator's (counted among the unwritten leaves) on one branch.
    fn f<'t>(x: &[autodiff::PVar<'t, f64>]) -> autodiff::PVar<'t, f64> {
        if x[0].value() > 0.0 {
            let c = x[0].tape().unwrap().vars(&[2.0])[0];
            x[0] * c
        } else {
            let a = x[0] * x[1];
            a * x[0]
        }
    }
    let mut ev = autodiff::Evaluator::new();
    let mut g = [0.0; 2];
    ev.value_and_grad(f, &[3.0, 1.0], &mut g).unwrap();
    assert_eq!(g, [2.0, 0.0]);
    ev.value_and_grad(f, &[-1.0, 5.0], &mut g).unwrap();
    assert_eq!(g, [-10.0, 1.0]);
}

#[test]
fn inputs_around_a_matrix_node_over_an_earlier_recording() {
    use autodiff::Shape;
    let mut tape = Tape::<f64>::new();
    {
        let x = tape.vars(&[0.5, 1.5]);
        let mut y = x[0] * x[1];
        for _ in 0..20 {
            y = y * x[0] + x[1].sin() * y;
        }
        let _ = tape.backward(y);
    }
    tape.clear();
    let a = tape.vars(&[1.0; 2]);
    // A matrix node between two batches of inputs: its mark (2) lies
    // inside the unwritten inputs (0..16), so the sweep segment above it
    // starts below them.
    let m = tape.mat(Shape::new(1, 2), &[1.0, 2.0]).unwrap();
    let b = tape.vars(&[1.0; 14]);
    let mut y = m.sum() * a[0];
    for &xi in a.iter().chain(&b) {
        y += xi;
    }
    let g = tape.backward(y);
    let mut want = vec![1.0; 16];
    want[0] = 4.0;
    let got: Vec<f64> = g.wrt_all(&a).into_iter().chain(g.wrt_all(&b)).collect();
    assert_eq!(got, want);
    assert_eq!(g[m], [1.0, 1.0]);
}

#[test]
fn inputs_recorded_after_other_statements_over_an_earlier_recording_have_exact_gradients() {
    let mut tape = autodiff::Tape::new();
    {
        // Leaves statements with nonzero partials in slots 2.. of the tape.
        let x = tape.vars(&[1.0, 2.0]);
        let _ = autodiff::Real::sin(x[0] * x[1]) * x[0];
    }
    tape.clear();
    let a = tape.var(3.0);
    let s = autodiff::Real::sin(a);
    // Slot 2, not recorded first: over the earlier recording's x0 * x1.
    let b = tape.vars(&[5.0])[0];
    let y = s * b;
    let g = tape.backward(y);
    assert!(
        (g[a] - 5.0 * 3.0_f64.cos()).abs() <= 1e-15 * 5.0,
        "{}",
        g[a]
    );
    assert_eq!(g[b], 3.0_f64.sin());
}

#[test]
fn min_and_max_of_two_recorded_inputs_are_nodes_on_a_preaccumulating_tape() {
    // As any result of two recorded inputs (`Var::is_node`): its own
    // gradient can be asked for, whichever input the selection chose.
    let tape = Tape::<f64>::preaccumulating();
    let (x, y) = (tape.var(-1.0), tape.var(2.0));
    for m in [x.max(y), y.min(x), x.max(3.0 * y)] {
        assert!(m.is_node());
        let g = tape.backward(m * m);
        assert_eq!(g[m], 2.0 * m.value());
    }
    // One recorded input on both sides is an operation of one input.
    assert!(!x.max(2.0 * x).is_node());
}

#[test]
fn a_selection_that_chose_no_recorded_input_is_a_constant_on_a_preaccumulating_tape() {
    // relu(x) for x < 0 and max(x, 0) for x < 0 depend on no input: nothing
    // is recorded for them, as for any constant.
    let tape = Tape::<f64>::preaccumulating();
    let x = tape.var(-1.0);
    let (r, m) = (x.relu(), x.max(Var::constant(0.0)));
    assert!(r.is_constant() && m.is_constant());
    assert_eq!(tape.len(), 1);
    assert_eq!(tape.backward(r.sqrt() + m.sqrt() + x)[x], 1.0);
}
