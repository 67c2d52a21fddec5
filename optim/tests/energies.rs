//! Section 5.2 executed: the energies of the momentum methods and of the
//! ODE form of Adam, along the discrete schemes.

mod common;

use common::{
    double_well, double_well_gradient, energies, max_increase, observed_order, rosenbrock,
    rosenbrock_gradient, Quadratic,
};
use optim::{
    AdamOde, Friction, HeavyBall, Nesterov, Optimizer, OptimizerState, Relaxation, Scheme,
};

/// A named test function: value and hand-written gradient.
struct Problem {
    name: &'static str,
    j: fn(&[f64]) -> f64,
    grad: fn(&[f64]) -> Vec<f64>,
    start: [f64; 2],
}

fn convex(w: &[f64]) -> f64 {
    0.5 * (w[0] * w[0] + 4.0 * w[1] * w[1])
}

fn convex_gradient(w: &[f64]) -> Vec<f64> {
    vec![w[0], 4.0 * w[1]]
}

const PROBLEMS: [Problem; 3] = [
    Problem {
        name: "convex quadratic",
        j: convex,
        grad: convex_gradient,
        start: [1.0, 1.0],
    },
    Problem {
        name: "rosenbrock",
        j: rosenbrock,
        grad: rosenbrock_gradient,
        start: [-1.2, 1.0],
    },
    // Starts in the non-convex band |x| < 1/sqrt(3), next to the saddle.
    Problem {
        name: "double well",
        j: double_well,
        grad: double_well_gradient,
        start: [0.1, 1.0],
    },
];

/// Energy of heavy ball `J + |Z|^2/2` at time `t_end`, minus at 0, on a
/// random SPD quadratic, for `n` steps of size `t_end / n`.
fn heavy_ball_drift(scheme: Scheme, t_end: f64, n: usize) -> (f64, f64) {
    let q = Quadratic::new(3, &[0.5, 1.0, 2.0]);
    let mut hb = HeavyBall::new(t_end / n as f64)
        .unwrap()
        .with_scheme(scheme);
    let mut w = vec![0.0; q.n];
    let e = energies(&mut hb, &mut w, n, |w| q.value(w), |w| q.gradient(w));
    let worst = e.iter().map(|x| (x - e[0]).abs()).fold(0.0, f64::max);
    ((e[n] - e[0]).abs(), worst)
}

/// Lemma 5.2.1 holds for the ODE (5.16), not for (5.17): explicit Euler's
/// drift at fixed T is O(dt) (O(dt^2) per step, T/dt steps).
#[test]
fn heavy_ball_explicit_euler_energy_drift_at_fixed_time_shrinks_like_dt() {
    let drifts: Vec<f64> = [200, 400, 800, 1600]
        .iter()
        .map(|&n| heavy_ball_drift(Scheme::ExplicitEuler, 5.0, n).0)
        .collect();
    for pair in drifts.windows(2) {
        let order = observed_order(pair[0], pair[1]);
        assert!((order - 1.0).abs() < 0.1, "order {order}: {drifts:?}");
    }
}

/// The symplectic variant keeps the energy error O(dt) for all times,
/// while explicit Euler's grows with time.
#[test]
fn heavy_ball_semi_implicit_energy_error_stays_bounded_over_long_times() {
    let dt = 0.02;
    let (t_short, t_long) = (10.0, 200.0);
    let steps = |t: f64| (t / dt).round() as usize;
    let (_, short) = heavy_ball_drift(Scheme::SemiImplicitEuler, t_short, steps(t_short));
    let (_, long) = heavy_ball_drift(Scheme::SemiImplicitEuler, t_long, steps(t_long));
    let (_, euler_long) = heavy_ball_drift(Scheme::ExplicitEuler, t_long, steps(t_long));
    // The worst error over [0, 200] is that over [0, 10], not 20 times it.
    assert!(long < 1.5 * short, "short {short}, long {long}");
    assert!(
        euler_long > 10.0 * long,
        "explicit {euler_long} vs semi-implicit {long}"
    );
    // ... and O(dt): halving dt halves it.
    let (_, half) = heavy_ball_drift(Scheme::SemiImplicitEuler, t_long, 2 * steps(t_long));
    assert!(
        (observed_order(long, half) - 1.0).abs() < 0.2,
        "{long} {half}"
    );
}

/// For small dt each discrete energy decreases step by step up to the
/// O(dt^2) local error of the scheme. The ODE's dissipation is O(dt) per
/// step but vanishes where Z or grad J does (at the first step, Z^0 = 0),
/// so a step may raise the energy by O(dt^2) with a problem-dependent
/// constant (|grad J|^2 reaches 5e4 on Rosenbrock). What is checked: the
/// largest increase over a step shrinks at least like dt^1.58 (a factor 3
/// per halving, against 4 for an exact dt^2 and 2 for an O(dt) defect),
/// and the energy at T is below the initial one.
fn assert_energy_decreases_within_dt_squared(
    name: &str,
    make: impl Fn(f64) -> Box<dyn Optimizer<f64>>,
    dt: f64,
    t_end: f64,
) {
    for p in &PROBLEMS {
        let increases: Vec<f64> = [dt, dt / 2.0, dt / 4.0]
            .iter()
            .map(|&h| {
                let mut opt = make(h);
                let mut w = p.start.to_vec();
                let n = (t_end / h).round() as usize;
                let e = energies(opt.as_mut(), &mut w, n, p.j, p.grad);
                assert!(e[n] < e[0], "{name} on {}: {} -> {}", p.name, e[0], e[n]);
                max_increase(&e).max(0.0)
            })
            .collect();
        for pair in increases.windows(2) {
            assert!(
                pair[1] <= pair[0] / 3.0,
                "{name} on {}: largest increase per step {increases:?} for dt = {dt}, /2, /4",
                p.name
            );
        }
    }
}

#[test]
fn nesterov_energy_5_20_decreases_step_by_step_within_dt_squared() {
    let make = |dt| Box::new(Nesterov::new(dt, 0.1).unwrap()) as Box<dyn Optimizer<f64>>;
    assert_energy_decreases_within_dt_squared("nesterov", make, 2.5e-4, 0.5);
}

#[test]
fn friction_energy_decreases_step_by_step_within_dt_squared() {
    let make = |dt| Box::new(Friction::new(dt, 1.0, 1e-4).unwrap()) as Box<dyn Optimizer<f64>>;
    assert_energy_decreases_within_dt_squared("friction", make, 2.5e-4, 0.5);
}

#[test]
fn relaxation_energy_of_lemma_5_2_4_decreases_step_by_step_within_dt_squared() {
    let make = |dt| Box::new(Relaxation::new(dt, 0.1).unwrap()) as Box<dyn Optimizer<f64>>;
    assert_energy_decreases_within_dt_squared("relaxation", make, 2.5e-4, 0.5);
}

/// D^0 = 1e4, of the order of |grad J|^2 at Rosenbrock's start: with
/// D^0 = 1, D^1 = D^0 + (dt/eps2)(g^2 - D^0) is about dt g^2 / eps2, and the
/// first step's increase (eps1/2)(dt/eps1)^2 g^2 / sqrt(D^1) scales like
/// dt^1.5 until dt is far below eps2 D^0 / g^2 = 2e-5.
#[test]
fn adam_ode_energy_5_24_decreases_step_by_step_within_dt_squared_when_eps1_le_4_eps2() {
    for (eps1, eps2) in [(0.1, 1.0), (0.4, 0.1)] {
        let times = optim::RelaxationTimes { eps1, eps2 };
        assert!(times.satisfies_energy_condition());
        let make = move |dt| {
            Box::new(AdamOde::new(dt, eps1, eps2, 1e4).unwrap()) as Box<dyn Optimizer<f64>>
        };
        assert_energy_decreases_within_dt_squared("adam_ode", make, 2.5e-4, 0.5);
    }
}

/// Lemma 5.2.6 needs eps1 <= 4 eps2. Its proof gives, at a point where
/// grad J = 0, `E' = -(1 - eps1 / (4 eps2)) <D^{-1/2} Z, Z>`, positive when
/// eps1 > 4 eps2. Constructed case: W at the minimum of a quadratic with a
/// nonzero moment Z and D = 1 (loaded as a state). The energy then rises at
/// the first step for eps1 = 40 eps2, and falls for eps1 = 2 eps2.
#[test]
fn adam_ode_energy_5_24_increases_when_eps1_is_much_larger_than_4_eps2() {
    let first_step_change = |eps1: f64, eps2: f64| {
        let dt = 1e-3;
        let mut ode = AdamOde::new(dt, eps1, eps2, 1.0).unwrap();
        ode.load_state(&OptimizerState {
            optimizer: "adam_ode".into(),
            steps: 1,
            learning_rate: dt,
            settings: Vec::new(),
            buffers: vec![("z".into(), vec![1.0, -1.0]), ("d".into(), vec![1.0, 1.0])],
        })
        .unwrap();
        let mut w = vec![0.0, 0.0];
        let e = energies(&mut ode, &mut w, 1, convex, convex_gradient);
        e[1] - e[0]
    };
    let violating = optim::RelaxationTimes {
        eps1: 4.0,
        eps2: 0.1,
    };
    assert!(!violating.satisfies_energy_condition());
    assert!(first_step_change(4.0, 0.1) > 0.0);
    assert!(first_step_change(0.2, 0.1) < 0.0);
}
