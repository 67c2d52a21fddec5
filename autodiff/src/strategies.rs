//! proptest strategies for property tests of gradients: random inputs,
//! random matrices, and random expression graphs over every scalar
//! primitive (feature `proptest`).
//!
//! ```
//! use autodiff::strategies::{expr_graph, inputs};
//! use proptest::prelude::*;
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::default();
//! runner.run(&(expr_graph(3, 6, 8), inputs(3)), |(g, x)| {
//!     prop_assume!(g.is_well_conditioned(&x, 1e-3));
//!     let report = autodiff::gradcheck(|v| g.eval(v), &x, &Default::default()).unwrap();
//!     // The graph without the nodes the output does not read: a shrunk
//!     // failing case keeps many.
//!     prop_assert!(report.passed(), "{report}\n{:?}", g.pruned());
//!     Ok(())
//! }).unwrap();
//! ```

use crate::rules::{Binary, Unary};
use crate::{Matrix, Real};
use proptest::collection::vec;
use proptest::prelude::*;

/// One node of an [`ExprGraph`]: an input, or a primitive applied to
/// earlier nodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Node {
    /// The `i`-th input.
    Input(usize),
    /// `c a + d` for constants `c`, `d`.
    AffineConst(usize, f64, f64),
    /// A primitive of one argument, on a guarded argument (see
    /// [`ExprGraph::eval`]).
    Unary(Unary, usize),
    /// A primitive of two arguments, on guarded arguments.
    Binary(Binary, usize, usize),
}

/// A random expression DAG over `n_inputs` inputs: nodes in layers, each
/// node reading the previous layer and any earlier node (so subexpressions
/// are shared), the output being the sum of the last layer.
///
/// Each primitive is applied to a guarded argument that keeps it in its
/// domain, away from points where its derivative is infinite, and keeps
/// magnitudes bounded through deep graphs: `ln(1 + a^2)` (and `log2`,
/// `log10`, `sqrt`, `1 / x` of `1 + a^2`), `ln_1p(a^2)`, `cbrt(-1 - a^2)`
/// (the negative branch), `tan(tanh a)`, `asin(0.9 tanh a)`,
/// `acos(0.9 tanh a)`, `exp(2 sin a)` (and `exp_m1`, `sinh`, `cosh` of
/// `2 sin a`), `a / (1 + b^2)`, `a tanh(b)`, `(S(a) + 1/2)^(2 tanh b)`,
/// `atan2(1 + a^2, b)` (the upper half-plane: away from the origin and
/// from the branch cut), `(1.5 sin a)^n` for `n > 0` and `(1 + a^2)^n` for
/// `n < 0`; the rest are applied as they are (`hypot` with its kink at
/// the origin, as `|x|` at 0).
#[derive(Clone, Debug, PartialEq)]
pub struct ExprGraph {
    /// Number of inputs.
    pub n_inputs: usize,
    /// The nodes, inputs first, in evaluation order.
    pub nodes: Vec<Node>,
    /// The nodes whose sum is the output.
    pub outputs: Vec<usize>,
    /// Number of layers above the inputs: the longest path from an input
    /// to an output, in nodes.
    pub depth: usize,
}

impl ExprGraph {
    /// Evaluates the graph with any number type.
    ///
    /// # Panics
    /// Unless `x` has one value per input (`n_inputs`).
    #[track_caller]
    pub fn eval<T: Real>(&self, x: &[T]) -> T {
        self.check_inputs(x.len());
        let mut v: Vec<T> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let y = match *node {
                Node::Input(i) => x[i],
                Node::AffineConst(a, c, d) => v[a] * T::from_f64(c) + T::from_f64(d),
                Node::Unary(op, a) => unary(op, v[a]),
                Node::Binary(op, a, b) => binary(op, v[a], v[b]),
            };
            v.push(y);
        }
        self.outputs
            .iter()
            .map(|&i| v[i])
            .fold(T::zero(), |s, y| s + y)
    }

    /// Panics unless `n` is the number of inputs: a mismatch is a mistake
    /// in the test (say `inputs(2)` for a graph of 3), not an index error
    /// deep in the evaluation.
    #[track_caller]
    fn check_inputs(&self, n: usize) {
        assert!(
            n == self.n_inputs,
            "ExprGraph: {n} input values for a graph of {} inputs; draw them with inputs({})",
            self.n_inputs,
            self.n_inputs
        );
    }

    /// The same function with only the nodes the output depends on (and
    /// every input, so that it takes the same `x`), renumbered in the same
    /// order: it evaluates bitwise as `self` does. A failing case that
    /// proptest has shrunk keeps the nodes shrinking could not remove
    /// (removing one renumbers the nodes after it, which changes the
    /// graph); print this in the failure message to see what it computes.
    ///
    /// ```
    /// use autodiff::rules::Unary;
    /// use autodiff::strategies::{ExprGraph, Node};
    /// let g = ExprGraph {
    ///     n_inputs: 2,
    ///     nodes: vec![Node::Input(0), Node::Input(1), Node::Unary(Unary::Sin, 0), Node::Unary(Unary::Exp, 1)],
    ///     outputs: vec![3],
    ///     depth: 1,
    /// };
    /// let p = g.pruned();
    /// assert_eq!(p.nodes, [Node::Input(0), Node::Input(1), Node::Unary(Unary::Exp, 1)]);
    /// assert_eq!(p.outputs, [2]);
    /// assert_eq!(p.eval(&[0.5, 0.25]), g.eval(&[0.5, 0.25]));
    /// // A deeper branch the output does not read goes, and the depth with it.
    /// let deep = ExprGraph {
    ///     n_inputs: 1,
    ///     nodes: vec![Node::Input(0), Node::Unary(Unary::Sin, 0), Node::Unary(Unary::Exp, 1)],
    ///     outputs: vec![1],
    ///     depth: 2,
    /// };
    /// assert_eq!((deep.pruned().nodes.len(), deep.pruned().depth), (2, 1));
    /// ```
    pub fn pruned(&self) -> ExprGraph {
        let n = self.nodes.len();
        let mut live = vec![false; n];
        for &o in &self.outputs {
            live[o] = true;
        }
        for i in (0..n).rev() {
            if live[i] {
                match self.nodes[i] {
                    Node::Input(_) => {}
                    Node::AffineConst(a, ..) | Node::Unary(_, a) => live[a] = true,
                    Node::Binary(_, a, b) => {
                        live[a] = true;
                        live[b] = true;
                    }
                }
            }
        }
        let mut new_index = vec![usize::MAX; n];
        let mut nodes = Vec::new();
        for (i, &node) in self.nodes.iter().enumerate() {
            if live[i] || matches!(node, Node::Input(_)) {
                new_index[i] = nodes.len();
                nodes.push(match node {
                    Node::Input(k) => Node::Input(k),
                    Node::AffineConst(a, c, d) => Node::AffineConst(new_index[a], c, d),
                    Node::Unary(op, a) => Node::Unary(op, new_index[a]),
                    Node::Binary(op, a, b) => Node::Binary(op, new_index[a], new_index[b]),
                });
            }
        }
        let outputs: Vec<usize> = self.outputs.iter().map(|&o| new_index[o]).collect();
        // The longest path left, which pruning may have shortened.
        let mut level = vec![0; nodes.len()];
        for i in 0..nodes.len() {
            level[i] = match nodes[i] {
                Node::Input(_) => 0,
                Node::AffineConst(a, ..) | Node::Unary(_, a) => level[a] + 1,
                Node::Binary(_, a, b) => level[a].max(level[b]) + 1,
            };
        }
        ExprGraph {
            n_inputs: self.n_inputs,
            depth: outputs.iter().map(|&o| level[o]).max().unwrap_or(0),
            nodes,
            outputs,
        }
    }

    /// Number of nodes (inputs included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether, at `x`, every value is finite and below `1e6` in magnitude
    /// and no kink is within `margin` of its argument: ReLU, leaky ReLU and
    /// `|x|` at 0, clamp at its bounds,
    /// `min`/`max` at a tie, `hypot` at the origin. Finite differences
    /// agree with the derivative only where this holds.
    ///
    /// # Panics
    /// Unless `x` has one value per input (`n_inputs`).
    #[track_caller]
    pub fn is_well_conditioned(&self, x: &[f64], margin: f64) -> bool {
        self.check_inputs(x.len());
        let mut v: Vec<f64> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let kink_gap = match *node {
                Node::Unary(Unary::Abs | Unary::Relu { .. } | Unary::LeakyRelu { .. }, a) => {
                    v[a].abs()
                }
                Node::Unary(Unary::Clamp { lo, hi }, a) => (v[a] - lo).abs().min((v[a] - hi).abs()),
                Node::Binary(Binary::Min | Binary::Max, a, b) => (v[a] - v[b]).abs(),
                Node::Binary(Binary::Hypot, a, b) => v[a].hypot(v[b]),
                _ => f64::INFINITY,
            };
            if kink_gap < margin {
                return false;
            }
            let y = match *node {
                Node::Input(i) => x[i],
                Node::AffineConst(a, c, d) => v[a] * c + d,
                Node::Unary(op, a) => unary(op, v[a]),
                Node::Binary(op, a, b) => binary(op, v[a], v[b]),
            };
            if !y.is_finite() || y.abs() > 1e6 {
                return false;
            }
            v.push(y);
        }
        self.eval(x).is_finite()
    }
}

fn unary<T: Real>(op: Unary, a: T) -> T {
    let one = T::one();
    let arg = match op {
        Unary::Ln | Unary::Log2 | Unary::Log10 | Unary::Sqrt | Unary::Recip => one + a * a,
        Unary::Ln1p => a * a,
        Unary::Cbrt => -one - a * a,
        Unary::Tan => a.tanh(),
        Unary::Asin | Unary::Acos => T::from_f64(0.9) * a.tanh(),
        Unary::Exp | Unary::ExpM1 | Unary::Sinh | Unary::Cosh => T::from_f64(2.0) * a.sin(),
        Unary::Powi(n) if n > 0 => T::from_f64(1.5) * a.sin(),
        Unary::Powi(_) => one + a * a,
        _ => a,
    };
    op.value(arg)
}

fn binary<T: Real>(op: Binary, a: T, b: T) -> T {
    match op {
        Binary::Div => op.value(a, T::one() + b * b),
        Binary::Mul => op.value(a, b.tanh()),
        Binary::Powf => op.value(a.sigmoid() + T::from_f64(0.5), T::from_f64(2.0) * b.tanh()),
        Binary::Atan2 => op.value(T::one() + a * a, b),
        _ => op.value(a, b),
    }
}

const UNARY: [Unary; 32] = [
    Unary::Neg,
    Unary::Powi(2),
    Unary::Powi(3),
    Unary::Powi(-1),
    Unary::Exp,
    Unary::ExpM1,
    Unary::Ln,
    Unary::Ln1p,
    Unary::Log2,
    Unary::Log10,
    Unary::Sqrt,
    Unary::Cbrt,
    Unary::Recip,
    Unary::Sin,
    Unary::Cos,
    Unary::Tan,
    Unary::Asin,
    Unary::Acos,
    Unary::Atan,
    Unary::Sinh,
    Unary::Cosh,
    Unary::Tanh,
    Unary::Abs,
    Unary::Sigmoid,
    Unary::Softplus,
    Unary::Relu { at_zero: 0.0 },
    Unary::Erf,
    Unary::Erfc,
    Unary::Silu,
    Unary::Gelu,
    Unary::LeakyRelu { slope: 0.1 },
    Unary::Clamp { lo: -0.5, hi: 1.0 },
];
const BINARY: [Binary; 9] = [
    Binary::Add,
    Binary::Sub,
    Binary::Mul,
    Binary::Div,
    Binary::Powf,
    Binary::Min,
    Binary::Max,
    Binary::Atan2,
    Binary::Hypot,
];

/// Random expression graphs over `n_inputs` inputs with 1 to `max_depth`
/// layers of 1 to `max_width` nodes each, covering every primitive of
/// [`Unary`] (ReLU with subgradient 0, 1/2 or 1 at 0) and [`Binary`], plus
/// affine maps with constants.
///
/// # Panics
/// If `n_inputs`, `max_depth` or `max_width` is 0.
pub fn expr_graph(
    n_inputs: usize,
    max_depth: usize,
    max_width: usize,
) -> impl Strategy<Value = ExprGraph> {
    assert!(
        n_inputs > 0 && max_depth > 0 && max_width > 0,
        "expr_graph: every size must be positive"
    );
    let layer = vec((any::<u8>(), any::<u32>(), any::<u32>()), 1..=max_width);
    vec(layer, 1..=max_depth).prop_map(move |layers| build(n_inputs, &layers))
}

fn build(n_inputs: usize, layers: &[Vec<(u8, u32, u32)>]) -> ExprGraph {
    let mut nodes: Vec<Node> = (0..n_inputs).map(Node::Input).collect();
    let mut prev = 0..n_inputs;
    for layer in layers {
        let start = nodes.len();
        for &(kind, r1, r2) in layer {
            // One argument from the previous layer keeps the depth; the other
            // from anywhere below shares subexpressions.
            let a = prev.start + r1 as usize % prev.len();
            let b = r2 as usize % start;
            let kind = kind as usize % (UNARY.len() + BINARY.len() + 2);
            let node = if kind < UNARY.len() {
                let op = match UNARY[kind] {
                    Unary::Relu { .. } => Unary::Relu {
                        at_zero: [0.0, 0.5, 1.0][r2 as usize % 3],
                    },
                    op => op,
                };
                Node::Unary(op, a)
            } else if kind < UNARY.len() + BINARY.len() {
                Node::Binary(BINARY[kind - UNARY.len()], a, b)
            } else {
                let c = (r2 % 2001) as f64 / 500.0 - 2.0;
                Node::AffineConst(a, c, (r1 % 7) as f64 - 3.0)
            };
            nodes.push(node);
        }
        prev = start..nodes.len();
    }
    ExprGraph {
        n_inputs,
        nodes,
        outputs: prev.collect(),
        depth: layers.len(),
    }
}

/// `n` inputs drawn uniformly from `[-2, 2)`.
pub fn inputs(n: usize) -> impl Strategy<Value = Vec<f64>> {
    vec(-2.0..2.0_f64, n)
}

/// A `rows x cols` matrix of entries drawn uniformly from `[-2, 2)`, for
/// [`gradcheck_mats`](crate::gradcheck_mats) of one's own functions of
/// matrices. Random shapes come from a strategy of shapes mapped through
/// it (`(1..5usize, 1..5usize).prop_flat_map(|(r, c)| matrix(r, c))`).
///
/// ```
/// use autodiff::strategies::matrix;
/// use autodiff::{gradcheck_mats, mats_fn, GradcheckConfig};
/// use proptest::prelude::*;
/// use proptest::test_runner::TestRunner;
///
/// // tanh(A B) summed, at random shapes: A is r x k, B is k x c.
/// let pair = (1..4usize, 1..4usize, 1..4usize)
///     .prop_flat_map(|(r, k, c)| (matrix(r, k), matrix(k, c)));
/// let f = mats_fn(|m| m[0].matmul(m[1]).tanh().sum());
/// TestRunner::default().run(&pair, |(a, b)| {
///     let report = gradcheck_mats(&f, &[a, b], &GradcheckConfig::default()).unwrap();
///     prop_assert!(report.passed(), "{report}");
///     Ok(())
/// }).unwrap();
/// ```
pub fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Matrix<f64>> {
    vec(-2.0..2.0_f64, rows * cols)
        .prop_map(move |v| Matrix::new(rows, cols, v).expect("rows * cols values"))
}
