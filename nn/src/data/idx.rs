//! The IDX file format of MNIST and Fashion-MNIST.
//!
//! An IDX file is a 4-byte magic number `0x00 0x00 <type> <ndims>`, then
//! `ndims` big-endian `u32` dimensions, then the elements, big-endian,
//! row-major. Type codes: `0x08` u8, `0x09` i8, `0x0B` i16, `0x0C` i32,
//! `0x0D` f32, `0x0E` f64. MNIST images are `0x00000803` (u8, `n x rows x
//! cols`), its labels `0x00000801` (u8, `n`). Files must be decompressed
//! (the distributed `.gz` files are rejected with a hint).

use super::dataset::Dataset;
use super::error::{DataError, Result};
use autodiff::{Float, Matrix};
use std::io::{Read, Write};
use std::path::Path;

/// The elements of an IDX file, in their stored type.
#[derive(Clone, Debug, PartialEq)]
pub enum IdxData {
    /// Type code `0x08`.
    U8(Vec<u8>),
    /// Type code `0x09`.
    I8(Vec<i8>),
    /// Type code `0x0B`.
    I16(Vec<i16>),
    /// Type code `0x0C`.
    I32(Vec<i32>),
    /// Type code `0x0D`.
    F32(Vec<f32>),
    /// Type code `0x0E`.
    F64(Vec<f64>),
}

impl IdxData {
    /// The IDX type code.
    pub fn type_code(&self) -> u8 {
        match self {
            IdxData::U8(_) => 0x08,
            IdxData::I8(_) => 0x09,
            IdxData::I16(_) => 0x0B,
            IdxData::I32(_) => 0x0C,
            IdxData::F32(_) => 0x0D,
            IdxData::F64(_) => 0x0E,
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        }
    }

    /// Whether there is no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i`, as `f64` (exact for every type).
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn get_f64(&self, i: usize) -> f64 {
        match self {
            IdxData::U8(v) => v[i].into(),
            IdxData::I8(v) => v[i].into(),
            IdxData::I16(v) => v[i].into(),
            IdxData::I32(v) => v[i].into(),
            IdxData::F32(v) => v[i].into(),
            IdxData::F64(v) => v[i],
        }
    }
}

/// The contents of an IDX file: its dimensions and its elements.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The dimensions, outermost first (`[n, rows, cols]` for images).
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: IdxData,
}

/// Bytes per element, for a type code.
fn element_size(code: u8) -> Option<usize> {
    match code {
        0x08 | 0x09 => Some(1),
        0x0B => Some(2),
        0x0C | 0x0D => Some(4),
        0x0E => Some(8),
        _ => None,
    }
}

/// Reads up to `n` bytes; `got` is how many there were.
fn read_exact_or_count(reader: &mut impl Read, n: u64, path: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    reader
        .take(n)
        .read_to_end(&mut buf)
        .map_err(|source| DataError::Io {
            path: path.to_string(),
            source,
        })?;
    Ok(buf)
}

/// Reads an IDX array; `source_name` names the source in errors.
///
/// # Errors
/// [`DataError::Idx`] for a bad magic number, an unknown type code, zero
/// dimensions or a size that overflows, and for bytes after the data;
/// [`DataError::Truncated`] if the header or the data is shorter than
/// announced; [`DataError::Io`] if reading fails.
pub fn read_idx(mut reader: impl Read, source_name: &str) -> Result<IdxArray> {
    let path = source_name;
    let idx_err = |reason: String| DataError::Idx {
        path: path.to_string(),
        reason,
    };
    let magic = read_exact_or_count(&mut reader, 4, path)?;
    if magic.len() < 4 {
        return Err(DataError::Truncated {
            path: path.into(),
            part: "header",
            expected: 4,
            got: magic.len() as u64,
        });
    }
    let word = u32::from_be_bytes([magic[0], magic[1], magic[2], magic[3]]);
    if magic[0] != 0 || magic[1] != 0 {
        let hint = if magic[..2] == [0x1f, 0x8b] {
            " (the file is gzip-compressed: decompress it first)"
        } else {
            ""
        };
        return Err(idx_err(format!(
            "bad magic number 0x{word:08x}: the first two bytes must be zero{hint}"
        )));
    }
    let (code, ndims) = (magic[2], magic[3] as usize);
    let size = element_size(code).ok_or_else(|| {
        idx_err(format!(
            "unknown type code 0x{code:02x} in magic number 0x{word:08x} (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)"
        ))
    })?;
    if ndims == 0 {
        return Err(idx_err(format!(
            "magic number 0x{word:08x} declares zero dimensions"
        )));
    }
    let dim_bytes = read_exact_or_count(&mut reader, 4 * ndims as u64, path)?;
    if dim_bytes.len() < 4 * ndims {
        return Err(DataError::Truncated {
            path: path.into(),
            part: "header",
            expected: 4 + 4 * ndims as u64,
            got: 4 + dim_bytes.len() as u64,
        });
    }
    let dims: Vec<usize> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(size as u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| idx_err(format!("dimensions {dims:?} overflow")))?;
    let bytes = read_exact_or_count(&mut reader, expected, path)?;
    if (bytes.len() as u64) < expected {
        return Err(DataError::Truncated {
            path: path.into(),
            part: "data",
            expected,
            got: bytes.len() as u64,
        });
    }
    let mut extra = [0u8; 1];
    let trailing = reader.read(&mut extra).map_err(|source| DataError::Io {
        path: path.into(),
        source,
    })?;
    if trailing > 0 {
        return Err(idx_err(format!(
            "bytes after the {expected} bytes of data that dimensions {dims:?} announce"
        )));
    }
    let data = match code {
        0x08 => IdxData::U8(bytes),
        0x09 => IdxData::I8(bytes.iter().map(|&b| b as i8).collect()),
        0x0B => IdxData::I16(
            bytes
                .chunks_exact(2)
                .map(|c| i16::from_be_bytes([c[0], c[1]]))
                .collect(),
        ),
        0x0C => IdxData::I32(
            bytes
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        0x0D => IdxData::F32(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes(c.try_into().unwrap()))
                .collect(),
        ),
        _ => IdxData::F64(
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_be_bytes(c.try_into().unwrap()))
                .collect(),
        ),
    };
    Ok(IdxArray { dims, data })
}

/// Writes an IDX array (the inverse of [`read_idx`]).
///
/// # Errors
/// An [`std::io::ErrorKind::InvalidInput`] error if the dimensions do not
/// multiply to the number of elements, there are none or more than 255 of
/// them, or one exceeds `u32::MAX`; any write error.
pub fn write_idx(mut writer: impl Write, array: &IdxArray) -> std::io::Result<()> {
    let invalid = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, m.to_string());
    if array.dims.is_empty() || array.dims.len() > 255 {
        return Err(invalid("an IDX array has 1 to 255 dimensions"));
    }
    if array.dims.iter().product::<usize>() != array.data.len() {
        return Err(invalid(
            "the IDX dimensions do not multiply to the number of elements",
        ));
    }
    writer.write_all(&[0, 0, array.data.type_code(), array.dims.len() as u8])?;
    for &d in &array.dims {
        let d = u32::try_from(d).map_err(|_| invalid("an IDX dimension exceeds u32::MAX"))?;
        writer.write_all(&d.to_be_bytes())?;
    }
    let mut out =
        Vec::with_capacity(array.data.len() * element_size(array.data.type_code()).unwrap_or(1));
    match &array.data {
        IdxData::U8(v) => out.extend_from_slice(v),
        IdxData::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
        IdxData::I16(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        IdxData::I32(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        IdxData::F32(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        IdxData::F64(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
    }
    writer.write_all(&out)
}

/// Reads the IDX file at `path`.
///
/// # Errors
/// [`DataError::Io`] (naming the path) if it cannot be opened; otherwise as
/// [`read_idx`].
pub fn load_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: name.clone(),
        source,
    })?;
    read_idx(std::io::BufReader::new(file), &name)
}

/// Images (or any IDX array) as a matrix: one row per item of the first
/// dimension, the other dimensions flattened (`n x (rows * cols)`), values
/// as stored (0..=255 for MNIST).
///
/// # Errors
/// As [`load_idx`]; [`DataError::Idx`] for non-finite values.
pub fn load_idx_images<T: Float>(path: impl AsRef<Path>) -> Result<Matrix<T>> {
    let name = path.as_ref().display().to_string();
    idx_to_matrix(&load_idx(path)?, &name)
}

/// An IDX array as a matrix of `dims[0]` rows (see [`load_idx_images`]).
///
/// # Errors
/// [`DataError::Idx`] for an array of no dimension, dimensions whose
/// product is not the number of values (the fields are public), or a value
/// not finite in `T`.
pub fn idx_to_matrix<T: Float>(array: &IdxArray, source_name: &str) -> Result<Matrix<T>> {
    let err = |reason: String| DataError::Idx {
        path: source_name.to_string(),
        reason,
    };
    let Some((&n, rest)) = array.dims.split_first() else {
        return Err(err("an array of no dimension is not a matrix".into()));
    };
    let cols = rest
        .iter()
        .try_fold(1usize, |p, &d| p.checked_mul(d))
        .filter(|&c| n.checked_mul(c) == Some(array.data.len()));
    let Some(cols) = cols else {
        return Err(err(format!(
            "dimensions {:?} do not multiply to the {} values held",
            array.dims,
            array.data.len()
        )));
    };
    let data: Vec<T> = (0..array.data.len())
        .map(|i| T::from_f64(array.data.get_f64(i)))
        .collect();
    if let Some(k) = data.iter().position(|x| !x.is_finite()) {
        return Err(err(format!(
            "element {k} ({}) is not a finite number",
            array.data.get_f64(k)
        )));
    }
    Matrix::new(n, cols, data).map_err(|e| err(e.to_string()))
}

/// Class labels from an IDX file of one dimension and an integer type.
///
/// # Errors
/// As [`load_idx`]; [`DataError::Idx`] for more than one dimension, a float
/// type or a negative label.
pub fn load_idx_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    let name = path.as_ref().display().to_string();
    idx_to_labels(&load_idx(path)?, &name)
}

/// An IDX array as class labels (see [`load_idx_labels`]).
///
/// # Errors
/// [`DataError::Idx`] for more than one dimension, a float type or a
/// negative label.
pub fn idx_to_labels(array: &IdxArray, source_name: &str) -> Result<Vec<usize>> {
    let err = |reason: String| DataError::Idx {
        path: source_name.to_string(),
        reason,
    };
    if array.dims.len() != 1 {
        return Err(err(format!(
            "labels must have 1 dimension, found dimensions {:?}",
            array.dims
        )));
    }
    if matches!(array.data, IdxData::F32(_) | IdxData::F64(_)) {
        return Err(err(format!(
            "labels must have an integer type, found type code 0x{:02x}",
            array.data.type_code()
        )));
    }
    (0..array.data.len())
        .map(|i| {
            let v = array.data.get_f64(i);
            if v >= 0.0 {
                Ok(v as usize)
            } else {
                Err(err(format!("label {i} is negative ({v})")))
            }
        })
        .collect()
}

/// MNIST (or Fashion-MNIST) from its two decompressed IDX files: the
/// `n x 28 x 28` u8 images become rows of 784 features scaled to `[0, 1]`
/// (divided by 255), the labels 10 classes.
///
/// For raw pixel values, or another number of classes, combine
/// [`load_idx_images`], [`load_idx_labels`] and
/// [`Dataset::classification`].
///
/// # Errors
/// As [`load_idx_images`] and [`load_idx_labels`]; [`DataError::Idx`] for
/// an images file that is not `n x rows x cols` (the two files swapped, say)
/// or not of u8 pixels, or a label above 9, naming the file; [`DataError::CountMismatch`] if the
/// files hold different numbers of items.
pub fn load_mnist<T: Float>(
    images_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
) -> Result<Dataset<T>> {
    let (ip, lp) = (images_path.as_ref(), labels_path.as_ref());
    let raw = load_idx(ip)?;
    if raw.dims.len() != 3 {
        return Err(DataError::Idx {
            path: ip.display().to_string(),
            reason: format!(
                "MNIST images have 3 dimensions (n x rows x cols), found dimensions {:?}{}",
                raw.dims,
                if raw.dims.len() == 1 {
                    " (a labels file?)"
                } else {
                    ""
                }
            ),
        });
    }
    // Pixels 0..=255 divided by 255: another type (one changed byte makes
    // u8 into i8) would give values outside [0, 1] without a word.
    if !matches!(raw.data, IdxData::U8(_)) {
        return Err(DataError::Idx {
            path: ip.display().to_string(),
            reason: format!(
                "MNIST images have type code 0x08 (u8 pixels 0..=255), found type code 0x{:02x}",
                raw.data.type_code()
            ),
        });
    }
    let mut images = idx_to_matrix::<T>(&raw, &ip.display().to_string())?;
    let labels = load_idx_labels(lp)?;
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= 10) {
        return Err(DataError::Idx {
            path: lp.display().to_string(),
            reason: format!(
                "label {i} is {l}, out of range for MNIST's 10 classes (expected 0..10)"
            ),
        });
    }
    if images.rows() != labels.len() {
        return Err(DataError::CountMismatch {
            images_path: ip.display().to_string(),
            images: images.rows(),
            labels_path: lp.display().to_string(),
            labels: labels.len(),
        });
    }
    // x / 255 in f64, then one rounding to T: 51 -> exactly the T nearest 0.2
    let scaled = images.as_mut_slice();
    scaled
        .iter_mut()
        .for_each(|x| *x = T::from_f64(x.to_f64() / 255.0));
    Dataset::classification(images, labels, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(a: &IdxArray) -> Vec<u8> {
        let mut v = Vec::new();
        write_idx(&mut v, a).unwrap();
        v
    }

    #[test]
    fn every_type_code_round_trips_through_bytes() {
        let arrays = [
            IdxData::U8(vec![0, 255]),
            IdxData::I8(vec![-128, 127]),
            IdxData::I16(vec![-300, 300]),
            IdxData::I32(vec![i32::MIN, 7]),
            IdxData::F32(vec![-1.5, 0.25]),
            IdxData::F64(vec![1e-300, -2.0]),
        ];
        for data in arrays {
            let a = IdxArray {
                dims: vec![2, 1],
                data,
            };
            assert_eq!(read_idx(&bytes(&a)[..], "mem").unwrap(), a);
        }
    }

    #[test]
    fn mnist_image_header_is_big_endian() {
        let a = IdxArray {
            dims: vec![1, 2, 3],
            data: IdxData::U8(vec![1, 2, 3, 4, 5, 6]),
        };
        assert_eq!(
            &bytes(&a)[..16],
            &[0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]
        );
    }

    #[test]
    fn unknown_type_code_is_rejected() {
        let e = read_idx(&[0u8, 0, 0x0A, 1, 0, 0, 0, 0][..], "mem").unwrap_err();
        assert!(
            matches!(e, DataError::Idx { ref reason, .. } if reason.contains("unknown type code 0x0a")),
            "{e}"
        );
    }

    #[test]
    fn gzip_file_gets_a_hint() {
        let e = read_idx(&[0x1fu8, 0x8b, 8, 0][..], "x.gz").unwrap_err();
        assert!(e.to_string().contains("gzip"), "{e}");
    }

    #[test]
    fn truncated_header_reports_expected_and_got() {
        let e = read_idx(&[0u8, 0, 8, 3, 0, 0, 0, 1][..], "mem").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Truncated {
                    part: "header",
                    expected: 16,
                    got: 8,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = read_idx(&[0u8, 0][..], "mem").unwrap_err();
        assert!(
            matches!(
                e,
                DataError::Truncated {
                    part: "header",
                    expected: 4,
                    got: 2,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn labels_must_be_one_dimensional_integers() {
        let a = IdxArray {
            dims: vec![1, 1],
            data: IdxData::U8(vec![1]),
        };
        assert!(matches!(idx_to_labels(&a, "m"), Err(DataError::Idx { .. })));
        let a = IdxArray {
            dims: vec![1],
            data: IdxData::F32(vec![1.0]),
        };
        assert!(matches!(idx_to_labels(&a, "m"), Err(DataError::Idx { .. })));
        let a = IdxArray {
            dims: vec![2],
            data: IdxData::I8(vec![1, -1]),
        };
        assert!(
            matches!(idx_to_labels(&a, "m"), Err(DataError::Idx { ref reason, .. }) if reason.contains("negative"))
        );
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut b = bytes(&IdxArray {
            dims: vec![1],
            data: IdxData::U8(vec![1]),
        });
        b.push(0);
        assert!(
            matches!(read_idx(&b[..], "m"), Err(DataError::Idx { ref reason, .. }) if reason.contains("after"))
        );
    }
}
