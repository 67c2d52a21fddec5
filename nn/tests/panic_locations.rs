//! Misuse that panics (as documented in `# Panics`) names the caller's
//! file and line, not a line inside the library: gradients read with the `Grads` of
//! another recording, a layer index past the network.
//!
//! Its own test binary: the panic hook that records the location is
//! process-wide.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use autodiff::{Shape, Tape};
use nn::{BatchTargets, Loss, Mlp};

thread_local! {
    /// `Some` while [`panic_file`] runs `f` on this thread: the file it
    /// panicked in, once it has.
    static LOCATION: Cell<Option<Option<&'static str>>> = const { Cell::new(None) };
}

/// The file `f` panicked in.
fn panic_file(f: impl FnOnce()) -> String {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if LOCATION.with(|c| c.get()).is_none() {
                // Not ours (a failed assertion): reported as usual.
                return default(info);
            }
            let at = info
                .location()
                .map(|l| &*Box::leak(l.file().to_owned().into_boxed_str()));
            LOCATION.with(|c| c.set(Some(at)));
        }))
    });
    LOCATION.with(|c| c.set(Some(None)));
    let panicked = panic::catch_unwind(AssertUnwindSafe(f)).is_err();
    let at = LOCATION.with(|c| c.take()).flatten();
    assert!(panicked, "no panic");
    at.expect("a location").to_owned()
}

#[test]
fn reading_gradients_of_another_recording_panics_in_the_callers_file() {
    let mlp = Mlp::<f64>::builder(&[2, 3, 2]).seed(0).build().unwrap();
    let (t1, t2) = (Tape::new(), Tape::new());
    let x1 = t1.mat_const(Shape::new(1, 2), &[0.5, 0.5]).unwrap();
    let x2 = t2.mat_const(Shape::new(1, 2), &[-0.5, 2.0]).unwrap();
    let (o1, o2) = (mlp.forward(&t1, x1).unwrap(), mlp.forward(&t2, x2).unwrap());
    let l2 = Loss::default()
        .apply(o2.output, BatchTargets::Classes(&[0]))
        .unwrap();
    let mut g2 = t2.backward(l2);
    let mut out = vec![0.0; mlp.num_params()];

    let at = panic_file(|| {
        o1.gradient(&g2);
    });
    assert_eq!(at, file!());
    let at = panic_file(|| {
        o1.gradient_mut(&mut g2);
    });
    assert_eq!(at, file!());
    let at = panic_file(|| {
        let _ = o1.gradient_into(&g2, &mut out);
    });
    assert_eq!(at, file!());
}

#[test]
fn a_layer_past_the_network_panics_in_the_callers_file_naming_the_layer() {
    let mlp = Mlp::<f32>::builder(&[2, 3, 2]).build().unwrap();
    let weight = panic_file(|| {
        mlp.weight(2);
    });
    let bias = panic_file(|| {
        mlp.bias(2);
    });
    let range = panic_file(|| {
        mlp.layer_range(2);
    });
    assert_eq!([weight, bias, range], [file!(); 3]);
    let msg = panic::catch_unwind(|| mlp.weight(5)).unwrap_err();
    let msg = msg.downcast_ref::<String>().expect("a formatted message");
    assert!(msg.contains("layer 5") && msg.contains("2 layers"), "{msg}");
}
