//! Per-thread packing buffers: 64-byte aligned, grown on demand and kept,
//! so that a thread allocates only the first time it packs a block larger
//! than any before.

use std::cell::RefCell;

/// One cache line: the unit of the buffers, which makes them 64-byte
/// aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// A growable, 64-byte aligned scratch area of bytes.
pub(super) struct Aligned {
    lines: Vec<Line>,
}

impl Aligned {
    const fn new() -> Self {
        Aligned { lines: Vec::new() }
    }

    /// A pointer to at least `bytes` bytes, 64-byte aligned; the contents
    /// are unspecified (whatever the last user left, or zeros).
    fn reserve(&mut self, bytes: usize) -> *mut u8 {
        let lines = bytes.div_ceil(64);
        if self.lines.len() < lines {
            self.lines.resize(lines, Line([0; 64]));
        }
        self.lines.as_mut_ptr().cast()
    }
}

/// The two packing areas of a thread: the packed block of `A` and that of
/// `B`.
pub(super) struct Buffers {
    a: Aligned,
    b: Aligned,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = const {
        RefCell::new(Buffers { a: Aligned::new(), b: Aligned::new() })
    };
}

/// This thread's packing areas for `a_len` and `b_len` elements of `T`,
/// 64-byte aligned, with unspecified contents.
///
/// Raw pointers rather than a closure, so that the kernel's loops stay in
/// one function (a closure would be compiled without the target features
/// of the function that calls it).
///
/// # Safety
/// The pointers are valid until the next call of `acquire` on this thread
/// (which may move the areas) or the thread's end; the caller must not use
/// them beyond that.
pub(super) unsafe fn acquire<T>(a_len: usize, b_len: usize) -> (*mut T, *mut T) {
    BUFFERS.with(|cell| {
        let mut bufs = cell.borrow_mut();
        let size = std::mem::size_of::<T>();
        let pa = bufs.a.reserve(a_len * size).cast::<T>();
        let pb = bufs.b.reserve(b_len * size).cast::<T>();
        (pa, pb)
    })
}
