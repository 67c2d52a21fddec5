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
const UNARY: [(&str, f64, f64); 37] = [
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
    ("asin", -0.95, 0.95),
    ("acos", -0.95, 0.95),
    ("atan", -10.0, 10.0),
    ("sinh", -5.0, 5.0),
    ("cosh", -5.0, 5.0),
    ("exp_m1", -5.0, 5.0),
    ("ln_1p", -0.9, 10.0),
    ("log2", 0.05, 10.0),
    ("log10", 0.05, 10.0),
    ("recip (x > 0)", 0.2, 5.0),
    ("recip (x < 0)", -5.0, -0.2),
    ("cbrt (x > 0)", 0.05, 8.0),
    ("cbrt (x < 0)", -8.0, -0.05),
    ("erf", -3.0, 3.0),
    ("erfc", -3.0, 6.0),
    ("silu", -30.0, 30.0),
    ("gelu", -8.0, 8.0),
    ("leaky_relu(0.01)", -3.0, 3.0),
    ("leaky_relu(-0.4)", -3.0, 3.0),
    ("clamp(-0.5, 1)", -3.0, 3.0),
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
        17 => x.asin(),
        18 => x.acos(),
        19 => x.atan(),
        20 => x.sinh(),
        21 => x.cosh(),
        22 => x.exp_m1(),
        23 => x.ln_1p(),
        24 => x.log2(),
        25 => x.log10(),
        26 | 27 => x.recip(),
        28 | 29 => x.cbrt(),
        30 => x.erf(),
        31 => x.erfc(),
        32 => x.silu(),
        33 => x.gelu(),
        34 => x.leaky_relu(0.01),
        35 => x.leaky_relu(-0.4),
        36 => x.clamp(T::from_f64(-0.5), T::from_f64(1.0)),
        _ => unreachable!(),
    }
}

/// The binary primitives with the boxes `[a_lo, a_hi] x [b_lo, b_hi]` they
/// are tested on. min and max (whose kink is their tie) come last.
const BINARY: [(&str, [f64; 4]); 13] = [
    ("add", [-5.0, 5.0, -5.0, 5.0]),
    ("sub", [-5.0, 5.0, -5.0, 5.0]),
    ("mul", [-5.0, 5.0, -5.0, 5.0]),
    ("div", [-5.0, 5.0, 0.3, 5.0]),
    ("powf", [0.1, 3.0, -2.0, 2.0]),
    // atan2(a, b) in each quadrant, boxes away from the origin and (for
    // b < 0) from the branch cut at a = 0, across which the value jumps
    ("atan2 (a > 0, b > 0)", [0.1, 5.0, 0.1, 5.0]),
    ("atan2 (a > 0, b < 0)", [0.1, 5.0, -5.0, -0.1]),
    ("atan2 (a < 0, b < 0)", [-5.0, -0.1, -5.0, -0.1]),
    ("atan2 (b > 0, a of either sign)", [-5.0, 5.0, 0.3, 5.0]),
    ("hypot (a of either sign)", [-5.0, 5.0, 0.3, 5.0]),
    ("hypot (b of either sign)", [-5.0, -0.3, -5.0, 5.0]),
    ("min", [-5.0, 5.0, -5.0, 5.0]),
    ("max", [-5.0, 5.0, -5.0, 5.0]),
];

/// The entries of [`BINARY`] before min and max, smooth on their boxes.
const SMOOTH_BINARY: usize = 11;

fn binary<T: Real>(k: usize, a: T, b: T) -> T {
    match k {
        0 => a + b,
        1 => a - b,
        2 => a * b,
        3 => a / b,
        4 => a.powf(b),
        5..=8 => a.atan2(b),
        9 | 10 => a.hypot(b),
        11 => a.min(b),
        12 => a.max(b),
        _ => unreachable!(),
    }
}

/// Maps `u` in `[0, 1]` into `[lo, hi]`.
fn lerp(u: f64, lo: f64, hi: f64) -> f64 {
    lo + u * (hi - lo)
}

/// Away from the kinks of abs, relu, min and max, and clamp's bounds
/// (-0.5 and 1), where finite differences cannot agree with a one-sided
/// derivative.
fn away_from_kinks(x: &[f64]) -> bool {
    x.iter()
        .all(|v| v.abs() > 1e-3 && (v + 0.5).abs() > 1e-3 && (v - 1.0).abs() > 1e-3)
        && (x.len() < 2 || (x[0] - x[1]).abs() > 1e-3)
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
            if away_from_kinks(&[a, b]) || k < SMOOTH_BINARY {
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

/// What compiles on `f64` compiles on `Var` and `Dual`: operators on
/// references (`x.iter().map(|v| v * v)`), negation of a reference,
/// `Default`, `From` a plain number, and literals on either side of a
/// `Dual` with the assignment operators. Each is its by-value form.
#[test]
#[allow(clippy::op_ref)] // the references are what is tested
fn references_defaults_and_literals_work_on_vars_and_duals_as_on_f64() {
    let (a, b) = (1.5_f64, -0.5_f64);
    let plain = [
        &a + &b,
        &a - b,
        a * &b,
        &a / &b,
        -&a,
        &a * 2.0,
        2.0 - &b,
        [a, b].iter().map(|v| v * v).sum::<f64>(),
        f64::default() + f64::from(3.0_f32),
    ];
    let tape = Tape::new();
    let (x, y) = (tape.var(a), tape.var(b));
    let d: autodiff::Var<'_> = Default::default();
    let e: autodiff::Var<'_> = 3.0.into();
    let vars = [
        &x + &y,
        &x - y,
        x * &y,
        &x / &y,
        -&x,
        &x * 2.0,
        2.0 - &y,
        [x, y].iter().map(|v| v * v).sum(),
        d + e,
    ];
    let by_value = [
        x + y,
        x - y,
        x * y,
        x / y,
        -x,
        x * 2.0,
        2.0 - y,
        x * x + y * y,
        d + e,
    ];
    for (i, ((v, w), p)) in vars.iter().zip(&by_value).zip(&plain).enumerate() {
        assert_eq!(v.value(), *p, "case {i}");
        let (gv, gw) = (tape.backward(*v), tape.backward(*w));
        assert_eq!((gv[x], gv[y]), (gw[x], gw[y]), "case {i}");
    }
    assert!(d.is_constant() && e.is_constant());

    let (p, q) = (Dual::new(a, 1.0), Dual::new(b, 0.25));
    let mut r = p;
    r += 1.0;
    r *= 2.0;
    r -= 0.5;
    r /= 4.0;
    let duals = [
        &p + &q,
        &p - q,
        p * &q,
        &p / &q,
        -&p,
        p * 2.0,
        2.0 - q,
        [p, q].iter().map(|v| v * v).sum(),
        Dual::default() + Dual::from(3.0),
        r,
    ];
    let by_value = [
        p + q,
        p - q,
        p * q,
        p / q,
        -p,
        p * Dual::from_f64(2.0),
        Dual::from_f64(2.0) - q,
        p * p + q * q,
        Dual::from_f64(3.0),
        ((p + Dual::from_f64(1.0)) * Dual::from_f64(2.0) - Dual::from_f64(0.5))
            / Dual::from_f64(4.0),
    ];
    for (i, (v, w)) in duals.iter().zip(&by_value).enumerate() {
        assert_eq!((v.re, v.eps), (w.re, w.eps), "case {i}");
    }
    let f32_dual = 2.0_f32 * Dual::new(1.5_f32, 1.0) + 1.0;
    assert_eq!((f32_dual.re, f32_dual.eps), (4.0, 2.0));
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
fn leaky_relu_gradient_at_zero_is_its_slope_as_in_pytorch() {
    for x in [0.0, -0.0] {
        assert_eq!(
            autodiff::grad(|v| v[0].leaky_relu(0.2), &[x]).unwrap(),
            vec![0.2]
        );
    }
}

/// Values against high-precision references (mpmath, 30 digits), and the
/// tails where a naive formula cancels or overflows: erfc and GELU far in
/// the negative tail keep their relative accuracy, SiLU's gradient stays
/// finite.
#[test]
fn erf_erfc_gelu_and_silu_match_references_and_keep_their_tails() {
    let close = |a: f64, b: f64| (a - b).abs() <= 4.0 * f64::EPSILON * b.abs();
    // erf(0.5), erfc(3), erfc(10)
    assert!(close(Real::erf(0.5), 0.520_499_877_813_046_5));
    assert!(close(Real::erfc(3.0), 2.209_049_699_858_544e-5));
    assert!(close(Real::erfc(10.0), 2.088_487_583_762_545e-45));
    // gelu(1) = Phi(1); gelu(-10) = -10 Phi(-10), where 1 + erf would be
    // 0: to 1e-13, since rounding -x / sqrt 2 moves erfc there by about
    // 2 x^2 ulp (PyTorch's erfc form has the same limit)
    assert!(close(Real::gelu(1.0), 0.841_344_746_068_542_9));
    let tail = Real::gelu(-10.0) / -7.619_853_024_160_526e-23 - 1.0;
    assert!(tail.abs() < 1e-13, "{tail}");
    // silu(2) = 2 / (1 + e^-2)
    assert!(close(Real::silu(2.0), 1.761_594_155_955_764_9));
    // f32 through libm's single-precision functions
    assert!((Real::erf(0.5_f32) - 0.520_499_9).abs() < 1e-7);
    for x in [-800.0, 800.0] {
        let g = autodiff::grad(|v| v[0].silu() + v[0].gelu(), &[x]).unwrap()[0];
        assert!(g.is_finite(), "at {x}: {g}");
    }
    // d/dx gelu at 0 is Phi(0) = 1/2; erf'(0) = 2 / sqrt(pi)
    assert_eq!(autodiff::grad(|v| v[0].gelu(), &[0.0]).unwrap(), vec![0.5]);
    let d = autodiff::grad(|v| v[0].erf(), &[0.0]).unwrap()[0];
    assert!(close(d, std::f64::consts::FRAC_2_SQRT_PI));
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

/// The matrix path applies the same rules (`Mat::map`, `Mat::zip`): on a
/// `Tape::new()` tape, `L = sum(R * op(X))` has the gradient `R op'(X)`
/// that the scalar tape gives entry by entry, and finite differences agree.
#[test]
fn primitives_through_mat_map_and_zip_match_the_scalar_path() {
    use autodiff::rules::{Binary, Unary};
    use autodiff::Matrix;
    // Entries in [0.1, 0.87]: inside every domain below, away from 0.
    let x = Matrix::from_fn(3, 4, |i, j| 0.1 + 0.07 * (4 * i + j) as f64);
    let x2 = Matrix::from_fn(3, 4, |i, j| {
        0.9 - 0.05 * (4 * i + j) as f64 - 0.2 * (j % 2) as f64
    });
    let r = Matrix::from_fn(3, 4, |i, j| 1.0 - 0.3 * i as f64 + 0.2 * j as f64);
    let shape = x.shape();
    let n = shape.len();
    let unary = [
        Unary::Asin,
        Unary::Acos,
        Unary::Atan,
        Unary::Sinh,
        Unary::Cosh,
        Unary::ExpM1,
        Unary::Ln1p,
        Unary::Log2,
        Unary::Log10,
        Unary::Recip,
        Unary::Cbrt,
    ];
    for op in unary {
        let loss = |xs: &[f64]| -> (f64, Vec<f64>) {
            let tape = Tape::new();
            let m = tape.mat(shape, xs).unwrap();
            let y = (m.map(op) * tape.matrix_const(&r)).sum();
            (y.value(), tape.backward(y)[m].to_vec())
        };
        let (_, g) = loss(x.as_slice());
        for (k, ((&gk, &xk), &rk)) in g.iter().zip(x.as_slice()).zip(r.as_slice()).enumerate() {
            let tape = Tape::new();
            let v = tape.var(xk);
            let want = tape.backward(v.unary(op))[v] * rk;
            assert!(close(gk, want, 1e-15), "{op:?} entry {k}: {gk} vs {want}");
        }
        let report =
            autodiff::gradcheck_fn(|xs| loss(xs).0, &g, x.as_slice(), &fd_config()).unwrap();
        assert!(report.passed(), "{op:?}: {report}");
    }
    for op in [Binary::Atan2, Binary::Hypot] {
        let loss = |xs: &[f64]| -> (f64, Vec<f64>) {
            let tape = Tape::new();
            let a = tape.mat(shape, &xs[..n]).unwrap();
            let b = tape.mat(shape, &xs[n..]).unwrap();
            let y = (a.zip(op, b) * tape.matrix_const(&r)).sum();
            let g = tape.backward(y);
            (y.value(), [g[a].to_vec(), g[b].to_vec()].concat())
        };
        let xs = [x.as_slice(), x2.as_slice()].concat();
        let (_, g) = loss(&xs);
        for k in 0..n {
            let tape = Tape::new();
            let (a, b) = (tape.var(xs[k]), tape.var(xs[n + k]));
            let gs = tape.backward(a.binary(op, b));
            let want = [gs[a] * r.as_slice()[k], gs[b] * r.as_slice()[k]];
            assert!(
                close(g[k], want[0], 1e-15) && close(g[n + k], want[1], 1e-15),
                "{op:?} entry {k}: {} {} vs {want:?}",
                g[k],
                g[n + k]
            );
        }
        let report = autodiff::gradcheck_fn(|xs| loss(xs).0, &g, &xs, &fd_config()).unwrap();
        assert!(report.passed(), "{op:?}: {report}");
    }
}

#[test]
fn special_points_of_the_new_primitives_on_the_tape() {
    // cbrt: +inf at 0 (as sqrt); recip: -inf at 0; hypot: 0 at the origin;
    // atan2: NaN at the origin.
    assert_eq!(
        autodiff::grad(|x| x[0].cbrt(), &[0.0]).unwrap(),
        vec![f64::INFINITY]
    );
    assert_eq!(
        autodiff::grad(|x| x[0].sqrt(), &[0.0]).unwrap(),
        vec![f64::INFINITY]
    );
    assert_eq!(
        autodiff::grad(|x| x[0].recip(), &[0.0]).unwrap(),
        vec![f64::NEG_INFINITY]
    );
    assert_eq!(
        autodiff::grad(|x| x[0].hypot(x[1]), &[0.0, 0.0]).unwrap(),
        vec![0.0, 0.0]
    );
    let g = autodiff::grad(|x| x[0].atan2(x[1]), &[0.0, 0.0]).unwrap();
    assert!(g.iter().all(|d| d.is_nan()), "{g:?}");
    // hypot of a value with itself: d/dx sqrt(2 x^2) = sqrt 2 sign x, one
    // statement whose two partials add.
    let g = autodiff::grad(|x| x[0].hypot(x[0]), &[-3.0]).unwrap()[0];
    assert!(close(g, -std::f64::consts::SQRT_2, 1e-15), "{g}");
    // The same on dual numbers (a constant's infinite partial is not formed).
    let d = Dual::new(0.0_f64, 1.0).cbrt();
    assert_eq!((d.re, d.eps), (0.0, f64::INFINITY));
    let d = Dual::new(0.0_f64, 1.0).hypot(Dual::new(0.0, 1.0));
    assert_eq!((d.re, d.eps), (0.0, 0.0));
    let d = Dual::new(2.0_f64, 1.0) + Dual::constant(0.0).cbrt();
    assert_eq!(d.eps, 1.0);
}

#[test]
fn f32_tape_matches_f64_tape_on_the_new_primitives() {
    fn f<T: Real>(x: T, y: T) -> T {
        (x * T::from_f64(0.5)).asin() + x.acos() * y.atan() + y.sinh() * x.cosh()
            - x.exp_m1() * y.ln_1p()
            + (y * y + T::one()).log2() * x.cbrt()
            + (x + T::from_f64(2.0)).log10() / y.recip()
            + y.atan2(x) * x.hypot(y)
    }
    let t32 = Tape::<f32>::new();
    let t64 = Tape::<f64>::new();
    let (a32, b32) = (t32.var(0.7), t32.var(-0.3));
    let (a64, b64) = (t64.var(0.7), t64.var(-0.3));
    let (y32, y64) = (f(a32, b32), f(a64, b64));
    let (g32, g64) = (t32.backward(y32), t64.backward(y64));
    assert!(close(y32.value() as f64, y64.value(), 1e-6));
    assert!(close(g32[a32] as f64, g64[a64], 1e-5));
    assert!(close(g32[b32] as f64, g64[b64], 1e-5));
    let report = autodiff::gradcheck(|v| f(v[0], v[1]), &[0.7, -0.3], &fd_config()).unwrap();
    assert!(report.passed(), "{report}");
}

/// `Real` has `Sum` and `Product` of values and of references, so generic
/// code sums a slice with `x.iter().sum()`.
#[test]
fn generic_code_sums_and_multiplies_slices_of_references() {
    fn f<T: Real>(x: &[T]) -> T {
        let s: T = x.iter().sum();
        let p: T = x.iter().product();
        let q: T = x.iter().map(|&v| v * v).product();
        s * p + q
    }
    let x = [1.5, -2.0, 0.5];
    // s = 0, p = -1.5, q = 2.25; df/dx_i = p + s p / x_i + 2 q / x_i.
    let (s, p, q) = (0.0, -1.5, 2.25);
    assert_eq!(f(&x), s * p + q);
    let want: Vec<f64> = x.iter().map(|&v| p + s * p / v + 2.0 * q / v).collect();
    for tape_grad in [autodiff::grad(|v| f(v), &x).unwrap(), {
        let tape = Tape::new();
        let vs = tape.vars(&x);
        let g = tape.backward(f(&vs));
        vs.iter().map(|&v| g[v]).collect()
    }] {
        for (g, w) in tape_grad.iter().zip(&want) {
            assert!(close(*g, *w, 1e-15), "{tape_grad:?} vs {want:?}");
        }
    }
    let fwd: Vec<f64> = (0..3)
        .map(|i| {
            let xs: Vec<Fwd> = (0..3)
                .map(|j| Fwd::var(x[j], (i == j) as u8 as f64))
                .collect();
            f(&xs).d
        })
        .collect();
    let dual = f(&[
        Dual::new(1.5, 1.0),
        Dual::constant(-2.0),
        Dual::constant(0.5),
    ]);
    assert!(close(fwd[0], want[0], 1e-15) && close(dual.eps, want[0], 1e-15));
    // Empty: 0 and 1, constants.
    let tape = Tape::new();
    let none: [autodiff::Var<'_, f64>; 0] = [];
    let (s, p): (autodiff::Var<'_, f64>, autodiff::Var<'_, f64>) =
        (none.iter().sum(), none.iter().product());
    assert!(s.is_constant() && p.is_constant() && s.value() == 0.0 && p.value() == 1.0);
    assert!(tape.is_empty());
    // The product starts from its first factor: no statement for the 1.
    let v = tape.var(2.0);
    let n = tape.len();
    let _: autodiff::Var<'_, f64> = [v].iter().product();
    assert_eq!(tape.len(), n);
}

/// A sum of `Var`s or `Dual`s is the sum of their values as `f64` sums
/// them, zero's sign included (`f64`'s sum starts from `-0`, so the sum of
/// `[-0.0]` is `-0`, and its reciprocal `-inf`), and adds no statement for a
/// starting zero.
#[test]
fn sums_keep_the_sign_of_a_zero_as_f64_does_and_record_only_the_additions() {
    fn f<T: Real>(x: &[T]) -> T {
        x.iter().sum::<T>().recip()
    }
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
    for x in [
        vec![-0.0],
        vec![-0.0, -0.0],
        vec![],
        vec![1.0, -1.0],
        vec![0.0, -0.0],
    ] {
        let want = f(&x);
        let tape = Tape::new();
        let vs = tape.vars(&x);
        let n = tape.len();
        let s: autodiff::Var<'_, f64> = vs.iter().sum();
        // One statement per addition, none for the first term.
        assert_eq!(tape.len() - n, x.len().saturating_sub(1), "{x:?}");
        assert!(
            same(s.recip().value(), want),
            "{x:?}: Var {}, f64 {want}",
            s.recip()
        );
        let d: Vec<Dual<f64>> = x.iter().map(|&v| Dual::new(v, 1.0)).collect();
        assert!(same(f(&d).re, want), "{x:?}: Dual {}, f64 {want}", f(&d));
        let d = d.iter().copied().sum::<Dual<f64>>();
        assert!(
            same(d.re, x.iter().sum()) && d.eps == x.len() as f64,
            "{x:?}: {d}"
        );
    }
}

#[test]
fn display_prints_the_value() {
    fn show<T: Real>(x: T) -> String {
        format!("{x} {x:.2}")
    }
    let tape = Tape::new();
    let v = tape.var(1.5);
    assert_eq!(show(v), "1.5 1.50");
    assert_eq!(show(v * 2.0), "3 3.00");
    assert_eq!(show(2.5_f32), "2.5 2.50");
    assert_eq!(format!("{}", Dual::new(2.0_f64, -0.5)), "2 - 0.5ε");
    assert_eq!(format!("{:.1}", Dual::new(2.0_f64, 0.26)), "2.0 + 0.3ε");
    // A tangent of -0 keeps its sign in the operator, as -0.5 does.
    assert_eq!(format!("{}", Dual::new(1.0_f64, -0.0)), "1 - 0ε");
    let td = Tape::<Dual<f64>>::new();
    assert_eq!(show(td.var(Dual::new(1.0, 3.0))), "1 + 3ε 1.00 + 3.00ε");
}
