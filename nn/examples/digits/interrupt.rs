//! Ctrl-C ends the run after the epoch under way, so that `--save` and
//! `--plot` still write what was trained (a second Ctrl-C kills at once).

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    // Async-signal-safe: an atomic store, and `signal` itself.
    INTERRUPTED.store(true, Ordering::SeqCst);
    // SAFETY: restoring the default action; the next Ctrl-C terminates.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

/// Catches the first Ctrl-C (SIGINT) from now on.
pub fn catch() {
    #[cfg(unix)]
    // SAFETY: the handler only stores to an atomic and resets the action.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

/// Whether Ctrl-C was pressed since [`catch`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
