//! [`ParamGroups`]: one optimizer per range of the parameters, each with its
//! own method and hyperparameters. PyTorch's parameter groups give the same
//! numbers; each group steps bitwise as its optimizer alone.

mod common;

use common::{assert_close_to_torch, three_torch_steps};
use optim::{
    by_name, Adam, AdamW, DecayMask, Error, GradientDescent, HeavyBall, Momentum, Nesterov,
    Optimizer, OptimizerState, ParamGroups, Schedule, Sgd, METHODS,
};
use proptest::prelude::*;

/// `torch.optim.X([{"params": [w], ...}, {"params": [b], ...}], lr=...)` in
/// float64, PyTorch 2.15, the gradients of [`TORCH_GRADS`]; the last with
/// `ExponentialLR(gamma=0.5)` stepped after each step.
#[test]
fn groups_match_pytorch_parameter_groups_with_their_own_rates_and_hyperparameters() {
    // SGD([{"params": [w], "momentum": 0.9}, {"params": [b], "lr": 0.01}], lr=0.1)
    let momentum = Momentum::Classic {
        mu: 0.9,
        dampening: 0.0,
    };
    let mut sgd = ParamGroups::new()
        .group(
            0..3,
            Sgd::new(0.1).unwrap().with_momentum(momentum).unwrap(),
        )
        .unwrap()
        .group(3..5, Sgd::new(0.01).unwrap())
        .unwrap();
    assert_close_to_torch(
        three_torch_steps(&mut sgd, None),
        [1.4467, -2.0589, 0.45679999999999993, 0.7475, -1.2505],
        "SGD groups",
    );
    // Adam([{"params": [w]}, {"params": [b], "lr": 0.001, "betas": (0.8, 0.99)}], lr=0.01)
    let mut adam = ParamGroups::new()
        .group(0..3, Adam::new(0.01, 0.9, 0.999, 1e-8).unwrap())
        .unwrap()
        .group(3..5, Adam::new(0.001, 0.8, 0.99, 1e-8).unwrap())
        .unwrap();
    assert_close_to_torch(
        three_torch_steps(&mut adam, None),
        [
            1.4857697060834598,
            -2.001304486570667,
            0.4814979726421035,
            0.747742537884989,
            -1.2490026281667976,
        ],
        "Adam groups",
    );
    // AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "lr": 0.003,
    // "weight_decay": 0.0}], lr=0.01), ExponentialLR(gamma=0.5)
    let mut adamw = ParamGroups::new()
        .group(0..3, AdamW::new(0.01, 0.9, 0.999, 1e-8, 0.1).unwrap())
        .unwrap()
        .group(3..5, AdamW::new(0.003, 0.9, 0.999, 1e-8, 0.0).unwrap())
        .unwrap();
    let schedule = Schedule::exponential(0.01, 0.5).unwrap();
    assert_close_to_torch(
        three_torch_steps(&mut adamw, Some(&schedule)),
        [
            1.4859651171736517,
            -1.9907334301997015,
            0.4846781459975099,
            0.7454186558138396,
            -1.246699686034794,
        ],
        "AdamW groups, exponential schedule",
    );
    // The schedule scaled both groups: 0.01 * 0.25 and 0.003 * 0.25.
    assert_eq!(adamw.learning_rate(), 0.0025);
    let lr1 = adamw.group_learning_rate(1).unwrap();
    assert!((lr1 - 0.00075).abs() <= f64::EPSILON * 0.00075, "{lr1}");
}

/// A method by index into [`METHODS`], with rate `lr`, and for the methods
/// with weight decay some of it.
fn method(k: usize, lr: f64) -> Box<dyn Optimizer<f64>> {
    let name = METHODS[k % METHODS.len()];
    by_name::<f64>(name, lr).unwrap()
}

proptest! {
    /// Each entry of a group moves bitwise as the group's optimizer alone
    /// moves it on the group's slice, at the group's scaled rate under a
    /// schedule; entries outside every group do not move, whatever their
    /// gradient (NaN included).
    #[test]
    fn each_group_steps_bitwise_as_its_optimizer_alone_and_the_rest_stays(
        n in 2usize..20,
        cuts in proptest::collection::vec(0usize..20, 1..5),
        methods in proptest::collection::vec((0usize..16, 1u32..40), 4),
        seed in proptest::collection::vec(-2.0f64..2.0, 20 * 5),
        steps in 1usize..5,
        scheduled in any::<bool>(),
    ) {
        // Disjoint ranges from sorted cuts; every other one is a group.
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (n + 1)).collect();
        cuts.push(0);
        cuts.push(n);
        cuts.sort_unstable();
        cuts.dedup();
        let ranges: Vec<_> = cuts.windows(2).map(|w| w[0]..w[1]).step_by(2).collect();
        let mut groups = ParamGroups::new();
        let mut alone = Vec::new();
        for (r, &(k, lr)) in ranges.iter().zip(methods.iter().cycle()) {
            let lr = f64::from(lr) * 1e-3;
            groups = groups.boxed_group(r.clone(), method(k, lr)).unwrap();
            alone.push((r.clone(), method(k, lr), lr));
        }
        // From the first group's own rate down: no group's rate rises past
        // the one it was built with (AdamOde refuses `dt > eps1 = 10 lr`).
        let lr0 = alone[0].2;
        let schedule = Schedule::exponential(lr0, 0.7).unwrap();
        let mut p: Vec<f64> = seed[..n].to_vec();
        let p0 = p.clone();
        let mut q: Vec<Vec<f64>> = ranges.iter().map(|r| p[r.clone()].to_vec()).collect();
        for s in 0..steps {
            let mut g = seed[20 * (s + 1)..][..n].to_vec();
            // Frozen entries' gradients are never read.
            let frozen: Vec<usize> = (0..n).filter(|i| !ranges.iter().any(|r| r.contains(i))).collect();
            for &i in &frozen {
                g[i] = f64::NAN;
            }
            if scheduled {
                schedule.apply(&mut groups).unwrap();
            }
            groups.step(&mut p, &g).unwrap();
            for ((r, opt, lr), q) in alone.iter_mut().zip(&mut q) {
                if scheduled {
                    opt.set_learning_rate(schedule.learning_rate(s as u64) * (*lr / lr0)).unwrap();
                }
                opt.step(q, &g[r.clone()]).unwrap();
            }
        }
        for (r, q) in ranges.iter().zip(&q) {
            for (i, v) in r.clone().zip(q) {
                prop_assert_eq!(p[i].to_bits(), v.to_bits(), "entry {} in {:?}", i, r);
            }
        }
        for i in (0..n).filter(|i| !ranges.iter().any(|r| r.contains(i))) {
            prop_assert_eq!(p[i].to_bits(), p0[i].to_bits(), "frozen entry {}", i);
        }
        prop_assert_eq!(groups.steps(), steps as u64);
    }
}

/// AdamW on 0..3, then Nesterov SGD at `lr` with momentum `mu` on
/// `second`: [`two_groups`] and its variants.
fn groups_of(
    first: impl Optimizer<f64> + 'static,
    second: std::ops::Range<usize>,
    lr: f64,
    mu: f64,
) -> ParamGroups<f64> {
    let sgd = Sgd::new(lr)
        .unwrap()
        .with_momentum(Momentum::Nesterov { mu })
        .unwrap();
    ParamGroups::new()
        .group(0..3, first)
        .unwrap()
        .group(second, sgd)
        .unwrap()
}

fn adamw() -> AdamW<f64> {
    AdamW::new(0.01, 0.9, 0.999, 1e-8, 0.1).unwrap()
}

fn two_groups() -> ParamGroups<f64> {
    groups_of(adamw(), 4..6, 0.05, 0.8)
}

/// `e` says [`two_groups`]' second group (4..6) reaches past 5 parameters.
fn assert_second_group_past_five(e: &Error) {
    assert!(
        matches!(
            e,
            Error::GroupOutOfRange {
                group: 1,
                end: 6,
                len: 5,
                ..
            }
        ),
        "{e}"
    );
}

fn grads(k: usize) -> [f64; 7] {
    std::array::from_fn(|i| ((k * 7 + i) as f64 * 0.37).sin())
}

/// A checkpoint resumes bitwise, its buffers are one entry per parameter
/// (the group's values on its range, zero elsewhere), and a state of
/// another layout or hyperparameter is refused, naming it, with nothing
/// changed.
#[test]
fn a_state_resumes_bitwise_and_only_into_the_same_groups() {
    let schedule = Schedule::cosine(0.01, 10, 0.0).unwrap();
    let run = |opt: &mut ParamGroups<f64>, p: &mut [f64], from: usize, to: usize| {
        for k in from..to {
            schedule.apply(opt).unwrap();
            opt.step(p, &grads(k)).unwrap();
        }
    };
    let mut whole = two_groups();
    let mut p = [0.5; 7];
    run(&mut whole, &mut p, 0, 6);

    let mut first = two_groups();
    let mut q = [0.5; 7];
    run(&mut first, &mut q, 0, 3);
    let state = first.state();
    assert_eq!(state.optimizer, "param_groups");
    assert_eq!(state.steps, 3);
    for (name, b) in &state.buffers {
        assert_eq!(b.len(), 7, "{name}");
    }
    let m = state.buffer("group0.m").unwrap();
    assert!(m[..3].iter().all(|&v| v != 0.0) && m[3..].iter().all(|&v| v == 0.0));
    assert_eq!(state.setting("group1.method.sgd"), Some(1.0));
    assert_eq!(state.setting("group1.lr_scale"), Some(5.0));
    assert_eq!(state.setting("group0.beta2"), Some(0.999));

    let mut resumed = two_groups();
    resumed.load_state(&state).unwrap();
    assert_eq!(resumed.steps(), 3);
    run(&mut resumed, &mut q, 3, 6);
    assert_eq!(p.map(f64::to_bits), q.map(f64::to_bits));

    // Refusals, each naming what differs; nothing changes.
    let mut other_rate = groups_of(adamw(), 4..6, 0.02, 0.8);
    let before = other_rate.state();
    let e = other_rate.load_state(&state).unwrap_err();
    assert!(
        matches!(&e, Error::SettingMismatch { setting, .. } if setting == "group1.lr_scale"),
        "{e}"
    );
    assert_eq!(other_rate.state(), before);

    let mut other_range = groups_of(adamw(), 3..6, 0.05, 0.8);
    let e = other_range.load_state(&state).unwrap_err();
    assert!(
        matches!(&e, Error::SettingMismatch { setting, .. } if setting == "group1.start"),
        "{e}"
    );

    let mut other_method = groups_of(Adam::new(0.01, 0.9, 0.999, 1e-8).unwrap(), 4..6, 0.05, 0.8);
    let e = other_method.load_state(&state).unwrap_err();
    assert!(
        matches!(&e, Error::Group { group: 0, source, .. } if matches!(**source, Error::WrongOptimizer { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("group 0 (0..3)"), "{e}");

    // The second group's hyperparameter differs: its own refusal, wrapped,
    // and the first group (already loaded) is put back.
    let mut other_mu = groups_of(adamw(), 4..6, 0.05, 0.7);
    let before = other_mu.state();
    let e = other_mu.load_state(&state).unwrap_err();
    assert!(
        matches!(&e, Error::Group { group: 1, source, .. } if matches!(**source, Error::SettingMismatch { .. })),
        "{e}"
    );
    assert_eq!(other_mu.state(), before);

    let mut three = two_groups()
        .group(6..7, GradientDescent::new(0.1).unwrap())
        .unwrap();
    let e = three.load_state(&state).unwrap_err();
    assert!(
        matches!(&e, Error::SettingMismatch { setting, .. } if setting == "groups"),
        "{e}"
    );

    let mut extra = state.clone();
    extra.settings.push(("group7.start".into(), 0.0));
    let e = two_groups().load_state(&extra).unwrap_err();
    assert!(
        matches!(&e, Error::UnexpectedSetting { setting, .. } if setting == "group7.start"),
        "{e}"
    );

    let mut short = state.clone();
    short.buffers[0].1.truncate(5);
    let e = two_groups().load_state(&short).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { .. }), "{e}");

    let mut missing = state;
    missing
        .settings
        .retain(|(n, _)| n != "group1.learning_rate");
    let e = two_groups().load_state(&missing).unwrap_err();
    assert!(
        matches!(&e, Error::MissingGroupSetting { setting } if setting == "group1.learning_rate"),
        "{e}"
    );
}

#[test]
fn a_bad_group_is_refused_when_added() {
    let sgd = || Sgd::new(0.1).unwrap();
    let base = || ParamGroups::new().group(2..5, sgd()).unwrap();
    for (r, words) in [
        (4..8, "overlaps group 0"),
        (0..3, "overlaps group 0"),
        (6..6, "non-empty"),
    ] {
        let e = base().group(r.clone(), sgd()).unwrap_err();
        assert!(matches!(e, Error::InvalidGroup { group: 1, .. }), "{e}");
        assert!(e.to_string().contains(words), "{r:?}: {e}");
    }
    // Touching ranges are disjoint.
    base()
        .group(5..6, sgd())
        .unwrap()
        .group(0..2, sgd())
        .unwrap();

    let mut stepped = sgd();
    stepped.step(&mut [1.0], &[1.0]).unwrap();
    let e = ParamGroups::new().group(0..1, stepped).unwrap_err();
    assert!(e.to_string().contains("has taken 1 steps"), "{e}");

    let mut zero = sgd();
    zero.set_learning_rate(0.0).unwrap();
    let e = ParamGroups::new().group(0..1, zero).unwrap_err();
    assert!(
        e.to_string().contains("first group's learning rate is 0"),
        "{e}"
    );
}

/// Every refusal of a step comes before anything changes, the first step's
/// refusal by a group's own optimizer (its decay mask past its range)
/// included.
#[test]
fn a_refused_step_changes_nothing() {
    let mut opt = two_groups();
    let mut p = [1.0; 7];
    let e = opt.step(&mut p[..5], &[0.1; 5]).unwrap_err();
    assert_second_group_past_five(&e);
    let e = opt.step(&mut p, &[0.1; 6]).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { .. }), "{e}");
    let mut g = [0.1; 7];
    g[5] = f64::INFINITY;
    let e = opt.step(&mut p, &g).unwrap_err();
    assert!(
        matches!(e, Error::NonFiniteGradient { index: 5, .. }),
        "{e}"
    );
    g[5] = 0.1;
    g[3] = f64::NAN; // frozen: not read
    assert_eq!(p, [1.0; 7]);
    assert_eq!(opt.steps(), 0);
    opt.step(&mut p, &g).unwrap();
    assert_eq!(opt.steps(), 1);
    let e = opt.step(&mut [1.0; 8], &[0.1; 8]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LengthMismatch {
                expected: 7,
                got: 8,
                ..
            }
        ),
        "{e}"
    );

    // The second group's mask reaches past its two entries: the first
    // group's step is undone.
    let masked = AdamW::new(0.01, 0.9, 0.999, 1e-8, 0.1)
        .unwrap()
        .with_decay_mask(DecayMask::range(0..3).unwrap());
    let mut opt = ParamGroups::new()
        .group(0..3, Adam::new(0.1, 0.9, 0.999, 1e-8).unwrap())
        .unwrap()
        .group(3..5, masked)
        .unwrap();
    let mut p = [1.0; 5];
    let e = opt.step(&mut p, &[0.5; 5]).unwrap_err();
    assert!(
        matches!(&e, Error::Group { group: 1, source, .. } if matches!(**source, Error::DecayMaskOutOfRange { .. })),
        "{e}"
    );
    assert_eq!(p, [1.0; 5]);
    assert_eq!(opt.steps(), 0);
    assert!(opt.state().buffers.iter().all(|(_, b)| b.is_empty()));
}

/// After steps that succeeded, a step the second group refuses (Adam's
/// second moment would overflow) moves neither group: every group's
/// `check` runs before any steps.
#[test]
fn a_later_refusal_by_a_group_moves_no_group() {
    let mut opt = ParamGroups::new()
        .group(
            0..3,
            Sgd::new(0.1)
                .unwrap()
                .with_momentum(Momentum::Classic {
                    mu: 0.9,
                    dampening: 0.0,
                })
                .unwrap(),
        )
        .unwrap()
        .group(3..5, Adam::new(0.1, 0.9, 0.999, 1e-8).unwrap())
        .unwrap();
    let mut p = [1.0; 5];
    for _ in 0..2 {
        opt.step(&mut p, &[0.5; 5]).unwrap();
    }
    let (before, state) = (p, opt.state());
    let e = opt.step(&mut p, &[0.5, 0.5, 0.5, 0.5, 1e300]).unwrap_err();
    assert!(
        matches!(&e, Error::Group { group: 1, source, .. } if matches!(**source, Error::MomentOverflow { index: 1, .. })),
        "{e}"
    );
    assert_eq!(p, before);
    assert_eq!(opt.state(), state);
    assert_eq!(
        opt.check(&p, &[0.5, 0.5, 0.5, 0.5, 1e300])
            .unwrap_err()
            .to_string(),
        e.to_string()
    );
}

/// A rate a group's method refuses (AdamOde's `dt <= eps1`) leaves every
/// group's rate as it was.
#[test]
fn a_refused_rate_leaves_every_group_rate_as_it_was() {
    let mut opt = ParamGroups::new()
        .group(0..2, Sgd::new(0.1).unwrap())
        .unwrap()
        .boxed_group(2..4, by_name::<f64>("adam_ode", 1e-3).unwrap())
        .unwrap();
    let before: Vec<f64> = (0..2)
        .map(|g| opt.group_learning_rate(g).unwrap())
        .collect();
    let e = opt.set_learning_rate(1e6).unwrap_err();
    assert!(matches!(e, Error::Group { group: 1, .. }), "{e}");
    let after: Vec<f64> = (0..2)
        .map(|g| opt.group_learning_rate(g).unwrap())
        .collect();
    assert_eq!(before, after);
    let e = opt.set_learning_rate(-1.0).unwrap_err();
    assert!(matches!(e, Error::InvalidHyperparameter { .. }), "{e}");
}

/// Nesterov's group moves the gradient point on its range; elsewhere it is
/// the parameters. Without such a group the point is the parameters and
/// `out` is untouched.
#[test]
fn the_gradient_point_is_each_groups_own() {
    let mut opt = ParamGroups::new()
        .group(0..2, Adam::new(0.1, 0.9, 0.999, 1e-8).unwrap())
        .unwrap()
        .group(3..5, Nesterov::new(0.1, 0.5).unwrap())
        .unwrap();
    let mut alone = Nesterov::new(0.1, 0.5).unwrap();
    let mut p = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let g = [0.5, -0.5, 0.25, 1.0, -1.0, 0.0];
    let mut q = [4.0, 5.0];
    opt.step(&mut p, &g).unwrap();
    alone.step(&mut q, &g[3..5]).unwrap();
    let mut out = [f64::NAN; 6];
    assert!(opt.gradient_point(&p, &mut out).unwrap());
    let mut expected = [0.0; 2];
    assert!(alone.gradient_point(&q, &mut expected).unwrap());
    assert_eq!(out, [p[0], p[1], p[2], expected[0], expected[1], p[5]]);

    // The moving group first, a still one after it, a frozen entry between.
    let mut reversed = ParamGroups::new()
        .group(3..5, Nesterov::new(0.1, 0.5).unwrap())
        .unwrap()
        .group(0..2, Adam::new(0.1, 0.9, 0.999, 1e-8).unwrap())
        .unwrap();
    let mut r = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    reversed.step(&mut r, &g).unwrap();
    let mut out = [f64::NAN; 6];
    assert!(reversed.gradient_point(&r, &mut out).unwrap());
    assert_eq!(out, [r[0], r[1], r[2], expected[0], expected[1], r[5]]);

    let plain = two_groups()
        .group(6..7, HeavyBall::new(0.1).unwrap())
        .unwrap();
    let mut out = [7.0; 7];
    assert!(!ParamGroups::new()
        .group(0..3, Sgd::new(0.1).unwrap())
        .unwrap()
        .gradient_point(&[1.0; 7], &mut out)
        .unwrap());
    assert_eq!(out, [7.0; 7]);
    let e = plain.gradient_point(&[1.0; 7], &mut [0.0; 6]).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { .. }), "{e}");
}

/// The energy is `J` plus each group's kinetic part; a group without an
/// energy leaves the whole without one.
#[test]
fn the_energy_adds_the_groups_kinetic_parts() {
    let mut opt = ParamGroups::new()
        .group(0..2, HeavyBall::new(0.1).unwrap())
        .unwrap()
        .group(2..4, HeavyBall::new(0.2).unwrap())
        .unwrap();
    let mut a = HeavyBall::new(0.1).unwrap();
    let mut b = HeavyBall::new(0.2).unwrap();
    let (mut p, mut pa, mut pb) = ([1.0, -1.0, 2.0, 0.5], [1.0, -1.0], [2.0, 0.5]);
    let g = [0.3, -0.2, 0.1, 0.4];
    opt.step(&mut p, &g).unwrap();
    a.step(&mut pa, &g[..2]).unwrap();
    b.step(&mut pb, &g[2..]).unwrap();
    let j = 1.5;
    let expected = j + a.energy(0.0).unwrap() + b.energy(0.0).unwrap();
    assert_eq!(opt.energy(j), Some(expected));
    assert!(opt.energy(j).unwrap() > j);
    let mixed = ParamGroups::<f64>::new()
        .group(0..2, HeavyBall::new(0.1).unwrap())
        .unwrap()
        .group(2..4, Adam::new(0.1, 0.9, 0.999, 1e-8).unwrap())
        .unwrap();
    assert_eq!(mixed.energy(j), None);
}

/// A state loaded into fresh groups and a reset: the next step is a first
/// step again, of any length.
#[test]
fn reset_forgets_the_groups_states_and_the_length() {
    let mut opt = two_groups();
    let mut p = [1.0; 7];
    opt.step(&mut p, &grads(0)).unwrap();
    opt.reset();
    assert_eq!(opt.steps(), 0);
    let empty: OptimizerState<f64> = opt.state();
    assert!(empty.buffers.iter().all(|(_, b)| b.is_empty()));
    opt.step(&mut [1.0; 9], &[0.1; 9]).unwrap();
}

/// A setting or buffer whose group index is not written as `state` writes
/// it (`group01.`, `group+1.`) is no group's: refused, not ignored.
#[test]
fn a_group_index_written_otherwise_is_refused() {
    let mut opt = two_groups();
    opt.step(&mut [0.5; 7], &grads(0)).unwrap();
    let state = opt.state();
    for name in ["group01.start", "group+1.start", "group00.beta1"] {
        let mut extra = state.clone();
        extra.settings.push((name.into(), 4.0));
        let mut fresh = two_groups();
        let before = fresh.state();
        let e = fresh.load_state(&extra).unwrap_err();
        assert!(
            matches!(&e, Error::UnexpectedSetting { setting, .. } if setting == name),
            "{name}: {e}"
        );
        assert_eq!(fresh.state(), before);
    }
    for name in ["group01.momentum_buffer", "group+0.m"] {
        let mut extra = state.clone();
        extra.buffers.push((name.into(), vec![0.0; 7]));
        let e = two_groups().load_state(&extra).unwrap_err();
        assert!(
            matches!(&e, Error::UnexpectedState { entry, .. } if entry == name),
            "{name}: {e}"
        );
    }
}

/// A buffer under a group's own setting names (`start`, `method.*`), and a
/// second method for a group, are refused, not ignored.
#[test]
fn a_buffer_named_as_a_group_setting_or_a_second_method_is_refused() {
    let mut opt = two_groups();
    opt.step(&mut [0.5; 7], &grads(0)).unwrap();
    let state = opt.state();
    for name in ["group0.start", "group1.method.sgd", "group1.learning_rate"] {
        let mut extra = state.clone();
        extra.buffers.push((name.into(), vec![0.0; 7]));
        let e = two_groups().load_state(&extra).unwrap_err();
        assert!(
            matches!(&e, Error::UnexpectedState { entry, .. } if entry == name),
            "{name}: {e}"
        );
    }
    let mut two_methods = state;
    two_methods.settings.push(("group0.method.sgd".into(), 1.0));
    let e = two_groups().load_state(&two_methods).unwrap_err();
    assert!(
        matches!(&e, Error::UnexpectedSetting { setting, .. } if setting == "group0.method.sgd"),
        "{e}"
    );
}

/// After a state of `steps > 0` without buffers is loaded, a group's own
/// refusal of the next step (its decay mask past its range) still leaves
/// the parameters and every group's state as they were.
#[test]
fn a_groups_refusal_after_a_loaded_state_changes_nothing() {
    let build = || {
        let masked = AdamW::new(0.01, 0.9, 0.999, 1e-8, 0.1)
            .unwrap()
            .with_decay_mask(DecayMask::range(0..3).unwrap());
        ParamGroups::new()
            .group(0..3, Adam::new(0.1, 0.9, 0.999, 1e-8).unwrap())
            .unwrap()
            .group(3..5, masked)
            .unwrap()
    };
    let mut state = build().state();
    state.steps = 5;
    let mut opt = build();
    opt.load_state(&state).unwrap();
    let loaded = opt.state();
    let mut p = [1.0; 5];
    let e = opt.step(&mut p, &[0.5; 5]).unwrap_err();
    assert!(matches!(&e, Error::Group { group: 1, .. }), "{e}");
    assert_eq!(p, [1.0; 5]);
    assert_eq!(opt.state(), loaded);
    assert_eq!(opt.steps(), 5);
}

/// A loaded state is the state read back, bitwise (each group's rate its
/// own, the buffers over all the parameters), and it fixes the parameters'
/// length as the writer's step did.
#[test]
fn a_loaded_state_reads_back_bitwise_and_fixes_the_length() {
    let mut opt = two_groups();
    let mut p = [0.5; 7];
    opt.step(&mut p, &grads(0)).unwrap();
    opt.set_learning_rate(0.003).unwrap();
    let state = opt.state();
    let mut resumed = two_groups();
    resumed.load_state(&state).unwrap();
    assert_eq!(resumed.state(), state);
    assert_eq!(resumed.group_learning_rate(1), opt.group_learning_rate(1));
    let e = resumed.step(&mut [0.5; 8], &[0.1; 8]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LengthMismatch {
                expected: 7,
                got: 8,
                ..
            }
        ),
        "{e}"
    );
}

/// Buffers all shorter than a group's range end: refused, naming the
/// group, not a panic.
#[test]
fn buffers_shorter_than_a_groups_end_are_refused() {
    let mut opt = two_groups();
    opt.step(&mut [0.5; 7], &grads(0)).unwrap();
    let mut short = opt.state();
    for (_, b) in &mut short.buffers {
        b.truncate(5);
    }
    // Against the recorded length, the buffers are the wrong length ...
    let mut fresh = two_groups();
    let before = fresh.state();
    let e = fresh.load_state(&short).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LengthMismatch {
                expected: 7,
                got: 5,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(fresh.state(), before);
    // ... and recorded as 5 too, the second group does not fit.
    for (n, v) in &mut short.settings {
        if n == "params" {
            *v = 5.0;
        }
    }
    let e = fresh.load_state(&short).unwrap_err();
    assert_second_group_past_five(&e);
    assert_eq!(fresh.state(), before);
}

/// A step counter at its maximum is the groups' own refusal, before any
/// group steps.
#[test]
fn a_step_counter_at_its_maximum_is_refused_as_the_groups() {
    let mut opt = two_groups();
    opt.step(&mut [0.5; 7], &grads(0)).unwrap();
    let mut state = opt.state();
    state.steps = u64::MAX;
    let mut opt = two_groups();
    opt.load_state(&state).unwrap();
    let mut p = [0.5; 7];
    let e = opt.step(&mut p, &grads(1)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::StepCount {
                optimizer: "param_groups",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(p, [0.5; 7]);
    assert_eq!(opt.state(), state);
}

/// Two groups moving the gradient point: each keeps its own range's
/// lookahead.
#[test]
fn two_moving_groups_each_keep_their_gradient_point() {
    let mut opt = ParamGroups::new()
        .group(0..2, Nesterov::new(0.1, 0.5).unwrap())
        .unwrap()
        .group(3..5, Nesterov::new(0.2, 0.25).unwrap())
        .unwrap();
    let (mut a, mut b) = (
        Nesterov::new(0.1, 0.5).unwrap(),
        Nesterov::new(0.2, 0.25).unwrap(),
    );
    let mut p = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let g = [0.5, -0.5, 0.25, 1.0, -1.0, 0.0];
    let (mut pa, mut pb) = ([1.0, 2.0], [4.0, 5.0]);
    opt.step(&mut p, &g).unwrap();
    a.step(&mut pa, &g[..2]).unwrap();
    b.step(&mut pb, &g[3..5]).unwrap();
    let (mut la, mut lb) = ([0.0; 2], [0.0; 2]);
    assert!(a.gradient_point(&pa, &mut la).unwrap());
    assert!(b.gradient_point(&pb, &mut lb).unwrap());
    let mut out = [f64::NAN; 6];
    assert!(opt.gradient_point(&p, &mut out).unwrap());
    assert_eq!(out, [la[0], la[1], p[2], lb[0], lb[1], p[5]]);
}

/// Groups that keep no buffer (plain SGD, gradient descent) still record
/// the length a step fixed: a resumed run refuses another, as the run that
/// wrote the state did; a bad recorded length is refused.
#[test]
fn a_state_without_buffers_records_the_length_and_a_resumed_run_keeps_it() {
    let stateless = || {
        ParamGroups::new()
            .group(0..3, Sgd::new(0.1).unwrap())
            .unwrap()
            .group(4..6, GradientDescent::new(0.05).unwrap())
            .unwrap()
    };
    let mut opt = stateless();
    assert_eq!(opt.state().setting("params"), None);
    opt.step(&mut [1.0; 7], &[0.5; 7]).unwrap();
    let state = opt.state();
    assert!(state.buffers.iter().all(|(_, b)| b.is_empty()));
    assert_eq!(state.setting("params"), Some(7.0));
    let mut resumed = stateless();
    resumed.load_state(&state).unwrap();
    let e = resumed.step(&mut [1.0; 8], &[0.5; 8]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::LengthMismatch {
                expected: 7,
                got: 8,
                ..
            }
        ),
        "{e}"
    );
    resumed.step(&mut [1.0; 7], &[0.5; 7]).unwrap();
    // Too short for the groups, or not a whole number: refused.
    for (bad, what) in [(5.0, "past"), (6.5, "whole")] {
        let mut edited = state.clone();
        edited.settings.retain(|(n, _)| n != "params");
        edited.settings.push(("params".into(), bad));
        let e = stateless().load_state(&edited).unwrap_err();
        assert!(e.to_string().contains(what), "{bad}: {e}");
    }
}
