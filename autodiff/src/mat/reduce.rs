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

#[cfg(test)]
mod tests {
    use super::add_column_sums;

    /// `x[i][j]` small integers: every order of the additions gives the
    /// exact sum, so any dropped, doubled or shifted entry shows.
    fn exact(rows: usize, width: usize) -> (Vec<f64>, Vec<f64>) {
        let x: Vec<f64> = (0..rows * width)
            .map(|k| ((k * 7919) % 201) as f64 - 100.0)
            .collect();
        let sums = (0..width)
            .map(|j| (0..rows).map(|i| x[i * width + j]).sum())
            .collect();
        (x, sums)
    }

    #[test]
    fn column_sums_cover_every_row_and_column_whatever_the_width_and_start() {
        // One column, widths that 64 (a tile) and 128 (a block's rows) do
        // not divide, more than one block of rows.
        for (rows, width) in [(0, 3), (1, 1), (300, 1), (129, 3), (300, 65), (257, 333)] {
            let (x, want) = exact(rows, width);
            let mut all = vec![0.0; width];
            add_column_sums(&mut all, &x, width, 0);
            assert_eq!(all, want, "{rows} x {width}");
            // A thread's part: columns start.., added to what is there.
            for start in [1, width / 2, width - 1] {
                let mut part = vec![1.0; width - start];
                add_column_sums(&mut part, &x, width, start);
                let shifted: Vec<f64> = want[start..].iter().map(|s| s + 1.0).collect();
                assert_eq!(part, shifted, "{rows} x {width} from column {start}");
            }
        }
    }

    #[test]
    fn column_sums_are_bitwise_the_same_however_the_columns_are_split() {
        let (rows, width) = (1000, 150);
        let x: Vec<f32> = (0..rows * width)
            .map(|k| ((k as f32) * 0.618).sin() * 10f32.powi((k % 7) as i32 - 3))
            .collect();
        let mut whole = vec![0.0f32; width];
        add_column_sums(&mut whole, &x, width, 0);
        for split in [16, 64, 80, 149] {
            let mut parts = vec![0.0f32; width];
            let (a, b) = parts.split_at_mut(split);
            add_column_sums(a, &x, width, 0);
            add_column_sums(b, &x, width, split);
            let bits = |v: &[f32]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&parts), bits(&whole), "split at {split}");
        }
    }
}
