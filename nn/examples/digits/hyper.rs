//! The optimizer's hyperparameters on the command line (`--weight-decay`,
//! `--momentum`, `--beta1`, `--beta2`, `--eps`, `--alpha`, `--centered`,
//! `--lr-decay`): which method takes which,
//! and, on `--load`, agreement with the checkpoint's.

use crate::args::Args;
use optim::{Builder, Hyperparameter, OptimizerState};

/// The flags, each with its hyperparameter.
pub const FLAGS: [(&str, Hyperparameter); 8] = [
    ("--weight-decay", Hyperparameter::WeightDecay),
    ("--momentum", Hyperparameter::Momentum),
    ("--beta1", Hyperparameter::Beta1),
    ("--beta2", Hyperparameter::Beta2),
    ("--eps", Hyperparameter::Eps),
    ("--alpha", Hyperparameter::Alpha),
    ("--centered", Hyperparameter::Centered),
    ("--lr-decay", Hyperparameter::LrDecay),
];

/// The hyperparameter flags given on the command line, with their values.
pub fn given(args: &Args) -> Vec<(&'static str, Hyperparameter, f64)> {
    let values = [
        args.weight_decay,
        args.momentum,
        args.beta1,
        args.beta2,
        args.eps,
        args.alpha,
        // A flag: on is 1 (`Builder`'s value for it).
        args.centered.then_some(1.0),
        args.lr_decay,
    ];
    FLAGS
        .iter()
        .zip(values)
        .filter_map(|(&(flag, h), v)| v.map(|v| (flag, h, v)))
        .collect()
}

/// The flag of `h`, if it has one.
fn flag_of(h: Hyperparameter) -> Option<&'static str> {
    FLAGS.iter().find(|&&(_, k)| k == h).map(|&(f, _)| f)
}

/// "`flag` does not apply to --optimizer `method`", with the flags the
/// method takes and the methods that take `flag`.
fn inapplicable(flag: &str, h: Hyperparameter, builder: &Builder) -> String {
    let own: Vec<&str> = builder.accepted().into_iter().filter_map(flag_of).collect();
    let own = if own.is_empty() {
        "it takes none of them".to_string()
    } else {
        format!("it takes {}", own.join(", "))
    };
    let takers: Vec<&str> = optim::METHODS
        .into_iter()
        .filter(|m| Builder::new(m, 1.0).is_ok_and(|b| b.accepts(h)))
        .collect();
    format!(
        "{flag} does not apply to --optimizer {} ({own}); {flag} applies to {}",
        builder.method(),
        takers.join(", ")
    )
}

/// The run's optimizer, not yet built: `method` at rate `lr` with the
/// hyperparameter flags `flags` (see [`given`]). On `--load`, with the
/// checkpoint `file`'s optimizer state `saved`: its hyperparameters for
/// those not given, and a given one that differs is refused, naming both
/// values.
///
/// # Errors
/// A flag the method does not take; a given value other than the
/// checkpoint's. (Out-of-range values are `Builder::build`'s.)
pub fn builder(
    method: &str,
    lr: f64,
    flags: &[(&'static str, Hyperparameter, f64)],
    saved: Option<(&str, &OptimizerState<f32>)>,
) -> Result<Builder, String> {
    // Named as the flag, not as the method's own parameter (Adam's alpha).
    if !(lr.is_finite() && lr > 0.0) {
        return Err(format!("--lr must be finite and > 0, got {lr}"));
    }
    let mut b = Builder::new(method, lr).map_err(|e| e.to_string())?;
    for &(flag, h, value) in flags {
        if !b.accepts(h) {
            return Err(inapplicable(flag, h, &b));
        }
        b = b.set(h, value).map_err(|e| e.to_string())?;
    }
    let Some((file, state)) = saved else {
        return Ok(b);
    };
    for h in b.accepted() {
        let Some(recorded) = state.setting(h.name()) else {
            continue;
        };
        if let Some(&(flag, _, value)) = flags.iter().find(|&&(_, k, _)| k == h) {
            if value != recorded {
                return Err(format!(
                    "{file} was trained with {flag} {recorded}, this run gives {flag} {value}: \
                     the optimizer's state continues only with the same hyperparameters \
                     (leave {flag} out to use the checkpoint's)"
                ));
            }
        }
        b = b.set(h, recorded).map_err(|e| e.to_string())?;
    }
    Ok(b)
}

/// Whether the biases are exempt from weight decay: `flag`
/// (`--no-bias-decay`), or on `--load` the checkpoint's choice, which its
/// optimizer state records as a decay mask (see `optim::DecayMask`).
///
/// # Errors
/// The flag for a method without weight decay; the flag on a checkpoint
/// trained with the biases decayed (so on one saved before the optimizer's
/// settings were recorded, which predates the masks).
pub fn no_bias_decay(
    flag: bool,
    builder: &Builder,
    saved: Option<(&str, &OptimizerState<f32>)>,
) -> Result<bool, String> {
    if flag && !builder.accepts(Hyperparameter::WeightDecay) {
        return Err(inapplicable(
            "--no-bias-decay",
            Hyperparameter::WeightDecay,
            builder,
        ));
    }
    match saved {
        // Recorded since the masks exist. A state without settings was
        // saved before them: its biases were decayed, and it loads
        // unchecked, so the flag is refused here or nowhere.
        Some((file, state)) => {
            let recorded = state.setting("decay_mask_ranges").is_some();
            if flag && !recorded {
                return Err(format!(
                    "{file} was trained with the biases decayed, this run gives \
                     --no-bias-decay: the optimizer's state continues only with the same \
                     parameter groups (leave --no-bias-decay out)"
                ));
            }
            Ok(recorded)
        }
        None => Ok(flag),
    }
}

/// When the checkpoint `file`'s optimizer state records no settings (it was
/// saved before they were recorded) and its method takes hyperparameters:
/// a note that the flags given, or the method's defaults for those left
/// out, are used unchecked.
pub fn unchecked(
    file: &str,
    saved: &OptimizerState<f32>,
    flags: &[(&'static str, Hyperparameter, f64)],
) -> Option<String> {
    let method = Builder::new(&saved.optimizer, 1.0).ok()?;
    if !saved.settings.is_empty() || method.accepted().is_empty() {
        return None;
    }
    let note = format!(
        "{file} does not record the optimizer's hyperparameters (saved by an older version?)"
    );
    if flags.is_empty() {
        let own: Vec<&str> = method.accepted().into_iter().filter_map(flag_of).collect();
        return Some(format!(
            "{note}: {}'s defaults are used, unchecked against the training so far (give {} \
             as it was trained with, if they differ)",
            saved.optimizer,
            own.join(", ")
        ));
    }
    let given: Vec<&str> = flags.iter().map(|&(flag, _, _)| flag).collect();
    Some(format!(
        "{note}: {} of this command line cannot be checked against the training so far",
        given.join(", ")
    ))
}

/// The hyperparameters as the header prints them, e.g.
/// `beta1 0.9, beta2 0.999, eps 1e-8`; empty for a method without any.
pub fn describe(b: &Builder) -> String {
    let parts: Vec<String> = b
        .hyperparameters()
        .iter()
        .map(|(h, v)| format!("{h} {v:?}"))
        .chain(b.decay_mask().map(|_| "biases not decayed".to_string()))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use optim::DecayMask;

    fn state_of(b: &Builder) -> OptimizerState<f32> {
        b.build::<f32>().unwrap().state()
    }

    #[test]
    fn a_checkpoint_without_settings_gets_a_note_naming_the_flags_or_the_defaults_used() {
        let b = builder("adamw", 1e-3, &[], None).unwrap();
        let mut old = state_of(&b);
        let wd = [("--weight-decay", Hyperparameter::WeightDecay, 0.1)];
        assert_eq!(unchecked("m.st", &old, &wd), None, "settings recorded");
        old.settings.clear();
        let note = unchecked("m.st", &old, &wd).unwrap();
        assert!(
            note.starts_with("m.st does not record the optimizer's hyperparameters")
                && note.contains("--weight-decay of this command line"),
            "{note}"
        );
        // No flag given: the defaults are used, unchecked, and said so.
        let note = unchecked("m.st", &old, &[]).unwrap();
        assert!(
            note.contains("adamw's defaults are used, unchecked")
                && note.contains("give --beta1, --beta2, --eps, --weight-decay as it was trained"),
            "{note}"
        );
        // A method without hyperparameters records none: nothing to note.
        let gd = builder("gradient_descent", 1e-3, &[], None).unwrap();
        assert_eq!(unchecked("m.st", &state_of(&gd), &[]), None);
    }

    #[test]
    fn a_flag_the_method_lacks_is_refused_naming_its_flags_and_the_methods_that_take_it() {
        let e = builder(
            "adam",
            1e-3,
            &[("--momentum", Hyperparameter::Momentum, 0.9)],
            None,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "--momentum does not apply to --optimizer adam (it takes --beta1, --beta2, --eps, --weight-decay); \
             --momentum applies to sgd, sgd_momentum, sgd_nesterov, rmsprop"
        );
        let e = builder(
            "heavy_ball",
            0.1,
            &[("--eps", Hyperparameter::Eps, 1e-6)],
            None,
        )
        .unwrap_err();
        assert!(e.contains("(it takes none of them)"), "{e}");
        assert!(
            e.ends_with("applies to friction, relaxation, adam, adamw, rmsprop, adagrad"),
            "{e}"
        );
    }

    #[test]
    fn given_flags_set_the_hyperparameters() {
        let flags = [
            ("--weight-decay", Hyperparameter::WeightDecay, 0.1),
            ("--beta2", Hyperparameter::Beta2, 0.99),
        ];
        let b = builder("adamw", 1e-3, &flags, None).unwrap();
        assert_eq!(b.get(Hyperparameter::WeightDecay), Some(0.1));
        assert_eq!(b.get(Hyperparameter::Beta2), Some(0.99));
        assert_eq!(b.get(Hyperparameter::Beta1), Some(0.9));
        assert_eq!(
            describe(&b),
            "beta1 0.9, beta2 0.99, eps 1e-8, weight_decay 0.1"
        );
    }

    #[test]
    fn on_load_the_checkpoints_hyperparameters_are_taken_and_a_different_one_given_is_refused() {
        let wd = ("--weight-decay", Hyperparameter::WeightDecay, 0.1);
        let trained = builder("adamw", 1e-3, &[wd], None).unwrap();
        let state = state_of(&trained);
        // Not given: the checkpoint's, so the state loads.
        let b = builder("adamw", 1e-3, &[], Some(("m.st", &state))).unwrap();
        assert_eq!(b.get(Hyperparameter::WeightDecay), Some(0.1));
        b.build::<f32>().unwrap().load_state(&state).unwrap();
        // Given and equal: fine.
        assert!(builder("adamw", 1e-3, &[wd], Some(("m.st", &state))).is_ok());
        // Given and different: refused, naming both values.
        let other = ("--weight-decay", Hyperparameter::WeightDecay, 0.2);
        let e = builder("adamw", 1e-3, &[other], Some(("m.st", &state))).unwrap_err();
        assert!(
            e.starts_with(
                "m.st was trained with --weight-decay 0.1, this run gives --weight-decay 0.2"
            ),
            "{e}"
        );
    }

    #[test]
    fn no_bias_decay_is_the_flag_or_the_checkpoints_choice_and_shows_in_the_header() {
        let b = builder("adamw", 1e-3, &[], None).unwrap();
        let masked = b
            .clone()
            .with_decay_mask(DecayMask::range(0..2).unwrap())
            .unwrap();
        assert!(describe(&masked).ends_with("weight_decay 0.01, biases not decayed"));
        let (plain, exempt) = (state_of(&b), state_of(&masked));
        let nbd = |flag, state: Option<&OptimizerState<f32>>| {
            no_bias_decay(flag, &b, state.map(|s| ("m.st", s)))
        };
        assert_eq!(nbd(false, None), Ok(false));
        assert_eq!(nbd(true, None), Ok(true));
        // On load: the checkpoint's choice, the flag given or not ...
        assert_eq!(nbd(false, Some(&exempt)), Ok(true));
        assert_eq!(nbd(true, Some(&exempt)), Ok(true));
        assert_eq!(nbd(false, Some(&plain)), Ok(false));
        // ... and the flag on a checkpoint that decayed its biases is refused.
        let e = nbd(true, Some(&plain)).unwrap_err();
        assert!(
            e.starts_with("m.st was trained with the biases decayed"),
            "{e}"
        );
    }

    #[test]
    fn no_bias_decay_on_a_checkpoint_from_before_settings_were_recorded_is_refused() {
        // Such a state predates the decay masks: its biases were decayed,
        // and it loads unchecked, so the flag would change the parameter
        // groups mid-run without a word.
        let b = builder("adamw", 1e-3, &[], None).unwrap();
        let mut old = state_of(&b);
        old.settings.clear();
        assert_eq!(no_bias_decay(false, &b, Some(("m.st", &old))), Ok(false));
        let e = no_bias_decay(true, &b, Some(("m.st", &old))).unwrap_err();
        assert!(
            e.starts_with("m.st was trained with the biases decayed"),
            "{e}"
        );
    }

    #[test]
    fn on_load_a_relaxation_time_tied_to_the_rate_comes_from_the_checkpoint() {
        // relaxation's eps defaults to 10 lr: resuming at another --lr
        // still builds the optimizer the state was written by.
        let state = state_of(&builder("relaxation", 0.05, &[], None).unwrap());
        let b = builder("relaxation", 0.01, &[], Some(("m.st", &state))).unwrap();
        b.build::<f32>().unwrap().load_state(&state).unwrap();
    }
}
