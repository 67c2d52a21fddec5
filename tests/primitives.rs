//! Every scalar primitive's derivative rule, checked three ways at random
//! points of its domain: the tape against independent forward-mode dual
//! numbers (`common::fwd`, derivatives derived by hand there), the tape
//! against central finite differences, and the library's `Dual` (forward
//! mode through the shared rules) against both.

mod common;

use autodiff::{Dual, GradcheckConfig, Real, Tape};
use common::{close, fwd::Fwd};
use proptest::prelude::*;

/// The unary primitives, by index, with the interval they are tested on.
const UNARY: [(&str, f64, f64); 17] = [
    ("neg", -5.0, 5.0),
    ("powi(3)", -3.0, 3.0),
    ("powi(-2)", 0.2, 3.0),
    ("powi(0)", -3.0, 3.0),
    ("exp", -5.0, 5.0),
    ("ln", 0.05, 10.0),
    ("sqrt", 0.05, 10.0),
    ("sin", -6.0, 6.0),
    ("cos", -6.0, 6.0),
    ("tan", -1.4, 1.4),
    ("tanh", -4.0, 4.0),
    ("abs", -3.0, 3.0),
    ("sigmoid", -30.0, 30.0),
    ("softplus", -30.0, 30.0),
    ("relu", -3.0, 3.0),
    ("relu_with(0.5)", -3.0, 3.0),
    ("powf(2.5) with a constant exponent", 0.05, 4.0),
];

fn unary<T: Real>(k: usize, x: T) -> T {
    match k {
        0 => -x,
        1 => x.powi(3),
        2 => x.powi(-2),
        3 => x.powi(0),
        4 => x.exp(),
        5 => x.ln(),
        6 => x.sqrt(),
        7 => x.sin(),
        8 => x.cos(),
        9 => x.tan(),
        10 => x.tanh(),
        11 => x.abs(),
        12 => x.sigmoid(),
        13 => x.softplus(),
        14 => x.relu(),
        15 => x.relu_with(0.5),
        16 => x.powf(T::from_f64(2.5)),
        _ => unreachable!(),
    }
}

/// The binary primitives with the boxes `[a_lo, a_hi] x [b_lo, b_hi]` they
/// are tested on.
const BINARY: [(&str, [f64; 4]); 7] = [
    ("add", [-5.0, 5.0, -5.0, 5.0]),
    ("sub", [-5.0, 5.0, -5.0, 5.0]),
    ("mul", [-5.0, 5.0, -5.0, 5.0]),
    ("div", [-5.0, 5.0, 0.3, 5.0]),
    ("powf", [0.1, 3.0, -2.0, 2.0]),
    ("min", [-5.0, 5.0, -5.0, 5.0]),
    ("max", [-5.0, 5.0, -5.0, 5.0]),
];

fn binary<T: Real>(k: usize, a: T, b: T) -> T {
    match k {
        0 => a + b,
        1 => a - b,
        2 => a * b,
        3 => a / b,
        4 => a.powf(b),
        5 => a.min(b),
        6 => a.max(b),
        _ => unreachable!(),
    }
}

/// Maps `u` in `[0, 1]` into `[lo, hi]`.
fn lerp(u: f64, lo: f64, hi: f64) -> f64 {
    lo + u * (hi - lo)
}

/// Away from the kinks of abs, relu, min and max, where finite differences
/// cannot agree with a one-sided derivative.
fn away_from_kinks(x: &[f64]) -> bool {
    x.iter().all(|v| v.abs() > 1e-3) && (x.len() < 2 || (x[0] - x[1]).abs() > 1e-3)
}

fn fd_config() -> GradcheckConfig {
    GradcheckConfig {
        atol: 1e-6,
        rtol: 1e-6,
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn unary_rule_matches_hand_derived_dual_and_finite_differences(u in 0.0..1.0_f64) {
        for (k, &(name, lo, hi)) in UNARY.iter().enumerate() {
            let x = lerp(u, lo, hi);
            let g = autodiff::grad(|v| unary(k, v[0]), &[x]).unwrap()[0];
            let want = unary(k, Fwd::var(x, 1.0)).d;
            prop_assert!(close(g, want, 1e-12), "{name} at {x}: tape {g}, hand-derived {want}");
            let lib_dual = unary(k, Dual::new(x, 1.0)).eps;
            prop_assert!(close(lib_dual, want, 1e-12), "{name} at {x}: Dual {lib_dual}, hand-derived {want}");
            if away_from_kinks(&[x]) {
                let report = autodiff::gradcheck(|v| unary(k, v[0]), &[x], &fd_config()).unwrap();
                prop_assert!(report.passed(), "{name} at {x}: {report}");
            }
        }
    }

    #[test]
    fn binary_rule_matches_hand_derived_dual_and_finite_differences(u in 0.0..1.0_f64, w in 0.0..1.0_f64) {
        for (k, &(name, [al, ah, bl, bh])) in BINARY.iter().enumerate() {
            let (a, b) = (lerp(u, al, ah), lerp(w, bl, bh));
            let g = autodiff::grad(|v| binary(k, v[0], v[1]), &[a, b]).unwrap();
            let da = binary(k, Fwd::var(a, 1.0), Fwd::var(b, 0.0)).d;
            let db = binary(k, Fwd::var(a, 0.0), Fwd::var(b, 1.0)).d;
            prop_assert!(close(g[0], da, 1e-12) && close(g[1], db, 1e-12),
                "{name} at ({a}, {b}): tape {g:?}, hand-derived [{da}, {db}]");
            let lib = (binary(k, Dual::new(a, 1.0), Dual::new(b, 0.0)).eps, binary(k, Dual::new(a, 0.0), Dual::new(b, 1.0)).eps);
            prop_assert!(close(lib.0, da, 1e-12) && close(lib.1, db, 1e-12), "{name}: Dual {lib:?}");
            if away_from_kinks(&[a, b]) || k < 5 {
                let report = autodiff::gradcheck(|v| binary(k, v[0], v[1]), &[a, b], &fd_config()).unwrap();
                prop_assert!(report.passed(), "{name} at ({a}, {b}): {report}");
            }
        }
    }

    #[test]
    fn literals_mix_with_vars_on_either_side(x in -3.0..3.0_f64) {
        let tape = Tape::new();
        let v = tape.var(x);
        let cases = [
            (v + 1.0, x + 1.0, 1.0),
            (1.0 + v, 1.0 + x, 1.0),
            (v - 2.0, x - 2.0, 1.0),
            (2.0 - v, 2.0 - x, -1.0),
            (3.0 * v, 3.0 * x, 3.0),
            (v * 3.0, x * 3.0, 3.0),
            (v / 4.0, x / 4.0, 0.25),
            (4.0 / (v + 10.0), 4.0 / (x + 10.0), -4.0 / ((x + 10.0) * (x + 10.0))),
        ];
        for (i, (y, value, deriv)) in cases.into_iter().enumerate() {
            prop_assert_eq!(y.value(), value, "case {}", i);
            prop_assert!(close(tape.backward(y)[v], deriv, 1e-14), "case {}", i);
        }
    }
}

#[test]
fn relu_gradient_at_zero_uses_chosen_subgradient() {
    for at_zero in [0.0, 0.3, 1.0] {
        let g = autodiff::grad(|x| x[0].relu_with(at_zero), &[0.0]).unwrap();
        assert_eq!(g, vec![at_zero]);
    }
    assert_eq!(
        autodiff::grad(|x| x[0].relu(), &[0.0]).unwrap(),
        vec![0.0],
        "default subgradient is 0"
    );
    assert_eq!(
        autodiff::grad(|x| x[0].relu(), &[-0.0]).unwrap(),
        vec![0.0],
        "-0.0 is 0.0"
    );
}

#[test]
fn abs_gradient_at_zero_is_zero_and_min_max_ties_go_to_the_first_argument() {
    assert_eq!(autodiff::grad(|x| x[0].abs(), &[0.0]).unwrap(), vec![0.0]);
    assert_eq!(
        autodiff::grad(|x| x[0].min(x[1]), &[1.0, 1.0]).unwrap(),
        vec![1.0, 0.0]
    );
    assert_eq!(
        autodiff::grad(|x| x[0].max(x[1]), &[1.0, 1.0]).unwrap(),
        vec![1.0, 0.0]
    );
}

#[test]
fn sigmoid_and_softplus_gradients_are_finite_at_extreme_inputs() {
    for x in [-800.0, 800.0] {
        let g = autodiff::grad(|v| v[0].sigmoid() + v[0].softplus(), &[x]).unwrap()[0];
        assert!(g.is_finite(), "at {x}: {g}");
    }
}

#[test]
fn nan_inside_a_function_propagates_without_panicking() {
    let (v, g) = autodiff::value_and_grad(|x| (x[0] - 2.0).ln() * x[1], &[1.0, 3.0]).unwrap();
    assert!(v.is_nan());
    // d/dx1 = ln(x0 - 2) is NaN; d/dx0 = x1 / (x0 - 2) = -3 is not.
    assert!(g[1].is_nan());
    assert_eq!(g[0], -3.0);
    let report =
        autodiff::gradcheck(|x| (x[0] - 2.0).ln(), &[1.0], &GradcheckConfig::default()).unwrap();
    assert!(!report.passed());
    assert!(report.to_string().contains("NaN"), "{report}");
}

#[test]
fn f32_tape_matches_f64_tape_to_f32_rounding() {
    fn f<T: Real>(x: T, y: T) -> T {
        (x * y).sin() + x.exp() / (T::one() + y * y) + x.tanh() * y.sigmoid()
    }
    let t32 = Tape::<f32>::new();
    let t64 = Tape::<f64>::new();
    let (a32, b32) = (t32.var(0.7), t32.var(-1.3));
    let (a64, b64) = (t64.var(0.7), t64.var(-1.3));
    let (y32, y64) = (f(a32, b32), f(a64, b64));
    let (g32, g64) = (t32.backward(y32), t64.backward(y64));
    assert!(close(y32.value() as f64, y64.value(), 1e-6));
    assert!(close(g32[a32] as f64, g64[a64], 1e-5));
    assert!(close(g32[b32] as f64, g64[b64], 1e-5));
}

#[test]
fn f32_powf_base_derivative_where_the_value_is_subnormal_in_f32() {
    // y = a^2 = 1e-44 is subnormal in f32: b y / a has lost most digits.
    let tape = Tape::<f32>::new();
    let (a, b) = (tape.var(1e-22_f32), tape.var(2.0_f32));
    let y = a.powf(b);
    assert!(y.value() > 0.0 && y.value() < f32::MIN_POSITIVE);
    let g = tape.backward(y)[a];
    assert!((g - 2e-22).abs() <= 1e-6 * 2e-22, "{g}");
}
