//! A tape reused across evaluations allocates nothing in steady state
//! (a counting global allocator in its own test binary, without the test
//! harness: its thread allocates its bookkeeping at moments that could fall
//! inside a measurement, and the counter sees every thread, since the
//! kernel's workers must be counted).

use autodiff::{Evaluator, Grads, Reduction, Shape, Tape};
#[path = "common/counting.rs"]
mod counting;
#[path = "common/functions.rs"]
mod functions;

use counting::{allocations, Counting};
use functions::rosenbrock;

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    reused_tapes_make_no_heap_allocation_in_steady_state();
    println!("test reused_tapes_make_no_heap_allocation_in_steady_state ... ok");
}

fn reused_tapes_make_no_heap_allocation_in_steady_state() {
    // Scalar path, through the Evaluator.
    let x: Vec<f64> = (0..1000).map(|i| (i as f64).sin()).collect();
    let mut g = vec![0.0; x.len()];
    let mut ev = Evaluator::new();
    ev.value_and_grad(|x| rosenbrock(x), &x, &mut g).unwrap(); // warm-up
    let before = allocations();
    for _ in 0..10 {
        ev.value_and_grad(|x| rosenbrock(x), &x, &mut g).unwrap();
    }
    assert_eq!(allocations() - before, 0, "scalar evaluations allocated");

    // Second order, on the Evaluator's dual tape.
    let v: Vec<f64> = x.iter().map(|x| x.cos()).collect();
    let mut hv = vec![0.0; x.len()];
    ev.grad_and_hvp(|x| rosenbrock(x), &x, &v, &mut g, &mut hv)
        .unwrap(); // warm-up
    let before = allocations();
    for _ in 0..10 {
        ev.hvp(|x| rosenbrock(x), &x, &v, &mut hv).unwrap();
        ev.grad_and_hvp(|x| rosenbrock(x), &x, &v, &mut g, &mut hv)
            .unwrap();
    }
    assert_eq!(
        allocations() - before,
        0,
        "Hessian-vector products allocated"
    );

    // Matrix path: an MLP-like step on a reused tape and gradient store.
    // The tape, the gradient store and the matrix kernel (packing buffers
    // kept per thread) allocate nothing.
    assert_eq!(
        matrix_step_allocations(8, 5, 3, false),
        0,
        "matrix steps allocated"
    );
    // Products large enough to be split over two threads of the kernel's
    // pool: the first calls spawn the worker and grow the packing buffers
    // of both threads, later ones allocate nothing.
    autodiff::set_num_threads(2);
    assert_eq!(
        matrix_step_allocations(256, 300, 200, true),
        0,
        "matrix steps on two threads allocated"
    );

    // Parameter groups: the steps after the first (which allocates the
    // groups' states), the gradient point and the scaled rates allocate
    // nothing.
    use optim::Optimizer;
    let mut groups = optim::ParamGroups::<f32>::new()
        .group(10..20, optim::Nesterov::new(0.1, 0.5).unwrap())
        .unwrap()
        .group(0..8, optim::Adam::new(1e-3, 0.9, 0.999, 1e-8).unwrap())
        .unwrap();
    let (mut w, mut point, grad) = (vec![1.0f32; 24], vec![0.0f32; 24], vec![0.5f32; 24]);
    groups.step(&mut w, &grad).unwrap(); // warm-up
    let before = allocations();
    for k in 0..10 {
        groups.set_learning_rate(1e-3 / (k + 1) as f64).unwrap();
        assert!(groups.gradient_point(&w, &mut point).unwrap());
        groups.step(&mut w, &grad).unwrap();
    }
    assert_eq!(
        allocations() - before,
        0,
        "parameter groups' steps allocated"
    );

    // Training: a whole epoch's fixed costs (the batch order, the history)
    // allocate, its steps do not. One epoch of 8 steps and one of 64 steps
    // allocate the same.
    autodiff::set_num_threads(1);
    let small = nn::data::xor::<f32>(64, 0.1, 1).unwrap();
    let large = nn::data::xor::<f32>(512, 0.1, 2).unwrap();
    let mlp = nn::Mlp::builder(&[2, 32, 32, 2])
        .hidden(nn::Activation::RELU)
        .seed(1)
        .build()
        .unwrap();
    let adam = optim::by_name::<f32>("adam", 1e-3).unwrap();
    let mut t = nn::Trainer::new(
        mlp,
        adam,
        nn::TrainConfig {
            epochs: 1,
            batch_size: 8,
            // Dropout's masks are drawn in the tape's arena, not allocated.
            dropout: Some(0.25),
            ..Default::default()
        },
    );
    let epoch = |t: &mut nn::Trainer<f32>, data| {
        let before = allocations();
        t.config_mut().epochs = t.epoch() + 1;
        t.fit(data, None, |_| {}).unwrap();
        allocations() - before
    };
    epoch(&mut t, &large); // warm-up
    let (eight, sixty_four) = (epoch(&mut t, &small), epoch(&mut t, &large));
    assert!(eight > 0, "an epoch's fixed costs were counted");
    assert_eq!(
        sixty_four, eight,
        "an epoch of 64 steps allocated more than one of 8 steps"
    );
}

/// The allocations of 10 steps `x (n x i) -> tanh(x W^T + b) -> softmax
/// cross-entropy -> backward` on a reused tape after one warm-up step (each
/// step must give the same gradient); `x_grad`: `x` is a variable, so the
/// backward pass has the product `dZ W` too.
fn matrix_step_allocations(n: usize, i: usize, o: usize, x_grad: bool) -> usize {
    let xs: Vec<f64> = (0..n * i).map(|k| (k as f64 * 0.1).cos()).collect();
    let w: Vec<f64> = (0..o * i).map(|k| (k as f64 * 0.3).sin()).collect();
    let b = vec![0.1; o];
    let labels: Vec<usize> = (0..n).map(|k| k % o).collect();
    let mut tape = Tape::<f64>::new();
    let mut grads = Grads::empty();
    let mut step = || {
        tape.clear();
        let xm = if x_grad {
            tape.mat(Shape::new(n, i), &xs)
        } else {
            tape.mat_const(Shape::new(n, i), &xs)
        }
        .unwrap();
        let wm = tape.mat(Shape::new(o, i), &w).unwrap();
        let bm = tape.mat(Shape::new(1, o), &b).unwrap();
        let z = xm.affine(wm, Some(bm)).tanh();
        let loss = z.softmax_cross_entropy(&labels, Reduction::Mean);
        tape.backward_into(loss, &mut grads);
        grads[wm][0]
    };
    let first = step();
    // With threads, a worker grows its packing buffers the first time it
    // takes a part of each product, and whether it takes one depends on
    // how soon it wakes (the caller runs the parts no worker claimed): a
    // loaded machine can leave it out of the first step. Warm up longer.
    for _ in 0..20 {
        assert_eq!(step(), first);
    }
    let before = allocations();
    for _ in 0..10 {
        assert_eq!(step(), first);
    }
    allocations() - before
}
