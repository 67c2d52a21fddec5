//! `Mlp` basics and bad input: typed errors naming the layer and the shapes,
//! parameter names and layout, seeded initialisation and its statistics,
//! classification helpers, input gradients against finite differences.

use autodiff::{GradcheckConfig, Reduction, Shape, Tape};
use nn::{Activation, BatchTargets, Error, Init, Loss, Mlp};

fn net(widths: &[usize]) -> Mlp<f64> {
    Mlp::<f64>::builder(widths)
        .hidden(Activation::Tanh)
        .seed(3)
        .build()
        .unwrap()
}

fn arch_message(r: nn::Result<Mlp<f64>>) -> String {
    match r {
        Err(Error::Architecture(m)) => m,
        Err(e) => panic!("expected an architecture error, got {e}"),
        Ok(_) => panic!("expected an architecture error, got a network"),
    }
}

#[test]
fn batch_of_wrong_width_is_an_input_width_error_naming_layer_0_and_both_shapes() {
    let mlp = net(&[4, 3, 2]);
    let tape = Tape::new();
    let x = tape.mat_const(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let err = mlp.forward(&tape, x).unwrap_err();
    match &err {
        Error::InputWidth { expected, got } => {
            assert_eq!(*expected, 4);
            assert_eq!(*got, Shape::new(2, 3));
        }
        e => panic!("expected InputWidth, got {e}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("layer 0"), "{msg}");
    assert!(msg.contains("a_0 = 4"), "{msg}");
    assert!(msg.contains("(2, 3)"), "{msg}");

    // The plain paths refuse a flat batch whose length is not a multiple of a_0.
    let err = mlp.predict(&[0.0; 6]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InputLength {
                expected: 4,
                got: 6
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("got 6 values"), "{err}");
    let err = mlp
        .input_gradient(
            &[0.0; 7],
            BatchTargets::Classes(&[0]),
            Loss::CrossEntropy(Reduction::Sum),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InputLength {
                expected: 4,
                got: 7
            }
        ),
        "{err}"
    );
}

#[test]
fn hidden_each_needs_one_activation_per_hidden_layer_and_predict_refuses_nan_weights() {
    let three = Mlp::<f64>::builder(&[2, 3, 3, 3, 1])
        .hidden_each(&[Activation::Tanh])
        .build();
    assert!(
        matches!(three, Err(Error::Architecture(_))),
        "one activation for three hidden layers"
    );
    let none = Mlp::<f64>::builder(&[2, 1])
        .hidden(Activation::Relu { at_zero: 5.0 })
        .build();
    assert!(
        matches!(none, Err(Error::Architecture(_))),
        "invalid even with no hidden layer"
    );
    let mut mlp = Mlp::<f64>::builder(&[2, 3, 1]).build().unwrap();
    mlp.params_mut()[4] = f64::NAN;
    assert!(matches!(
        mlp.predict(&[0.0, 1.0]),
        Err(Error::NonFiniteParameter { .. })
    ));
}

#[test]
fn labels_of_wrong_length_or_out_of_range_are_typed_errors_from_loss_apply() {
    let mlp = net(&[2, 3, 3]);
    let tape = Tape::new();
    let x = tape
        .mat_const(Shape::new(2, 2), &[0.1, 0.2, 0.3, 0.4])
        .unwrap();
    let out = mlp.forward(&tape, x).unwrap().output;
    let ce = Loss::CrossEntropy(Reduction::Mean);

    let err = ce
        .apply(out, BatchTargets::Classes(&[0, 1, 2]))
        .unwrap_err();
    match &err {
        Error::Autodiff(autodiff::Error::LengthMismatch { expected, got, .. }) => {
            assert_eq!((*expected, *got), (2, 3));
        }
        e => panic!("expected a length mismatch, got {e}"),
    }
    assert!(err.to_string().contains("one label per row"), "{err}");

    let err = ce.apply(out, BatchTargets::Classes(&[0, 3])).unwrap_err();
    match &err {
        Error::Autodiff(autodiff::Error::LabelOutOfRange {
            row,
            label,
            classes,
        }) => assert_eq!((*row, *label, *classes), (1, 3, 3)),
        e => panic!("expected a label out of range, got {e}"),
    }
    assert!(
        err.to_string()
            .contains("label 3 of row 1 is out of range for 3 classes"),
        "{err}"
    );

    let ls = Loss::LeastSquares(Reduction::Sum);
    let err = ls.apply(out, BatchTargets::Values(&[0.0; 5])).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Autodiff(autodiff::Error::LengthMismatch {
                expected: 6,
                got: 5,
                ..
            })
        ),
        "{err}"
    );
    // Targets of the wrong kind for the loss.
    let err = ls.apply(out, BatchTargets::Classes(&[0, 1])).unwrap_err();
    assert!(
        matches!(&err, Error::Targets(m) if m.contains("least squares needs real target vectors")),
        "{err}"
    );
    let err = ce.apply(out, BatchTargets::Values(&[0.0; 6])).unwrap_err();
    assert!(
        matches!(&err, Error::Targets(m) if m.contains("cross-entropy needs class labels")),
        "{err}"
    );
    // accuracy wants one label per sample.
    let err = mlp.accuracy(&[0.1, 0.2, 0.3, 0.4], &[0]).unwrap_err();
    assert!(
        matches!(&err, Error::Targets(m) if m == "1 labels for 2 samples"),
        "{err}"
    );
}

/// `accuracy` refuses a label past the outputs (it would only ever count
/// as wrong), and `classify` a row whose outputs hold a NaN (no class is
/// the largest), naming the row and its non-finite input.
#[test]
fn accuracy_refuses_a_label_past_the_outputs_and_classify_a_nan_row() {
    let mlp = net(&[2, 3, 4]);
    let x = [0.5, -1.0, 2.0, 0.25];
    assert!(mlp.accuracy(&x, &[3, 0]).is_ok());
    let e = mlp.accuracy(&x, &[1, 4]).unwrap_err();
    assert!(matches!(e, Error::Targets(_)), "{e}");
    assert!(
        e.to_string().contains("label 4 of row 1") && e.to_string().contains("4 outputs"),
        "{e}"
    );

    let bad = [0.5, -1.0, 2.0, f64::NAN];
    let e = mlp.classify(&bad).unwrap_err();
    assert!(
        matches!(e, Error::NonFiniteOutput { row: 1, input: Some((1, v)), .. } if v.is_nan()),
        "{e}"
    );
    assert!(
        e.to_string().contains("its input at column 1 is NaN"),
        "{e}"
    );
    assert!(mlp.accuracy(&bad, &[0, 0]).is_err());
    // (With finite inputs, only an overflow inside the network gives one.)
    let overflow = Error::NonFiniteOutput {
        row: 0,
        value: f64::NAN,
        input: None,
    };
    assert!(
        overflow.to_string().contains("its input is finite"),
        "{overflow}"
    );
}

#[test]
#[should_panic(expected = "layer 2 asked of a network of 2 layers (0..2)")]
fn layer_range_of_a_missing_layer_panics_naming_the_count() {
    net(&[2, 3, 4]).layer_range(2);
}

#[test]
fn widths_containing_zero_are_refused_naming_the_width() {
    let m = arch_message(Mlp::<f64>::builder(&[3, 0, 2]).build());
    assert!(m.contains("width a_1 is 0"), "{m}");
    assert!(m.contains("[3, 0, 2]"), "{m}");
    let m = arch_message(Mlp::<f64>::builder(&[0, 2]).build());
    assert!(m.contains("width a_0 is 0"), "{m}");
}

#[test]
fn widths_too_large_to_hold_are_refused_instead_of_panicking_or_aborting() {
    // A weight matrix of 2^64 entries (the count overflows usize) and a
    // network of 2^62 parameters (no allocation can hold it): a typo in
    // the widths, an error naming them, not a panic or an abort.
    let m = arch_message(Mlp::<f64>::builder(&[1 << 32, 1 << 32, 1]).build());
    assert_eq!(
        m,
        "widths [4294967296, 4294967296, 1]: the number of parameters overflows usize"
    );
    let m = arch_message(Mlp::<f64>::builder(&[1 << 31, 1 << 31, 1]).build());
    assert!(
        m.starts_with("widths [2147483648, 2147483648, 1] need 4611686022722355201 parameters:")
            && m.contains("cannot allocate"),
        "{m}"
    );
}

#[test]
fn fewer_than_two_widths_is_an_empty_network_error() {
    for widths in [&[][..], &[5][..]] {
        let m = arch_message(Mlp::<f64>::builder(widths).build());
        assert!(m.contains("at least an input and an output width"), "{m}");
        assert!(m.contains(&format!("{widths:?}")), "{m}");
    }
}

#[test]
fn wrong_number_of_per_layer_activations_is_refused() {
    let m = arch_message(
        Mlp::<f64>::builder(&[2, 4, 4, 4, 1])
            .hidden_each(&[Activation::Tanh, Activation::Sigmoid])
            .build(),
    );
    assert!(
        m.contains("2 hidden activations given for 3 hidden layers"),
        "{m}"
    );
    let m = arch_message(
        Mlp::<f64>::builder(&[2, 4, 1])
            .hidden_each(&[Activation::Tanh, Activation::Sigmoid, Activation::Tanh])
            .build(),
    );
    assert!(
        m.contains("3 hidden activations given for 1 hidden layers"),
        "{m}"
    );
    // The right number is accepted, in order, with the output's last.
    let mlp = Mlp::<f64>::builder(&[2, 4, 4, 1])
        .hidden_each(&[Activation::Tanh, Activation::Sigmoid])
        .output(Activation::Softplus)
        .build()
        .unwrap();
    assert_eq!(
        mlp.activations(),
        [Activation::Tanh, Activation::Sigmoid, Activation::Softplus]
    );
}

#[test]
fn relu_subgradient_outside_unit_interval_is_refused_naming_the_layer() {
    for bad in [-0.1, 1.5, f64::NAN] {
        let m = arch_message(
            Mlp::<f64>::builder(&[2, 3, 3, 1])
                .hidden_each(&[Activation::RELU, Activation::Relu { at_zero: bad }])
                .build(),
        );
        assert!(m.contains("layer 1"), "{m}");
        assert!(m.contains("outside [0, 1]"), "{m}");
    }
    let m = arch_message(
        Mlp::<f64>::builder(&[2, 3, 1])
            .output(Activation::Relu { at_zero: 2.0 })
            .build(),
    );
    assert!(m.contains("layer 1"), "{m}");
    for ok in [0.0, 0.5, 1.0] {
        assert!(Mlp::<f64>::builder(&[2, 3, 1])
            .hidden(Activation::Relu { at_zero: ok })
            .build()
            .is_ok());
    }
}

#[test]
fn a_leaky_relu_slope_that_is_not_finite_is_refused_naming_the_layer() {
    for bad in [f64::NAN, f64::INFINITY] {
        let m = arch_message(
            Mlp::<f64>::builder(&[2, 3, 3, 1])
                .hidden_each(&[Activation::Silu, Activation::LeakyRelu { slope: bad }])
                .build(),
        );
        assert!(
            m.contains("layer 1") && m.contains("leaky ReLU slope"),
            "{m}"
        );
        let m = arch_message(
            Mlp::<f64>::builder(&[2, 3, 1])
                .hidden(Activation::LeakyRelu { slope: bad })
                .build(),
        );
        assert!(m.contains("not finite"), "{m}");
    }
    assert!(Mlp::<f64>::builder(&[2, 3, 1])
        .hidden(Activation::LeakyRelu { slope: -2.0 })
        .build()
        .is_ok());
}

#[test]
fn a_leaky_relu_slope_that_overflows_the_number_type_is_refused() {
    // 1e39 is finite in f64 but inf in f32: x < 0 would give -inf and
    // x = 0 gives 0 * inf = NaN, behind an Ok.
    let big = Activation::LeakyRelu { slope: 1e39 };
    for r in [
        Mlp::<f32>::builder(&[2, 3, 1]).hidden(big).build(),
        Mlp::<f32>::builder(&[2, 3, 3, 1])
            .hidden_each(&[Activation::Gelu, big])
            .build(),
        Mlp::<f32>::builder(&[2, 3, 1]).output(big).build(),
    ] {
        match r {
            Err(Error::Architecture(m)) => {
                assert!(m.contains("leaky ReLU slope") && m.contains("f32"), "{m}")
            }
            Err(e) => panic!("expected an architecture error, got {e}"),
            Ok(_) => panic!("expected an architecture error, got a network"),
        }
    }
    assert!(Mlp::<f64>::builder(&[2, 3, 1]).hidden(big).build().is_ok());
}

#[test]
fn non_finite_parameter_is_a_typed_error_naming_the_tensor_and_index() {
    let mut mlp = net(&[3, 4, 4, 2]);
    let offset = mlp.slots()["layers.2.weight"].offset;
    mlp.params_mut()[offset + 5] = f64::NAN;
    let tape = Tape::new();
    let x = tape.mat_const(Shape::new(1, 3), &[0.1, 0.2, 0.3]).unwrap();
    let err = mlp.forward(&tape, x).unwrap_err();
    match &err {
        Error::NonFiniteParameter { name, index, value } => {
            assert_eq!(name, "layers.2.weight");
            assert_eq!(*index, 5);
            assert!(value.is_nan());
        }
        e => panic!("expected NonFiniteParameter, got {e}"),
    }
    assert_eq!(
        err.to_string(),
        "parameter layers.2.weight[5] is not finite (NaN); the network cannot be evaluated"
    );
    assert!(matches!(
        mlp.check_finite(),
        Err(Error::NonFiniteParameter { index: 5, .. })
    ));

    let mut mlp = net(&[3, 4, 4, 2]);
    let offset = mlp.slots()["layers.4.bias"].offset;
    mlp.params_mut()[offset + 1] = f64::NEG_INFINITY;
    let err = mlp
        .input_gradient(
            &[0.1, 0.2, 0.3],
            BatchTargets::Classes(&[0]),
            Loss::default(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::NonFiniteParameter { name, index: 1, value } if name == "layers.4.bias" && *value == f64::NEG_INFINITY),
        "{err}"
    );
    assert!(mlp.check_finite().is_err());
    assert!(net(&[3, 4, 4, 2]).check_finite().is_ok());
}

#[test]
fn parameters_are_named_as_torch_state_dict_in_order_with_their_shapes() {
    let mlp = net(&[3, 5, 4, 2]);
    let got: Vec<(String, usize, Shape)> = mlp
        .slots()
        .iter()
        .map(|(k, s)| (k.clone(), s.offset, s.shape))
        .collect();
    let want = [
        ("layers.0.weight", 0, Shape::new(5, 3)),
        ("layers.0.bias", 15, Shape::new(1, 5)),
        ("layers.2.weight", 20, Shape::new(4, 5)),
        ("layers.2.bias", 40, Shape::new(1, 4)),
        ("layers.4.weight", 44, Shape::new(2, 4)),
        ("layers.4.bias", 52, Shape::new(1, 2)),
    ];
    assert_eq!(
        got,
        want.iter()
            .map(|&(n, o, s)| (n.to_string(), o, s))
            .collect::<Vec<_>>()
    );
    assert_eq!(mlp.num_params(), 54);
    assert_eq!(mlp.params().len(), 54);
    assert_eq!(mlp.num_layers(), 3);
    assert_eq!(mlp.widths(), [3, 5, 4, 2]);
    for r in 0..3 {
        let (w, ws) = mlp.param(&format!("layers.{}.weight", 2 * r)).unwrap();
        let m = mlp.weight(r);
        assert_eq!(m.shape(), ws);
        assert_eq!(m.shape(), Shape::new(mlp.widths()[r + 1], mlp.widths()[r]));
        assert_eq!(m.as_slice(), w);
        let (b, bs) = mlp.param(&format!("layers.{}.bias", 2 * r)).unwrap();
        assert_eq!(bs, Shape::new(1, mlp.widths()[r + 1]));
        assert_eq!(mlp.bias(r), b);
    }
    assert!(mlp.param("layers.1.weight").is_none());
}

#[test]
fn same_seed_gives_bitwise_same_params_and_different_seed_differs() {
    for init in [
        Init::GlorotUniform,
        Init::GlorotNormal,
        Init::HeUniform,
        Init::HeNormal,
        Init::Uniform(0.5),
        Init::TorchDefault,
    ] {
        let build = |seed| {
            Mlp::<f64>::builder(&[6, 8, 3])
                .init(init)
                .seed(seed)
                .build()
                .unwrap()
        };
        let bits = |m: &Mlp<f64>| m.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&build(42)), bits(&build(42)), "{init}");
        assert_ne!(build(42).params(), build(43).params(), "{init}");
    }
    // f32 networks are the f64 ones rounded.
    let a = Mlp::<f32>::builder(&[6, 8, 3]).seed(9).build().unwrap();
    let b = Mlp::<f64>::builder(&[6, 8, 3]).seed(9).build().unwrap();
    assert!(a
        .params()
        .iter()
        .zip(b.params())
        .all(|(&x, &y)| x == y as f32));
}

struct Stats {
    mean: f64,
    std: f64,
    max_abs: f64,
}

fn stats(v: &[f64]) -> Stats {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    Stats {
        mean,
        std: var.sqrt(),
        max_abs: v.iter().fold(0.0, |m, x| m.max(x.abs())),
    }
}

/// Weights and biases of a `(fan_out, fan_in)` layer.
fn layer(init: Init, fan_in: usize, fan_out: usize) -> (Vec<f64>, Vec<f64>) {
    let mlp = Mlp::<f64>::builder(&[fan_in, fan_out])
        .init(init)
        .seed(11)
        .build()
        .unwrap();
    (mlp.weight(0).into_vec(), mlp.bias(0).to_vec())
}

#[test]
fn uniform_schemes_stay_within_their_documented_bounds_and_fill_them() {
    // (scheme, fan_in, fan_out, documented bound)
    let cases = [
        (Init::HeUniform, 256, 256, (6.0_f64 / 256.0).sqrt()),
        (Init::HeUniform, 100, 400, (6.0_f64 / 100.0).sqrt()), // fan_in, not fan_out
        (Init::GlorotUniform, 256, 256, (6.0_f64 / 512.0).sqrt()),
        (Init::GlorotUniform, 100, 400, (6.0_f64 / 500.0).sqrt()),
        (Init::Uniform(0.3), 256, 256, 0.3),
        (Init::TorchDefault, 256, 256, 1.0 / 16.0),
        (Init::TorchDefault, 100, 400, 0.1),
    ];
    for (init, i, o, bound) in cases {
        let (w, b) = layer(init, i, o);
        let s = stats(&w);
        assert!(
            s.max_abs <= bound,
            "{init} ({o}x{i}): max |w| {} > {bound}",
            s.max_abs
        );
        assert!(
            s.max_abs > 0.99 * bound,
            "{init} ({o}x{i}): max |w| {} far below {bound}",
            s.max_abs
        );
        // U(-a, a) has standard deviation a / sqrt(3).
        let want = bound / 3.0_f64.sqrt();
        assert!(
            (s.std - want).abs() < 0.05 * want,
            "{init}: std {} vs {want}",
            s.std
        );
        assert!(s.mean.abs() < 0.02 * bound, "{init}: mean {}", s.mean);
        if init == Init::TorchDefault {
            let bs = stats(&b);
            assert!(
                bs.max_abs <= bound && bs.max_abs > 0.5 * bound,
                "{init}: bias max {}",
                bs.max_abs
            );
            assert!(b.iter().all(|&v| v != 0.0), "{init}: a zero bias");
        } else {
            assert!(b.iter().all(|&v| v == 0.0), "{init}: nonzero biases");
        }
    }
    let (w, b) = layer(Init::Uniform(0.0), 8, 8);
    assert!(w.iter().chain(&b).all(|&v| v == 0.0));
}

#[test]
fn normal_schemes_have_their_documented_standard_deviation_within_ten_percent() {
    let cases = [
        (Init::GlorotNormal, 256, 256, (2.0_f64 / 512.0).sqrt()),
        (Init::GlorotNormal, 100, 400, (2.0_f64 / 500.0).sqrt()),
        (Init::HeNormal, 256, 256, (2.0_f64 / 256.0).sqrt()),
        (Init::HeNormal, 100, 400, (2.0_f64 / 100.0).sqrt()),
    ];
    for (init, i, o, want) in cases {
        let (w, b) = layer(init, i, o);
        let s = stats(&w);
        assert!(
            (s.std - want).abs() < 0.1 * want,
            "{init} ({o}x{i}): std {} vs {want}",
            s.std
        );
        assert!(s.mean.abs() < 0.05 * want, "{init}: mean {}", s.mean);
        // Gaussian, not bounded like a uniform: some draws beyond 3 sigma.
        assert!(s.max_abs > 3.0 * want, "{init}: max |w| {}", s.max_abs);
        assert!(b.iter().all(|&v| v == 0.0), "{init}: nonzero biases");
    }
}

/// A 2 -> 2 network with `W = I`, `b = 0` and identity output: the class is
/// the larger input (the first on a tie).
#[test]
fn classify_and_accuracy_on_a_hand_made_network() {
    let mut mlp = Mlp::<f64>::builder(&[2, 2]).build().unwrap();
    mlp.params_mut()
        .copy_from_slice(&[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    let x = [1.0, 0.0, 0.0, 1.0, 0.2, 0.9, 0.5, 0.5];
    assert_eq!(mlp.predict(&x).unwrap().as_slice(), x);
    assert_eq!(mlp.classify(&x).unwrap(), [0, 1, 1, 0]);
    assert_eq!(mlp.accuracy(&x, &[0, 1, 1, 0]).unwrap(), 1.0);
    assert_eq!(mlp.accuracy(&x, &[0, 1, 0, 1]).unwrap(), 0.5);
    assert_eq!(mlp.accuracy(&x, &[1, 0, 0, 1]).unwrap(), 0.0);
    // A bias shifts the decision.
    mlp.params_mut()[4] = 0.75;
    assert_eq!(mlp.classify(&x).unwrap(), [0, 1, 0, 0]);
}

#[test]
fn input_gradient_matches_central_finite_differences() {
    let mlp = Mlp::<f64>::builder(&[3, 6, 5, 4])
        .hidden_each(&[Activation::Tanh, Activation::Softplus])
        .init(Init::GlorotNormal)
        .seed(5)
        .build()
        .unwrap();
    let x = [0.3, -1.2, 0.8, 1.5, 0.1, -0.4];
    let cases: [(Loss, BatchTargets<'_, f64>); 2] = [
        (
            Loss::CrossEntropy(Reduction::Mean),
            BatchTargets::Classes(&[2, 0]),
        ),
        (
            Loss::LeastSquares(Reduction::Sum),
            BatchTargets::Values(&[0.5, -0.5, 1.0, 0.0, 0.2, 0.1, -1.0, 0.3]),
        ),
    ];
    for (loss, targets) in cases {
        let g = mlp.input_gradient(&x, targets, loss).unwrap();
        assert_eq!(g.shape(), Shape::new(2, 3));
        assert!(
            g.as_slice().iter().any(|&v| v.abs() > 1e-3),
            "{loss:?}: {g:?}"
        );
        let f = |x: &[f64]| {
            let out = mlp.predict(x).unwrap();
            loss.value(out.as_slice(), 4, targets).unwrap()
        };
        let report =
            autodiff::gradcheck_fn(f, g.as_slice(), &x, &GradcheckConfig::default()).unwrap();
        assert!(report.passed(), "{}: {report}", loss.name());
    }
}

#[test]
fn a_uniform_init_bound_that_is_negative_or_not_finite_is_an_architecture_error() {
    for a in [-0.1, f64::NAN, f64::INFINITY] {
        let r = Mlp::<f64>::builder(&[2, 2]).init(Init::Uniform(a)).build();
        assert!(
            arch_message(r).contains("Init::Uniform"),
            "bound {a}: a typed error naming the init"
        );
    }
    // 0 is allowed: all-zero weights.
    let zero = Mlp::<f64>::builder(&[2, 2])
        .init(Init::Uniform(0.0))
        .build()
        .unwrap();
    assert!(zero.params().iter().all(|&p| p == 0.0));
}

#[test]
fn predict_proba_is_the_softmax_of_the_outputs_and_stays_finite_for_huge_logits() {
    let mut mlp = Mlp::<f64>::builder(&[3, 5, 4]).seed(3).build().unwrap();
    let x = [0.3, -1.2, 2.0, 1.0, 0.0, -0.5];
    let p = mlp.predict_proba(&x).unwrap();
    let out = mlp.predict(&x).unwrap();
    for i in 0..2 {
        let want = nn::jacobian_chain::softmax(out.row(i));
        for (a, b) in p.row(i).iter().zip(&want) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
    }
    // Output biases of 1e4 would overflow exp without the shift.
    let n = mlp.num_params();
    mlp.params_mut()[n - 4..].copy_from_slice(&[1e4, 0.0, -1e4, 1e4]);
    let p = mlp.predict_proba(&x).unwrap();
    assert!(p.as_slice().iter().all(|v| v.is_finite()));
    assert!((p.row(0)[0] + p.row(0)[3] - 1.0).abs() < 1e-12);
}

/// `sum(forward_dropout(x))` and its gradient with respect to `x`.
fn dropout_sum(mlp: &Mlp<f64>, x: &[f64], p: f64, seed: u64) -> (f64, Vec<f64>) {
    let tape = Tape::new();
    let xm = tape.mat(Shape::new(2, 3), x).unwrap();
    let y = mlp
        .forward_dropout(&tape, xm, p, seed)
        .unwrap()
        .output
        .sum();
    (y.value(), tape.backward(y)[xm].to_vec())
}

#[test]
fn dropout_at_p_zero_is_forward_bitwise_and_masks_depend_on_the_seed_only() {
    let mlp = net(&[3, 16, 16, 2]);
    let x = [0.3, -1.2, 0.8, 2.0, 0.1, -0.4];
    let tape = Tape::new();
    let xm = tape.mat_const(Shape::new(2, 3), &x).unwrap();
    let plain = mlp.forward(&tape, xm).unwrap().output.to_vec();
    let at_zero = mlp
        .forward_dropout(&tape, xm, 0.0, 9)
        .unwrap()
        .output
        .to_vec();
    assert_eq!(plain, at_zero);
    let a = mlp
        .forward_dropout(&tape, xm, 0.5, 9)
        .unwrap()
        .output
        .to_vec();
    let b = mlp
        .forward_dropout(&tape, xm, 0.5, 9)
        .unwrap()
        .output
        .to_vec();
    let c = mlp
        .forward_dropout(&tape, xm, 0.5, 10)
        .unwrap()
        .output
        .to_vec();
    assert_eq!(a, b);
    assert_ne!(a, plain);
    assert_ne!(a, c);
    // No hidden layer, no dropout: the output layer is never dropped.
    let linear = net(&[3, 2]);
    let out = linear
        .forward_dropout(&tape, xm, 0.5, 9)
        .unwrap()
        .output
        .to_vec();
    assert_eq!(out, linear.forward(&tape, xm).unwrap().output.to_vec());
    // A probability outside [0, 1) is refused, also without hidden layers.
    for m in [&mlp, &linear] {
        let e = m.forward_dropout(&tape, xm, 1.0, 0).unwrap_err();
        assert!(
            e.to_string()
                .contains("dropout: the drop probability p: 1 is outside"),
            "{e}"
        );
    }
}

#[test]
fn dropout_gradient_with_respect_to_the_input_matches_finite_differences() {
    let mlp = net(&[3, 16, 16, 2]);
    let x = [0.3, -1.2, 0.8, 2.0, 0.1, -0.4];
    let (_, g) = dropout_sum(&mlp, &x, 0.4, 5);
    let h = 1e-6;
    for k in 0..x.len() {
        let (mut up, mut down) = (x, x);
        up[k] += h;
        down[k] -= h;
        // The same seed, so the same masks: a smooth function of x.
        let fd =
            (dropout_sum(&mlp, &up, 0.4, 5).0 - dropout_sum(&mlp, &down, 0.4, 5).0) / (2.0 * h);
        assert!(
            (g[k] - fd).abs() <= 1e-7 * (1.0 + fd.abs()),
            "x[{k}]: {} vs {fd}",
            g[k]
        );
    }
}

#[test]
fn each_hidden_layer_draws_its_own_dropout_mask() {
    // Identity layers (weights I, biases 0, identity activations): the
    // output is the input times both hidden layers' masks. With one mask
    // for both, an entry is dropped with probability p; with a mask each,
    // 1 - (1 - p)^2 (0.5 and 0.75 at p = 0.5).
    let n = 4;
    let mut mlp = Mlp::<f64>::builder(&[n, n, n, n])
        .hidden(Activation::Identity)
        .output(Activation::Identity)
        .build()
        .unwrap();
    let slots: Vec<_> = mlp.slots().values().copied().collect();
    let params = mlp.params_mut();
    params.fill(0.0);
    for slot in slots.iter().filter(|s| s.shape.rows == s.shape.cols) {
        for i in 0..n {
            params[slot.offset + i * n + i] = 1.0;
        }
    }
    let rows = 500;
    let tape = Tape::new();
    let x = tape
        .mat_const(Shape::new(rows, n), &vec![1.0; rows * n])
        .unwrap();
    let out = mlp
        .forward_dropout(&tape, x, 0.5, 11)
        .unwrap()
        .output
        .to_vec();
    assert!(out.iter().all(|&v| v == 0.0 || v == 4.0), "scaled twice");
    let dropped = out.iter().filter(|&&v| v == 0.0).count() as f64 / out.len() as f64;
    // 2000 entries: the standard deviation is below 0.01.
    assert!((dropped - 0.75).abs() < 0.05, "dropped {dropped}");
}

#[test]
fn forward_dropout_refuses_p_outside_zero_one_with_or_without_hidden_layers() {
    // A net without hidden layers records no dropout op, so the range is
    // checked before recording: that net must refuse p too.
    for widths in [&[3, 2][..], &[3, 4, 2]] {
        let mlp = net(widths);
        for p in [-0.1, 1.0, f64::NAN] {
            let tape = Tape::new();
            let xm = tape.mat(Shape::new(1, 3), &[0.3, -1.2, 0.8]).unwrap();
            let e = mlp.forward_dropout(&tape, xm, p, 9).err();
            assert!(
                matches!(e, Some(Error::Autodiff(autodiff::Error::OutOfRange { .. }))),
                "{widths:?}, p = {p}: {e:?}"
            );
        }
    }
}

/// A network whose outputs overflow to `inf - inf` for an input of 1e10:
/// hidden `relu(1e300 x)`, outputs `h0 - h1` and `h1 - h0`.
fn overflowing_net() -> Mlp<f64> {
    let mut mlp = Mlp::<f64>::builder(&[1, 2, 2])
        .hidden(Activation::RELU)
        .output(Activation::Identity)
        .build()
        .unwrap();
    let (l0, l1) = (mlp.layer_range(0), mlp.layer_range(1));
    let p = mlp.params_mut();
    p[l0].copy_from_slice(&[1e300, 1e300, 0.0, 0.0]);
    p[l1].copy_from_slice(&[1.0, -1.0, -1.0, 1.0, 0.0, 0.0]);
    mlp
}

/// `classify` names an infinite input (not only a NaN) behind a NaN
/// output, and none behind an overflow inside the network; `evaluate`
/// gives a NaN loss and no accuracy for such outputs (not class 0's).
#[test]
fn a_nan_output_from_an_infinite_input_or_an_overflow_is_named_and_has_no_accuracy() {
    let mlp = overflowing_net();
    assert!(mlp.predict(&[1e10]).unwrap().as_slice()[0].is_nan());
    let e = mlp.classify(&[0.5, f64::INFINITY]).unwrap_err();
    assert!(
        matches!(e, Error::NonFiniteOutput { row: 1, input: Some((0, v)), .. } if v == f64::INFINITY),
        "{e}"
    );
    let e = mlp.classify(&[1e10]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::NonFiniteOutput {
                row: 0,
                input: None,
                ..
            }
        ),
        "{e}"
    );
    let data = nn::data::Dataset::classification(
        autodiff::Matrix::new(2, 1, vec![0.5, 1e10]).unwrap(),
        vec![0, 1],
        2,
    )
    .unwrap();
    let (loss, accuracy) = nn::evaluate(&mlp, Loss::CrossEntropy(Reduction::Mean), &data).unwrap();
    assert!(loss.is_nan(), "{loss}");
    assert_eq!(accuracy, None);
}

/// As `torch.softmax` and `jax.nn.softmax`: a row holding `+inf` (an
/// overflow inside the network) or NaN is NaN throughout, a `-inf` output
/// has probability 0, and a row of finite outputs sums to 1.
#[test]
fn predict_proba_of_a_row_with_a_nan_or_plus_infinite_output_is_nan_and_minus_infinity_is_zero() {
    // W_0 = 0 and b_0 = (1e300, 0): the hidden layer is (1e300, 0) for any
    // finite input; W_1 = diag(s, 1), b_1 = 0: the outputs are
    // (s * 1e300, 0), infinite for |s| = 1e300.
    let mut mlp = Mlp::<f64>::builder(&[2, 2, 2]).seed(0).build().unwrap();
    let with = |mlp: &mut Mlp<f64>, s: f64| {
        mlp.params_mut()
            .copy_from_slice(&[0.0, 0.0, 0.0, 0.0, 1e300, 0.0, s, 0.0, 0.0, 1.0, 0.0, 0.0])
    };
    with(&mut mlp, 1e300);
    assert_eq!(
        mlp.predict(&[0.0, 0.0]).unwrap().row(0),
        &[f64::INFINITY, 0.0]
    );
    let p = mlp.predict_proba(&[0.0, 0.0]).unwrap();
    assert!(p.row(0).iter().all(|v| v.is_nan()), "{:?}", p.row(0));
    let p = mlp.predict_proba(&[f64::NAN, 0.0]).unwrap();
    assert!(p.row(0).iter().all(|v| v.is_nan()), "{:?}", p.row(0));
    with(&mut mlp, -1e300);
    assert_eq!(mlp.predict_proba(&[0.0, 0.0]).unwrap().row(0), &[0.0, 1.0]);
    with(&mut mlp, 1.0);
    let p = mlp.predict_proba(&[0.0, 0.0]).unwrap();
    assert!((p.row(0).iter().sum::<f64>() - 1.0).abs() < 1e-15);
}
