//! The reshape and the concatenation of matrices along rows or columns:
//! values against plain loops, gradients against the hand-derived blocks
//! of the output gradient and against central finite differences, and
//! their typed errors.
//!
//! Each op `Y = op(inputs)` is tested through `L = sum(R * Y)` with a random
//! constant `R`, so that dL/dY = R is a full matrix, not ones.

mod common;

use autodiff::strategies::matrix as mat;
use autodiff::{mats_fn, Axis, Error, GradcheckConfig, Mat, Matrix, Shape, Tape, Var};
use proptest::prelude::*;

/// `sum(R * y)` on the tape.
fn weighted<'t>(y: Mat<'t, f64>, r: &Matrix<f64>) -> Var<'t, f64> {
    let rm = y.tape().matrix_const(r);
    (y * rm).sum()
}

/// The gradients of `build` at `inputs` equal `hand` exactly (they are
/// copies of entries of R, or sums of two) and pass finite differences.
fn check(
    inputs: &[Matrix<f64>],
    build: impl for<'t> Fn(&[Mat<'t, f64>]) -> Var<'t, f64>,
    hand: &[Vec<f64>],
) -> Result<(), TestCaseError> {
    let tape = Tape::new();
    let ms: Vec<_> = inputs.iter().map(|m| tape.matrix(m)).collect();
    let g = tape.backward(build(&ms));
    for (k, (m, h)) in ms.iter().zip(hand).enumerate() {
        prop_assert_eq!(&g[*m][..], &h[..], "input {}", k);
    }
    let cfg = GradcheckConfig {
        atol: 1e-6,
        rtol: 1e-6,
        ..Default::default()
    };
    // (Nothing to check when every input is empty: gradcheck refuses.)
    if inputs.iter().any(|m| !m.as_slice().is_empty()) {
        let report = autodiff::gradcheck_mats(mats_fn(build), inputs, &cfg).unwrap();
        prop_assert!(report.passed(), "{}", report);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn reshape_keeps_the_row_major_entries_and_reshapes_the_gradient_back(
        (r, c) in (1..6usize, 1..6usize).prop_flat_map(|(r, c)| (Just(r), Just(c))),
        x in mat(5, 5), w in mat(25, 1), pick in 0..4usize
    ) {
        let x = Matrix::new(r, c, x.as_slice()[..r * c].to_vec()).unwrap();
        // Every shape of r c entries: (c, r), a row, a column, (r, c) itself.
        let (p, q) = [(c, r), (1, r * c), (r * c, 1), (r, c)][pick];
        let rw = Matrix::new(p, q, w.as_slice()[..r * c].to_vec()).unwrap();
        let tape = Tape::new();
        let y = tape.matrix(&x).reshape(p, q);
        prop_assert_eq!(y.shape(), Shape::new(p, q));
        prop_assert_eq!(y.to_vec(), x.as_slice().to_vec());
        // dX = R read in row-major order, in X's shape.
        let hand = rw.as_slice().to_vec();
        check(&[x], move |m| weighted(m[0].reshape(p, q), &rw), &[hand])?;
    }

    #[test]
    fn concat_places_each_input_as_a_block_and_passes_it_that_block_of_the_gradient(
        sizes in proptest::collection::vec(0..4usize, 1..4), other in 1..4usize,
        rows in any::<bool>(), seed in mat(12, 4), rv in mat(12, 12)
    ) {
        let axis = if rows { Axis::Rows } else { Axis::Cols };
        // Input k is sizes[k] x other (Rows) or other x sizes[k] (Cols).
        let mut inputs = Vec::new();
        let mut base = 0;
        for &n in &sizes {
            let (p, q) = if rows { (n, other) } else { (other, n) };
            inputs.push(Matrix::from_fn(p, q, |i, j| seed.as_slice()[(base + i * q + j) % 48]));
            base += 7;
        }
        let along: usize = sizes.iter().sum();
        let (p, q) = if rows { (along, other) } else { (other, along) };
        let r = Matrix::from_fn(p, q, |i, j| rv[(i, j)]);
        // The value and each input's gradient, by plain loops: input k's
        // entry (i, j) is the output's (at + i, j) or (i, at + j).
        let tape = Tape::new();
        let ms: Vec<_> = inputs.iter().map(|m| tape.matrix(m)).collect();
        let y = Mat::concat(&ms, axis);
        prop_assert_eq!(y.shape(), Shape::new(p, q));
        let yv = y.value();
        let mut hand = Vec::new();
        let mut at = 0;
        for m in &inputs {
            let mut h = Vec::new();
            for i in 0..m.rows() {
                for j in 0..m.cols() {
                    let (oi, oj) = if rows { (at + i, j) } else { (i, at + j) };
                    prop_assert_eq!(yv[(oi, oj)], m[(i, j)]);
                    h.push(r[(oi, oj)]);
                }
            }
            hand.push(h);
            at += if rows { m.rows() } else { m.cols() };
        }
        check(&inputs, move |m| weighted(Mat::concat(m, axis), &r), &hand)?;
    }

    #[test]
    fn a_matrix_concatenated_with_itself_gets_the_sum_of_its_blocks(
        a in mat(2, 3), b in mat(2, 3), rv in mat(6, 9)
    ) {
        for (axis, (p, q)) in [(Axis::Rows, (6, 3)), (Axis::Cols, (2, 9))] {
            let r = Matrix::from_fn(p, q, |i, j| rv[(i, j)]);
            // [a, b, a]: a's gradient is its first block plus its third.
            let block = |k: usize| -> Vec<f64> {
                (0..6).map(|e| match axis {
                    Axis::Rows => r[(2 * k + e / 3, e % 3)],
                    _ => r[(e / 3, 3 * k + e % 3)],
                }).collect()
            };
            let da: Vec<f64> = block(0).iter().zip(block(2)).map(|(x, y)| x + y).collect();
            let r2 = r.clone();
            check(&[a.clone(), b.clone()], move |m| weighted(Mat::concat(&[m[0], m[1], m[0]], axis), &r2), &[da, block(1)])?;
            // vstack and hstack are the same concatenations.
            let tape = Tape::new();
            let (ma, mb) = (tape.matrix(&a), tape.matrix(&b));
            let stacked = match axis {
                Axis::Rows => Mat::vstack(&[ma, mb, ma]),
                _ => Mat::hstack(&[ma, mb, ma]),
            };
            prop_assert_eq!(stacked.to_vec(), Mat::concat(&[ma, mb, ma], axis).to_vec());
        }
    }
}

#[test]
fn reshape_to_another_number_of_entries_is_a_typed_error_naming_both_shapes() {
    let tape = Tape::<f64>::new();
    let x = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    for (r, c) in [(4, 2), (0, 6), (usize::MAX, 2)] {
        let e = x.try_reshape(r, c).unwrap_err();
        assert_eq!(
            e,
            Error::ShapeMismatch {
                op: "reshape",
                lhs: Shape::new(2, 3),
                rhs: Shape::new(r, c),
                expected: "the same number of entries",
            }
        );
        let msg = e.to_string();
        assert!(msg.starts_with("reshape: ") && msg.contains("the same number of entries"));
        let panic =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| x.reshape(r, c))).unwrap_err();
        assert_eq!(*panic.downcast::<String>().unwrap(), msg);
    }
    // Empty matrices reshape among themselves.
    let e = tape.mat(Shape::new(0, 4), &[]).unwrap();
    assert_eq!(e.reshape(2, 0).shape(), Shape::new(2, 0));
}

#[test]
fn concat_of_shapes_that_do_not_line_up_or_of_nothing_is_a_typed_error() {
    let tape = Tape::<f64>::new();
    let a = tape.mat(Shape::new(2, 3), &[0.0; 6]).unwrap();
    let b = tape.mat(Shape::new(3, 2), &[0.0; 6]).unwrap();
    let e = Mat::try_concat(&[a, a, b], Axis::Rows).unwrap_err();
    assert_eq!(
        e,
        Error::ShapeMismatch {
            op: "concat (rows, vstack)",
            lhs: Shape::new(2, 3),
            rhs: Shape::new(3, 2),
            expected: "the same number of columns",
        }
    );
    let e = Mat::try_concat(&[a, b], Axis::Cols).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShapeMismatch {
                op: "concat (columns, hstack)",
                expected: "the same number of rows",
                ..
            }
        ),
        "{e}"
    );
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Mat::hstack(&[a, b])))
        .unwrap_err();
    assert_eq!(*panic.downcast::<String>().unwrap(), e.to_string());
    let none: [Mat<'_, f64>; 0] = [];
    let e = Mat::try_concat(&none, Axis::Rows).unwrap_err();
    assert_eq!(
        e,
        Error::NoInputs {
            what: "concat (rows, vstack)"
        }
    );
    assert_eq!(
        e.to_string(),
        "concat (rows, vstack): no matrices given (expected at least one)"
    );
    // Empty blocks line up by their other dimension.
    let rows0 = tape.mat(Shape::new(0, 3), &[]).unwrap();
    assert_eq!(Mat::vstack(&[rows0, a]).to_vec(), a.to_vec());
    let cols0 = tape.mat(Shape::new(2, 0), &[]).unwrap();
    assert_eq!(Mat::hstack(&[cols0, a, cols0]).shape(), Shape::new(2, 3));
    assert_eq!(Mat::hstack(&[cols0, cols0]).shape(), Shape::new(2, 0));
}

#[test]
#[should_panic(expected = "tape")]
fn concat_of_matrices_of_two_tapes_panics() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let a = t1.mat(Shape::new(1, 1), &[1.0]).unwrap();
    let b = t2.mat(Shape::new(1, 1), &[1.0]).unwrap();
    let _ = Mat::try_concat(&[a, b], Axis::Rows);
}
