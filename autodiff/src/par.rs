//! Long elementwise passes split over the matrix kernel's threads.
//!
//! A training step on a wide layer spends a tenth of its time outside the
//! matrix products: activations, their derivatives, bias rows and sums,
//! finiteness checks. At one thread that is the price of the pass; with
//! more threads it would become the larger share of a step whose products
//! run in parallel, so a long pass is cut into contiguous chunks run by the
//! kernel's pool ([`crate::num_threads`]). Each element is computed by the
//! same operations whatever the chunk it falls in, so results do not depend
//! on the thread count.

use crate::kernel::run_parts;

/// Elements of work per part: a pass of fewer than twice as many stays on
/// the calling thread. A guess, not a measured optimum: it keeps the small
/// net's passes (at most 17,226 elements, its parameters' finiteness
/// check) off the pool and splits the medium net's (131,072) in two; the
/// split was measured only there (0.94-0.99x the step's time at two
/// threads). Under Miri, 64: the same splits on passes small enough to
/// interpret.
pub(crate) const MIN_PART: usize = if cfg!(miri) { 64 } else { 1 << 15 };

/// A `*mut T` that may cross to the pool's threads; each part forms its
/// own disjoint slice from it.
struct Shared<T>(*mut T);

impl<T> Shared<T> {
    /// The pointer (a method, so that closures capture the `Sync` wrapper
    /// rather than its field).
    fn ptr(&self) -> *mut T {
        self.0
    }
}

// SAFETY: only used by `chunks_mut`, whose parts write disjoint ranges of
// a slice borrowed mutably for the whole call.
unsafe impl<T: Send> Sync for Shared<T> {}

/// The number of parts for `work` elements of work on `threads()` threads.
fn parts_for(work: usize, threads: impl FnOnce() -> usize) -> usize {
    if work < 2 * MIN_PART {
        return 1; // without reading the thread setting
    }
    threads().min(work / MIN_PART).max(1)
}

/// Calls `f(start, chunk)` for consecutive chunks of `out` that cover it,
/// `chunk` being `out[start..start + chunk.len()]`; every chunk but the
/// last is a multiple of `unit` elements long. The chunks run on the
/// kernel's threads when `work` (elements touched in all) is large enough,
/// else `f(0, out)` runs once on the calling thread.
pub(crate) fn chunks_mut<T, F>(out: &mut [T], unit: usize, work: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    chunks_mut_on(crate::num_threads, out, unit, work, f);
}

/// [`chunks_mut`] on `threads()` threads (the tests' entry).
fn chunks_mut_on<T, F>(
    threads: impl FnOnce() -> usize,
    out: &mut [T],
    unit: usize,
    work: usize,
    f: F,
) where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    let len = out.len();
    let parts = parts_for(work, threads).min(len / unit.max(1)).max(1);
    if parts == 1 {
        f(0, out);
        return;
    }
    let per = len.div_ceil(parts).next_multiple_of(unit.max(1));
    let base = Shared(out.as_mut_ptr());
    run_parts(parts, parts, &|i| {
        let start = (i * per).min(len);
        let end = ((i + 1) * per).min(len);
        // SAFETY: `start..end` lies inside `out`, and the ranges of
        // distinct parts are disjoint; `out` is borrowed mutably until
        // every part has returned.
        let chunk = unsafe { std::slice::from_raw_parts_mut(base.ptr().add(start), end - start) };
        f(start, chunk);
    });
}

/// Whether `test` holds for every chunk of `0..len`, the chunks run as in
/// [`chunks_mut`] (all of them are tested).
pub(crate) fn all(len: usize, test: impl Fn(std::ops::Range<usize>) -> bool + Sync) -> bool {
    all_on(crate::num_threads, len, test)
}

/// [`all`] on `threads()` threads (the tests' entry).
fn all_on(
    threads: impl FnOnce() -> usize,
    len: usize,
    test: impl Fn(std::ops::Range<usize>) -> bool + Sync,
) -> bool {
    let parts = parts_for(len, threads);
    if parts == 1 {
        return test(0..len);
    }
    let per = len.div_ceil(parts);
    let ok = std::sync::atomic::AtomicBool::new(true);
    run_parts(parts, parts, &|i| {
        let range = (i * per).min(len)..((i + 1) * per).min(len);
        if !test(range) {
            ok.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    });
    ok.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_slice_once_in_units_at_any_thread_count() {
        for threads in [1, 2, 3] {
            for len in [0, 1, 100, 3 * MIN_PART + 7, 5 * MIN_PART] {
                let mut out = vec![0u32; len];
                let calls = std::sync::atomic::AtomicUsize::new(0);
                chunks_mut_on(
                    || threads,
                    &mut out,
                    16,
                    len,
                    |start, chunk| {
                        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        assert!(start % 16 == 0 || chunk.is_empty());
                        for (k, x) in chunk.iter_mut().enumerate() {
                            *x += (start + k) as u32 + 1;
                        }
                    },
                );
                assert!(out.iter().enumerate().all(|(k, &x)| x == k as u32 + 1));
                let parts = if len >= 2 * MIN_PART { threads } else { 1 };
                assert_eq!(calls.into_inner(), parts, "len {len}, {threads} threads");
            }
        }
    }

    #[test]
    fn all_tests_every_chunk() {
        let len = 4 * MIN_PART;
        for threads in [1, 2, 3] {
            for bad in [0, len / 2, len - 1] {
                assert!(!all_on(|| threads, len, |r| !r.contains(&bad)));
            }
            assert!(all_on(|| threads, len, |_| true));
        }
    }
}
