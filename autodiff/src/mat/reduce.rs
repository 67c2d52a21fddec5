//! Reductions of a matrix to a scalar [`Var`] on the same tape.

use super::{MatStore, Op, Sink};
use crate::{Float, Mat, Shape, Var};

impl<'t, T: Float> Mat<'t, T> {
    fn reduce(self, mean: bool) -> Var<'t, T> {
        let tape = self.tape();
        let mut st = tape.mats.borrow_mut();
        let s: T = st.value(self.node()).iter().copied().sum();
        let y = if mean {
            s / T::from_f64(self.shape().len() as f64)
        } else {
            s
        };
        let off = st.alloc(1);
        st.data[off] = y;
        let grad = self.requires_grad_in(&st);
        let out = tape.next_index();
        tape.record(
            &mut st,
            Op::Sum {
                x: self.node(),
                out,
                mean,
            },
            off,
            Shape::new(1, 1),
            grad,
        );
        drop(st);
        tape.scalar_output(y)
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
