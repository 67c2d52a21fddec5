//! Softmax cross-entropy with label smoothing and class weights
//! (`Mat::try_softmax_cross_entropy_with`), as PyTorch's
//! `CrossEntropyLoss(weight, reduction, label_smoothing)`: values against
//! reference numbers computed independently at 60 digits, gradients against
//! the closed form `(sum_k t_k) p - t` and central finite differences, the
//! plain loss bitwise unchanged. The typed errors are in `matrix_errors.rs`.

// The reference numbers as the script printed them (20 digits).
#![allow(clippy::excessive_precision)]

use autodiff::{gradcheck_mats, CrossEntropy, GradcheckConfig, Matrix, Reduction, Shape, Tape};
use proptest::prelude::*;

// Produced by this script (Python 3.11, numpy 2.4.6, mpmath 1.4.1): PyTorch's
// formula in mpmath at 60 digits, checked against the same in numpy f64
// (relative differences below 6e-17).
//
// # PyTorch's CrossEntropyLoss(weight, reduction, label_smoothing) on class
// # indices (aten/src/ATen/native/LossNLL.cpp, cross_entropy_loss_label_smoothing):
// #   (1 - eps) * nll_loss(log_softmax(z), y, weight, reduction)
// #     + (eps / K) * reduce(-sum_k w_k log_softmax(z)_k)
// # with mean = sum / sum_i w_{y_i} for both parts.
// import numpy as np, mpmath as mp
// mp.mp.dps = 60
// rng = np.random.default_rng(7)
// R, K = 4, 5
// z = np.round(rng.normal(0, 3, (R, K)), 3); z[2] += 40.0   # a shifted row
// y = [3, 0, 4, 1]
// w = [0.5, 2.0, 1.0, 0.25, 3.0]
// def ref_mp(z, y, w, eps, mean):
//     z = [[v if isinstance(v, mp.mpf) else mp.mpf(float(v)) for v in r] for r in z]
//     w = [mp.mpf(1)] * K if w is None else [mp.mpf(v) for v in w]
//     eps = mp.mpf(eps)
//     nll = smooth = den = mp.mpf(0)
//     for r, l in zip(z, y):
//         lse = mp.log(mp.fsum(mp.exp(v) for v in r))
//         nll += w[l] * (lse - r[l]); den += w[l]
//         smooth += mp.fsum(wk * (lse - v) for wk, v in zip(w, r))
//     if mean:
//         nll, smooth = nll / den, smooth / den
//     return (1 - eps) * nll + eps / K * smooth
// def ref_np(z, y, w, eps, mean):
//     w = np.ones(K) if w is None else np.array(w)
//     m = z.max(1, keepdims=True)
//     lsm = z - (m + np.log(np.exp(z - m).sum(1, keepdims=True)))
//     nll = -(w[y] * lsm[np.arange(R), y]); sm = -(lsm * w).sum(1)
//     d = w[y].sum() if mean else 1.0
//     return (1 - eps) * nll.sum() / d + eps / K * sm.sum() / d
// print("z =", [[float(v) for v in r] for r in z])
// for eps, weighted, mean in [(0.1, False, True), (0.1, False, False), (0.0, True, True),
//                             (0.25, True, True), (0.25, True, False), (1.0, True, True)]:
//     ww = w if weighted else None
//     a, b = ref_mp(z, y, ww, eps, mean), ref_np(z, y, ww, eps, mean)
//     print(f"({eps}, {weighted}, {mean}, {mp.nstr(a, 20)}),  # rel {float(abs(b - a) / a):.1e}")
// # The gradient of case (0.25, weighted, mean) by mpmath's numerical
// # differentiation at 60 digits (independent of the closed form).
// g = []
// for i in range(R):
//     for k in range(K):
//         def f(t, i=i, k=k):
//             zz = [[mp.mpf(float(v)) for v in r] for r in z]; zz[i][k] = t
//             return ref_mp(zz, y, w, 0.25, True)
//         g.append(mp.nstr(mp.diff(f, mp.mpf(float(z[i][k]))), 20))
// print("grad =", ", ".join(g))
#[rustfmt::skip]
const Z: [f64; 20] = [
    0.004, 0.896, -0.822, -2.672, -1.364,
    -2.975, 0.18, 4.021, -1.477, -1.861,
    41.47, 41.071, 40.316, 37.209, 39.912,
    2.086, -4.033, -1.373, -5.704, -3.869,
];
const LABELS: [usize; 4] = [3, 0, 4, 1];
const WEIGHT: [f64; 5] = [0.5, 2.0, 1.0, 0.25, 3.0];
/// (label smoothing, weighted, mean, PyTorch's loss)
const CASES: [(f64, bool, bool, f64); 6] = [
    (0.1, false, true, 4.7614012421854272773),
    (0.1, false, false, 19.045604968741709109),
    (0.0, true, true, 4.1573338096038485852),
    (0.25, true, true, 3.9240765184116389023),
    (0.25, true, false, 22.563439980866923688),
    (1.0, true, true, 3.2243046448350098536),
];
/// The gradient of (0.25, weighted, mean).
#[rustfmt::skip]
const GRAD: [f64; 20] = [
    0.017384808366883634308, 0.035636427690645176575, 0.00081882948172648311875,
    -0.033286578561176422931, -0.02055348697807887107, -0.069454996796501963099,
    -0.014806296649686168717, 0.11169338627654510906, -0.0016809255700057900326,
    -0.02575116726035118721, 0.19917737471865526316, 0.11917221288383215312,
    0.055490650509903352563, 0.00069745858259737615432, -0.37453769669498814499,
    0.303913878572211616, -0.27758249174368613237, 0.0010026332808289563489,
    -0.002046338047984854816, -0.025287682061369585162,
];

fn options(eps: f64, weighted: bool, mean: bool) -> CrossEntropy<'static, f64> {
    let r = if mean {
        Reduction::Mean
    } else {
        Reduction::Sum
    };
    let ce = CrossEntropy::new(r).with_label_smoothing(eps);
    if weighted {
        ce.with_weight(&WEIGHT)
    } else {
        ce
    }
}

#[test]
fn smoothed_and_weighted_losses_match_pytorchs_formula_to_1e_12() {
    for (eps, weighted, mean, want) in CASES {
        let tape = Tape::<f64>::new();
        let z = tape.mat(Shape::new(4, 5), &Z).unwrap();
        let got = z
            .try_softmax_cross_entropy_with(&LABELS, options(eps, weighted, mean))
            .unwrap()
            .value();
        let rel = (got - want).abs() / want;
        assert!(
            rel < 1e-12,
            "eps {eps}, weighted {weighted}, mean {mean}: {got} vs {want} (rel {rel:.1e})"
        );
    }
}

#[test]
fn weighted_smoothed_mean_gradient_matches_a_60_digit_numerical_derivative() {
    let tape = Tape::<f64>::new();
    let z = tape.mat(Shape::new(4, 5), &Z).unwrap();
    let loss = z.softmax_cross_entropy_with(&LABELS, options(0.25, true, true));
    let g = tape.backward(loss)[z].to_vec();
    for (k, (&got, &want)) in g.iter().zip(&GRAD).enumerate() {
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1e-2),
            "entry {k}: {got} vs {want}"
        );
    }
}

/// The per-row targets `t_ik = (1 - eps) w_y [k = y] + (eps / K) w_k` and
/// the closed-form gradient `c ((sum_k t_ik) p_i - t_i)`, in plain loops.
fn closed_form(z: &Matrix<f64>, labels: &[usize], w: &[f64], eps: f64, mean: bool) -> Vec<f64> {
    let (rows, k) = (z.rows(), z.cols());
    let c = if mean {
        1.0 / labels.iter().map(|&l| w[l]).sum::<f64>()
    } else {
        1.0
    };
    let mut g = vec![0.0; rows * k];
    for i in 0..rows {
        let m = (0..k).map(|j| z[(i, j)]).fold(f64::MIN, f64::max);
        let s: f64 = (0..k).map(|j| (z[(i, j)] - m).exp()).sum();
        let t: Vec<f64> = (0..k)
            .map(|j| {
                eps / k as f64 * w[j]
                    + if j == labels[i] {
                        (1.0 - eps) * w[j]
                    } else {
                        0.0
                    }
            })
            .collect();
        let tsum: f64 = t.iter().sum();
        for j in 0..k {
            g[i * k + j] = c * (tsum * (z[(i, j)] - m).exp() / s - t[j]);
        }
    }
    g
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn gradient_is_the_weighted_softmax_minus_target_and_passes_finite_differences(
        z in autodiff::strategies::matrix(4, 3),
        labels in proptest::collection::vec(0..3usize, 4),
        w in proptest::collection::vec(0.1..3.0f64, 3),
        eps in 0.0..=1.0f64,
        weighted in any::<bool>(),
        mean in any::<bool>(),
    ) {
        let w = if weighted { w } else { vec![1.0; 3] };
        fn ce(w: &[f64], eps: f64, weighted: bool, mean: bool) -> CrossEntropy<'_, f64> {
            let r = if mean { Reduction::Mean } else { Reduction::Sum };
            let ce = CrossEntropy::new(r).with_label_smoothing(eps);
            if weighted { ce.with_weight(w) } else { ce }
        }
        let tape = Tape::<f64>::new();
        let zm = tape.matrix(&z);
        let g = tape.backward(zm.softmax_cross_entropy_with(&labels, ce(&w, eps, weighted, mean)))[zm].to_vec();
        let want = closed_form(&z, &labels, &w, eps, mean);
        for (a, b) in g.iter().zip(&want) {
            prop_assert!((a - b).abs() < 1e-13, "{a} vs {b}");
        }
        let report = gradcheck_mats(
            |m| m[0].softmax_cross_entropy_with(&labels, ce(&w, eps, weighted, mean)),
            std::slice::from_ref(&z),
            &GradcheckConfig::default(),
        )
        .unwrap();
        prop_assert!(report.passed(), "{report}");
    }
}

/// The plain loss as it was computed before the options came (the same
/// operations in the same order), to compare bitwise.
fn plain_as_before<T: autodiff::Float>(
    z: &[T],
    cols: usize,
    labels: &[usize],
    mean: bool,
) -> (T, Vec<T>) {
    use autodiff::Real;
    let rows = labels.len();
    let mut probs = vec![T::zero(); z.len()];
    let mut total = 0.0f64;
    for ((zr, pr), &label) in z
        .chunks_exact(cols)
        .zip(probs.chunks_exact_mut(cols))
        .zip(labels)
    {
        let m = zr.iter().copied().fold(zr[0], Real::max);
        let top = zr.iter().position(|&v| v == m);
        let mut rest = T::zero();
        for (j, (p, &zi)) in pr.iter_mut().zip(zr).enumerate() {
            *p = (zi - m).exp();
            if Some(j) != top {
                rest += *p;
            }
        }
        let inv = T::one() / (T::one() + rest);
        for p in pr.iter_mut() {
            *p *= inv;
        }
        total += ((m - zr[label]) + rest.ln_1p()).to_f64();
    }
    let (fv, ft) = if mean {
        (1.0 / rows as f64, T::one() / T::from_f64(rows as f64))
    } else {
        (1.0, T::one())
    };
    let mut g: Vec<T> = probs.iter().map(|&p| ft * p).collect();
    for (gr, &label) in g.chunks_exact_mut(cols).zip(labels) {
        gr[label] -= ft;
    }
    (T::from_f64(total * fv), g)
}

fn plain_is_bitwise_unchanged<T: autodiff::Float>() {
    let z: Vec<T> = Z.iter().map(|&v| T::from_f64(v)).collect();
    for mean in [true, false] {
        let r = if mean {
            Reduction::Mean
        } else {
            Reduction::Sum
        };
        let (want, want_g) = plain_as_before(&z, 5, &LABELS, mean);
        for ce in [
            CrossEntropy::new(r),
            CrossEntropy::new(r).with_label_smoothing(0.0),
        ] {
            let tape = Tape::<T>::new();
            let zm = tape.mat(Shape::new(4, 5), &z).unwrap();
            let loss = zm.softmax_cross_entropy_with(&LABELS, ce);
            let g = tape.backward(loss)[zm].to_vec();
            assert_eq!(
                loss.value().to_f64().to_bits(),
                want.to_f64().to_bits(),
                "{r:?}"
            );
            let bits = |v: &[T]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&g), bits(&want_g), "{r:?}");
        }
    }
}

#[test]
fn no_smoothing_and_no_weights_is_bitwise_the_plain_loss_in_f32_and_f64() {
    plain_is_bitwise_unchanged::<f32>();
    plain_is_bitwise_unchanged::<f64>();
}

#[test]
fn uniform_weights_give_the_unweighted_loss_and_gradient() {
    // PyTorch's weighted mean divides by sum_i w_{y_i}: with every w = 2,
    // the mean is the unweighted one (the sum doubles).
    let two = [2.0; 5];
    for (eps, mean) in [(0.0, true), (0.3, true), (0.3, false)] {
        let r = if mean {
            Reduction::Mean
        } else {
            Reduction::Sum
        };
        let run = |ce: CrossEntropy<'_, f64>| {
            let tape = Tape::<f64>::new();
            let z = tape.mat(Shape::new(4, 5), &Z).unwrap();
            let loss = z.softmax_cross_entropy_with(&LABELS, ce);
            (loss.value(), tape.backward(loss)[z].to_vec())
        };
        let (v1, g1) = run(CrossEntropy::new(r).with_label_smoothing(eps));
        let (v2, g2) = run(CrossEntropy::new(r)
            .with_label_smoothing(eps)
            .with_weight(&two));
        let k = if mean { 1.0 } else { 2.0 };
        assert!(
            (v2 - k * v1).abs() <= 1e-14 * v2,
            "{eps} {mean}: {v2} vs {k} x {v1}"
        );
        for (a, b) in g1.iter().zip(&g2) {
            assert!((b - k * a).abs() <= 1e-15, "{eps} {mean}: {b} vs {k} x {a}");
        }
    }
}

#[test]
fn a_masked_class_of_weight_zero_costs_nothing_under_smoothing() {
    // A logit of -inf (a class masked out) with weight 0: its term is left
    // out, where PyTorch's 0 * inf gives NaN. With weight 1 the smoothed
    // target puts mass on it and the loss is infinite, as PyTorch's.
    let z = [1.0, f64::NEG_INFINITY, 0.5, 2.0, f64::NEG_INFINITY, -1.0];
    let tape = Tape::<f64>::new();
    let zm = tape.mat(Shape::new(2, 3), &z).unwrap();
    let w = [1.0, 0.0, 1.0];
    let ce = CrossEntropy::new(Reduction::Mean)
        .with_label_smoothing(0.2)
        .with_weight(&w);
    let loss = zm.softmax_cross_entropy_with(&[0, 2], ce);
    let g = tape.backward(loss)[zm].to_vec();
    // Row 0: softmax (e / (e + e^0.5), 0, ...); the smoothed weighted loss
    // by hand over the two live classes.
    let row = |a: f64, b: f64, ya: bool| {
        let (la, lb) = ((1.0 + (b - a).exp()).ln(), (1.0 + (a - b).exp()).ln());
        let (ta, tb) = (
            0.2 / 3.0 + if ya { 0.8 } else { 0.0 },
            0.2 / 3.0 + if ya { 0.0 } else { 0.8 },
        );
        ta * la + tb * lb
    };
    let want = (row(1.0, 0.5, true) + row(2.0, -1.0, false)) / 2.0;
    assert!(
        (loss.value() - want).abs() < 1e-15,
        "{} vs {want}",
        loss.value()
    );
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    assert_eq!((g[1], g[4]), (0.0, 0.0));
    let unweighted = CrossEntropy::new(Reduction::Mean).with_label_smoothing(0.2);
    let tape = Tape::<f64>::new();
    let zm = tape.mat(Shape::new(2, 3), &z).unwrap();
    assert_eq!(
        zm.softmax_cross_entropy_with(&[0, 2], unweighted).value(),
        f64::INFINITY
    );
}

#[test]
fn full_smoothing_ignores_the_labels() {
    // eps = 1: the target is uniform, whatever the labels.
    let ce = CrossEntropy::new(Reduction::Sum).with_label_smoothing(1.0);
    let value = |labels: &[usize]| {
        let tape = Tape::<f64>::new();
        let z = tape.mat(Shape::new(4, 5), &Z).unwrap();
        z.softmax_cross_entropy_with(labels, ce).value()
    };
    assert_eq!(value(&LABELS), value(&[0, 0, 0, 0]));
}

#[test]
fn f32_smoothed_weighted_loss_agrees_with_f64() {
    let z32: Vec<f32> = Z.iter().map(|&v| v as f32).collect();
    let w32: Vec<f32> = WEIGHT.iter().map(|&v| v as f32).collect();
    let tape = Tape::<f32>::new();
    let z = tape.mat(Shape::new(4, 5), &z32).unwrap();
    let ce = CrossEntropy::new(Reduction::Mean)
        .with_label_smoothing(0.25)
        .with_weight(&w32);
    let loss = z.softmax_cross_entropy_with(&LABELS, ce);
    let want = CASES[3].3;
    assert!(
        ((loss.value() as f64) - want).abs() < 1e-6 * want,
        "{} vs {want}",
        loss.value()
    );
    let g = tape.backward(loss)[z].to_vec();
    for (a, b) in g.iter().zip(&GRAD) {
        assert!(((*a as f64) - b).abs() < 1e-6, "{a} vs {b}");
    }
}

/// The f32 gradient of the loss on one row `[1, 2]` of label 0, and the
/// f64 one of the same numbers.
fn f32_and_f64_gradients(w: [f32; 2], eps: f64, reduction: Reduction) -> (Vec<f32>, Vec<f64>) {
    let tape = Tape::<f32>::new();
    let z = tape.mat(Shape::new(1, 2), &[1.0, 2.0]).unwrap();
    let ce = CrossEntropy::new(reduction)
        .with_label_smoothing(eps)
        .with_weight(&w);
    let g32 = tape.backward(z.softmax_cross_entropy_with(&[0], ce))[z].to_vec();
    let tape = Tape::<f64>::new();
    let z = tape.mat(Shape::new(1, 2), &[1.0, 2.0]).unwrap();
    let w64 = w.map(f64::from);
    let ce = CrossEntropy::new(reduction)
        .with_label_smoothing(eps)
        .with_weight(&w64);
    let g64 = tape.backward(z.softmax_cross_entropy_with(&[0], ce))[z].to_vec();
    (g32, g64)
}

#[test]
fn f32_gradient_is_finite_for_label_weights_summing_below_1_over_f32_max_or_above_f32_max() {
    for (w, eps, reduction) in [
        // The mean divides by 1e-39: 1 / 1e-39 overflows f32.
        ([1e-39, 1.0], 0.0, Reduction::Mean),
        ([1e-39, 1e-39], 0.1, Reduction::Mean),
        // sum_k w_k overflows f32, with eps = 0 multiplied by 0.
        ([3e38, 3e38], 0.0, Reduction::Mean),
        ([3e38, 3e38], 0.0, Reduction::Sum),
    ] {
        let (g32, g64) = f32_and_f64_gradients(w, eps, reduction);
        for (a, b) in g32.iter().zip(&g64) {
            assert!(
                ((*a as f64) - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{w:?}, eps {eps}, {reduction:?}: f32 {g32:?} vs f64 {g64:?}"
            );
        }
    }
}
