//! The scalar tape against the plain `f64` primal and a hand-written
//! gradient, n = 10,000, one thread (issue: Rosenbrock value + gradient in at
//! most 10x the primal; the math-heavy function in at most 2x the primal and
//! about 1.5x the hand-written gradient).
//!
//! Run: `cargo bench --bench scalar_tape`.

mod timing;

use autodiff::{Evaluator, Recording, Tape};
use std::hint::black_box;
use timing::{fmt_secs, Interleaved};

#[path = "../tests/common/functions.rs"]
mod functions;

use functions::{heavy, heavy_grad, rosenbrock, rosenbrock_grad};

/// Value and gradient through a reused tape.
type TapeFn = dyn Fn(&mut Evaluator, &[f64], &mut [f64]) -> f64;

struct Row {
    name: &'static str,
    primal: f64,
    hand: f64,
    tape: f64,
    tape_primal: f64,
    hand_primal: f64,
    tape_hand: f64,
}

fn measure(
    name: &'static str,
    f: fn(&[f64]) -> f64,
    fg: fn(&[f64], &mut [f64]) -> f64,
    tape_f: &TapeFn,
) -> Row {
    let n = 10_000;
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.1).sin()).collect();
    let mut g = vec![0.0; n];
    let mut h = vec![0.0; n];
    let mut ev = Evaluator::new();
    // The tape's gradient is the hand-written one (a sanity check, not a timing).
    tape_f(&mut ev, &x, &mut g);
    fg(&x, &mut h);
    let err = g
        .iter()
        .zip(&h)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0, f64::max);
    assert!(
        err < 1e-10,
        "{name}: tape and hand-written gradients differ by {err}"
    );
    let t = Interleaved::measure(
        21,
        0.02,
        &mut [
            &mut || {
                black_box(f(black_box(&x)));
            },
            &mut || {
                black_box(fg(black_box(&x), &mut h));
            },
            &mut || {
                black_box(tape_f(&mut ev, black_box(&x), &mut g));
            },
        ],
    );
    Row {
        name,
        primal: t.median(0),
        hand: t.median(1),
        tape: t.median(2),
        tape_primal: t.ratio(2, 0),
        hand_primal: t.ratio(1, 0),
        tape_hand: t.ratio(2, 1),
    }
}

fn main() {
    let rows = [
        measure(
            "extended Rosenbrock",
            rosenbrock::<f64>,
            rosenbrock_grad,
            &|ev, x, g| ev.value_and_grad(|x| rosenbrock(x), x, g).unwrap(),
        ),
        measure(
            "sin exp / (1 + x^2) + tanh",
            heavy::<f64>,
            heavy_grad,
            &|ev, x, g| ev.value_and_grad(|x| heavy(x), x, g).unwrap(),
        ),
    ];
    println!("scalar tape, n = 10000, f64, one thread (21 interleaved rounds; ratios are medians of per-round ratios)");
    println!(
        "{:<28} {:>11} {:>11} {:>11} {:>12} {:>12} {:>14}",
        "function", "primal", "hand grad", "tape", "hand/primal", "tape/primal", "tape/hand"
    );
    for r in &rows {
        println!(
            "{:<28} {:>11} {:>11} {:>11} {:>11.2}x {:>11.2}x {:>13.2}x",
            r.name,
            fmt_secs(r.primal),
            fmt_secs(r.hand),
            fmt_secs(r.tape),
            r.hand_primal,
            r.tape_primal,
            r.tape_hand
        );
    }
    second_order();
    // Tape size per recorded op, with every operation recorded and with
    // the Evaluator's preaccumulation.
    tape_size(Tape::with_capacity(1 << 17));
    tape_size(Tape::preaccumulating_with_capacity(1 << 17));
}

/// Prints the bytes per recorded operation and Rosenbrock's tape size.
fn tape_size<M: Recording>(tape: Tape<f64, M>) {
    let xs = tape.vars(&vec![0.5; 10_000]);
    let before = tape.memory_bytes();
    let y = rosenbrock(&xs);
    let stmts = tape.len() - xs.len();
    let bytes = tape.memory_bytes() - before;
    println!(
        "tape, {}: {} bytes per recorded operation; Rosenbrock n = 10000: {} statements in {} bytes (value {})",
        if tape.preaccumulates() { "preaccumulating (the Evaluator's)" } else { "every operation recorded" },
        Tape::<f64, M>::BYTES_PER_SCALAR_OP,
        stmts,
        bytes,
        y.value()
    );
}

/// Rosenbrock's Hessian-vector product on the Evaluator's dual tape
/// against its gradient on the f64 tape, interleaved (no goal; reported).
fn second_order() {
    let n = 10_000;
    let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.1).sin()).collect();
    let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).cos()).collect();
    let (mut g, mut g2, mut hv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut ev = Evaluator::new();
    let mut ev2 = Evaluator::new();
    let t = Interleaved::measure(
        21,
        0.02,
        &mut [
            &mut || {
                black_box(rosenbrock::<f64>(black_box(&x)));
            },
            &mut || {
                black_box(ev.value_and_grad(|x| rosenbrock(x), black_box(&x), &mut g)).unwrap();
            },
            &mut || {
                black_box(ev2.grad_and_hvp(|x| rosenbrock(x), black_box(&x), &v, &mut g2, &mut hv))
                    .unwrap();
            },
        ],
    );
    println!(
        "extended Rosenbrock, Evaluator::grad_and_hvp (gradient and H v): {} ({:.2}x the gradient, {:.2}x the primal)",
        fmt_secs(t.median(2)),
        t.ratio(2, 1),
        t.ratio(2, 0)
    );
}
