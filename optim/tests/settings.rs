//! A state records every hyperparameter that shapes the updates besides the
//! learning rate, and loads only into an optimizer with the same ones: a
//! checkpoint of one variant never resumes silently in another.

use optim::{
    by_name, Adagrad, Adam, AdamOde, AdamW, Error, Friction, HeavyBall, Momentum, Nesterov,
    Optimizer, OptimizerState, Relaxation, RmsProp, Scheme, Sgd, METHODS,
};

/// Three steps on `J(w) = |w|^2 / 2`, so that the buffers are allocated.
fn stepped(mut opt: Box<dyn Optimizer<f64>>) -> Box<dyn Optimizer<f64>> {
    let mut w = vec![1.0, -0.5, 0.25];
    let mut at = vec![0.0; 3];
    for _ in 0..3 {
        let g = if opt.gradient_point(&w, &mut at).unwrap() {
            at.clone()
        } else {
            w.clone()
        };
        opt.step(&mut w, &g).unwrap();
    }
    opt
}

fn method(name: &str) -> Box<dyn Optimizer<f64>> {
    stepped(by_name(name, 1e-2).unwrap())
}

/// Loads `state` into `opt`, which must refuse it and keep its own state.
fn refused(opt: &mut dyn Optimizer<f64>, state: &OptimizerState<f64>) -> Error {
    let before = opt.state();
    let err = opt.load_state(state).unwrap_err();
    assert_eq!(
        opt.state(),
        before,
        "{}: changed by a refused load",
        opt.name()
    );
    err
}

/// `err` is a mismatch on a setting whose values in `theirs` (the
/// checkpoint) and `ours` (the loader) do differ, and reports both.
fn assert_names_a_differing_setting(
    err: &Error,
    theirs: &OptimizerState<f64>,
    ours: &OptimizerState<f64>,
) {
    let Error::SettingMismatch {
        setting,
        expected,
        got,
        ..
    } = err
    else {
        panic!("expected a setting mismatch, got {err:?}");
    };
    assert_eq!(theirs.setting(setting), Some(*got), "{err}");
    assert_eq!(ours.setting(setting), Some(*expected), "{err}");
    assert_ne!(got, expected, "{err}");
}

#[test]
fn every_method_of_methods_refuses_the_state_of_every_other_one() {
    for a in METHODS {
        let theirs = method(a).state();
        for b in METHODS.iter().filter(|&&b| b != a) {
            let mut ours = method(b);
            let err = refused(ours.as_mut(), &theirs);
            if ours.name() == theirs.optimizer {
                // Variants of one method (heavy_ball and its symplectic
                // scheme, the three SGDs): told apart by their settings.
                assert_names_a_differing_setting(&err, &theirs, &ours.state());
            } else {
                assert!(
                    matches!(err, Error::WrongOptimizer { .. }),
                    "{a} into {b}: {err}"
                );
            }
        }
    }
}

/// A value other than `v`: a flag flipped, a number halved, 0 made 0.5.
fn other(v: f64) -> f64 {
    if v == 0.0 {
        0.5
    } else {
        v * 0.5
    }
}

#[test]
fn every_method_refuses_its_own_state_with_any_one_setting_changed() {
    for name in METHODS {
        let mut opt = method(name);
        let good = opt.state();
        for (k, (setting, value)) in good.settings.iter().enumerate() {
            let mut changed = good.clone();
            changed.settings[k].1 = other(*value);
            let err = refused(opt.as_mut(), &changed);
            assert!(
                matches!(&err, Error::SettingMismatch { setting: s, expected, got, .. }
                    if s == setting && expected == value && *got == other(*value)),
                "{name}: {err}"
            );
        }
        opt.load_state(&good).unwrap();
    }
}

#[test]
fn a_state_missing_a_setting_or_with_an_unknown_one_is_refused() {
    for name in METHODS {
        let mut opt = method(name);
        let good = opt.state();
        if let Some((first, _)) = good.settings.first() {
            let mut missing = good.clone();
            missing.settings.remove(0);
            if !missing.settings.is_empty() {
                let err = refused(opt.as_mut(), &missing);
                assert!(
                    matches!(&err, Error::MissingSetting { setting, .. } if setting == first),
                    "{name}: {err}"
                );
            }
        }
        let mut unknown = good.clone();
        unknown.settings.push(("momentum_decay".into(), 0.004));
        let err = refused(opt.as_mut(), &unknown);
        assert!(
            matches!(&err, Error::UnexpectedSetting { setting, .. } if setting == "momentum_decay"),
            "{name}: {err}"
        );
    }
}

#[test]
fn a_state_written_before_settings_were_recorded_loads_unchecked() {
    for name in METHODS {
        let mut old = method(name).state();
        old.settings.clear();
        let mut opt = by_name::<f64>(name, 1e-2).unwrap();
        opt.load_state(&old).unwrap();
        assert_eq!(opt.steps(), 3, "{name}");
    }
    // As before settings: a heavy ball's state goes into the symplectic one.
    let mut old = method("heavy_ball").state();
    old.settings.clear();
    let mut symplectic = by_name::<f64>("heavy_ball_symplectic", 1e-2).unwrap();
    symplectic.load_state(&old).unwrap();
}

type Variants = Vec<Box<dyn Optimizer<f64>>>;

/// Each method built with each of its hyperparameters changed in turn
/// (the first of a group is the reference): the groups of variants a
/// checkpoint could be confused with.
fn variant_groups() -> Vec<(&'static str, Variants)> {
    let sgd = || Sgd::new(0.05).unwrap();
    let rmsprop = || RmsProp::new(0.01).unwrap();
    let adagrad = || Adagrad::new(0.05).unwrap();
    let classic = |mu, dampening| Momentum::Classic { mu, dampening };
    let semi = Scheme::SemiImplicitEuler;
    vec![
        (
            "heavy_ball",
            vec![
                Box::new(HeavyBall::new(0.05).unwrap()),
                Box::new(HeavyBall::new(0.05).unwrap().with_scheme(semi)),
            ],
        ),
        (
            "nesterov",
            vec![
                Box::new(Nesterov::new(0.05, 1.0).unwrap()),
                Box::new(Nesterov::new(0.05, 0.5).unwrap()),
                Box::new(Nesterov::new(0.05, 1.0).unwrap().with_scheme(semi)),
            ],
        ),
        (
            "friction",
            vec![
                Box::new(Friction::new(0.05, 1.0, 1e-8).unwrap()),
                Box::new(Friction::new(0.05, 0.5, 1e-8).unwrap()),
                Box::new(Friction::new(0.05, 1.0, 1.0).unwrap()),
                Box::new(Friction::new(0.05, 1.0, 1e-8).unwrap().with_scheme(semi)),
            ],
        ),
        (
            "relaxation",
            vec![
                Box::new(Relaxation::new(0.05, 0.5).unwrap()),
                Box::new(Relaxation::new(0.05, 0.2).unwrap()),
                Box::new(Relaxation::new(0.05, 0.5).unwrap().with_scheme(semi)),
            ],
        ),
        (
            "adam_ode",
            vec![
                Box::new(AdamOde::new(0.01, 0.1, 10.0, 1e-8).unwrap()),
                Box::new(AdamOde::new(0.01, 0.2, 10.0, 1e-8).unwrap()),
                Box::new(AdamOde::new(0.01, 0.1, 1.0, 1e-8).unwrap()),
                Box::new(AdamOde::new(0.01, 0.1, 10.0, 1.0).unwrap()),
            ],
        ),
        (
            "adam",
            vec![
                Box::new(Adam::new(1e-2, 0.9, 0.999, 1e-8).unwrap()),
                Box::new(Adam::new(1e-2, 0.8, 0.999, 1e-8).unwrap()),
                Box::new(Adam::new(1e-2, 0.9, 0.99, 1e-8).unwrap()),
                Box::new(Adam::new(1e-2, 0.9, 0.999, 1e-6).unwrap()),
            ],
        ),
        (
            "adamw",
            vec![
                Box::new(AdamW::new(1e-2, 0.9, 0.999, 1e-8, 1e-2).unwrap()),
                Box::new(AdamW::new(1e-2, 0.8, 0.999, 1e-8, 1e-2).unwrap()),
                Box::new(AdamW::new(1e-2, 0.9, 0.99, 1e-8, 1e-2).unwrap()),
                Box::new(AdamW::new(1e-2, 0.9, 0.999, 1e-6, 1e-2).unwrap()),
                Box::new(AdamW::new(1e-2, 0.9, 0.999, 1e-8, 0.1).unwrap()),
            ],
        ),
        (
            "sgd",
            vec![
                Box::new(sgd()),
                Box::new(sgd().with_momentum(classic(0.9, 0.0)).unwrap()),
                Box::new(sgd().with_momentum(classic(0.5, 0.0)).unwrap()),
                Box::new(sgd().with_momentum(classic(0.9, 0.1)).unwrap()),
                Box::new(sgd().with_momentum(Momentum::Nesterov { mu: 0.9 }).unwrap()),
                Box::new(sgd().with_weight_decay(1e-2).unwrap()),
            ],
        ),
        (
            "rmsprop",
            vec![
                Box::new(rmsprop()),
                Box::new(rmsprop().with_alpha(0.9).unwrap()),
                Box::new(rmsprop().with_eps(1e-6).unwrap()),
                Box::new(rmsprop().with_momentum(0.5).unwrap()),
                Box::new(rmsprop().with_centered(true)),
                Box::new(rmsprop().with_weight_decay(1e-2).unwrap()),
            ],
        ),
        (
            "adagrad",
            vec![
                Box::new(adagrad()),
                Box::new(adagrad().with_lr_decay(0.1).unwrap()),
                Box::new(adagrad().with_initial_accumulator_value(0.1).unwrap()),
                Box::new(adagrad().with_eps(1e-6).unwrap()),
                Box::new(adagrad().with_weight_decay(1e-2).unwrap()),
            ],
        ),
    ]
}

/// Variant `j` of `method` in [`variant_groups`], freshly built.
fn variant(method: &str, j: usize) -> Box<dyn Optimizer<f64>> {
    let (_, mut group) = variant_groups()
        .into_iter()
        .find(|(m, _)| *m == method)
        .unwrap();
    group.swap_remove(j)
}

#[test]
fn each_variant_refuses_the_state_of_every_other_variant_of_its_method() {
    for (method, group) in variant_groups() {
        let states: Vec<_> = group.into_iter().map(|o| stepped(o).state()).collect();
        for (j, ours) in states.iter().enumerate() {
            for (i, theirs) in states.iter().enumerate() {
                let mut opt = stepped(variant(method, j));
                assert_eq!(opt.name(), method);
                if i == j {
                    opt.load_state(theirs).unwrap();
                } else {
                    let err = refused(opt.as_mut(), theirs);
                    assert_names_a_differing_setting(&err, theirs, ours);
                }
            }
        }
    }
}

#[test]
fn classic_momentum_zero_is_recorded_as_no_momentum_whatever_its_dampening() {
    // PyTorch keeps no buffer at momentum 0: the two step alike.
    let plain = stepped(Box::new(Sgd::new(0.05).unwrap())).state();
    let mut damped = Sgd::new(0.05)
        .unwrap()
        .with_momentum(Momentum::Classic {
            mu: 0.0,
            dampening: 0.5,
        })
        .unwrap();
    Optimizer::<f64>::load_state(&mut damped, &plain).unwrap();
    assert_eq!(Optimizer::<f64>::state(&damped), plain);
}

#[test]
fn the_error_names_the_setting_and_both_values() {
    let explicit = method("heavy_ball").state();
    let mut symplectic = method("heavy_ball_symplectic");
    let err = refused(symplectic.as_mut(), &explicit);
    assert_eq!(
        err.to_string(),
        "heavy_ball: the state was written with semi_implicit = 0.0, this optimizer has \
         semi_implicit = 1.0; build it with the checkpoint's settings to resume"
    );
    let adam = stepped(Box::new(Adam::new(1e-2, 0.9, 0.99, 1e-8).unwrap())).state();
    let err = refused(method("adam").as_mut(), &adam);
    assert!(
        err.to_string()
            .contains("beta2 = 0.99, this optimizer has beta2 = 0.999"),
        "{err}"
    );
}

#[test]
fn every_method_records_the_settings_of_its_constructor() {
    let settings = |name: &str| {
        let s = by_name::<f32>(name, 1e-2).unwrap().state().settings;
        s.into_iter()
            .map(|(n, v)| format!("{n}={v:?}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    for (name, want) in [
        ("gradient_descent", ""),
        ("heavy_ball", "semi_implicit=0.0"),
        ("heavy_ball_symplectic", "semi_implicit=1.0"),
        ("nesterov", "nu=1.0,semi_implicit=0.0"),
        ("friction", "nu=1.0,eps=1e-8,semi_implicit=0.0"),
        ("relaxation", "eps=0.1,semi_implicit=0.0"),
        ("adam_ode", "eps1=0.1,eps2=10.0,d0=1e-8"),
        ("adam", "beta1=0.9,beta2=0.999,eps=1e-8,weight_decay=0.0"),
        ("adamw", "beta1=0.9,beta2=0.999,eps=1e-8,weight_decay=0.01"),
        (
            "sgd",
            "momentum=0.0,dampening=0.0,nesterov=0.0,weight_decay=0.0",
        ),
        (
            "sgd_momentum",
            "momentum=0.9,dampening=0.0,nesterov=0.0,weight_decay=0.0",
        ),
        (
            "sgd_nesterov",
            "momentum=0.9,dampening=0.0,nesterov=1.0,weight_decay=0.0",
        ),
    ] {
        assert_eq!(settings(name), want, "{name}");
    }
}
