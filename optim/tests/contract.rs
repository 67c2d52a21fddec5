//! What every method promises, checked for each one in f32 and f64 through
//! `Box<dyn Optimizer<T>>`: typed errors that leave everything untouched,
//! reset, bitwise checkpoints, schedules.

use optim::{
    Adagrad, Adam, AdamOde, AdamW, Error, Float, Friction, GradientDescent, HeavyBall, Momentum,
    Nesterov, Optimizer, OptimizerState, Relaxation, RmsProp, Schedule, Scheme, Sgd,
};

/// One instance of every method (and of each variant), in type `T`.
fn all_methods<T: Float>() -> Vec<Box<dyn Optimizer<T>>> {
    vec![
        Box::new(GradientDescent::new(0.05).unwrap()),
        Box::new(HeavyBall::new(0.05).unwrap()),
        Box::new(
            HeavyBall::new(0.05)
                .unwrap()
                .with_scheme(Scheme::SemiImplicitEuler),
        ),
        Box::new(Nesterov::new(0.05, 0.5).unwrap()),
        // eps = 1: linear friction near Z = 0, see Friction's doc.
        Box::new(Friction::new(0.05, 1.0, 1.0).unwrap()),
        Box::new(Relaxation::new(0.05, 0.2).unwrap()),
        // Like Adam, (5.25) settles O(dt) away from the minimum: a smaller dt.
        Box::new(AdamOde::new(0.01, 0.2, 1.0, 1.0).unwrap()),
        Box::new(Adam::new(0.05, 0.9, 0.999, 1e-8).unwrap()),
        Box::new(AdamW::new(0.05, 0.9, 0.999, 1e-8, 0.01).unwrap()),
        Box::new(Sgd::new(0.05).unwrap()),
        Box::new(
            Sgd::new(0.05)
                .unwrap()
                .with_momentum(Momentum::Classic {
                    mu: 0.9,
                    dampening: 0.1,
                })
                .unwrap()
                .with_weight_decay(0.01)
                .unwrap(),
        ),
        Box::new(
            Sgd::new(0.05)
                .unwrap()
                .with_momentum(Momentum::Nesterov { mu: 0.9 })
                .unwrap(),
        ),
        Box::new(RmsProp::new(0.01).unwrap()),
        // Every buffer: the running square, the mean gradient, momentum.
        Box::new(
            RmsProp::new(0.01)
                .unwrap()
                .with_momentum(0.5)
                .unwrap()
                .with_centered(true)
                .with_weight_decay(0.01)
                .unwrap(),
        ),
        Box::new(
            Adagrad::new(0.1)
                .unwrap()
                .with_lr_decay(0.01)
                .unwrap()
                .with_initial_accumulator_value(0.1)
                .unwrap(),
        ),
    ]
}

/// `J(w) = sum_i (i + 1) w_i^2 / 2`, an anisotropic convex quadratic.
fn gradient<T: Float>(w: &[T]) -> Vec<T> {
    w.iter()
        .enumerate()
        .map(|(i, &x)| T::from_f64(i as f64 + 1.0) * x)
        .collect()
}

fn value<T: Float>(w: &[T]) -> f64 {
    w.iter()
        .enumerate()
        .map(|(i, &x)| 0.5 * (i as f64 + 1.0) * x.to_f64() * x.to_f64())
        .sum()
}

fn start<T: Float>() -> Vec<T> {
    [1.0, -0.5, 0.25].iter().map(|&x| T::from_f64(x)).collect()
}

/// Runs `n` steps, taking the gradient where the optimizer asks.
fn run<T: Float>(opt: &mut dyn Optimizer<T>, w: &mut [T], n: usize) {
    let mut at = vec![T::ZERO; w.len()];
    for _ in 0..n {
        let g = if opt.gradient_point(w, &mut at).unwrap() {
            gradient(&at)
        } else {
            gradient(w)
        };
        opt.step(w, &g).unwrap();
    }
}

fn bits<T: Float>(w: &[T]) -> Vec<u64> {
    w.iter().map(|x| x.to_f64().to_bits()).collect()
}

fn every_method_in<T: Float>(check: impl Fn(Box<dyn Optimizer<T>>)) {
    for opt in all_methods::<T>() {
        check(opt);
    }
}

fn every_method(
    check32: impl Fn(Box<dyn Optimizer<f32>>),
    check64: impl Fn(Box<dyn Optimizer<f64>>),
) {
    every_method_in(check32);
    every_method_in(check64);
}

/// The heavy ball is exempt: it has no dissipation (Lemma 5.2.1) and keeps
/// oscillating through the minimum (Remark 5.2.2).
fn decreases_the_quadratic<T: Float>(mut opt: Box<dyn Optimizer<T>>) {
    if opt.name() == "heavy_ball" {
        return;
    }
    let mut w = start::<T>();
    let j0 = value(&w);
    run(opt.as_mut(), &mut w, 1000);
    assert!(value(&w) < 1e-2 * j0, "{}: J = {}", opt.name(), value(&w));
    assert_eq!(opt.steps(), 1000);
}

#[test]
fn every_dissipative_method_minimises_a_convex_quadratic_in_f32_and_f64() {
    every_method(decreases_the_quadratic, decreases_the_quadratic);
}

#[test]
fn every_method_agrees_between_f32_and_f64_to_single_precision() {
    for (mut a, mut b) in all_methods::<f32>().into_iter().zip(all_methods::<f64>()) {
        let (mut w32, mut w64) = (start::<f32>(), start::<f64>());
        run(a.as_mut(), &mut w32, 50);
        run(b.as_mut(), &mut w64, 50);
        for (x, y) in w32.iter().zip(&w64) {
            assert!((*x as f64 - y).abs() < 1e-4, "{}: {x} vs {y}", a.name());
        }
    }
}

/// Errors are checked before anything is written: parameters, state and
/// step counter are bitwise unchanged.
fn rejects_without_side_effects<T: Float>(mut opt: Box<dyn Optimizer<T>>) {
    let mut w = start::<T>();
    run(opt.as_mut(), &mut w, 3);
    let (w_before, state_before) = (bits(&w), opt.state());

    let short = vec![T::ZERO; w.len() - 1];
    let err = opt.step(&mut w, &short).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{}: {err}",
        opt.name()
    );
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut g = gradient(&w);
        g[2] = T::from_f64(bad);
        let err = opt.step(&mut w, &g).unwrap_err();
        assert!(
            matches!(err, Error::NonFiniteGradient { index: 2, .. }),
            "{}: {err}",
            opt.name()
        );
    }
    assert_eq!(bits(&w), w_before, "{}", opt.name());
    assert_eq!(opt.state(), state_before, "{}", opt.name());
}

#[test]
fn every_method_rejects_wrong_lengths_and_non_finite_gradients_untouched() {
    every_method(rejects_without_side_effects, rejects_without_side_effects);
}

/// `check` answers as `step` would, before and after the state is
/// allocated: `Ok` for a gradient the step takes, the step's own error for
/// a wrong length, a non-finite entry, another parameter count, and a
/// finite entry so large that a moment overflows (Adam, AdamW, AdamOde, RMSprop, Adagrad).
fn check_answers_as_step_would<T: Float>(mut opt: Box<dyn Optimizer<T>>) {
    let huge = T::from_f64(if std::mem::size_of::<T>() == 4 {
        1e30
    } else {
        1e300
    });
    for warm in [0, 2] {
        let mut w = start::<T>();
        run(opt.as_mut(), &mut w, warm);
        let mut cases = [
            (w.clone(), gradient(&w)),
            (w.clone(), vec![T::ONE; 2]),
            (w.clone(), vec![T::ONE, T::from_f64(f64::NAN), T::ONE]),
            (w.clone(), vec![T::ONE, huge, T::ONE]),
            (vec![T::ONE; 4], vec![T::ONE; 4]),
        ];
        for (k, (w, g)) in cases.iter_mut().enumerate() {
            let checked = opt.check(w, g).map_err(|e| e.to_string());
            let (state, before) = (opt.state(), w.clone());
            let stepped = opt.step(w, g).map_err(|e| e.to_string());
            assert_eq!(
                checked,
                stepped,
                "{} after {warm} steps, case {k}",
                opt.name()
            );
            if stepped.is_ok() {
                // Back to the state before, for the next case.
                opt.load_state(&state).unwrap();
                w.copy_from_slice(&before);
            }
        }
    }
}

#[test]
fn every_method_checks_a_step_as_the_step_would() {
    every_method(check_answers_as_step_would, check_answers_as_step_would);
}

/// Once the state is allocated for n parameters, a step on another number
/// of parameters, more or fewer, is a typed error (stateless methods
/// accept it).
fn rejects_a_change_of_parameter_count<T: Float>(mut opt: Box<dyn Optimizer<T>>) {
    let mut w = start::<T>();
    run(opt.as_mut(), &mut w, 2);
    let stateful = opt.state().buffers.iter().any(|(_, b)| !b.is_empty());
    for n in [4, 2] {
        let mut other = vec![T::ONE; n];
        let g = gradient(&other);
        match opt.step(&mut other, &g) {
            Err(Error::LengthMismatch {
                expected: 3, got, ..
            }) if got == n => assert!(stateful),
            Ok(()) => assert!(!stateful, "{}: {n} parameters", opt.name()),
            Err(e) => panic!("{}: {n} parameters: {e}", opt.name()),
        }
    }
}

#[test]
fn every_stateful_method_rejects_a_change_of_parameter_count() {
    every_method(
        rejects_a_change_of_parameter_count,
        rejects_a_change_of_parameter_count,
    );
}

/// After reset, the same run reproduces the first one bitwise.
fn reset_restarts_from_scratch<T: Float>(mut opt: Box<dyn Optimizer<T>>) {
    let fresh = opt.state();
    let mut first = start::<T>();
    run(opt.as_mut(), &mut first, 20);
    opt.reset();
    assert_eq!(opt.steps(), 0);
    assert_eq!(opt.state(), fresh, "{}", opt.name());
    let mut second = start::<T>();
    run(opt.as_mut(), &mut second, 20);
    assert_eq!(bits(&first), bits(&second), "{}", opt.name());
}

#[test]
fn every_method_reset_forgets_the_state_and_reproduces_the_run_bitwise() {
    every_method(reset_restarts_from_scratch, reset_restarts_from_scratch);
}

/// The i-th method of [`all_methods`], freshly built.
fn method<T: Float>(i: usize) -> Box<dyn Optimizer<T>> {
    all_methods::<T>().swap_remove(i)
}

/// 30 steps straight, or 12 steps, a checkpoint loaded into a fresh
/// optimizer, then 18 more: bitwise the same parameters and state.
fn checkpoint_resumes_bitwise<T: Float>(i: usize) {
    let mut straight = method::<T>(i);
    let mut w_straight = start::<T>();
    run(straight.as_mut(), &mut w_straight, 30);

    let mut first = method::<T>(i);
    let mut w = start::<T>();
    run(first.as_mut(), &mut w, 12);
    let checkpoint = first.state();
    drop(first);
    let mut resumed = method::<T>(i);
    resumed.load_state(&checkpoint).unwrap();
    assert_eq!(resumed.steps(), 12);
    run(resumed.as_mut(), &mut w, 18);
    assert_eq!(bits(&w), bits(&w_straight), "{}", straight.name());
    assert_eq!(resumed.state(), straight.state(), "{}", straight.name());
}

#[test]
fn every_method_resumes_bitwise_from_a_checkpoint() {
    for i in 0..all_methods::<f64>().len() {
        checkpoint_resumes_bitwise::<f32>(i);
        checkpoint_resumes_bitwise::<f64>(i);
    }
}

/// A checkpoint from another method, with a buffer missing, unknown or of
/// the wrong length, is a typed error and changes nothing.
fn rejects_bad_checkpoints<T: Float>(mut opt: Box<dyn Optimizer<T>>) {
    let mut w = start::<T>();
    run(opt.as_mut(), &mut w, 3);
    let good = opt.state();
    let before = opt.state();

    let mut foreign = good.clone();
    foreign.optimizer = "not_an_optimizer".into();
    assert!(matches!(
        opt.load_state(&foreign),
        Err(Error::WrongOptimizer { .. })
    ));

    let mut unknown = good.clone();
    unknown.buffers.push(("velocity".into(), vec![T::ZERO; 3]));
    assert!(matches!(
        opt.load_state(&unknown),
        Err(Error::UnexpectedState { .. })
    ));

    // A counter at the maximum (only a corrupted file holds one) cannot
    // count another step: Adam's bias correction overflowed on it.
    let mut last = good.clone();
    last.steps = u64::MAX - 1;
    opt.load_state(&last).unwrap();
    let mut v = w.clone();
    let g = gradient(&v);
    opt.step(&mut v, &g).unwrap();
    let full = opt.state();
    let moved = v.clone();
    let err = opt.step(&mut v, &gradient(&moved)).unwrap_err();
    assert!(
        matches!(err, Error::StepCount { got: u64::MAX, .. }),
        "{}: {err:?}",
        opt.name()
    );
    assert!(
        err.to_string()
            .contains("taken 18446744073709551615 steps, expected at most 18446744073709551614"),
        "{err}"
    );
    assert_eq!(
        (bits(&v), opt.state()),
        (bits(&moved), full),
        "{}",
        opt.name()
    );
    opt.load_state(&before).unwrap();

    let mut bad_lr = good.clone();
    bad_lr.learning_rate = -1.0;
    assert!(matches!(
        opt.load_state(&bad_lr),
        Err(Error::InvalidHyperparameter { .. })
    ));

    if let Some((name, _)) = good.buffers.first() {
        let mut missing = good.clone();
        missing.buffers.remove(0);
        assert!(
            matches!(opt.load_state(&missing), Err(Error::MissingState { entry, .. }) if entry == name),
            "{}",
            opt.name()
        );
    }
    if good.buffers.len() >= 2 {
        let mut ragged: OptimizerState<T> = good.clone();
        ragged.buffers[1].1.pop();
        assert!(matches!(
            opt.load_state(&ragged),
            Err(Error::LengthMismatch {
                expected: 3,
                got: 2,
                ..
            })
        ));
    }
    // (Buffers a method keeps empty, e.g. SGD's without momentum, hold
    // nothing to corrupt.)
    for k in (0..good.buffers.len()).filter(|&k| !good.buffers[k].1.is_empty()) {
        let mut nan = good.clone();
        nan.buffers[k].1[1] = T::from_f64(f64::NAN);
        assert!(
            matches!(
                opt.load_state(&nan),
                Err(Error::InvalidState { index: 1, .. })
            ),
            "{}: NaN in {}",
            opt.name(),
            good.buffers[k].0
        );
    }
    // Buffers with a step counter of 0: only a corrupt file holds them.
    if good.buffers.iter().any(|(_, b)| !b.is_empty()) {
        let mut unstepped = good.clone();
        unstepped.steps = 0;
        let err = opt.load_state(&unstepped).unwrap_err();
        assert!(
            matches!(err, Error::InvalidState { index: 0, .. })
                && err.to_string().contains("the step counter is 0"),
            "{}: {err}",
            opt.name()
        );
    }
    // Second moments are means of squares: a negative one is a corrupt file.
    for (name, moment) in [
        ("adam", "v"),
        ("adamw", "v"),
        ("adam_ode", "d"),
        ("rmsprop", "square_avg"),
        ("adagrad", "sum"),
    ] {
        if opt.name() == name {
            let k = good.buffers.iter().position(|(n, _)| n == moment).unwrap();
            let mut negative = good.clone();
            negative.buffers[k].1[2] = T::from_f64(-1e-3);
            assert!(
                matches!(
                    opt.load_state(&negative),
                    Err(Error::InvalidState { index: 2, .. })
                ),
                "{name}"
            );
        }
    }
    assert_eq!(opt.state(), before, "{}", opt.name());
    opt.load_state(&good).unwrap();
}

#[test]
fn every_method_rejects_foreign_missing_unknown_ragged_or_corrupt_checkpoints_untouched() {
    every_method(rejects_bad_checkpoints, rejects_bad_checkpoints);
}

/// A schedule drives every method through the trait, and the rate it sets
/// is the one the optimizer reports.
fn follows_a_schedule<T: Float>(mut opt: Box<dyn Optimizer<T>>) {
    // Exponential decay from 0.05 keeps AdamOde's dt <= eps1.
    let schedule = Schedule::exponential(0.05, 0.99).unwrap().with_warmup(5);
    let mut w = start::<T>();
    for t in 0..50 {
        schedule.apply(opt.as_mut()).unwrap();
        assert_eq!(
            opt.learning_rate(),
            schedule.learning_rate(t),
            "{}",
            opt.name()
        );
        run(opt.as_mut(), &mut w, 1);
    }
    assert!(value(&w) < value(&start::<T>()), "{}", opt.name());
}

#[test]
fn every_method_follows_a_learning_rate_schedule() {
    every_method(follows_a_schedule, follows_a_schedule);
}

/// Negative or non-finite step sizes are typed errors in
/// `set_learning_rate`, which then keeps the old rate (0 is a schedule's
/// end: admitted, see `schedule.rs`).
fn rejects_bad_learning_rates<T: Float>(mut opt: Box<dyn Optimizer<T>>) {
    let lr = opt.learning_rate();
    for bad in [-0.1, -f64::MIN_POSITIVE, f64::NAN, f64::INFINITY] {
        assert!(
            matches!(
                opt.set_learning_rate(bad),
                Err(Error::InvalidHyperparameter { .. })
            ),
            "{}: {bad}",
            opt.name()
        );
    }
    assert_eq!(opt.learning_rate(), lr);
}

#[test]
fn every_method_rejects_negative_learning_rates_and_constructors_also_zero() {
    every_method(rejects_bad_learning_rates, rejects_bad_learning_rates);
    for dt in [0.0, -1.0, f64::NAN] {
        assert!(GradientDescent::new(dt).is_err());
        assert!(HeavyBall::<f32>::new(dt).is_err());
        assert!(Nesterov::<f32>::new(dt, 0.5).is_err());
        assert!(Friction::<f32>::new(dt, 1.0, 1e-6).is_err());
        assert!(Relaxation::<f32>::new(dt, 0.2).is_err());
        assert!(AdamOde::<f32>::new(dt, 0.2, 1.0, 1.0).is_err());
        assert!(Adam::<f32>::new(dt, 0.9, 0.999, 1e-8).is_err());
        assert!(AdamW::<f32>::new(dt, 0.9, 0.999, 1e-8, 0.01).is_err());
        assert!(Sgd::<f32>::new(dt).is_err());
    }
}

/// A hyperparameter valid as an `f64` can round to 0 (or overflow) in the
/// number type the method steps in: `eps = 1e-50` is 0 in `f32`, and Adam's
/// first step on a zero gradient entry was then `0 / (0 + 0)`, a NaN
/// parameter behind an `Ok`. Refused by the constructor, naming the
/// parameter; the same values are fine in `f64`.
#[test]
fn f32_constructors_refuse_a_hyperparameter_that_rounds_to_zero_or_overflows_in_f32() {
    let refused = |r: optim::Result<()>, name: &str| match r {
        Err(Error::InvalidHyperparameter { parameter, .. }) => assert_eq!(parameter, name),
        r => panic!("{name}: {r:?}"),
    };
    for tiny in [1e-46, 1e-50, 1e-300] {
        refused(Adam::<f32>::new(0.1, 0.9, 0.999, tiny).map(drop), "eps");
        refused(
            AdamW::<f32>::new(0.1, 0.9, 0.999, tiny, 0.01).map(drop),
            "eps",
        );
        refused(AdamOde::<f32>::new(0.1, 0.4, 2.0, tiny).map(drop), "d0");
        // The friction's coefficient nu / sqrt(|Z|^2 + eps) at Z = 0.
        refused(Friction::<f32>::new(0.1, 1.0, tiny * tiny).map(drop), "eps");
    }
    refused(Adam::<f32>::new(0.1, 0.9, 0.999, 1e39).map(drop), "eps");
    refused(AdamOde::<f32>::new(0.1, 0.4, 2.0, 1e39).map(drop), "d0");
    refused(Friction::<f32>::new(0.1, 1e39, 1.0).map(drop), "eps");

    // In f64 they are numbers, and every step stays finite.
    let mut methods: Vec<Box<dyn Optimizer<f64>>> = vec![
        Box::new(Adam::new(0.1, 0.9, 0.999, 1e-300).unwrap()),
        Box::new(AdamW::new(0.1, 0.9, 0.999, 1e-300, 0.01).unwrap()),
        Box::new(AdamOde::new(0.1, 0.4, 2.0, 1e-300).unwrap()),
        Box::new(Friction::new(0.1, 1.0, 1e-300).unwrap()),
    ];
    for opt in &mut methods {
        let mut w = [1.0, 1.0];
        for _ in 0..3 {
            opt.step(&mut w, &[0.0, 1.0]).unwrap();
        }
        assert!(w.iter().all(|w| w.is_finite()), "{}: {w:?}", opt.name());
    }
    // The smallest that still steps in f32.
    let mut adam = Adam::<f32>::new(0.1, 0.9, 0.999, 1e-44).unwrap();
    let mut w = [1.0f32, 1.0];
    adam.step(&mut w, &[0.0, 1.0]).unwrap();
    assert!(w.iter().all(|w| w.is_finite()), "{w:?}");
}

#[test]
fn only_nesterov_asks_for_the_gradient_elsewhere() {
    for mut opt in all_methods::<f64>() {
        let mut w = start::<f64>();
        run(opt.as_mut(), &mut w, 3);
        let mut at = vec![f64::NAN; 3];
        let shifted = opt.gradient_point(&w, &mut at).unwrap();
        assert_eq!(shifted, opt.name() == "nesterov", "{}", opt.name());
        if shifted {
            assert!(at.iter().zip(&w).all(|(a, b)| a != b));
        } else {
            assert!(at.iter().all(|a| a.is_nan()), "out must be left untouched");
        }
    }
}

#[test]
fn default_constructors_use_the_sources_defaults() {
    let adam = Adam::<f32>::default();
    assert_eq!(Optimizer::<f32>::learning_rate(&adam), 1e-3);
    let t = adam.relaxation_times();
    // eps1 = 1e-3 / 0.1, eps2 = 1e-3 / 0.001 (Remark 5.2.7).
    assert!((t.eps1 - 0.01).abs() < 1e-15 && (t.eps2 - 1.0).abs() < 1e-12);
    assert_eq!(
        Optimizer::<f32>::learning_rate(&AdamW::<f32>::default()),
        1e-3
    );
    assert_eq!(
        Optimizer::<f32>::learning_rate(&Sgd::<f32>::default()),
        1e-3
    );
}
