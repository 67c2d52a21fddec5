//! Forward-mode dual numbers written for the tests, independently of the
//! library: each derivative below is derived by hand here, not taken from
//! `autodiff::rules`, so that agreement with the tape is evidence.

use autodiff::Real;
use std::cmp::Ordering;
use std::fmt;
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// `v + d e`, `e^2 = 0`.
#[derive(Clone, Copy, Debug)]
pub struct Fwd {
    pub v: f64,
    pub d: f64,
}

impl Fwd {
    pub fn var(v: f64, d: f64) -> Self {
        Fwd { v, d }
    }
    fn chain(self, v: f64, dv: f64) -> Self {
        Fwd { v, d: dv * self.d }
    }
}

impl PartialEq for Fwd {
    fn eq(&self, o: &Self) -> bool {
        self.v == o.v
    }
}
impl PartialOrd for Fwd {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        self.v.partial_cmp(&o.v)
    }
}
impl Add for Fwd {
    type Output = Fwd;
    fn add(self, o: Fwd) -> Fwd {
        Fwd {
            v: self.v + o.v,
            d: self.d + o.d,
        }
    }
}
impl Sub for Fwd {
    type Output = Fwd;
    fn sub(self, o: Fwd) -> Fwd {
        Fwd {
            v: self.v - o.v,
            d: self.d - o.d,
        }
    }
}
impl Mul for Fwd {
    type Output = Fwd;
    // (uv)' = u'v + uv'
    fn mul(self, o: Fwd) -> Fwd {
        Fwd {
            v: self.v * o.v,
            d: self.d * o.v + self.v * o.d,
        }
    }
}
impl Div for Fwd {
    type Output = Fwd;
    // (u/v)' = (u'v - uv') / v^2
    fn div(self, o: Fwd) -> Fwd {
        Fwd {
            v: self.v / o.v,
            d: (self.d * o.v - self.v * o.d) / (o.v * o.v),
        }
    }
}
impl Neg for Fwd {
    type Output = Fwd;
    fn neg(self) -> Fwd {
        Fwd {
            v: -self.v,
            d: -self.d,
        }
    }
}
impl AddAssign for Fwd {
    fn add_assign(&mut self, o: Fwd) {
        *self = *self + o;
    }
}
impl SubAssign for Fwd {
    fn sub_assign(&mut self, o: Fwd) {
        *self = *self - o;
    }
}
impl MulAssign for Fwd {
    fn mul_assign(&mut self, o: Fwd) {
        *self = *self * o;
    }
}
impl DivAssign for Fwd {
    fn div_assign(&mut self, o: Fwd) {
        *self = *self / o;
    }
}
impl Sum for Fwd {
    fn sum<I: Iterator<Item = Fwd>>(it: I) -> Fwd {
        it.fold(Fwd::from_f64(0.0), |a, b| a + b)
    }
}
impl<'a> Sum<&'a Fwd> for Fwd {
    fn sum<I: Iterator<Item = &'a Fwd>>(it: I) -> Fwd {
        it.copied().sum()
    }
}
impl Product for Fwd {
    fn product<I: Iterator<Item = Fwd>>(it: I) -> Fwd {
        it.fold(Fwd::from_f64(1.0), |a, b| a * b)
    }
}
impl<'a> Product<&'a Fwd> for Fwd {
    fn product<I: Iterator<Item = &'a Fwd>>(it: I) -> Fwd {
        it.copied().product()
    }
}
impl fmt::Display for Fwd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} + {}e", self.v, self.d)
    }
}

impl Real for Fwd {
    fn from_f64(c: f64) -> Self {
        Fwd { v: c, d: 0.0 }
    }
    // dy = sum_i (dy/dx_i) dx_i
    fn with_partials(y: Self, terms: &[(Self, Self)]) -> Self {
        Fwd {
            v: y.v,
            d: terms.iter().map(|(x, p)| p.v * x.d).sum(),
        }
    }
    fn to_f64(self) -> f64 {
        self.v
    }
    fn powi(self, n: i32) -> Self {
        let dv = if n == 0 {
            0.0
        } else {
            n as f64 * self.v.powi(n - 1)
        };
        self.chain(self.v.powi(n), dv)
    }
    // (u^w)' = u^w (w' ln u + w u' / u)
    fn powf(self, e: Self) -> Self {
        let y = self.v.powf(e.v);
        let d = if self.v == 0.0 {
            e.v * self.v.powf(e.v - 1.0) * self.d
        } else {
            y * (e.d * self.v.ln() + e.v * self.d / self.v)
        };
        Fwd { v: y, d }
    }
    fn exp(self) -> Self {
        self.chain(self.v.exp(), self.v.exp())
    }
    // (e^x - 1)' = e^x
    fn exp_m1(self) -> Self {
        self.chain(self.v.exp_m1(), self.v.exp())
    }
    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v)
    }
    fn ln_1p(self) -> Self {
        self.chain(self.v.ln_1p(), 1.0 / (1.0 + self.v))
    }
    // log2 x = ln x / ln 2
    fn log2(self) -> Self {
        self.chain(self.v.log2(), 1.0 / (self.v * 2f64.ln()))
    }
    // log10 x = ln x / ln 10
    fn log10(self) -> Self {
        self.chain(self.v.log10(), 1.0 / (self.v * 10f64.ln()))
    }
    fn sqrt(self) -> Self {
        self.chain(self.v.sqrt(), 0.5 / self.v.sqrt())
    }
    // (x^(1/3))' = x^(-2/3) / 3 = |x|^(-2/3) / 3 for either sign (even
    // power): +inf at 0
    fn cbrt(self) -> Self {
        self.chain(self.v.cbrt(), self.v.abs().powf(-2.0 / 3.0) / 3.0)
    }
    // (x^-1)' = -x^-2
    fn recip(self) -> Self {
        self.chain(1.0 / self.v, -1.0 / (self.v * self.v))
    }
    // asin' = 1 / cos(asin x) = 1 / sqrt(1 - x^2)
    fn asin(self) -> Self {
        self.chain(self.v.asin(), 1.0 / (1.0 - self.v * self.v).sqrt())
    }
    // acos = pi/2 - asin
    fn acos(self) -> Self {
        self.chain(self.v.acos(), -1.0 / (1.0 - self.v * self.v).sqrt())
    }
    // atan' = cos^2(atan x) = 1 / (1 + x^2)
    fn atan(self) -> Self {
        self.chain(self.v.atan(), 1.0 / (1.0 + self.v * self.v))
    }
    // theta = atan2(y, x): d theta = (x dy - y dx) / (x^2 + y^2)
    fn atan2(self, x: Self) -> Self {
        let r2 = self.v * self.v + x.v * x.v;
        Fwd {
            v: self.v.atan2(x.v),
            d: (x.v * self.d - self.v * x.d) / r2,
        }
    }
    // h^2 = a^2 + b^2: 2 h dh = 2 a da + 2 b db; dh = 0 at the origin
    // (the library's convention)
    fn hypot(self, o: Self) -> Self {
        let h = (self.v * self.v + o.v * o.v).sqrt();
        let d = if h == 0.0 {
            0.0
        } else {
            (self.v * self.d + o.v * o.d) / h
        };
        Fwd {
            v: self.v.hypot(o.v),
            d,
        }
    }
    // sinh' = (e^x + e^-x) / 2
    fn sinh(self) -> Self {
        let (e, f) = (self.v.exp(), (-self.v).exp());
        self.chain(self.v.sinh(), 0.5 * (e + f))
    }
    // cosh' = (e^x - e^-x) / 2
    fn cosh(self) -> Self {
        let (e, f) = (self.v.exp(), (-self.v).exp());
        self.chain(self.v.cosh(), 0.5 * (e - f))
    }
    fn sin(self) -> Self {
        self.chain(self.v.sin(), self.v.cos())
    }
    fn cos(self) -> Self {
        self.chain(self.v.cos(), -self.v.sin())
    }
    // tan' = 1 / cos^2
    fn tan(self) -> Self {
        self.chain(self.v.tan(), 1.0 / (self.v.cos() * self.v.cos()))
    }
    // tanh' = 1 / cosh^2
    fn tanh(self) -> Self {
        self.chain(self.v.tanh(), 1.0 / (self.v.cosh() * self.v.cosh()))
    }
    fn abs(self) -> Self {
        let s = if self.v > 0.0 {
            1.0
        } else if self.v < 0.0 {
            -1.0
        } else {
            0.0
        };
        self.chain(self.v.abs(), s)
    }
    fn min(self, o: Self) -> Self {
        if o.v < self.v {
            o
        } else {
            self
        }
    }
    fn max(self, o: Self) -> Self {
        if o.v > self.v {
            o
        } else {
            self
        }
    }
    // S = 1 / (1 + e^-x), S' = e^-x / (1 + e^-x)^2
    fn sigmoid(self) -> Self {
        let e = (-self.v).exp();
        self.chain(1.0 / (1.0 + e), e / ((1.0 + e) * (1.0 + e)))
    }
    // ln(1 + e^x)' = e^x / (1 + e^x) = 1 / (1 + e^-x)
    fn softplus(self) -> Self {
        self.chain(self.v.exp().ln_1p(), 1.0 / (1.0 + (-self.v).exp()))
    }
    // erf' = 2/sqrt(pi) e^(-x^2) (the value from the library's f64, which
    // is libm's); silu, gelu and leaky_relu are the trait's compositions.
    fn erf(self) -> Self {
        let d = 2.0 / std::f64::consts::PI.sqrt() * (-self.v * self.v).exp();
        self.chain(Real::erf(self.v), d)
    }
    // erfc' = -erf'
    fn erfc(self) -> Self {
        let d = -2.0 / std::f64::consts::PI.sqrt() * (-self.v * self.v).exp();
        self.chain(Real::erfc(self.v), d)
    }
    fn relu_with(self, at_zero: f64) -> Self {
        if self.v > 0.0 {
            self
        } else if self.v == 0.0 {
            Fwd {
                v: 0.0,
                d: at_zero * self.d,
            }
        } else {
            Fwd { v: 0.0, d: 0.0 }
        }
    }
}
