//! A small CSV reader for numeric data sets.
//!
//! Fields are separated by a one-byte delimiter and trimmed; blank lines are
//! skipped; `\n` and `\r\n` line ends are accepted. Quoted fields are not
//! supported (numeric data has no need for them).

use super::dataset::{Dataset, Targets};
use super::error::{DataError, Result};
use autodiff::{Float, Matrix};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Which column holds the targets.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// The column of this 0-based index.
    Index(usize),
    /// The column of this header name (needs [`CsvOptions::has_header`]).
    Name(String),
    /// The last column (the default).
    #[default]
    Last,
    /// No target column: every column is a feature, and the data set's
    /// targets are a matrix of zero columns.
    None,
}

/// The labels a CSV file's classes are counted from (`n_classes: None`)
/// stay below this, 2^20: a label past it is more likely a stray value (a
/// feature in the label column, a typo) than a class, and the count is
/// allocated per class downstream (class counts, the confusion matrix, the
/// network's output layer). Name the number of classes to read more.
pub const MAX_COUNTED_CLASSES: usize = 1 << 20;

/// What the target column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// Class labels, integers `>= 0` (the default). With `n_classes: None`
    /// the number of classes is the largest label plus one (a label of
    /// [`MAX_COUNTED_CLASSES`] or more is an error); with `Some(k)`, a label
    /// `>= k` is an error.
    Classes {
        /// The number of classes, if known.
        n_classes: Option<usize>,
    },
    /// A real value (regression): the targets are a one-column matrix.
    Values,
}

impl Default for TargetKind {
    fn default() -> Self {
        TargetKind::Classes { n_classes: None }
    }
}

/// How to read a CSV file.
///
/// ```
/// use nn::data::{CsvOptions, LabelColumn};
/// let opts = CsvOptions::default().header(true).delimiter(b';').label(LabelColumn::Name("y".into()));
/// assert!(opts.has_header);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first non-blank line is a header of column names
    /// (default `false`).
    pub has_header: bool,
    /// The field separator (default `b','`): an ASCII byte that is not a
    /// letter, a digit, `.`, `+`, `-`, `"` or a line ending ([`read_csv`]
    /// refuses others).
    pub delimiter: u8,
    /// The target column (default: the last).
    pub label: LabelColumn,
    /// What the target column holds (default: class labels).
    pub targets: TargetKind,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            has_header: false,
            delimiter: b',',
            label: LabelColumn::Last,
            targets: TargetKind::default(),
        }
    }
}

impl CsvOptions {
    /// Sets [`CsvOptions::has_header`].
    pub fn header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }

    /// Sets [`CsvOptions::delimiter`].
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets [`CsvOptions::label`].
    pub fn label(mut self, label: LabelColumn) -> Self {
        self.label = label;
        self
    }

    /// Sets [`CsvOptions::targets`].
    pub fn targets(mut self, targets: TargetKind) -> Self {
        self.targets = targets;
        self
    }
}

/// Reads a data set from the CSV file at `path`.
///
/// # Errors
/// [`DataError::Io`] (naming the path) if the file cannot be opened or read;
/// otherwise as [`read_csv`].
pub fn load_csv<T: Float>(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset<T>> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: name.clone(),
        source,
    })?;
    read_csv(file, &name, opts)
}

/// Reads a data set from CSV text; `source_name` names the source in errors.
///
/// # Errors
/// [`DataError::Io`] if reading fails; [`DataError::NotUtf8`] for a line
/// that is not UTF-8;
/// [`DataError::Empty`] without data rows; [`DataError::Ragged`] for a row
/// whose field count differs from the first row's;
/// [`DataError::BadValue`] for a feature (or real target) that is not a
/// finite number, [`DataError::Overflow`] for one that is but overflows `T`
/// (`1e40` as `f32`); [`DataError::BadLabel`] for a class label that is not an
/// integer `>= 0`; [`DataError::LabelTooLarge`] for one not below the
/// given number of classes, [`DataError::LabelTooLargeToCount`] for one of
/// [`MAX_COUNTED_CLASSES`] or more when they are counted; [`DataError::UnknownColumn`],
/// [`DataError::NoHeader`], [`DataError::LabelColumnOutOfRange`] for a label
/// column that cannot be found, [`DataError::AmbiguousColumn`] for a label
/// column named by a name the header gives more than one column;
/// [`DataError::BadDelimiter`] for a delimiter that is not ASCII, or is a
/// letter, a digit, `.`, `+`, `-`, `"` or a line ending.
pub fn read_csv<T: Float>(
    reader: impl Read,
    source_name: &str,
    opts: &CsvOptions,
) -> Result<Dataset<T>> {
    let mut reader = BufReader::new(reader);
    let path = || source_name.to_string();
    let mut line = Vec::new();
    let mut line_no = 0;
    let mut width = None; // fields per row, from the header or the first row
    let mut label_col = None; // resolved target column
    let mut header: Option<Vec<String>> = None;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut values = Vec::new();
    let mut rows = 0;
    let delim = opts.delimiter as char;
    // A delimiter that could be part of a number (or of a label name) would
    // split cells into confusing errors; one above 127 is not a character.
    if !delim.is_ascii()
        || delim.is_ascii_alphanumeric()
        || matches!(delim, '.' | '+' | '-' | '"' | '\n' | '\r')
    {
        return Err(DataError::BadDelimiter {
            byte: opts.delimiter,
        });
    }
    loop {
        line.clear();
        // Bytes, then UTF-8: `read_line` refuses a line that is not UTF-8
        // with an I/O error that says neither where nor what.
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| DataError::Io {
                path: path(),
                source,
            })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let line = std::str::from_utf8(&line).map_err(|e| DataError::NotUtf8 {
            path: path(),
            line: line_no,
            offset: e.valid_up_to() + 1,
            byte: line[e.valid_up_to()],
        })?;
        let mut text = line.trim_end_matches(['\n', '\r']);
        if line_no == 1 {
            // A UTF-8 byte order mark (as spreadsheet programs write) is not
            // part of the first field.
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        if text.trim().is_empty() {
            continue;
        }
        let got = text.split(delim).count();
        let expected = *width.get_or_insert(got);
        if got != expected {
            return Err(DataError::Ragged {
                path: path(),
                line: line_no,
                expected,
                got,
            });
        }
        if opts.has_header && header.is_none() {
            header = Some(text.split(delim).map(|s| s.trim().to_string()).collect());
            continue;
        }
        let col = match label_col {
            Some(c) => c,
            None => *label_col.insert(resolve_label(
                &opts.label,
                header.as_deref(),
                got,
                source_name,
            )?),
        };
        for (j, field) in text.split(delim).enumerate() {
            let field = field.trim();
            // The cell as a number of `T`: not one, or one `T` cannot hold.
            let number = || {
                parse_value::<T>(field).map_err(|overflow| match overflow {
                    None => DataError::BadValue {
                        path: path(),
                        line: line_no,
                        column: j + 1,
                        text: field.to_string(),
                    },
                    Some((ty, max)) => DataError::Overflow {
                        path: path(),
                        line: line_no,
                        column: j + 1,
                        text: field.to_string(),
                        ty,
                        max,
                    },
                })
            };
            if Some(j) == col {
                match opts.targets {
                    TargetKind::Classes { n_classes } => {
                        let label = parse_label(field).ok_or_else(|| DataError::BadLabel {
                            path: path(),
                            line: line_no,
                            column: j + 1,
                            text: field.to_string(),
                        })?;
                        match n_classes {
                            Some(classes) if label >= classes => {
                                return Err(DataError::LabelTooLarge {
                                    path: path(),
                                    line: line_no,
                                    column: j + 1,
                                    label,
                                    classes,
                                });
                            }
                            None if label >= MAX_COUNTED_CLASSES => {
                                return Err(DataError::LabelTooLargeToCount {
                                    path: path(),
                                    line: line_no,
                                    column: j + 1,
                                    label,
                                    max: MAX_COUNTED_CLASSES,
                                });
                            }
                            _ => {}
                        }
                        labels.push(label);
                    }
                    TargetKind::Values => values.push(number()?),
                }
            } else {
                features.push(number()?);
            }
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(DataError::Empty { path: path() });
    }
    let n_features = width.unwrap_or(0) - usize::from(label_col.flatten().is_some());
    let features = Matrix::new(rows, n_features, features).expect("rows of equal width");
    let targets = match (label_col.flatten(), opts.targets) {
        (None, _) => Targets::Values(Matrix::zeros(rows, 0)),
        (Some(_), TargetKind::Classes { n_classes }) => {
            let n_classes = n_classes.unwrap_or_else(|| labels.iter().max().map_or(0, |m| m + 1));
            Targets::Classes { labels, n_classes }
        }
        (Some(_), TargetKind::Values) => {
            Targets::Values(Matrix::new(rows, 1, values).expect("one value per row"))
        }
    };
    Dataset::new(features, targets)
}

/// The 0-based target column, or `None` for no target column.
fn resolve_label(
    label: &LabelColumn,
    header: Option<&[String]>,
    fields: usize,
    path: &str,
) -> Result<Option<usize>> {
    match label {
        LabelColumn::None => Ok(None),
        LabelColumn::Last => Ok(Some(fields - 1)),
        LabelColumn::Index(i) if *i < fields => Ok(Some(*i)),
        LabelColumn::Index(i) => Err(DataError::LabelColumnOutOfRange {
            path: path.to_string(),
            index: *i,
            fields,
        }),
        LabelColumn::Name(name) => {
            let Some(header) = header else {
                return Err(DataError::NoHeader {
                    path: path.to_string(),
                    name: name.clone(),
                });
            };
            let columns: Vec<usize> = (0..header.len()).filter(|&i| header[i] == *name).collect();
            match columns[..] {
                [i] => Ok(Some(i)),
                [] => Err(DataError::UnknownColumn {
                    path: path.to_string(),
                    name: name.clone(),
                    header: header.to_vec(),
                }),
                _ => Err(DataError::AmbiguousColumn {
                    path: path.to_string(),
                    name: name.clone(),
                    columns,
                }),
            }
        }
    }
}

/// A finite number, rounded to `T`; the error is `Some((T's name, T's
/// largest value))` for a number finite in `f64` that overflows `T`.
fn parse_value<T: Float>(field: &str) -> Result<T, Option<(&'static str, f64)>> {
    let x = field.parse::<f64>().map_err(|_| None)?;
    let v = T::from_f64(x);
    if v.is_finite() {
        Ok(v)
    } else if x.is_finite() {
        // (Float is f32 or f64.)
        let max = if std::mem::size_of::<T>() == 4 {
            f32::MAX as f64
        } else {
            f64::MAX
        };
        Err(Some((std::any::type_name::<T>(), max)))
    } else {
        Err(None)
    }
}

/// An integer `>= 0`, written as such (`7`) or as an integral float (`7.0`).
fn parse_label(field: &str) -> Option<usize> {
    if let Ok(l) = field.parse::<usize>() {
        return Some(l);
    }
    let v = field.parse::<f64>().ok()?;
    (v >= 0.0 && v.fract() == 0.0 && v < 2f64.powi(53)).then_some(v as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, opts: &CsvOptions) -> Result<Dataset<f64>> {
        read_csv(text.as_bytes(), "t.csv", opts)
    }

    #[test]
    fn crlf_blank_lines_and_spaces_are_accepted() {
        let d = read("1, 2 ,0\r\n\r\n  \n3,4,1\r\n", &CsvOptions::default()).unwrap();
        assert_eq!(d.features().as_slice(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d.labels(), Some(&[0, 1][..]));
        assert_eq!(d.n_classes(), Some(2));
    }

    #[test]
    fn label_by_index_may_be_the_first_column() {
        let d = read(
            "2,0.5\n0,1.5\n",
            &CsvOptions::default().label(LabelColumn::Index(0)),
        )
        .unwrap();
        assert_eq!(d.features().as_slice(), &[0.5, 1.5]);
        assert_eq!(d.labels(), Some(&[2, 0][..]));
        assert_eq!(d.n_classes(), Some(3));
    }

    #[test]
    fn label_index_past_the_last_field_is_an_error() {
        let e = read("1,2\n", &CsvOptions::default().label(LabelColumn::Index(2))).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LabelColumnOutOfRange {
                    index: 2,
                    fields: 2,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn label_by_name_without_header_is_an_error() {
        let e = read(
            "1,2\n",
            &CsvOptions::default().label(LabelColumn::Name("y".into())),
        )
        .unwrap_err();
        assert!(matches!(e, DataError::NoHeader { .. }), "{e:?}");
    }

    #[test]
    fn integral_float_labels_are_accepted_and_fractional_ones_rejected() {
        assert_eq!(
            read("1,3.0\n", &CsvOptions::default()).unwrap().labels(),
            Some(&[3][..])
        );
        let e = read("1,0\n1,2.5\n", &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(e, DataError::BadLabel { line: 2, column: 2, ref text, .. } if text == "2.5"),
            "{e:?}"
        );
    }

    #[test]
    fn negative_label_is_a_bad_label() {
        let e = read("1,-1\n", &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(e, DataError::BadLabel { line: 1, column: 2, ref text, .. } if text == "-1"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "t.csv:1:2: expected a class label (an integer >= 0), found \"-1\""
        );
    }

    #[test]
    fn label_not_below_given_class_count_names_line_and_column() {
        let opts = CsvOptions::default().targets(TargetKind::Classes { n_classes: Some(2) });
        let e = read("1,0\n1,2\n", &opts).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::LabelTooLarge {
                    line: 2,
                    column: 2,
                    label: 2,
                    classes: 2,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn a_label_too_large_to_count_the_classes_from_is_named_unless_the_count_is_given() {
        // The classes were counted as max + 1, which overflowed at
        // usize::MAX; a label of 10^14 then made split_stratified and
        // class_counts allocate per class.
        for label in [usize::MAX, 99_999_999_999_999, MAX_COUNTED_CLASSES] {
            let e = read(&format!("0.5,1\n0.25,{label}\n"), &CsvOptions::default()).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "t.csv:2:2: class label {label} is too large to count the classes from \
                     (expected a label below 1048576; name the number of classes, \
                     TargetKind::Classes {{ n_classes: Some(k) }}, to read larger ones)"
                )
            );
        }
        let d = read("1,1048575\n", &CsvOptions::default()).unwrap();
        assert_eq!(d.n_classes(), Some(MAX_COUNTED_CLASSES));
        // Named, the count is the caller's.
        let named = CsvOptions::default().targets(TargetKind::Classes {
            n_classes: Some(usize::MAX),
        });
        let d = read("1,18446744073709551614\n", &named).unwrap();
        assert_eq!(d.n_classes(), Some(usize::MAX));
    }

    #[test]
    fn non_finite_cell_is_a_bad_value() {
        let e = read("1,0\nnan,1\n", &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::BadValue {
                    line: 2,
                    column: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(read("1e300,0\n", &CsvOptions::default()).is_ok());
        let e =
            read_csv::<f32>("1e300,0\n".as_bytes(), "t.csv", &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Overflow {
                    line: 1,
                    column: 1,
                    ..
                }
            ),
            "f32 overflow: {e:?}"
        );
    }

    #[test]
    fn regression_targets_and_unlabelled_files() {
        let d = read(
            "1,0.5\n2,-0.5\n",
            &CsvOptions::default().targets(TargetKind::Values),
        )
        .unwrap();
        assert_eq!(d.values().unwrap().as_slice(), &[0.5, -0.5]);
        let d = read(
            "1,0.5\n2,-0.5\n",
            &CsvOptions::default().label(LabelColumn::None),
        )
        .unwrap();
        assert_eq!((d.n_features(), d.n_outputs()), (2, 0));
    }

    #[test]
    fn a_byte_that_is_not_utf8_is_named_with_its_line_and_position() {
        let e =
            read_csv::<f64>(&b"1,0\n2,\xff1\n"[..], "t.csv", &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::NotUtf8 {
                    line: 2,
                    offset: 3,
                    byte: 0xff,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "t.csv:2: expected UTF-8 text, found the byte 0xff (byte 3 of the line)"
        );
        // A multi-byte character cut short by the line's end.
        let e = read_csv::<f64>(&b"1,\xc3\n"[..], "t.csv", &CsvOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:1: expected UTF-8 text, found the byte 0xc3 (byte 3 of the line)"
        );
    }

    #[test]
    fn semicolon_delimiter() {
        let d = read("1;2;1\n", &CsvOptions::default().delimiter(b';')).unwrap();
        assert_eq!(d.features().as_slice(), &[1.0, 2.0]);
    }

    #[test]
    fn tab_pipe_and_space_delimiters_are_accepted() {
        for (text, byte) in [("1\t2\t1\n", b'\t'), ("1|2|1\n", b'|'), ("1 2 1\n", b' ')] {
            let d = read(text, &CsvOptions::default().delimiter(byte)).unwrap();
            assert_eq!(d.features().as_slice(), &[1.0, 2.0], "{byte}");
        }
    }

    #[test]
    fn a_delimiter_that_can_be_part_of_a_number_or_a_line_end_is_refused_naming_it() {
        for byte in [
            b'1', b'0', b'.', b'-', b'+', b'e', b'E', b'x', b'"', b'\n', b'\r', 0xe9,
        ] {
            let e = read("1,2,1\n", &CsvOptions::default().delimiter(byte)).unwrap_err();
            assert!(
                matches!(e, DataError::BadDelimiter { byte: b } if b == byte),
                "{e:?}"
            );
            assert!(e.to_string().contains(&format!("byte {byte}")), "{e}");
        }
    }

    #[test]
    fn a_label_name_the_header_gives_twice_is_an_error_naming_both_columns() {
        let opts = CsvOptions::default()
            .header(true)
            .label(LabelColumn::Name("y".into()));
        let e = read("y,x,y\n1,2,3\n", &opts).unwrap_err();
        match &e {
            DataError::AmbiguousColumn { name, columns, .. } => {
                assert_eq!((name.as_str(), &columns[..]), ("y", &[0, 2][..]))
            }
            e => panic!("expected an ambiguous column, got {e:?}"),
        }
        assert!(e.to_string().contains("(0, 2)"), "{e}");
        // Named once, it is found.
        let d = read("x,y,z\n1,2,3\n", &opts).unwrap();
        assert_eq!(d.features().as_slice(), &[1.0, 3.0]);
    }
}
