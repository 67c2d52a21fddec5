//! The data module's error type.

/// What can go wrong while loading, building or slicing a data set.
///
/// Every variant names what was expected and what was found; the ones raised
/// while reading a file name the file (or the source name given to a reader)
/// and, for text files, the 1-based line and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file (or source name).
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A text file holds a byte that is not part of UTF-8 text.
    #[error("{path}:{line}: expected UTF-8 text, found the byte 0x{byte:02x} (byte {offset} of the line)")]
    NotUtf8 {
        /// The file (or source name).
        path: String,
        /// The 1-based line.
        line: usize,
        /// The 1-based position in the line's bytes where UTF-8 stops.
        offset: usize,
        /// The byte found there.
        byte: u8,
    },
    /// A file holds no data row (it is empty, blank, or only a header).
    #[error("{path}: no data rows (the file is empty, blank or only a header)")]
    Empty {
        /// The file (or source name).
        path: String,
    },
    /// A cell that must hold a finite number does not.
    #[error("{path}:{line}:{column}: expected a finite number, found {text:?}")]
    BadValue {
        /// The file (or source name).
        path: String,
        /// The 1-based line.
        line: usize,
        /// The 1-based column (field number).
        column: usize,
        /// The cell's text, trimmed.
        text: String,
    },
    /// A cell holds a finite number too large for the element type (e.g.
    /// `1e40` read as `f32`).
    #[error("{path}:{line}:{column}: {text:?} is finite but overflows {ty} (largest {max:e})")]
    Overflow {
        /// The file (or source name).
        path: String,
        /// The 1-based line.
        line: usize,
        /// The 1-based column (field number).
        column: usize,
        /// The cell's text, trimmed.
        text: String,
        /// The element type, `"f32"` or `"f64"`.
        ty: &'static str,
        /// Its largest finite value.
        max: f64,
    },
    /// A row has a different number of fields from the first row.
    #[error("{path}:{line}: expected {expected} fields (as in the first row), got {got}")]
    Ragged {
        /// The file (or source name).
        path: String,
        /// The 1-based line.
        line: usize,
        /// The number of fields of the first row (or the header).
        expected: usize,
        /// The number of fields of this row.
        got: usize,
    },
    /// A class-label cell is not a non-negative integer.
    #[error("{path}:{line}:{column}: expected a class label (an integer >= 0), found {text:?}")]
    BadLabel {
        /// The file (or source name).
        path: String,
        /// The 1-based line.
        line: usize,
        /// The 1-based column.
        column: usize,
        /// The cell's text, trimmed.
        text: String,
    },
    /// A class label read from a file, with the classes counted (as the
    /// largest label plus one), is at least
    /// [`MAX_COUNTED_CLASSES`](crate::data::MAX_COUNTED_CLASSES): more
    /// likely a stray value than a class, and a count that large would be
    /// allocated per class (class counts, a confusion matrix).
    #[error("{path}:{line}:{column}: class label {label} is too large to count the classes from (expected a label below {max}; name the number of classes, TargetKind::Classes {{ n_classes: Some(k) }}, to read larger ones)")]
    LabelTooLargeToCount {
        /// The file (or source name).
        path: String,
        /// The 1-based line.
        line: usize,
        /// The 1-based column.
        column: usize,
        /// The label found.
        label: usize,
        /// [`MAX_COUNTED_CLASSES`](crate::data::MAX_COUNTED_CLASSES).
        max: usize,
    },
    /// A class label read from a file is not below the number of classes given.
    #[error("{path}:{line}:{column}: class label {label} is out of range for {classes} classes (expected 0..{classes})")]
    LabelTooLarge {
        /// The file (or source name).
        path: String,
        /// The 1-based line.
        line: usize,
        /// The 1-based column.
        column: usize,
        /// The label found.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// The label column was named, but no header column has that name.
    #[error("{path}: label column {name:?} is not in the header (columns: {})", .header.join(", "))]
    UnknownColumn {
        /// The file (or source name).
        path: String,
        /// The name asked for.
        name: String,
        /// The header's column names.
        header: Vec<String>,
    },
    /// The label column was named, and more than one header column has that
    /// name.
    #[error("{path}: label column {name:?} names {} columns of the header ({}): give its index instead", .columns.len(), .columns.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", "))]
    AmbiguousColumn {
        /// The file (or source name).
        path: String,
        /// The name asked for.
        name: String,
        /// The 0-based columns that have it.
        columns: Vec<usize>,
    },
    /// The field delimiter is a byte that can be part of a number or of a
    /// line ending, or is not ASCII (a UTF-8 text's byte above 127 is part of
    /// a character).
    #[error("CSV delimiter {:?} (byte {byte}): expected an ASCII byte that is not a digit, a letter, '.', '+', '-', '\"' or a line ending, such as ',', ';', '\\t', '|' or ' '", char::from(*.byte))]
    BadDelimiter {
        /// The byte given.
        byte: u8,
    },
    /// The label column was named, but the file is read without a header.
    #[error("{path}: label column {name:?} is given by name, but the options say the file has no header")]
    NoHeader {
        /// The file (or source name).
        path: String,
        /// The name asked for.
        name: String,
    },
    /// The label column index is not below the number of fields.
    #[error("{path}: label column index {index} is out of range for rows of {fields} fields (expected 0..{fields})")]
    LabelColumnOutOfRange {
        /// The file (or source name).
        path: String,
        /// The 0-based index asked for.
        index: usize,
        /// The number of fields of a row.
        fields: usize,
    },
    /// A class label is not below the number of classes.
    #[error("row {row}: class label {label} is out of range for {classes} classes (expected 0..{classes})")]
    LabelOutOfRange {
        /// The 0-based row.
        row: usize,
        /// The label found.
        label: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A feature or target value is NaN or infinite.
    #[error("{what}: row {row}, column {column} holds the non-finite value {value}")]
    NonFinite {
        /// Features or target values.
        what: &'static str,
        /// The 0-based row.
        row: usize,
        /// The 0-based column.
        column: usize,
        /// The value found.
        value: f64,
    },
    /// Two parts of a data set disagree in length.
    #[error("{what}: expected {expected}, got {got}")]
    LengthMismatch {
        /// What was compared.
        what: &'static str,
        /// The length required.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// An IDX file is malformed (bad magic number, unknown type code, bad
    /// dimensions, wrong element type for the use).
    #[error("{path}: not a valid IDX file: {reason}")]
    Idx {
        /// The file (or source name).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file ends before the size its header announces.
    #[error("{path}: truncated {part}: expected {expected} bytes, got {got}")]
    Truncated {
        /// The file (or source name).
        path: String,
        /// The header or the data.
        part: &'static str,
        /// The number of bytes announced.
        expected: u64,
        /// The number of bytes present.
        got: u64,
    },
    /// An image file and a label file hold different numbers of items.
    #[error("{images_path} holds {images} images but {labels_path} holds {labels} labels")]
    CountMismatch {
        /// The image file.
        images_path: String,
        /// The number of images.
        images: usize,
        /// The label file.
        labels_path: String,
        /// The number of labels.
        labels: usize,
    },
    /// An operation needs class labels (or real targets) and the data set
    /// has the other kind.
    #[error("{what}: needs {expected} targets, but the data set has {found} targets")]
    WrongTargets {
        /// The operation.
        what: &'static str,
        /// The kind needed: "class" or "real-valued".
        expected: &'static str,
        /// The kind present.
        found: &'static str,
    },
    /// A parameter is outside its allowed range.
    #[error("{what}: {value} is outside the allowed range {range}")]
    OutOfRange {
        /// The parameter.
        what: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        range: &'static str,
    },
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
