//! Bad input to the matrix ops: shapes that do not fit, labels out of
//! range, probabilities and subgradients outside their ranges, sizes that
//! overflow, handles of another tape or recording. Each is a typed error
//! (the `try_` form) or a panic naming what was expected and what came.

use autodiff::{CrossEntropy, Error, Float, Matrix, Reduction, Shape, Tape};

#[test]
fn dropout_p_zero_is_the_identity_and_p_outside_zero_one_is_a_typed_error() {
    let tape = Tape::new();
    let x = tape
        .mat(Shape::new(2, 3), &[1.0_f64, -2.0, 3.0, 0.5, 0.0, -0.0])
        .unwrap();
    let y = x.dropout(0.0, 42).to_vec();
    assert_eq!(
        y.iter().map(|v: &f64| v.to_bits()).collect::<Vec<_>>(),
        x.to_vec()
            .iter()
            .map(|v: &f64| v.to_bits())
            .collect::<Vec<_>>()
    );
    for p in [1.0, -0.5, f64::NAN] {
        let e = x.try_dropout(p, 0).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("dropout: the drop probability p: "),
            "{e}"
        );
        assert!(matches!(e, autodiff::Error::OutOfRange { .. }), "{e}");
    }
}

#[test]
#[should_panic(expected = "dropout: the drop probability p: 1 is outside the allowed range [0, 1)")]
fn plain_dropout_panics_with_the_same_message() {
    let tape = Tape::<f32>::new();
    let x = tape.mat(Shape::new(1, 2), &[1.0, 2.0]).unwrap();
    let _ = x.dropout(1.0, 0);
}

#[test]
#[should_panic(expected = "subgradient at 0 must lie in [0, 1]")]
fn relu_subgradient_outside_unit_interval_panics() {
    let tape = Tape::<f64>::new();
    let _ = tape.mat(Shape::new(1, 1), &[0.0]).unwrap().relu_with(1.5);
}

#[test]
fn mismatched_shapes_are_typed_errors_naming_op_and_shapes() {
    let tape = Tape::<f64>::new();
    let a = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let b = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let e = a.try_matmul(b).unwrap_err();
    assert_eq!(
        e,
        Error::ShapeMismatch {
            op: "matmul",
            lhs: Shape::new(2, 3),
            rhs: Shape::new(2, 3),
            expected: "left columns equal right rows"
        }
    );
    assert!(
        e.to_string().contains("matmul") && e.to_string().contains("(2, 3)"),
        "{e}"
    );
    let c = tape.mat(Shape::new(3, 2), &[0.0; 6]).unwrap();
    assert!(matches!(
        a.try_add(c),
        Err(Error::ShapeMismatch { op: "add", .. })
    ));
    assert!(matches!(
        a.try_affine(c, None),
        Err(Error::ShapeMismatch { op: "affine", .. })
    ));
    let w = tape.mat(Shape::new(4, 3), &[0.0; 12]).unwrap();
    let bad_bias = tape.mat(Shape::new(1, 3), &[0.0; 3]).unwrap();
    assert!(matches!(
        a.try_affine(w, Some(bad_bias)),
        Err(Error::ShapeMismatch {
            op: "affine (bias)",
            ..
        })
    ));
    assert!(matches!(
        tape.mat(Shape::new(2, 2), &[0.0; 3]),
        Err(Error::LengthMismatch {
            expected: 4,
            got: 3,
            ..
        })
    ));
    assert!(matches!(
        a.try_least_squares(&[0.0; 5], Reduction::Sum),
        Err(Error::LengthMismatch {
            expected: 6,
            got: 5,
            ..
        })
    ));
}

#[test]
fn least_squares_target_length_error_prints_no_placeholder_shape() {
    let tape = Tape::<f64>::new();
    let a = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let e = a.try_least_squares(&[0.0; 5], Reduction::Sum).unwrap_err();
    assert_eq!(
        e.to_string(),
        "least squares (one target per entry of the predictions, row-major): expected 6 values, got 5"
    );
}

#[test]
#[should_panic(expected = "matmul: shapes do not fit: left is (2, 3), right is (2, 3)")]
fn plain_matmul_panics_with_the_same_message() {
    let tape = Tape::<f64>::new();
    let a = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let _ = a.matmul(a);
}

#[test]
fn cross_entropy_labels_out_of_range_or_miscounted_are_errors() {
    let tape = Tape::<f32>::new();
    let z = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let e = z
        .try_softmax_cross_entropy(&[0, 3], Reduction::Mean)
        .unwrap_err();
    assert_eq!(
        e,
        Error::LabelOutOfRange {
            row: 1,
            label: 3,
            classes: 3
        }
    );
    assert!(e.to_string().contains("label 3 of row 1"), "{e}");
    assert!(matches!(
        z.try_softmax_cross_entropy(&[0], Reduction::Mean),
        Err(Error::LengthMismatch {
            expected: 2,
            got: 1,
            ..
        })
    ));
}

#[test]
#[should_panic(expected = "spans more than usize::MAX elements")]
fn gemm_strides_whose_extent_overflows_are_refused_not_wrapped() {
    let mut big = [7.0_f64; 3];
    // The last offset of C, 1 * usize::MAX + 1, wraps to 0 in release.
    f64::gemm(
        2,
        1,
        2,
        1.0,
        &[1.0, 1.0],
        1,
        0,
        &[1.0, 1.0],
        0,
        1,
        0.0,
        &mut big[1..2],
        usize::MAX,
        1,
    );
}

#[test]
#[should_panic(expected = "rows * cols overflows usize")]
fn a_product_whose_shape_overflows_panics_instead_of_wrapping() {
    let tape = Tape::<f64>::new();
    let a = tape.mat(Shape::new(274_177, 0), &[]).unwrap();
    let b = tape.mat(Shape::new(0, 67_280_421_310_721), &[]).unwrap(); // m n = 2^64 + 1
    let _ = a.matmul(b);
}

#[test]
fn gradients_refuse_handles_recorded_after_them() {
    let mut tape = Tape::<f64>::new();
    let mut g = autodiff::Grads::empty();
    let big = tape.mat(Shape::new(8, 8), &[1.0; 64]).unwrap();
    tape.backward_into(big.sum(), &mut g);
    tape.clear();
    let small = tape.mat(Shape::new(1, 1), &[1.0]).unwrap();
    tape.backward_into(small.sum(), &mut g);
    assert_eq!(g[small], [1.0]);
    let later = tape.mat(Shape::new(2, 2), &[1.0; 4]).unwrap();
    let v = tape.var(1.0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g[later].to_vec()));
    assert!(r.is_err(), "a matrix recorded after the backward pass");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g[v]));
    assert!(r.is_err(), "a scalar recorded after the backward pass");
}

#[test]
fn cross_entropy_options_out_of_range_are_errors_naming_expected_and_given() {
    let tape = Tape::<f64>::new();
    let z = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let ce = CrossEntropy::new(Reduction::Mean);
    for eps in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
        let e = z
            .try_softmax_cross_entropy_with(&[0, 1], ce.with_label_smoothing(eps))
            .unwrap_err();
        assert!(
            matches!(e, Error::OutOfRange { value, range: "[0, 1]", .. } if value.to_bits() == eps.to_bits()),
            "{e}"
        );
        assert!(e.to_string().contains("label smoothing"), "{e}");
    }
    let e = z
        .try_softmax_cross_entropy_with(&[0, 1], ce.with_weight(&[1.0, 2.0]))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::LengthMismatch {
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("class weights"), "{e}");
    for (w, class) in [
        ([1.0, -0.5, 1.0], 1),
        ([1.0, 1.0, f64::NAN], 2),
        ([f64::INFINITY, 1.0, 1.0], 0),
    ] {
        let e = z
            .try_softmax_cross_entropy_with(&[0, 1], ce.with_weight(&w))
            .unwrap_err();
        assert!(
            matches!(e, Error::ClassWeight { class: c, value } if c == class && value.to_bits() == w[class].to_bits()),
            "{e}"
        );
        assert!(e.to_string().contains(&format!("class {class}")), "{e}");
    }
    // The mean over rows whose labels weigh 0 is 0 / 0 (PyTorch: NaN).
    let w = [0.0, 0.0, 1.0];
    let e = z
        .try_softmax_cross_entropy_with(&[0, 1], ce.with_weight(&w).with_label_smoothing(0.1))
        .unwrap_err();
    assert_eq!(e, Error::ZeroWeightSum { rows: 2 });
    assert!(e.to_string().contains("sum to 0"), "{e}");
    // Their sum is fine: the smoothing term on class 2 (ln 3 each row).
    let sum = CrossEntropy::new(Reduction::Sum)
        .with_weight(&w)
        .with_label_smoothing(0.3);
    let l = z.try_softmax_cross_entropy_with(&[0, 1], sum).unwrap();
    assert!(
        (l.value() - 2.0 * 0.1 * 3f64.ln()).abs() < 1e-15,
        "{}",
        l.value()
    );
    // Plain and panicking forms say the same.
    let r = std::panic::catch_unwind(|| {
        let tape = Tape::<f64>::new();
        let z = tape.mat(Shape::new(1, 2), &[0.0; 2]).unwrap();
        let _ = z.softmax_cross_entropy_with(
            &[0],
            CrossEntropy::new(Reduction::Sum).with_label_smoothing(2.0),
        );
    });
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.contains("label smoothing: 2 is outside the allowed range [0, 1]"),
        "{msg}"
    );
}

#[test]
fn empty_layers_and_empty_batches_are_not_panics() {
    let tape = Tape::<f64>::new();
    let x = tape.mat_const(Shape::new(3, 2), &[1.0; 6]).unwrap();
    let w = tape.mat(Shape::new(0, 2), &[]).unwrap();
    let b = tape.mat(Shape::new(1, 0), &[]).unwrap();
    let z = x.try_affine(w, Some(b)).unwrap();
    assert_eq!(z.shape(), Shape::new(3, 0));
    let g = tape.backward(z.sum());
    assert!(g[w].is_empty() && g[b].is_empty());
    let logits = tape.mat(Shape::new(0, 0), &[]).unwrap();
    let l = logits
        .try_softmax_cross_entropy(&[], Reduction::Sum)
        .unwrap();
    assert_eq!(l.value(), 0.0);
    let _ = tape.backward(l);
    // The mean over no row would be 0 / 0: an error, not a NaN loss.
    let none = tape.mat(Shape::new(0, 3), &[]).unwrap();
    for e in [
        logits
            .try_softmax_cross_entropy(&[], Reduction::Mean)
            .unwrap_err(),
        none.try_least_squares(&[], Reduction::Mean).unwrap_err(),
    ] {
        assert!(matches!(e, Error::EmptyInput { .. }), "{e}");
    }
    assert_eq!(
        none.try_least_squares(&[], Reduction::Sum).unwrap().value(),
        0.0
    );
}

#[test]
fn shapes_too_large_to_exist_are_typed_errors() {
    let huge = Shape::new(usize::MAX / 2, 3);
    assert_eq!(huge.checked_len(), None);
    let e = Matrix::<f64>::new(huge.rows, huge.cols, vec![0.0; 2]).unwrap_err();
    assert!(matches!(e, Error::ShapeTooLarge { shape, .. } if shape == huge));
    assert!(
        e.to_string().contains("more than usize::MAX elements"),
        "{e}"
    );
    let tape = Tape::<f64>::new();
    assert!(matches!(
        tape.mat(huge, &[1.0]),
        Err(Error::ShapeTooLarge { .. })
    ));
    assert!(matches!(
        tape.mats_packed(&[Shape::new(1, 1), huge], &[1.0]),
        Err(Error::ShapeTooLarge { .. })
    ));
}

#[test]
#[should_panic(expected = "subgradient at 0 must lie in [0, 1]")]
fn map_refuses_a_relu_subgradient_outside_0_1() {
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(1, 1), &[0.0]).unwrap();
    let _ = x.map(autodiff::rules::Unary::Relu { at_zero: 7.0 });
}

#[test]
#[should_panic]
fn matrix_from_fn_of_an_overflowing_shape_panics() {
    let _ = Matrix::<f64>::from_fn(1 << 63, 2, |_, _| 0.0);
}

#[test]
fn broadcast_and_from_vars_refuse_what_does_not_fit() {
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let e = x.try_broadcast_to(Shape::new(4, 3)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                op: "broadcast_to",
                ..
            }
        ),
        "{e}"
    );
    let v = tape.var(1.0);
    let e = tape
        .mat_from_vars(Shape::new(2, 2), &[v, v, v])
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::LengthMismatch {
                expected: 4,
                got: 3,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
#[should_panic(expected = "Mat::get: entry (2, 0) is outside a (2, 3) matrix")]
fn an_entry_outside_the_shape_panics_naming_it() {
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let _ = x.get(2, 0);
}

#[test]
#[should_panic(expected = "recorded on one Tape was combined with one from another Tape")]
fn a_var_of_another_tape_in_a_matrix_of_scalars_panics() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let v = t2.var(1.0);
    let _ = t1.mat_from_vars(Shape::new(1, 1), &[v]);
}

#[test]
#[should_panic(expected = "row 0 of 0 rows")]
fn a_row_past_the_last_panics_even_without_columns() {
    let m = Matrix::<f64>::zeros(0, 0);
    let _ = m.row(0);
}

#[test]
#[should_panic(expected = "Grads: the handle was recorded on another tape")]
fn packed_mut_of_parameters_of_another_tape_panics_even_with_the_same_layout() {
    fn record(tape: &Tape<f64>) -> (autodiff::Packed<'_, f64>, autodiff::Var<'_, f64>) {
        let p = tape.mats_packed(&[Shape::new(1, 2)], &[1.0, 2.0]).unwrap();
        (p, p.get(0).sum())
    }
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let (_, l1) = record(&t1);
    let (p2, _) = record(&t2);
    let mut g = t1.backward(l1);
    let _ = g.packed_mut(p2);
}

#[test]
#[should_panic(expected = "leaky_relu: the slope must be finite in the number type, got inf")]
fn a_leaky_relu_slope_that_is_not_finite_panics_on_the_matrix_path() {
    let tape = Tape::<f64>::new();
    let _ = tape
        .mat(Shape::new(1, 1), &[-1.0])
        .unwrap()
        .leaky_relu(f64::INFINITY);
}

#[test]
#[should_panic(expected = "leaky_relu: the slope must be finite in the number type, got 1e39")]
fn a_leaky_relu_slope_past_f32_panics_on_an_f32_tape() {
    let tape = Tape::<f32>::new();
    let x = tape.var(-1.0);
    let _ = autodiff::Real::leaky_relu(x, 1e39);
}
