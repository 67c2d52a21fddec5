"""PyTorch's eager training step on the nets of `benches/mlp_step.rs`, for a
side-by-side comparison on the same machine (issue 6).

The step is the one the Rust bench times: forward of a batch through
Linear/ReLU layers, softmax cross-entropy (mean), backward, and a plain SGD
update `p -= lr * g` (torch.optim.SGD without momentum). The input batch
needs no gradient. Also times one epoch of the digits job's shape
(64-64-10 ReLU, Adam, batches of 32 over 1,437 samples).

Run (needs `pip install torch`; not part of the test suite):

    python3 benches/pytorch_step.py             # every case
    python3 benches/pytorch_step.py 784 t2      # the cases whose label has every word

Prints the median time of a step over interleaved rounds, per net, dtype
and thread count.
"""

import torch
from py_timing import fmt, median_time


def make_step(widths, batch, dtype):
    torch.manual_seed(1)
    layers = []
    for r in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[r], widths[r + 1]))
        if r + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(dtype)
    x = torch.sin(torch.arange(batch * widths[0], dtype=dtype) * 0.618 + 0.25)
    x = x.reshape(batch, widths[0])
    labels = torch.tensor([(i * 7) % widths[-1] for i in range(batch)])
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), labels)
        loss.backward()
        opt.step()

    return step


def make_digits_epoch(dtype):
    torch.manual_seed(0)
    n, batch = 1438, 32  # the training split of the digits (1797 - 359)
    x = torch.randn(n, 64, dtype=dtype)
    y = torch.randint(0, 10, (n,))
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
    ).to(dtype)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i : i + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(x[idx]), y[idx]).backward()
            opt.step()

    return epoch


def main():
    import sys

    quick = "--quick" in sys.argv  # fewer, shorter rounds (side_by_side.sh)
    only = [a for a in sys.argv[1:] if a != "--quick"]  # e.g. `784 float32 t2`
    print(f"PyTorch {torch.__version__}, eager, CPU")
    print(f"{'net':<20} {'batch':>6} {'dtype':>8} {'threads':>8} {'step':>13}")
    for widths, batch in [([64, 128, 64, 10], 32), ([784, 512, 512, 10], 256)]:
        for dtype in [torch.float32, torch.float64]:
            for threads in [1, 2]:
                name = "-".join(map(str, widths))
                label = f"{name} {str(dtype)[6:]} t{threads}"
                if not all(o in label for o in only):
                    continue
                torch.set_num_threads(threads)
                if quick:
                    t = median_time(make_step(widths, batch, dtype), 0.1, 5)
                else:
                    t = median_time(make_step(widths, batch, dtype))
                print(f"{name:<20} {batch:>6} {str(dtype)[6:]:>8} {threads:>8} {fmt(t)}")
    if only and not all(o in "digits" for o in only):
        return
    torch.set_num_threads(1)
    t = median_time(make_digits_epoch(torch.float32), target=0.5)
    print(f"digits epoch (64-64-10, Adam, batch 32, 1438 samples, f32, 1 thread): {fmt(t)}")


if __name__ == "__main__":
    main()
