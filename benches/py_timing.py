"""Timing shared by the Python side-by-side benches (`pytorch_step.py`,
`jax_step.py`), which import it from this folder."""

import statistics
import time


def median_time(fn, target=0.25, rounds=11, warmup=1):
    """Median seconds per call of `fn`: after `warmup` calls, each of
    `rounds` rounds repeats it for about `target` seconds."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, int(target / once))
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) / reps)
    return statistics.median(times)


def fmt(secs):
    """Seconds as microseconds or milliseconds, right-aligned."""
    return f"{secs * 1e6:9.1f} us" if secs < 1e-3 else f"{secs * 1e3:9.3f} ms"
