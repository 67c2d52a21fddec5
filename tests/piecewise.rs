//! The piecewise functions of `Real` (`clamp`, with its `Unary::Clamp` on
//! the tape and the matrix path, `signum`, `floor`, `ceil`,
//! `round`, `trunc`, and `relu`, `min`, `max` as selections) and comparisons of a `Var` with a plain
//! number: the same values as `f64`'s, and the derivative of the branch
//! taken.

use autodiff::rules::{Binary, Unary};
use autodiff::{Dual, Matrix, Real, Tape};

/// `(value, d/dx, d/dlo, d/dhi)` of `x.clamp(lo, hi)` on the tape.
fn clamp_on_tape(x: f64, lo: f64, hi: f64) -> (f64, f64, f64, f64) {
    let tape = Tape::new();
    let (vx, vlo, vhi) = (tape.var(x), tape.var(lo), tape.var(hi));
    let y = vx.clamp(vlo, vhi);
    let g = tape.backward(y);
    (y.value(), g[vx], g[vlo], g[vhi])
}

#[test]
fn clamp_has_f64s_value_and_the_derivative_of_the_value_chosen() {
    for (x, lo, hi) in [
        (0.5, -1.0, 1.0),
        (-3.0, -1.0, 1.0),
        (7.0, -1.0, 1.0),
        (1.0, -1.0, 1.0),
        (-1.0, -1.0, 1.0),
        (2.0, 2.0, 2.0),
    ] {
        let (v, dx, dlo, dhi) = clamp_on_tape(x, lo, hi);
        assert_eq!(v, x.clamp(lo, hi), "{x} in [{lo}, {hi}]");
        assert_eq!(Real::clamp(x, lo, hi), x.clamp(lo, hi));
        let want = if x < lo {
            (0.0, 1.0, 0.0)
        } else if x > hi {
            (0.0, 0.0, 1.0)
        } else {
            // Within, bounds included: the derivative goes to x (PyTorch
            // 2.15 gives 0 on a bound).
            (1.0, 0.0, 0.0)
        };
        assert_eq!((dx, dlo, dhi), want, "{x} in [{lo}, {hi}]");
    }
    // Forward mode agrees.
    let d = Dual::new(3.0, 1.0).clamp(Dual::from_f64(-1.0), Dual::from_f64(1.0));
    assert_eq!((d.re, d.eps), (1.0, 0.0));
}

#[test]
fn clamp_of_nan_is_nan_and_bounds_out_of_order_panic_as_for_f64() {
    assert!(clamp_on_tape(f64::NAN, -1.0, 1.0).0.is_nan());
    for (lo, hi) in [(1.0, -1.0), (f64::NAN, 1.0)] {
        let tape = Tape::new();
        let x = tape.var(0.0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            x.clamp(Real::from_f64(lo), Real::from_f64(hi))
        }));
        let msg = *r.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.contains("lo <= hi"), "{msg}");
        assert!(std::panic::catch_unwind(|| 0.0_f64.clamp(lo, hi)).is_err());
    }
}

#[test]
fn signum_is_f64s_including_signed_zeros_and_nan_with_derivative_zero() {
    for x in [2.5, -0.1, 0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY] {
        let tape = Tape::new();
        let v = tape.var(x);
        let s = v.signum() * v;
        assert_eq!(
            Real::signum(v).value().to_bits(),
            x.signum().to_bits(),
            "{x}"
        );
        assert_eq!(Real::signum(x).to_bits(), x.signum().to_bits());
        // d/dx (sign(x) x) = sign(x): the sign itself contributes nothing.
        if x.is_finite() {
            assert_eq!(tape.backward(s)[v], x.signum(), "{x}");
        }
    }
    assert!(Real::signum(Tape::new().var(f64::NAN)).value().is_nan());
}

#[test]
fn signum_of_nan_has_derivative_zero_too() {
    // The NaN is the value; the argument is not passed through (whose
    // derivative would be 1).
    let tape = Tape::new();
    let v = tape.var(f64::NAN);
    let s = v.signum();
    assert!(s.value().is_nan());
    assert_eq!(tape.backward(s)[v], 0.0);
    let d = Dual::new(f64::NAN, 1.0).signum();
    assert!(d.re.is_nan());
    assert_eq!(d.eps, 0.0);
    let g = autodiff::grad(|x| x[0].signum(), &[f64::NAN]).unwrap();
    assert_eq!(g, [0.0]);
}

#[test]
#[allow(clippy::manual_range_contains, clippy::neg_cmp_op_on_partial_ord)]
fn a_var_compares_with_a_plain_number_by_its_value() {
    // The operators themselves are under test, so written out.
    let tape = Tape::new();
    let x = tape.var(0.5);
    assert!(x > 0.0 && x < 1.0 && x >= 0.5 && x <= 0.5 && x == 0.5 && x != 0.25);
    let nan = tape.var(f64::NAN);
    assert!(nan != 0.5 && !(nan >= 0.0) && !(nan < 0.0));
    assert_eq!(x.partial_cmp(&f64::NAN), None);
}

/// `[full, preaccumulating, forward, second]`: `f'(x)` on a tape recording
/// every operation, by `grad` (a preaccumulating tape) and in forward mode
/// (`Dual`), and `f''(x)` by `hvp`.
macro_rules! derivatives {
    ($f:ident, $x:expr) => {{
        let x: f64 = $x;
        let tape = Tape::new();
        let v = tape.var(x);
        let full = tape.backward($f(v))[v];
        let pre = autodiff::grad(|v| $f(v[0]), &[x]).unwrap()[0];
        let fwd = $f(Dual::new(x, 1.0)).eps;
        let second = autodiff::hvp(|v| $f(v[0]), &[x], &[1.0]).unwrap()[0];
        [full, pre, fwd, second]
    }};
}

fn sqrt_relu<T: Real>(x: T) -> T {
    x.relu().sqrt()
}
fn sqrt_max_zero<T: Real>(x: T) -> T {
    x.max(T::zero()).sqrt()
}
fn sqrt_zero_max<T: Real>(x: T) -> T {
    T::zero().max(x).sqrt()
}
fn sqrt_minus_min_zero<T: Real>(x: T) -> T {
    (-x.min(T::zero())).sqrt()
}

#[test]
fn an_input_relu_min_or_max_did_not_choose_gets_no_adjoint_not_even_an_infinite_one() {
    // The selection's output is 0, where sqrt' = inf: 0 * inf would be NaN;
    // PyTorch's and JAX's `where` give 0, and so do we, in every mode.
    for x in [-1.0, -1e-300, -0.0, 0.0] {
        assert_eq!(derivatives!(sqrt_relu, x), [0.0; 4], "relu at {x}");
    }
    for x in [-1.0, -1e-300] {
        assert_eq!(derivatives!(sqrt_max_zero, x), [0.0; 4], "max at {x}");
        assert_eq!(derivatives!(sqrt_zero_max, x), [0.0; 4], "max at {x}");
        assert_eq!(
            derivatives!(sqrt_minus_min_zero, -x),
            [0.0; 4],
            "min at {}",
            -x
        );
    }
    // Two recorded inputs: the one not chosen gets 0, the one chosen the
    // infinite derivative that is its own.
    let tape = Tape::new();
    let (x, y) = (tape.var(-1.0), tape.var(0.0));
    let g = tape.backward(x.max(y).sqrt());
    assert_eq!((g[x], g[y]), (0.0, f64::INFINITY));
    let g = autodiff::grad(|v| v[0].max(v[1]).sqrt(), &[-1.0, 0.0]).unwrap();
    assert_eq!(g, [0.0, f64::INFINITY]);
    // The selection's own output keeps its adjoint on a tape recording
    // every operation (seed (5.11): gradients of any recorded value).
    let tape = Tape::new();
    let x = tape.var(-1.0);
    let r = x.relu();
    let g = tape.backward(r.sqrt());
    assert_eq!((g[r], g[x]), (f64::INFINITY, 0.0));
}

#[test]
fn an_input_relu_min_or_max_chose_gets_the_chain_rules_derivative() {
    // d/dx sqrt(x) = 1 / (2 sqrt x) = 1/4 at 4, and d2/dx2 = -1/32.
    for want in [
        derivatives!(sqrt_relu, 4.0),
        derivatives!(sqrt_max_zero, 4.0),
    ] {
        assert_eq!(want, [0.25, 0.25, 0.25, -1.0 / 32.0]);
    }
    assert_eq!(
        derivatives!(sqrt_zero_max, 4.0),
        [0.25, 0.25, 0.25, -1.0 / 32.0]
    );
    assert_eq!(
        derivatives!(sqrt_minus_min_zero, -4.0),
        [-0.25, -0.25, -0.25, -1.0 / 32.0]
    );
    // A tie goes to the first argument, the chosen subgradient of relu at 0
    // scales the infinite derivative: no selection of 0 there.
    assert_eq!(derivatives!(sqrt_max_zero, 0.0)[..3], [f64::INFINITY; 3]);
    let tape = Tape::new();
    let x = tape.var(0.0);
    assert_eq!(tape.backward(x.relu_with(0.5).sqrt())[x], f64::INFINITY);
}

#[test]
fn the_matrix_ops_relu_min_and_max_pass_nothing_to_entries_they_did_not_choose() {
    let tape = Tape::new();
    let data = [-1.0, 0.0, 4.0, -0.0, 9.0, -1e-300];
    let x = tape.matrix(&Matrix::new(2, 3, data.to_vec()).unwrap());
    let zero = tape.matrix_const(&Matrix::new(2, 3, vec![0.0; 6]).unwrap());
    let want = [0.0, 0.0, 0.25, 0.0, 1.0 / 6.0, 0.0];
    // Whether a tie (the zeros of `data`) chooses `x`, the first argument:
    // then sqrt'(0) = inf reaches it; relu and max(0, x) choose 0 there.
    for (y, tie_to_x) in [
        (x.relu(), false),
        (x.zip(Binary::Max, zero), true),
        (zero.zip(Binary::Max, x), false),
        (
            x.map(Unary::Neg).zip(Binary::Min, zero).map(Unary::Neg),
            true,
        ),
    ] {
        let g = tape.backward(y.map(Unary::Sqrt).sum());
        let gx: Vec<f64> = g[x].to_vec();
        for (k, (&got, &w)) in gx.iter().zip(&want).enumerate() {
            // sqrt'(±0) = 1 / (2 sqrt(±0)) = ±inf, as PyTorch's rule.
            let w = if tie_to_x && data[k] == 0.0 {
                1.0 / (2.0 * data[k].sqrt())
            } else {
                w
            };
            assert_eq!(got, w, "entry {k} (tie to x: {tie_to_x})");
        }
    }
}

fn sqrt_clamp<T: Real>(x: T) -> T {
    x.clamp(T::zero(), T::one()).sqrt()
}

/// The points of `clamp(x, -1, 1)` pinned: below, at the lower bound,
/// within, at the upper bound, above, NaN; with the value and derivative
/// each path must give (1 on the bounds, where PyTorch 2.15 gives 0; 1 at
/// NaN, whose value is x's).
const CLAMP_POINTS: [(f64, f64, f64); 7] = [
    (-2.0, -1.0, 0.0),
    (-1.0, -1.0, 1.0),
    (-0.0, -0.0, 1.0),
    (0.5, 0.5, 1.0),
    (1.0, 1.0, 1.0),
    (2.0, 1.0, 0.0),
    (f64::NAN, f64::NAN, 1.0),
];

#[test]
fn clamp_has_one_rule_on_var_unary_dual_and_the_matrix_path_bounds_included() {
    let op = Unary::Clamp { lo: -1.0, hi: 1.0 };
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    let tape = Tape::new();
    let xs: Vec<f64> = CLAMP_POINTS.iter().map(|p| p.0).collect();
    let m = tape.mat(autodiff::Shape::new(1, 7), &xs).unwrap();
    let y = m.clamp(-1.0, 1.0);
    let gm = tape.backward(y.sum());
    let m32 = Tape::<f32>::new();
    let x32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
    let n = m32.mat(autodiff::Shape::new(1, 7), &x32).unwrap();
    let y32 = n.clamp(-1.0, 1.0);
    let g32 = m32.backward(y32.sum());
    for (k, &(x, value, d)) in CLAMP_POINTS.iter().enumerate() {
        // The rule itself, and Real::clamp on f64 (std's value).
        let (ry, rd) = op.eval(x);
        assert!(same(ry, value) && rd == d, "rule at {x}: ({ry}, {rd})");
        assert!(same(Real::clamp(x, -1.0, 1.0), x.clamp(-1.0, 1.0)));
        // Var through Real::clamp (a selection) and through the Unary op,
        // on a full and on a preaccumulating tape.
        let tape = Tape::new();
        let v = tape.var(x);
        let a = v.clamp(Real::from_f64(-1.0), Real::from_f64(1.0));
        let b = v.unary(op);
        assert!(
            same(a.value(), value) && same(b.value(), value),
            "Var at {x}"
        );
        assert_eq!(
            (tape.backward(a)[v], tape.backward(b)[v]),
            (d, d),
            "Var at {x}"
        );
        let pre = Tape::preaccumulating();
        let v = pre.var(x);
        assert_eq!(pre.backward(v.unary(op))[v], d, "preaccumulating at {x}");
        // Forward mode.
        let f = Dual::new(x, 1.0).clamp(Dual::from_f64(-1.0), Dual::from_f64(1.0));
        assert!(same(f.re, value) && f.eps == d, "Dual at {x}");
        // The matrix path, f64 and f32.
        assert!(same(y.to_vec()[k], value) && gm[m][k] == d, "Mat at {x}");
        assert!(
            same(y32.to_vec()[k] as f64, value) && g32[n][k] as f64 == d,
            "f32 at {x}"
        );
    }
    // A bound of -0 or +0 leaves a zero's sign as f64::clamp does.
    for (x, lo) in [(-0.0_f64, 0.0), (0.0, -0.0)] {
        let got = Unary::Clamp { lo, hi: 1.0 }.value(x);
        assert_eq!(got.to_bits(), x.clamp(lo, 1.0).to_bits());
    }
}

#[test]
fn clamp_passes_nothing_to_an_input_outside_its_bounds_not_even_an_infinite_adjoint() {
    // sqrt(clamp(x, 0, 1)) at x < 0: the clamp's output is 0, where
    // sqrt' = inf; the input was not chosen and gets 0, not 0 * inf = NaN.
    for x in [-1.0, -1e-300] {
        assert_eq!(derivatives!(sqrt_clamp, x), [0.0; 4], "at {x}");
        // The Unary op on both tapes, after a scale folded into the
        // statement on the preaccumulating one.
        let op = Unary::Clamp { lo: 0.0, hi: 1.0 };
        let full = Tape::new();
        let v = full.var(x);
        assert_eq!(full.backward((v * 2.0).unary(op).sqrt())[v], 0.0);
        let pre = Tape::preaccumulating();
        let v = pre.var(x);
        assert_eq!(pre.backward((v * 2.0).unary(op).sqrt())[v], 0.0);
        // The matrix path.
        let tape = Tape::new();
        let m = tape.mat(autodiff::Shape::new(1, 2), &[x, 0.25]).unwrap();
        let g = tape.backward(m.clamp(0.0, 1.0).sqrt().sum());
        assert_eq!(g[m], [0.0, 1.0], "Mat at {x}");
    }
    // Within, the chain rule: d/dx sqrt(x) = 1/4 at 4 (here 0.25 in [0, 9]).
    let tape = Tape::new();
    let v = tape.var(0.25);
    assert_eq!(
        tape.backward(v.unary(Unary::Clamp { lo: 0.0, hi: 9.0 }).sqrt())[v],
        1.0
    );
    assert_eq!(derivatives!(sqrt_clamp, 0.25)[..3], [1.0; 3]);
}

#[test]
fn clamp_bounds_out_of_order_or_nan_are_a_typed_error_or_a_panic_naming_both() {
    let tape = Tape::<f64>::new();
    let m = tape.mat(autodiff::Shape::new(1, 2), &[0.5, 2.0]).unwrap();
    for (lo, hi) in [(1.0, 0.0), (f64::NAN, 1.0), (0.0, f64::NAN)] {
        let e = m.try_clamp(lo, hi).unwrap_err();
        assert!(
            matches!(e, autodiff::Error::InvalidBounds { what: "clamp", lo: l, hi: h }
                if l.to_bits() == lo.to_bits() && h.to_bits() == hi.to_bits()),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains(&format!("got lo = {lo}, hi = {hi}")), "{msg}");
        // The panicking forms say the same: Mat::clamp, map, Var::unary.
        let panics = |f: &dyn Fn()| {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            *r.unwrap_err().downcast::<String>().unwrap()
        };
        assert_eq!(
            panics(&|| {
                let _ = m.clamp(lo, hi);
            }),
            msg
        );
        assert_eq!(
            panics(&|| {
                let _ = m.map(Unary::Clamp { lo, hi });
            }),
            msg
        );
        let v = tape.var(0.5);
        assert_eq!(
            panics(&|| {
                let _ = v.unary(Unary::Clamp { lo, hi });
            }),
            msg
        );
    }
    // Equal bounds are a constant (derivative 1 only on it); bounds that
    // round to the same f32 are not out of order; infinite ones are none.
    let y = m.clamp(2.0, 2.0);
    assert_eq!(y.to_vec(), [2.0, 2.0]);
    assert_eq!(tape.backward(y.sum())[m], [0.0, 1.0]);
    let t32 = Tape::<f32>::new();
    let n = t32.mat(autodiff::Shape::new(1, 1), &[3.0]).unwrap();
    let up = Unary::Clamp {
        lo: 1.0 + 1e-12,
        hi: 1.0,
    };
    assert!(t32.backward(n.map(up).sum())[n] == [0.0]);
    let open = m.clamp(f64::NEG_INFINITY, f64::INFINITY);
    assert_eq!(open.to_vec(), [0.5, 2.0]);
}

#[test]
fn floor_ceil_round_and_trunc_are_f64s_and_f32s_with_derivative_zero() {
    type Pair = (fn(f64) -> f64, fn(f32) -> f32);
    let ops: [(&str, Pair); 4] = [
        ("floor", (f64::floor, f32::floor)),
        ("ceil", (f64::ceil, f32::ceil)),
        ("round", (f64::round, f32::round)),
        ("trunc", (f64::trunc, f32::trunc)),
    ];
    let xs = [
        2.5,
        -2.5,
        0.5,
        -0.5,
        0.0,
        -0.0,
        3.0,
        -1e-300,
        1e300,
        7.499999999999999,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    for (k, (name, (f64_op, f32_op))) in ops.into_iter().enumerate() {
        for x in xs {
            let tape = Tape::new();
            let v = tape.var(x);
            let y = match k {
                0 => v.floor(),
                1 => v.ceil(),
                2 => v.round(),
                _ => v.trunc(),
            };
            let want = f64_op(x);
            assert_eq!(y.value().to_bits(), want.to_bits(), "{name}({x})");
            // Through `Real` on plain numbers, f32 included.
            let generic = |x: f64| match k {
                0 => Real::floor(x),
                1 => Real::ceil(x),
                2 => Real::round(x),
                _ => Real::trunc(x),
            };
            assert_eq!(generic(x).to_bits(), want.to_bits(), "{name}({x})");
            let x32 = x as f32;
            let got32 = match k {
                0 => Real::floor(x32),
                1 => Real::ceil(x32),
                2 => Real::round(x32),
                _ => Real::trunc(x32),
            };
            assert_eq!(
                got32.to_bits(),
                f32_op(x32).to_bits(),
                "{name}({x32}) in f32"
            );
            // Derivative 0 on the tape (d/dx (f(x) x) = f(x)), and in
            // forward mode.
            assert!(y.is_constant(), "{name}({x})");
            let g = tape.backward(y * v);
            if x.is_finite() {
                assert_eq!(g[v], want, "d/dx {name}(x) x at {x}");
            }
            let d = match k {
                0 => Dual::new(x, 1.0).floor(),
                1 => Dual::new(x, 1.0).ceil(),
                2 => Dual::new(x, 1.0).round(),
                _ => Dual::new(x, 1.0).trunc(),
            };
            assert_eq!(d.eps, 0.0, "{name}'({x}) in forward mode");
        }
    }
}

#[test]
fn forward_mode_passes_no_tangent_from_an_input_a_selection_did_not_choose_even_an_infinite_one() {
    // sqrt has the tangent inf at 0; relu, min and max do not choose the
    // input `sqrt(x) - 1 = -1` there: its infinite tangent contributes 0,
    // not 0 * inf = NaN (JAX's `where`).
    let x = Dual::new(0.0_f64, 1.0);
    let s = x.sqrt() - 1.0;
    assert_eq!(s.eps, f64::INFINITY);
    assert_eq!(s.relu().eps, 0.0);
    assert_eq!(s.max(x).eps, 1.0);
    assert_eq!(x.max(s).eps, 1.0);
    assert_eq!((-s).min(-x).eps, -1.0);
    assert_eq!((-x).min(-s).eps, -1.0);
    // By `jvp`, with an infinite direction for the input not chosen.
    let (_, jv) = autodiff::jvp(
        |v| vec![v[0].max(v[1])],
        &[-1.0, 0.0],
        &[f64::INFINITY, 1.0],
    )
    .unwrap();
    assert_eq!(jv, [1.0]);
}

#[test]
fn a_zero_derivative_of_an_op_that_does_not_select_still_meets_an_infinite_one_as_nan() {
    // `|x|` computes its value: its derivative 0 at 0 times sqrt'(0) = inf
    // is NaN, as in PyTorch and JAX; only a selection's zero passes
    // nothing.
    let tape = Tape::new();
    let x = tape.var(0.0_f64);
    assert!(tape.backward(x.abs().sqrt())[x].is_nan());
    assert!(autodiff::grad(|v| v[0].abs().sqrt(), &[0.0]).unwrap()[0].is_nan());
    assert!(Dual::new(0.0_f64, 1.0).sqrt().abs().eps.is_nan());
    // A partial of zero given to `with_partials` is not a selection either.
    let s = Dual::new(0.0_f64, 1.0).sqrt();
    assert!(
        Dual::with_partials(Dual::new(1.0, 0.0), &[(s, Dual::new(0.0, 0.0))])
            .eps
            .is_nan()
    );
    let m = tape.matrix(&Matrix::new(1, 1, vec![0.0_f64]).unwrap());
    let g = tape.backward(m.map(Unary::Abs).map(Unary::Sqrt).sum());
    assert!(g[m][0].is_nan());
}

#[test]
fn the_matrix_relu_passes_nothing_to_an_entry_it_did_not_choose_that_has_an_adjoint_already() {
    // `x` has its adjoint from `+ x` before relu's backward adds to it.
    let tape = Tape::new();
    let x = tape.matrix(&Matrix::new(1, 3, vec![-1.0, 0.0, 4.0]).unwrap());
    let g = tape.backward((x.relu().map(Unary::Sqrt) + x).sum());
    assert_eq!(g[x].to_vec(), [1.0, 1.0, 1.25]);
}
