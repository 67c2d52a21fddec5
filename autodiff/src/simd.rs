//! Elementwise loops compiled for the CPU the program runs on.
//!
//! The crate is built for the baseline of its target (SSE2 on x86-64), so
//! plain loops vectorise four `f32` lanes at a time. [`vectorized`] runs a
//! closure through a function compiled with AVX2 enabled when the CPU has
//! it (checked at run time, cached by `std`), so the loops inlined into it
//! use eight lanes. The arithmetic is the same either way (Rust never fuses
//! a multiply and an add on its own), so results do not depend on the CPU.

/// Runs `f`, compiled with AVX2 when the CPU has it; for short, hot loops.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { with_avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::vectorized;

    #[test]
    fn vectorized_returns_what_the_closure_computes() {
        let xs: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
        let plain: f32 = xs.iter().map(|x| x * x).sum();
        let fast: f32 = vectorized(|| xs.iter().map(|x| x * x).sum());
        assert_eq!(plain.to_bits(), fast.to_bits());
    }
}
