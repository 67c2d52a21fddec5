//! Every matrix op's derivative rule at random shapes and values, against a
//! hand-derived formula computed with plain loops here and against central
//! finite differences; ReLU's subgradient at 0; the gradient store. The
//! typed errors and panics of bad input are in `matrix_errors.rs`.
//!
//! Each op `Y = op(inputs)` is tested through `L = sum(R * Y)` with a random
//! constant `R`, so that dL/dY = R is a full matrix, not ones.

mod common;

use autodiff::{Error, GradcheckConfig, Mat, Matrix, Reduction, Shape, Tape, Var};
use common::fwd::Fwd;
use proptest::prelude::*;

// A random matrix of the given shape with entries in [-2, 2).
use autodiff::strategies::matrix as mat;

fn dims() -> impl Strategy<Value = (usize, usize, usize)> {
    (1..7usize, 1..7usize, 1..7usize)
}

type Build = dyn for<'t> Fn(&[Mat<'t, f64>]) -> Var<'t, f64>;

// Pins a closure's signature to the higher-ranked one of `Build`.
use autodiff::mats_fn as hr;

/// The top-left `rows x cols` block.
fn block(m: &Matrix<f64>, rows: usize, cols: usize) -> Matrix<f64> {
    Matrix::from_fn(rows, cols, |p, q| m[(p, q)])
}

/// Records `build` on variables holding `inputs`; returns the value and the
/// gradient with respect to each input, flattened.
fn tape_grads(inputs: &[Matrix<f64>], build: &Build) -> (f64, Vec<Vec<f64>>) {
    let tape = Tape::new();
    let ms: Vec<_> = inputs.iter().map(|m| tape.matrix(m)).collect();
    let y = build(&ms);
    let g = tape.backward(y);
    (y.value(), ms.iter().map(|&m| g[m].to_vec()).collect())
}

/// Tape gradients equal `hand` (to 1e-12) and finite differences.
fn check(inputs: &[Matrix<f64>], build: &Build, hand: &[Vec<f64>]) -> Result<(), TestCaseError> {
    let (_, got) = tape_grads(inputs, build);
    for (i, (g, h)) in got.iter().zip(hand).enumerate() {
        prop_assert_eq!(g.len(), h.len());
        for (k, (a, b)) in g.iter().zip(h).enumerate() {
            prop_assert!(
                common::close(*a, *b, 1e-12),
                "input {} entry {}: tape {} vs hand {}",
                i,
                k,
                a,
                b
            );
        }
    }
    let cfg = GradcheckConfig {
        atol: 1e-6,
        rtol: 1e-6,
        ..Default::default()
    };
    let report = autodiff::gradcheck_mats(build, inputs, &cfg).unwrap();
    prop_assert!(report.passed(), "{}", report);
    Ok(())
}

/// `sum(R * y)` on the tape.
fn weighted<'t>(y: Mat<'t, f64>, r: &Matrix<f64>) -> Var<'t, f64> {
    let rm = y.tape().matrix_const(r);
    (y * rm).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn matmul_gradients_are_r_b_transpose_and_a_transpose_r(
        (m, k, n) in dims(), a in mat(6, 6), b in mat(6, 6), r in mat(6, 6)
    ) {
        let (a, b, r) = (block(&a, m, k), block(&b, k, n), block(&r, m, n));
        // dA = R B^T, dB = A^T R
        let da: Vec<f64> = (0..m * k).map(|p| (0..n).map(|j| r[(p / k, j)] * b[(p % k, j)]).sum()).collect();
        let db: Vec<f64> = (0..k * n).map(|p| (0..m).map(|i| a[(i, p / n)] * r[(i, p % n)]).sum()).collect();
        let build = hr(move |x| weighted(x[0].matmul(x[1]), &r));
        check(&[a, b], &build, &[da, db])?;
    }

    #[test]
    fn affine_gradients_follow_the_seed_formulas(
        (n, i, o) in dims(), x in mat(6, 6), w in mat(6, 6), b in mat(1, 6), r in mat(6, 6)
    ) {
        let (x, w, b, r) = (block(&x, n, i), block(&w, o, i), block(&b, 1, o), block(&r, n, o));
        // Z = X W^T + b: dX = R W (5.11), dW = R^T X (5.13), db = column sums of R (5.12).
        let dx: Vec<f64> = (0..n * i).map(|p| (0..o).map(|q| r[(p / i, q)] * w[(q, p % i)]).sum()).collect();
        let dw: Vec<f64> = (0..o * i).map(|p| (0..n).map(|s| r[(s, p / i)] * x[(s, p % i)]).sum()).collect();
        let db: Vec<f64> = (0..o).map(|q| (0..n).map(|s| r[(s, q)]).sum()).collect();
        // The forward value against a plain loop.
        let tape = Tape::new();
        let z = tape.matrix(&x).affine(tape.matrix(&w), Some(tape.matrix(&b))).value();
        for s in 0..n {
            for q in 0..o {
                let want: f64 = b[(0, q)] + (0..i).map(|p| x[(s, p)] * w[(q, p)]).sum::<f64>();
                prop_assert!((z[(s, q)] - want).abs() < 1e-12);
            }
        }
        let build = hr(move |m| weighted(m[0].affine(m[1], Some(m[2])), &r));
        check(&[x, w, b], &build, &[dx, dw, db])?;
    }

    #[test]
    fn elementwise_maps_use_the_scalar_rules(x in mat(3, 4), r in mat(3, 4)) {
        // Away from the kinks (0, and clamp's bounds -0.5 and 1), where
        // finite differences hold.
        let kink = |v: f64| [0.0, -0.5, 1.0].iter().any(|k| (v - k).abs() < 1e-3);
        let x = Matrix::from_fn(3, 4, |i, j| if kink(x[(i, j)]) { 0.25 } else { x[(i, j)] });
        type Pair = (fn(Mat<'_, f64>) -> Mat<'_, f64>, fn(Fwd) -> Fwd);
        let cases: [(&str, Pair); 9] = [
            ("clamp", (|m| m.clamp(-0.5, 1.0), |v| autodiff::Real::clamp(v, Fwd::var(-0.5, 0.0), Fwd::var(1.0, 0.0)))),
            ("silu", (|m| m.silu(), |v| autodiff::Real::silu(v))),
            ("gelu", (|m| m.gelu(), |v| autodiff::Real::gelu(v))),
            ("leaky_relu", (|m| m.leaky_relu(0.1), |v| autodiff::Real::leaky_relu(v, 0.1))),
            ("sigmoid", (|m| m.sigmoid(), |v| autodiff::Real::sigmoid(v))),
            ("tanh", (|m| m.tanh(), |v| autodiff::Real::tanh(v))),
            ("relu", (|m| m.relu(), |v| autodiff::Real::relu(v))),
            ("exp", (|m| m.exp(), |v| autodiff::Real::exp(v))),
            ("scale", (|m| m.scale(-2.5), |v| v * Fwd::var(-2.5, 0.0))),
        ];
        for (name, (op, scalar)) in cases {
            let hand: Vec<f64> = x.as_slice().iter().zip(r.as_slice()).map(|(&v, &w)| w * scalar(Fwd::var(v, 1.0)).d).collect();
            let r2 = r.clone();
            let build = hr(move |m| weighted(op(m[0]), &r2));
            check(std::slice::from_ref(&x), &build, &[hand]).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        }
    }

    #[test]
    fn elementwise_methods_match_hand_derived_rules_on_their_domains(x in mat(3, 4), r in mat(3, 4)) {
        use autodiff::Real as R;
        // x in [-2, 2) moved into each function's domain: `pos` into
        // [0.25, 2.25), `off0` away from abs's kink at 0.
        let pos = |v: f64| v.abs() + 0.25;
        let off0 = |v: f64| if v.abs() < 1e-3 { 0.5 } else { v };
        type Case = (&'static str, fn(f64) -> f64, fn(Mat<'_, f64>) -> Mat<'_, f64>, fn(Fwd) -> Fwd);
        let cases: [Case; 10] = [
            ("ln", pos, |m| m.ln(), |v| R::ln(v)),
            ("sqrt", pos, |m| m.sqrt(), |v| R::sqrt(v)),
            ("abs", off0, |m| m.abs(), |v| R::abs(v)),
            ("powi(3)", |v| v, |m| m.powi(3), |v| R::powi(v, 3)),
            ("powi(-2)", pos, |m| m.powi(-2), |v| R::powi(v, -2)),
            ("recip", pos, |m| m.recip(), |v| R::recip(v)),
            ("sin", |v| v, |m| m.sin(), |v| R::sin(v)),
            ("cos", |v| v, |m| m.cos(), |v| R::cos(v)),
            ("softplus", |v| 10.0 * v, |m| m.softplus(), |v| R::softplus(v)),
            ("erf", |v| v, |m| m.erf(), |v| R::erf(v)),
        ];
        for (name, domain, op, scalar) in cases {
            let x = Matrix::from_fn(3, 4, |i, j| domain(x[(i, j)]));
            // The value is the scalar function's, entry by entry.
            let tape = Tape::new();
            let y = op(tape.matrix(&x)).to_vec();
            for (y, &v) in y.iter().zip(x.as_slice()) {
                prop_assert!(common::close(*y, scalar(Fwd::var(v, 1.0)).v, 1e-15), "{}({}) = {}", name, v, y);
            }
            let hand: Vec<f64> = x.as_slice().iter().zip(r.as_slice()).map(|(&v, &w)| w * scalar(Fwd::var(v, 1.0)).d).collect();
            let r2 = r.clone();
            let build = hr(move |m| weighted(op(m[0]), &r2));
            check(std::slice::from_ref(&x), &build, &[hand]).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        }
    }

    #[test]
    fn elementwise_add_sub_mul_and_fan_out(a in mat(2, 5), b in mat(2, 5), r in mat(2, 5)) {
        let (ra, rb) = (r.as_slice(), b.as_slice());
        // L = sum R (a + b) + sum R (a - b) + sum R (a * b) + sum R (a * a)
        // dL/da = R + R + R b + 2 R a, dL/db = R - R + R a
        let da: Vec<f64> = (0..10).map(|k| 2.0 * ra[k] + ra[k] * rb[k] + 2.0 * ra[k] * a.as_slice()[k]).collect();
        let db: Vec<f64> = (0..10).map(|k| ra[k] * a.as_slice()[k]).collect();
        let build = hr(move |m| {
            weighted(m[0] + m[1], &r) + weighted(m[0] - m[1], &r) + weighted(m[0] * m[1], &r) + weighted(m[0] * m[0], &r)
        });
        check(&[a, b], &build, &[da, db])?;
    }

    #[test]
    fn dropout_gradient_is_the_output_gradient_times_the_mask(
        x in mat(4, 5), r in mat(4, 5), p in 0.0..0.9_f64, seed in any::<u64>()
    ) {
        // The mask, read off the dropout of a matrix of ones: 0 or 1 / (1 - p).
        let tape = Tape::new();
        let mask = tape.mat_const(Shape::new(4, 5), &[1.0; 20]).unwrap().dropout(p, seed).to_vec();
        prop_assert!(mask.iter().all(|&m| m == 0.0 || m == 1.0 / (1.0 - p)));
        // The forward is x times the same mask.
        let y = tape.matrix(&x).dropout(p, seed).to_vec();
        for ((y, m), x) in y.iter().zip(&mask).zip(x.as_slice()) {
            prop_assert_eq!(*y, x * m);
        }
        let hand: Vec<f64> = r.as_slice().iter().zip(&mask).map(|(r, m)| r * m).collect();
        let build = hr(move |m| weighted(m[0].dropout(p, seed), &r));
        check(std::slice::from_ref(&x), &build, &[hand])?;
    }

    #[test]
    fn sum_and_mean_spread_the_output_gradient_evenly(x in mat(3, 5)) {
        let build = hr(|m| m[0].sum() * 2.0 + m[0].mean() * 3.0);
        // d/dx = 2 + 3 / 15
        check(std::slice::from_ref(&x), &build, &[vec![2.0 + 3.0 / 15.0; 15]])?;
    }

    #[test]
    fn least_squares_gradient_is_the_residual(f in mat(4, 3), y in mat(4, 3), mean in any::<bool>()) {
        let reduction = if mean { Reduction::Mean } else { Reduction::Sum };
        let c = if mean { 0.25 } else { 1.0 };
        let hand: Vec<f64> = f.as_slice().iter().zip(y.as_slice()).map(|(a, b)| c * (a - b)).collect();
        let want: f64 = c * 0.5 * f.as_slice().iter().zip(y.as_slice()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>();
        let target = y.as_slice().to_vec();
        let build = hr(move |m| m[0].least_squares(&target, reduction));
        let (value, _) = tape_grads(std::slice::from_ref(&f), &build);
        prop_assert!((value - want).abs() < 1e-12);
        check(std::slice::from_ref(&f), &build, &[hand])?;
    }

    #[test]
    fn cross_entropy_gradient_is_softmax_minus_onehot(
        z in mat(5, 4), labels in proptest::collection::vec(0..4usize, 5), mean in any::<bool>(), shift in -500.0..500.0_f64
    ) {
        let reduction = if mean { Reduction::Mean } else { Reduction::Sum };
        let c = if mean { 0.2 } else { 1.0 };
        // Large shifts must not overflow: softmax is shift-invariant.
        let z0 = z;
        let z = Matrix::from_fn(5, 4, |i, j| z0[(i, j)] + shift);
        let mut hand = vec![0.0; 20];
        let mut want = 0.0;
        for i in 0..5 {
            let row: Vec<f64> = (0..4).map(|j| z[(i, j)] - shift).collect();
            let s: f64 = row.iter().map(|v| v.exp()).sum();
            for j in 0..4 {
                hand[i * 4 + j] = c * (row[j].exp() / s - (j == labels[i]) as u8 as f64);
            }
            want += c * (s.ln() - row[labels[i]]);
        }
        let l2 = labels.clone();
        let build = hr(move |m| m[0].softmax_cross_entropy(&l2, reduction));
        let (value, got) = tape_grads(std::slice::from_ref(&z), &build);
        prop_assert!((value - want).abs() < 1e-9 * want.abs().max(1.0), "{} vs {}", value, want);
        for (a, b) in got[0].iter().zip(&hand) {
            prop_assert!((a - b).abs() < 1e-12);
        }
        // Finite differences on the unshifted logits (same gradient): far
        // from 0 their steps would be lost in the logits' rounding.
        check(std::slice::from_ref(&z0), &build, &[hand])?;
    }
}

#[test]
fn cross_entropy_keeps_a_small_loss_next_to_large_logits() {
    // ln(1 + e^-5) and ln(1 + e^-40): logsumexp - z_y with the difference
    // taken first, so the small loss is not absorbed by the large logit.
    let t32 = Tape::<f32>::new();
    let z = t32.mat(Shape::new(1, 2), &[100.0, 95.0]).unwrap();
    let l = z.softmax_cross_entropy(&[0], Reduction::Sum).value() as f64;
    let want = (-5.0f64).exp().ln_1p();
    assert!((l - want).abs() <= 1e-6 * want, "f32: {l} vs {want}");
    let t64 = Tape::<f64>::new();
    let z = t64.mat(Shape::new(1, 2), &[1000.0, 960.0]).unwrap();
    let l = z.softmax_cross_entropy(&[0], Reduction::Sum).value();
    let want = (-40.0f64).exp().ln_1p();
    assert!((l - want).abs() <= 1e-12 * want, "f64: {l} vs {want}");
}

#[test]
fn matrix_leaky_relu_gradient_at_zero_is_its_slope() {
    let tape = Tape::new();
    let x = tape.mat(Shape::new(1, 3), &[-2.0, 0.0, 3.0]).unwrap();
    let y = x.leaky_relu(0.2);
    assert_eq!(y.value().as_slice(), &[-0.4, 0.0, 3.0]);
    assert_eq!(&tape.backward(y.sum())[x], &[0.2, 0.2, 1.0]);
}

#[test]
fn matrix_relu_gradient_at_zero_uses_chosen_subgradient() {
    for at_zero in [0.0, 0.5, 1.0] {
        let tape = Tape::new();
        let x = tape.mat(Shape::new(1, 3), &[-1.0, 0.0, 2.0]).unwrap();
        let g = tape.backward(x.relu_with(at_zero).sum());
        assert_eq!(&g[x], &[0.0, at_zero, 1.0]);
    }
    let tape = Tape::new();
    let x = tape.mat(Shape::new(1, 1), &[0.0]).unwrap();
    assert_eq!(
        tape.backward(x.relu().sum())[x],
        [0.0],
        "default subgradient is 0"
    );
}

#[test]
fn gradient_flows_only_where_asked() {
    let tape = Tape::<f64>::new();
    let x = tape
        .mat_const(Shape::new(2, 2), &[1.0, 2.0, 3.0, 4.0])
        .unwrap();
    let w = tape.mat(Shape::new(2, 2), &[0.5, -0.5, 0.25, 1.0]).unwrap();
    let y = x.affine(w, None);
    assert!(!x.requires_grad() && w.requires_grad() && y.requires_grad());
    let g = tape.backward(y.sum());
    assert_eq!(&g[x], &[0.0; 4], "no gradient is computed for a constant");
    assert_eq!(&g[w], &[4.0, 6.0, 4.0, 6.0]);
}

#[test]
fn a_constant_reads_a_zero_gradient_where_a_reused_store_held_a_variables() {
    // The same shapes on a cleared tape: the constant's room in the reused
    // store held the variable's gradient on the first pass.
    let mut tape = Tape::<f64>::new();
    let mut grads = autodiff::Grads::empty();
    let data = [1.0, -2.0, 3.0, 4.0];
    let x = tape.mat(Shape::new(2, 2), &data).unwrap();
    tape.backward_into(x.sum(), &mut grads);
    assert_eq!(&grads[x], &[1.0; 4]);
    tape.clear();
    let c = tape.mat_const(Shape::new(2, 2), &data).unwrap();
    let w = tape.mat(Shape::new(2, 2), &data).unwrap();
    tape.backward_into((c * w).sum(), &mut grads);
    assert_eq!(&grads[c], &[0.0; 4]);
    assert_eq!(&grads[w], &data);
    assert_eq!(grads.matrix(c).as_slice(), &[0.0; 4]);
}

/// A loss or a sum over a million f32 entries is accumulated in f64, as
/// JAX's and PyTorch's tree reductions keep it within a few ulps: a running
/// f32 sum of 10^6 times 0.1 is 100958.34, 1% off, and the cross-entropy
/// of 10^6 rows of equal logits 0.6887 instead of ln 2 (`nn::evaluate` on a
/// large data set reports the loss of one such call).
#[test]
fn f32_losses_and_sums_over_a_million_entries_are_correctly_rounded() {
    let n = 1_000_000;
    let tape = Tape::<f32>::new();
    let z = tape.mat(Shape::new(n, 2), &vec![0.0; 2 * n]).unwrap();
    let ce = z
        .softmax_cross_entropy(&vec![1; n], Reduction::Mean)
        .value();
    assert_eq!(ce, std::f64::consts::LN_2 as f32);
    let f = tape.mat(Shape::new(n, 1), &vec![0.1f32; n]).unwrap();
    let sum_of_tenths = (0.1f32 as f64) * n as f64;
    assert_eq!(f.sum().value(), sum_of_tenths as f32);
    assert_eq!(f.mean().value(), 0.1f32);
    let ls = f.least_squares(&vec![0.0; n], Reduction::Sum).value();
    let want = 0.5 * (0.1f32 as f64).powi(2) * n as f64;
    assert_eq!(ls, want as f32);
    let ls = f.least_squares(&vec![0.0; n], Reduction::Mean).value();
    assert_eq!(ls, (want / n as f64) as f32);
}

/// An empty matrix sums to +0, as PyTorch's and JAX's sums (std's float
/// `Sum` starts at -0), and its mean is NaN.
#[test]
fn an_empty_matrix_sums_to_positive_zero() {
    let tape = Tape::<f64>::new();
    let e = tape.mat(Shape::new(0, 3), &[]).unwrap();
    assert_eq!(e.sum().value().to_bits(), 0.0f64.to_bits());
    assert!(e.mean().value().is_nan());
}

/// Column and row sums over 10^6 entries in f32, the bias gradient of a
/// full batch among them: within 5e-6 of the exact sum (a running sum was
/// 1.4e-4 off over 10^5 rows, 9998.56 for 10^4; one level of blocks 6e-5
/// off over 10^6).
#[test]
fn f32_axis_sums_and_the_bias_gradient_over_a_long_batch_stay_accurate() {
    use autodiff::Axis;
    let n = 1_000_000;
    let exact = (0.1f32 as f64) * n as f64;
    let off = |v: f32| (v as f64 / exact - 1.0).abs();
    let tape = Tape::<f32>::new();
    let x = tape.mat(Shape::new(n, 2), &vec![0.1f32; 2 * n]).unwrap();
    for v in x.sum_axis(Axis::Rows).to_vec() {
        assert!(off(v) < 5e-6, "column sum {v}");
    }
    let row = tape.mat(Shape::new(1, n), &vec![0.1f32; n]).unwrap();
    let v = row.sum_axis(Axis::Cols).to_vec()[0];
    assert!(off(v) < 5e-6, "row sum {v}");
    let (w, b) = (
        tape.mat(Shape::new(1, 2), &[0.0, 0.0]).unwrap(),
        tape.mat(Shape::new(1, 1), &[0.0]).unwrap(),
    );
    let l = x.affine(w, Some(b)).scale(0.1).sum();
    let g = tape.backward(l);
    assert!(off(g[b][0]) < 5e-6, "bias gradient {}", g[b][0]);
}

#[test]
fn f32_matrix_path_matches_f64_to_f32_rounding() {
    fn loss<T: autodiff::Float>(vals: &[f64]) -> (f64, Vec<f64>) {
        let tape = Tape::<T>::new();
        let v: Vec<T> = vals.iter().map(|&x| T::from_f64(x)).collect();
        let x = tape.mat(Shape::new(3, 4), &v[..12]).unwrap();
        let w = tape.mat(Shape::new(2, 4), &v[12..20]).unwrap();
        let l = x
            .affine(w, None)
            .tanh()
            .softmax_cross_entropy(&[0, 1, 1], Reduction::Mean);
        let g = tape.backward(l);
        (
            autodiff::Real::to_f64(l.value()),
            g[w].iter().map(|&t| autodiff::Real::to_f64(t)).collect(),
        )
    }
    let vals: Vec<f64> = (0..20).map(|k| (k as f64 * 0.77).sin()).collect();
    let (l32, g32) = loss::<f32>(&vals);
    let (l64, g64) = loss::<f64>(&vals);
    assert!((l32 - l64).abs() < 1e-6 * l64.abs().max(1.0));
    for (a, b) in g32.iter().zip(&g64) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn borrowed_parameters_give_the_values_and_gradients_of_copied_ones() {
    let shapes = [Shape::new(3, 4), Shape::new(1, 3), Shape::new(2, 3)];
    let params: Vec<f64> = (0..21).map(|k| (k as f64 * 0.7).sin()).collect();
    let x: Vec<f64> = (0..8).map(|k| (k as f64 * 0.3).cos()).collect();
    let run = |borrowed: bool| {
        let tape = Tape::<f64>::new();
        let p = if borrowed {
            tape.mats_borrowed(&shapes, &params).unwrap()
        } else {
            tape.mats_packed(&shapes, &params).unwrap()
        };
        assert!(p.all_finite() && p.len() == 3);
        let xm = tape.mat_const(Shape::new(2, 4), &x).unwrap();
        let h = xm.affine(p.get(0), Some(p.get(1))).tanh();
        let z = h.affine(p.get(2), None);
        let loss = z.least_squares(&[0.5; 4], Reduction::Sum) + p.get(2).sum();
        let g = tape.backward(loss);
        (loss.value(), g.packed(p).to_vec(), p.get(0).to_vec())
    };
    let (copied, borrowed) = (run(false), run(true));
    assert_eq!(copied, borrowed);
    assert_eq!(borrowed.2, params[..12]);
}

#[test]
fn a_tape_that_read_borrowed_values_differentiates_later_outputs_after_the_borrow() {
    let mut tape = Tape::<f64>::new();
    let shapes = [Shape::new(2, 2)];
    {
        let data = vec![1.0, 2.0, f64::NAN, 4.0];
        let p = tape.mats_borrowed(&shapes, &data).unwrap();
        assert!(!p.all_finite());
        // A reduction of the borrowed values, left on the tape.
        let _ = p.get(0).least_squares(&[0.0; 4], Reduction::Mean);
    } // `data` is gone; the tape still holds the nodes that read it.
    let z = tape.var(3.0);
    let g = tape.backward(z * z); // must not run the reduction's rule
    assert_eq!(g[z], 6.0);
    tape.clear();
    assert!(tape.is_empty());
}

#[test]
fn tapes_can_move_between_threads() {
    fn send<S: Send>(_: &S) {}
    send(&Tape::<f32>::new());
}

#[test]
fn scalar_statements_around_a_matrix_node_get_their_gradients() {
    // sum of a 1x2 matrix variable times x[1], plus x[0]: scalar statements
    // recorded before and after the matrix node, one sweep through both.
    let x = [0.3, -1.2, 2.0, 0.7];
    let tape = Tape::new();
    let xs = tape.vars(&x);
    let m = tape.mat(Shape::new(1, 2), &[1.5, 2.5]).unwrap();
    let y = m.sum() * xs[1] + xs[0];
    let g = tape.backward(y);
    assert_eq!(g.wrt_all(&xs), [1.0, 4.0, 0.0, 0.0]);
    assert_eq!(g[m], [x[1], x[1]]);
}

#[test]
fn a_matrix_read_by_a_map_and_by_a_later_op_gets_both_gradients() {
    let x = Matrix::from_fn(2, 3, |i, j| 0.4 * i as f64 - 0.3 * j as f64 + 0.1);
    let tape = Tape::new();
    let m = tape.matrix(&x);
    // m.sum() is recorded after the map, so its gradient reaches m first in
    // the sweep: the map's contribution must add to it.
    let y = m.tanh().sum() + m.sum();
    let g = tape.backward(y);
    for (k, &v) in x.as_slice().iter().enumerate() {
        let want = 2.0 - v.tanh() * v.tanh();
        assert!(
            common::close(g[m][k], want, 1e-14),
            "entry {k}: {} vs {want}",
            g[m][k]
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn transpose_gradient_is_the_transposed_output_gradient((m, n, _) in dims(), x in mat(6, 6), r in mat(6, 6)) {
        let (x, r) = (block(&x, m, n), block(&r, n, m));
        // L = sum R x^T: dx[i][j] = R[j][i]. And the value is x transposed.
        let tape = Tape::new();
        let t = tape.matrix(&x).t().value();
        prop_assert_eq!(t.shape(), Shape::new(n, m));
        for i in 0..m {
            for j in 0..n {
                prop_assert_eq!(t[(j, i)], x[(i, j)]);
            }
        }
        let dx: Vec<f64> = (0..m * n).map(|p| r[(p % n, p / n)]).collect();
        let build = hr(move |v| weighted(v[0].t(), &r));
        check(&[x], &build, &[dx])?;
    }

    #[test]
    fn broadcast_gradient_sums_over_the_copies(
        (m, n, _) in dims(), row in mat(1, 6), col in mat(6, 1), one in mat(1, 1), r in mat(6, 6)
    ) {
        let (row, col, r) = (block(&row, 1, n), block(&col, m, 1), block(&r, m, n));
        let shape = Shape::new(m, n);
        // L = sum R (row + col) * one: d row_j = one sum_i R_ij, d col_i = one sum_j R_ij,
        // d one = sum R (row + col).
        let s = one[(0, 0)];
        let drow: Vec<f64> = (0..n).map(|j| s * (0..m).map(|i| r[(i, j)]).sum::<f64>()).collect();
        let dcol: Vec<f64> = (0..m).map(|i| s * (0..n).map(|j| r[(i, j)]).sum::<f64>()).collect();
        let done = vec![(0..m * n).map(|p| r[(p / n, p % n)] * (row[(0, p % n)] + col[(p / n, 0)])).sum::<f64>()];
        let build = hr(move |v| {
            let y = (v[0].broadcast_to(shape) + v[1].broadcast_to(shape)) * v[2].broadcast_to(shape);
            weighted(y, &r)
        });
        check(&[row, col, one], &build, &[drow, dcol, done])?;
    }

    #[test]
    fn axis_sums_and_means_pass_each_output_gradient_to_its_row_or_column(
        (m, n, _) in dims(), x in mat(6, 6), rr in mat(1, 6), rc in mat(6, 1)
    ) {
        let (x, rr, rc) = (block(&x, m, n), block(&rr, 1, n), block(&rc, m, 1));
        use autodiff::Axis;
        // L = sum rr sum_rows(x) + sum rc mean_cols(x):
        // dx[i][j] = rr[j] + rc[i] / n.
        let dx: Vec<f64> = (0..m * n).map(|p| rr[(0, p % n)] + rc[(p / n, 0)] / n as f64).collect();
        let tape = Tape::new();
        let v = tape.matrix(&x);
        let (s, mu) = (v.sum_axis(Axis::Rows).value(), v.mean_axis(Axis::Cols).value());
        for j in 0..n {
            prop_assert!((s[(0, j)] - (0..m).map(|i| x[(i, j)]).sum::<f64>()).abs() < 1e-12);
        }
        for i in 0..m {
            prop_assert!((mu[(i, 0)] - (0..n).map(|j| x[(i, j)]).sum::<f64>() / n as f64).abs() < 1e-12);
        }
        let build = hr(move |v| weighted(v[0].sum_axis(Axis::Rows), &rr) + weighted(v[0].mean_axis(Axis::Cols), &rc));
        check(&[x], &build, &[dx])?;
    }

    #[test]
    fn softmax_and_log_softmax_gradients_are_their_jacobians(
        (m, n, _) in dims(), z in mat(6, 6), r in mat(6, 6)
    ) {
        let (z, r) = (block(&z, m, n), block(&r, m, n));
        // p = softmax(z) per row: for L = sum R p, dz = p (R - <R, p>);
        // for L = sum R ln p, dz = R - p sum R.
        let p = Matrix::from_fn(m, n, |i, j| {
            let s: f64 = (0..n).map(|k| z[(i, k)].exp()).sum();
            z[(i, j)].exp() / s
        });
        let dsoft: Vec<f64> = (0..m * n).map(|q| {
            let (i, j) = (q / n, q % n);
            let dot: f64 = (0..n).map(|k| r[(i, k)] * p[(i, k)]).sum();
            p[(i, j)] * (r[(i, j)] - dot)
        }).collect();
        let dlog: Vec<f64> = (0..m * n).map(|q| {
            let (i, j) = (q / n, q % n);
            r[(i, j)] - p[(i, j)] * (0..n).map(|k| r[(i, k)]).sum::<f64>()
        }).collect();
        let tape = Tape::new();
        let (sv, lv) = (tape.matrix(&z).softmax().value(), tape.matrix(&z).log_softmax().value());
        for q in 0..m * n {
            let (i, j) = (q / n, q % n);
            prop_assert!((sv[(i, j)] - p[(i, j)]).abs() < 1e-14);
            prop_assert!((lv[(i, j)] - p[(i, j)].ln()).abs() < 1e-13);
        }
        let r2 = r.clone();
        check(std::slice::from_ref(&z), &hr(move |v| weighted(v[0].softmax(), &r)), &[dsoft])?;
        check(std::slice::from_ref(&z), &hr(move |v| weighted(v[0].log_softmax(), &r2)), &[dlog])?;
    }

    #[test]
    fn entries_and_matrices_of_scalars_pass_gradients_both_ways(x in mat(2, 3), a in -2.0..2.0_f64, b in -2.0..2.0_f64) {
        // L = x[1][2] * x[0][0] + sum([[a, a b, 3]] * x[1]) with scalar
        // inputs a, b: the gradients reach both the matrix and the scalars.
        let tape = Tape::new();
        let xm = tape.matrix(&x);
        let (va, vb) = (tape.var(a), tape.var(b));
        let k = Var::constant(3.0);
        let s = tape.mat_from_vars(Shape::new(1, 3), &[va, va * vb, k]).unwrap();
        let row1 = tape.mat_const(Shape::new(1, 3), &[x[(1, 0)], x[(1, 1)], x[(1, 2)]]).unwrap();
        let l = xm.get(1, 2) * xm.get(0, 0) + (s * row1).sum();
        let g = tape.backward(l);
        let mut dx = vec![0.0; 6];
        dx[5] = x[(0, 0)];
        dx[0] = x[(1, 2)];
        prop_assert_eq!(g[xm].to_vec(), dx);
        prop_assert!((g[va] - (x[(1, 0)] + b * x[(1, 1)])).abs() < 1e-14);
        prop_assert!((g[vb] - a * x[(1, 1)]).abs() < 1e-14);
        prop_assert!((l.value() - (x[(1, 2)] * x[(0, 0)] + a * x[(1, 0)] + a * b * x[(1, 1)] + 3.0 * x[(1, 2)])).abs() < 1e-13);
    }
}

#[test]
fn broadcast_and_entry_gradients_are_fresh_in_a_reused_gradient_store() {
    // backward_into reuses the store's arena: a rule that only adds into a
    // slot it writes first would keep the previous output's gradient.
    let tape = Tape::<f64>::new();
    let s = tape.mat(Shape::new(1, 1), &[2.0]).unwrap();
    let x = tape
        .mat(Shape::new(2, 3), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        .unwrap();
    let shape = Shape::new(2, 3);
    let l1 = (x * s.broadcast_to(shape)).sum() + x.get(0, 1) * 3.0;
    let l2 = s.broadcast_to(shape).sum() + x.get(1, 2) * 2.0;
    let mut g = autodiff::Grads::empty();
    tape.backward_into(l1, &mut g);
    assert_eq!(g[s], [21.0]);
    tape.backward_into(l2, &mut g);
    assert_eq!(g[s], [6.0]);
    assert_eq!(g[x], [0.0, 0.0, 0.0, 0.0, 0.0, 2.0]);
}

#[test]
fn softmax_adds_its_gradient_to_one_its_input_already_holds() {
    // z feeds a later node (a scale) too: in the reverse sweep that node
    // writes z's gradient first, and softmax's rule must add to it.
    let z = [0.3, -1.2, 2.0];
    let r = [1.0, -2.0, 0.5];
    let tape = Tape::<f64>::new();
    let zm = tape.mat(Shape::new(1, 3), &z).unwrap();
    let rm = tape.mat_const(Shape::new(1, 3), &r).unwrap();
    let l = (zm.softmax() * rm).sum() + zm.scale(4.0).sum();
    let g = tape.backward(l);
    let e: Vec<f64> = z.iter().map(|v| v.exp()).collect();
    let s: f64 = e.iter().sum();
    let p: Vec<f64> = e.iter().map(|v| v / s).collect();
    let dot: f64 = p.iter().zip(&r).map(|(a, b)| a * b).sum();
    for j in 0..3 {
        let want = p[j] * (r[j] - dot) + 4.0;
        assert!(
            (g[zm][j] - want).abs() < 1e-14,
            "{j}: {} vs {want}",
            g[zm][j]
        );
    }
}

#[test]
fn the_division_and_negation_operators_have_the_quotient_and_sign_rules() {
    let tape = Tape::<f64>::new();
    let a = tape.mat(Shape::new(1, 2), &[3.0, -1.0]).unwrap();
    let b = tape.mat(Shape::new(1, 2), &[2.0, 4.0]).unwrap();
    let q = a / b;
    assert_eq!(q.to_vec(), [1.5, -0.25]);
    let g = tape.backward((-q).sum());
    // d(-a/b)/da = -1/b, d(-a/b)/db = a/b^2
    assert_eq!(g[a], [-0.5, -0.25]);
    assert_eq!(g[b], [0.75, -1.0 / 16.0]);
    let c = tape.mat(Shape::new(1, 3), &[1.0; 3]).unwrap();
    assert!(matches!(a.try_div(c), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn packed_mut_edits_what_packed_reads() {
    let tape = Tape::<f64>::new();
    let p = tape
        .mats_packed(&[Shape::new(1, 2), Shape::new(1, 1)], &[1.0, 2.0, 3.0])
        .unwrap();
    let loss = (p.get(0).sum() + p.get(1).sum()) * tape.var(1.0);
    let mut g = tape.backward(loss);
    g.packed_mut(p).iter_mut().for_each(|v| *v *= 0.5);
    assert_eq!(g.packed(p), [0.5, 0.5, 0.5]);
}

#[test]
fn scale_dropout_and_cross_entropy_assign_their_first_gradient_into_a_reused_store() {
    // A gradient store reused by `backward_into` keeps the last call's
    // values in its arena; the first rule to write an input's gradient
    // assigns, so the second call's gradients equal the first's.
    use autodiff::Grads;
    let tape = Tape::<f64>::new();
    let vals: Vec<f64> = (0..12).map(|k| (k as f64 * 0.7).sin()).collect();
    let x = tape.mat(Shape::new(3, 4), &vals).unwrap();
    let losses = [
        x.scale(3.0).sum(),
        x.dropout(0.5, 4).sum(),
        x.softmax_cross_entropy(&[0, 3, 1], Reduction::Sum),
    ];
    let mut grads = Grads::empty();
    for loss in losses {
        let once = tape.backward(loss)[x].to_vec();
        for _ in 0..2 {
            tape.backward_into(loss, &mut grads);
            assert_eq!(grads[x], once[..]);
        }
    }
}

/// A broadcast's gradient sums the copies in the blocked order of
/// `sum_axis` and the affine bias gradient: a bias added as
/// `x + b.broadcast_to(x.shape())` (as `broadcast_to`'s doc suggests) or a
/// learned 1 x 1 scale over 10^5 rows summed its copies in order, which in
/// f32 drifted (10^5 times 0.1 gave 9998.56).
#[test]
fn f32_broadcast_gradients_over_a_long_batch_are_summed_in_blocks() {
    let n = 100_000;
    let tape = Tape::<f32>::new();
    let x = tape.mat_const(Shape::new(n, 2), &vec![0.0; 2 * n]).unwrap();
    let b = tape.mat(Shape::new(1, 2), &[0.0; 2]).unwrap();
    let s = tape.mat(Shape::new(1, 1), &[0.0]).unwrap();
    let c = tape.mat(Shape::new(n, 1), &vec![0.0; n]).unwrap();
    let y = x + b.broadcast_to(x.shape()) + s.broadcast_to(x.shape()) + c.broadcast_to(x.shape());
    let w = tape.mat_const(y.shape(), &vec![0.1; 2 * n]).unwrap();
    let g = tape.backward((y * w).sum());
    let tenth = 0.1f32 as f64;
    let rel = |got: f32, want: f64| ((got as f64 - want) / want).abs();
    for &gb in &g[b] {
        assert!(rel(gb, tenth * n as f64) < 1e-5, "{gb}");
    }
    assert!(rel(g[s][0], tenth * 2.0 * n as f64) < 1e-5, "{}", g[s][0]);
    assert!(
        g[c].iter().all(|&gc| gc == 0.1f32 + 0.1f32),
        "{:?}",
        &g[c][..2]
    );
}
