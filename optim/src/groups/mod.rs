//! [`ParamGroups`]: one optimizer per range of the flat parameter vector,
//! each with its own hyperparameters (PyTorch's parameter groups).

mod state;

use crate::optimizer::{first_where, step_size};
use crate::{Error, Float, Optimizer, OptimizerState, Result};
use std::ops::Range;

/// An optimizer made of groups: each range of the flat parameter vector is
/// stepped by an optimizer of its own, with its own method and
/// hyperparameters, learning rate included (PyTorch's parameter groups,
/// optax's `multi_transform`).
///
/// The usual uses: a smaller learning rate for the layers of a pre-trained
/// network than for a new head; no weight decay for the biases (also
/// [`crate::DecayMask`], within one method); parameters left out of every
/// group are *frozen*: no step changes them, and their gradient is not
/// read.
///
/// Learning rates: the first group's is the optimizer's
/// [`learning_rate`](Optimizer::learning_rate), and each group keeps the
/// ratio `lr_scale = lr_g / lr_0` of the rates it was built with.
/// [`set_learning_rate(lr)`](Optimizer::set_learning_rate) (a
/// [`crate::Schedule`]'s) gives group `g` the rate `lr * lr_scale_g`, as
/// PyTorch's schedulers scale every group's rate by the same factor.
///
/// Every group steps on every [`step`](Optimizer::step): each entry of a
/// group moves bitwise as the group's optimizer alone would move it on the
/// group's slice. The checks (lengths, finite gradient in the groups, the
/// step counter, then every group's [`Optimizer::check`]: a
/// [`crate::DecayMask`] past its range, a second moment that would
/// overflow) run before any group steps, so a step this crate's methods
/// refuse moves no group. An optimizer of one's own may refuse a step its
/// `check` passed (the trait's default passes everything): before the
/// first step that succeeds, the groups stepped before it are undone;
/// later they stay stepped, since undoing them would take a copy of every
/// state at every step (`nn`'s `Trainer`, which keeps one per epoch, puts
/// everything back as at the epoch's start).
///
/// ```
/// use optim::{Adam, Optimizer, ParamGroups, Sgd};
/// // Entries 0..4 are a layer's weights, 4..6 its biases, 6..8 frozen.
/// let mut opt = ParamGroups::new()
///     .group(0..4, Adam::new(0.1, 0.9, 0.999, 1e-8)?)?
///     .group(4..6, Sgd::new(0.01)?)?;
/// let mut w = [1.0f64; 8];
/// opt.step(&mut w, &[1.0; 8])?;
/// assert!((w[0] - 0.9).abs() < 1e-7); // Adam's first step: about lr * sign(g)
/// assert_eq!(w[4], 1.0 - 0.01); // plain SGD
/// assert_eq!(w[6], 1.0); // frozen
/// opt.set_learning_rate(0.05)?; // the groups keep their ratio, 10:1
/// assert_eq!(opt.group_learning_rate(1), Some(0.005));
/// # Ok::<(), optim::Error>(())
/// ```
///
/// # State
/// [`state`](Optimizer::state) records, besides the step counter and the
/// first group's learning rate:
/// - `params`, the parameters' length once a step has fixed it (restored:
///   a resumed run refuses another length, also where no group keeps a
///   buffer);
/// - the settings `groups` (their number) and, for group `g`,
///   `group{g}.start`, `group{g}.end`, `group{g}.lr_scale`,
///   `group{g}.method.{name}` (1; names the group's method) and the
///   group's own settings as `group{g}.{setting}`; these must match for a
///   state to load;
/// - `group{g}.learning_rate`, the group's current rate (state, not
///   compared: it is restored);
/// - each group's buffers as `group{g}.{buffer}`, one entry per parameter
///   as every [`OptimizerState`] buffer: the group's values on its range,
///   zero elsewhere. (So a state of `k` groups holds `k` times the
///   buffers of one method over all the parameters.)
pub struct ParamGroups<T: Float> {
    groups: Vec<Group<T>>,
    /// The parameters' length, fixed by the first step (or a loaded state).
    len: Option<usize>,
    /// The groups' rates before `set_learning_rate`, to undo it: kept, so
    /// that a schedule's every step allocates nothing.
    old_rates: Vec<f64>,
}

/// One group: its range, its optimizer and its learning rate's ratio to the
/// first group's.
struct Group<T: Float> {
    range: Range<usize>,
    optimizer: Box<dyn Optimizer<T>>,
    lr_scale: f64,
}

impl<T: Float> std::fmt::Debug for ParamGroups<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for g in &self.groups {
            list.entry(&format_args!(
                "{:?}: {} (lr {}, scale {})",
                g.range,
                g.optimizer.name(),
                g.optimizer.learning_rate(),
                g.lr_scale
            ));
        }
        list.finish()
    }
}

impl<T: Float> Default for ParamGroups<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> ParamGroups<T> {
    /// The name written into states: `"param_groups"`.
    pub const NAME: &'static str = "param_groups";

    /// No group yet; add them with [`group`](Self::group). Stepping an
    /// optimizer without groups changes nothing.
    pub fn new() -> Self {
        ParamGroups {
            groups: Vec::new(),
            len: None,
            old_rates: Vec::new(),
        }
    }

    /// Adds a group: `optimizer` steps the entries `range` of the
    /// parameters. Its learning rate, divided by the first group's, is the
    /// group's `lr_scale`.
    ///
    /// # Errors
    /// [`Error::InvalidGroup`] for an empty or reversed range, one that
    /// overlaps an earlier group's, an optimizer that has already stepped
    /// (give each group a fresh one; resume with
    /// [`load_state`](Optimizer::load_state) on the groups), or a first
    /// group whose learning rate is not `> 0` (the others' are scaled from
    /// it).
    pub fn group(
        mut self,
        range: Range<usize>,
        optimizer: impl Optimizer<T> + 'static,
    ) -> Result<Self> {
        self.push(range, Box::new(optimizer))?;
        Ok(self)
    }

    /// [`group`](Self::group) for an optimizer chosen at run time
    /// ([`crate::by_name`], [`crate::Builder`]).
    ///
    /// # Errors
    /// As [`group`](Self::group).
    pub fn boxed_group(
        mut self,
        range: Range<usize>,
        optimizer: Box<dyn Optimizer<T>>,
    ) -> Result<Self> {
        self.push(range, optimizer)?;
        Ok(self)
    }

    fn push(&mut self, range: Range<usize>, optimizer: Box<dyn Optimizer<T>>) -> Result<()> {
        let group = self.groups.len();
        let invalid = |reason: String| Error::InvalidGroup {
            group,
            start: range.start,
            end: range.end,
            reason,
        };
        if range.start >= range.end {
            return Err(invalid("expected a non-empty range, start < end".into()));
        }
        if let Some((k, g)) = self
            .groups
            .iter()
            .enumerate()
            .find(|(_, g)| g.range.start < range.end && range.start < g.range.end)
        {
            return Err(invalid(format!(
                "it overlaps group {k} ({:?}); expected disjoint groups",
                g.range
            )));
        }
        if optimizer.steps() != 0 {
            return Err(invalid(format!(
                "its {} optimizer has taken {} steps; expected a fresh one (load a state into the groups to resume)",
                optimizer.name(),
                optimizer.steps()
            )));
        }
        let lr = optimizer.learning_rate();
        let lr_scale = match self.groups.first() {
            None if lr.is_finite() && lr > 0.0 => 1.0,
            None => {
                return Err(invalid(format!(
                    "the first group's learning rate is {lr}; expected it finite and > 0 (the others are scaled from it)"
                )))
            }
            Some(first) => lr / first.optimizer.learning_rate(),
        };
        self.groups.push(Group {
            range,
            optimizer,
            lr_scale,
        });
        self.old_rates.reserve(self.groups.len());
        Ok(())
    }

    /// The number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there is no group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Group `g`'s range, if there is a group `g`.
    pub fn group_range(&self, g: usize) -> Option<Range<usize>> {
        self.groups.get(g).map(|g| g.range.clone())
    }

    /// Group `g`'s optimizer, if there is a group `g`.
    pub fn group_optimizer(&self, g: usize) -> Option<&dyn Optimizer<T>> {
        self.groups.get(g).map(|g| g.optimizer.as_ref())
    }

    /// Group `g`'s current learning rate, if there is a group `g`.
    pub fn group_learning_rate(&self, g: usize) -> Option<f64> {
        self.groups.get(g).map(|g| g.optimizer.learning_rate())
    }

    /// Group `g`'s learning rate over the first group's, fixed when the
    /// group was added.
    pub fn group_lr_scale(&self, g: usize) -> Option<f64> {
        self.groups.get(g).map(|g| g.lr_scale)
    }

    /// The parameters' length fits the groups and, once fixed, is the same.
    fn check_len(&self, len: usize) -> Result<()> {
        if let Some(n) = self.len {
            if n != len {
                return Err(Error::LengthMismatch {
                    optimizer: Self::NAME,
                    what: "parameters (state allocated on an earlier step)".into(),
                    expected: n,
                    got: len,
                });
            }
        }
        self.fits(len)
    }

    /// Group `g`'s error, with the group named.
    fn in_group(&self, g: usize, source: Error) -> Error {
        Error::Group {
            group: g,
            start: self.groups[g].range.start,
            end: self.groups[g].range.end,
            source: Box::new(source),
        }
    }
}

impl<T: Float> Optimizer<T> for ParamGroups<T> {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        if grads.len() != params.len() {
            return Err(Error::LengthMismatch {
                optimizer: Self::NAME,
                what: "gradient".into(),
                expected: params.len(),
                got: grads.len(),
            });
        }
        self.check_len(params.len())?;
        if self.steps() == u64::MAX {
            return Err(Error::StepCount {
                optimizer: Self::NAME,
                got: u64::MAX,
            });
        }
        // Frozen entries' gradient is not read.
        for g in &self.groups {
            let r = g.range.clone();
            if let Some(i) = first_where(r.len(), |k| !grads[r.start + k].is_finite()) {
                return Err(Error::NonFiniteGradient {
                    optimizer: Self::NAME,
                    index: r.start + i,
                    value: grads[r.start + i].to_f64(),
                });
            }
        }
        // Then each group's own checks (a moment that would overflow, a
        // decay mask past the group's range): a refused step moves no group.
        for (k, g) in self.groups.iter().enumerate() {
            let r = g.range.clone();
            g.optimizer
                .check(&params[r.clone()], &grads[r])
                .map_err(|e| self.in_group(k, e))?;
        }
        Ok(())
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()> {
        Optimizer::check(self, params, grads)?;
        // An optimizer of one's own may still refuse a step its `check`
        // passed. Until a step has succeeded (since construction, a reset or
        // a state loaded without buffers, whatever its step counter), the
        // groups before it are then undone, to the states they held.
        let first = (self.len.is_none() || self.steps() == 0) && self.groups.len() > 1;
        let (before, saved) = if first {
            let saved: Vec<_> = self.groups.iter().map(|g| g.optimizer.state()).collect();
            (params.to_vec(), saved)
        } else {
            (Vec::new(), Vec::new())
        };
        for k in 0..self.groups.len() {
            let r = self.groups[k].range.clone();
            if let Err(e) = self.groups[k]
                .optimizer
                .step(&mut params[r.clone()], &grads[r])
            {
                if first {
                    params.copy_from_slice(&before);
                    // Each saved state is one the group held.
                    for (g, s) in self.groups[..k].iter_mut().zip(&saved) {
                        let _ = g.optimizer.load_state(s);
                    }
                }
                return Err(self.in_group(k, e));
            }
        }
        self.len = Some(params.len());
        Ok(())
    }

    fn gradient_point(&self, params: &[T], out: &mut [T]) -> Result<bool> {
        self.check_len(params.len())?;
        if out.len() != params.len() {
            return Err(Error::LengthMismatch {
                optimizer: Self::NAME,
                what: "gradient point".into(),
                expected: params.len(),
                got: out.len(),
            });
        }
        // `out` stays untouched until a group moves the point; from then on
        // it is `params` wherever no group moves it (frozen entries, the
        // groups returning `false`, which leave their range untouched).
        let mut moved = false;
        for (k, g) in self.groups.iter().enumerate() {
            let r = g.range.clone();
            let here = g
                .optimizer
                .gradient_point(&params[r.clone()], &mut out[r.clone()])
                .map_err(|e| self.in_group(k, e))?;
            if here && !moved {
                out[..r.start].copy_from_slice(&params[..r.start]);
                out[r.end..].copy_from_slice(&params[r.end..]);
                moved = true;
            }
        }
        Ok(moved)
    }

    fn reset(&mut self) {
        for g in &mut self.groups {
            g.optimizer.reset();
        }
        self.len = None;
    }

    fn steps(&self) -> u64 {
        self.groups.first().map_or(0, |g| g.optimizer.steps())
    }

    fn learning_rate(&self) -> f64 {
        self.groups
            .first()
            .map_or(0.0, |g| g.optimizer.learning_rate())
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        step_size(Self::NAME, "learning rate", lr)?;
        self.old_rates.clear();
        self.old_rates
            .extend(self.groups.iter().map(|g| g.optimizer.learning_rate()));
        for k in 0..self.groups.len() {
            let scaled = lr * self.groups[k].lr_scale;
            if let Err(e) = self.groups[k].optimizer.set_learning_rate(scaled) {
                // Undo: each old rate was accepted before.
                for (g, &o) in self.groups[..k].iter_mut().zip(&self.old_rates) {
                    let _ = g.optimizer.set_learning_rate(o);
                }
                return Err(self.in_group(k, e));
            }
        }
        Ok(())
    }

    /// `J` plus every group's part of the energy (`energy_g(0)`, its
    /// kinetic term); `None` when a group's method has no energy.
    fn energy(&self, j: f64) -> Option<f64> {
        self.groups
            .iter()
            .try_fold(j, |e, g| Some(e + g.optimizer.energy(0.0)?))
    }

    fn state(&self) -> OptimizerState<T> {
        self.export()
    }

    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<()> {
        self.import(state)
    }
}
