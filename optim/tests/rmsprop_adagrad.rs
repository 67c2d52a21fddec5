//! RMSprop and Adagrad against PyTorch's `torch.optim.RMSprop` and
//! `torch.optim.Adagrad`, run on the same four gradients, in f64 and f32.

use optim::{Adagrad, Optimizer, RmsProp};

const GRADS: [[f64; 4]; 4] = [
    [0.5, -1.0, 0.25, 3.0],
    [0.0, 1.5, -0.75, -2.0],
    [-1.0, 0.5, 2.0, 0.125],
    [0.3, -0.2, 0.1, 5.0],
];
const W0: [f64; 4] = [1.0, -2.0, 0.5, 0.0];

/// The cases, each with PyTorch's parameters after the four steps in f64
/// and in f32 (PyTorch 2.15.0, CPU, `foreach=False` as it defaults to on
/// CPU), from:
///
/// ```python
/// w = torch.tensor(W0, dtype=dtype, requires_grad=True)
/// opt = cls([w], **kw)
/// for g in GRADS:
///     w.grad = torch.tensor(g, dtype=dtype)
///     opt.step()
/// ```
type Case = (
    &'static str,
    fn() -> Box<dyn Optimizer<f64>>,
    fn() -> Box<dyn Optimizer<f32>>,
    [f64; 4],
    [f32; 4],
);

macro_rules! both {
    ($e:expr) => {
        (
            (|| Box::new($e.unwrap()) as Box<dyn Optimizer<f64>>) as fn() -> _,
            (|| Box::new($e.unwrap()) as Box<dyn Optimizer<f32>>) as fn() -> _,
        )
    };
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut add =
        |name, (a, b): (fn() -> _, fn() -> _), f64s, f32s| out.push((name, a, b, f64s, f32s));
    add(
        "RMSprop(lr=0.01)",
        both!(RmsProp::new(0.01)),
        [
            0.9635350381059001,
            -1.9994754607193927,
            0.39717688796928213,
            -0.12929806316847664,
        ],
        [0.9635351, -1.9994756, 0.39717692, -0.12929806],
    );
    add(
        "RMSprop(lr=0.05, alpha=0.9, eps=1e-6, momentum=0.8, centered=True, weight_decay=0.3)",
        both!(RmsProp::new(0.05)
            .and_then(|o| o.with_alpha(0.9))
            .and_then(|o| o.with_eps(1e-6))
            .and_then(|o| o.with_momentum(0.8))
            .map(|o| o.with_centered(true))
            .and_then(|o| o.with_weight_decay(0.3))),
        [
            0.5177416113018889,
            -1.6414314852621381,
            0.0523167291994675,
            -0.41095626045485545,
        ],
        [0.51774156, -1.6414315, 0.05231669, -0.4109563],
    );
    // alpha < 0.5: PyTorch's lerp takes its other form.
    add(
        "RMSprop(lr=0.05, alpha=0.3, centered=True)",
        both!(RmsProp::new(0.05)
            .and_then(|o| o.with_alpha(0.3))
            .map(|o| o.with_centered(true))),
        [
            0.958852513646806,
            -1.9850193791921007,
            0.3859324361898307,
            -0.16726863180852525,
        ],
        [0.9588525, -1.9850194, 0.38593245, -0.16726863],
    );
    add(
        "RMSprop(lr=0.02, momentum=0.5, weight_decay=0.1)",
        both!(RmsProp::new(0.02)
            .and_then(|o| o.with_momentum(0.5))
            .and_then(|o| o.with_weight_decay(0.1))),
        [
            0.766087477064293,
            -1.8944700461075978,
            0.15651071591687207,
            -0.35028755251911603,
        ],
        [0.76608753, -1.8944701, 0.1565107, -0.35028753],
    );
    add(
        "Adagrad(lr=0.1)",
        both!(Adagrad::new(0.1)),
        [
            0.9635266663467896,
            -1.9993012735604931,
            0.39722533208059196,
            -0.1290888150021175,
        ],
        [0.96352667, -1.9993012, 0.39722532, -0.12908882],
    );
    add(
        "Adagrad(lr=0.1, lr_decay=0.25, weight_decay=0.3, initial_accumulator_value=0.5, eps=1e-6)",
        both!(Adagrad::new(0.1)
            .and_then(|o| o.with_lr_decay(0.25))
            .and_then(|o| o.with_weight_decay(0.3))
            .and_then(|o| o.with_initial_accumulator_value(0.5))
            .and_then(|o| o.with_eps(1e-6))),
        [
            0.9186447920770495,
            -1.9221912107413501,
            0.4332562471101215,
            -0.10122586891065286,
        ],
        [0.91864485, -1.9221913, 0.43325624, -0.10122588],
    );
    out
}

/// Each entry within 8 units in the last place of PyTorch's, or of 1 for
/// an entry below 1 (a parameter near 0 is a difference of O(1) terms).
fn within_ulps(ours: &[f64], torch: &[f64], eps: f64, name: &str) {
    for (a, b) in ours.iter().zip(torch) {
        assert!(
            (a - b).abs() <= 8.0 * eps * b.abs().max(1.0),
            "{name}: {a} vs {b}"
        );
    }
}

/// Bitwise for plain RMSprop and Adagrad on these values. PyTorch 2.15's
/// CPU kernels fuse `addcmul` (the running squares; here on every element,
/// tail included), `add(alpha=)` (the L2 term, the momentum step) and
/// `lerp` (the centered mean) into multiply-adds, rounding once where we
/// round twice, so on other values the last bits can differ; the update
/// and its order of operations are the same.
#[test]
fn rmsprop_and_adagrad_match_pytorch_in_f64_and_f32() {
    for (name, make64, make32, torch64, torch32) in cases() {
        let bitwise = !name.contains("momentum") && !name.contains("centered");
        let (mut a, mut b) = (make64(), make32());
        let mut w64 = W0;
        let mut w32 = W0.map(|v| v as f32);
        for g in GRADS {
            a.step(&mut w64, &g).unwrap();
            b.step(&mut w32, &g.map(|v| v as f32)).unwrap();
        }
        if bitwise {
            assert_eq!(w64, torch64, "{name}, f64");
            assert_eq!(w32, torch32, "{name}, f32");
        } else {
            within_ulps(&w64, &torch64, f64::EPSILON, name);
            let (w32, torch32) = (w32.map(f64::from), torch32.map(f64::from));
            within_ulps(&w32, &torch32, f32::EPSILON.into(), name);
        }
    }
}

/// An entry whose gradient has always been 0 has a running square of 0, a
/// state to resume from, not a corrupt one; a state saved before the first
/// step loads as unstepped.
#[test]
fn states_with_zero_squares_or_no_step_yet_load_as_saved() {
    let mut rmsprop = RmsProp::<f64>::new(0.01).unwrap();
    let mut adagrad = Adagrad::<f64>::new(0.01).unwrap();
    let mut fresh: [Box<dyn Optimizer<f64>>; 2] = [
        Box::new(RmsProp::new(0.01).unwrap()),
        Box::new(Adagrad::new(0.01).unwrap()),
    ];
    for (opt, fresh) in [&mut rmsprop as &mut dyn Optimizer<f64>, &mut adagrad]
        .into_iter()
        .zip(&mut fresh)
    {
        fresh.load_state(&opt.state()).unwrap();
        assert_eq!(fresh.steps(), 0, "{}", opt.name());
        opt.step(&mut [1.0, 2.0], &[0.5, 0.0]).unwrap();
        assert_eq!(opt.state().buffers[0].1[1], 0.0, "{}", opt.name());
        fresh.load_state(&opt.state()).unwrap();
        assert_eq!(fresh.state(), opt.state(), "{}", opt.name());
    }
}
