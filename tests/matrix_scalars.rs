//! A matrix with a plain number: the operators `m + c`, `c - m`, `m / c`,
//! ... (`Mat::zip_scalar`, `rzip_scalar`, `scale`). Each entry is the
//! float arithmetic of the number type (signed zeros and the rounding of a
//! division included) and its gradient the scalar tape's, checked against
//! closed forms, the scalar `Var` path and central finite differences.

mod common;

use autodiff::strategies::matrix as mat;
use autodiff::{mats_fn, GradcheckConfig, Mat, Matrix, Shape, Tape, Var};
use proptest::prelude::*;

/// `sum(R * y)` on the tape.
fn weighted<'t>(y: Mat<'t, f64>, r: &Matrix<f64>) -> Var<'t, f64> {
    let rm = y.tape().matrix_const(r);
    (y * rm).sum()
}

fn fd_config() -> GradcheckConfig {
    GradcheckConfig {
        atol: 1e-6,
        rtol: 1e-6,
        ..Default::default()
    }
}

/// `(name, the matrix op, the same on a scalar Var, on an f64, d/dx)`, for
/// a constant `c`.
type Case = (
    &'static str,
    fn(Mat<'_, f64>, f64) -> Mat<'_, f64>,
    fn(Var<'_, f64>, f64) -> Var<'_, f64>,
    fn(f64, f64) -> f64,
    fn(f64, f64) -> f64,
);

const CASES: [Case; 8] = [
    (
        "m + c",
        |m, c| m + c,
        |v, c| v + c,
        |x, c| x + c,
        |_, _| 1.0,
    ),
    (
        "c + m",
        |m, c| c + m,
        |v, c| c + v,
        |x, c| c + x,
        |_, _| 1.0,
    ),
    (
        "m - c",
        |m, c| m - c,
        |v, c| v - c,
        |x, c| x - c,
        |_, _| 1.0,
    ),
    (
        "c - m",
        |m, c| c - m,
        |v, c| c - v,
        |x, c| c - x,
        |_, _| -1.0,
    ),
    ("m * c", |m, c| m * c, |v, c| v * c, |x, c| x * c, |_, c| c),
    ("c * m", |m, c| c * m, |v, c| c * v, |x, c| c * x, |_, c| c),
    (
        "m / c",
        |m, c| m / c,
        |v, c| v / c,
        |x, c| x / c,
        |_, c| 1.0 / c,
    ),
    (
        "c / m",
        |m, c| c / m,
        |v, c| c / v,
        |x, c| c / x,
        |x, c| -c / (x * x),
    ),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn scalar_operators_are_float_arithmetic_with_the_scalar_tapes_gradient(
        x in mat(3, 4), r in mat(3, 4), c in prop_oneof![-3.0..-0.25_f64, 0.25..3.0_f64]
    ) {
        // Away from 0 for `c / m`.
        let x = Matrix::from_fn(3, 4, |i, j| x[(i, j)] + x[(i, j)].signum() * 0.25);
        for (name, op, var_op, plain, deriv) in CASES {
            let tape = Tape::new();
            let m = tape.matrix(&x);
            let y = op(m, c);
            let g = tape.backward(weighted(y, &r));
            for (k, (&v, &w)) in x.as_slice().iter().zip(r.as_slice()).enumerate() {
                // The value bitwise f64's.
                let want = plain(v, c);
                prop_assert_eq!(y.to_vec()[k].to_bits(), want.to_bits(), "{} at {}", name, v);
                // The gradient: the closed form, and the scalar tape's.
                let closed = w * deriv(v, c);
                prop_assert!(common::close(g[m][k], closed, 1e-13), "{}: {} vs {}", name, g[m][k], closed);
                let st = Tape::new();
                let s = st.var(v);
                let scalar = w * st.backward(var_op(s, c))[s];
                prop_assert_eq!(g[m][k], scalar, "{} at {}: matrix vs Var", name, v);
            }
            let r = r.clone();
            let f = mats_fn(move |ms| weighted(op(ms[0], c), &r));
            let report = autodiff::gradcheck_mats(&f, std::slice::from_ref(&x), &fd_config()).unwrap();
            prop_assert!(report.passed(), "{}: {}", name, report);
        }
    }
}

#[test]
fn scalar_operators_keep_signed_zeros_as_float_arithmetic() {
    let xs = [-0.0, 0.0, -1.0, 1.0, f64::INFINITY];
    let tape = Tape::new();
    let m = tape.mat_const(Shape::new(1, 5), &xs).unwrap();
    for c in [0.0, -0.0, 1.0, -1.0] {
        for (name, op, _, plain, _) in CASES {
            let got = op(m, c).to_vec();
            for (g, &x) in got.iter().zip(&xs) {
                let want = plain(x, c);
                assert_eq!(
                    g.to_bits(),
                    want.to_bits(),
                    "{name} at x = {x:?}, c = {c:?}: {g:?} vs {want:?}"
                );
            }
        }
    }
    // Spelled out: -0 + 0 is +0, -0 - 0 and -0 * 1 are -0, 0 * -1 is -0.
    let v = |m: Mat<'_, f64>| m.to_vec()[0].to_bits();
    let z = tape.mat_const(Shape::new(1, 1), &[-0.0]).unwrap();
    assert_eq!(v(z + 0.0), 0.0_f64.to_bits());
    assert_eq!(v(z - 0.0), (-0.0_f64).to_bits());
    assert_eq!(v(z * 1.0), (-0.0_f64).to_bits());
    assert_eq!(v(-1.0 * -z), (-0.0_f64).to_bits());
}

#[test]
fn division_by_a_scalar_divides_rather_than_multiplying_by_its_reciprocal() {
    let c = 3.0;
    let xs: Vec<f64> = (1..200).map(|k| k as f64 * 0.1).collect();
    // The two differ somewhere here, so the test tells them apart.
    assert!(xs.iter().any(|&x| x / c != x * (1.0 / c)));
    let tape = Tape::new();
    let m = tape.mat_const(Shape::new(1, xs.len()), &xs).unwrap();
    let q = (m / c).to_vec();
    for (q, &x) in q.iter().zip(&xs) {
        assert_eq!(q.to_bits(), (x / c).to_bits(), "{x} / {c}");
    }
    // In f32 likewise, with f32 literals on either side.
    let t32 = Tape::<f32>::new();
    let xs32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
    let m = t32.mat_const(Shape::new(1, xs.len()), &xs32).unwrap();
    let (q, p) = ((m / 3.0).to_vec(), (1.0 - 2.0 * m).to_vec());
    for ((q, p), &x) in q.iter().zip(&p).zip(&xs32) {
        assert_eq!(q.to_bits(), (x / 3.0).to_bits());
        assert_eq!(p.to_bits(), (1.0 - 2.0 * x).to_bits());
    }
}

#[test]
fn a_constant_divided_by_zero_entries_has_the_scalar_tapes_infinite_gradients() {
    // d/dx (1 / x) = -1 / x^2: -inf at both zeros, as Var's.
    let tape = Tape::<f64>::new();
    let m = tape.mat(Shape::new(1, 2), &[0.0, -0.0]).unwrap();
    let y = 1.0 / m;
    assert_eq!(y.to_vec(), [f64::INFINITY, f64::NEG_INFINITY]);
    let g = tape.backward(y.sum());
    let st = Tape::new();
    for (k, x) in [0.0, -0.0].into_iter().enumerate() {
        let s = st.var(x);
        assert_eq!(g[m][k], st.backward(1.0 / s)[s], "at {x:?}");
    }
}
