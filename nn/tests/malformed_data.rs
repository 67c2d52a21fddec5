//! Property tests of the data readers on corrupted files: IDX arrays
//! written by `write_idx` and CSV text of generated data sets, truncated,
//! flipped, overwritten, grown, given huge dimensions or hostile cells.
//! Every reader (`read_idx`, `idx_to_matrix`, `idx_to_labels`,
//! `load_mnist`, `read_csv`) must return `Ok` or a typed `DataError`: never
//! panic, never abort on an allocation.

use nn::data::{
    idx_to_labels, idx_to_matrix, load_mnist, read_csv, read_idx, write_idx, CsvOptions, DataError,
    Dataset, IdxArray, IdxData, TargetKind, MAX_COUNTED_CLASSES,
};
use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;
use common::TempDir;

const SOURCE: &str = "corrupt.idx";

fn idx_bytes(a: &IdxArray) -> Vec<u8> {
    let mut v = Vec::new();
    write_idx(&mut v, a).unwrap();
    v
}

/// A valid array of each type code, of 1 to 3 dimensions.
fn arrays() -> Vec<IdxArray> {
    let n = 12_u8;
    let data = [
        IdxData::U8((0..n).map(|i| i * 21).collect()),
        IdxData::I8((0..n).map(|i| i as i8 - 6).collect()),
        IdxData::I16((0..n).map(|i| i16::from(i) * -300).collect()),
        IdxData::I32((0..n).map(|i| i32::from(i) * 70_000 - 1).collect()),
        IdxData::F32((0..n).map(|i| f32::from(i) * 0.25 - 1.0).collect()),
        IdxData::F64((0..n).map(|i| f64::from(i) / 3.0).collect()),
    ];
    let dims = [vec![12], vec![3, 4], vec![3, 2, 2]];
    let mut out = Vec::new();
    for (k, data) in data.into_iter().enumerate() {
        out.push(IdxArray {
            dims: dims[k % 3].clone(),
            data,
        });
    }
    // MNIST's own layout: u8 images n x rows x cols, u8 labels n.
    out.push(IdxArray {
        dims: vec![2, 2, 3],
        data: IdxData::U8(vec![0, 255, 128, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    });
    out.push(IdxArray {
        dims: vec![2],
        data: IdxData::U8(vec![7, 0]),
    });
    out
}

fn header_len(a: &IdxArray) -> usize {
    4 + 4 * a.dims.len()
}

/// Checks what `read_idx` made of `bytes`: a typed error naming the
/// source, or an array that `write_idx` turns back into exactly `bytes`
/// (nothing was skipped, guessed or left over); then the conversions to a
/// matrix and to labels, which must be `Ok` or typed errors too, and
/// return only finite values and labels as stored.
fn check_idx(bytes: &[u8]) -> Result<IdxArray, DataError> {
    let result = read_idx(bytes, SOURCE);
    match &result {
        Ok(a) => {
            assert_eq!(idx_bytes(a), bytes, "read {a:?}");
            match idx_to_matrix::<f32>(a, SOURCE) {
                Ok(m) => {
                    assert_eq!(m.rows(), a.dims[0]);
                    assert!(m.as_slice().iter().all(|x| x.is_finite()));
                }
                Err(e) => assert!(matches!(e, DataError::Idx { .. }), "{e:?}"),
            }
            match idx_to_labels(a, SOURCE) {
                Ok(l) => {
                    assert_eq!(l.len(), a.data.len());
                    for (i, &l) in l.iter().enumerate() {
                        assert_eq!(l as f64, a.data.get_f64(i));
                    }
                }
                Err(e) => assert!(matches!(e, DataError::Idx { .. }), "{e:?}"),
            }
        }
        Err(e) => {
            assert!(
                matches!(e, DataError::Idx { .. } | DataError::Truncated { .. }),
                "{e:?}"
            );
            assert!(e.to_string().starts_with(SOURCE), "{e}");
        }
    }
    result
}

#[test]
fn truncated_idx_is_a_truncated_error_naming_both_lengths_at_every_length() {
    for a in arrays() {
        let bytes = idx_bytes(&a);
        let header = header_len(&a);
        for len in 0..bytes.len() {
            let e = check_idx(&bytes[..len]).unwrap_err();
            let (part, expected, got) = match len {
                l if l < 4 => ("header", 4, l),
                l if l < header => ("header", header, l),
                l => ("data", bytes.len() - header, l - header),
            };
            assert!(
                matches!(
                    e,
                    DataError::Truncated { part: p, expected: x, got: g, .. }
                        if p == part && x == expected as u64 && g == got as u64
                ),
                "{:?} cut at {len}: {e:?}",
                a.dims
            );
        }
    }
}

#[test]
fn huge_idx_dimensions_are_refused_before_allocating() {
    let max = u32::MAX.to_be_bytes();
    for (code, ndims) in [(0x08u8, 1usize), (0x0E, 2), (0x0D, 3), (0x08, 255)] {
        let mut b = vec![0, 0, code, ndims as u8];
        for _ in 0..ndims {
            b.extend_from_slice(&max);
        }
        b.extend_from_slice(&[1, 2, 3, 4]);
        let e = check_idx(&b).unwrap_err();
        // What the dimensions announce is compared to what the file holds
        // (4 bytes): a product beyond u64 is named as an overflow.
        match e {
            DataError::Truncated {
                part: "data",
                expected,
                got: 4,
                ..
            } => assert!(expected >= u64::from(u32::MAX), "{expected}"),
            DataError::Idx { ref reason, .. } => {
                assert!(reason.contains("overflow"), "{reason}")
            }
            e => panic!("{ndims} dimensions of 2^32 - 1: {e:?}"),
        }
    }
}

/// The single-byte changes of a valid IDX file that leave it valid: a type
/// code changed to another of the same element size.
fn same_size_codes(old: u8, new: u8) -> bool {
    let size = |c| match c {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        _ => 0,
    };
    size(old) != 0 && size(old) == size(new)
}

/// Applies `edits` to `b` in order: kind 0 overwrites the byte at the
/// picked position, 1 inserts one there, 2 removes the byte there (each
/// position picked among `0..=len`, so the end is reachable: an overwrite
/// or a removal there appends instead).
fn apply_edits(b: &mut Vec<u8>, edits: &[(u8, prop::sample::Index, u8)]) {
    for &(kind, ref pick, byte) in edits {
        let at = pick.index(b.len() + 1);
        match kind {
            0 if at < b.len() => b[at] = byte,
            1 => b.insert(at, byte),
            _ if at < b.len() => {
                b.remove(at);
            }
            _ => b.push(byte),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// One byte changed: in the data it reads back as written; a type
    /// code reads only as one of the same element size; anything else is
    /// a typed error or another valid file.
    #[test]
    fn a_flipped_idx_byte_reads_back_as_written_or_is_a_typed_error(
        which in any::<prop::sample::Index>(),
        pick in any::<prop::sample::Index>(),
        mask in 1u8..,
    ) {
        let arrays = arrays();
        let a = which.get(&arrays);
        let mut b = idx_bytes(a);
        let at = pick.index(b.len());
        b[at] ^= mask;
        let read = check_idx(&b);
        // (Elsewhere in the header a change can give another valid file,
        // e.g. more dimensions, one of them 0, over the former data: then
        // it writes back to exactly these bytes, as `check_idx` checks.)
        if at >= header_len(a) {
            prop_assert!(read.is_ok(), "data byte {at}: {read:?}");
        } else if at == 2 && read.is_ok() {
            prop_assert!(same_size_codes(b[2] ^ mask, b[2]), "type code {:#04x}: {read:?}", b[2]);
        }
    }

    /// Bytes overwritten, inserted or removed anywhere: an array that
    /// writes back to exactly the bytes read, or a typed error.
    #[test]
    fn a_rewritten_grown_or_shrunk_idx_file_reads_back_as_written_or_is_a_typed_error(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec(
            (0u8..3, any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let arrays = arrays();
        let mut b = idx_bytes(which.get(&arrays));
        apply_edits(&mut b, &edits);
        check_idx(&b).ok();
    }

    /// MNIST from two corrupted files: a data set of images in [0, 1] and
    /// labels below 10, one per image, or a typed error.
    #[test]
    fn corrupted_mnist_files_load_as_mnist_or_give_a_typed_error(
        edits in prop::collection::vec((any::<bool>(), any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let arrays = arrays();
        let mut files = [idx_bytes(&arrays[6]), idx_bytes(&arrays[7])];
        for (labels, pick, byte) in edits {
            let f = &mut files[usize::from(labels)];
            let at = pick.index(f.len());
            f[at] = byte;
        }
        // New names each case, removed after: truncating a just-written
        // file to rewrite it makes ext4 flush it (auto_da_alloc).
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let d = SCRATCH.with(|dir| {
            let images = dir.write(&format!("images{n}.idx"), &files[0]);
            let labels = dir.write(&format!("labels{n}.idx"), &files[1]);
            let d = load_mnist::<f32>(&images, &labels);
            std::fs::remove_file(images).unwrap();
            std::fs::remove_file(labels).unwrap();
            d
        });
        match d {
            Ok(d) => {
                prop_assert_eq!(d.n_classes(), Some(10));
                prop_assert!(d.features().as_slice().iter().all(|x| (0.0..=1.0).contains(x)));
                prop_assert!(d.labels().unwrap().iter().all(|&l| l < 10));
            }
            Err(e) => prop_assert!(
                matches!(
                    e,
                    DataError::Idx { .. } | DataError::Truncated { .. } | DataError::CountMismatch { .. }
                ),
                "{:?}", e
            ),
        }
    }
}

thread_local! {
    /// One directory per test thread for the files under test.
    static SCRATCH: TempDir = TempDir::new("scratch");
}

// ---------------------------------------------------------------- CSV

/// A CSV file of a data set: its text, and where each cell is (1-based
/// line and column).
#[derive(Clone, Debug)]
struct Csv {
    rows: Vec<Vec<String>>,
    header: bool,
    delimiter: u8,
    crlf: bool,
}

impl Csv {
    fn text(&self) -> String {
        let d = (self.delimiter as char).to_string();
        let end = if self.crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        if self.header {
            let names: Vec<String> = (0..self.rows[0].len()).map(|j| format!("c{j}")).collect();
            out += &names.join(&d);
            out += end;
        }
        for r in &self.rows {
            out += &r.join(&d);
            out += end;
        }
        out
    }

    fn options(&self) -> CsvOptions {
        CsvOptions::default()
            .header(self.header)
            .delimiter(self.delimiter)
    }

    /// The 1-based line of data row `r`.
    fn line(&self, r: usize) -> usize {
        r + 1 + usize::from(self.header)
    }
}

/// Valid CSV text: 1 to 6 rows of 1 to 4 finite features, as Rust prints
/// them, and a class label last.
fn csv() -> impl Strategy<Value = Csv> {
    (1usize..5, 1usize..7).prop_flat_map(|(features, rows)| {
        let feature = prop_oneof![
            any::<i32>().prop_map(|x| x.to_string()),
            (-1e6f64..1e6).prop_map(|x| format!("{x:?}")),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(|x| format!("{x:e}")),
        ];
        let row =
            (prop::collection::vec(feature, features), 0usize..5).prop_map(|(mut cells, label)| {
                cells.push(label.to_string());
                cells
            });
        (
            prop::collection::vec(row, rows),
            any::<bool>(),
            prop::sample::select(vec![b',', b';', b'\t']),
            any::<bool>(),
        )
            .prop_map(|(rows, header, delimiter, crlf)| Csv {
                rows,
                header,
                delimiter,
                crlf,
            })
    })
}

/// Checks what `read_csv` made of `text`: a data set whose features are
/// finite and whose labels fit its classes, or a typed error naming the
/// source.
fn check_csv(text: &[u8], opts: &CsvOptions) -> Result<Dataset<f64>, DataError> {
    let result = read_csv::<f64>(text, "corrupt.csv", opts);
    match &result {
        Ok(d) => {
            assert!(!d.is_empty());
            assert!(d.features().as_slice().iter().all(|x| x.is_finite()));
            if let (Some(labels), Some(k)) = (d.labels(), d.n_classes()) {
                assert!(labels.iter().all(|&l| l < k), "{labels:?} for {k} classes");
            }
        }
        Err(e) => {
            // Nothing can fail to be read from memory: bytes that are not
            // UTF-8 are named as such, with their line.
            assert!(!matches!(e, DataError::Io { .. }), "{e:?}");
            assert!(e.to_string().starts_with("corrupt.csv:"), "{e}");
        }
    }
    // (f32 has its own overflow path.)
    match read_csv::<f32>(text, "corrupt.csv", opts) {
        Ok(d) => assert!(d.features().as_slice().iter().all(|x| x.is_finite())),
        Err(e) => assert!(e.to_string().starts_with("corrupt.csv"), "{e}"),
    }
    result
}

/// Cells that are not a finite number, or not a class label, or are one
/// only just.
const HOSTILE_CELLS: [&str; 26] = [
    "",
    " ",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "infinity",
    "1e400",
    "-1e400",
    "1e-400",
    "1e39",
    "-1",
    "-0",
    "+1",
    "0x10",
    "1_000",
    "1.5",
    "9007199254740992",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "1e300",
    "\u{feff}1",
    "\u{0661}",
    "\u{fffd}",
    "\"1\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The text cut anywhere: what is left reads as a data set or gives a
    /// typed error.
    #[test]
    fn truncated_csv_reads_as_fewer_rows_or_is_a_typed_error(
        csv in csv(),
        cut in any::<prop::sample::Index>(),
    ) {
        let text = csv.text();
        let len = cut.index(text.len());
        if let Ok(d) = check_csv(&text.as_bytes()[..len], &csv.options()) {
            prop_assert!(d.len() <= csv.rows.len());
        }
    }

    /// Bytes overwritten (with delimiters, line ends, signs, letters of
    /// NaN and inf, bytes that are not UTF-8), inserted or removed: a data
    /// set or a typed error.
    #[test]
    fn a_rewritten_csv_reads_as_a_valid_data_set_or_is_a_typed_error(
        csv in csv(),
        edits in prop::collection::vec((0u8..3, any::<prop::sample::Index>(), prop_oneof![
            prop::sample::select(b",;\t\n\r -+.eE0123456789naifNAIF".to_vec()),
            any::<u8>(),
        ]), 1..6),
    ) {
        let mut b = csv.text().into_bytes();
        apply_edits(&mut b, &edits);
        check_csv(&b, &csv.options()).ok();
    }

    /// One cell replaced by a hostile string: a data set, or an error that
    /// points at that cell's line and column (or at its row's field count).
    #[test]
    fn a_hostile_csv_cell_is_read_or_named_by_line_and_column(
        csv in csv(),
        which in any::<(prop::sample::Index, prop::sample::Index)>(),
        cell in prop::sample::select(HOSTILE_CELLS.to_vec()),
        regression in any::<bool>(),
    ) {
        let mut csv = csv;
        let r = which.0.index(csv.rows.len());
        let c = which.1.index(csv.rows[r].len());
        csv.rows[r][c] = cell.to_string();
        let label = csv.rows[r].len() - 1;
        let opts = if regression {
            csv.options().targets(TargetKind::Values)
        } else {
            csv.options()
        };
        let (line, column) = (csv.line(r), c + 1);
        match check_csv(csv.text().as_bytes(), &opts) {
            Ok(d) => {
                // Read as the number it is.
                let v: f64 = if c == label && !regression {
                    d.labels().unwrap()[r] as f64
                } else if c == label {
                    d.values().unwrap().as_slice()[r]
                } else {
                    d.features().as_slice()[r * label + c]
                };
                // (A byte order mark opening the file is not part of it.)
                let want: f64 = cell.trim_start_matches('\u{feff}').trim().parse().unwrap();
                prop_assert_eq!(v, want, "{:?}", cell);
            }
            Err(e) => {
                let at = match e {
                    DataError::BadValue { line, column, .. }
                    | DataError::BadLabel { line, column, .. }
                    | DataError::Overflow { line, column, .. }
                    | DataError::LabelTooLarge { line, column, .. }
                    | DataError::LabelTooLargeToCount { line, column, .. } => Some((line, column)),
                    DataError::Ragged { line, .. } => Some((line, 0)),
                    _ => None,
                };
                prop_assert!(
                    at == Some((line, column)) || at == Some((line, 0)),
                    "{:?} at line {} column {}: {:?}", cell, line, column, e
                );
            }
        }
    }
}

#[test]
fn mnist_images_of_another_type_than_u8_are_refused_not_scaled_out_of_range() {
    // A type code changed from u8 to i8 (one byte) loaded pixel 255 as
    // -1 / 255.
    let arrays = arrays();
    let mut images = idx_bytes(&arrays[6]);
    images[2] = 0x09;
    let e = SCRATCH.with(|dir| {
        let images = dir.write("i8-images.idx", &images);
        let labels = dir.write("i8-labels.idx", &idx_bytes(&arrays[7]));
        load_mnist::<f32>(&images, &labels).map(|_| ()).unwrap_err()
    });
    assert!(
        e.to_string().ends_with(
            "not a valid IDX file: MNIST images have type code 0x08 (u8 pixels 0..=255), \
             found type code 0x09"
        ),
        "{e}"
    );
}

#[test]
fn a_largest_usize_label_is_a_typed_error_not_an_overflow_when_counting_the_classes() {
    // Counting the classes as the largest label + 1 overflowed (a panic in
    // debug builds).
    let text = "0.5,1\n0.25,18446744073709551615\n";
    let e = read_csv::<f64>(text.as_bytes(), "t.csv", &CsvOptions::default())
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(
            e,
            DataError::LabelTooLargeToCount {
                line: 2,
                column: 2,
                label: usize::MAX,
                max: MAX_COUNTED_CLASSES,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_csv_label_of_10_to_the_14_splits_stratified_without_a_list_per_class() {
    // 10^14 classes (named: counted, such a label is refused).
    // split_stratified kept a list for each and aborted the process
    // (memory allocation of 2.4 PB failed).
    let text = "0.5,99999999999999\n0.1,0\n0.2,0\n";
    let opts = CsvOptions::default().targets(TargetKind::Classes {
        n_classes: Some(100_000_000_000_000),
    });
    let d = read_csv::<f64>(text.as_bytes(), "t.csv", &opts).unwrap();
    assert_eq!(d.n_classes(), Some(100_000_000_000_000));
    let (train, test) = d.split_stratified(0.5, 1).unwrap();
    assert_eq!((train.len(), test.len()), (1, 2));
}
