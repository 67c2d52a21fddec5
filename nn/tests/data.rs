//! Integration tests of `nn::data`: loaders on real files, the bundled
//! digits, splits, scaling and mini-batches.

use autodiff::Matrix;
use nn::data::{
    self, load_csv, load_idx_images, load_idx_labels, load_mnist, write_idx, BatchOrder, Batcher,
    CsvOptions, DataError, Dataset, IdxArray, IdxData, LabelColumn, Standardizer,
};
use std::path::PathBuf;

mod common;
use common::TempDir;

/// `n` rows whose single feature is the row number, labels `i % 4`.
fn numbered(n: usize) -> Dataset<f64> {
    let x = Matrix::new(n, 1, (0..n).map(|i| i as f64).collect()).unwrap();
    Dataset::classification(x, (0..n).map(|i| i % 4).collect(), 4).unwrap()
}

fn row_ids(d: &Dataset<f64>) -> Vec<usize> {
    d.features()
        .as_slice()
        .iter()
        .map(|&x| x as usize)
        .collect()
}

// ---- CSV ----

#[test]
fn csv_with_a_byte_order_mark_reads_its_first_cell() {
    let dir = TempDir::new("bom");
    let path = dir.write("bom.csv", "\u{feff}12,3,1\n4,5,0\n".as_bytes());
    let d = load_csv::<f64>(&path, &CsvOptions::default()).unwrap();
    assert_eq!(d.features().as_slice(), &[12.0, 3.0, 4.0, 5.0]);
}

#[test]
fn csv_number_that_overflows_f32_says_so() {
    let dir = TempDir::new("overflow");
    let path = dir.write("big.csv", b"1,2,0\n1e40,4,1\n");
    let e = load_csv::<f32>(&path, &CsvOptions::default()).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Overflow {
                line: 2,
                column: 1,
                ty: "f32",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("overflows f32"), "{e}");
    // Read as f64 it is an ordinary number.
    assert!(load_csv::<f64>(&path, &CsvOptions::default()).is_ok());
}

#[test]
fn csv_bad_cell_error_names_file_line_and_column() {
    let dir = TempDir::new("badcell");
    let path = dir.write("bad.csv", b"1,2,0\n3,4,1\n5,x7,1\n");
    let e = load_csv::<f64>(&path, &CsvOptions::default()).unwrap_err();
    let DataError::BadValue {
        path: p,
        line,
        column,
        text,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (p.as_str(), *line, *column, text.as_str()),
        (path.to_str().unwrap(), 3, 2, "x7")
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}:3:2: expected a finite number, found \"x7\"",
            path.display()
        )
    );
}

#[test]
fn csv_line_numbers_count_header_and_blank_lines() {
    let text = "a,b,y\n\n1,2,0\n\n1,,1\n";
    let e = data::read_csv::<f32>(
        text.as_bytes(),
        "mem.csv",
        &CsvOptions::default().header(true),
    )
    .unwrap_err();
    assert!(
        matches!(e, DataError::BadValue { line: 5, column: 2, ref text, .. } if text.is_empty()),
        "{e:?}"
    );
}

#[test]
fn csv_ragged_row_error_names_line_and_field_counts() {
    let dir = TempDir::new("ragged");
    let path = dir.write("ragged.csv", b"1,2,0\r\n3,4,1\r\n5,1\r\n");
    let e = load_csv::<f64>(&path, &CsvOptions::default()).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Ragged {
                line: 3,
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}:3: expected 3 fields (as in the first row), got 2",
            path.display()
        )
    );
}

#[test]
fn csv_empty_blank_or_header_only_file_is_an_empty_error() {
    let dir = TempDir::new("empty");
    for (name, text, header) in [
        ("e.csv", "", false),
        ("b.csv", "\n  \r\n", false),
        ("h.csv", "a,b,y\n", true),
    ] {
        let path = dir.write(name, text.as_bytes());
        let e = load_csv::<f64>(&path, &CsvOptions::default().header(header)).unwrap_err();
        assert!(
            matches!(e, DataError::Empty { ref path } if path.ends_with(name)),
            "{name}: {e:?}"
        );
        assert!(e.to_string().contains("no data rows"), "{e}");
    }
}

#[test]
fn csv_header_with_label_column_by_name() {
    let dir = TempDir::new("header");
    let path = dir.write("h.csv", b" x1 ; label ; x2\n0.5;1;-1\n1.5;0;2e1\n");
    let opts = CsvOptions::default()
        .header(true)
        .delimiter(b';')
        .label(LabelColumn::Name("label".into()));
    let d = load_csv::<f64>(&path, &opts).unwrap();
    assert_eq!(d.features().as_slice(), &[0.5, -1.0, 1.5, 20.0]);
    assert_eq!(d.labels(), Some(&[1, 0][..]));
    assert_eq!(d.n_classes(), Some(2));
}

#[test]
fn csv_label_name_not_in_header_lists_the_columns() {
    let opts = CsvOptions::default()
        .header(true)
        .label(LabelColumn::Name("target".into()));
    let e = data::read_csv::<f64>("a,b,y\n1,2,0\n".as_bytes(), "mem.csv", &opts).unwrap_err();
    assert!(
        matches!(e, DataError::UnknownColumn { ref name, ref header, .. } if name == "target" && header.len() == 3)
    );
    assert_eq!(
        e.to_string(),
        "mem.csv: label column \"target\" is not in the header (columns: a, b, y)"
    );
}

#[test]
fn csv_non_integer_label_names_line_and_column() {
    let e = data::read_csv::<f64>(
        "1,2,0\n1,2,one\n".as_bytes(),
        "mem.csv",
        &CsvOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, DataError::BadLabel { line: 2, column: 3, ref text, .. } if text == "one"),
        "{e:?}"
    );
}

#[test]
fn csv_missing_file_is_an_io_error_naming_the_path() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("nope.csv");
    let e = load_csv::<f64>(&path, &CsvOptions::default()).unwrap_err();
    assert!(
        matches!(e, DataError::Io { ref path, .. } if path.ends_with("nope.csv")),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read", path.display())),
        "{e}"
    );
}

// ---- digits ----

#[test]
fn digits_has_1797_rows_64_features_10_classes_and_pixels_0_to_16() {
    let d = data::digits::<f64>().unwrap();
    assert_eq!(
        (d.len(), d.n_features(), d.n_classes()),
        (1797, 64, Some(10))
    );
    assert!(d.labels().unwrap().iter().all(|&l| l < 10));
    let counts = d.class_counts().unwrap();
    assert!(
        counts.iter().all(|&c| (170..=190).contains(&c)),
        "{counts:?}"
    );
    let px = d.features().as_slice();
    assert!(px
        .iter()
        .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0));
    assert_eq!(px.iter().cloned().fold(f64::NEG_INFINITY, f64::max), 16.0);
    assert_eq!(&d.labels().unwrap()[..3], &[0, 1, 2]);
}

#[test]
fn digits_in_f32_equals_digits_in_f64() {
    assert_eq!(
        data::digits::<f32>().unwrap().to_f64(),
        data::digits::<f64>().unwrap()
    );
}

#[test]
fn digits_file_read_from_disk_equals_the_embedded_copy() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv");
    assert_eq!(
        load_csv::<f64>(path, &CsvOptions::default())
            .unwrap()
            .features(),
        data::digits::<f64>().unwrap().features()
    );
}

// ---- split and scaling ----

#[test]
fn split_sizes_are_disjoint_and_cover_every_row() {
    let d = numbered(103);
    let (train, test) = d.split(0.2, 11).unwrap();
    assert_eq!((train.len(), test.len()), (82, 21));
    let mut all = [row_ids(&train), row_ids(&test)].concat();
    all.sort_unstable();
    assert_eq!(all, (0..103).collect::<Vec<_>>());
    // labels travel with their rows
    for part in [&train, &test] {
        assert!(row_ids(part)
            .iter()
            .zip(part.labels().unwrap())
            .all(|(&i, &l)| l == i % 4));
    }
}

#[test]
fn split_is_determined_by_the_seed() {
    let d = numbered(50);
    assert_eq!(d.split(0.3, 5).unwrap(), d.split(0.3, 5).unwrap());
    assert_ne!(
        row_ids(&d.split(0.3, 5).unwrap().1),
        row_ids(&d.split(0.3, 6).unwrap().1)
    );
}

#[test]
fn split_fractions_zero_and_one_give_an_empty_side() {
    let d = numbered(10);
    let (train, test) = d.split(0.0, 1).unwrap();
    assert_eq!((train.len(), test.len()), (10, 0));
    let (train, test) = d.split(1.0, 1).unwrap();
    assert_eq!((train.len(), test.len()), (0, 10));
}

#[test]
fn standardizer_gives_mean_0_and_std_1_on_train() {
    let (train, test) = data::digits::<f64>().unwrap().split(0.2, 1).unwrap();
    let s = Standardizer::fit_dataset(&train).unwrap();
    let z = s.transform_dataset(train).unwrap();
    let (n, d) = (z.len() as f64, z.n_features());
    let mut constant = 0;
    for j in 0..d {
        let col: Vec<f64> = (0..z.len()).map(|i| z.features().row(i)[j]).collect();
        let mean = col.iter().sum::<f64>() / n;
        let std = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 1e-12, "feature {j}: mean {mean}");
        if s.std[j] == 0.0 {
            constant += 1;
            assert!(
                col.iter().all(|&v| v == 0.0),
                "constant feature {j} must be centred to 0"
            );
        } else {
            assert!((std - 1.0).abs() < 1e-12, "feature {j}: std {std}");
        }
    }
    assert!(constant > 0, "the digits have always-blank corner pixels");
    // the test set is scaled with the training statistics, and stays finite
    let t = s.transform_dataset(test).unwrap();
    assert!(t.features().as_slice().iter().all(|v| v.is_finite()));
}

// ---- mini-batches ----

fn epoch_batches(b: &mut Batcher, epoch: u64) -> Vec<Vec<usize>> {
    b.epoch(epoch).map(<[usize]>::to_vec).collect()
}

#[test]
fn reshuffled_and_cyclic_batches_cover_every_index_exactly_once_per_epoch() {
    for order in [BatchOrder::Reshuffled, BatchOrder::Cyclic] {
        for (n, bs) in [(10, 3), (12, 4), (5, 5), (5, 9), (1, 1)] {
            let mut b = Batcher::new(n, bs).unwrap().order(order).seed(3);
            for e in 0..3 {
                let batches = epoch_batches(&mut b, e);
                assert!(batches.iter().all(|x| !x.is_empty() && x.len() <= bs));
                let mut all = batches.concat();
                all.sort_unstable();
                assert_eq!(
                    all,
                    (0..n).collect::<Vec<_>>(),
                    "{order:?} n={n} bs={bs} epoch {e}"
                );
            }
        }
    }
}

#[test]
fn drop_last_keeps_only_full_batches_of_distinct_indices() {
    for order in [BatchOrder::Reshuffled, BatchOrder::Cyclic] {
        let mut b = Batcher::new(10, 3)
            .unwrap()
            .order(order)
            .drop_last(true)
            .seed(4);
        for e in 0..3 {
            let batches = epoch_batches(&mut b, e);
            assert_eq!(batches.len(), 3);
            assert!(batches.iter().all(|x| x.len() == 3));
            let mut all = batches.concat();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 9, "{order:?}: each index at most once");
            assert!(all.iter().all(|&i| i < 10));
        }
    }
}

#[test]
fn cyclic_order_is_the_data_order_every_epoch() {
    let mut b = Batcher::new(7, 3).unwrap().order(BatchOrder::Cyclic);
    let first = epoch_batches(&mut b, 0);
    assert_eq!(first, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);
    assert_eq!(epoch_batches(&mut b, 9), first);
}

#[test]
fn reshuffled_epochs_differ() {
    let mut b = Batcher::new(50, 10).unwrap().seed(1);
    let epochs: Vec<_> = (0..5).map(|e| epoch_batches(&mut b, e)).collect();
    for i in 0..epochs.len() {
        for j in i + 1..epochs.len() {
            assert_ne!(epochs[i], epochs[j], "epochs {i} and {j}");
        }
    }
}

#[test]
fn same_seed_gives_identical_batches_and_another_seed_differs() {
    for order in [BatchOrder::Reshuffled, BatchOrder::WithReplacement] {
        let mut a = Batcher::new(40, 6).unwrap().order(order).seed(77);
        let mut b = Batcher::new(40, 6).unwrap().order(order).seed(77);
        let mut c = Batcher::new(40, 6).unwrap().order(order).seed(78);
        for e in 0..4 {
            let ea = epoch_batches(&mut a, e);
            assert_eq!(ea, epoch_batches(&mut b, e), "{order:?} epoch {e}");
            assert_ne!(ea, epoch_batches(&mut c, e), "{order:?} epoch {e}");
        }
    }
}

#[test]
fn epoch_order_depends_only_on_seed_and_epoch_so_resuming_matches() {
    let mut uninterrupted = Batcher::new(30, 4).unwrap().seed(9);
    let later: Vec<_> = (0..6)
        .map(|e| epoch_batches(&mut uninterrupted, e))
        .collect();
    let mut resumed = Batcher::new(30, 4).unwrap().seed(9);
    assert_eq!(epoch_batches(&mut resumed, 4), later[4]);
    assert_eq!(epoch_batches(&mut resumed, 5), later[5]);
}

#[test]
fn with_replacement_draws_n_indices_in_range_with_repeats() {
    let mut b = Batcher::new(100, 16)
        .unwrap()
        .order(BatchOrder::WithReplacement)
        .seed(2);
    for e in 0..3 {
        let all = epoch_batches(&mut b, e).concat();
        assert_eq!(all.len(), 100);
        assert!(all.iter().all(|&i| i < 100));
        let mut distinct = all.clone();
        distinct.sort_unstable();
        distinct.dedup();
        // about 100 (1 - 1/e) = 63 distinct rows are expected
        assert!(
            (45..95).contains(&distinct.len()),
            "epoch {e}: {} distinct",
            distinct.len()
        );
    }
}

#[test]
fn with_replacement_epochs_differ() {
    let mut b = Batcher::new(50, 10)
        .unwrap()
        .order(BatchOrder::WithReplacement)
        .seed(1);
    let epochs: Vec<_> = (0..5).map(|e| epoch_batches(&mut b, e)).collect();
    for i in 0..epochs.len() {
        for j in i + 1..epochs.len() {
            assert_ne!(epochs[i], epochs[j], "epochs {i} and {j}");
        }
    }
}

#[test]
fn with_replacement_draws_every_row_about_equally_often() {
    // 100 epochs of 10 draws: each row is drawn Binomial(1000, 1/10) times,
    // 100 +- 9.5; [60, 140] is more than 4 standard deviations wide.
    let mut b = Batcher::new(10, 3)
        .unwrap()
        .order(BatchOrder::WithReplacement)
        .seed(5);
    let mut counts = [0usize; 10];
    for e in 0..100 {
        for i in epoch_batches(&mut b, e).concat() {
            counts[i] += 1;
        }
    }
    assert!(counts.iter().all(|c| (60..=140).contains(c)), "{counts:?}");
}

#[test]
fn full_batch_is_one_batch_of_all_rows() {
    let mut b = Batcher::full_batch(25);
    assert_eq!(epoch_batches(&mut b, 0), vec![(0..25).collect::<Vec<_>>()]);
    let mut b = Batcher::new(25, 1000).unwrap();
    assert_eq!(b.epoch(1).count(), 1);
}

// ---- IDX ----

fn mnist_like(dir: &TempDir, n_images: usize, n_labels: usize) -> (PathBuf, PathBuf) {
    let pixels: Vec<u8> = (0..n_images * 6).map(|k| (k * 51 % 256) as u8).collect();
    let labels: Vec<u8> = (0..n_labels).map(|k| (k % 10) as u8).collect();
    let (mut ib, mut lb) = (Vec::new(), Vec::new());
    write_idx(
        &mut ib,
        &IdxArray {
            dims: vec![n_images, 2, 3],
            data: IdxData::U8(pixels),
        },
    )
    .unwrap();
    write_idx(
        &mut lb,
        &IdxArray {
            dims: vec![n_labels],
            data: IdxData::U8(labels),
        },
    )
    .unwrap();
    (
        dir.write("images-idx3-ubyte", &ib),
        dir.write("labels-idx1-ubyte", &lb),
    )
}

#[test]
fn idx_round_trip_through_files_gives_mnist_dataset() {
    let dir = TempDir::new("idx");
    let (ip, lp) = mnist_like(&dir, 4, 4);
    let raw = load_idx_images::<f64>(&ip).unwrap();
    assert_eq!((raw.rows(), raw.cols()), (4, 6));
    assert_eq!(
        &raw.as_slice()[..6],
        &[0.0, 51.0, 102.0, 153.0, 204.0, 255.0]
    );
    assert_eq!(load_idx_labels(&lp).unwrap(), vec![0, 1, 2, 3]);
    let d = load_mnist::<f32>(&ip, &lp).unwrap();
    assert_eq!((d.len(), d.n_features(), d.n_classes()), (4, 6, Some(10)));
    assert_eq!(
        &d.features().as_slice()[..6],
        &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    );
    assert!(d
        .features()
        .as_slice()
        .iter()
        .all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn idx_bad_magic_is_rejected() {
    let dir = TempDir::new("magic");
    let path = dir.write("bad", &[1, 2, 8, 1, 0, 0, 0, 1, 7]);
    let e = load_idx_labels(&path).unwrap_err();
    assert!(
        matches!(e, DataError::Idx { ref reason, .. } if reason.contains("bad magic number 0x01020801")),
        "{e}"
    );
}

#[test]
fn idx_unknown_type_code_is_rejected() {
    let dir = TempDir::new("code");
    let path = dir.write("bad", &[0, 0, 0x07, 1, 0, 0, 0, 1, 7]);
    let e = load_idx_labels(&path).unwrap_err();
    assert!(e.to_string().contains("unknown type code 0x07"), "{e}");
}

#[test]
fn idx_truncated_data_reports_expected_and_got_bytes() {
    let dir = TempDir::new("trunc");
    let (ip, _) = mnist_like(&dir, 3, 3);
    let bytes = std::fs::read(&ip).unwrap();
    let cut = dir.write("cut", &bytes[..bytes.len() - 5]);
    let e = load_idx_images::<f64>(&cut).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Truncated {
                part: "data",
                expected: 18,
                got: 13,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: truncated data: expected 18 bytes, got 13",
            cut.display()
        )
    );
}

#[test]
fn idx_image_and_label_count_mismatch_is_rejected() {
    let dir = TempDir::new("count");
    let (ip, lp) = mnist_like(&dir, 3, 2);
    let e = load_mnist::<f64>(&ip, &lp).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::CountMismatch {
                images: 3,
                labels: 2,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn idx_label_above_9_is_rejected_by_load_mnist() {
    let dir = TempDir::new("label");
    let (ip, _) = mnist_like(&dir, 2, 2);
    let mut lb = Vec::new();
    write_idx(
        &mut lb,
        &IdxArray {
            dims: vec![2],
            data: IdxData::U8(vec![3, 10]),
        },
    )
    .unwrap();
    let lp = dir.write("labels", &lb);
    let e = load_mnist::<f64>(&ip, &lp).unwrap_err();
    assert!(
        matches!(e, DataError::Idx { ref path, ref reason } if path.ends_with("labels") && reason.contains("label 1 is 10")),
        "{e:?}"
    );
}

#[test]
fn load_mnist_with_the_two_files_swapped_names_the_images_file() {
    let dir = TempDir::new("swapped");
    let (ip, lp) = mnist_like(&dir, 2, 2);
    let e = load_mnist::<f64>(&lp, &ip).unwrap_err();
    assert!(
        matches!(e, DataError::Idx { ref path, ref reason } if path.ends_with("labels-idx1-ubyte") && reason.contains("a labels file?")),
        "{e}"
    );
}

#[test]
fn idx_missing_file_is_an_io_error_naming_the_path() {
    let dir = TempDir::new("idxmissing");
    let e = load_idx_images::<f32>(dir.0.join("absent")).unwrap_err();
    assert!(
        matches!(e, DataError::Io { ref path, .. } if path.ends_with("absent")),
        "{e:?}"
    );
}

// ---- synthetic ----

#[test]
fn generators_have_the_stated_shapes() {
    let s = data::two_spirals::<f64>(50, 0.05, 1).unwrap();
    assert_eq!(
        (s.len(), s.n_features(), s.n_classes(), s.class_counts()),
        (100, 2, Some(2), Some(vec![50, 50]))
    );
    let x = data::xor::<f32>(80, 0.1, 1).unwrap();
    assert_eq!((x.len(), x.n_features(), x.n_classes()), (80, 2, Some(2)));
    let r = data::noisy_sine::<f64>(30, 0.1, 1).unwrap();
    assert_eq!(
        (r.len(), r.n_features(), r.n_classes(), r.n_outputs()),
        (30, 1, None, 1)
    );
    assert!(r
        .features()
        .as_slice()
        .iter()
        .all(|x| x.abs() <= std::f64::consts::PI));
}

#[test]
fn generators_are_determined_by_the_seed() {
    assert_eq!(
        data::two_spirals::<f64>(20, 0.1, 4).unwrap(),
        data::two_spirals::<f64>(20, 0.1, 4).unwrap()
    );
    assert_ne!(
        data::two_spirals::<f64>(20, 0.1, 4).unwrap(),
        data::two_spirals::<f64>(20, 0.1, 5).unwrap()
    );
    assert_eq!(
        data::xor::<f32>(20, 0.1, 4).unwrap(),
        data::xor::<f32>(20, 0.1, 4).unwrap()
    );
    assert_ne!(
        data::xor::<f32>(20, 0.1, 4).unwrap(),
        data::xor::<f32>(20, 0.1, 5).unwrap()
    );
    assert_eq!(
        data::noisy_sine::<f64>(20, 0.1, 4).unwrap(),
        data::noisy_sine::<f64>(20, 0.1, 4).unwrap()
    );
    assert_ne!(
        data::noisy_sine::<f64>(20, 0.1, 4).unwrap(),
        data::noisy_sine::<f64>(20, 0.1, 5).unwrap()
    );
}

#[test]
fn generators_agree_across_float_types() {
    let a = data::two_spirals::<f32>(10, 0.1, 8).unwrap().to_f64();
    let b = data::two_spirals::<f64>(10, 0.1, 8).unwrap();
    let close = a
        .features()
        .as_slice()
        .iter()
        .zip(b.features().as_slice())
        .all(|(x, y)| (x - y).abs() < 1e-6);
    assert!(close && a.labels() == b.labels());
}

#[test]
fn idx_to_matrix_of_inconsistent_dimensions_is_a_typed_error() {
    let bad = [
        IdxArray {
            dims: vec![3, 2],
            data: IdxData::U8(vec![1, 2]),
        },
        IdxArray {
            dims: vec![],
            data: IdxData::U8(vec![]),
        },
        IdxArray {
            dims: vec![usize::MAX, 3],
            data: IdxData::U8(vec![1, 2, 3]),
        },
    ];
    for a in &bad {
        match data::idx_to_matrix::<f32>(a, "m.idx") {
            Err(DataError::Idx { path, .. }) => assert_eq!(path, "m.idx"),
            other => panic!("dims {:?}: expected an Idx error, got {other:?}", a.dims),
        }
    }
}

#[test]
fn scalers_refuse_to_produce_non_finite_features_and_change_nothing() {
    // The span of this column overflows f32.
    let x = Matrix::new(2, 1, vec![-3e38f32, 3e38]).unwrap();
    let d = Dataset::classification(x.clone(), vec![0, 1], 2).unwrap();
    let mm = data::MinMaxScaler::fit_dataset(&d).unwrap();
    assert!(matches!(
        mm.transform_dataset(d),
        Err(DataError::NonFinite {
            row: 1,
            column: 0,
            ..
        })
    ));
    let mut m = x.clone();
    assert!(mm.transform_in_place(&mut m).is_err());
    assert_eq!(m.as_slice(), x.as_slice(), "nothing changed on error");
    // A tiny fitted std divides a far value to infinity.
    let fit = Matrix::new(2, 1, vec![0.0f32, 1e-30]).unwrap();
    let st = Standardizer::fit(&fit).unwrap();
    let far = Matrix::new(1, 1, vec![3e38f32]).unwrap();
    assert!(matches!(
        st.transform(&far),
        Err(DataError::NonFinite { .. })
    ));
}
