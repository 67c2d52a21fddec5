//! The floating-point element type the optimizers are generic over.

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point scalar: implemented for `f32` and `f64`.
///
/// Every optimizer is written once, generically over this trait. Scalar
/// hyperparameters are kept in `f64` and converted once per step with
/// [`Float::from_f64`]; the per-element arithmetic runs in `Self`.
pub trait Float:
    Copy
    + Debug
    + Display
    + Default
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Conversion from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;
    /// Exact widening (or identity) to `f64`.
    fn to_f64(self) -> f64;
    /// Square root, correctly rounded (IEEE 754).
    fn sqrt(self) -> Self;
    /// Neither NaN nor infinite.
    fn is_finite(self) -> bool;
}

macro_rules! impl_float {
    ($t:ty) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

impl_float!(f32);
impl_float!(f64);

/// `sum_i x_i^2`, accumulated in `f64` so energies stay accurate in `f32`.
pub(crate) fn norm_squared<T: Float>(x: &[T]) -> f64 {
    x.iter().map(|&v| v.to_f64() * v.to_f64()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip_for_both_widths() {
        assert_eq!(f32::from_f64(0.5).to_f64(), 0.5);
        assert_eq!(f64::from_f64(0.1).to_f64(), 0.1);
        assert!(!Float::is_finite(f32::NAN));
        assert_eq!(Float::sqrt(4.0f32), 2.0);
    }

    #[test]
    fn norm_squared_accumulates_in_f64() {
        assert_eq!(norm_squared(&[3.0f32, 4.0]), 25.0);
        assert_eq!(norm_squared::<f64>(&[]), 0.0);
    }
}
