"""Memory held by `fit` at 200 rows x 5,000 features (float64), in copies of W1 (D x D).

W1 dominates every other array at this shape (D*D = 25e6 numbers, 200 MB; W2 is M x D with M = 128,
the activations are N x D), so the peak of the memory fit allocates, divided by W1's size, counts the
weight-sized copies it holds at once. Measured with tracemalloc (numpy reports its allocations there),
from the call of fit to its return, the caller's own weights and data excluded; the estimate of
`resources.training_bytes` is printed next to it.

    python benchmarks/bench_fit_copies.py
"""
from __future__ import annotations

import tracemalloc

import numpy as np

from residual_mlp import fit, init_params

N, D, M, C = 200, 5000, 128, 10
RUNS = {
    "gd, full batch": {"lr": 0.05},
    "adam, batch 64": {"optimizer": "adam", "lr": 1e-3, "batch_size": 64},
    "adam, batch 64, validation + early stopping": {"optimizer": "adam", "lr": 1e-3, "batch_size": 64,
                                                    "validation_fraction": 0.2, "patience": 5},
    "momentum, full batch, weight decay": {"optimizer": "momentum", "lr": 0.01, "weight_decay": 1e-3},
}


def main():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = np.arange(N) % C
    params = init_params(D, M, C, seed=0)
    w1 = params.W1.nbytes
    try:
        from residual_mlp.resources import training_bytes
    except ImportError:
        training_bytes = None
    print(f"N={N} D={D} M={M} C={C} float64; one copy of W1 = {w1 / 2**20:.0f} MiB")
    for name, options in RUNS.items():
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out, history = fit(params, X, y, epochs=3, seed=1, **options)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        line = f"{name:46s} peak {peak / 2**20:7.0f} MiB = {peak / w1:4.2f} copies of W1"
        if training_bytes is not None:
            V = int(np.ceil(N * options.get("validation_fraction", 0)))
            estimate = training_bytes(N - V, D, M, C, batch_size=options.get("batch_size"),
                                      optimizer=options.get("optimizer", "gd"), validation_rows=V,
                                      patience=options.get("patience"), data_copy=V > 0)["total"]
            line += f"; estimated {estimate / w1:4.2f}"
        print(line, flush=True)
        del out, history


if __name__ == "__main__":
    main()
