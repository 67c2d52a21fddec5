//! Weight initialisation schemes, seeded: the same seed gives bitwise the
//! same network.

use rand::{Rng, SeedableRng};

/// How the weights `W_r` (shape `(fan_out, fan_in)` = `(a_{r+1}, a_r)`) and
/// biases `b_r` of a layer are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Init {
    /// Glorot and Bengio (2010): `U(-a, a)`, `a = sqrt(6 / (fan_in + fan_out))`; zero biases.
    GlorotUniform,
    /// Glorot and Bengio (2010): `N(0, 2 / (fan_in + fan_out))`; zero biases.
    GlorotNormal,
    /// He et al. (2015): `U(-a, a)`, `a = sqrt(6 / fan_in)`; zero biases.
    #[default]
    HeUniform,
    /// He et al. (2015): `N(0, 2 / fan_in)`; zero biases.
    HeNormal,
    /// `U(-a, a)` for the weights; zero biases.
    Uniform(f64),
    /// PyTorch's `nn.Linear` default: weights and biases `U(-a, a)`,
    /// `a = 1 / sqrt(fan_in)`.
    TorchDefault,
}

/// A seeded source of the initial values.
pub(crate) struct Sampler {
    rng: rand::rngs::StdRng,
}

impl Sampler {
    pub(crate) fn new(seed: u64) -> Self {
        Sampler {
            rng: rand::rngs::StdRng::seed_from_u64(seed),
        }
    }

    fn uniform(&mut self, a: f64) -> f64 {
        if a == 0.0 {
            0.0
        } else {
            self.rng.random_range(-a..a)
        }
    }

    /// A standard normal draw (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1: f64 = 1.0 - self.rng.random::<f64>(); // in (0, 1]
        let u2: f64 = self.rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Fills a layer's weights and biases.
    pub(crate) fn layer(
        &mut self,
        init: Init,
        fan_in: usize,
        fan_out: usize,
        w: &mut [f64],
        b: &mut [f64],
    ) {
        let (i, o) = (fan_in as f64, fan_out as f64);
        let mut bias_bound = 0.0;
        match init {
            Init::GlorotUniform => w
                .iter_mut()
                .for_each(|v| *v = self.uniform((6.0 / (i + o)).sqrt())),
            Init::GlorotNormal => w
                .iter_mut()
                .for_each(|v| *v = self.normal() * (2.0 / (i + o)).sqrt()),
            Init::HeUniform => w
                .iter_mut()
                .for_each(|v| *v = self.uniform((6.0 / i).sqrt())),
            Init::HeNormal => w
                .iter_mut()
                .for_each(|v| *v = self.normal() * (2.0 / i).sqrt()),
            Init::Uniform(a) => w.iter_mut().for_each(|v| *v = self.uniform(a)),
            Init::TorchDefault => {
                bias_bound = 1.0 / i.sqrt();
                w.iter_mut().for_each(|v| *v = self.uniform(bias_bound));
            }
        }
        b.iter_mut().for_each(|v| *v = self.uniform(bias_bound));
    }
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Init::GlorotUniform => f.write_str("glorot-uniform"),
            Init::GlorotNormal => f.write_str("glorot-normal"),
            Init::HeUniform => f.write_str("he-uniform"),
            Init::HeNormal => f.write_str("he-normal"),
            Init::Uniform(a) => write!(f, "uniform({a})"),
            Init::TorchDefault => f.write_str("torch-default"),
        }
    }
}
