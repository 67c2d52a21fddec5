//! The reverse sweep: [`Tape::backward`] from a scalar output over the
//! scalar statements and the matrix nodes, and the `Evaluator`'s sweep
//! down to the inputs.

use super::{Preaccumulating, Recording, Stmts, Tape};
use crate::{Grads, TapeValue, Var};

impl<T: TapeValue, M: Recording> Tape<T, M> {
    /// [`sweep`] with the carry on a tape recording every operation.
    #[inline]
    fn sweep<const KEEP: bool>(&self, s: &Stmts<T>, adj: &mut [T], lo: usize, hi: usize) {
        if M::PREACCUMULATE {
            sweep::<T, KEEP, false>(s, adj, lo, hi);
        } else {
            sweep::<T, KEEP, true>(s, adj, lo, hi);
        }
    }

    /// The gradient of the scalar `y` with respect to every value recorded
    /// on this tape: one reverse sweep.
    ///
    /// A constant `y` (recorded on no tape) has zero gradient everywhere.
    ///
    /// # Panics
    /// If `y` was recorded on another tape.
    #[track_caller]
    pub fn backward(&self, y: Var<'_, T, M>) -> Grads<T> {
        let mut g = Grads::empty();
        self.backward_into(y, &mut g);
        g
    }

    /// [`backward`](Self::backward) into an existing gradient store, reusing
    /// its memory.
    ///
    /// # Panics
    /// If `y` was recorded on another tape.
    #[track_caller]
    pub fn backward_into(&self, y: Var<'_, T, M>, grads: &mut Grads<T>) {
        let mats = self.mats.borrow();
        grads.reset(
            self.id,
            self.generation(),
            self.len(),
            mats.used,
            mats.nodes.len(),
        );
        if let Some(t) = y.tape() {
            crate::var::same_tape(t, self);
            let top = y.index();
            let adj = &mut grads.scalars[..];
            adj[top] = y.scale();
            // Statements recorded after a matrix node come before it in the
            // reverse order: sweep them, then the node, then go on below it.
            let mut hi = top + 1;
            for (i, node) in mats.nodes.iter().enumerate().rev() {
                let mark = node.mark as usize;
                if mark > top {
                    continue; // recorded after y: y does not depend on it
                }
                // (The statements are borrowed anew for each stretch: a
                // custom node's closure runs in `rule` and could reach
                // this tape through a thread-local and record on it.)
                self.sweep::<true>(self.stmts_ref(), adj, mark, hi);
                hi = mark;
                if let Some(rule) = mats.backward {
                    rule(&mats, i, &mut grads.mats, adj, &mut grads.written);
                }
            }
            self.sweep::<true>(self.stmts_ref(), adj, 0, hi);
        }
        grads.zero_unwritten(mats.nodes.iter().map(|n| (n.range(), n.grad)));
    }
}

impl<T: TapeValue> Tape<T, Preaccumulating> {
    /// The gradient of `y` with respect to the first `out.len()` statements
    /// (the inputs, recorded first), into `out`, for [`Evaluator`]: one
    /// reverse sweep over `adj`, which must be all zero on entry and is all
    /// zero again on return (each adjoint is reset once used), so no pass
    /// zeroes the adjoints of the whole tape before the sweep.
    ///
    /// Matrix operations record on [`Full`] tapes only, so a
    /// preaccumulating tape has no matrix node to sweep.
    ///
    /// # Panics
    /// If `y` was recorded on another tape, or fewer than `out.len()`
    /// statements were recorded.
    ///
    /// [`Evaluator`]: crate::Evaluator
    #[track_caller]
    pub(crate) fn leaf_gradient(
        &self,
        y: Var<'_, T, Preaccumulating>,
        adj: &mut Vec<T>,
        out: &mut [T],
    ) {
        let stmts = self.stmts_ref();
        let nl = out.len();
        assert!(
            nl <= stmts.n,
            "leaf_gradient: {nl} leaves, {} statements",
            stmts.n
        );
        if adj.len() < stmts.n {
            adj.resize(stmts.n, T::zero());
        }
        let Some(t) = y.tape() else {
            out.fill(T::zero());
            return;
        };
        crate::var::same_tape(t, self);
        let top = y.index();
        adj[top] = y.scale();
        // The leaves `0..nl` propagate nothing: the sweep stops above them.
        let split = nl.min(top + 1);
        self.sweep::<false>(stmts, adj, split, top + 1);
        out.copy_from_slice(&adj[..nl]);
        // Inputs `f` recorded right after these (`Var::tape`, then
        // `Tape::vars`) count among the unwritten leaves too, and the sweep
        // stops above them: reset their adjoints here as well.
        adj[..nl.max(stmts.leaves)].fill(T::zero());
    }
}

/// `adj[input] += partial * adj[output]` for the statements
/// `max(lo, leaves)..hi` in reverse order (seed (5.9): the chain rule as a
/// product of Jacobians; the inputs recorded first propagate nothing, and
/// their statements were not written: see `Stmts::leaves`).
///
/// Every statement updates two slots and then stores its own adjoint back
/// (a unary statement's second input and a leaf's inputs are the statement
/// itself, with zero partials: see [`Stmt`]), so the loop needs no branch
/// on the kind of statement. A statement whose adjoint is exactly zero
/// (nothing on the way to the output used it: recorded for another output
/// of a Jacobian, or a value the function computed and dropped) propagates
/// nothing, so an infinite or NaN partial there cannot turn the gradient
/// into NaN through `0 * inf`; the test costs about nothing on a
/// preaccumulating tape and about 10% of the sweep with the carry
/// (`scalar_phases`, alternated runs). With `KEEP` false, each adjoint of
/// `max(lo, leaves)..hi` is set back to 0 once used instead of keeping the gradient
/// (see [`Tape::leaf_gradient`]).
///
/// With `CARRY`, a contribution to `adj[i - 1]` in slot `a` is carried in a
/// register to the next iteration instead of going through memory (a store
/// followed at once by a load of the same address puts the
/// store-forwarding latency on the critical path); `push2` puts an input
/// recorded just before the statement in slot `a` on a tape recording every
/// operation, where chains of one-input statements are common. On a
/// preaccumulating tape most statements have two inputs and the carry pays
/// less than the branch and the swap cost. Measured (`scalar_phases`,
/// n = 10,000, alternated runs of the builds), record + sweep: every
/// operation recorded, Rosenbrock 300 us with the carry, 364 us without (the
/// earlier layout, separate arrays with 12-byte unary statements: 348 us);
/// preaccumulating, 156 us without the carry, 171 us with it (earlier
/// layout: 194 us).
/// Both loops are correct for any statements; the sums are formed in the
/// same order either way.
#[inline]
fn sweep<T: TapeValue, const KEEP: bool, const CARRY: bool>(
    s: &Stmts<T>,
    adj: &mut [T],
    lo: usize,
    hi: usize,
) {
    assert!(hi <= s.n && hi <= adj.len());
    // The inputs recorded first propagate nothing, and their statements
    // were not written: stop above them.
    let lo = lo.max(s.leaves);
    let mut carry = T::zero();
    // Statement `i`.
    // SAFETY (of the calls below): `i < hi <= n <= list.len()`, and `push`
    // records only inputs with indices up to the statement's own, so every
    // adjoint index used is `<= i < hi <= adj.len()`.
    let step = |i: usize, adj: &mut [T], carry: &mut T| unsafe {
        let st = *s.list.get_unchecked(i);
        // (Not `+ 0` without the carry: that is an add on the critical
        // path the compiler may not drop, since -0 + 0 is +0.)
        let g = if CARRY {
            *adj.get_unchecked(i) + *carry
        } else {
            *adj.get_unchecked(i)
        };
        if CARRY {
            *carry = T::zero();
        }
        // A statement nothing reached (recorded for another output, or
        // unused) has nothing to propagate: skipping it keeps an
        // infinite or NaN partial there from adding 0 * inf = NaN.
        if !g.is_zero() {
            if CARRY && st.a as usize + 1 == i {
                *carry = st.da * g;
            } else {
                *adj.get_unchecked_mut(st.a as usize) += st.da * g;
            }
            *adj.get_unchecked_mut(st.b as usize) += st.db * g;
        }
        // Nothing adds to `adj[i]` after this statement (inputs come
        // before it): without `KEEP` it goes back to 0 for the next call.
        *adj.get_unchecked_mut(i) = if KEEP { g } else { T::zero() };
    };
    // Two statements per iteration: less loop overhead (6% of the sweep
    // in an isolated A/B); the order of the statements is unchanged.
    let mut i = hi;
    while i >= lo + 2 {
        step(i - 1, adj, &mut carry);
        step(i - 2, adj, &mut carry);
        i -= 2;
    }
    if i > lo {
        step(i - 1, adj, &mut carry);
    }
    if CARRY && lo > 0 {
        adj[lo - 1] += carry;
    }
}
