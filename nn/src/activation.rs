//! Activation functions between layers: the seed's S and its peers.

use autodiff::rules::Unary;
use autodiff::{Float, Mat};

/// The activation applied elementwise after an affine layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// No activation (the output layer's default).
    Identity,
    /// The logistic function `1 / (1 + e^-x)`, the seed's S.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `max(x, 0)`, with derivative `at_zero` in `[0, 1]` at exactly 0
    /// (seed Remark 5.1.10; PyTorch and JAX use 0).
    Relu {
        /// The subgradient used at 0.
        at_zero: f64,
    },
    /// `ln(1 + e^x)`, a smooth ReLU.
    Softplus,
    /// Leaky ReLU: `x` for `x > 0`, else `slope x`, with derivative `slope`
    /// at 0 (PyTorch's `nn.LeakyReLU(slope)`; see [`Activation::LEAKY_RELU`]).
    LeakyRelu {
        /// The slope for `x <= 0`, finite.
        slope: f64,
    },
    /// SiLU (swish) `x S(x)`: PyTorch's `nn.SiLU`, JAX's `nn.silu`.
    Silu,
    /// GELU `x Phi(x)`, `Phi` the standard normal distribution function:
    /// the exact form, PyTorch's `nn.GELU()`.
    Gelu,
}

impl Default for Activation {
    /// ReLU with subgradient 0 at 0.
    fn default() -> Self {
        Activation::RELU
    }
}

impl Activation {
    /// ReLU with the PyTorch and JAX subgradient 0 at 0.
    pub const RELU: Activation = Activation::Relu { at_zero: 0.0 };

    /// Leaky ReLU with PyTorch's default slope, 0.01.
    pub const LEAKY_RELU: Activation = Activation::LeakyRelu { slope: 0.01 };

    /// The elementwise primitive, or `None` for the identity.
    pub fn primitive(self) -> Option<Unary> {
        match self {
            Activation::Identity => None,
            Activation::Sigmoid => Some(Unary::Sigmoid),
            Activation::Tanh => Some(Unary::Tanh),
            Activation::Relu { at_zero } => Some(Unary::Relu { at_zero }),
            Activation::Softplus => Some(Unary::Softplus),
            Activation::LeakyRelu { slope } => Some(Unary::LeakyRelu { slope }),
            Activation::Silu => Some(Unary::Silu),
            Activation::Gelu => Some(Unary::Gelu),
        }
    }

    /// Applies the activation to a recorded matrix.
    ///
    /// # Panics
    /// For a ReLU whose subgradient is outside `[0, 1]` (see
    /// [`is_valid`](Self::is_valid); [`crate::MlpBuilder::build`] refuses
    /// such a network).
    #[track_caller]
    pub fn apply<'t, T: Float>(self, z: Mat<'t, T>) -> Mat<'t, T> {
        match self.primitive() {
            None => z,
            Some(op) => z.map(op),
        }
    }

    /// Applies the activation in place to plain values.
    pub fn apply_slice<T: Float>(self, z: &mut [T]) {
        if let Some(op) = self.primitive() {
            op.apply_in_place(z);
        }
    }

    /// The derivative S'(z) at `z`, given `y = S(z)` (seed (5.14)).
    pub fn derivative<T: Float>(self, z: T, y: T) -> T {
        match self.primitive() {
            None => T::one(),
            Some(op) => op.deriv(z, y),
        }
    }

    /// Whether the parameters are valid: a ReLU subgradient in `[0, 1]`, a
    /// finite leaky ReLU slope.
    pub fn is_valid(self) -> bool {
        self.invalid_because::<f64>().is_none()
    }

    /// What is wrong with the parameters for a network of `T`, if anything.
    pub(crate) fn invalid_because<T: Float>(self) -> Option<String> {
        match self {
            Activation::Relu { at_zero } if !(0.0..=1.0).contains(&at_zero) => {
                Some("a ReLU subgradient outside [0, 1]".into())
            }
            Activation::LeakyRelu { slope } if !slope.is_finite() => {
                Some("a leaky ReLU slope that is not finite".into())
            }
            // Finite as an f64 but not as a T (1e39 in f32): x < 0 would
            // give -inf, and x = 0 gives 0 * inf = NaN.
            Activation::LeakyRelu { slope } if !T::from_f64(slope).is_finite() => Some(format!(
                "a leaky ReLU slope that is not finite in {}",
                std::any::type_name::<T>()
            )),
            _ => None,
        }
    }

    /// A short name: `identity`, `sigmoid`, `tanh`, `relu`, `softplus`,
    /// `leaky_relu`, `silu`, `gelu`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu { .. } => "relu",
            Activation::Softplus => "softplus",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Silu => "silu",
            Activation::Gelu => "gelu",
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Activation::Relu { at_zero } if *at_zero != 0.0 => {
                write!(f, "relu (subgradient {at_zero} at 0)")
            }
            Activation::LeakyRelu { slope } => write!(f, "leaky_relu (slope {slope})"),
            a => f.write_str(a.name()),
        }
    }
}
