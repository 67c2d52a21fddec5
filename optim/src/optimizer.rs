//! The [`Optimizer`] trait shared by every method, its checkpoint format,
//! and the checks every `step` runs before touching anything.

use crate::{Error, Float, Result};

/// A first-order optimizer over a flat parameter slice.
///
/// Object safe: a training loop can hold a `Box<dyn Optimizer<f32>>` and
/// choose the method at run time.
///
/// # The gradient point
///
/// Most methods take the gradient at the current parameters. Nesterov's
/// method (5.19) takes it at the lookahead point `W + nu Z`. A generic loop
/// therefore asks the optimizer where to evaluate the gradient before each
/// step:
///
/// ```
/// use optim::{GradientDescent, Nesterov, Optimizer};
///
/// // J(w) = |w|^2 / 2, so grad J(w) = w.
/// fn train(opt: &mut dyn Optimizer<f64>, w: &mut [f64]) -> optim::Result<()> {
///     let mut lookahead = vec![0.0; w.len()];
///     let mut grad = vec![0.0; w.len()];
///     for _ in 0..500 {
///         // `true`: the gradient must be taken at `lookahead`, not at `w`.
///         let at = if opt.gradient_point(w, &mut lookahead)? { &lookahead[..] } else { &w[..] };
///         grad.copy_from_slice(at);
///         opt.step(w, &grad)?;
///     }
///     Ok(())
/// }
///
/// for mut opt in [
///     Box::new(GradientDescent::new(0.1)?) as Box<dyn Optimizer<f64>>,
///     Box::new(Nesterov::new(0.1, 1.0)?),
/// ] {
///     let mut w = [1.0, -2.0];
///     train(opt.as_mut(), &mut w)?;
///     assert!(w.iter().all(|x| x.abs() < 1e-6), "{}: {w:?}", opt.name());
/// }
/// # Ok::<(), optim::Error>(())
/// ```
pub trait Optimizer<T: Float> {
    /// A short stable name of the method, e.g. `"adam"`; also written into
    /// checkpoints. Variants of one method share it (the heavy ball's two
    /// schemes, SGD with and without momentum): their hyperparameters tell
    /// them apart, see [`OptimizerState::settings`].
    fn name(&self) -> &'static str;

    /// One update of `params` given `grads`, the gradient of `J` taken at the
    /// point [`Optimizer::gradient_point`] designates.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `grads` (or the state allocated on a
    /// previous step) has another length than `params`;
    /// [`Error::NonFiniteGradient`] when `grads` holds a NaN or an infinity;
    /// [`Error::MomentOverflow`] (Adam, AdamW, `AdamOde`, RMSprop, Adagrad) when a finite
    /// gradient entry is so large that the second moment overflows;
    /// [`Error::DecayMaskOutOfRange`] when the optimizer's
    /// [`crate::DecayMask`] reaches past `params`;
    /// [`Error::StepCount`] when the step counter is at `u64::MAX` (only a
    /// corrupted checkpoint gets it there). All are detected before anything
    /// is written: on error, `params` and the state are unchanged.
    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<()>;

    /// The checks [`step`](Optimizer::step) runs before it writes anything,
    /// without stepping: `Ok` when `step(params, grads)` would succeed, else
    /// the error it would return. [`crate::ParamGroups`] asks every group
    /// before any steps, so that a refused step moves none.
    ///
    /// Every method of this crate implements it. The default, for an
    /// optimizer of one's own, is `Ok(())`: one that can refuse a step
    /// should override it.
    ///
    /// # Errors
    /// Those of [`step`](Optimizer::step).
    fn check(&self, params: &[T], grads: &[T]) -> Result<()> {
        let _ = (params, grads);
        Ok(())
    }

    /// Where the next gradient must be taken.
    ///
    /// Returns `Ok(false)` when the gradient is taken at `params` itself
    /// (every method but [`crate::Nesterov`]); `out` is then left untouched.
    /// Returns `Ok(true)` after writing the evaluation point into `out`.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `out` or the state does not match
    /// `params` in length.
    fn gradient_point(&self, params: &[T], out: &mut [T]) -> Result<bool> {
        let _ = (params, out);
        Ok(false)
    }

    /// Forgets the state (moments, step counter): the next step is a first
    /// step. The hyperparameters, learning rate included, are kept.
    fn reset(&mut self);

    /// Number of successful steps since construction or the last reset.
    fn steps(&self) -> u64;

    /// The current step size (`dt` for the seed's methods, `alpha` or `lr`
    /// for Adam and SGD).
    fn learning_rate(&self) -> f64;

    /// Replaces the step size, e.g. from a [`crate::Schedule`]. Zero is
    /// admitted (a schedule annealed to its end): the next steps then leave
    /// the parameters where they are, while the method's state (moments,
    /// velocity, step count) goes on as its update says for a step of 0.
    ///
    /// # Errors
    /// [`Error::InvalidHyperparameter`] when `lr` is not admissible (negative
    /// or not finite, or incompatible with the other hyperparameters).
    fn set_learning_rate(&mut self, lr: f64) -> Result<()>;

    /// The method's Lyapunov function at the current state, given `j`, the
    /// value of `J` at the gradient point (the parameters, or the lookahead
    /// point for Nesterov). `None` when the seed gives the method no energy.
    ///
    /// Sums are accumulated in `f64`.
    fn energy(&self, j: f64) -> Option<f64> {
        let _ = j;
        None
    }

    /// A bitwise copy of the state, for checkpoints, with the
    /// hyperparameters it was stepped with.
    fn state(&self) -> OptimizerState<T>;

    /// Restores a state written by [`Optimizer::state`] of the same method
    /// with the same settings; later steps are then bitwise identical to
    /// those of the optimizer that wrote it. The learning rate is the
    /// state's. A state without settings (written before they were
    /// recorded) is loaded unchecked.
    ///
    /// Unlike PyTorch's `load_state_dict`, which overwrites the
    /// hyperparameters with the checkpoint's, a state of other settings is
    /// refused: the constructors validate combinations (Nesterov SGD
    /// without momentum, AdamOde's `dt <= eps1`) that an overwrite would
    /// bypass.
    ///
    /// # Errors
    /// [`Error::WrongOptimizer`] for another method;
    /// [`Error::SettingMismatch`], [`Error::MissingSetting`],
    /// [`Error::UnexpectedSetting`] for other settings;
    /// [`Error::MissingState`], [`Error::UnexpectedState`],
    /// [`Error::LengthMismatch`] when buffers differ in length,
    /// [`Error::InvalidState`] for a value the method cannot continue from,
    /// [`Error::InvalidHyperparameter`] for a bad learning rate. On error
    /// nothing is changed.
    fn load_state(&mut self, state: &OptimizerState<T>) -> Result<()>;
}

/// A checkpoint of an optimizer: step counter, learning rate, the other
/// hyperparameters and the named state buffers, copied bitwise.
///
/// Buffers are allocated on the first step, so before it they are empty.
///
/// ```
/// use optim::{HeavyBall, Optimizer, Scheme};
/// let explicit = HeavyBall::<f64>::new(0.1)?;
/// let mut symplectic = HeavyBall::<f64>::new(0.1)?.with_scheme(Scheme::SemiImplicitEuler);
/// let state = explicit.state();
/// assert_eq!(state.setting("semi_implicit"), Some(0.0));
/// assert!(symplectic.load_state(&state).is_err()); // the same method, another scheme
/// # Ok::<(), optim::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState<T> {
    /// [`Optimizer::name`] of the writer.
    pub optimizer: String,
    /// [`Optimizer::steps`] of the writer.
    pub steps: u64,
    /// [`Optimizer::learning_rate`] of the writer.
    pub learning_rate: f64,
    /// Every other hyperparameter that shapes the writer's updates, by the
    /// name of its constructor argument (`beta1`, `eps`, `weight_decay`,
    /// `nu`, ...; PyTorch's for SGD: `momentum`, `dampening`, `nesterov`).
    /// Exclusive choices are flags, 0 or 1: `semi_implicit` for
    /// [`crate::Scheme::SemiImplicitEuler`], `nesterov` for
    /// [`crate::Momentum::Nesterov`]. A [`crate::DecayMask`] is recorded as
    /// `decay_mask_ranges`, `decay_mask_entries` and `decay_mask_hash`
    /// (absent without a mask). Empty for a method without any
    /// ([`crate::GradientDescent`]) and in states written before settings
    /// were recorded, which load unchecked.
    pub settings: Vec<(String, f64)>,
    /// Named buffers, one entry per parameter each (or empty before the
    /// first step).
    pub buffers: Vec<(String, Vec<T>)>,
}

impl<T> OptimizerState<T> {
    /// The setting called `name`, if present.
    pub fn setting(&self, name: &str) -> Option<f64> {
        self.settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }

    /// The buffer called `name`, if present.
    pub fn buffer(&self, name: &str) -> Option<&[T]> {
        self.buffers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }
}

/// The checks shared by every `step`: a step counter (`steps` so far) that
/// can count one more, equal lengths, finite gradient, and a state (of
/// length `state_len`, 0 when not yet allocated) that fits.
pub(crate) fn check_step<T: Float>(
    optimizer: &'static str,
    steps: u64,
    params: &[T],
    grads: &[T],
    state_len: Option<usize>,
) -> Result<()> {
    // A loaded state may hold any counter; stepping past the maximum would
    // overflow (Adam's bias correction takes steps + 1).
    if steps == u64::MAX {
        return Err(Error::StepCount {
            optimizer,
            got: steps,
        });
    }
    if grads.len() != params.len() {
        return Err(Error::LengthMismatch {
            optimizer,
            what: "gradient".into(),
            expected: params.len(),
            got: grads.len(),
        });
    }
    check_state_len(optimizer, params.len(), state_len)?;
    match first_where(grads.len(), |i| !grads[i].is_finite()) {
        Some(index) => Err(Error::NonFiniteGradient {
            optimizer,
            index,
            value: grads[index].to_f64(),
        }),
        None => Ok(()),
    }
}

/// The first `i < n` where `bad(i)`, for the checks a step almost always
/// passes: one pass without a branch on `bad` (it vectorizes, where a search
/// that stops at the first hit does not), then the search only if that pass
/// found something. Adam's overflow check as a plain search took four times
/// the instructions of its update (`valgrind --tool=callgrind` on the digits
/// example).
#[inline]
pub(crate) fn first_where(n: usize, bad: impl Fn(usize) -> bool) -> Option<usize> {
    if (0..n).fold(false, |any, i| any | bad(i)) {
        (0..n).position(bad)
    } else {
        None
    }
}

/// The L2 term's coefficient `lambda` in `T`: none when it is 0, as
/// PyTorch skips the term then (which keeps -0.0 gradients).
#[inline]
pub(crate) fn l2_term<T: Float>(weight_decay: f64) -> Option<T> {
    (weight_decay != 0.0).then(|| T::from_f64(weight_decay))
}

/// `g + l2 w`, or `g` without an L2 term (PyTorch skips it at 0, which
/// keeps -0.0 gradients).
#[inline(always)]
pub(crate) fn with_l2<T: Float>(g: T, w: T, l2: Option<T>) -> T {
    match l2 {
        Some(l2) => g + l2 * w,
        None => g,
    }
}

/// [`Error::MomentOverflow`] at the first entry whose running sum of squares
/// `update(old, g)` would overflow, `g` the gradient with the L2 term where
/// the decay mask applies, `old` from `sums` (0 while it is empty, before
/// the first step): the check of RMSprop's and Adagrad's accumulators, in
/// one branch-free pass (see [`first_where`]).
pub(crate) fn check_squares<T: Float>(
    optimizer: &'static str,
    mask: Option<&crate::DecayMask>,
    params: &[T],
    grads: &[T],
    l2: Option<T>,
    sums: &[T],
    update: impl Fn(T, T) -> T,
) -> Result<()> {
    let mut overflow = None;
    crate::decay_mask::for_each_segment(mask, params.len(), |r, masked_in| {
        let l2 = if masked_in { l2 } else { None };
        let (g, w) = (&grads[r.clone()], &params[r.clone()]);
        let g_at = |k: usize| with_l2(g[k], w[k], l2);
        let found = match sums.get(r.clone()) {
            Some(s) => first_where(g.len(), |k| !update(s[k], g_at(k)).is_finite()),
            None => first_where(g.len(), |k| !update(T::ZERO, g_at(k)).is_finite()),
        };
        overflow = overflow.or(found.map(|k| (r.start + k, g_at(k))));
    });
    match overflow {
        Some((index, g)) => Err(Error::MomentOverflow {
            optimizer,
            index,
            value: g.to_f64(),
        }),
        None => Ok(()),
    }
}

/// `state_len` is `None` for stateless methods, `Some(0)` before the first
/// step: both accept any parameter length.
pub(crate) fn check_state_len(
    optimizer: &'static str,
    params_len: usize,
    state_len: Option<usize>,
) -> Result<()> {
    match state_len {
        Some(n) if n != 0 && n != params_len => Err(Error::LengthMismatch {
            optimizer,
            what: "parameters (state allocated on an earlier step)".into(),
            expected: n,
            got: params_len,
        }),
        _ => Ok(()),
    }
}

/// Lazily allocates a state buffer filled with `init`.
#[inline]
pub(crate) fn ensure_len<T: Float>(buf: &mut Vec<T>, n: usize, init: T) {
    if buf.len() != n {
        buf.clear();
        buf.resize(n, init);
    }
}

/// A method's hyperparameters besides the step size, as recorded in
/// [`OptimizerState::settings`].
pub(crate) type Settings = Vec<(&'static str, f64)>;

/// A flag setting: 1 for `true`, 0 for `false`.
pub(crate) fn flag(on: bool) -> f64 {
    if on {
        1.0
    } else {
        0.0
    }
}

/// Settings added to a method after its states were first written, each
/// with the value a state that lacks it was written with: Adam's L2 weight
/// decay (files before it are without decay).
const ADDED_LATER: [(&str, &str, f64); 1] = [("adam", "weight_decay", 0.0)];

/// Checks that `state` was written with the optimizer's `settings`: each
/// recorded one known and equal, none missing (one of [`ADDED_LATER`]
/// counts as its value there). A state without settings (written before
/// they were recorded) passes unchecked.
fn check_settings<T>(
    optimizer: &'static str,
    state: &OptimizerState<T>,
    settings: &[(&'static str, f64)],
) -> Result<()> {
    if state.settings.is_empty() {
        return Ok(());
    }
    for (name, got) in &state.settings {
        let Some(&(_, expected)) = settings.iter().find(|(n, _)| n == name) else {
            return Err(Error::UnexpectedSetting {
                optimizer,
                setting: name.clone(),
            });
        };
        // `==`, not bitwise: -0.0 and 0.0 give the same updates.
        if *got != expected {
            return Err(Error::SettingMismatch {
                optimizer,
                setting: name.clone(),
                expected,
                got: *got,
            });
        }
    }
    for &(setting, expected) in settings {
        if state.setting(setting).is_some() {
            continue;
        }
        let earlier = ADDED_LATER
            .iter()
            .find(|&&(o, s, _)| o == optimizer && s == setting);
        match earlier {
            Some(&(_, _, got)) if got == expected => {}
            Some(&(_, _, got)) => {
                return Err(Error::SettingMismatch {
                    optimizer,
                    setting: setting.to_string(),
                    expected,
                    got,
                })
            }
            None => return Err(Error::MissingSetting { optimizer, setting }),
        }
    }
    Ok(())
}

/// [`take_buffer_list`] for a method whose buffers are always the same `N`.
pub(crate) fn take_buffers<T: Float, const N: usize>(
    optimizer: &'static str,
    settings: &[(&'static str, f64)],
    state: &OptimizerState<T>,
    names: [&'static str; N],
) -> Result<[Vec<T>; N]> {
    let list = take_buffer_list(optimizer, settings, state, &names)?;
    Ok(list
        .try_into()
        .unwrap_or_else(|_| unreachable!("one per name")))
}

/// Extracts the buffers `names` from `state`, checking the writer's name
/// and settings, that every buffer is present, that no other is, and that
/// all have the same length. Returns them in the order of `names`.
pub(crate) fn take_buffer_list<T: Float>(
    optimizer: &'static str,
    settings: &[(&'static str, f64)],
    state: &OptimizerState<T>,
    names: &[&'static str],
) -> Result<Vec<Vec<T>>> {
    if state.optimizer != optimizer {
        return Err(Error::WrongOptimizer {
            expected: optimizer,
            got: state.optimizer.clone(),
        });
    }
    check_settings(optimizer, state, settings)?;
    if let Some((extra, _)) = state
        .buffers
        .iter()
        .find(|(n, _)| !names.contains(&n.as_str()))
    {
        return Err(Error::UnexpectedState {
            optimizer,
            entry: extra.clone(),
        });
    }
    let mut out = Vec::with_capacity(names.len());
    for &name in names {
        let buf = state.buffer(name).ok_or(Error::MissingState {
            optimizer,
            entry: name,
        })?;
        if let Some(first) = names.first().and_then(|n| state.buffer(n)) {
            if buf.len() != first.len() {
                return Err(Error::LengthMismatch {
                    optimizer,
                    what: format!("state buffer {name:?}"),
                    expected: first.len(),
                    got: buf.len(),
                });
            }
        }
        check_state_values(optimizer, name, buf, "finite", |v| v.is_finite())?;
        out.push(buf.to_vec());
    }
    // The first step allocates the buffers: values with a counter of 0 are
    // a corrupt state (Adam's next step would apply the first step's bias
    // correction to old moments).
    if state.steps == 0 {
        if let Some((name, buf)) = state.buffers.iter().find(|(_, b)| !b.is_empty()) {
            return Err(Error::InvalidState {
                optimizer,
                entry: name.clone(),
                index: 0,
                value: buf[0].to_f64(),
                expected:
                    "no values while the step counter is 0 (the first step allocates the buffers)",
            });
        }
    }
    Ok(out)
}

/// [`Error::InvalidState`] at the first value of buffer `name` that is not
/// `ok`.
pub(crate) fn check_state_values<T: Float>(
    optimizer: &'static str,
    name: &str,
    buf: &[T],
    expected: &'static str,
    ok: impl Fn(f64) -> bool,
) -> Result<()> {
    match buf
        .iter()
        .map(|v| v.to_f64())
        .enumerate()
        .find(|&(_, v)| !ok(v))
    {
        Some((index, value)) => Err(Error::InvalidState {
            optimizer,
            entry: name.to_string(),
            index,
            value,
            expected,
        }),
        None => Ok(()),
    }
}

/// Settings and named state buffers for [`Optimizer::state`].
pub(crate) fn export_state<T: Float>(
    optimizer: &'static str,
    steps: u64,
    learning_rate: f64,
    settings: &[(&'static str, f64)],
    buffers: &[(&'static str, &Vec<T>)],
) -> OptimizerState<T> {
    OptimizerState {
        optimizer: optimizer.into(),
        steps,
        learning_rate,
        settings: settings.iter().map(|&(n, v)| (n.to_string(), v)).collect(),
        buffers: buffers
            .iter()
            .map(|(n, b)| ((*n).to_string(), (*b).clone()))
            .collect(),
    }
}

/// A step size set on an existing optimizer (a schedule's, a checkpoint's):
/// finite and `>= 0`. Zero is admitted, as in PyTorch: a schedule may
/// anneal to it (cosine to `min_lr = 0`, an exponential decay that
/// underflows), and a step of size 0 leaves the parameters where they are.
/// Constructors ask for `> 0` ([`positive`]): a method built with step 0
/// is a mistake.
pub(crate) fn step_size(optimizer: &'static str, parameter: &'static str, x: f64) -> Result<f64> {
    non_negative(optimizer, parameter, x)
}

/// `x` finite and `> 0`.
pub(crate) fn positive(optimizer: &'static str, parameter: &'static str, x: f64) -> Result<f64> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(Error::InvalidHyperparameter {
            optimizer,
            parameter,
            expected: "finite and > 0",
            got: x,
        })
    }
}

/// `x` finite and `> 0` also once rounded to `T`, for a hyperparameter
/// the update uses as a `T`: as an `f32`, an `f64` below about `7e-46` is
/// 0 (Adam's `0 / (0 + eps)` on a zero gradient is then NaN) and one past
/// `f32::MAX` infinite.
pub(crate) fn positive_in<T: Float>(
    optimizer: &'static str,
    parameter: &'static str,
    x: f64,
) -> Result<f64> {
    let x = positive(optimizer, parameter, x)?;
    let rounded = T::from_f64(x);
    if rounded > T::ZERO && rounded.is_finite() {
        Ok(x)
    } else {
        Err(Error::InvalidHyperparameter {
            optimizer,
            parameter,
            expected: "finite and > 0 also in the number type (f32: about 1.4e-45 to 3.4e38)",
            got: x,
        })
    }
}

/// `x` finite and `>= 0`.
pub(crate) fn non_negative(
    optimizer: &'static str,
    parameter: &'static str,
    x: f64,
) -> Result<f64> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(Error::InvalidHyperparameter {
            optimizer,
            parameter,
            expected: "finite and >= 0",
            got: x,
        })
    }
}

/// `x` in `[0, 1)`: a decay rate such as Adam's `beta1`.
pub(crate) fn decay_rate(optimizer: &'static str, parameter: &'static str, x: f64) -> Result<f64> {
    if (0.0..1.0).contains(&x) {
        Ok(x)
    } else {
        Err(Error::InvalidHyperparameter {
            optimizer,
            parameter,
            expected: "in [0, 1)",
            got: x,
        })
    }
}
