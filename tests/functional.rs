//! The function transformations against hand-written derivatives.

use autodiff::Real;

mod common;
#[path = "common/functions.rs"]
mod functions;

use common::fwd::Fwd;

use functions::{heavy, heavy_grad, rosenbrock};

/// d/dx_i of the extended Rosenbrock function, by hand.
fn rosenbrock_grad(x: &[f64]) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    functions::rosenbrock_grad(x, &mut g);
    g
}

#[test]
fn grad_of_the_heavy_function_equals_the_benches_hand_written_gradient() {
    // The scalar bench compares the tape against this hand-written
    // gradient, so it must be right.
    let x: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin() * 1.5).collect();
    let (v, g) = autodiff::value_and_grad(|x| heavy(x), &x).unwrap();
    let mut hand = vec![0.0; x.len()];
    let hv = heavy_grad(&x, &mut hand);
    assert!((v - hv).abs() <= 1e-12 * hv.abs().max(1.0), "{v} vs {hv}");
    assert_eq!(v, heavy(&x));
    for (a, b) in g.iter().zip(&hand) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
    }
}

#[test]
fn grad_of_rosenbrock_equals_hand_written_gradient() {
    let x: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin() * 1.5).collect();
    let (v, g) = autodiff::value_and_grad(|x| rosenbrock(x), &x).unwrap();
    assert_eq!(v, rosenbrock(&x));
    for (a, b) in g.iter().zip(rosenbrock_grad(&x)) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
    }
}

#[test]
fn hessian_of_rosenbrock_equals_hand_written_hessian() {
    let x = [0.3, -0.8, 1.2];
    let h = autodiff::hessian(|x| rosenbrock(x), &x).unwrap();
    // d2/dx_i^2 = 2 - 400 (x_{i+1} - 3 x_i^2) [+ 200 from the previous term],
    // d2/dx_i dx_{i+1} = -400 x_i
    let mut want = [[0.0; 3]; 3];
    for i in 0..2 {
        want[i][i] += 2.0 - 400.0 * (x[i + 1] - 3.0 * x[i] * x[i]);
        want[i + 1][i + 1] += 200.0;
        want[i][i + 1] = -400.0 * x[i];
        want[i + 1][i] = -400.0 * x[i];
    }
    for i in 0..3 {
        for j in 0..3 {
            assert!(
                (h[(i, j)] - want[i][j]).abs() <= 1e-10 * want[i][j].abs().max(1.0),
                "H[{i},{j}]"
            );
        }
    }
}

#[test]
fn empty_input_is_a_typed_error() {
    let e = autodiff::grad(|x| x.iter().copied().sum(), &[]).unwrap_err();
    assert!(matches!(e, autodiff::Error::EmptyInput { .. }), "{e}");
    assert!(e.to_string().contains("empty"));
}

/// An empty input's error names the function the user called.
#[test]
fn an_empty_input_error_names_the_function_called() {
    use autodiff::{Error, GradcheckConfig};
    let what = |e: Error| match e {
        Error::EmptyInput { what } => what,
        e => panic!("not EmptyInput: {e}"),
    };
    fn sum<T: Real>(x: &[T]) -> T {
        x.iter().copied().sum()
    }
    let cfg = GradcheckConfig::default();
    assert_eq!(what(autodiff::grad(|x| sum(x), &[]).unwrap_err()), "grad");
    assert_eq!(
        what(autodiff::value_and_grad(|x| sum(x), &[]).unwrap_err()),
        "value_and_grad"
    );
    assert_eq!(
        what(autodiff::gradcheck(|x| sum(x), &[], &cfg).unwrap_err()),
        "gradcheck"
    );
    assert_eq!(
        what(autodiff::gradcheck_fn(sum, &[], &[], &cfg).unwrap_err()),
        "gradcheck"
    );
}

#[test]
fn evaluator_reused_across_functions_keeps_its_adjoints_clean() {
    // The Evaluator resets each adjoint once used; a call of another
    // function, a constant output and an output that is an input itself
    // follow one another on the same evaluator and must not see each
    // other's values.
    let mut ev = autodiff::Evaluator::new();
    let x = [0.3, -1.2, 2.0, 0.7];
    let mut g = [0.0; 4];
    for _ in 0..2 {
        let v = ev.value_and_grad(|x| rosenbrock(x), &x, &mut g).unwrap();
        assert_eq!(v, rosenbrock(&x));
        for (a, b) in g.iter().zip(rosenbrock_grad(&x)) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
        }

        ev.value_and_grad(|x| x[0] * x[3] + x[1].sin(), &x, &mut g)
            .unwrap();
        assert_eq!(g, [0.7, (-1.2_f64).cos(), 0.0, 0.3]);

        ev.value_and_grad(|_| autodiff::Var::constant(5.0), &x, &mut g)
            .unwrap();
        assert_eq!(g, [0.0; 4]);

        ev.value_and_grad(|x| x[2], &x, &mut g).unwrap();
        assert_eq!(g, [0.0, 0.0, 1.0, 0.0]);
    }
}

/// H(x) v of the extended Rosenbrock function, from its Hessian derived by
/// hand: each term adds 2 + 1200 x_i^2 - 400 x_{i+1} at (i, i), -400 x_i
/// at (i, i+1) and (i+1, i), and 200 at (i+1, i+1).
fn rosenbrock_hvp(x: &[f64], v: &[f64]) -> Vec<f64> {
    let mut hv = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let (a, b) = (x[i], x[i + 1]);
        let (hii, hij, hjj) = (2.0 + 1200.0 * a * a - 400.0 * b, -400.0 * a, 200.0);
        hv[i] += hii * v[i] + hij * v[i + 1];
        hv[i + 1] += hij * v[i] + hjj * v[i + 1];
    }
    hv
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
            "{what}[{k}]: {a} vs {b}"
        );
    }
}

#[test]
fn evaluator_hvp_and_grad_and_hvp_match_the_hand_derived_hessian_across_reuse() {
    // The dual tape's adjoints are reset once used, as the f64 tape's:
    // other functions, a constant output and an output that is an input,
    // between two rounds, must not leak into the next results.
    let x: Vec<f64> = (0..9).map(|i| (i as f64 * 0.7).sin() * 1.3).collect();
    let v: Vec<f64> = (0..9).map(|i| (i as f64 * 1.1).cos()).collect();
    let (want_hv, want_g) = (rosenbrock_hvp(&x, &v), rosenbrock_grad(&x));
    let mut ev = autodiff::Evaluator::new();
    let (mut g, mut hv) = (vec![0.0; 9], vec![0.0; 9]);
    for _ in 0..2 {
        let value = ev.hvp(|x| rosenbrock(x), &x, &v, &mut hv).unwrap();
        assert_eq!(value, rosenbrock(&x));
        assert_close(&hv, &want_hv, "hvp");
        // The free function is the same computation.
        assert_eq!(autodiff::hvp(|x| rosenbrock(x), &x, &v).unwrap(), hv);

        hv.fill(f64::NAN);
        let value = ev
            .grad_and_hvp(|x| rosenbrock(x), &x, &v, &mut g, &mut hv)
            .unwrap();
        assert_eq!(value, rosenbrock(&x));
        assert_close(&g, &want_g, "grad");
        assert_close(&hv, &want_hv, "grad_and_hvp");

        ev.value_and_grad(|x| rosenbrock(x), &x, &mut g).unwrap();
        assert_close(&g, &want_g, "value_and_grad");

        // x0^2 x1 on fewer inputs: H e_0 = [2 x1, 2 x0].
        let (mut g2, mut hv2) = ([0.0; 2], [0.0; 2]);
        ev.grad_and_hvp(
            |x| x[0] * x[0] * x[1],
            &[3.0, 5.0],
            &[1.0, 0.0],
            &mut g2,
            &mut hv2,
        )
        .unwrap();
        assert_eq!((g2, hv2), ([30.0, 9.0], [10.0, 6.0]));
        ev.hvp(
            |_| autodiff::Var::constant(autodiff::Dual::new(2.0, 0.0)),
            &x,
            &v,
            &mut hv,
        )
        .unwrap();
        assert_eq!(hv, [0.0; 9]);
        ev.grad_and_hvp(|x| x[4], &x, &v, &mut g, &mut hv).unwrap();
        assert_eq!(
            (&g[..], &hv[..]),
            (
                &[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0][..],
                &[0.0; 9][..]
            )
        );
    }
}

/// The fields of an [`autodiff::Error::LengthMismatch`].
fn length_mismatch(e: autodiff::Error) -> (&'static str, usize, usize) {
    match e {
        autodiff::Error::LengthMismatch {
            what,
            expected,
            got,
        } => (what, expected, got),
        other => panic!("expected LengthMismatch, got {other}"),
    }
}

#[test]
fn evaluator_second_order_names_each_buffer_of_the_wrong_length() {
    let what = length_mismatch;
    let mut ev = autodiff::Evaluator::new();
    let f = autodiff::second_order_fn(|x| x[0] * x[1]);
    let x = [1.0, 2.0];
    let (mut two, mut three) = ([0.0; 2], [0.0; 3]);
    assert_eq!(
        what(ev.hvp(f, &x, &[1.0], &mut two).unwrap_err()),
        ("hvp (direction v)", 2, 1)
    );
    assert_eq!(
        what(ev.hvp(f, &x, &[1.0, 0.0], &mut three).unwrap_err()),
        ("hvp (output hv)", 2, 3)
    );
    assert_eq!(
        what(
            ev.grad_and_hvp(f, &x, &[1.0, 0.0], &mut three, &mut two)
                .unwrap_err()
        ),
        ("grad_and_hvp (gradient buffer)", 2, 3)
    );
    assert!(matches!(
        ev.hvp(f, &[], &[], &mut []).unwrap_err(),
        autodiff::Error::EmptyInput { what: "hvp" }
    ));
    // Nothing was left half-done: the next call is right.
    ev.grad_and_hvp(f, &x, &[0.0, 1.0], &mut two, &mut [0.0; 2])
        .unwrap();
    assert_eq!(two, [2.0, 1.0]);
}

#[test]
fn the_evaluator_records_only_operations_of_two_recorded_inputs() {
    // Rosenbrock on 6 inputs: 3 statements per term, minus the first
    // running sum (a constant plus a node); a tape recording every
    // operation would hold 6 + 8 * 5.
    let mut ev = autodiff::Evaluator::new();
    let mut g = [0.0; 6];
    ev.value_and_grad(|x| rosenbrock(x), &[0.5; 6], &mut g)
        .unwrap();
    let per_op = autodiff::Tape::<f64>::BYTES_PER_SCALAR_OP;
    assert_eq!(ev.tape_bytes(), (6 + 3 * 5 - 1) * per_op);
}

#[test]
fn one_closure_with_literals_serves_grad_hvp_and_hessian() {
    // The same literal-mixing closure text for the f64 tape of `grad` and
    // the dual-number tape of `hvp` and `hessian`.
    let x = [0.7, -1.3];
    let g = autodiff::grad(|x| 2.0 * x[0] * x[0] * x[1] + x[1] / 4.0 - 1.0, &x).unwrap();
    assert_eq!(g, vec![4.0 * x[0] * x[1], 2.0 * x[0] * x[0] + 0.25]);
    let h = autodiff::hessian(|x| 2.0 * x[0] * x[0] * x[1] + x[1] / 4.0 - 1.0, &x).unwrap();
    let want = [[4.0 * x[1], 4.0 * x[0]], [4.0 * x[0], 0.0]];
    for (i, row) in want.iter().enumerate() {
        for (j, &w) in row.iter().enumerate() {
            assert!((h[(i, j)] - w).abs() < 1e-14, "H[{i}][{j}] = {}", h[(i, j)]);
        }
    }
    let hv = autodiff::hvp(
        |x| {
            let mut s = 1.0 - x[0];
            s *= 3.0;
            s += 0.5;
            s -= 2.0 / x[1];
            s / 2.0 * x[0]
        },
        &x,
        &[1.0, 0.0],
    )
    .unwrap();
    // f = (3 (1 - a) + 0.5 - 2 / b) a / 2: f_aa = -3, f_ab = 1 / b^2.
    assert!(
        (hv[0] + 3.0).abs() < 1e-14 && (hv[1] - 1.0 / (x[1] * x[1])).abs() < 1e-14,
        "{hv:?}"
    );
}

#[test]
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn one_closure_with_literal_comparisons_and_references_serves_grad_and_hvp() {
    // A branch on a literal (`x[0] > 0.0`, `0.0 < x[0]`, `x[0] == 0.0`) and
    // literals with references (`v * 2.0` over `x.iter()`) in the same
    // closure text for `grad`'s f64 tape and `hvp`'s and `hessian`'s tape
    // of dual numbers.
    macro_rules! f {
        () => {
            |x| {
                let s: Vec<_> = x.iter().map(|v| 2.0 * v - v / 4.0 + 1.0).collect();
                let t: Vec<_> = x.iter().map(|v| 1.0 - v * 3.0 + 1.0 / v).collect();
                let y = s[0] * s[1] + t[0] * t[1];
                if x[0] > 0.0 && 0.0 < x[1] && !(x[0] == 0.0) && 0.5 != x[1] {
                    y * x[0]
                } else {
                    -y
                }
            }
        };
    }
    fn plain<T: Real>(x: &[T]) -> T {
        let lit = T::from_f64;
        let s: Vec<T> = x.iter().map(|&v| lit(1.75) * v + lit(1.0)).collect();
        let t: Vec<T> = x
            .iter()
            .map(|&v| lit(1.0) - lit(3.0) * v + v.recip())
            .collect();
        let y = s[0] * s[1] + t[0] * t[1];
        if x[0] > T::zero() && x[1] > T::zero() {
            y * x[0]
        } else {
            -y
        }
    }
    for x in [[0.7, 1.3], [-0.7, 1.3], [0.7, -1.3]] {
        assert_eq!(
            autodiff::grad(f!(), &x).unwrap(),
            autodiff::grad(|x| plain(x), &x).unwrap()
        );
        let v = [0.25, -1.0];
        let hv = autodiff::hvp(f!(), &x, &v).unwrap();
        let want = autodiff::hvp(|x| plain(x), &x, &v).unwrap();
        for (a, b) in hv.iter().zip(&want) {
            assert!(
                (a - b).abs() <= 1e-13 * b.abs().max(1.0),
                "{hv:?} vs {want:?}"
            );
        }
        assert_eq!(
            autodiff::hessian(f!(), &x).unwrap().shape(),
            autodiff::Shape::new(2, 2)
        );
    }
    // And on plain dual numbers.
    let d = autodiff::Dual::new(0.5_f64, 1.0);
    assert!(d > 0.0 && 1.0 > d && d == 0.5 && 0.25 != d && d <= 0.5_f64);
}

#[test]
fn an_evaluator_moves_to_another_thread() {
    fn send<S: Send>(s: S) -> S {
        s
    }
    let mut ev = send(autodiff::Evaluator::new());
    let mut g = [0.0; 2];
    ev.value_and_grad(|x| x[0] * x[1], &[2.0, 3.0], &mut g)
        .unwrap();
    let g = std::thread::spawn(move || {
        let mut g = [0.0; 2];
        ev.value_and_grad(|x| x[0] * x[1].sin(), &[2.0, 0.0], &mut g)
            .unwrap();
        g
    })
    .join()
    .unwrap();
    assert_eq!(g, [0.0, 2.0]);
}

#[test]
fn min_and_max_differentiate_the_argument_whose_value_they_return() {
    // max(b, ln a) at a = -1: ln a is NaN, the value is NaN, and the
    // derivative goes to the ln branch (d/da ln a = 1/a = -1), not to b.
    let (v, g) = autodiff::value_and_grad(|x| x[1].max(x[0].ln()), &[-1.0, 2.0]).unwrap();
    assert!(v.is_nan());
    assert_eq!(g, vec![-1.0, 0.0]);
    let (v, g) = autodiff::value_and_grad(|x| x[0].min(x[1]), &[1.0, f64::NAN]).unwrap();
    assert!(v.is_nan());
    assert_eq!(g, vec![0.0, 1.0]);
}

#[test]
fn powf_with_exponent_zero_has_zero_derivative_at_base_zero() {
    let g = autodiff::grad(|x| x[0].powf(x[1]), &[0.0, 0.0]).unwrap();
    assert_eq!(g, vec![0.0, 0.0]);
}

/// `a b c + sin(d) + a^2`, through `with_partials` with partials computed by
/// the trait's operations (so that second derivatives are known), and the
/// same written out: the two must agree in value, gradient and Hessian.
fn custom<T: Real>(x: &[T]) -> T {
    let (a, b, c, d) = (x[0], x[1], x[2], x[3]);
    let y =
        T::from_f64(a.to_f64() * b.to_f64() * c.to_f64() + d.to_f64().sin() + a.to_f64().powi(2));
    // Input a appears twice (a partial for each occurrence), and a constant
    // input takes no gradient.
    T::with_partials(
        y,
        &[
            (a, b * c),
            (b, a * c),
            (c, a * b),
            (d, d.cos()),
            (a, T::from_f64(2.0) * a),
            (T::from_f64(7.0), T::from_f64(100.0)),
        ],
    )
}

fn custom_written_out<T: Real>(x: &[T]) -> T {
    x[0] * x[1] * x[2] + x[3].sin() + x[0] * x[0]
}

#[test]
fn a_primitive_of_ones_own_gives_the_gradient_and_hessian_of_the_function_written_out() {
    let x = [0.7, -1.3, 2.1, 0.4];
    let (v, g) = autodiff::value_and_grad(|x| custom(x), &x).unwrap();
    let (w, h) = autodiff::value_and_grad(|x| custom_written_out(x), &x).unwrap();
    assert!((v - w).abs() < 1e-15);
    for (a, b) in g.iter().zip(&h) {
        assert!((a - b).abs() < 1e-14, "{g:?} vs {h:?}");
    }
    let (hc, hw) = (
        autodiff::hessian(|x| custom(x), &x).unwrap(),
        autodiff::hessian(|x| custom_written_out(x), &x).unwrap(),
    );
    for (a, b) in hc.as_slice().iter().zip(hw.as_slice()) {
        assert!((a - b).abs() < 1e-14, "{hc:?} vs {hw:?}");
    }
    // The full tape records it too, and the independent forward mode agrees.
    let tape = autodiff::Tape::new();
    let xs = tape.vars(&x);
    let gr = tape.backward(custom(&xs));
    for (i, &xi) in xs.iter().enumerate() {
        assert!((gr[xi] - h[i]).abs() < 1e-14);
        let mut seed = [0.0; 4];
        seed[i] = 1.0;
        let f: Vec<Fwd> = x.iter().zip(seed).map(|(&v, d)| Fwd::var(v, d)).collect();
        assert!((custom(&f).d - h[i]).abs() < 1e-14);
    }
    // All inputs constant: a constant, on no tape.
    let c = custom(&[autodiff::PVar::constant(1.0); 4]);
    assert!(c.is_constant());
}

#[test]
fn the_hessian_of_powf_at_exponent_zero_is_symmetric_and_exact() {
    // f = a^b at (2, 0): f_ab = f_ba = 1/a, f_bb = ln(a)^2, f_aa = 0.
    let h = autodiff::hessian(|x| x[0].powf(x[1]), &[2.0, 0.0]).unwrap();
    let ln2 = 2f64.ln();
    let want = [0.0, 0.5, 0.5, ln2 * ln2];
    for (a, b) in h.as_slice().iter().zip(want) {
        assert!((a - b).abs() < 1e-15, "{:?}", h.as_slice());
    }
}

/// `sqrt` as a primitive of one's own, with its partial from the trait.
fn my_sqrt<T: Real>(x: T) -> T {
    let y = x.sqrt();
    T::with_partials(y, &[(x, T::from_f64(0.5) / y)])
}

#[test]
fn a_custom_primitive_with_an_infinite_partial_passes_no_nan_where_nothing_flows() {
    // d/dx1 (x1 sqrt(x0)) at x0 = 0: sqrt'(0) is infinite, but the Hessian
    // entry along x1 has nothing flowing through it, as with the built-in.
    let built_in = autodiff::hessian(|x| x[1] * x[0].sqrt(), &[0.0, 2.0]).unwrap();
    let custom = autodiff::hessian(|x| x[1] * my_sqrt(x[0]), &[0.0, 2.0]).unwrap();
    assert_eq!(custom[(1, 1)], 0.0);
    assert_eq!(built_in[(1, 1)], custom[(1, 1)]);
    let d = my_sqrt(autodiff::Dual::new(0.0_f64, 0.0));
    assert_eq!((d.re, d.eps), (0.0, 0.0));
}

#[test]
fn a_custom_primitive_takes_the_chain_rule_of_derived_and_repeated_inputs() {
    // On the preaccumulating tape, sin(x0) is not a node: its derivative
    // must enter through the partial. f = g(sin x0, sin x0, x1, x0 x1)
    // with g(p, q, r, s) = p q + r s, written through with_partials.
    fn f<T: Real>(x: &[T]) -> T {
        let (p, r, s) = (x[0].sin(), x[1], x[0] * x[1]);
        let y = p * p + r * s;
        T::with_partials(y, &[(p, p), (p, p), (r, s), (s, r)])
    }
    fn written_out<T: Real>(x: &[T]) -> T {
        x[0].sin() * x[0].sin() + x[1] * x[0] * x[1]
    }
    let x = [0.8, -1.7];
    let (v, g) = autodiff::value_and_grad(|x| f(x), &x).unwrap();
    let (w, h) = autodiff::value_and_grad(|x| written_out(x), &x).unwrap();
    assert!((v - w).abs() < 1e-15);
    for (a, b) in g.iter().zip(&h) {
        assert!((a - b).abs() < 1e-14, "{g:?} vs {h:?}");
    }
    let tape = autodiff::Tape::new();
    let xs = tape.vars(&x);
    let gr = tape.backward(f(&xs));
    assert!((gr[xs[0]] - h[0]).abs() < 1e-14 && (gr[xs[1]] - h[1]).abs() < 1e-14);
}

#[test]
#[should_panic(expected = "another Tape")]
fn a_custom_primitive_of_two_tapes_panics_at_the_second_input() {
    let (t1, t2) = (autodiff::Tape::new(), autodiff::Tape::new());
    let (a, b) = (t1.var(1.0), t2.var(2.0));
    let _ = autodiff::Var::with_partials(a, &[(a, a), (b, b)]);
}

#[test]
#[should_panic(expected = "another Tape")]
fn a_custom_primitive_of_two_tapes_panics_at_a_later_input() {
    let (t1, t2) = (autodiff::Tape::new(), autodiff::Tape::new());
    let (a, b) = (t1.vars(&[1.0, 2.0]), t2.vars(&[0.0; 100]));
    let _ = autodiff::Var::with_partials(a[0], &[(a[0], a[0]), (a[1], a[1]), (b[99], b[99])]);
}

#[test]
fn jvp_and_vjp_name_what_has_the_wrong_length_and_vjp_skips_zero_cotangents() {
    use autodiff::Real;
    let f = autodiff::vector_fn(|x| vec![x[0].sqrt(), x[1] * 2.0]);
    let wrong = length_mismatch;
    assert_eq!(
        wrong(autodiff::vjp(f, &[1.0, 1.0], &[1.0]).unwrap_err()),
        ("vjp (cotangent u, one entry per output)", 2, 1)
    );
    assert_eq!(
        wrong(autodiff::jvp(|x| vec![x[0]], &[1.0, 1.0], &[1.0]).unwrap_err()),
        ("jvp (tangent v)", 2, 1)
    );
    assert!(matches!(
        autodiff::jvp(|x| vec![x[0]], &[], &[]).unwrap_err(),
        autodiff::Error::EmptyInput { what: "jvp" }
    ));
    // d sqrt(x0) / dx0 is infinite at 0: a zero cotangent on that output
    // keeps it out (no 0 * inf), as a zero seed would in JAX.
    let (y, uj) = autodiff::vjp(f, &[0.0, 3.0], &[0.0, 1.0]).unwrap();
    assert_eq!((y, uj), (vec![0.0, 6.0], vec![0.0, 2.0]));
}

#[test]
fn jacobian_forward_equals_the_reverse_mode_jacobian_and_names_a_varying_output_count() {
    // A wide and a tall function: forward (one dual pass per input) and
    // reverse (one sweep per output) modes are independent computations.
    fn wide<T: Real>(x: &[T]) -> Vec<T> {
        vec![heavy(x), rosenbrock(x)]
    }
    fn tall<T: Real>(x: &[T]) -> Vec<T> {
        (0..7)
            .map(|k| (x[0] * T::from_f64(k as f64)).sin() * x[1] + x[1].exp())
            .collect()
    }
    let x: Vec<f64> = (0..6).map(|i| (i as f64 * 0.9).cos()).collect();
    for (fwd, rev) in [
        (
            autodiff::jacobian_forward(wide, &x).unwrap(),
            autodiff::jacobian(|x| wide(x), &x).unwrap(),
        ),
        (
            autodiff::jacobian_forward(tall, &x[..2]).unwrap(),
            autodiff::jacobian(|x| tall(x), &x[..2]).unwrap(),
        ),
    ] {
        assert_eq!(fwd.shape(), rev.shape());
        assert_close(fwd.as_slice(), rev.as_slice(), "jacobian_forward");
    }
    // A function whose number of outputs depends on the tangent.
    let e = autodiff::jacobian_forward(
        |x| vec![x[0]; if x[0].eps == 1.0 { 1 } else { 2 }],
        &[1.0, 2.0],
    )
    .unwrap_err();
    assert_eq!(
        length_mismatch(e),
        ("jacobian_forward (outputs of f, by tangent)", 1, 2)
    );
}

#[test]
fn evaluator_recovers_from_a_function_that_panics_midway() {
    // A panic after two-input statements were recorded, before the sweep:
    // the adjoints were not touched, the inputs' buffer was taken out, and
    // the next call clears the tape. The next calls must be right, and the
    // evaluator still movable to another thread.
    let mut ev = autodiff::Evaluator::new();
    let x = [0.3, -1.2, 2.0, 0.7];
    let v = [1.0, 0.5, -0.25, 2.0];
    let (mut g, mut hv) = ([0.0; 4], [0.0; 4]);
    let panics = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ev.value_and_grad(
            |x| {
                let y = x[0] * x[1] + x[2] * x[3];
                assert!(y.value() == 12345.0, "midway");
                y
            },
            &x,
            &mut g,
        )
    }));
    assert!(panics.is_err());
    let panics = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ev.grad_and_hvp(
            |x| {
                let y = x[0] * x[1] + x[2] * x[3];
                assert!(y.value().re == 12345.0, "midway");
                y
            },
            &x,
            &v,
            &mut g,
            &mut hv,
        )
    }));
    assert!(panics.is_err());
    ev.value_and_grad(|x| x[0] * x[3], &x, &mut g).unwrap();
    assert_eq!(g, [0.7, 0.0, 0.0, 0.3]);
    ev.grad_and_hvp(|x| x[0] * x[3], &x, &v, &mut g, &mut hv)
        .unwrap();
    assert_eq!((g, hv), ([0.7, 0.0, 0.0, 0.3], [2.0, 0.0, 0.0, 1.0]));
    std::thread::spawn(move || {
        let mut g = [0.0; 4];
        ev.value_and_grad(|x| rosenbrock(x), &x, &mut g).unwrap();
        assert_close(&g, &rosenbrock_grad(&x), "grad on another thread");
    })
    .join()
    .unwrap();
}

#[test]
fn evaluator_resets_the_adjoints_of_inputs_the_function_records_itself() {
    // `f` records two more inputs right after the evaluator's (they join
    // the unwritten leaves, below the sweep) and returns a product of, or
    // one of, them; a later call on the same evaluator must not see them.
    let mut ev = autodiff::Evaluator::new();
    let x = [0.3, -1.2];
    let (mut g, mut hv) = ([0.0; 2], [0.0; 2]);
    ev.value_and_grad(
        |x| {
            let extra = x[0].tape().unwrap().vars(&[5.0, 7.0]);
            extra[0] * extra[1] + x[0] * extra[1]
        },
        &x,
        &mut g,
    )
    .unwrap();
    assert_eq!(g, [7.0, 0.0]);
    // Statements 2 and 3, the extra inputs above, are intermediate here:
    // an adjoint left there would enter the sweep.
    ev.value_and_grad(|x| x[0] * x[1] * x[0] * x[1], &x, &mut g)
        .unwrap();
    let (a, b) = (x[0], x[1]);
    assert_close(&g, &[2.0 * a * b * b, 2.0 * a * a * b], "x0^2 x1^2");
    ev.value_and_grad(
        |x| 3.0 * x[0].tape().unwrap().vars(&[5.0, 7.0])[1],
        &x,
        &mut g,
    )
    .unwrap();
    assert_eq!(g, [0.0, 0.0]);
    ev.value_and_grad(|x| x[0] * x[1], &x, &mut g).unwrap();
    assert_eq!(g, [-1.2, 0.3]);
    // The same on the dual tape.
    ev.grad_and_hvp(
        |x| {
            let extra = x[0].tape().unwrap().vars(&[autodiff::Dual::new(5.0, 1.0)]);
            extra[0] * extra[0] + x[1] * extra[0]
        },
        &x,
        &[1.0, 1.0],
        &mut g,
        &mut hv,
    )
    .unwrap();
    assert_eq!((g, hv), ([0.0, 5.0], [0.0, 1.0]));
    ev.grad_and_hvp(|x| x[0] * x[0] * x[1], &x, &[1.0, 0.0], &mut g, &mut hv)
        .unwrap();
    assert_eq!((g, hv), ([2.0 * 0.3 * -1.2, 0.09], [2.0 * -1.2, 0.6]));
}

#[test]
fn evaluator_second_order_checks_the_input_then_v_then_grad_then_hv() {
    // The order of the doc's "# Errors": an empty input first, then each
    // buffer in argument order, each named for the function called.
    let mut ev = autodiff::Evaluator::new();
    let f = autodiff::second_order_fn(|x| x[0] * x[1]);
    let x = [1.0, 2.0];
    let (mut one, mut two, mut three) = ([0.0; 1], [0.0; 2], [0.0; 3]);
    assert!(matches!(
        ev.hvp(f, &[], &[1.0], &mut one).unwrap_err(),
        autodiff::Error::EmptyInput { what: "hvp" }
    ));
    assert!(matches!(
        ev.grad_and_hvp(f, &[], &[1.0], &mut one, &mut [0.0])
            .unwrap_err(),
        autodiff::Error::EmptyInput {
            what: "grad_and_hvp"
        }
    ));
    assert_eq!(
        length_mismatch(ev.hvp(f, &x, &[1.0], &mut three).unwrap_err()),
        ("hvp (direction v)", 2, 1)
    );
    assert_eq!(
        length_mismatch(
            ev.grad_and_hvp(f, &x, &[1.0], &mut three, &mut one)
                .unwrap_err()
        ),
        ("grad_and_hvp (direction v)", 2, 1)
    );
    assert_eq!(
        length_mismatch(
            ev.grad_and_hvp(f, &x, &[1.0, 0.0], &mut two, &mut one)
                .unwrap_err()
        ),
        ("grad_and_hvp (output hv)", 2, 1)
    );
}

#[test]
fn vjp_of_outputs_that_are_inputs_duplicates_and_constants() {
    use autodiff::Var;
    // Each output counts with its own cotangent: an input twice, a
    // constant (no gradient), and a product.
    let (y, uj) = autodiff::vjp(
        |x| vec![x[0], x[0], Var::constant(3.0), x[1] * x[0]],
        &[2.0, 5.0],
        &[1.0, 2.0, 7.0, 1.0],
    )
    .unwrap();
    assert_eq!((y, uj), (vec![2.0, 2.0, 3.0, 10.0], vec![8.0, 2.0]));
    // -0.0 is a zero cotangent too; NaN is not, and stays in its output's
    // inputs only; no outputs at all is u^T J = 0.
    let sqrt = autodiff::vector_fn(|x| vec![x[0].sqrt(), x[1]]);
    assert_eq!(
        autodiff::vjp(sqrt, &[0.0, 1.0], &[-0.0, 1.0]).unwrap().1,
        [0.0, 1.0]
    );
    let uj = autodiff::vjp(sqrt, &[1.0, 1.0], &[f64::NAN, 1.0])
        .unwrap()
        .1;
    assert!(uj[0].is_nan() && uj[1] == 1.0, "{uj:?}");
    assert_eq!(
        autodiff::vjp(|_| vec![], &[1.0], &[]).unwrap(),
        (vec![], vec![0.0])
    );
}

#[test]
fn forward_and_reverse_jacobians_agree_at_an_infinite_partial() {
    // d sqrt(x0) / dx0 is infinite at 0. In x1's column the tangent of x0
    // is zero, and a zero tangent contributes nothing (no 0 * inf), as a
    // zero adjoint in the reverse sweep: both modes give [inf, 1].
    let f = |x: &[autodiff::Dual<f64>]| vec![x[0].sqrt() + x[1]];
    let fwd = autodiff::jacobian_forward(f, &[0.0, 1.0]).unwrap();
    let rev = autodiff::jacobian(|x| vec![x[0].sqrt() + x[1]], &[0.0, 1.0]).unwrap();
    assert_eq!(fwd.as_slice(), [f64::INFINITY, 1.0]);
    assert_eq!(rev.as_slice(), fwd.as_slice());
    assert_eq!(autodiff::jvp(f, &[0.0, 1.0], &[0.0, 2.0]).unwrap().1, [2.0]);
    // An input as output, twice, and a constant output.
    let j = autodiff::jacobian_forward(
        |x| vec![x[1], x[1], autodiff::Dual::constant(3.0)],
        &[1.0, 2.0],
    )
    .unwrap();
    assert_eq!(j.as_slice(), [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
}
