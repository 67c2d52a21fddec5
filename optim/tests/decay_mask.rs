//! Weight decay limited to some parameters ([`DecayMask`]): PyTorch's
//! parameter groups with and without `weight_decay`, the same numbers.

mod common;

use common::{assert_close_to_torch, three_torch_steps, TORCH_GRADS};
use optim::{
    Adagrad, Adam, AdamW, Builder, DecayMask, Error, Hyperparameter, Momentum, Optimizer, RmsProp,
    Sgd,
};
use proptest::prelude::*;

/// `torch.optim.X([{"params": [w], "weight_decay": 0.1}, {"params": [b],
/// "weight_decay": 0.0}], lr=...)` in float64, PyTorch 2.15, the gradients
/// of [`TORCH_GRADS`].
#[test]
fn a_masked_optimizer_matches_pytorch_parameter_groups_with_and_without_decay() {
    let mask = || DecayMask::range(0..3).unwrap();
    let mut adamw = AdamW::new(0.01, 0.9, 0.999, 1e-8, 0.1)
        .unwrap()
        .with_decay_mask(mask());
    assert_close_to_torch(
        three_torch_steps(&mut adamw, None),
        [
            1.481295639788034,
            -1.9953248795339196,
            0.4800287839369024,
            0.727356657005091,
            -1.238659183359624,
        ],
        "AdamW(lr=0.01)",
    );
    let mut adam = Adam::new(0.01, 0.9, 0.999, 1e-8)
        .unwrap()
        .with_weight_decay(0.1)
        .unwrap()
        .with_decay_mask(mask());
    assert_close_to_torch(
        three_torch_steps(&mut adam, None),
        [
            1.4771627073518014,
            -1.9858291447726728,
            0.4790284330509455,
            0.727356657005091,
            -1.238659183359624,
        ],
        "Adam(lr=0.01)",
    );
    let mut sgd = Sgd::new(0.1)
        .unwrap()
        .with_momentum(Momentum::Classic {
            mu: 0.9,
            dampening: 0.0,
        })
        .unwrap()
        .with_weight_decay(0.1)
        .unwrap()
        .with_decay_mask(mask());
    assert_close_to_torch(
        three_torch_steps(&mut sgd, None),
        [1.3642055, -1.947637, 0.4298475, 0.68945, -1.2046],
        "SGD(lr=0.1, momentum=0.9)",
    );
    let sgd = |momentum| {
        Sgd::new(0.1)
            .unwrap()
            .with_momentum(momentum)
            .unwrap()
            .with_weight_decay(0.1)
            .unwrap()
            .with_decay_mask(mask())
    };
    assert_close_to_torch(
        three_torch_steps(&mut sgd(Momentum::Nesterov { mu: 0.8 }), None),
        [1.338124556, -1.944209704, 0.43726742, 0.68004, -1.22572],
        "SGD(lr=0.1, momentum=0.8, nesterov=True)",
    );
    let damped = Momentum::Classic {
        mu: 0.9,
        dampening: 0.25,
    };
    assert_close_to_torch(
        three_torch_steps(&mut sgd(damped), None),
        [
            1.3676768437500002,
            -1.9404408125,
            0.43042046875,
            0.7011999999999999,
            -1.18885,
        ],
        "SGD(lr=0.1, momentum=0.9, dampening=0.25)",
    );
    assert_close_to_torch(
        three_torch_steps(&mut sgd(Momentum::None), None),
        [1.4358455, -1.980397, 0.4856475, 0.725, -1.255],
        "SGD(lr=0.1)",
    );
}

/// PyTorch keeps no momentum buffer without momentum (or with momentum 0),
/// masked or not: the state's buffer stays empty.
#[test]
fn a_masked_sgd_without_momentum_keeps_no_buffer() {
    let zero = Momentum::Classic {
        mu: 0.0,
        dampening: 0.5,
    };
    for momentum in [Momentum::None, zero] {
        let mut sgd = Sgd::new(0.1)
            .unwrap()
            .with_momentum(momentum)
            .unwrap()
            .with_weight_decay(0.1)
            .unwrap()
            .with_decay_mask(DecayMask::range(1..3).unwrap());
        three_torch_steps(&mut sgd, None);
        assert_eq!(
            sgd.state().buffer("momentum_buffer"),
            Some(&[][..]),
            "{momentum:?}"
        );
    }
}

/// The methods with weight decay, each built with decay `lambda` and the
/// decay mask, if any.
fn decaying(method: usize, lambda: f64, mask: Option<DecayMask>) -> Box<dyn Optimizer<f64>> {
    let sgd = |m| {
        let sgd = Sgd::new(0.05)
            .unwrap()
            .with_momentum(m)
            .unwrap()
            .with_weight_decay(lambda)
            .unwrap();
        masked(sgd, mask.clone(), Sgd::with_decay_mask)
    };
    match method {
        0 => sgd(Momentum::None),
        1 => sgd(Momentum::Classic {
            mu: 0.9,
            dampening: 0.25,
        }),
        2 => sgd(Momentum::Nesterov { mu: 0.8 }),
        3 => {
            let adam = Adam::new(0.02, 0.9, 0.99, 1e-8)
                .unwrap()
                .with_weight_decay(lambda)
                .unwrap();
            masked(adam, mask, Adam::with_decay_mask)
        }
        4 => {
            let adamw = AdamW::new(0.02, 0.9, 0.99, 1e-8, lambda).unwrap();
            masked(adamw, mask, AdamW::with_decay_mask)
        }
        5 => {
            let rmsprop = RmsProp::new(0.01)
                .unwrap()
                .with_momentum(0.5)
                .unwrap()
                .with_centered(true)
                .with_weight_decay(lambda)
                .unwrap();
            masked(rmsprop, mask, RmsProp::with_decay_mask)
        }
        _ => {
            let adagrad = Adagrad::new(0.05)
                .unwrap()
                .with_weight_decay(lambda)
                .unwrap();
            masked(adagrad, mask, Adagrad::with_decay_mask)
        }
    }
}

/// `opt`, given `mask` by `with` if there is one.
fn masked<O: Optimizer<f64> + 'static>(
    opt: O,
    mask: Option<DecayMask>,
    with: fn(O, DecayMask) -> O,
) -> Box<dyn Optimizer<f64>> {
    Box::new(match mask {
        Some(mask) => with(opt, mask),
        None => opt,
    })
}

proptest! {
    /// Every update is elementwise, so a masked optimizer must step each
    /// entry bitwise as the decayed optimizer (inside the mask) or the
    /// undecayed one (outside) steps it.
    #[test]
    fn a_masked_step_is_the_decayed_one_inside_the_mask_and_the_plain_one_outside(
        method in 0usize..7,
        n in 1usize..24,
        cuts in proptest::collection::vec((0usize..24, 0usize..24), 0..4),
        seed in proptest::collection::vec(-2.0f64..2.0, 48 * 4),
        steps in 1usize..5,
    ) {
        let ranges = cuts.iter().map(|&(a, b)| a.min(b).min(n)..a.max(b).min(n));
        let mask = DecayMask::new(ranges).unwrap();
        let lambda = 0.3;
        let mut with = decaying(method, lambda, None);
        let mut without = decaying(method, 0.0, None);
        let mut opt = decaying(method, lambda, Some(mask.clone()));
        let p0: Vec<f64> = seed[..n].to_vec();
        let (mut a, mut b, mut c) = (p0.clone(), p0.clone(), p0);
        for k in 0..steps {
            let g = &seed[48 * (k % 4)..][..n];
            with.step(&mut a, g).unwrap();
            without.step(&mut b, g).unwrap();
            opt.step(&mut c, g).unwrap();
        }
        for i in 0..n {
            let expected = if mask.contains(i) { a[i] } else { b[i] };
            prop_assert_eq!(c[i].to_bits(), expected.to_bits(), "entry {} of {}", i, n);
        }
    }
}

fn adamw_masked(mask: DecayMask) -> AdamW<f64> {
    AdamW::new(0.01, 0.9, 0.999, 1e-8, 0.1)
        .unwrap()
        .with_decay_mask(mask)
}

fn range(r: std::ops::Range<usize>) -> DecayMask {
    DecayMask::range(r).unwrap()
}

#[test]
fn a_state_records_the_mask_and_resumes_only_with_the_same_one() {
    let mut opt = adamw_masked(range(0..3));
    let mut p = [1.5, -2.0, 0.5, 0.75, -1.25];
    opt.step(&mut p, &TORCH_GRADS[0]).unwrap();
    let state = opt.state();
    for name in ["decay_mask_ranges", "decay_mask_entries", "decay_mask_hash"] {
        assert!(state.setting(name).is_some(), "{name} not recorded");
    }
    assert_eq!(state.setting("decay_mask_entries"), Some(3.0));

    // The same mask (given in another form) resumes bitwise.
    let mut resumed = adamw_masked(DecayMask::new([2..3, 0..2]).unwrap());
    resumed.load_state(&state).unwrap();
    let mut q = p;
    opt.step(&mut p, &TORCH_GRADS[1]).unwrap();
    resumed.step(&mut q, &TORCH_GRADS[1]).unwrap();
    assert_eq!(p.map(f64::to_bits), q.map(f64::to_bits));

    // Another mask, no mask, or a mask for a state without one: refused,
    // naming the setting, and nothing changes.
    let refused = |opt: &mut dyn Optimizer<f64>, state| {
        let before = opt.state();
        let e = opt.load_state(state).unwrap_err();
        assert_eq!(opt.state(), before);
        e
    };
    let e = refused(&mut adamw_masked(range(1..4)), &state);
    assert!(
        matches!(&e, Error::SettingMismatch { setting, .. } if setting == "decay_mask_hash"),
        "{e}"
    );
    let e = refused(&mut adamw_masked(range(0..4)), &state);
    assert!(
        matches!(&e, Error::SettingMismatch { setting, .. } if setting == "decay_mask_entries"),
        "{e}"
    );
    let mut plain = AdamW::new(0.01, 0.9, 0.999, 1e-8, 0.1).unwrap();
    let e = refused(&mut plain, &state);
    assert_eq!(
        e.to_string(),
        "adamw: unknown setting \"decay_mask_ranges\" in the state"
    );
    let e = refused(&mut adamw_masked(range(0..3)), &plain.state());
    assert_eq!(
        e.to_string(),
        "adamw: the state's settings lack \"decay_mask_ranges\""
    );

    // A state without any settings (written before they were recorded)
    // loads unchecked, as into any optimizer.
    let mut old = state.clone();
    old.settings.clear();
    let mut masked = adamw_masked(range(1..4));
    masked.load_state(&old).unwrap();
    assert_eq!(masked.steps(), 1);
}

#[test]
fn a_mask_past_the_parameters_is_refused_before_anything_changes() {
    for method in 0..5 {
        let mut opt = decaying(method, 0.1, Some(DecayMask::range(2..6).unwrap()));
        let mut p = [1.0, 2.0, 3.0];
        let before = opt.state();
        let e = opt.step(&mut p, &[0.1, 0.2, 0.3]).unwrap_err();
        assert_eq!(
            e,
            Error::DecayMaskOutOfRange {
                optimizer: opt.name(),
                end: 6,
                len: 3
            }
        );
        assert_eq!((p, opt.state()), ([1.0, 2.0, 3.0], before));
    }
}

#[test]
fn only_methods_with_weight_decay_take_a_mask() {
    let mask = DecayMask::range(0..2).unwrap();
    for name in optim::METHODS {
        let b = Builder::new(name, 0.01).unwrap();
        let takes = b.accepts(Hyperparameter::WeightDecay);
        match b.with_decay_mask(mask.clone()) {
            Ok(b) => {
                assert!(takes, "{name}");
                assert_eq!(b.decay_mask(), Some(&mask), "{name}");
                let state = b.build::<f32>().unwrap().state();
                assert_eq!(state.setting("decay_mask_entries"), Some(2.0), "{name}");
            }
            Err(e) => {
                assert!(!takes, "{name}");
                assert!(
                    e.to_string().contains("no hyperparameter \"decay_mask\""),
                    "{e}"
                );
            }
        }
    }
}

/// The overflow check of the running squares steps as the step does: the
/// L2 term only inside the mask, and the first entry that would overflow
/// named by its index among all the parameters.
#[test]
fn the_overflow_check_follows_the_mask_and_names_the_first_entry() {
    let methods = || -> [Box<dyn Optimizer<f32>>; 2] {
        let mask = || DecayMask::range(0..2).unwrap();
        [
            Box::new(
                RmsProp::new(0.01)
                    .unwrap()
                    .with_weight_decay(1.0)
                    .unwrap()
                    .with_decay_mask(mask()),
            ),
            Box::new(
                Adagrad::new(0.1)
                    .unwrap()
                    .with_weight_decay(1.0)
                    .unwrap()
                    .with_decay_mask(mask()),
            ),
        ]
    };
    // 3e20 squared overflows f32 (0.01 of it too); 3e20 + 1 is 3e20.
    let big = 3e20f32;
    let one = [1.0f32; 5];
    for (w, g, first) in [
        // Huge parameters outside the mask are not decayed: no overflow.
        ([1.0, 1.0, big, big, 1.0], one, None),
        (
            [1.0, 1.0, big, big, 1.0],
            [1.0, 1.0, 1.0, 1.0, big],
            Some(4),
        ),
        // Inside: g + lambda w overflows, before entry 4 does.
        (
            [1.0, big, 1.0, 1.0, 1.0],
            [1.0, 1.0, 1.0, 1.0, big],
            Some(1),
        ),
    ] {
        for mut opt in methods() {
            let checked = opt.check(&w, &g);
            let mut stepped = w;
            let result = opt.step(&mut stepped, &g);
            assert_eq!(
                checked.as_ref().map_err(|e| e.to_string()),
                result.as_ref().map_err(|e| e.to_string()),
                "{}",
                opt.name()
            );
            match (first, result) {
                (None, r) => assert!(r.is_ok(), "{}: {r:?}", opt.name()),
                (Some(i), Err(Error::MomentOverflow { index, value, .. })) => {
                    assert_eq!((index, value), (i, f64::from(big)), "{}", opt.name());
                    assert_eq!(stepped, w);
                }
                (Some(_), r) => panic!("{}: {r:?}", opt.name()),
            }
        }
    }
}
