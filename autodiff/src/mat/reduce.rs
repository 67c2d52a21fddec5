//! Reductions of a matrix to a scalar [`Var`] on the same tape.

use super::{MatStore, Op, Sink};
use crate::{Float, Mat, Shape, Var};

impl<'t, T: Float> Mat<'t, T> {
    fn reduce(self, mean: bool) -> Var<'t, T> {
        // Summed in f64 (the same in f64): a running f32 sum of a million
        // entries drifts by a percent, where JAX's tree sum does not. From
        // +0, as PyTorch's and JAX's sums (std's `Sum` starts at -0, so an
        // empty matrix summed to -0).
        let s: f64 = self.with_values(|v| v.iter().fold(0.0, |s, x| s + x.to_f64()));
        let y = T::from_f64(if mean {
            s / self.shape().len() as f64
        } else {
            s
        });
        let x = self.node();
        self.tape()
            .scalar_node(self, y, |out| Op::Sum { x, out, mean })
    }

    /// The sum of all entries, as a scalar on the tape.
    pub fn sum(self) -> Var<'t, T> {
        self.reduce(false)
    }

    /// The mean of all entries (NaN for an empty matrix).
    pub fn mean(self) -> Var<'t, T> {
        self.reduce(true)
    }
}

/// `y = sum x` (or its mean): `dx += dy` (or `dy / len`).
pub(super) fn sum_backward<T: Float>(
    st: &MatStore<T>,
    x: u32,
    mean: bool,
    dy: T,
    out: &mut Sink<'_, T>,
) {
    if let Some(mut gx) = st.grad_of(x, out) {
        let d = if mean {
            dy / T::from_f64(gx.g.len() as f64)
        } else {
            dy
        };
        gx.update(|_| d);
    }
}

/// Which dimension a reduction runs over, keeping it as size 1 (PyTorch's
/// `dim` with `keepdim=True`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Over the rows, down each column: `rows x cols` to `1 x cols`
    /// (PyTorch's `dim=0`).
    Rows,
    /// Over the columns, along each row: `rows x cols` to `rows x 1`
    /// (PyTorch's `dim=1`).
    Cols,
}

/// `out[j] += sum_i x[i][start + j]` over the rows of `x` (row-major,
/// `width` columns), summed in two levels of blocks: rows in blocks of 128,
/// the blocks' partial sums in groups of 128, and the groups' sums added to
/// `out` in order. A plain running sum loses accuracy with the number of
/// rows (in `f32`, 10^5 rows of 0.1 summed to 9998.56: the bias gradient of
/// a full batch); here the error grows with 128 + 128 + rows / 16384. The
/// order of the additions depends only on the row count, not on `start` or
/// on how the columns are split between threads.
pub(crate) fn add_column_sums<T: Float>(out: &mut [T], x: &[T], width: usize, start: usize) {
    const BLOCK_ROWS: usize = 128;
    const GROUP_BLOCKS: usize = 128;
    const TILE: usize = 64;
    if width == 0 {
        return;
    }
    for (t, out) in out.chunks_mut(TILE).enumerate() {
        let cols = start + t * TILE..start + t * TILE + out.len();
        for group in x.chunks(GROUP_BLOCKS * BLOCK_ROWS * width) {
            let mut group_sum = [T::zero(); TILE];
            let group_sum = &mut group_sum[..out.len()];
            for block in group.chunks(BLOCK_ROWS * width) {
                let mut partial = [T::zero(); TILE];
                let partial = &mut partial[..out.len()];
                for row in block.chunks_exact(width) {
                    for (p, &v) in partial.iter_mut().zip(&row[cols.clone()]) {
                        *p += v;
                    }
                }
                for (g, &p) in group_sum.iter_mut().zip(partial.iter()) {
                    *g += p;
                }
            }
            for (o, &g) in out.iter_mut().zip(group_sum.iter()) {
                *o += g;
            }
        }
    }
}

impl<'t, T: Float> Mat<'t, T> {
    fn reduce_axis(self, axis: Axis, mean: bool) -> Mat<'t, T> {
        let (r, c) = (self.rows(), self.cols());
        let shape = match axis {
            Axis::Rows => Shape::new(1, c),
            Axis::Cols => Shape::new(r, 1),
        };
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let off = st.alloc(shape.len());
        let (below, out) = st.split(off, shape.len());
        let v = below.of(self);
        out.fill(T::zero());
        match axis {
            Axis::Rows => add_column_sums(out, v, c, 0),
            Axis::Cols => {
                for (o, row) in out.iter_mut().zip(v.chunks(c.max(1))) {
                    // A row as a column of one: the same blocked order.
                    add_column_sums(std::slice::from_mut(o), row, 1, 0);
                }
            }
        }
        if mean {
            // (An empty dimension gives 0 / 0 = NaN, as the mean of all
            // entries does.)
            let n = T::from_f64(match axis {
                Axis::Rows => r,
                Axis::Cols => c,
            } as f64);
            out.iter_mut().for_each(|o| *o /= n);
        }
        let grad = self.requires_grad_in(&st);
        tape.record(
            &mut st,
            Op::SumAxis {
                x: self.node(),
                axis,
                mean,
            },
            off,
            shape,
            grad,
        )
    }

    /// The sums over one dimension, kept as size 1: `sum_axis(Axis::Rows)`
    /// is the `1 x cols` row of column sums.
    ///
    /// ```
    /// use autodiff::{Axis, Shape, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.mat(Shape::new(2, 3), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
    /// assert_eq!(x.sum_axis(Axis::Rows).to_vec(), [5.0, 7.0, 9.0]);
    /// assert_eq!(x.sum_axis(Axis::Cols).to_vec(), [6.0, 15.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn sum_axis(self, axis: Axis) -> Mat<'t, T> {
        self.reduce_axis(axis, false)
    }

    /// The means over one dimension, kept as size 1 (NaN over an empty
    /// dimension).
    pub fn mean_axis(self, axis: Axis) -> Mat<'t, T> {
        self.reduce_axis(axis, true)
    }
}

/// `y = sum_axis(x)` (or the mean): each entry of `dx` gets the entry of
/// `dy` its row or column summed into (divided by the count for the mean).
pub(super) fn sum_axis_backward<T: Float>(
    st: &MatStore<T>,
    x: u32,
    axis: Axis,
    mean: bool,
    gy: &[T],
    out: &mut Sink<'_, T>,
) {
    let s = st.nodes[x as usize].shape;
    let c = s.cols.max(1);
    let scale = if mean {
        T::one()
            / T::from_f64(match axis {
                Axis::Rows => s.rows,
                Axis::Cols => s.cols,
            } as f64)
    } else {
        T::one()
    };
    if let Some(mut gx) = st.grad_of(x, out) {
        match axis {
            Axis::Rows => gx.update(|k| gy[k % c] * scale),
            Axis::Cols => gx.update(|k| gy[k / c] * scale),
        }
    }
}
