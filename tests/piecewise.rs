//! The piecewise functions of `Real` (`clamp`, `signum`) and comparisons
//! of a `Var` with a plain number: the same values as `f64`'s, and the
//! derivative of the branch taken.

use autodiff::{Dual, Real, Tape};

/// `(value, d/dx, d/dlo, d/dhi)` of `x.clamp(lo, hi)` on the tape.
fn clamp_on_tape(x: f64, lo: f64, hi: f64) -> (f64, f64, f64, f64) {
    let tape = Tape::new();
    let (vx, vlo, vhi) = (tape.var(x), tape.var(lo), tape.var(hi));
    let y = vx.clamp(vlo, vhi);
    let g = tape.backward(y);
    (y.value(), g[vx], g[vlo], g[vhi])
}

#[test]
fn clamp_has_f64s_value_and_the_derivative_of_the_value_chosen() {
    for (x, lo, hi) in [
        (0.5, -1.0, 1.0),
        (-3.0, -1.0, 1.0),
        (7.0, -1.0, 1.0),
        (1.0, -1.0, 1.0),
        (-1.0, -1.0, 1.0),
        (2.0, 2.0, 2.0),
    ] {
        let (v, dx, dlo, dhi) = clamp_on_tape(x, lo, hi);
        assert_eq!(v, x.clamp(lo, hi), "{x} in [{lo}, {hi}]");
        assert_eq!(Real::clamp(x, lo, hi), x.clamp(lo, hi));
        let want = if x < lo {
            (0.0, 1.0, 0.0)
        } else if x > hi {
            (0.0, 0.0, 1.0)
        } else {
            // Within, bounds included: the derivative goes to x (PyTorch).
            (1.0, 0.0, 0.0)
        };
        assert_eq!((dx, dlo, dhi), want, "{x} in [{lo}, {hi}]");
    }
    // Forward mode agrees.
    let d = Dual::new(3.0, 1.0).clamp(Dual::from_f64(-1.0), Dual::from_f64(1.0));
    assert_eq!((d.re, d.eps), (1.0, 0.0));
}

#[test]
fn clamp_of_nan_is_nan_and_bounds_out_of_order_panic_as_for_f64() {
    assert!(clamp_on_tape(f64::NAN, -1.0, 1.0).0.is_nan());
    for (lo, hi) in [(1.0, -1.0), (f64::NAN, 1.0)] {
        let tape = Tape::new();
        let x = tape.var(0.0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            x.clamp(Real::from_f64(lo), Real::from_f64(hi))
        }));
        let msg = *r.unwrap_err().downcast::<String>().unwrap();
        assert!(msg.contains("lo <= hi"), "{msg}");
        assert!(std::panic::catch_unwind(|| 0.0_f64.clamp(lo, hi)).is_err());
    }
}

#[test]
fn signum_is_f64s_including_signed_zeros_and_nan_with_derivative_zero() {
    for x in [2.5, -0.1, 0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY] {
        let tape = Tape::new();
        let v = tape.var(x);
        let s = v.signum() * v;
        assert_eq!(
            Real::signum(v).value().to_bits(),
            x.signum().to_bits(),
            "{x}"
        );
        assert_eq!(Real::signum(x).to_bits(), x.signum().to_bits());
        // d/dx (sign(x) x) = sign(x): the sign itself contributes nothing.
        if x.is_finite() {
            assert_eq!(tape.backward(s)[v], x.signum(), "{x}");
        }
    }
    assert!(Real::signum(Tape::new().var(f64::NAN)).value().is_nan());
}

#[test]
fn signum_of_nan_has_derivative_zero_too() {
    // The NaN is the value; the argument is not passed through (whose
    // derivative would be 1).
    let tape = Tape::new();
    let v = tape.var(f64::NAN);
    let s = v.signum();
    assert!(s.value().is_nan());
    assert_eq!(tape.backward(s)[v], 0.0);
    let d = Dual::new(f64::NAN, 1.0).signum();
    assert!(d.re.is_nan());
    assert_eq!(d.eps, 0.0);
    let g = autodiff::grad(|x| x[0].signum(), &[f64::NAN]).unwrap();
    assert_eq!(g, [0.0]);
}

#[test]
#[allow(clippy::manual_range_contains, clippy::neg_cmp_op_on_partial_ord)]
fn a_var_compares_with_a_plain_number_by_its_value() {
    // The operators themselves are under test, so written out.
    let tape = Tape::new();
    let x = tape.var(0.5);
    assert!(x > 0.0 && x < 1.0 && x >= 0.5 && x <= 0.5 && x == 0.5 && x != 0.25);
    let nan = tape.var(f64::NAN);
    assert!(nan != 0.5 && !(nan >= 0.0) && !(nan < 0.0));
    assert_eq!(x.partial_cmp(&f64::NAN), None);
}
