//! The tape's MLP gradients against the seed's closed-form back-propagation
//! (`nn::jacobian_chain`, equations (5.11)-(5.15)) on random networks, the
//! ReLU subgradient at exactly 0, central finite differences, and the
//! forward pass in `f32` against `f64` and against the taped forward.

use autodiff::{GradcheckConfig, Reduction, Shape, Tape};
use nn::jacobian_chain::{self, Layers};
use nn::{Activation, BatchTargets, Loss, Mlp};
use proptest::collection::vec;
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// A random network with its data: widths `a_0 .. a_{p+1}`, one activation
/// per hidden layer and the output's, the loss, the flat parameters, a
/// batch and its targets, and optionally a unit whose incoming weights and
/// bias are all zero (so that its `z` is exactly 0 for every sample).
#[derive(Clone, Debug)]
struct Case {
    widths: Vec<usize>,
    hidden: Vec<Activation>,
    output: Activation,
    loss: Loss,
    params: Vec<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
    labels: Vec<usize>,
    dead: Option<(usize, usize)>,
}

impl Case {
    fn batch(&self) -> usize {
        self.x.len() / self.widths[0]
    }

    fn out_width(&self) -> usize {
        *self.widths.last().unwrap()
    }

    fn targets(&self) -> BatchTargets<'_, f64> {
        match self.loss {
            Loss::LeastSquares(_) => BatchTargets::Values(&self.y),
            Loss::CrossEntropy(_) | Loss::SmoothedCrossEntropy { .. } => {
                BatchTargets::Classes(&self.labels)
            }
        }
    }

    /// The network, with the parameters of the case (and the dead unit
    /// zeroed).
    fn mlp(&self) -> Mlp<f64> {
        let mut mlp = Mlp::<f64>::builder(&self.widths)
            .hidden_each(&self.hidden)
            .output(self.output)
            .build()
            .expect("valid architecture");
        mlp.params_mut().copy_from_slice(&self.params);
        if let Some((r, i)) = self.dead {
            zero_unit(&mut mlp, r, i);
        }
        mlp
    }
}

/// Sets row `i` of `W_r` and `b_r[i]` to 0: `z_r[i] = 0` exactly.
fn zero_unit(mlp: &mut Mlp<f64>, r: usize, i: usize) {
    let (a_in, w_off) = {
        let s = mlp.slots()[2 * r];
        (s.shape.cols, s.offset)
    };
    let b_off = mlp.slots()[2 * r + 1].offset;
    let p = mlp.params_mut();
    p[w_off + i * a_in..w_off + (i + 1) * a_in]
        .iter_mut()
        .for_each(|v| *v = 0.0);
    p[b_off + i] = 0.0;
}

fn num_params(widths: &[usize]) -> usize {
    widths.windows(2).map(|w| w[0] * w[1] + w[1]).sum()
}

fn relu() -> impl Strategy<Value = Activation> {
    prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0_f64]
        .prop_map(|at_zero| Activation::Relu { at_zero })
}

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        3 => Just(Activation::Sigmoid),
        3 => Just(Activation::Tanh),
        4 => relu(),
        1 => Just(Activation::Identity),
        1 => Just(Activation::Softplus),
        1 => leaky_relu(),
        1 => Just(Activation::Silu),
        1 => Just(Activation::Gelu),
    ]
}

fn leaky_relu() -> impl Strategy<Value = Activation> {
    prop_oneof![Just(0.01), -1.0..=1.0_f64].prop_map(|slope| Activation::LeakyRelu { slope })
}

fn smooth_activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Softplus),
        Just(Activation::Identity),
        relu(),
        leaky_relu(),
        Just(Activation::Silu),
        Just(Activation::Gelu),
    ]
}

fn loss() -> impl Strategy<Value = Loss> {
    let red = prop_oneof![Just(Reduction::Sum), Just(Reduction::Mean)];
    // Label smoothing: the tape's fused rule against the chain's mixture
    // of plain cross-entropies.
    (0..3usize, red, 0.0..=1.0f64).prop_map(|(kind, r, eps)| match kind {
        0 => Loss::LeastSquares(r),
        1 => Loss::CrossEntropy(r),
        _ => Loss::SmoothedCrossEntropy {
            reduction: r,
            label_smoothing: eps,
        },
    })
}

/// Random cases: depth `p` in `0..=max_hidden`, widths in `1..=max_width`,
/// batch 1 to 8, weights in [-1, 1], inputs and targets in [-2, 2].
fn case(
    max_hidden: usize,
    max_width: usize,
    act: fn() -> BoxedStrategy<Activation>,
    dead_units: bool,
) -> impl Strategy<Value = Case> {
    (0..=max_hidden)
        .prop_flat_map(move |p| {
            (
                vec(1..=max_width, p + 2),
                vec(act(), p),
                prop_oneof![6 => Just(Activation::Identity), 1 => act()],
                loss(),
                1..=8usize,
            )
        })
        .prop_flat_map(move |(widths, hidden, output, loss, n)| {
            let (a0, out) = (widths[0], *widths.last().unwrap());
            let layers = widths.len() - 1;
            let dead = if dead_units {
                prop::option::weighted(0.3, (0..layers, any::<prop::sample::Index>())).boxed()
            } else {
                Just(None).boxed()
            };
            (
                Just(widths.clone()),
                Just(hidden),
                Just(output),
                Just(loss),
                vec(-1.0..1.0_f64, num_params(&widths)),
                vec(-2.0..2.0_f64, n * a0),
                vec(-2.0..2.0_f64, n * out),
                vec(0..out, n),
                dead,
            )
        })
        .prop_map(
            |(widths, hidden, output, loss, params, x, y, labels, dead)| {
                let dead = dead.map(|(r, i)| (r, i.index(widths[r + 1])));
                Case {
                    widths,
                    hidden,
                    output,
                    loss,
                    params,
                    x,
                    y,
                    labels,
                    dead,
                }
            },
        )
}

fn any_activation() -> BoxedStrategy<Activation> {
    activation().boxed()
}

fn smooth() -> BoxedStrategy<Activation> {
    smooth_activation().boxed()
}

/// The loss, the flat parameter gradient and the input gradient, from the
/// tape: `forward` with `x` as a variable, `backward`, `gradient_into`.
fn tape_gradients(
    mlp: &Mlp<f64>,
    x: &[f64],
    targets: BatchTargets<'_, f64>,
    loss: Loss,
) -> (f64, Vec<f64>, Vec<f64>) {
    let a0 = mlp.widths()[0];
    let tape = Tape::new();
    let xm = tape.mat(Shape::new(x.len() / a0, a0), x).unwrap();
    let out = mlp.forward(&tape, xm).unwrap();
    let l = loss.apply(out.output, targets).unwrap();
    let grads = tape.backward(l);
    let mut g = vec![0.0; mlp.num_params()];
    out.gradient_into(&grads, &mut g).unwrap();
    (l.value(), g, grads[xm].to_vec())
}

/// `|a_i - b_i| <= rel * max(max_j |a_j|, max_j |b_j|, floor)` for every `i`.
fn assert_close(
    what: &str,
    tape: &[f64],
    closed: &[f64],
    rel: f64,
    floor: f64,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(tape.len(), closed.len(), "{}: lengths differ", what);
    let scale = tape.iter().chain(closed).fold(floor, |m, v| m.max(v.abs()));
    for (i, (&a, &b)) in tape.iter().zip(closed).enumerate() {
        prop_assert!(
            (a - b).abs() <= rel * scale,
            "{}[{}]: tape {:e}, closed form {:e}, |difference| {:e} > {:e} * {:e}",
            what,
            i,
            a,
            b,
            (a - b).abs(),
            rel,
            scale
        );
    }
    Ok(())
}

/// Every pre-activation `z_r` of every sample, for the layers whose
/// activation has a kink at 0 (ReLU, leaky ReLU).
fn relu_inputs(layers: &Layers<f64>, x: &[f64]) -> Vec<f64> {
    let a0 = layers.widths()[0];
    let mut zs = Vec::new();
    for xi in x.chunks(a0) {
        let t = layers.forward_trace(xi).unwrap();
        for (z, a) in t.z.iter().zip(layers.activations()) {
            if matches!(a, Activation::Relu { .. } | Activation::LeakyRelu { .. }) {
                zs.extend_from_slice(z);
            }
        }
    }
    zs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The tape's gradients with respect to every `W_r`, `b_r` and the input
    /// batch equal the closed-form (5.11)-(5.15) ones to 1e-10 relative, for
    /// both losses and reductions, including units whose ReLU input is
    /// exactly 0.
    #[test]
    fn tape_gradients_equal_closed_form_backprop(c in case(5, 12, any_activation, true)) {
        let mlp = c.mlp();
        let (l_tape, g_tape, gx_tape) = tape_gradients(&mlp, &c.x, c.targets(), c.loss);
        let (l_closed, g) = jacobian_chain::batch_gradients(&mlp, &c.x, c.targets(), c.loss).unwrap();
        prop_assert!((l_tape - l_closed).abs() <= 1e-12 * l_closed.abs().max(1.0), "loss: tape {}, closed form {}", l_tape, l_closed);
        assert_close("parameter gradient", &g_tape, &g.flat(), 1e-10, 1e-12)?;
        assert_close("input gradient", &gx_tape, &g.input, 1e-10, 1e-12)?;
        // Per tensor, in W_r's shape (a_{r+1}, a_r).
        for r in 0..mlp.num_layers() {
            prop_assert_eq!(g.weights[r].shape(), mlp.weight(r).shape());
            prop_assert_eq!(g.biases[r].len(), mlp.bias(r).len());
        }
        // The closed-form forward is the network's forward.
        let pred = mlp.predict(&c.x).unwrap();
        let a0 = c.widths[0];
        for (i, xi) in c.x.chunks(a0).enumerate() {
            let t = jacobian_chain::forward_trace(&mlp, xi).unwrap();
            // Scale at least 1: an output near 0 comes from cancellation of O(1) terms.
            assert_close("forward", pred.row(i), t.output(), 1e-12, 1.0)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With `z_r[i] = 0` exactly for every sample, the gradient with respect
    /// to that unit's bias and incoming weights is `at_zero` times the one
    /// with subgradient 1, in both engines; two different subgradients give
    /// different gradients whenever the downstream `W_{r+1}^T delta_{r+1}`
    /// is not 0.
    #[test]
    fn relu_subgradient_at_exact_zero_is_used_by_both_engines(
        widths in (1..=4usize).prop_flat_map(|p| vec(1..=8usize, p + 2)),
        a in 0.0..=1.0_f64,
        b in 0.0..=1.0_f64,
        seed in any::<u64>(),
        layer in any::<prop::sample::Index>(),
        unit in any::<prop::sample::Index>(),
        n in 1..=4usize,
    ) {
        prop_assume!((a - b).abs() > 1e-3);
        let r = layer.index(widths.len() - 2); // a hidden layer: 0..p
        let i = unit.index(widths[r + 1]);
        let build = |at_zero: f64| {
            let mut mlp = Mlp::<f64>::builder(&widths)
                .hidden(Activation::Relu { at_zero })
                .init(nn::Init::TorchDefault)
                .seed(seed)
                .build()
                .unwrap();
            zero_unit(&mut mlp, r, i);
            mlp
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let x: Vec<f64> = (0..n * widths[0]).map(|_| rng.random_range(-2.0..2.0)).collect();
        let y: Vec<f64> = (0..n * widths.last().unwrap()).map(|_| rng.random_range(-2.0..2.0)).collect();
        let loss = Loss::LeastSquares(Reduction::Sum);
        let grads = |at_zero: f64| {
            let mlp = build(at_zero);
            let (_, g_tape, gx_tape) = tape_gradients(&mlp, &x, BatchTargets::Values(&y), loss);
            let (_, g) = jacobian_chain::batch_gradients(&mlp, &x, BatchTargets::Values(&y), loss).unwrap();
            (mlp, g_tape, gx_tape, g)
        };
        let (mlp, one_tape, _, one_closed) = grads(1.0);
        // The unit's bias and incoming weights, in the flat layout.
        let wslot = mlp.slots()[2 * r];
        let a_in = wslot.shape.cols;
        let mut idx: Vec<usize> = (0..a_in).map(|j| wslot.offset + i * a_in + j).collect();
        idx.push(mlp.slots()[2 * r + 1].offset + i);
        // The downstream gradient W_{r+1}^T delta_{r+1} at unit i is the bias
        // gradient with subgradient 1.
        let downstream = one_closed.biases[r][i];
        prop_assert!((one_tape[idx[a_in]] - downstream).abs() <= 1e-10 * downstream.abs().max(1e-12));
        let one_flat = one_closed.flat();
        let unit_scale = idx.iter().fold(1e-300_f64, |m, &k| m.max(one_flat[k].abs()));
        for at_zero in [a, b] {
            let (_, g_tape, gx_tape, g) = grads(at_zero);
            let flat = g.flat();
            assert_close("parameter gradient", &g_tape, &flat, 1e-10, 1e-12)?;
            assert_close("input gradient", &gx_tape, &g.input, 1e-10, 1e-12)?;
            for &k in &idx {
                let want = at_zero * one_flat[k];
                prop_assert!((g_tape[k] - want).abs() <= 1e-12 * unit_scale, "tape: {} != {} * {}", g_tape[k], at_zero, one_flat[k]);
                prop_assert!((flat[k] - want).abs() <= 1e-12 * unit_scale, "closed form: {} != {} * {}", flat[k], at_zero, one_flat[k]);
            }
        }
        if downstream.abs() > 1e-9 {
            let (ga, gb) = (grads(a).1, grads(b).1);
            prop_assert_ne!(ga[idx[a_in]], gb[idx[a_in]], "the subgradient at 0 changes the bias gradient");
        }
    }
}

/// A hand-computed network: `z_0[0] = 0` exactly, so the bias gradient of
/// unit 0 is `at_zero * 21` and its weight gradient `at_zero * 21 * x^T`.
#[test]
fn relu_at_exact_zero_matches_hand_computation() {
    // widths [2, 2, 1]; W_0 = [[0, 0], [1, 1]], b_0 = [0, 0.5], W_1 = [[2, 3]], b_1 = [0].
    // x = [1, 2]: z_0 = [0, 3.5], x_1 = [0, 3.5], f = 10.5; least squares with
    // y = 0: delta_1 = 10.5, W_1^T delta_1 = [21, 31.5], delta_0 = [21 a, 31.5].
    for at_zero in [0.0, 0.25, 0.5, 1.0] {
        let mut mlp = Mlp::<f64>::builder(&[2, 2, 1])
            .hidden(Activation::Relu { at_zero })
            .build()
            .unwrap();
        mlp.params_mut()
            .copy_from_slice(&[0.0, 0.0, 1.0, 1.0, 0.0, 0.5, 2.0, 3.0, 0.0]);
        let (x, y) = ([1.0, 2.0], [0.0]);
        let loss = Loss::LeastSquares(Reduction::Sum);
        let (l, g_tape, gx_tape) = tape_gradients(&mlp, &x, BatchTargets::Values(&y), loss);
        let (lc, g) =
            jacobian_chain::batch_gradients(&mlp, &x, BatchTargets::Values(&y), loss).unwrap();
        let a = at_zero;
        let want = [
            21.0 * a,
            42.0 * a,
            31.5,
            63.0,
            21.0 * a,
            31.5,
            0.0,
            36.75,
            10.5,
        ];
        assert_eq!(l, 0.5 * 10.5 * 10.5);
        assert_eq!(lc, l);
        assert_eq!(g_tape, want, "tape, at_zero = {a}");
        assert_eq!(g.flat(), want, "closed form, at_zero = {a}");
        assert_eq!(gx_tape, [31.5, 31.5]);
        assert_eq!(g.input, [31.5, 31.5]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The closed-form gradient (and the tape's) of the loss as a function of
    /// the flat parameters agrees with central finite differences of
    /// `Loss::value(Mlp::predict(..))`; ReLU inputs stay away from 0.
    #[test]
    fn closed_form_gradient_matches_finite_differences(c in case(4, 8, smooth, false)) {
        let mlp = c.mlp();
        let layers = Layers::from_mlp(&mlp);
        prop_assume!(relu_inputs(&layers, &c.x).iter().all(|z| z.abs() > 1e-4));
        let (_, g) = layers.batch_gradients(&c.x, c.targets(), c.loss).unwrap();
        let out_w = c.out_width();
        let f = |p: &[f64]| {
            let mut m = mlp.clone();
            m.params_mut().copy_from_slice(p);
            let out = m.predict(&c.x).unwrap();
            c.loss.value(out.as_slice(), out_w, c.targets()).unwrap()
        };
        let config = GradcheckConfig::default();
        let report = autodiff::gradcheck_fn(f, &g.flat(), mlp.params(), &config).unwrap();
        prop_assert!(report.passed(), "closed form: {}", report);
        let (_, g_tape, _) = tape_gradients(&mlp, &c.x, c.targets(), c.loss);
        let report = autodiff::gradcheck_fn(f, &g_tape, mlp.params(), &config).unwrap();
        prop_assert!(report.passed(), "tape: {}", report);
        // And the input gradient, as a function of the batch.
        let fx = |x: &[f64]| {
            let out = mlp.predict(x).unwrap();
            c.loss.value(out.as_slice(), out_w, c.targets()).unwrap()
        };
        let report = autodiff::gradcheck_fn(fx, &g.input, &c.x, &config).unwrap();
        prop_assert!(report.passed(), "input gradient: {}", report);
    }
}

/// A componentwise bound on the `f32` forward's rounding error, from the
/// `f64` forward `(z_r, x_r)` of the same (f32-representable) weights:
/// `e_z <= |W| e_x + (a_r + 1) u (|W| |x_r| + |b|)` for the dot products,
/// `e_{x_{r+1}} <= L e_z + 4 u |x_{r+1}|` for the activation, where `L` is
/// the largest slope of `S` on `[z - e_z, z + e_z]` and `4 u` covers a few
/// ulps of its evaluation; `u` is the f32 epsilon.
fn f32_error_bound(layers: &Layers<f64>, x: &[f64]) -> Vec<f64> {
    let u = f32::EPSILON as f64;
    let sig = |z: f64| 1.0 / (1.0 + (-z).exp());
    let t = layers.forward_trace(x).unwrap();
    let mut e = vec![0.0; x.len()];
    for (r, ((w, b), &act)) in layers
        .weights()
        .iter()
        .zip(layers.biases())
        .zip(layers.activations())
        .enumerate()
    {
        let k = (w.cols() + 1) as f64;
        e = (0..w.rows())
            .map(|i| {
                let row = w.row(i);
                let prop: f64 = row.iter().zip(&e).map(|(w, e)| w.abs() * e).sum();
                let mag: f64 = row
                    .iter()
                    .zip(&t.x[r])
                    .map(|(w, x)| (w * x).abs())
                    .sum::<f64>()
                    + b[i].abs();
                let ez = prop + k * u * mag;
                let z = t.z[r][i];
                let near0 = (z.abs() - ez).max(0.0); // the point of the interval nearest 0
                let slope = match act {
                    Activation::Identity => 1.0,
                    Activation::Relu { .. } if z + ez < 0.0 => 0.0,
                    Activation::Relu { .. } => 1.0,
                    Activation::Tanh => 1.0 - near0.tanh().powi(2),
                    Activation::Sigmoid => sig(near0) * (1.0 - sig(near0)),
                    Activation::Softplus => sig(z + ez),
                    Activation::LeakyRelu { slope } => slope.abs().max(1.0),
                    // The largest derivatives: SiLU's 1.0998 near z = 2.4,
                    // GELU's 1.1289 near z = 1.4.
                    Activation::Silu => 1.1,
                    Activation::Gelu => 1.13,
                };
                slope * ez + 4.0 * u * t.x[r + 1][i].abs()
            })
            .collect();
    }
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The `f32` network computes the `f64` network's output (same weights,
    /// rounded to f32) to within the propagated f32 rounding error.
    #[test]
    fn f32_forward_equals_f64_forward_to_f32_rounding(c in case(5, 12, any_activation, false)) {
        let mut m64 = c.mlp();
        let mut m32 = Mlp::<f32>::builder(&c.widths).hidden_each(&c.hidden).output(c.output).build().unwrap();
        for (p32, p64) in m32.params_mut().iter_mut().zip(m64.params_mut()) {
            *p32 = *p64 as f32;
            *p64 = *p32 as f64;
        }
        let x32: Vec<f32> = c.x.iter().map(|&v| v as f32).collect();
        let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
        let y32 = m32.predict(&x32).unwrap();
        let y64 = m64.predict(&x64).unwrap();
        let layers = Layers::from_mlp(&m64);
        for (i, xi) in x64.chunks(c.widths[0]).enumerate() {
            let bound = f32_error_bound(&layers, xi);
            prop_assert_eq!(bound.len(), c.out_width());
            for (j, ((&a, &b), &e)) in y32.row(i).iter().zip(y64.row(i)).zip(&bound).enumerate() {
                let a = a as f64;
                prop_assert!((a - b).abs() <= e, "sample {} output {}: f32 {} vs f64 {}, bound {:e}", i, j, a, b, e);
            }
        }
        // The bound is not vacuous (typically 1e-6 to 1e-4 of the output scale).
        let scale = y64.as_slice().iter().fold(1.0_f64, |m, v| m.max(v.abs()));
        let widest = f32_error_bound(&layers, &x64[..c.widths[0]]).into_iter().fold(0.0, f64::max);
        prop_assert!(widest < 1e-2 * scale, "bound {:e} against scale {:e}", widest, scale);
    }

    /// `Mlp::predict` gives bitwise the taped forward's output, in f64 and f32.
    #[test]
    fn predict_equals_taped_forward_bitwise(c in case(5, 12, any_activation, true)) {
        let mlp = c.mlp();
        let n = c.batch();
        let tape = Tape::new();
        let xm = tape.mat_const(Shape::new(n, c.widths[0]), &c.x).unwrap();
        let taped = mlp.forward(&tape, xm).unwrap().output.to_vec();
        let plain = mlp.predict(&c.x).unwrap().into_vec();
        prop_assert_eq!(taped.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>());

        let mut m32 = Mlp::<f32>::builder(&c.widths).hidden_each(&c.hidden).output(c.output).build().unwrap();
        for (p32, p64) in m32.params_mut().iter_mut().zip(mlp.params()) {
            *p32 = *p64 as f32;
        }
        let x32: Vec<f32> = c.x.iter().map(|&v| v as f32).collect();
        let tape = Tape::<f32>::new();
        let xm = tape.mat_const(Shape::new(n, c.widths[0]), &x32).unwrap();
        let taped = m32.forward(&tape, xm).unwrap().output.to_vec();
        let plain = m32.predict(&x32).unwrap().into_vec();
        prop_assert_eq!(taped.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }
}

/// The closed form checks its inputs as the tape does: the input width,
/// the number of targets, labels in range, the kind of targets.
#[test]
fn closed_form_rejects_bad_input_like_the_tape() {
    let mlp = Mlp::<f64>::builder(&[3, 4, 2]).seed(1).build().unwrap();
    let err = jacobian_chain::forward_trace(&mlp, &[1.0, 2.0]).unwrap_err();
    assert!(
        matches!(err, nn::Error::InputWidth { expected: 3, got } if got == Shape::new(1, 2)),
        "{err}"
    );
    let x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    let ce = Loss::CrossEntropy(Reduction::Mean);
    let tape = Tape::new();
    let xm = tape.mat_const(Shape::new(2, 3), &x).unwrap();
    let out = mlp.forward(&tape, xm).unwrap().output;
    for labels in [&[0usize][..], &[0, 2][..], &[0, 1, 1][..]] {
        let closed = jacobian_chain::batch_gradients(&mlp, &x, BatchTargets::Classes(labels), ce)
            .unwrap_err();
        let taped = ce.apply(out, BatchTargets::Classes(labels)).unwrap_err();
        assert_eq!(closed.to_string(), taped.to_string(), "labels {labels:?}");
        assert!(matches!(closed, nn::Error::Autodiff(_)), "{closed}");
    }
    let closed = jacobian_chain::batch_gradients(
        &mlp,
        &x,
        BatchTargets::Values(&[0.0; 3]),
        Loss::LeastSquares(Reduction::Sum),
    )
    .unwrap_err();
    let taped = Loss::LeastSquares(Reduction::Sum)
        .apply(out, BatchTargets::Values(&[0.0; 3]))
        .unwrap_err();
    assert_eq!(closed.to_string(), taped.to_string());
    let closed = jacobian_chain::batch_gradients(
        &mlp,
        &x,
        BatchTargets::Classes(&[0, 1]),
        Loss::LeastSquares(Reduction::Sum),
    )
    .unwrap_err();
    assert!(matches!(closed, nn::Error::Targets(_)), "{closed}");
    let err = jacobian_chain::batch_gradients(&mlp, &x[..5], BatchTargets::Classes(&[0, 1]), ce)
        .unwrap_err();
    assert!(
        matches!(err, nn::Error::InputWidth { expected: 3, .. }),
        "{err}"
    );
}

/// `Layers::new` refuses parts that do not chain and accepts those that do;
/// one sample's gradients equal a batch of one with `Reduction::Sum`.
#[test]
fn layers_from_parts_chain_and_single_sample_matches_batch_of_one() {
    use autodiff::Matrix;
    let w0 = Matrix::from_fn(3, 2, |i, j| (i as f64 - j as f64) * 0.5);
    let w1 = Matrix::from_fn(2, 3, |i, j| 0.25 * (i + j) as f64 - 0.3);
    let acts = vec![Activation::Tanh, Activation::Identity];
    let err = Layers::new(
        vec![w0.clone(), w1.clone()],
        vec![vec![0.1; 3], vec![0.2; 3]],
        acts.clone(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("layer 1: W_1 has shape (2, 3) but b_1 has length 3"),
        "{err}"
    );
    let err = Layers::new(
        vec![w0.clone(), w0.clone()],
        vec![vec![0.1; 3], vec![0.2; 3]],
        acts.clone(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("layer 1: W_1 has shape (3, 2) but layer 0 outputs 3 values"),
        "{err}"
    );
    assert!(Layers::<f64>::new(vec![], vec![], vec![]).is_err());
    let layers = Layers::new(vec![w0, w1], vec![vec![0.1; 3], vec![0.2; 2]], acts).unwrap();
    assert_eq!(layers.widths(), [2, 3, 2]);
    let (x, label) = ([0.3, -0.7], 1);
    let one = layers
        .gradients(&x, |f| jacobian_chain::cross_entropy_grad(f, label))
        .unwrap();
    let (loss, batch) = layers
        .batch_gradients(
            &x,
            BatchTargets::Classes(&[label]),
            Loss::CrossEntropy(Reduction::Sum),
        )
        .unwrap();
    assert_eq!(one, batch);
    let t = layers.forward_trace(&x).unwrap();
    assert_eq!(loss, jacobian_chain::cross_entropy_value(t.output(), label));
    // softmax - onehot sums to 0.
    let s: f64 = jacobian_chain::cross_entropy_grad(t.output(), label)
        .iter()
        .sum();
    assert!(s.abs() < 1e-15);
    let err = layers.gradients(&x, |_| vec![1.0]).unwrap_err();
    assert!(
        matches!(
            err,
            nn::Error::LengthMismatch {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{err}"
    );
}
