//! Training reuses its tape and buffers: the memory in use after 10,000
//! steps equals the memory in use after 100 (a tracking global allocator
//! counting the test's thread, in its own test binary), and on Linux the
//! resident set stays flat.

use nn::data::xor;
use nn::{Activation, Mlp, TrainConfig, Trainer};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Tracking;

static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Whether this thread's allocations are counted: only the test's. The
    /// test harness's own thread allocates its bookkeeping (the running
    /// tests, a timeout entry) at a moment that races with the first
    /// snapshot; counting it failed the test about one run in two.
    static TRACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn tracked() -> bool {
    TRACK.try_with(|t| t.get()).unwrap_or(false)
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if tracked() {
            LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if tracked() {
            LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if tracked() {
            LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

#[test]
fn memory_in_use_after_10000_steps_equals_memory_after_100() {
    // Training runs on this thread (the products of this small net are too
    // small to be split over the kernel's threads).
    TRACK.with(|t| t.set(true));
    let data = xor::<f32>(64, 0.1, 1).unwrap(); // 8 steps per epoch
    let mlp = Mlp::builder(&[2, 16, 16, 2])
        .hidden(Activation::RELU)
        .seed(1)
        .build()
        .unwrap();
    let adam = optim::by_name::<f32>("adam", 1e-3).unwrap();
    let mut t = Trainer::new(
        mlp,
        adam,
        TrainConfig {
            epochs: 0,
            batch_size: 8,
            ..Default::default()
        },
    );
    // The trainer keeps the last fit's history (one report per epoch, by
    // design, and fit returns a copy): what is measured is the rest.
    let history_bytes =
        |t: &Trainer<f32>| t.history().epochs.capacity() * std::mem::size_of::<nn::EpochReport>();
    let live_at = |t: &mut Trainer<f32>, epochs: usize| {
        t.config_mut().epochs = epochs;
        t.fit(&data, Some(&data), |_| {}).unwrap();
        (
            LIVE.load(Ordering::Relaxed) - history_bytes(t) as isize,
            resident_bytes(),
        )
    };
    let (after_100, rss_100) = live_at(&mut t, 100 / 8 + 1);
    let (after_10000, rss_10000) = live_at(&mut t, 10_000 / 8);
    assert_eq!(t.epoch(), 1250);
    assert_eq!(
        after_10000, after_100,
        "memory in use grew between step 100 and step 10,000"
    );
    if let (Some(a), Some(b)) = (rss_100, rss_10000) {
        // Growth outside the heap count: pages touched by the stack and
        // the allocator's bookkeeping (128 KiB), and the kept history and
        // its copy, which stay resident. A leak on the heap is the exact
        // count's to catch (above); this catches growth it cannot see, of
        // more than the slack.
        let slack = 128 * 1024 + 2 * history_bytes(&t);
        assert!(
            b <= a + slack,
            "resident memory grew from {a} to {b} bytes between step 100 and step 10,000"
        );
    }
}

/// The resident anonymous memory in bytes: heap and stacks, not the code
/// pages (Linux only: `RssAnon` of /proc/self/status).
fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
