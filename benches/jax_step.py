"""JAX's compiled (jit) training step on the nets of `benches/mlp_step.rs`,
for a side-by-side comparison on the same machine (issue 6).

The step is the one the Rust bench times: forward of a batch through affine
layers with ReLU between them, softmax cross-entropy (mean), the gradient
with respect to every weight and bias, and a plain SGD update `p -= lr g`,
all in one `jax.jit` function (the parameters are donated, so the update is
in place). The input batch needs no gradient.

Run (needs `pip install jax`; not part of the test suite):

    taskset -c 0 python3 benches/jax_step.py 1    # one thread
    python3 benches/jax_step.py 2                 # both cores

XLA's CPU backend sizes its thread pool from the CPUs the process may use,
so one thread is set by the affinity mask (`taskset`); the argument only
labels the output. Prints the median time of a step, per net and dtype.
"""

import sys

import jax
from py_timing import fmt, median_time

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402


def init(widths, dtype):
    key = jax.random.PRNGKey(1)
    params = []
    for r in range(len(widths) - 1):
        key, kw = jax.random.split(key)
        bound = (6.0 / widths[r]) ** 0.5
        w = jax.random.uniform(kw, (widths[r + 1], widths[r]), dtype, -bound, bound)
        params.append((w, jnp.zeros((widths[r + 1],), dtype)))
    return params


def loss_fn(params, x, labels):
    h = x
    for r, (w, b) in enumerate(params):
        h = h @ w.T + b
        if r + 1 < len(params):
            h = jax.nn.relu(h)
    logp = jax.nn.log_softmax(h, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))


def make_step(widths, batch, dtype):
    params = init(widths, dtype)
    x = jnp.sin(jnp.arange(batch * widths[0], dtype=dtype) * 0.618 + 0.25)
    x = x.reshape(batch, widths[0])
    labels = jnp.array([(i * 7) % widths[-1] for i in range(batch)])
    lr = 1e-3

    def update(params, x, labels):
        loss, g = jax.value_and_grad(loss_fn)(params, x, labels)
        params = jax.tree_util.tree_map(lambda p, gp: p - lr * gp, params, g)
        return params, loss

    update = jax.jit(update, donate_argnums=0)
    state = {"params": params}

    def step():
        state["params"], loss = update(state["params"], x, labels)
        loss.block_until_ready()

    return step


def main():
    threads = sys.argv[1] if len(sys.argv) > 1 else "?"
    only = sys.argv[2:]
    print(f"JAX {jax.__version__}, jit, CPU, threads {threads}")
    print(f"{'net':<20} {'batch':>6} {'dtype':>8} {'threads':>8} {'step':>13}")
    for widths, batch in [([64, 128, 64, 10], 32), ([784, 512, 512, 10], 256)]:
        for dtype in [jnp.float32, jnp.float64]:
            name = "-".join(map(str, widths))
            label = f"{name} {jnp.dtype(dtype).name}"
            if not all(o in label for o in only):
                continue
            t = median_time(make_step(widths, batch, dtype), warmup=3)  # compile first
            print(f"{name:<20} {batch:>6} {jnp.dtype(dtype).name:>8} {threads:>8} {fmt(t)}")


if __name__ == "__main__":
    main()
