"""Where a mini-batch step's time goes: products, elementwise work, and the loop's own Python.

    python benchmarks/step_split.py [--sizes 64x64,784x256] [--batch-sizes 32,128] [--dtypes float32,float64]

For each case, with the BLAS threads `fit` chooses for it (`residual_mlp.threads`), best of 7 blocks:

- products: the step's eleven matrix products alone (np.dot with out=, as workspace.py calls them);
- workspace step: `Workspace.loss` + `Workspace.backward` (forward, softmax + cross-entropy, backward):
  minus the products, the elementwise passes and their calls;
- fit step: one epoch of `residual_mlp.fit(batch_size=B)` (N = 10,000, plain SGD, shuffled) over its
  number of steps: minus the workspace step, what the loop adds per step (gathering the rows, the
  gradient norm, the accuracy count, the update W - lr dW, the finiteness checks, Python).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from residual_mlp import model, threads, train, workspace  # noqa: E402

N, C, LR = 10_000, 10, 1e-3


def best_of(fn, repeat=7, min_seconds=0.05):
    """Best time per call of fn() over `repeat` blocks of calls, in seconds."""
    fn()
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - start > min_seconds / repeat:
            break
        calls *= 2
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def split(D, M, B, dtype):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((N, D)).astype(dtype), rng.integers(0, C, N)     # (N, D), (N,)
    params = model.init_params(D, M, C, seed=0, dtype=dtype)
    W1, W2, W3, W4 = params
    ws = workspace.Workspace(B, D, M, C, dtype)
    xb, yb = X[:B].copy(), y[:B].copy()
    ws.loss_and_grads(params, xb, yb)
    dW1, dW2, dW3, dW4 = ws.grads
    z, s, t, p, r, theta, dtheta = ws.z, ws.s, ws.t, ws.p, ws.r, ws.theta, ws.dtheta
    # scratch for the products: the same shapes and layouts, values that stay finite
    s2, t2, r2, p2 = (np.zeros_like(a) for a in (s, t, r, p))

    def products():
        dot = np.dot
        dot(z, W1.T, out=s2), dot(s, W2.T, out=t2), dot(p, W3.T, out=r2), dot(r, W4.T, out=theta)
        dot(dtheta.T, r, out=dW4), dot(dtheta, W4, out=r2), dot(r.T, p, out=dW3), dot(r, W3, out=p2)
        dot(t.T, s, out=dW2), dot(t, W2, out=s2), dot(s.T, z, out=dW1)

    def step():
        ws.loss(params, xb, yb)
        ws.backward(params)

    steps = -(-N // B)
    epochs = []

    def callback(state):
        epochs.append(time.perf_counter())

    n_threads = threads.blas_threads(B, D, M)
    with threads.limited(n_threads):
        t_products, t_step = best_of(products), best_of(step)
    train.fit(params, X, y, lr=LR, batch_size=B, epochs=8, seed=0, callback=callback)
    t_fit = min(b - a for a, b in zip(epochs, epochs[1:])) / steps
    return {"threads": n_threads or "all", "fit": t_fit, "products": t_products,
            "elementwise": t_step - t_products, "loop": t_fit - t_step}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64x64,784x256")
    parser.add_argument("--batch-sizes", default="32,128")
    parser.add_argument("--dtypes", default="float32,float64")
    args = parser.parse_args(argv)
    head = (f"{'D':>4} {'M':>4} {'batch':>5} {'dtype':8} {'thr':>3} {'fit step':>10} {'products':>16} "
            f"{'elementwise':>16} {'loop, Python':>16}")
    print(head)
    print("-" * len(head))
    for size in args.sizes.split(","):
        D, M = (int(v) for v in size.split("x"))
        for B in (int(b) for b in args.batch_sizes.split(",")):
            for dtype in args.dtypes.split(","):
                r = split(D, M, B, dtype)
                parts = [f"{r[k] * 1e6:8.1f}us {100 * r[k] / r['fit']:4.0f}%"
                         for k in ("products", "elementwise", "loop")]
                print(f"{D:>4} {M:>4} {B:>5} {dtype:8} {r['threads']:>3} {r['fit'] * 1e6:8.1f}us "
                      + " ".join(f"{p:>16}" for p in parts), flush=True)


if __name__ == "__main__":
    main()
