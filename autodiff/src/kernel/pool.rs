//! The kernel's threads: a setting, and a small persistent pool.
//!
//! The workers are plain `std` threads, spawned the first time a product
//! needs them and kept for the life of the process. A call publishes a job
//! (two pointers, no allocation), wakes the workers and takes parts itself;
//! parts are claimed one at a time under the lock; the call returns once
//! every part is done. An idle thread (a worker between jobs, the caller
//! waiting for the last part) spins for [`SPIN`] before it sleeps on a
//! `Condvar`, as OpenMP runtimes do: the products of a training step come
//! a few tens of microseconds apart, and a sleeping thread takes about as
//! long to wake on a virtual machine. One job runs at a time: a call that
//! finds the pool busy (another thread's product, or a call made from
//! inside a part, such as a product inside an elementwise chunk) runs all
//! its parts itself, which gives the same result (see the module doc of
//! `kernel`).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

/// The environment variable read (once, on first use) for the default
/// thread count.
pub const ENV_VAR: &str = "CHAINRULE_NUM_THREADS";

/// The thread count; 0 until first read.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads the matrix kernel uses (the calling thread
/// included), for the products and for the long elementwise passes of the
/// matrix ops.
///
/// Unless set by [`set_num_threads`], it is read on first use from the
/// environment variable `CHAINRULE_NUM_THREADS` (a positive integer; any
/// other value is ignored with a warning on standard error), and defaults
/// to [`std::thread::available_parallelism`]. Results do not
/// depend on it: every element of a product is computed by the same
/// operations whatever the thread count.
///
/// ```
/// autodiff::set_num_threads(2);
/// assert_eq!(autodiff::num_threads(), 2);
/// ```
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let cores = || {
                std::thread::available_parallelism()
                    .ok()
                    .map_or(1, |n| n.get())
            };
            let n = match std::env::var(ENV_VAR) {
                Ok(v) => threads_from_env(&v).unwrap_or_else(|| {
                    // Once per process (this branch runs until the count
                    // is stored): a setting that is ignored is said so.
                    let n = cores();
                    eprintln!(
                        "chainrule: {ENV_VAR}={v:?} is not a positive integer; using {n} threads"
                    );
                    n
                }),
                Err(_) => cores(),
            };
            // A concurrent `set_num_threads` wins over the default.
            match THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => n,
                Err(set) => set,
            }
        }
        n => n,
    }
}

/// The thread count `CHAINRULE_NUM_THREADS` asks for, if it is a positive
/// integer (surrounding spaces allowed).
fn threads_from_env(v: &str) -> Option<usize> {
    v.trim().parse::<usize>().ok().filter(|&n| n > 0)
}

/// Sets the number of threads the matrix kernel uses, for the whole
/// process (like `torch.set_num_threads`); 1 runs every product and pass
/// on the calling thread. Workers are spawned when a job first needs them,
/// and spin for a moment between jobs before they sleep.
///
/// # Panics
/// If `n` is 0.
#[track_caller]
pub fn set_num_threads(n: usize) {
    assert!(
        n > 0,
        "set_num_threads: the thread count must be at least 1"
    );
    THREADS.store(n, Ordering::Relaxed);
}

/// A published job: a `&F` erased to a pointer and the function that
/// calls it.
#[derive(Clone, Copy)]
struct Job {
    data: *const (),
    call: unsafe fn(*const (), usize),
}

// SAFETY: `data` points to an `F: Sync`, shared only while the call that
// published it waits for every part.
unsafe impl Send for Job {}

struct State {
    job: Option<Job>,
    /// The next part to claim, and the number of parts.
    next: usize,
    parts: usize,
    panicked: bool,
    workers: usize,
    /// The published job's number (`published` when it was published) and
    /// how many more workers may join it.
    job_id: usize,
    helpers: usize,
}

struct Pool {
    state: Mutex<State>,
    wake: Condvar,
    done: Condvar,
    /// Held by the call whose job is published.
    busy: Mutex<()>,
    /// Parts of the published job not finished yet: outside the lock, so
    /// that the calling thread can spin on it.
    pending: AtomicUsize,
    /// Bumped whenever a job is published: what spinning workers watch.
    published: AtomicUsize,
}

static POOL: Pool = Pool {
    state: Mutex::new(State {
        job: None,
        next: 0,
        parts: 0,
        panicked: false,
        workers: 0,
        job_id: 0,
        helpers: 0,
    }),
    wake: Condvar::new(),
    done: Condvar::new(),
    busy: Mutex::new(()),
    pending: AtomicUsize::new(0),
    published: AtomicUsize::new(0),
};

/// How long an idle thread spins before it sleeps on a `Condvar`. A
/// training step calls the kernel every few tens of microseconds; waking a
/// sleeping thread costs about as much on a virtual machine, and the part
/// it was to run waits for it.
const SPIN: Duration = Duration::from_micros(200);

/// Spins until `ready()` or [`SPIN`] has passed; whether `ready()` held.
fn spin_until(ready: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            if ready() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() > SPIN {
            return ready();
        }
    }
}

fn lock_state() -> MutexGuard<'static, State> {
    // The lock is never held while user code runs; a poisoned lock can
    // only come from a panic in this file, after which the state is still
    // consistent.
    POOL.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Calls `f(i)` for every `i < parts`, on the calling thread and up to
/// `threads - 1` workers (parts are claimed one at a time, so there may be
/// more parts than threads), and returns when all are done. Allocates
/// only when it spawns a worker.
///
/// # Panics
/// If a part panicked (after every part is done).
pub(crate) fn run<F: Fn(usize) + Sync>(parts: usize, threads: usize, f: &F) {
    let _busy = match POOL.busy.try_lock() {
        Ok(g) => g,
        Err(TryLockError::Poisoned(e)) => e.into_inner(),
        Err(TryLockError::WouldBlock) => {
            (0..parts).for_each(f);
            return;
        }
    };
    /// Calls the erased `&F`.
    ///
    /// # Safety
    /// `data` comes from a live `&F`.
    unsafe fn call<F: Fn(usize)>(data: *const (), i: usize) {
        // SAFETY: the caller's contract.
        unsafe { (*data.cast::<F>())(i) }
    }
    let job = Job {
        data: (f as *const F).cast(),
        call: call::<F>,
    };
    {
        let mut st = lock_state();
        // Workers beyond `helpers` (left from a larger thread setting)
        // sit this job out.
        let helpers = threads.min(parts).saturating_sub(1);
        while st.workers < helpers {
            let spawned = std::thread::Builder::new()
                .name(format!("chainrule-kernel-{}", st.workers + 1))
                .spawn(worker);
            if spawned.is_err() {
                break; // fewer workers: this thread takes more parts
            }
            st.workers += 1;
        }
        st.job = Some(job);
        st.next = 0;
        st.parts = parts;
        st.panicked = false;
        st.helpers = helpers;
        POOL.pending.store(parts, Ordering::Relaxed);
        st.job_id = POOL.published.fetch_add(1, Ordering::Relaxed) + 1;
    }
    POOL.wake.notify_all();
    let mut st = lock_state();
    loop {
        st = take_part(st, job);
        if st.next >= st.parts {
            break;
        }
    }
    drop(st);
    let finished = || POOL.pending.load(Ordering::Acquire) == 0;
    if !spin_until(finished) {
        st = lock_state();
        // A part that finishes last notifies under the lock, so it cannot
        // slip between this check and the wait.
        while !finished() {
            st = POOL.done.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        drop(st);
    }
    // No part runs any more: `f` is no longer referenced once the job is
    // withdrawn.
    let mut st = lock_state();
    st.job = None;
    let panicked = st.panicked;
    drop(st);
    if panicked {
        resume_unwind(Box::new(
            "chainrule: a part of a parallel product or pass panicked",
        ));
    }
}

/// Claims the next part if any and runs it with the lock released.
fn take_part(mut st: MutexGuard<'static, State>, job: Job) -> MutexGuard<'static, State> {
    if st.next >= st.parts {
        return st;
    }
    let i = st.next;
    st.next += 1;
    drop(st);
    // SAFETY: the job is published, so the call that owns `data` is
    // waiting for this part (`pending` counts it).
    let ok = catch_unwind(AssertUnwindSafe(|| unsafe { (job.call)(job.data, i) })).is_ok();
    let mut st = lock_state();
    st.panicked |= !ok;
    if POOL.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
        POOL.done.notify_all();
    }
    st
}

/// A worker: waits for a job with parts left, takes them, waits again.
fn worker() {
    // The number of the job this worker joined (0: none yet).
    let mut joined = 0;
    let mut st = lock_state();
    loop {
        match st.job {
            Some(job) if st.next < st.parts && (joined == st.job_id || st.helpers > 0) => {
                if joined != st.job_id {
                    st.helpers -= 1;
                    joined = st.job_id;
                }
                st = take_part(st, job);
            }
            _ => {
                // Spin a while for the next job before sleeping.
                let seen = POOL.published.load(Ordering::Relaxed);
                drop(st);
                let published = spin_until(|| POOL.published.load(Ordering::Relaxed) != seen);
                st = lock_state();
                let idle = st.job.is_none() || st.next >= st.parts;
                if !published && idle {
                    st = POOL.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }
}

#[cfg(test)]
mod env_tests {
    use super::threads_from_env;

    #[test]
    fn only_a_positive_integer_sets_the_thread_count() {
        assert_eq!(threads_from_env("3"), Some(3));
        assert_eq!(threads_from_env(" 2\n"), Some(2));
        for bad in ["0", "", "abc", "-1", "2.5", "two"] {
            assert_eq!(threads_from_env(bad), None, "{bad:?}");
        }
    }
}
