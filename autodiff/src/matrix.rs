//! Owned row-major matrices and their shapes.

use crate::{Error, Float, Result};
use std::fmt;

/// The shape of a matrix: `rows x cols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Shape {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
}

impl Shape {
    /// `rows x cols`.
    pub const fn new(rows: usize, cols: usize) -> Self {
        Shape { rows, cols }
    }

    /// `rows * cols`.
    ///
    /// # Panics
    /// If `rows * cols` overflows `usize` (no such matrix fits in memory).
    #[track_caller]
    pub const fn len(self) -> usize {
        match self.rows.checked_mul(self.cols) {
            Some(n) => n,
            None => panic!("Shape: rows * cols overflows usize"),
        }
    }

    /// `rows * cols`, or `None` if it overflows `usize`.
    pub const fn checked_len(self) -> Option<usize> {
        self.rows.checked_mul(self.cols)
    }

    /// Whether the shape holds no element.
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.rows, self.cols)
    }
}

impl From<(usize, usize)> for Shape {
    fn from((rows, cols): (usize, usize)) -> Self {
        Shape { rows, cols }
    }
}

/// An owned row-major matrix.
///
/// ```
/// use autodiff::Matrix;
/// let m = Matrix::new(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
/// assert_eq!(m[(1, 0)], 4.0);
/// assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
/// assert!(Matrix::new(2, 3, vec![1.0_f64]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix<T> {
    shape: Shape,
    data: Vec<T>,
}

impl<T: Float> Matrix<T> {
    /// A `rows x cols` matrix from its row-major values.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `data.len() == rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<T>) -> Result<Self> {
        let shape = Shape::new(rows, cols);
        let expected = shape.checked_len().ok_or(Error::ShapeTooLarge {
            what: "Matrix::new",
            shape,
        })?;
        if data.len() != expected {
            return Err(Error::LengthMismatch {
                what: "Matrix::new",
                expected,
                got: data.len(),
            });
        }
        Ok(Matrix {
            shape: Shape::new(rows, cols),
            data,
        })
    }

    /// The zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix {
            shape: Shape::new(rows, cols),
            data: vec![T::zero(); Shape::new(rows, cols).len()],
        }
    }

    /// The matrix with entries `f(i, j)`.
    ///
    /// # Panics
    /// If `rows * cols` overflows `usize`.
    pub fn from_fn(rows: usize, cols: usize, mut f: impl FnMut(usize, usize) -> T) -> Self {
        let data = (0..Shape::new(rows, cols).len())
            .map(|k| f(k / cols.max(1), k % cols.max(1)))
            .collect();
        Matrix {
            shape: Shape::new(rows, cols),
            data,
        }
    }

    /// A matrix from its rows.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if the rows differ in length.
    pub fn from_rows(rows: &[Vec<T>]) -> Result<Self> {
        let cols = rows.first().map_or(0, |r| r.len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for r in rows {
            if r.len() != cols {
                return Err(Error::LengthMismatch {
                    what: "Matrix::from_rows (row length)",
                    expected: cols,
                    got: r.len(),
                });
            }
            data.extend_from_slice(r);
        }
        Ok(Matrix {
            shape: Shape::new(rows.len(), cols),
            data,
        })
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.shape.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.shape.cols
    }

    /// The row-major values.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The row-major values, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The row-major values.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// Row `i`.
    ///
    /// # Panics
    /// If `i >= rows`.
    #[track_caller]
    pub fn row(&self, i: usize) -> &[T] {
        // (Checked on its own: with no columns every range below is empty.)
        assert!(
            i < self.shape.rows,
            "Matrix::row: row {i} of {} rows",
            self.shape.rows
        );
        &self.data[i * self.shape.cols..(i + 1) * self.shape.cols]
    }

    /// The transpose.
    pub fn transpose(&self) -> Self {
        let Shape { rows, cols } = self.shape;
        Matrix::from_fn(cols, rows, |i, j| self.data[j * cols + i])
    }

    /// The product `self * other`, through the matrix-multiply kernel.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless `self.cols == other.rows`.
    pub fn matmul(&self, other: &Matrix<T>) -> Result<Self> {
        if self.cols() != other.rows() {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                lhs: self.shape,
                rhs: other.shape,
                expected: "left columns equal right rows",
            });
        }
        let (m, k, n) = (self.rows(), self.cols(), other.cols());
        let mut c = Matrix::zeros(m, n);
        T::gemm(
            m,
            k,
            n,
            T::one(),
            &self.data,
            k,
            1,
            &other.data,
            n,
            1,
            T::zero(),
            &mut c.data,
            n,
            1,
        );
        Ok(c)
    }
}

impl<T> std::ops::Index<(usize, usize)> for Matrix<T> {
    type Output = T;
    #[track_caller]
    fn index(&self, (i, j): (usize, usize)) -> &T {
        assert!(
            i < self.shape.rows && j < self.shape.cols,
            "index ({i}, {j}) out of a {} matrix",
            self.shape
        );
        &self.data[i * self.shape.cols + j]
    }
}

impl<T> std::ops::IndexMut<(usize, usize)> for Matrix<T> {
    #[track_caller]
    fn index_mut(&mut self, (i, j): (usize, usize)) -> &mut T {
        assert!(
            i < self.shape.rows && j < self.shape.cols,
            "index ({i}, {j}) out of a {} matrix",
            self.shape
        );
        &mut self.data[i * self.shape.cols + j]
    }
}
