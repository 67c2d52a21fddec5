//! Gradient checking by central finite differences, for users' own
//! functions and gradients.
//!
//! Two probes, both in `f64`:
//! - per coordinate: `(f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)` against
//!   `g_i`, with `h_i = h max(1, |x_i|)`;
//! - along random directions (seeded), which catch errors that cancel in
//!   no coordinate: for a random unit vector `u`, the direction `d` with
//!   `d_i = max(1, |x_i|) u_i` (each coordinate stepped by its own scale, as
//!   in the per-coordinate probe, so that one large coordinate does not
//!   make the step along the others coarse), and
//!   `(f(x + h d) - f(x - h d)) / (2 h)` against `<g, d>`.
//!
//! Each analytic value `a` is compared with its numerical estimate `n` by
//! the mixed tolerance
//!
//! ```text
//! |a - n| <= atol + rtol |n|
//! ```
//!
//! and the report names the worst probe (largest `|a - n| / (atol + rtol
//! |n|)`), with both values. A probe out of tolerance is estimated again
//! before it counts as a failure, by Richardson extrapolation with the
//! quotient at twice the step: `n' = (4 D(h) - D(2 h)) / 3`, whose error
//! is `O(h^4)` instead of `O(h^2)`, and it passes if `n'` is within
//! tolerance (the report then shows `n'`). So a steep function, whose
//! central quotient's own error exceeds the tolerance, does not fail a
//! right gradient; a wrong one still fails both estimates. Unless `f`
//! varies on a scale below the step itself (`sin` at `|x| = 1e6`, where
//! the relative step is 1): no quotient at that step is right, and a
//! failure within the estimate's change between the two steps
//! ([`Comparison::step_change`]), where the extrapolation does not settle
//! (a third quotient at four times the step), is reported as possibly the
//! step's. Rounding is the
//! other error of a quotient, `O(eps |f| / h)`: each comparison carries its
//! estimate ([`Comparison::rounding`]), and a failure within reach of it is
//! reported as a step too small for `f`'s magnitude. A NaN or infinite value on either side fails
//! the check and is reported (an overflowing difference quotient checks
//! nothing).
//! Check away from kinks (ReLU or `|x|` at 0, ties of `min`/`max`): there the
//! one-sided derivatives differ and no finite difference agrees with both.
//!
//! # Jacobians and second derivatives
//! Row `i` of a [`jacobian`](crate::jacobian) is the gradient of output
//! `i`, and row `i` of a [`hessian`](crate::hessian) the gradient of the
//! gradient's entry `i`: [`gradcheck_fn`] checks each (what PyTorch's
//! `gradgradcheck` and JAX's `check_grads` with `order=2` do). Write the
//! function as a generic `fn`, so that it serves `grad`, `hessian` and the
//! plain `f64` evaluation alike. A primitive of one's own
//! ([`Real::with_partials`](crate::Real::with_partials)) whose partials
//! were made by `from_f64` is right to first order only; this sees it:
//!
//! ```
//! use autodiff::{gradcheck_fn, GradcheckConfig, Real};
//! let cfg = GradcheckConfig::default();
//! let x = [0.3, -0.8];
//! fn v<T: Real>(x: &[T]) -> Vec<T> { vec![x[0] * x[1], x[1].tanh()] }
//! let j = autodiff::jacobian(|x| v(x), &x)?;
//! for i in 0..2 {
//!     gradcheck_fn(|p: &[f64]| v(p)[i], j.row(i), &x, &cfg)?.assert_passed();
//! }
//! fn f<T: Real>(x: &[T]) -> T { (x[0] * x[1]).sin() + x[1].exp() }
//! let h = autodiff::hessian(|x| f(x), &x)?;
//! for i in 0..2 {
//!     let grad_i = |p: &[f64]| autodiff::grad(|y| f(y), p).unwrap()[i];
//!     gradcheck_fn(grad_i, h.row(i), &x, &cfg)?.assert_passed();
//! }
//! // exp as a primitive of one's own, its partial a constant to second order.
//! fn my_exp<T: Real>(x: T) -> T {
//!     let e = T::from_f64(x.to_f64().exp());
//!     T::with_partials(e, &[(x, e)])
//! }
//! let h = autodiff::hessian(|x| my_exp(x[0]), &[0.5])?;
//! let grad_0 = |p: &[f64]| autodiff::grad(|y| my_exp(y[0]), p).unwrap()[0];
//! assert!(!gradcheck_fn(grad_0, h.row(0), &[0.5], &cfg)?.passed());
//! # Ok::<(), autodiff::Error>(())
//! ```

use crate::{Error, Mat, Matrix, PVar, Result, Shape, Tape, Var};
use rand::{Rng, SeedableRng};
use std::fmt;

/// Settings of a gradient check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradcheckConfig {
    /// Relative finite-difference step `h` (default `1e-6`; the central
    /// quotient's error is `O(h^2)` plus rounding `O(eps |f| / h)`: where
    /// `|f|` is large the rounding alone can exceed `atol`, so scale `f` or
    /// loosen the tolerances; near the edge of `f`'s domain, such as `ln`
    /// at `1e-7`, a step of `h max(1, |x_i|)` may leave it and give NaN;
    /// where `f` varies on a scale below `h |x_i|`, such as `sin` at `|x_i|
    /// = 1e6`, no quotient is right and this must be lowered: the report
    /// says so, see [`Comparison::step_change`]).
    pub step: f64,
    /// Absolute tolerance (default `1e-6`). A derivative below it passes
    /// whatever the gradient says (`0` where it is `2e-8` passes): for a
    /// function whose derivatives are that small, scale it or lower this
    /// (at `0`, a derivative that is exactly 0 must be estimated as exactly
    /// 0, which rounding in `f` may not allow).
    pub atol: f64,
    /// Relative tolerance (default `1e-5`).
    pub rtol: f64,
    /// Number of random directions probed (default 4).
    pub directions: usize,
    /// Whether every coordinate is probed (default true; costs `2 n`
    /// evaluations). With no coordinates and no directions nothing would
    /// be checked: that configuration is an error.
    pub per_coordinate: bool,
    /// Seed of the random directions.
    pub seed: u64,
}

impl GradcheckConfig {
    /// An error unless this configuration makes at least one probe with a
    /// positive finite step and non-negative tolerances.
    fn validate(&self) -> Result<()> {
        let bad = |what, value, range| Err(Error::OutOfRange { what, value, range });
        if !self.per_coordinate && self.directions == 0 {
            return bad(
                "gradcheck: number of probes (per_coordinate false, directions)",
                0.0,
                "at least 1: a check with no probes checks nothing",
            );
        }
        if !(self.step > 0.0 && self.step.is_finite()) {
            return bad("gradcheck: step", self.step, "(0, inf)");
        }
        if self.atol.is_nan() || self.atol < 0.0 {
            return bad("gradcheck: atol", self.atol, "[0, inf]");
        }
        if self.rtol.is_nan() || self.rtol < 0.0 {
            return bad("gradcheck: rtol", self.rtol, "[0, inf]");
        }
        Ok(())
    }
}

impl Default for GradcheckConfig {
    fn default() -> Self {
        GradcheckConfig {
            step: 1e-6,
            atol: 1e-6,
            rtol: 1e-5,
            directions: 4,
            per_coordinate: true,
            seed: 0,
        }
    }
}

/// What a probe compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Probe {
    /// The partial derivative with respect to coordinate `i`.
    Coordinate(usize),
    /// The directional derivative along the `k`-th random direction.
    Direction(usize),
}

/// One comparison of an analytic derivative with its finite-difference
/// estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// What was compared.
    pub probe: Probe,
    /// The derivative from the gradient under test.
    pub analytic: f64,
    /// The central finite-difference estimate.
    pub numeric: f64,
    /// `|analytic - numeric|`.
    pub error: f64,
    /// `atol + rtol |numeric|`.
    pub tolerance: f64,
    /// The rounding error of the numeric estimate if `f`'s values were
    /// correctly rounded (each within `eps / 2` of its magnitude, `eps =
    /// f64::EPSILON`): `r(t) = eps / 2 (|f(x + t d)| + |f(x - t d)|) / (2 t)`
    /// for the central quotient `D(t)` at step `t`, and for the
    /// extrapolated estimate `(4 D(t) - D(2 t)) / 3` the bound of that
    /// combination, `(4 r(t) + r(2 t)) / 3` (only a comparison that passed
    /// carries it: a failure keeps the first quotient). A computed `f`
    /// rounds more, by a few orders of magnitude after many operations. A
    /// failure whose error is within a thousand times this is reported as
    /// possibly rounding rather than a wrong gradient: the step is too
    /// small for `f`'s magnitude; raise [`GradcheckConfig::step`] or
    /// compute `f` without its large constant part (scaling `f` scales its
    /// derivative, and the error, with it).
    pub rounding: f64,
    /// How much the numeric estimate moves when its step doubles, `|D(t) -
    /// D(2 t)|`: 0 when the first quotient passed (no second is taken), and
    /// 0 for a failure where the extrapolation settles (the one from the
    /// quotients at `2 t` and `4 t` is within the failure's error of the
    /// one from `t` and `2 t`: the step resolves `f`, the error is the
    /// gradient's). A
    /// failure whose error is within it, where rounding cannot explain it
    /// (it exceeds a thousand times [`rounding`](Self::rounding)), is
    /// reported as possibly the step's: `f` varies on a scale below the
    /// step (`sin` at `|x| = 1e6`, where the relative step is 1), so lower
    /// [`GradcheckConfig::step`].
    pub step_change: f64,
}

impl Comparison {
    /// `error / tolerance`, how far out of tolerance: above 1 fails. 0 for
    /// an exact match (also at tolerance 0); infinite for a comparison that
    /// failed on a NaN or infinite value.
    pub fn ratio(&self) -> f64 {
        let r = self.error / self.tolerance;
        match (self.passed(), r.is_finite()) {
            (true, _) if self.error == 0.0 => 0.0,
            (true, _) => r,
            (false, true) if r > 1.0 => r,
            (false, _) => f64::INFINITY,
        }
    }

    /// Whether this comparison is within tolerance: false when either value
    /// is NaN or infinite (an overflowing difference quotient, with an
    /// infinite tolerance, checks nothing).
    pub fn passed(&self) -> bool {
        self.analytic.is_finite() && self.numeric.is_finite() && self.error <= self.tolerance
    }
}

/// The outcome of a gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckReport {
    /// The value `f(x)`.
    pub value: f64,
    /// Number of comparisons made.
    pub probes: usize,
    /// Number of comparisons out of tolerance (NaN included).
    pub failures: usize,
    /// The coordinate with the largest error relative to its tolerance.
    pub worst_coordinate: Option<Comparison>,
    /// The random direction with the largest error relative to its
    /// tolerance.
    pub worst_direction: Option<Comparison>,
    /// Every comparison out of tolerance, in the order made (coordinates,
    /// then directions): where the gradient is wrong, not only the worst.
    pub failed: Vec<Comparison>,
    /// For [`gradcheck_mats`]: the inputs' shapes, which name a coordinate
    /// by its input and entry ([`matrix_entry`](Self::matrix_entry));
    /// empty otherwise.
    pub shapes: Vec<Shape>,
}

impl GradcheckReport {
    /// The comparison with the largest error relative to its tolerance.
    pub fn worst(&self) -> Option<Comparison> {
        match (self.worst_coordinate, self.worst_direction) {
            (Some(c), Some(d)) => Some(if d.ratio() > c.ratio() { d } else { c }),
            (c, d) => c.or(d),
        }
    }

    /// For a report of [`gradcheck_mats`], coordinate `i` as `(input, row,
    /// column)`: entry `(row, column)` of input `input`. `None` for another
    /// report or a coordinate past the inputs.
    ///
    /// ```
    /// use autodiff::{gradcheck_mats, GradcheckConfig, Matrix};
    /// let a = Matrix::new(2, 3, vec![0.1; 6])?;
    /// let b = Matrix::new(3, 2, vec![0.2; 6])?;
    /// let r = gradcheck_mats(|m| m[0].matmul(m[1]).sum(), &[a, b], &GradcheckConfig::default())?;
    /// assert_eq!(r.matrix_entry(7), Some((1, 0, 1))); // the 2nd entry of b
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn matrix_entry(&self, i: usize) -> Option<(usize, usize, usize)> {
        let mut start = 0;
        for (input, s) in self.shapes.iter().enumerate() {
            if i < start + s.len() {
                let k = i - start;
                return Some((input, k / s.cols, k % s.cols));
            }
            start += s.len();
        }
        None
    }

    /// Whether every comparison passed and the value is finite.
    pub fn passed(&self) -> bool {
        self.failures == 0 && self.value.is_finite()
    }

    /// Panics with the report unless the check [`passed`](Self::passed):
    /// for use in tests.
    #[track_caller]
    pub fn assert_passed(&self) {
        assert!(self.passed(), "{self}");
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        // `{:?}`: a few digits at any scale (`Display` writes 1e300 out in
        // 301 digits), and the same as `Display` for ordinary values.
        write!(
            f,
            "gradcheck {verdict}: {} of {} probes out of tolerance, f(x) = {:?}",
            self.failures, self.probes, self.value
        )?;
        if !self.value.is_finite() {
            write!(f, " is not finite")?;
        }
        // The worst coordinate first (it says where to look), then the
        // worst direction.
        for w in [self.worst_coordinate, self.worst_direction]
            .into_iter()
            .flatten()
        {
            let at = self.name(w.probe);
            // Which side failed, where it is not the comparison itself.
            let verdict = if w.passed() {
                "within tolerance"
            } else if !w.analytic.is_finite() {
                "out of tolerance: the gradient is not finite"
            } else if !w.numeric.is_finite() {
                "out of tolerance: the difference quotient is not finite (f is NaN, infinite \
                 or overflowing within a step of x)"
            } else {
                "out of tolerance"
            };
            write!(
                f,
                "; worst {at}: analytic {:e}, numeric {:e}, |difference| {:e} against tolerance {:e} ({verdict})",
                w.analytic, w.numeric, w.error, w.tolerance
            )?;
            let failed = !w.passed() && w.error.is_finite();
            if failed && w.error <= ROUNDING_HINT * w.rounding {
                write!(
                    f,
                    " [the numeric estimate rounds by {:e} even for a correctly rounded f: \
                     the difference may be rounding, not the gradient; raise the step or compute f \
                     without its large constant part]",
                    w.rounding
                )?;
            } else if failed && w.error <= w.step_change {
                write!(
                    f,
                    " [the numeric estimate moves by {:e} when its step doubles: f varies on a \
                     scale below the step (h max(1, |x_i|)), so the difference may be the step's, \
                     not the gradient's; lower the step]",
                    w.step_change
                )?;
            }
        }
        // Where else: the failed coordinates (the directions mix them).
        let coordinates: Vec<String> = self
            .failed
            .iter()
            .filter(|c| matches!(c.probe, Probe::Coordinate(_)))
            .map(|c| self.name(c.probe))
            .collect();
        if coordinates.len() > 1 {
            const SHOWN: usize = 8;
            write!(
                f,
                "; failed coordinates: {}{}",
                coordinates[..coordinates.len().min(SHOWN)].join(", "),
                if coordinates.len() > SHOWN {
                    format!(" and {} more", coordinates.len() - SHOWN)
                } else {
                    String::new()
                }
            )?;
        }
        Ok(())
    }
}

/// A failed comparison whose error is within this factor of its least
/// rounding error gets the report's hint that the step may be too small:
/// an `f` of many operations rounds a few orders of magnitude above one
/// `eps` of its value.
const ROUNDING_HINT: f64 = 1e3;

impl GradcheckReport {
    /// `coordinate 3` (with its input and entry for [`gradcheck_mats`]),
    /// `random direction 1`.
    fn name(&self, probe: Probe) -> String {
        match probe {
            Probe::Coordinate(i) => match self.matrix_entry(i) {
                Some((m, r, c)) => format!("coordinate {i} (input {m}, entry ({r}, {c}))"),
                None => format!("coordinate {i}"),
            },
            Probe::Direction(k) => format!("random direction {k}"),
        }
    }
}

/// Where a probe steps from `x`: one coordinate by the step, or along a
/// direction.
#[derive(Clone, Copy)]
enum Step<'a> {
    Coordinate(usize),
    Along(&'a [f64]),
}

/// Checks a gradient `grad` of `f` at `x` that came from anywhere (a
/// hand-written formula, another library, the tape).
///
/// ```
/// use autodiff::{gradcheck_fn, GradcheckConfig};
/// let f = |x: &[f64]| x[0].sin() * x[1];
/// let x = [0.3, 2.0];
/// let good = [0.3_f64.cos() * 2.0, 0.3_f64.sin()];
/// assert!(gradcheck_fn(f, &good, &x, &GradcheckConfig::default()).unwrap().passed());
/// let bad = [good[0], 2.0 * good[1]];
/// let report = gradcheck_fn(f, &bad, &x, &GradcheckConfig::default()).unwrap();
/// assert!(!report.passed());
/// println!("{report}"); // names the worst coordinate with both values
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty; [`Error::LengthMismatch`] unless
/// `grad` has the length of `x`; [`Error::OutOfRange`] for a configuration
/// that checks nothing or cannot check (no probes; a step that is not
/// positive and finite; a negative or NaN tolerance).
pub fn gradcheck_fn(
    f: impl Fn(&[f64]) -> f64,
    grad: &[f64],
    x: &[f64],
    config: &GradcheckConfig,
) -> Result<GradcheckReport> {
    if x.is_empty() {
        return Err(Error::EmptyInput { what: "gradcheck" });
    }
    if grad.len() != x.len() {
        return Err(Error::LengthMismatch {
            what: "gradcheck (gradient)",
            expected: x.len(),
            got: grad.len(),
        });
    }
    config.validate()?;
    let mut report = GradcheckReport {
        value: f(x),
        probes: 0,
        failures: 0,
        worst_coordinate: None,
        worst_direction: None,
        failed: Vec::new(),
        shapes: Vec::new(),
    };
    let mut xp = x.to_vec();
    let compare = |probe, analytic: f64, (numeric, rounding): (f64, f64)| Comparison {
        probe,
        analytic,
        numeric,
        error: (analytic - numeric).abs(),
        tolerance: config.atol + config.rtol * numeric.abs(),
        rounding,
        step_change: 0.0,
    };
    // The central quotient along `step` with step size `t`, `(f(x + t d) -
    // f(x - t d)) / (2 t)`; out of tolerance, it is extrapolated with the
    // quotient at `2 t` (Richardson: `(4 D(t) - D(2 t)) / 3`, error
    // `O(t^4)` instead of `O(t^2)`) before it counts as a failure, so that
    // a steep `f` does not fail a right gradient. `xp` is `x` on entry and
    // on return.
    let estimate = |xp: &mut [f64], probe, analytic: f64, step: Step<'_>, t: f64| {
        let at = |xp: &mut [f64], s: f64| match step {
            // One entry written and restored: the others keep their values
            // exactly, and a coordinate probe costs no pass over `x`.
            Step::Coordinate(i) => {
                xp[i] = x[i] + s;
                let v = f(xp);
                xp[i] = x[i];
                v
            }
            Step::Along(d) => {
                for ((p, &xi), &di) in xp.iter_mut().zip(x).zip(d) {
                    *p = xi + s * di;
                }
                let v = f(xp);
                xp.copy_from_slice(x);
                v
            }
        };
        // The quotient and its least rounding error (see
        // `Comparison::rounding`).
        let mut quotient = |t: f64| {
            let (up, down) = (at(xp, t), at(xp, -t));
            // Each term on its own: `|up| + |down|` overflows where both
            // are near `f64::MAX`, and an infinite bound would put any
            // finite failure down to rounding.
            let rounding =
                (f64::EPSILON / 2.0 * up.abs() + f64::EPSILON / 2.0 * down.abs()) / (2.0 * t);
            ((up - down) / (2.0 * t), rounding)
        };
        let first = compare(probe, analytic, quotient(t));
        if first.passed() || !first.numeric.is_finite() {
            return first;
        }
        let (wide, wide_rounding) = quotient(2.0 * t);
        let extrapolated = (
            (4.0 * first.numeric - wide) / 3.0,
            (4.0 * first.rounding + wide_rounding) / 3.0,
        );
        let second = compare(probe, analytic, extrapolated);
        // The step is to blame only where the extrapolation itself has not
        // settled: with the quotient at `4 t`, the extrapolation from `2 t`
        // differs from the one from `t` by more than the failure's error.
        // Where it settles (a steep `f` the step resolves), its error is
        // the gradient's.
        let step_change = if second.passed() {
            (first.numeric - wide).abs()
        } else {
            let (widest, _) = quotient(4.0 * t);
            let unsettled = ((4.0 * wide - widest) / 3.0 - extrapolated.0).abs();
            if second.error <= unsettled {
                (first.numeric - wide).abs()
            } else {
                0.0
            }
        };
        Comparison {
            step_change,
            ..if second.passed() { second } else { first }
        }
    };
    let mut record = |c: Comparison| {
        report.probes += 1;
        if !c.passed() {
            report.failures += 1;
            report.failed.push(c);
        }
        let worst = match c.probe {
            Probe::Coordinate(_) => &mut report.worst_coordinate,
            Probe::Direction(_) => &mut report.worst_direction,
        };
        if worst.is_none_or(|w| c.ratio() > w.ratio()) {
            *worst = Some(c);
        }
    };
    if config.per_coordinate {
        for i in 0..x.len() {
            let h = config.step * x[i].abs().max(1.0);
            record(estimate(
                &mut xp,
                Probe::Coordinate(i),
                grad[i],
                Step::Coordinate(i),
                h,
            ));
        }
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let h = config.step;
    let mut u = vec![0.0; x.len()];
    for k in 0..config.directions {
        for ui in u.iter_mut() {
            *ui = rng.random_range(-1.0..1.0);
        }
        let norm = u
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        // d_i = max(1, |x_i|) u_i: each coordinate on its own scale.
        for (d, &xi) in u.iter_mut().zip(x) {
            *d = *d / norm * xi.abs().max(1.0);
        }
        let analytic: f64 = grad.iter().zip(&u).map(|(g, u)| g * u).sum();
        record(estimate(
            &mut xp,
            Probe::Direction(k),
            analytic,
            Step::Along(&u),
            h,
        ));
    }
    Ok(report)
}

/// Checks the tape's gradient of `f` at `x` against finite differences of
/// the same `f` (evaluated on constants, so nothing is recorded for them).
///
/// ```
/// use autodiff::{gradcheck, GradcheckConfig, Real};
/// fn f<T: Real>(x: &[T]) -> T { x[0].tanh() * x[1].exp() + x[1].powi(3) }
/// let report = gradcheck(|x| f(x), &[0.4, -0.7], &GradcheckConfig::default()).unwrap();
/// report.assert_passed();
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if `x` is empty; [`Error::OutOfRange`] for a
/// configuration that checks nothing or cannot check (as
/// [`gradcheck_fn`]), before anything is evaluated.
pub fn gradcheck<F>(f: F, x: &[f64], config: &GradcheckConfig) -> Result<GradcheckReport>
where
    F: for<'t> Fn(&[PVar<'t, f64>]) -> PVar<'t, f64>,
{
    config.validate()?;
    let (_, g) = crate::functional::value_and_grad_named(&f, x, "gradcheck")?;
    let plain = |p: &[f64]| {
        let c: Vec<PVar<'_, f64>> = p.iter().map(|&v| Var::constant(v)).collect();
        f(&c).value()
    };
    gradcheck_fn(plain, &g, x, config)
}

/// Checks the tape's gradient of a scalar function of matrices (a model's
/// loss, or one built on a [`Tape::custom`] primitive) at `inputs`, against
/// finite differences of the same `f` recorded on constants. Coordinate `i`
/// of the report is entry `i` of the inputs laid end to end (row-major,
/// in order); the report names it by its input and entry as well
/// ([`GradcheckReport::matrix_entry`]).
///
/// ```
/// use autodiff::{gradcheck_mats, GradcheckConfig, Mat, Matrix, Var};
/// // x^3 elementwise as a custom primitive (its rule right for slope = 3),
/// // then a weighted sum.
/// fn model<'t>(m: &[Mat<'t, f64>], slope: f64) -> Var<'t, f64> {
///     let x = m[0];
///     let y: Vec<f64> = x.to_vec().iter().map(|v| v * v * v).collect();
///     let c = x.tape().custom(&[x], x.shape(), &y, move |ctx, _, g| {
///         for ((g, &x), &gy) in g.iter_mut().zip(ctx.input(0)).zip(ctx.output_grad()) {
///             *g += slope * x * x * gy;
///         }
///     }).unwrap();
///     (c * m[1]).sum()
/// }
/// let x = Matrix::new(2, 2, vec![0.5, -1.0, 2.0, 0.1])?;
/// let w = Matrix::new(2, 2, vec![1.0, 2.0, -3.0, 0.5])?;
/// let config = GradcheckConfig::default();
/// gradcheck_mats(|m| model(m, 3.0), &[x.clone(), w.clone()], &config)?.assert_passed();
/// let wrong = gradcheck_mats(|m| model(m, 2.0), &[x, w], &config)?;
/// assert!(!wrong.passed());
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] if the inputs hold no entry; [`Error::OutOfRange`]
/// for a configuration that checks nothing or cannot check (as
/// [`gradcheck_fn`]), before anything is evaluated.
pub fn gradcheck_mats<F>(
    f: F,
    inputs: &[Matrix<f64>],
    config: &GradcheckConfig,
) -> Result<GradcheckReport>
where
    F: for<'t> Fn(&[Mat<'t, f64>]) -> Var<'t, f64>,
{
    config.validate()?;
    let flat: Vec<f64> = inputs.iter().flat_map(|m| m.as_slice()).copied().collect();
    if flat.is_empty() {
        return Err(Error::EmptyInput {
            what: "gradcheck_mats",
        });
    }
    let tape = Tape::new();
    let vars: Vec<Mat<'_, f64>> = inputs.iter().map(|m| tape.matrix(m)).collect();
    let grads = tape.backward(f(&vars));
    let g: Vec<f64> = vars.iter().flat_map(|&m| grads[m].to_vec()).collect();
    let plain = |p: &[f64]| {
        let tape = Tape::new();
        let mut start = 0;
        let consts: Vec<Mat<'_, f64>> = inputs
            .iter()
            .map(|m| {
                let n = m.shape().len();
                start += n;
                tape.mat_const(m.shape(), &p[start - n..start])
                    .expect("the lengths of the inputs' shapes")
            })
            .collect();
        f(&consts).value()
    };
    let mut report = gradcheck_fn(plain, &g, &flat, config)?;
    report.shapes = inputs.iter().map(|m| m.shape()).collect();
    Ok(report)
}
