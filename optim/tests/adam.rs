//! Adam as Kingma and Ba define it, its link with the seed's ODE (5.23),
//! and the condition of Remark 5.2.7.

mod common;

use common::{rosenbrock, rosenbrock_gradient};
use optim::{
    Adam, AdamOde, AdamW, Optimizer, ParamGroups, RelaxationTimes, Schedule, Sgd,
    ENERGY_CONDITION_RTOL,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Three steps by hand, alpha = 0.1, beta1 = 1/2, beta2 = 3/4 (exact in
/// binary), gradients 1, -1, 2:
///
/// t = 1: m = 1/2,   v = 1/4;          m_hat = 1,   v_hat = 1
///        theta -= 0.1 / (1 + eps)
/// t = 2: m = 1/4 - 1/2 = -1/4,  v = 3/16 + 1/4 = 7/16
///        m_hat = (-1/4) / (3/4) = -1/3,  v_hat = (7/16) / (7/16) = 1
///        theta += (0.1 / 3) / (1 + eps)
/// t = 3: m = -1/8 + 1 = 7/8,  v = 21/64 + 1 = 85/64
///        m_hat = (7/8) / (7/8) = 1,  v_hat = (85/64) / (37/64) = 85/37
///        theta -= 0.1 / (sqrt(85/37) + eps)
#[test]
fn adam_first_three_steps_match_the_hand_derivation() {
    let eps = 1e-8;
    let mut adam = Adam::new(0.1, 0.5, 0.75, eps).unwrap();
    let mut w = [0.0f64];
    let mut expected = 0.0;
    for (g, delta) in [
        (1.0, -0.1 / (1.0 + eps)),
        (-1.0, (0.1 / 3.0) / (1.0 + eps)),
        (2.0, -0.1 / ((85.0f64 / 37.0).sqrt() + eps)),
    ] {
        adam.step(&mut w, &[g]).unwrap();
        expected += delta;
        assert!((w[0] - expected).abs() < 1e-15, "{} vs {expected}", w[0]);
    }
    assert_eq!(adam.first_moment(), &[0.875]);
    assert_eq!(adam.second_moment(), &[85.0 / 64.0]);
}

/// Kingma and Ba's Algorithm 1, written out independently of the crate.
struct ReferenceAdam {
    alpha: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl ReferenceAdam {
    fn step(&mut self, theta: &mut [f64], g: &[f64]) {
        self.t += 1;
        for i in 0..theta.len() {
            self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * g[i];
            self.v[i] = self.beta2 * self.v[i] + (1.0 - self.beta2) * g[i] * g[i];
            let m_hat = self.m[i] / (1.0 - self.beta1.powi(self.t));
            let v_hat = self.v[i] / (1.0 - self.beta2.powi(self.t));
            theta[i] -= self.alpha * m_hat / (v_hat.sqrt() + self.eps);
        }
    }
}

#[test]
fn adam_matches_the_papers_algorithm_on_random_gradients_in_f64_and_f32() {
    let mut rng = StdRng::seed_from_u64(42);
    let n = 8;
    let mut reference = ReferenceAdam {
        alpha: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        m: vec![0.0; n],
        v: vec![0.0; n],
        t: 0,
    };
    let mut a64 = Adam::<f64>::new(1e-2, 0.9, 0.999, 1e-8).unwrap();
    let mut a32 = Adam::<f32>::new(1e-2, 0.9, 0.999, 1e-8).unwrap();
    let start: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    let (mut t_ref, mut t64) = (start.clone(), start.clone());
    let mut t32: Vec<f32> = start.iter().map(|&x| x as f32).collect();
    for _ in 0..200 {
        let g: Vec<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
        let g32: Vec<f32> = g.iter().map(|&x| x as f32).collect();
        reference.step(&mut t_ref, &g);
        a64.step(&mut t64, &g).unwrap();
        a32.step(&mut t32, &g32).unwrap();
    }
    for i in 0..n {
        // The crate divides by sqrt(1 - beta2^t) outside the root (PyTorch's
        // order of operations): equal up to rounding.
        assert!(
            (t64[i] - t_ref[i]).abs() <= 1e-12 * (1.0 + t_ref[i].abs()),
            "{i}"
        );
        assert!(
            (t32[i] as f64 - t_ref[i]).abs() <= 1e-4,
            "{i}: {} vs {}",
            t32[i],
            t_ref[i]
        );
    }
}

/// With a constant step Adam ends oscillating at a distance of order
/// alpha of the minimum (1, 1); annealing alpha to 0 removes that floor.
#[test]
fn adam_converges_on_rosenbrock_from_the_classical_start() {
    let run = |schedule: Option<Schedule>| {
        let mut adam = Adam::new(2e-2, 0.9, 0.999, 1e-8).unwrap();
        let mut w = vec![-1.2, 1.0];
        for _ in 0..20_000 {
            if let Some(s) = &schedule {
                s.apply(&mut adam).unwrap();
            }
            let g = rosenbrock_gradient(&w);
            adam.step(&mut w, &g).unwrap();
        }
        w
    };
    let constant = run(None);
    assert!(rosenbrock(&constant) < 1e-5, "{constant:?}");
    assert!(
        constant.iter().all(|x| (x - 1.0).abs() < 1e-2),
        "{constant:?}"
    );
    let annealed = run(Some(Schedule::cosine(2e-2, 20_000, 0.0).unwrap()));
    assert!(rosenbrock(&annealed) < 1e-12, "{annealed:?}");
    assert!(
        annealed.iter().all(|x| (x - 1.0).abs() < 1e-5),
        "{annealed:?}"
    );
}

/// With g = 0 throughout, m = v = 0 and the update is 0 / (0 + eps) = 0:
/// no 0/0. (This is why eps > 0 is required.)
#[test]
fn adam_adamw_and_adam_ode_produce_no_nan_on_zero_gradients() {
    let zeros = [0.0f32; 3];
    let mut adam = Adam::<f32>::default();
    let mut w = [1.0f32, -2.0, 0.0];
    for _ in 0..1000 {
        adam.step(&mut w, &zeros).unwrap();
    }
    assert_eq!(w, [1.0, -2.0, 0.0]);

    let mut adamw = AdamW::<f32>::default();
    let mut w = [1.0f32, -2.0, 0.0];
    for _ in 0..1000 {
        adamw.step(&mut w, &zeros).unwrap();
    }
    assert!(w.iter().all(|x| x.is_finite()) && w[0] < 1.0 && w[0] > 0.0);

    // D decays geometrically towards 0 but stays > 0 (discrete Lemma 5.2.5).
    let mut ode = AdamOde::<f32>::new(0.01, 0.1, 0.1, 1.0).unwrap();
    let mut w = [1.0f32, -2.0, 0.0];
    for _ in 0..1000 {
        ode.step(&mut w, &zeros).unwrap();
    }
    assert!(ode.diagonal().iter().all(|&d| d > 0.0));
    assert_eq!(w, [1.0, -2.0, 0.0]);
}

/// Remark 5.2.7: eps1 <= 4 eps2 reads 4 (beta1 - 1) <= beta2 - 1.
/// Algorithm 8's Adam(beta1 = 0.9, beta2 = 0.6) gives 4 * 0.1 = 0.4 = 1 - 0.6:
/// exactly on the boundary, but 1 - 0.9 rounds to 0.09999999999999998, so
/// the floating-point eps1 exceeds 4 eps2 by an ulp or two. The condition is
/// compared with the documented relative tolerance ENERGY_CONDITION_RTOL.
#[test]
fn adam_of_algorithm_8_lies_on_the_boundary_eps1_eq_4_eps2_within_tolerance() {
    let adam = Adam::<f32>::new(1e-3, 0.9, 0.6, 1e-8).unwrap();
    let times = adam.relaxation_times();
    assert!((times.ratio() - 1.0).abs() <= ENERGY_CONDITION_RTOL);
    assert!(times.satisfies_energy_condition());
    // A naive comparison misclassifies the boundary case:
    assert!(times.eps1 > 4.0 * times.eps2);
    // Just outside the boundary, the condition fails; the defaults pass.
    let outside = Adam::<f32>::new(1e-3, 0.9, 0.59, 1e-8).unwrap();
    assert!(!outside.relaxation_times().satisfies_energy_condition());
    assert!(Adam::<f32>::default()
        .relaxation_times()
        .satisfies_energy_condition());
    // The condition does not depend on alpha = dt.
    let other_dt = RelaxationTimes::from_betas(0.37, 0.9, 0.6);
    assert!((other_dt.ratio() - times.ratio()).abs() <= ENERGY_CONDITION_RTOL);
}

#[test]
fn adam_ode_reports_the_condition_of_lemma_5_2_6() {
    assert!(AdamOde::<f64>::new(1e-3, 0.4, 0.1, 1.0)
        .unwrap()
        .relaxation_times()
        .satisfies_energy_condition());
    assert!(!AdamOde::<f64>::new(1e-3, 0.41, 0.1, 1.0)
        .unwrap()
        .relaxation_times()
        .satisfies_energy_condition());
    let from_betas = AdamOde::<f64>::from_betas(1e-3, 0.9, 0.6, 1.0).unwrap();
    assert!(from_betas.relaxation_times().satisfies_energy_condition());
}

/// beta = 1 - dt / eps (Remark 5.2.7): Adam built from the seed's
/// relaxation times equals Adam built from the betas.
#[test]
fn adam_from_relaxation_times_equals_adam_from_betas() {
    let (dt, eps1, eps2) = (1e-3, 0.01, 1.0);
    let mut a = Adam::<f64>::from_relaxation_times(dt, eps1, eps2).unwrap();
    let mut b = Adam::<f64>::new(dt, 1.0 - dt / eps1, 1.0 - dt / eps2, 1e-8).unwrap();
    let (mut wa, mut wb) = ([0.5, -0.5], [0.5, -0.5]);
    for k in 0..10 {
        let g = [k as f64, 1.0];
        a.step(&mut wa, &g).unwrap();
        b.step(&mut wb, &g).unwrap();
    }
    assert_eq!(wa, wb);
}

/// PyTorch's AdamW: theta *= 1 - lr lambda, then the Adam step; the decay
/// never enters the moments.
#[test]
fn adamw_decays_the_parameters_before_the_adam_step() {
    let (lr, wd) = (0.1, 0.3);
    let mut adamw = AdamW::<f64>::new(lr, 0.9, 0.999, 1e-8, wd).unwrap();
    let mut adam = Adam::<f64>::new(lr, 0.9, 0.999, 1e-8).unwrap();
    let mut w = [2.0f64];
    let mut reference = [2.0f64];
    for g in [1.0, -0.5, 0.25] {
        adamw.step(&mut w, &[g]).unwrap();
        reference[0] *= 1.0 - lr * wd;
        adam.step(&mut reference, &[g]).unwrap();
    }
    assert_eq!(w, reference);
}

/// Steps `opt` on a gradient holding `big` at entry 1, and checks that the
/// step is refused as a moment overflow naming that entry, with the
/// parameters and the state unchanged.
fn refuses_overflowing_moment<T: optim::Float + std::fmt::Debug>(
    mut opt: Box<dyn Optimizer<T>>,
    big: T,
) {
    let mut p = vec![T::from_f64(0.5); 3];
    let g = vec![T::from_f64(0.1), big, T::from_f64(0.1)];
    // Before the first step (no moments yet: the check's other branch).
    let fresh = opt.state();
    assert!(
        matches!(
            opt.step(&mut p, &g),
            Err(optim::Error::MomentOverflow { index: 1, .. })
        ),
        "{}: first step",
        opt.name()
    );
    assert_eq!((&p[..], opt.state()), (&[T::from_f64(0.5); 3][..], fresh));
    // One ordinary step, so that the state holds moments.
    opt.step(&mut p, &[T::from_f64(0.1); 3]).unwrap();
    let (before, state) = (p.clone(), opt.state());
    match opt.step(&mut p, &g) {
        Err(optim::Error::MomentOverflow {
            index: 1, value, ..
        }) => {
            assert_eq!(value, big.to_f64())
        }
        r => panic!(
            "{}: expected a moment overflow at entry 1, got {r:?}",
            opt.name()
        ),
    }
    assert_eq!(p, before, "{}: parameters changed", opt.name());
    assert_eq!(opt.state(), state, "{}: state changed", opt.name());
    // The state is still one the optimizer loads, and a smaller gradient
    // steps.
    opt.load_state(&state).unwrap();
    opt.step(&mut p, &[T::from_f64(0.1); 3]).unwrap();
}

#[test]
fn a_gradient_that_overflows_only_with_the_stored_second_moment_is_refused() {
    // f32, beta2 = 0.999: g = 5.8e20 alone gives v = 1e-3 g^2 = 3.36e38,
    // finite; the same g again gives 0.999 v + 1e-3 g^2, past f32::MAX.
    // The check must read the stored v, not only the gradient.
    let g = [0.1_f32, 5.8e20];
    let groups = ParamGroups::new()
        .group(0..1, Sgd::<f32>::new(0.1).unwrap())
        .unwrap()
        .group(1..2, Adam::<f32>::new(1e-3, 0.9, 0.999, 1e-8).unwrap())
        .unwrap();
    let methods: [Box<dyn Optimizer<f32>>; 3] = [
        Box::new(Adam::<f32>::new(1e-3, 0.9, 0.999, 1e-8).unwrap()),
        optim::by_name::<f32>("adamw", 1e-3).unwrap(),
        Box::new(groups),
    ];
    for mut opt in methods {
        let mut p = [0.5_f32; 2];
        opt.step(&mut p, &g).unwrap();
        let (before, state) = (p, opt.state());
        for r in [opt.check(&p, &g), opt.step(&mut p, &g)] {
            let e = match r {
                Err(optim::Error::Group {
                    group: 1, source, ..
                }) => *source,
                r => r.expect_err(opt.name()),
            };
            assert!(
                matches!(e, optim::Error::MomentOverflow { .. }),
                "{}: {e}",
                opt.name()
            );
        }
        assert_eq!((p, opt.state()), (before, state), "{}", opt.name());
    }
}

#[test]
fn a_finite_gradient_whose_second_moment_overflows_is_refused_with_nothing_changed() {
    // f32: (1 - beta2) g^2 overflows past g of about 5.8e20 with beta2 = 0.999.
    let adam = Adam::<f32>::new(1e-3, 0.9, 0.999, 1e-8).unwrap();
    refuses_overflowing_moment(Box::new(adam), 1e21_f32);
    let adamw = optim::by_name::<f32>("adamw", 1e-3).unwrap();
    refuses_overflowing_moment(adamw, 1e21_f32);
    // With Adam's L2 term: the gradient the moment sees is g + l2 w.
    let l2 = optim::Builder::new("adam", 1e-3)
        .and_then(|b| b.set(optim::Hyperparameter::WeightDecay, 1e-3))
        .and_then(|b| b.build::<f64>())
        .unwrap();
    refuses_overflowing_moment(l2, 1e160_f64);
    // Adam's L2 term on entry 0 only: entry 1 lies in the mask's second
    // segment, which the check scans with its own offset.
    let masked = Adam::<f64>::new(1e-3, 0.9, 0.999, 1e-8)
        .unwrap()
        .with_weight_decay(1e-3)
        .unwrap()
        .with_decay_mask(optim::DecayMask::range(0..1).unwrap());
    refuses_overflowing_moment(Box::new(masked), 1e160_f64);
    let ode = AdamOde::<f32>::new(0.01, 1.0, 1.0, 1e-8).unwrap();
    refuses_overflowing_moment(Box::new(ode), 1e20_f32);
    let ode = AdamOde::<f64>::new(0.01, 1.0, 1.0, 1e-8).unwrap();
    refuses_overflowing_moment(Box::new(ode), 1e160_f64);
    // Below the bound the step is taken, as before.
    let mut adam = Adam::<f32>::new(1e-3, 0.9, 0.999, 1e-8).unwrap();
    let mut p = vec![0.5_f32; 2];
    adam.step(&mut p, &[1e20, 0.1]).unwrap();
    assert!(adam
        .state()
        .buffers
        .iter()
        .all(|(_, b)| b.iter().all(|v| v.is_finite())));
}
