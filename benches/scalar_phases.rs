//! The scalar tape's value + gradient split into its phases, for Rosenbrock
//! and the math-heavy function of `scalar_tape` (n = 10,000, f64): recording
//! the leaves, recording the function, the reverse sweep
//! (`backward_into`, adjoint reset included), and copying the gradient out
//! through `Grads` indexing; and, in the same rounds, the whole
//! `Evaluator::value_and_grad` call. Times are medians over rounds, per call
//! and per statement.
//!
//! Run: `cargo bench --bench scalar_phases`.

use autodiff::{Evaluator, Grads, Preaccumulating, Recording, Tape, Var};
use std::hint::black_box;
use std::time::Instant;

#[path = "../tests/common/functions.rs"]
mod functions;

use functions::{heavy, rosenbrock};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A scalar test function on the `Var`s of a tape of mode `M`.
type ScalarFn<M> = for<'t> fn(&[Var<'t, f64, M>]) -> Var<'t, f64, M>;

/// The phases of `f` recorded on `tape`, and in the same rounds the
/// Evaluator's call of `ev_f` (the same function on its tape).
fn phases<M: Recording>(
    name: &str,
    mut tape: Tape<f64, M>,
    f: ScalarFn<M>,
    ev_f: ScalarFn<Preaccumulating>,
) {
    let n = 10_000;
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.1).sin()).collect();
    let mut g = vec![0.0; n];
    let mut grads = Grads::empty();
    let mut xs: Vec<Var<'static, f64, M>> = Vec::with_capacity(n);
    let reps = 50;
    let mut t = [const { Vec::new() }; 5];
    let mut ev = Evaluator::new();
    let mut stmts = 0;
    for _ in 0..41 {
        let mut acc = [0.0; 5];
        for _ in 0..reps {
            tape.clear();
            // The handle buffer is reused across calls (as the Evaluator
            // does): an empty vector collected into one of another lifetime
            // keeps its allocation.
            let mut v: Vec<Var<'_, f64, M>> = std::mem::take(&mut xs)
                .into_iter()
                .map(|_| unreachable!("empty"))
                .collect();
            let t0 = Instant::now();
            tape.vars_into(black_box(&x), &mut v);
            let t1 = Instant::now();
            let y = f(&v);
            let t2 = Instant::now();
            tape.backward_into(y, &mut grads);
            let t3 = Instant::now();
            for (gi, &xi) in g.iter_mut().zip(&v) {
                *gi = grads[xi];
            }
            let t4 = Instant::now();
            black_box(&g);
            stmts = tape.len();
            v.clear();
            xs = v.into_iter().map(|_| unreachable!("empty")).collect();
            acc[0] += (t1 - t0).as_secs_f64();
            acc[1] += (t2 - t1).as_secs_f64();
            acc[2] += (t3 - t2).as_secs_f64();
            acc[3] += (t4 - t3).as_secs_f64();
        }
        let t0 = Instant::now();
        for _ in 0..reps {
            black_box(ev.value_and_grad(ev_f, black_box(&x), &mut g).unwrap());
        }
        acc[4] = t0.elapsed().as_secs_f64();
        for k in 0..5 {
            t[k].push(acc[k] / reps as f64);
        }
    }
    let m: Vec<f64> = t.into_iter().map(median).collect();
    let total: f64 = m[..4].iter().sum();
    let mode = if tape.preaccumulates() {
        "preaccumulating"
    } else {
        "every op recorded"
    };
    println!(
        "{name}, {mode}: {stmts} statements ({n} leaves), total {:.1} us",
        total * 1e6
    );
    for (k, label) in ["leaves", "record f", "backward_into", "copy gradient"]
        .iter()
        .enumerate()
    {
        println!(
            "  {label:<16} {:>9.1} us  {:>5.2} ns/stmt  {:>4.1}%",
            m[k] * 1e6,
            m[k] * 1e9 / stmts as f64,
            100.0 * m[k] / total
        );
    }
    println!(
        "  {:<16} {:>9.1} us  {:>5.2} ns/stmt  (always preaccumulating)",
        "Evaluator",
        m[4] * 1e6,
        m[4] * 1e9 / stmts as f64
    );
}

/// `scalar_phases --calls N`: only N `Evaluator` calls per function, for
/// `valgrind --tool=callgrind` (instruction counts are repeatable where
/// timings on a shared machine are not).
fn calls_only(n_calls: usize) {
    let x: Vec<f64> = (0..10_000).map(|i| (i as f64 * 0.1).sin()).collect();
    let mut g = vec![0.0; x.len()];
    let mut ev = Evaluator::new();
    for _ in 0..n_calls {
        black_box(ev.value_and_grad(|x| rosenbrock(x), &x, &mut g).unwrap());
    }
    for _ in 0..n_calls {
        black_box(ev.value_and_grad(|x| heavy(x), &x, &mut g).unwrap());
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(k) = args.iter().position(|a| a == "--calls") {
        calls_only(args[k + 1].parse().expect("--calls N"));
        return;
    }
    let (r, h) = ("extended Rosenbrock", "sin exp / (1 + x^2) + tanh");
    phases(
        r,
        Tape::preaccumulating(),
        |x| rosenbrock(x),
        |x| rosenbrock(x),
    );
    phases(h, Tape::preaccumulating(), |x| heavy(x), |x| heavy(x));
    phases(r, Tape::new(), |x| rosenbrock(x), |x| rosenbrock(x));
    phases(h, Tape::new(), |x| heavy(x), |x| heavy(x));
}
